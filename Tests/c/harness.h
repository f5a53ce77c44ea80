/* The C test harness, libuv style: a test file defines TEST(name) blocks; its
 * binary lists them with --list and runs one named test per process, so each
 * test gets a fresh library state and the runner can kill a hung one.
 * Assertions print both operands. Waiting is bounded: latches with timeouts. */
#ifndef CROCHET_TEST_HARNESS_H
#define CROCHET_TEST_HARNESS_H

#define _GNU_SOURCE
#include <crochet.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef void (*harness_fn)(void);
struct harness_test { const char *name; harness_fn fn; };
static struct harness_test harness_tests[256];
static int harness_count;

static void harness_register(const char *name, harness_fn fn) {
    if (harness_count < 256) {
        harness_tests[harness_count].name = name;
        harness_tests[harness_count].fn = fn;
        harness_count++;
    }
}

/* One sentence above each TEST says the behaviour it checks. */
#define TEST(name)                                                              \
    static void test_##name(void);                                              \
    __attribute__((constructor)) static void harness_register_##name(void) {    \
        harness_register(#name, test_##name);                                   \
    }                                                                           \
    static void test_##name(void)

#define FAIL(...) do {                                                          \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                         \
        fprintf(stderr, __VA_ARGS__);                                           \
        fprintf(stderr, "\n");                                                  \
        abort();                                                                \
    } while (0)

#define ASSERT(cond) do { if (!(cond)) FAIL("ASSERT(%s) failed", #cond); } while (0)

#define ASSERT_EQ(a, b) do {                                                    \
        long long _a = (long long)(a), _b = (long long)(b);                     \
        if (_a != _b) FAIL("ASSERT_EQ(%s, %s) failed: %lld != %lld", #a, #b, _a, _b); \
    } while (0)

#define ASSERT_NE(a, b) do {                                                    \
        long long _a = (long long)(a), _b = (long long)(b);                     \
        if (_a == _b) FAIL("ASSERT_NE(%s, %s) failed: both %lld", #a, #b, _a);  \
    } while (0)

#define ASSERT_U64_EQ(a, b) do {                                                \
        unsigned long long _a = (unsigned long long)(a), _b = (unsigned long long)(b); \
        if (_a != _b) FAIL("ASSERT_U64_EQ(%s, %s) failed: %llu != %llu", #a, #b, _a, _b); \
    } while (0)

#define ASSERT_DBL_EQ(a, b) do {                                                \
        double _a = (double)(a), _b = (double)(b);                              \
        if (!(_a == _b)) FAIL("ASSERT_DBL_EQ(%s, %s) failed: %.17g != %.17g", #a, #b, _a, _b); \
    } while (0)

#define ASSERT_PTR_EQ(a, b) do {                                                \
        const void *_a = (const void *)(a), *_b = (const void *)(b);            \
        if (_a != _b) FAIL("ASSERT_PTR_EQ(%s, %s) failed: %p != %p", #a, #b, _a, _b); \
    } while (0)

#define ASSERT_NULL(a) ASSERT_PTR_EQ(a, NULL)
#define ASSERT_NOT_NULL(a) do { if ((a) == NULL) FAIL("ASSERT_NOT_NULL(%s) failed", #a); } while (0)

#define ASSERT_STREQ(a, b) do {                                                 \
        const char *_a = (a), *_b = (b);                                        \
        if (!_a || !_b || strcmp(_a, _b) != 0)                                  \
            FAIL("ASSERT_STREQ(%s, %s) failed: \"%s\" != \"%s\"", #a, #b,       \
                 _a ? _a : "(null)", _b ? _b : "(null)");                       \
    } while (0)

#define ASSERT_CONTAINS(haystack, needle) do {                                  \
        const char *_h = (haystack), *_n = (needle);                            \
        if (!_h || !strstr(_h, _n))                                             \
            FAIL("ASSERT_CONTAINS(%s, %s) failed: \"%s\" lacks \"%s\"", #haystack, #needle, \
                 _h ? _h : "(null)", _n);                                       \
    } while (0)

/* Status assertions print the codes' descriptions too. */
#define ASSERT_STATUS(expr, expected) do {                                      \
        int _s = (expr), _e = (expected);                                       \
        if (_s != _e) FAIL("%s returned %d (%s), expected %d (%s)", #expr, _s,  \
                           crochet_strerror(_s), _e, crochet_strerror(_e));     \
    } while (0)

#define ASSERT_OK(expr) ASSERT_STATUS(expr, CROCHET_OK)

/* Runs expr for its effect when any status is fine (a status the library
 * marks CROCHET_WARN_UNUSED_RESULT may not be dropped silently). */
#define ANY_STATUS(expr) do { int any_status_ = (expr); (void)any_status_; } while (0)

static inline double harness_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* How much slower than native the test runs (valgrind, ASan): a factor for
 * the upper bounds a test puts on how long something takes. */
static inline double harness_slowdown(void) {
    const char *s = getenv("CROCHET_TEST_SLOWDOWN");
    double f = s ? atof(s) : 1.0;
    return f >= 1.0 ? f : 1.0;
}

/* A one-shot latch: open it from any thread, wait for it with a bound. */
typedef struct latch {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int count;   /* opens so far */
} latch;

#define LATCH_INIT { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 }

static inline void latch_open(latch *l) {
    pthread_mutex_lock(&l->mutex);
    l->count++;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->mutex);
}

/* Waits until the latch was opened at least n times; 1 if so, 0 on timeout. */
static inline int latch_wait_n(latch *l, int n, double timeout) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double end = ts.tv_sec + ts.tv_nsec / 1e9 + timeout;
    struct timespec deadline = { (time_t)end, (long)((end - (time_t)end) * 1e9) };
    pthread_mutex_lock(&l->mutex);
    int rc = 0;
    while (l->count < n && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&l->cond, &l->mutex, &deadline);
    int ok = l->count >= n;
    pthread_mutex_unlock(&l->mutex);
    return ok;
}

static inline int latch_wait(latch *l, double timeout) { return latch_wait_n(l, 1, timeout); }

/* Runs fn(ctx) on the reactor thread and waits for it to return (bounded). */
struct harness_on_reactor { void (*fn)(void *); void *ctx; latch done; };
static void harness_on_reactor_trampoline(void *p) {
    struct harness_on_reactor *h = p;
    h->fn(h->ctx);
    latch_open(&h->done);
}
static inline void run_on_reactor(void (*fn)(void *), void *ctx) {
    struct harness_on_reactor h = { fn, ctx, LATCH_INIT };
    ASSERT_OK(crochet_call_from_thread(harness_on_reactor_trampoline, &h, NULL));
    ASSERT(latch_wait(&h.done, 10.0));
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--list") == 0) {
        for (int i = 0; i < harness_count; i++) printf("%s\n", harness_tests[i].name);
        return 0;
    }
    for (int i = 0; i < harness_count; i++) {
        if (strcmp(harness_tests[i].name, argv[1]) == 0) {
            harness_tests[i].fn();
            fflush(stdout);
            return 0;
        }
    }
    fprintf(stderr, "no test named %s\n", argv[1]);
    return 2;
}

#endif
