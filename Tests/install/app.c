/* A program built against an installed libcrochet: the header and the library
 * it runs with are the installed ones, and they agree on the version.
 *   app [EXPECTED_LIBRARY]   exits 0 and prints "ok ..." when all holds */
#define _GNU_SOURCE
#include <crochet.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int32_t add(int32_t a, int32_t b) { return a + b; }

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "app: check failed: %s\n", #cond); return 1; } } while (0)

int main(int argc, char **argv) {
    CHECK(strcmp(crochet_version(), CROCHET_VERSION_STRING) == 0);

    /* The library this process runs with is the one the test installed. */
    Dl_info info;
    CHECK(dladdr((void *)crochet_version, &info) && info.dli_fname);
    char loaded[PATH_MAX], expected[PATH_MAX];
    CHECK(realpath(info.dli_fname, loaded));
    if (argc > 1) {
        CHECK(realpath(argv[1], expected));
        if (strcmp(loaded, expected) != 0) {
            fprintf(stderr, "app: runs with %s, expected %s\n", loaded, expected);
            return 1;
        }
    }

    CHECK(crochet_setup() == CROCHET_OK);
    crochet_result *r = NULL;
    CHECK(CROCHET_SUBMIT(&r, add, CROCHET_TYPE_INT32, crochet_int32(20), crochet_int32(22)) == CROCHET_OK);
    crochet_value v;
    CHECK(crochet_wait(r, 10.0, &v) == CROCHET_OK);
    CHECK(v.type == CROCHET_TYPE_INT32 && v.u.i32 == 42);
    crochet_result_release(r);
    printf("ok: libcrochet %s from %s: add(20, 22) = %d on the reactor thread\n",
           crochet_version(), loaded, v.u.i32);
    return 0;
}
