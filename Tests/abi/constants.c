/* The status codes and type tags have the values the contract fixes, and
 * crochet_strerror describes each code distinctly. */
#include <crochet.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define EXPECT(name, value) do { \
        if ((long)(name) != (long)(value)) { \
            fprintf(stderr, "%s is %ld, the contract says %ld\n", #name, (long)(name), (long)(value)); \
            bad++; \
        } \
    } while (0)

int main(void) {
    int bad = 0;
    EXPECT(CROCHET_OK, 0); EXPECT(CROCHET_ETIMEDOUT, -1); EXPECT(CROCHET_ESTOPPED, -2);
    EXPECT(CROCHET_EFAILED, -3); EXPECT(CROCHET_ECANCELLED, -4); EXPECT(CROCHET_EINVAL, -5);
    EXPECT(CROCHET_ESTATE, -6); EXPECT(CROCHET_EREACTORTHREAD, -7); EXPECT(CROCHET_ENOTFOUND, -8);
    EXPECT(CROCHET_ENOMEM, -9); EXPECT(CROCHET_EALREADY, -10); EXPECT(CROCHET_ENOTREACTOR, -11);
    EXPECT(CROCHET_EAGAIN, -12);
    EXPECT(CROCHET_TYPE_VOID, 0); EXPECT(CROCHET_TYPE_INT8, 1); EXPECT(CROCHET_TYPE_UINT8, 2);
    EXPECT(CROCHET_TYPE_INT16, 3); EXPECT(CROCHET_TYPE_UINT16, 4); EXPECT(CROCHET_TYPE_INT32, 5);
    EXPECT(CROCHET_TYPE_UINT32, 6); EXPECT(CROCHET_TYPE_INT64, 7); EXPECT(CROCHET_TYPE_UINT64, 8);
    EXPECT(CROCHET_TYPE_FLOAT, 9); EXPECT(CROCHET_TYPE_DOUBLE, 10); EXPECT(CROCHET_TYPE_POINTER, 11);
    EXPECT(CROCHET_TYPE_DEFERRED, 12); EXPECT(CROCHET_MAX_ARGS, 32);
    EXPECT(CROCHET_LOG_DEBUG, 10); EXPECT(CROCHET_LOG_INFO, 20);
    EXPECT(CROCHET_LOG_WARNING, 30); EXPECT(CROCHET_LOG_ERROR, 40);
    EXPECT(sizeof(crochet_value), 16);   /* the core reads arguments with this layout (TaggedArguments) */
    EXPECT(offsetof(crochet_value, type), 0);
    EXPECT(sizeof(((crochet_value *)0)->type), 4);
    EXPECT(offsetof(crochet_value, u), 8);
    const char *seen[13];
    for (int code = 0; code >= -12; code--) {
        const char *text = crochet_strerror(code);
        if (!text || !*text) { fprintf(stderr, "crochet_strerror(%d) is empty\n", code); bad++; continue; }
        for (int j = 0; j < -code; j++)
            if (strcmp(seen[j], text) == 0) { fprintf(stderr, "codes %d and %d share \"%s\"\n", -j, code, text); bad++; }
        seen[-code] = text;
    }
    for (int code = 0; code >= -12; code--) {
        const char *name = crochet_status_name(code);
        if (!name || strncmp(name, "CROCHET_", 8) != 0 || strcmp(name, "CROCHET_EUNKNOWN") == 0) {
            fprintf(stderr, "crochet_status_name(%d) is \"%s\"\n", code, name ? name : "(null)"); bad++;
        }
    }
    if (strcmp(crochet_status_name(-13), "CROCHET_EUNKNOWN") != 0) { fprintf(stderr, "-13 is not unknown\n"); bad++; }
    if (!crochet_strerror(12345) || !crochet_strerror(-12345)) { fprintf(stderr, "unknown code: NULL\n"); bad++; }
    return bad != 0;
}
