/* Calls whose arguments and return value are all integers or pointers, six
 * arguments at most, are made without libffi (DirectCall in the core); the
 * rest go through libffi. Both must hand the function what libffi would:
 * arguments in order, narrow signed ones sign-extended, narrow returns cut
 * to their type with the payload's unused bytes zero. */
#include "harness.h"

/* Submits fn with args and waits for its value. */
static crochet_value call(void *fn, crochet_type return_type, const crochet_value *args, size_t nargs) {
    crochet_result *r;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)fn, return_type, args, nargs));
    crochet_value v;
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    crochet_result_release(r);
    ASSERT_EQ(v.type, return_type);
    return v;
}

static int64_t arity0(void) { return 7; }
static int64_t arity1(int64_t a) { return a; }
static int64_t arity2(int64_t a, int64_t b) { return a + 10 * b; }
static int64_t arity3(int64_t a, int64_t b, int64_t c) { return a + 10 * b + 100 * c; }
static int64_t arity4(int64_t a, int64_t b, int64_t c, int64_t d) { return a + 10 * b + 100 * c + 1000 * d; }
static int64_t arity5(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e) {
    return a + 10 * b + 100 * c + 1000 * d + 10000 * e;
}
static int64_t arity6(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f) {
    return a + 10 * b + 100 * c + 1000 * d + 10000 * e + 100000 * f;
}
static int64_t arity7(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f, int64_t g) {
    return a + 10 * b + 100 * c + 1000 * d + 10000 * e + 100000 * f + 1000000 * g;
}

/* Every arity from 0 to 6 (direct) and 7 (libffi) gets its arguments in order. */
TEST(integer_arguments_in_order_at_every_arity) {
    ASSERT_OK(crochet_setup());
    void *fns[] = { (void *)arity0, (void *)arity1, (void *)arity2, (void *)arity3,
                    (void *)arity4, (void *)arity5, (void *)arity6, (void *)arity7 };
    crochet_value args[7];
    for (int i = 0; i < 7; i++) args[i] = crochet_int64(i + 1);
    int64_t expected[] = { 7, 1, 21, 321, 4321, 54321, 654321, 7654321 };
    for (size_t n = 0; n <= 7; n++) ASSERT_EQ(call(fns[n], CROCHET_TYPE_INT64, args, n).u.i64, expected[n]);
}

/* The callee reads 32 bits of each narrow argument, as callees built by
 * clang do for int8_t and int16_t parameters: the caller must have widened
 * them (libffi does; so must the direct path). */
static int64_t reads_widened(int32_t a, int32_t b, int32_t c, int32_t d, int32_t e, int32_t f) {
    return (int64_t)a + b + c + d + e + f;
}

/* Negative int8 and int16 arguments keep their sign in every position; unsigned ones stay zero-extended. */
TEST(narrow_signed_arguments_keep_their_sign) {
    ASSERT_OK(crochet_setup());
    crochet_value args[6] = { crochet_int8(-1), crochet_int16(-300), crochet_uint8(200),
                              crochet_uint16(60000), crochet_int8(-128), crochet_int16(-32768) };
    ASSERT_EQ(call((void *)reads_widened, CROCHET_TYPE_INT64, args, 6).u.i64,
              -1 - 300 + 200 + 60000 - 128 - 32768);
    for (int position = 0; position < 6; position++) {
        crochet_value one[6];
        for (int i = 0; i < 6; i++) one[i] = crochet_int32(0);
        one[position] = crochet_int8(-5);
        ASSERT_EQ(call((void *)reads_widened, CROCHET_TYPE_INT64, one, 6).u.i64, -5);
        one[position] = crochet_int16(-5000);
        ASSERT_EQ(call((void *)reads_widened, CROCHET_TYPE_INT64, one, 6).u.i64, -5000);
    }
}

static int8_t ret_i8(void) { return -5; }
static uint8_t ret_u8(void) { return 250; }
static int16_t ret_i16(void) { return -300; }
static uint16_t ret_u16(void) { return 65000; }
static int32_t ret_i32(void) { return -70000; }
static uint32_t ret_u32(void) { return 4000000000u; }
/* Leaves ones in the bits above an int8's: the return word is cut. */
static int64_t ret_wide(void) { return -2; }

/* Narrow returns come back as their type, the payload's unused bytes zero. */
TEST(narrow_returns_are_cut_to_their_type) {
    ASSERT_OK(crochet_setup());
    crochet_value v = call((void *)ret_i8, CROCHET_TYPE_INT8, NULL, 0);
    ASSERT_EQ(v.u.i8, -5);
    ASSERT_U64_EQ(v.u.u64, 0xFB);
    ASSERT_EQ(call((void *)ret_u8, CROCHET_TYPE_UINT8, NULL, 0).u.u8, 250);
    v = call((void *)ret_i16, CROCHET_TYPE_INT16, NULL, 0);
    ASSERT_EQ(v.u.i16, -300);
    ASSERT_U64_EQ(v.u.u64, 0xFED4);
    ASSERT_EQ(call((void *)ret_u16, CROCHET_TYPE_UINT16, NULL, 0).u.u16, 65000);
    v = call((void *)ret_i32, CROCHET_TYPE_INT32, NULL, 0);
    ASSERT_EQ(v.u.i32, -70000);
    ASSERT_U64_EQ(v.u.u64, (uint32_t)-70000);
    ASSERT_EQ(call((void *)ret_u32, CROCHET_TYPE_UINT32, NULL, 0).u.u32, 4000000000u);
    v = call((void *)ret_wide, CROCHET_TYPE_INT8, NULL, 0);
    ASSERT_EQ(v.u.i8, -2);
    ASSERT_U64_EQ(v.u.u64, 0xFE);
}

static atomic_int touched;
static void touch(void *p) { atomic_store(&touched, p == &touched); }
static void *same(void *p, uint64_t big) { return big == UINT64_MAX ? p : NULL; }

/* Void returns and pointer arguments and returns pass through untouched. */
TEST(void_and_pointers) {
    ASSERT_OK(crochet_setup());
    crochet_value p = crochet_pointer(&touched);
    crochet_value v = call((void *)touch, CROCHET_TYPE_VOID, &p, 1);
    ASSERT_U64_EQ(v.u.u64, 0);
    ASSERT_EQ(atomic_load(&touched), 1);
    crochet_value args[2] = { crochet_pointer(&touched), crochet_uint64(UINT64_MAX) };
    ASSERT(call((void *)same, CROCHET_TYPE_POINTER, args, 2).u.ptr == (void *)&touched);
}

static double int_and_double(int32_t a, double b) { return a + b; }
static float float_from_ints(int32_t a, int32_t b) { return (float)a / (float)b; }
static double six_ints_and_a_double(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f, double g) {
    return (double)(a + b + c + d + e + f) + g;
}

/* A float or double anywhere in the signature goes through libffi and comes out right. */
TEST(floating_point_goes_through_libffi) {
    ASSERT_OK(crochet_setup());
    crochet_value a[2] = { crochet_int32(-3), crochet_double(0.25) };
    ASSERT_DBL_EQ(call((void *)int_and_double, CROCHET_TYPE_DOUBLE, a, 2).u.f64, -2.75);
    crochet_value b[2] = { crochet_int32(1), crochet_int32(4) };
    ASSERT_DBL_EQ(call((void *)float_from_ints, CROCHET_TYPE_FLOAT, b, 2).u.f32, 0.25);
    crochet_value c[7];
    for (int i = 0; i < 6; i++) c[i] = crochet_int64(i);
    c[6] = crochet_double(0.5);
    ASSERT_DBL_EQ(call((void *)six_ints_and_a_double, CROCHET_TYPE_DOUBLE, c, 7).u.f64, 15.5);
}

static int64_t on_worker(int8_t a, int64_t b) { return a * b; }
static crochet_deferred *defer_on_worker(void) {
    crochet_deferred *d;
    ASSERT_OK(crochet_defer_to_thread(&d, (crochet_fn)on_worker, CROCHET_TYPE_INT64,
                                      (crochet_value[]){ crochet_int8(-3), crochet_int64(1000000000000) }, 2));
    return d;
}

/* crochet_defer_to_thread's calls take the same path on a worker thread. */
TEST(defer_to_thread_calls_directly_too) {
    ASSERT_OK(crochet_setup());
    crochet_result *r;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)defer_on_worker, CROCHET_TYPE_DEFERRED, NULL, 0));
    crochet_value v;
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    crochet_result_release(r);
    ASSERT_EQ(v.type, CROCHET_TYPE_INT64);
    ASSERT_EQ(v.u.i64, -3000000000000);
}
