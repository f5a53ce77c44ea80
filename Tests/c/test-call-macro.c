/* CROCHET_CALL: return and argument tags deduced from the function's and the
 * arguments' types at compile time (Tests/c/compile-fail has what must not
 * compile). */
#include "harness.h"
#include <stdbool.h>

static double half(double x) { return x / 2; }
static float scale(float x, int16_t by) { return x * (float)by; }
static size_t length(const char *s) { return strlen(s); }
static int64_t wide(int64_t a, uint64_t b, long c, unsigned long d) { return a + (int64_t)b + c + (int64_t)d; }
static uint8_t flags(bool on, char c, signed char sc, unsigned char uc) { return (uint8_t)(on + c + sc + uc); }
static int32_t add(int32_t a, int32_t b) { return a + b; }
static atomic_int ticks;
static void tick(void) { atomic_fetch_add(&ticks, 1); }
static void *echo(void *p) { return p; }
static crochet_deferred *answer(void) {
    crochet_deferred *d;
    ASSERT_OK(crochet_deferred_new(&d, NULL, NULL, NULL));
    ASSERT_OK(crochet_deferred_callback(d, crochet_int32(7)));
    return d;
}
static int32_t sum16(int32_t a, int32_t b, int32_t c, int32_t d, int32_t e, int32_t f, int32_t g, int32_t h,
                     int32_t i, int32_t j, int32_t k, int32_t l, int32_t m, int32_t n, int32_t o, int32_t p) {
    return a + b + c + d + e + f + g + h + i + j + k + l + m + n + o + p;
}

/* Waits for *r (read after the submit: argument order is unspecified). */
static crochet_value call(int status, crochet_result **r, crochet_type expected) {
    ASSERT_OK(status);
    crochet_value v;
    ASSERT_OK(crochet_wait(*r, 10.0, &v));
    ASSERT_EQ(v.type, expected);
    crochet_result_release(*r);
    return v;
}

/* CROCHET_CALL deduces every supported return and argument type, and each argument is evaluated once. */
TEST(deduces_types) {
    ASSERT_OK(crochet_setup());
    crochet_result *r;
    ASSERT_DBL_EQ(call(CROCHET_CALL(&r, half, 10.0), &r, CROCHET_TYPE_DOUBLE).u.f64, 5.0);
    ASSERT_DBL_EQ(call(CROCHET_CALL(&r, scale, 1.5f, (int16_t)4), &r, CROCHET_TYPE_FLOAT).u.f32, 6.0);
    const char *text = "hello";
    ASSERT_EQ(call(CROCHET_CALL(&r, length, text), &r, CROCHET_TYPE_UINT64).u.u64, 5);
    ASSERT_EQ(call(CROCHET_CALL(&r, wide, (int64_t)-1, (uint64_t)2, -3L, 4UL), &r, CROCHET_TYPE_INT64).u.i64, 2);
    ASSERT_EQ(call(CROCHET_CALL(&r, flags, (bool)true, (char)'a', (signed char)-1, (unsigned char)2), &r, CROCHET_TYPE_UINT8).u.u8,
              (uint8_t)(1 + 'a' - 1 + 2));
    int i = 0;
    ASSERT_EQ(call(CROCHET_CALL(&r, add, i++, i++), &r, CROCHET_TYPE_INT32).u.i32, 1);
    ASSERT_EQ(i, 2);   /* each argument evaluated once */
    call(CROCHET_CALL(&r, tick), &r, CROCHET_TYPE_VOID);
    ASSERT_EQ(atomic_load(&ticks), 1);
    ASSERT_PTR_EQ(call(CROCHET_CALL(&r, echo, (void *)&i), &r, CROCHET_TYPE_POINTER).u.ptr, &i);
    ASSERT_EQ(call(CROCHET_CALL(&r, answer), &r, CROCHET_TYPE_INT32).u.i32, 7);   /* a deferred is followed */
    ASSERT_EQ(call(CROCHET_CALL(&r, sum16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16), &r,
                   CROCHET_TYPE_INT32).u.i32, 136);
}

/* CROCHET_CALL returns crochet_submit's status (before setup: CROCHET_ESTATE). */
TEST(returns_submit_status) {
    crochet_result *r = (crochet_result *)1;
    ASSERT_STATUS(CROCHET_CALL(&r, half, 1.0), CROCHET_ESTATE);
    ASSERT_NULL(r);
}

enum color { RED, GREEN, BLUE };
static int32_t paint(enum color c) { return (int32_t)c * 10; }

/* An enum argument travels as the integer type the compiler gives the enum (its compatible type). */
TEST(enum_arguments) {
    ASSERT_OK(crochet_setup());
    crochet_result *r;
    enum color c = BLUE;
    ASSERT_EQ(call(CROCHET_CALL(&r, paint, c), &r, CROCHET_TYPE_INT32).u.i32, 20);
}
