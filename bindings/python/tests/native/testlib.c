/* Native functions the Python tests call through ctypes on the reactor
 * thread. Built by the `native` fixture in conftest.py:
 *   cc -shared -fPIC testlib.c -o libtestnative.so $(pkg-config --cflags --libs crochet)
 */
#include <crochet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int32_t add_i32(int32_t a, int32_t b) { return a + b; }
int64_t add_i64(int64_t a, int64_t b) { return a + b; }
int8_t negate_i8(int8_t x) { return (int8_t)-x; }
uint8_t echo_u8(uint8_t x) { return x; }
int16_t echo_i16(int16_t x) { return x; }
uint16_t echo_u16(uint16_t x) { return x; }
uint32_t echo_u32(uint32_t x) { return x; }
uint64_t echo_u64(uint64_t x) { return x; }
double scale(double x, double by) { return x * by; }
float halve(float x) { return x / 2.0f; }
bool is_positive(int32_t x) { return x > 0; }
char next_char(char c) { return (char)(c + 1); }

/* 1 when called on the reactor thread. */
int32_t on_reactor_thread(void) { return crochet_in_reactor_thread(); }

/* Pointers. */
void fill_i32(int32_t *out, int32_t n, int32_t start) {
    for (int32_t i = 0; i < n; i++) out[i] = start + i;
}
double sum_doubles(const double *xs, int32_t n) {
    double s = 0;
    for (int32_t i = 0; i < n; i++) s += xs[i];
    return s;
}
size_t length(const char *s) { return s ? strlen(s) : (size_t)-1; }
const char *greeting(void) { return "hello from C"; }
int32_t *second_of(int32_t *xs) { return xs + 1; }
void *null_pointer(void) { return NULL; }
int32_t apply(int32_t (*f)(int32_t), int32_t x) { return f(x); }

/* Failures: crochet_raise inside a submitted call. */
int32_t fail_with(int32_t code) {
    crochet_raise(code, "native failure");
    return 0;
}

/* Blocks the reactor thread until a byte can be read from fd (the tests use
 * it to hold calls in the queue). Returns the byte, or -1. */
int32_t block_on(int32_t fd) {
    unsigned char c;
    return read(fd, &c, 1) == 1 ? c : -1;
}

/* Sets *flag to value: shows whether a call ran. */
void set_flag(int32_t *flag, int32_t value) { *flag = value; }

int64_t sum32(int32_t a0, int32_t a1, int32_t a2, int32_t a3, int32_t a4, int32_t a5,
              int32_t a6, int32_t a7, int32_t a8, int32_t a9, int32_t a10, int32_t a11,
              int32_t a12, int32_t a13, int32_t a14, int32_t a15, int32_t a16, int32_t a17,
              int32_t a18, int32_t a19, int32_t a20, int32_t a21, int32_t a22, int32_t a23,
              int32_t a24, int32_t a25, int32_t a26, int32_t a27, int32_t a28, int32_t a29,
              int32_t a30, int32_t a31) {
    return (int64_t)a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 +
           a14 + a15 + a16 + a17 + a18 + a19 + a20 + a21 + a22 + a23 + a24 + a25 + a26 + a27 +
           a28 + a29 + a30 + a31;
}

/* Native code's own use of the store: submits add_i32(x, 1), stashes the
 * result and returns its id (the Python side retrieves it). */
uint64_t submit_and_stash(int32_t x) {
    crochet_result *r = NULL;
    uint64_t id = 0;
    if (CROCHET_SUBMIT(&r, add_i32, CROCHET_TYPE_INT32, crochet_int32(x), crochet_int32(1)) != CROCHET_OK)
        return 0;
    if (crochet_stash(r, &id) != CROCHET_OK) id = 0;
    crochet_result_release(r);
    return id;
}

/* Owned values (0.2): a deferred fired with crochet_deferred_callback_owned
 * and a strdup string. count_and_free is its destroy: owned_destroyed() says
 * how many times the library called it. */
static int owned_destroyed_count;

static void count_and_free(void *p) {
    __atomic_add_fetch(&owned_destroyed_count, 1, __ATOMIC_SEQ_CST);
    free(p);
}

int32_t owned_destroyed(void) { return __atomic_load_n(&owned_destroyed_count, __ATOMIC_SEQ_CST); }

/* Returns a deferred that has fired with an owned copy of "hello, owned". */
crochet_deferred *owned_greeting(void) {
    crochet_deferred *d = NULL;
    if (crochet_deferred_new(&d, NULL, NULL, NULL) != CROCHET_OK) return NULL;
    char *s = strdup("hello, owned");
    if (crochet_deferred_callback_owned(d, s, count_and_free) != CROCHET_OK) free(s);
    return d;
}

static void fire_owned_later(void *ctx) {
    char *s = strdup("hello, later");
    if (crochet_deferred_callback_owned(ctx, s, count_and_free) != CROCHET_OK) free(s);
}

static void release_deferred(void *ctx) { crochet_deferred_release(ctx); }

/* Returns a deferred that a timer fires 10 ms later with an owned string. */
crochet_deferred *owned_greeting_later(void) {
    crochet_deferred *d = NULL;
    if (crochet_deferred_new(&d, NULL, NULL, NULL) != CROCHET_OK) return NULL;
    if (crochet_call_later(NULL, 0.01, fire_owned_later, crochet_deferred_retain(d),
                           release_deferred) != CROCHET_OK) {
        crochet_deferred_release(d);
        return NULL;
    }
    return d;
}

/* A C caller of crochet_wait_for (not on the reactor thread): the owned
 * string is handed to it, so it is returned here for the caller to free with
 * free_string(); NULL on any failure. */
char *c_wait_for_owned_greeting(void) {
    crochet_value v;
    if (crochet_wait_for(&v, NULL, 10.0, (crochet_fn)owned_greeting_later, CROCHET_TYPE_DEFERRED,
                         NULL, 0) != CROCHET_OK || v.type != CROCHET_TYPE_POINTER)
        return NULL;
    return v.u.ptr;
}

void free_string(char *s) { free(s); }
