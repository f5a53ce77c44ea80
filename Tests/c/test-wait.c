/* crochet_wait: values, timeouts and polling, repeated and concurrent waits,
 * waiting on the reactor thread, and bad arguments. */
#include "harness.h"
#include <float.h>

/* ---- a result held pending by a deferred the test fires later ---- */
static crochet_deferred *pending_d;   /* the test's reference; reactor thread only */
crochet_deferred *make_pending(void) {
    crochet_deferred *d = NULL;
    if (crochet_deferred_new(&d, NULL, NULL, NULL) != CROCHET_OK) return NULL;
    pending_d = crochet_deferred_retain(d);
    return d;                          /* hands one reference to the engine */
}
static crochet_value fire_value;
static atomic_int fire_status = 1;
static void fire_pending(void *ctx) {
    (void)ctx;
    atomic_store(&fire_status, crochet_deferred_callback(pending_d, fire_value));
    crochet_deferred_release(pending_d);
    pending_d = NULL;
}
static void noop(void *ctx) { (void)ctx; }
static void drop_pending(void *ctx) { (void)ctx; crochet_deferred_release(pending_d); pending_d = NULL; }
static crochet_result *submit_pending(void) {
    crochet_result *r = NULL;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)make_pending, CROCHET_TYPE_DEFERRED, NULL, 0));
    /* Flush the queue so the deferred exists before the test goes on. */
    run_on_reactor(noop, NULL);
    ASSERT_NOT_NULL(pending_d);
    ASSERT_STATUS(crochet_wait(r, 0, NULL), CROCHET_ETIMEDOUT);
    return r;
}
static void fire_now(crochet_value v) {
    fire_value = v;
    run_on_reactor(fire_pending, NULL);
    ASSERT_OK(atomic_load(&fire_status));
}

int32_t add_i32(int32_t a, int32_t b) { return a + b; }
void raise_fn(void) { crochet_raise(321, "wait-failure"); }

/* A finished call's value and type are stored in value_out. */
TEST(value) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = NULL;
    crochet_value v;
    ASSERT_OK(CROCHET_SUBMIT(&r, add_i32, CROCHET_TYPE_INT32, crochet_int32(-40), crochet_int32(-2)));
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    ASSERT_EQ(v.type, CROCHET_TYPE_INT32);
    ASSERT_EQ(v.u.i32, -42);
    crochet_result_release(r);
}

/* A deferred's value comes back with the type it was fired with, not the submit's return type. */
TEST(deferred_value_type) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = submit_pending();
    fire_now(crochet_double(-2.5));
    crochet_value v;
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    ASSERT_EQ(v.type, CROCHET_TYPE_DOUBLE);
    ASSERT_DBL_EQ(v.u.f64, -2.5);
    crochet_result_release(r);
}

/* value_out may be NULL for a value and for a failure; the status is still returned. */
TEST(value_out_null) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = NULL;
    ASSERT_OK(CROCHET_SUBMIT(&r, add_i32, CROCHET_TYPE_INT32, crochet_int32(1), crochet_int32(2)));
    ASSERT_OK(crochet_wait(r, 10.0, NULL));
    crochet_value v;
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    ASSERT_EQ(v.u.i32, 3);
    crochet_result_release(r);

    ASSERT_OK(crochet_submit(&r, (crochet_fn)raise_fn, CROCHET_TYPE_VOID, NULL, 0));
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_EFAILED);
    crochet_result_release(r);
}

/* A timeout of 0 on a pending result returns CROCHET_ETIMEDOUT at once, and polls a finished one. */
TEST(timeout_zero_polls) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = submit_pending();
    crochet_value v;
    double t0 = harness_now();
    for (int i = 0; i < 100; i++) ASSERT_STATUS(crochet_wait(r, 0, &v), CROCHET_ETIMEDOUT);
    double dt = harness_now() - t0;
    if (dt > 1.0) FAIL("100 polls took %.3fs", dt);
    fire_now(crochet_int32(5));
    ASSERT_OK(crochet_wait(r, 0, &v));     /* result exists: polling finds it */
    ASSERT_EQ(v.u.i32, 5);
    crochet_result_release(r);
}

/* A wait that timed out after about its timeout leaves the result waitable: a later wait returns the value. */
TEST(timeout_then_result) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = submit_pending();
    crochet_value v;
    double t0 = harness_now();
    ASSERT_STATUS(crochet_wait(r, 0.2, &v), CROCHET_ETIMEDOUT);
    double dt = harness_now() - t0;
    if (dt < 0.19 || dt > 5.0) FAIL("wait(0.2) timed out after %.3fs", dt);
    ASSERT_STATUS(crochet_wait(r, 1e-9, &v), CROCHET_ETIMEDOUT);
    fire_now(crochet_uint64(UINT64_MAX));
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    ASSERT_EQ(v.type, CROCHET_TYPE_UINT64);
    ASSERT_U64_EQ(v.u.u64, UINT64_MAX);
    crochet_result_release(r);
}

/* Once a result exists every wait returns the same status and value (value, failure and cancellation alike). */
TEST(repeated_waits_same_outcome) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = NULL;
    crochet_value v;
    ASSERT_OK(CROCHET_SUBMIT(&r, add_i32, CROCHET_TYPE_INT32, crochet_int32(20), crochet_int32(22)));
    for (int i = 0; i < 5; i++) {
        memset(&v, 0, sizeof v);
        ASSERT_OK(crochet_wait(r, i % 2 ? 0 : 10.0, &v));
        ASSERT_EQ(v.type, CROCHET_TYPE_INT32);
        ASSERT_EQ(v.u.i32, 42);
    }
    crochet_result_release(r);

    ASSERT_OK(crochet_submit(&r, (crochet_fn)raise_fn, CROCHET_TYPE_VOID, NULL, 0));
    ASSERT_STATUS(crochet_wait(r, 10.0, &v), CROCHET_EFAILED);
    const crochet_failure *f = crochet_original_failure(r);
    ASSERT_NOT_NULL(f);
    for (int i = 0; i < 5; i++) {
        ASSERT_STATUS(crochet_wait(r, i % 2 ? 0 : 10.0, &v), CROCHET_EFAILED);
        ASSERT_PTR_EQ(crochet_original_failure(r), f);
    }
    ASSERT_EQ(crochet_failure_code(f), 321);
    crochet_result_release(r);

    r = submit_pending();
    ASSERT_OK(crochet_cancel(r));
    ASSERT_STATUS(crochet_wait(r, 10.0, &v), CROCHET_ECANCELLED);
    for (int i = 0; i < 5; i++) ASSERT_STATUS(crochet_wait(r, 0, &v), CROCHET_ECANCELLED);
    crochet_result_release(r);
    run_on_reactor(drop_pending, NULL);
}

/* ---- many waiters ---- */
enum { WAITERS = 8 };
static crochet_result *shared_r;
static latch waiters_started = LATCH_INIT;
static atomic_int waiter_ok;
static void *waiter(void *p) {
    (void)p;
    crochet_value v;
    latch_open(&waiters_started);
    int s = crochet_wait(shared_r, 10.0, &v);
    if (s == CROCHET_OK && v.type == CROCHET_TYPE_INT64 && v.u.i64 == -77) atomic_fetch_add(&waiter_ok, 1);
    else fprintf(stderr, "waiter got status %d (%s)\n", s, crochet_strerror(s));
    return NULL;
}

/* Eight threads waiting on one pending result at once all get its value when it arrives. */
TEST(many_threads_wait_one_result) {
    ASSERT_OK(crochet_setup());
    shared_r = submit_pending();
    pthread_t th[WAITERS];
    for (int i = 0; i < WAITERS; i++) ASSERT_EQ(pthread_create(&th[i], NULL, waiter, NULL), 0);
    ASSERT(latch_wait_n(&waiters_started, WAITERS, 10.0));
    ASSERT_EQ(atomic_load(&waiter_ok), 0);
    fire_now(crochet_int64(-77));
    for (int i = 0; i < WAITERS; i++) ASSERT_EQ(pthread_join(th[i], NULL), 0);
    ASSERT_EQ(atomic_load(&waiter_ok), WAITERS);
    crochet_result_release(shared_r);
}

static void fire_later(void *ctx) { (void)ctx; fire_pending(NULL); }

/* An INFINITY timeout waits until the result arrives (fired by a timer). */
TEST(infinite_timeout) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = submit_pending();
    fire_value = crochet_int16(-300);
    ASSERT_OK(crochet_call_later(NULL, 0.1, fire_later, NULL, NULL));
    crochet_value v;
    ASSERT_OK(crochet_wait(r, INFINITY, &v));
    ASSERT_EQ(v.type, CROCHET_TYPE_INT16);
    ASSERT_EQ(v.u.i16, -300);
    crochet_result_release(r);
}

/* Huge finite timeouts (1e300, DBL_MAX) wait for the result like INFINITY instead of overflowing. */
TEST(huge_finite_timeout) {
    ASSERT_OK(crochet_setup());
    double timeouts[] = { 1e300, DBL_MAX, 1e10 };
    for (int i = 0; i < 3; i++) {
        crochet_result *r = submit_pending();
        fire_value = crochet_int32(i);
        ASSERT_OK(crochet_call_later(NULL, 0.05, fire_later, NULL, NULL));
        crochet_value v;
        ASSERT_OK(crochet_wait(r, timeouts[i], &v));
        ASSERT_EQ(v.u.i32, i);
        crochet_result_release(r);
    }
}

/* ---- on the reactor thread ---- */
static crochet_result *target;
static atomic_int reactor_wait_ms = -1;
int32_t wait_inside_call(void) {
    double t0 = harness_now();
    crochet_value v;
    int s = crochet_wait(target, 5.0, &v);
    atomic_store(&reactor_wait_ms, (int)((harness_now() - t0) * 1000));
    return s;
}

/* crochet_wait on the reactor thread returns CROCHET_EREACTORTHREAD at once, for a pending and for a finished result. */
TEST(wait_on_reactor_thread) {
    ASSERT_OK(crochet_setup());
    target = submit_pending();
    crochet_result *r = NULL;
    crochet_value v;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)wait_inside_call, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    ASSERT_STATUS(v.u.i32, CROCHET_EREACTORTHREAD);
    if (atomic_load(&reactor_wait_ms) > 1000) FAIL("took %d ms", atomic_load(&reactor_wait_ms));
    crochet_result_release(r);

    fire_now(crochet_int32(1));
    ASSERT_OK(crochet_wait(target, 10.0, &v));
    ASSERT_OK(crochet_submit(&r, (crochet_fn)wait_inside_call, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    ASSERT_STATUS(v.u.i32, CROCHET_EREACTORTHREAD);
    crochet_result_release(r);
    crochet_result_release(target);
}

/* NaN, negative and -INFINITY timeouts are CROCHET_EINVAL, for a pending and a finished result, without consuming anything. */
TEST(bad_timeouts) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = submit_pending();
    crochet_value v;
    double bad[] = { NAN, -NAN, -1.0, -1e-9, -INFINITY };
    for (int i = 0; i < 5; i++) ASSERT_STATUS(crochet_wait(r, bad[i], &v), CROCHET_EINVAL);
    fire_now(crochet_int32(9));
    for (int i = 0; i < 5; i++) ASSERT_STATUS(crochet_wait(r, bad[i], &v), CROCHET_EINVAL);
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    ASSERT_EQ(v.u.i32, 9);
    crochet_result_release(r);
}

/* A NULL result is CROCHET_EINVAL, with and without value_out. */
TEST(null_result) {
    ASSERT_OK(crochet_setup());
    crochet_value v;
    ASSERT_STATUS(crochet_wait(NULL, 0, &v), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_wait(NULL, 1.0, NULL), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_wait(NULL, INFINITY, &v), CROCHET_EINVAL);
}

static void *stop_waiter(void *p) {
    crochet_value v;
    latch_open(&waiters_started);
    *(int *)p = crochet_wait(shared_r, 10.0, &v);
    return NULL;
}
/* A waiter blocked on a pending result returns CROCHET_ESTOPPED when the reactor stops. */
TEST(stop_wakes_waiter) {
    ASSERT_OK(crochet_setup());
    shared_r = submit_pending();
    int status = 99;
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, stop_waiter, &status), 0);
    ASSERT(latch_wait(&waiters_started, 10.0));
    ASSERT_OK(crochet_stop());
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT_STATUS(status, CROCHET_ESTOPPED);
    ASSERT_STATUS(crochet_wait(shared_r, 0, NULL), CROCHET_ESTOPPED);
    crochet_result_release(shared_r);
}

/* ---- short and long timeouts at once ---- */
static atomic_int short_timedout, long_ok;
static void *short_waiter(void *p) {
    (void)p;
    latch_open(&waiters_started);
    int s = crochet_wait(shared_r, 0.05, NULL);
    if (s == CROCHET_ETIMEDOUT) atomic_fetch_add(&short_timedout, 1);
    else fprintf(stderr, "short waiter got %d\n", s);
    return NULL;
}
static void *long_waiter(void *p) {
    (void)p;
    crochet_value v;
    latch_open(&waiters_started);
    int s = crochet_wait(shared_r, 10.0, &v);
    if (s == CROCHET_OK && v.u.i32 == 123) atomic_fetch_add(&long_ok, 1);
    else fprintf(stderr, "long waiter got %d\n", s);
    return NULL;
}

/* Waiters with short timeouts time out on their own while waiters with long timeouts on the same result keep waiting and get the value. */
TEST(mixed_timeouts_one_result) {
    ASSERT_OK(crochet_setup());
    shared_r = submit_pending();
    pthread_t s[4], l[4];
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(pthread_create(&l[i], NULL, long_waiter, NULL), 0);
        ASSERT_EQ(pthread_create(&s[i], NULL, short_waiter, NULL), 0);
    }
    for (int i = 0; i < 4; i++) ASSERT_EQ(pthread_join(s[i], NULL), 0);
    ASSERT_EQ(atomic_load(&short_timedout), 4);
    ASSERT_EQ(atomic_load(&long_ok), 0);
    fire_now(crochet_int32(123));
    for (int i = 0; i < 4; i++) ASSERT_EQ(pthread_join(l[i], NULL), 0);
    ASSERT_EQ(atomic_load(&long_ok), 4);
    crochet_result_release(shared_r);
}
