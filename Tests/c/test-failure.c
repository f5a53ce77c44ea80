/* Failures: crochet_raise, crochet_original_failure and the failure object,
 * unhandled-error logging, and crochet_wait_for. */
#include "harness.h"
#include <dlfcn.h>

static void noop(void *ctx) { (void)ctx; }

/* ---- log capture ---- */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_text[1 << 17];
static size_t log_len;
static int warnings, unhandled, on_reactor_records;
static latch any_warning = LATCH_INIT;
static latch any_unhandled = LATCH_INIT;
static void capture_log(int level, const char *message, void *ctx) {
    (void)ctx;
    pthread_mutex_lock(&log_mu);
    int n = snprintf(log_text + log_len, sizeof log_text - log_len, "[%d] %s\n", level, message);
    if (n > 0) log_len += (size_t)n < sizeof log_text - log_len ? (size_t)n : sizeof log_text - log_len - 1;
    if (crochet_in_reactor_thread()) on_reactor_records++;
    int is_warning = level == CROCHET_LOG_WARNING;
    int is_unhandled = strstr(message, "Unhandled error in EventualResult") != NULL;
    if (is_warning) warnings++;
    if (is_unhandled) unhandled++;
    pthread_mutex_unlock(&log_mu);
    if (is_warning) latch_open(&any_warning);
    if (is_unhandled) latch_open(&any_unhandled);
}
static const char *log_snapshot(void) {   /* only for failure messages */
    static char copy[sizeof log_text];
    pthread_mutex_lock(&log_mu);
    memcpy(copy, log_text, sizeof copy);
    pthread_mutex_unlock(&log_mu);
    return copy;
}

/* ---- raising functions (non-static, named in tracebacks; not tail calls) ---- */
static volatile int32_t sink;
__attribute__((noinline)) int32_t failure_raising_function(int32_t x) {
    crochet_raise(4242, "kaboom");
    sink = x;
    return x + 1;
}
__attribute__((noinline)) void raise_twice(void) {
    crochet_raise(1, "first");
    crochet_raise(2, "second");
    sink = 2;
}
__attribute__((noinline)) void raise_null_message(void) {
    crochet_raise(77, NULL);
    sink = 3;
}
__attribute__((noinline)) void raise_scratch_message(void) {
    char buf[32];
    snprintf(buf, sizeof buf, "scratch-%d", 9);
    crochet_raise(78, buf);
    memset(buf, 'X', sizeof buf - 1);
    buf[sizeof buf - 1] = 0;
    sink = buf[3];
}
__attribute__((noinline)) void unobserved_raiser(void) {
    crochet_raise(4243, "nobody-looked");
    sink = 4;
}
int32_t plain(int32_t x) { return x * 2; }

/* A call that raises completes with CROCHET_EFAILED, and its failure has the code, the message and a traceback naming the raising function. */
TEST(raise_fails_call) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = NULL;
    ASSERT_OK(CROCHET_SUBMIT(&r, failure_raising_function, CROCHET_TYPE_INT32, crochet_int32(1)));
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_EFAILED);
    const crochet_failure *f = crochet_original_failure(r);
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(crochet_failure_code(f), 4242);
    ASSERT_STREQ(crochet_failure_message(f), "kaboom");
    const char *tb = crochet_failure_traceback(f);
    ASSERT_NOT_NULL(tb);
    ASSERT(strlen(tb) > 0);
    ASSERT_CONTAINS(tb, "failure_raising_function");
    ASSERT_PTR_EQ(crochet_original_failure(r), f);   /* the same borrowed failure each time */
    crochet_result_release(r);
}

/* dladdr, counted: the library's calls resolve to this one (the test
 * binary exports its symbols) and go on to the real one. */
static atomic_int dladdr_calls;
int dladdr(const void *addr, Dl_info *info) {
    static int (*real)(const void *, Dl_info *);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "dladdr");
    atomic_fetch_add(&dladdr_calls, 1);
    return real(addr, info);
}

/* Raising keeps return addresses only: the frames are named (dladdr) when the traceback is first read, once. */
TEST(traceback_is_named_when_first_read) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = NULL;
    ASSERT_OK(CROCHET_SUBMIT(&r, failure_raising_function, CROCHET_TYPE_INT32, crochet_int32(1)));
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_EFAILED);
    int before = atomic_load(&dladdr_calls);
    const crochet_failure *f = crochet_original_failure(r);
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(atomic_load(&dladdr_calls), before);   /* nothing named by the raise, the wait or the lookup */
    const char *tb = crochet_failure_traceback(f);
    ASSERT(atomic_load(&dladdr_calls) > before);
    ASSERT_CONTAINS(tb, "failure_raising_function");
    int after = atomic_load(&dladdr_calls);
    ASSERT_PTR_EQ(crochet_failure_traceback(f), tb);   /* made once, kept */
    ASSERT_EQ(atomic_load(&dladdr_calls), after);
    crochet_result_release(r);
}

static const crochet_failure *shared_failure;
static latch readers_go = LATCH_INIT;
static void *read_traceback(void *p) {
    (void)p;
    latch_wait(&readers_go, 10.0);
    return (void *)crochet_failure_traceback(shared_failure);
}

/* Threads reading a failure's traceback for the first time at once all get the same text. */
TEST(traceback_first_read_from_many_threads) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = NULL;
    ASSERT_OK(CROCHET_SUBMIT(&r, failure_raising_function, CROCHET_TYPE_INT32, crochet_int32(1)));
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_EFAILED);
    shared_failure = crochet_original_failure(r);
    pthread_t threads[8];
    for (int i = 0; i < 8; i++) ASSERT_EQ(pthread_create(&threads[i], NULL, read_traceback, NULL), 0);
    latch_open(&readers_go);
    void *texts[8];
    for (int i = 0; i < 8; i++) ASSERT_EQ(pthread_join(threads[i], &texts[i]), 0);
    for (int i = 1; i < 8; i++) ASSERT_PTR_EQ(texts[i], texts[0]);
    ASSERT_CONTAINS((const char *)texts[0], "failure_raising_function");
    crochet_result_release(r);
}

/* A later crochet_raise in the same call replaces the earlier one. */
TEST(later_raise_replaces) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = NULL;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)raise_twice, CROCHET_TYPE_VOID, NULL, 0));
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_EFAILED);
    ASSERT_EQ(crochet_failure_code(crochet_original_failure(r)), 2);
    ASSERT_STREQ(crochet_failure_message(crochet_original_failure(r)), "second");
    crochet_result_release(r);
}

/* The message is copied at raise (the caller's buffer may change), and a NULL message reads as "". */
TEST(message_copied_and_null) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = NULL;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)raise_scratch_message, CROCHET_TYPE_VOID, NULL, 0));
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_EFAILED);
    ASSERT_STREQ(crochet_failure_message(crochet_original_failure(r)), "scratch-9");
    crochet_result_release(r);

    ASSERT_OK(crochet_submit(&r, (crochet_fn)raise_null_message, CROCHET_TYPE_VOID, NULL, 0));
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_EFAILED);
    const crochet_failure *f = crochet_original_failure(r);
    ASSERT_EQ(crochet_failure_code(f), 77);
    ASSERT_STREQ(crochet_failure_message(f), "");
    ASSERT_NOT_NULL(crochet_failure_traceback(f));
    crochet_result_release(r);
}

static latch gate = LATCH_INIT;
int32_t gated(void) { return latch_wait(&gate, 10.0) ? 1 : 0; }

/* crochet_original_failure is NULL for a success, for a pending result and for NULL. */
TEST(original_failure_null_cases) {
    ASSERT_OK(crochet_setup());
    ASSERT_NULL(crochet_original_failure(NULL));
    crochet_result *r = NULL;
    ASSERT_OK(CROCHET_SUBMIT(&r, plain, CROCHET_TYPE_INT32, crochet_int32(4)));
    ASSERT_OK(crochet_wait(r, 10.0, NULL));
    ASSERT_NULL(crochet_original_failure(r));
    crochet_result_release(r);

    ASSERT_OK(crochet_submit(&r, (crochet_fn)gated, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT_NULL(crochet_original_failure(r));
    latch_open(&gate);
    ASSERT_OK(crochet_wait(r, 10.0, NULL));
    ASSERT_NULL(crochet_original_failure(r));
    crochet_result_release(r);
}

/* A retained failure stays valid (code, message, traceback) after its result is released. */
TEST(failure_outlives_result) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = NULL;
    ASSERT_OK(CROCHET_SUBMIT(&r, failure_raising_function, CROCHET_TYPE_INT32, crochet_int32(1)));
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_EFAILED);
    crochet_failure *f = crochet_failure_retain(crochet_original_failure(r));
    ASSERT_NOT_NULL(f);
    ASSERT_PTR_EQ(f, crochet_original_failure(r));
    crochet_result_release(r);
    run_on_reactor(noop, NULL);
    ASSERT_EQ(crochet_failure_code(f), 4242);
    ASSERT_STREQ(crochet_failure_message(f), "kaboom");
    ASSERT_CONTAINS(crochet_failure_traceback(f), "failure_raising_function");
    crochet_failure *f2 = crochet_failure_retain(f);
    ASSERT_PTR_EQ(f2, f);
    crochet_failure_release(f);
    ASSERT_STREQ(crochet_failure_message(f2), "kaboom");
    crochet_failure_release(f2);
    ASSERT_NULL(crochet_failure_retain(NULL));
    crochet_failure_release(NULL);
}

static void raise_on_reactor_outside_call(void *ctx) { (void)ctx; crochet_raise(12, "stray-reactor"); }

/* crochet_raise outside a submitted call (main thread, or reactor-thread callback) only logs a warning and does not fail the next call. */
TEST(raise_outside_call_warns) {
    ASSERT_OK(crochet_setup());
    crochet_set_log_handler(capture_log, NULL, NULL);
    crochet_raise(11, "stray-main");
    if (!latch_wait(&any_warning, 10.0)) FAIL("no warning logged; log:\n%s", log_snapshot());
    run_on_reactor(raise_on_reactor_outside_call, NULL);
    if (!latch_wait_n(&any_warning, 2, 10.0)) FAIL("no second warning logged; log:\n%s", log_snapshot());
    crochet_result *r = NULL;
    crochet_value v;
    ASSERT_OK(CROCHET_SUBMIT(&r, plain, CROCHET_TYPE_INT32, crochet_int32(21)));
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    ASSERT_EQ(v.u.i32, 42);
    ASSERT_NULL(crochet_original_failure(r));
    crochet_result_release(r);
    pthread_mutex_lock(&log_mu);
    ASSERT_EQ(on_reactor_records, 0);
    ASSERT_EQ(unhandled, 0);
    pthread_mutex_unlock(&log_mu);
}

/* An unobserved failed result, when released, is logged at CROCHET_LOG_ERROR as an unhandled error with its code, message and traceback, on the logging thread. */
TEST(unobserved_failure_logged) {
    ASSERT_OK(crochet_setup());
    crochet_set_log_handler(capture_log, NULL, NULL);
    crochet_result *r = NULL;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)unobserved_raiser, CROCHET_TYPE_VOID, NULL, 0));
    run_on_reactor(noop, NULL);   /* it has failed */
    crochet_result_release(r);
    if (!latch_wait(&any_unhandled, 10.0)) FAIL("nothing logged; log:\n%s", log_snapshot());
    const char *log = log_snapshot();
    ASSERT_CONTAINS(log, "[40] Unhandled error in EventualResult");
    ASSERT_CONTAINS(log, "4243");
    ASSERT_CONTAINS(log, "nobody-looked");
    ASSERT_CONTAINS(log, "unobserved_raiser");
    pthread_mutex_lock(&log_mu);
    ASSERT_EQ(unhandled, 1);
    ASSERT_EQ(on_reactor_records, 0);
    pthread_mutex_unlock(&log_mu);
}

/* A failure observed through crochet_wait or crochet_original_failure is not logged when released (an unobserved control released last is). */
TEST(observed_failure_not_logged) {
    ASSERT_OK(crochet_setup());
    crochet_set_log_handler(capture_log, NULL, NULL);
    crochet_result *a = NULL, *b = NULL, *c = NULL, *control = NULL;
    ASSERT_OK(CROCHET_SUBMIT(&a, failure_raising_function, CROCHET_TYPE_INT32, crochet_int32(1)));
    ASSERT_OK(CROCHET_SUBMIT(&b, failure_raising_function, CROCHET_TYPE_INT32, crochet_int32(2)));
    ASSERT_OK(CROCHET_SUBMIT(&c, failure_raising_function, CROCHET_TYPE_INT32, crochet_int32(3)));
    ASSERT_STATUS(crochet_wait(a, 10.0, NULL), CROCHET_EFAILED);            /* observed by wait */
    run_on_reactor(noop, NULL);
    ASSERT_NOT_NULL(crochet_original_failure(b));                            /* observed by original_failure */
    ASSERT_STATUS(crochet_wait(c, 10.0, NULL), CROCHET_EFAILED);
    crochet_result *c2 = crochet_result_retain(c);                           /* observed, two references */
    crochet_result_release(a);
    crochet_result_release(b);
    crochet_result_release(c);
    crochet_result_release(c2);
    ASSERT_OK(crochet_submit(&control, (crochet_fn)unobserved_raiser, CROCHET_TYPE_VOID, NULL, 0));
    run_on_reactor(noop, NULL);
    crochet_result_release(control);
    if (!latch_wait(&any_unhandled, 10.0)) FAIL("control never logged; log:\n%s", log_snapshot());
    pthread_mutex_lock(&log_mu);
    if (unhandled != 1) FAIL("%d unhandled-error records, expected only the control's:\n%s", unhandled, log_text);
    if (strstr(log_text, "kaboom")) FAIL("an observed failure was logged:\n%s", log_text);
    pthread_mutex_unlock(&log_mu);
}

/* A failure of a result still referenced by someone is not logged until the last reference goes. */
TEST(unhandled_logged_on_last_reference) {
    ASSERT_OK(crochet_setup());
    crochet_set_log_handler(capture_log, NULL, NULL);
    crochet_result *r = NULL;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)unobserved_raiser, CROCHET_TYPE_VOID, NULL, 0));
    run_on_reactor(noop, NULL);
    crochet_result *r2 = crochet_result_retain(r);
    crochet_result_release(r);
    /* A second, separate unobserved failure released now acts as a flush marker. */
    crochet_result *m = NULL;
    ASSERT_OK(CROCHET_SUBMIT(&m, failure_raising_function, CROCHET_TYPE_INT32, crochet_int32(0)));
    run_on_reactor(noop, NULL);
    crochet_result_release(m);
    if (!latch_wait(&any_unhandled, 10.0)) FAIL("marker never logged; log:\n%s", log_snapshot());
    pthread_mutex_lock(&log_mu);
    if (strstr(log_text, "nobody-looked")) FAIL("logged while still referenced:\n%s", log_text);
    pthread_mutex_unlock(&log_mu);
    crochet_result_release(r2);
    if (!latch_wait_n(&any_unhandled, 2, 10.0)) FAIL("never logged after the last release; log:\n%s", log_snapshot());
    ASSERT_CONTAINS(log_snapshot(), "nobody-looked");
}

crochet_deferred *returns_null_deferred(void) { return NULL; }

/* A function declared to return a deferred that returns NULL fails the call with code CROCHET_EINVAL. */
TEST(null_deferred_fails_einval) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = NULL;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)returns_null_deferred, CROCHET_TYPE_DEFERRED, NULL, 0));
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_EFAILED);
    const crochet_failure *f = crochet_original_failure(r);
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(crochet_failure_code(f), CROCHET_EINVAL);
    ASSERT_NOT_NULL(crochet_failure_message(f));
    crochet_result_release(r);
}

/* ---- raise inside crochet_defer_to_thread ---- */
__attribute__((noinline)) int32_t worker_raising_function(int32_t x) {
    crochet_raise(606, "from-worker");
    sink = x;
    return x;
}
crochet_deferred *defer_raiser(void) {
    crochet_deferred *d = NULL;
    crochet_value a = crochet_int32(5);
    if (crochet_defer_to_thread(&d, (crochet_fn)worker_raising_function, CROCHET_TYPE_INT32, &a, 1) != CROCHET_OK)
        return NULL;
    return d;
}

/* crochet_raise inside a function run by crochet_defer_to_thread fails the deferred with its code, message and traceback. */
TEST(raise_in_worker_thread) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = NULL;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)defer_raiser, CROCHET_TYPE_DEFERRED, NULL, 0));
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_EFAILED);
    const crochet_failure *f = crochet_original_failure(r);
    ASSERT_EQ(crochet_failure_code(f), 606);
    ASSERT_STREQ(crochet_failure_message(f), "from-worker");
    ASSERT_CONTAINS(crochet_failure_traceback(f), "worker_raising_function");
    crochet_result_release(r);
}

/* ---- crochet_wait_for ---- */
#define GARBAGE_FAILURE ((crochet_failure *)(uintptr_t)0x1)

/* crochet_wait_for returns a call's value and sets failure_out to NULL on success. */
TEST(wait_for_value) {
    ASSERT_OK(crochet_setup());
    crochet_value v, a = crochet_int32(-8);
    crochet_failure *f = GARBAGE_FAILURE;
    ASSERT_OK(crochet_wait_for(&v, &f, 10.0, (crochet_fn)plain, CROCHET_TYPE_INT32, &a, 1));
    ASSERT_EQ(v.type, CROCHET_TYPE_INT32);
    ASSERT_EQ(v.u.i32, -16);
    ASSERT_NULL(f);
    ASSERT_OK(crochet_wait_for(NULL, NULL, INFINITY, (crochet_fn)plain, CROCHET_TYPE_INT32, &a, 1));
}

/* crochet_wait_for on a failing call returns CROCHET_EFAILED and hands a failure reference the caller releases. */
TEST(wait_for_failure_reference) {
    ASSERT_OK(crochet_setup());
    crochet_set_log_handler(capture_log, NULL, NULL);
    crochet_value a = crochet_int32(3);
    crochet_failure *f = NULL;
    ASSERT_STATUS(crochet_wait_for(NULL, &f, 10.0, (crochet_fn)failure_raising_function,
                                   CROCHET_TYPE_INT32, &a, 1), CROCHET_EFAILED);
    ASSERT_NOT_NULL(f);
    run_on_reactor(noop, NULL);
    ASSERT_EQ(crochet_failure_code(f), 4242);
    ASSERT_STREQ(crochet_failure_message(f), "kaboom");
    ASSERT_CONTAINS(crochet_failure_traceback(f), "failure_raising_function");
    crochet_failure_release(f);
    /* Without failure_out the status is still returned. */
    ASSERT_STATUS(crochet_wait_for(NULL, NULL, 10.0, (crochet_fn)failure_raising_function,
                                   CROCHET_TYPE_INT32, &a, 1), CROCHET_EFAILED);
    /* The failures were observed by wait_for itself: an unobserved control is the only unhandled record. */
    crochet_result *control = NULL;
    ASSERT_OK(crochet_submit(&control, (crochet_fn)unobserved_raiser, CROCHET_TYPE_VOID, NULL, 0));
    run_on_reactor(noop, NULL);
    crochet_result_release(control);
    if (!latch_wait(&any_unhandled, 10.0)) FAIL("control never logged; log:\n%s", log_snapshot());
    pthread_mutex_lock(&log_mu);
    if (unhandled != 1) FAIL("%d unhandled-error records, expected 1:\n%s", unhandled, log_text);
    pthread_mutex_unlock(&log_mu);
}

static atomic_int canceller_ran, canceller_on_reactor;
static latch canceller_latch = LATCH_INIT;
static void record_canceller(crochet_deferred *d, void *ctx) {
    (void)d; (void)ctx;
    atomic_fetch_add(&canceller_ran, 1);
    atomic_store(&canceller_on_reactor, crochet_in_reactor_thread());
    latch_open(&canceller_latch);
}
static atomic_int never_fires_calls;
crochet_deferred *never_fires(void) {
    crochet_deferred *d = NULL;
    atomic_fetch_add(&never_fires_calls, 1);
    return crochet_deferred_new(&d, record_canceller, NULL, NULL) == CROCHET_OK ? d : NULL;
}

/* crochet_wait_for on a call that never finishes returns CROCHET_ETIMEDOUT after the timeout and cancels the call. */
TEST(wait_for_timeout_cancels) {
    ASSERT_OK(crochet_setup());
    crochet_value v;
    crochet_failure *f = GARBAGE_FAILURE;
    double t0 = harness_now();
    ASSERT_STATUS(crochet_wait_for(&v, &f, 0.2, (crochet_fn)never_fires, CROCHET_TYPE_DEFERRED, NULL, 0),
                  CROCHET_ETIMEDOUT);
    double dt = harness_now() - t0;
    if (dt < 0.19 || dt > 5.0) FAIL("wait_for(0.2) returned after %.3fs", dt);
    ASSERT_NULL(f);
    ASSERT(latch_wait(&canceller_latch, 10.0));
    ASSERT_EQ(atomic_load(&canceller_ran), 1);
    ASSERT_EQ(atomic_load(&canceller_on_reactor), 1);
    ASSERT_EQ(atomic_load(&never_fires_calls), 1);
    /* A timeout of 0 also cancels: the call either never starts or has its deferred cancelled. */
    ASSERT_STATUS(crochet_wait_for(NULL, NULL, 0, (crochet_fn)never_fires, CROCHET_TYPE_DEFERRED, NULL, 0),
                  CROCHET_ETIMEDOUT);
    run_on_reactor(noop, NULL);
    run_on_reactor(noop, NULL);
    ASSERT_EQ(atomic_load(&canceller_ran), atomic_load(&never_fires_calls));
}

static atomic_int marker_calls;
int32_t marker(void) { atomic_fetch_add(&marker_calls, 1); return 1; }
int32_t wait_for_inside_call(void) {
    crochet_value v;
    crochet_failure *f = GARBAGE_FAILURE;
    int s = crochet_wait_for(&v, &f, 5.0, (crochet_fn)marker, CROCHET_TYPE_INT32, NULL, 0);
    if (f != NULL && f != GARBAGE_FAILURE) crochet_failure_release(f);
    return s;
}

/* crochet_wait_for on the reactor thread returns CROCHET_EREACTORTHREAD without submitting: the function never runs. */
TEST(wait_for_on_reactor_thread) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = NULL;
    crochet_value v;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)wait_for_inside_call, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    ASSERT_STATUS(v.u.i32, CROCHET_EREACTORTHREAD);
    crochet_result_release(r);
    run_on_reactor(noop, NULL);
    run_on_reactor(noop, NULL);
    ASSERT_EQ(atomic_load(&marker_calls), 0);
}

/* crochet_wait_for rejects a NULL fn, bad types, too many arguments and NaN or negative timeouts with CROCHET_EINVAL, running nothing. */
TEST(wait_for_bad_args) {
    ASSERT_OK(crochet_setup());
    crochet_value v, args[CROCHET_MAX_ARGS + 1];
    for (int i = 0; i <= CROCHET_MAX_ARGS; i++) args[i] = crochet_int32(i);
    crochet_failure *f = GARBAGE_FAILURE;
    ASSERT_STATUS(crochet_wait_for(&v, &f, 1.0, NULL, CROCHET_TYPE_INT32, NULL, 0), CROCHET_EINVAL);
    ASSERT_NULL(f);
    ASSERT_STATUS(crochet_wait_for(&v, NULL, NAN, (crochet_fn)marker, CROCHET_TYPE_INT32, NULL, 0), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_wait_for(&v, NULL, -1.0, (crochet_fn)marker, CROCHET_TYPE_INT32, NULL, 0), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_wait_for(&v, NULL, -INFINITY, (crochet_fn)marker, CROCHET_TYPE_INT32, NULL, 0), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_wait_for(&v, NULL, 1.0, (crochet_fn)marker, (crochet_type)13, NULL, 0), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_wait_for(&v, NULL, 1.0, (crochet_fn)marker, CROCHET_TYPE_INT32, args,
                                   CROCHET_MAX_ARGS + 1), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_wait_for(&v, NULL, 1.0, (crochet_fn)marker, CROCHET_TYPE_INT32, NULL, 1), CROCHET_EINVAL);
    args[0].type = CROCHET_TYPE_VOID;
    ASSERT_STATUS(crochet_wait_for(&v, NULL, 1.0, (crochet_fn)marker, CROCHET_TYPE_INT32, args, 1), CROCHET_EINVAL);
    run_on_reactor(noop, NULL);
    ASSERT_EQ(atomic_load(&marker_calls), 0);
    ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)marker, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT_EQ(atomic_load(&marker_calls), 1);
}

static crochet_deferred *kept_by_raiser;   /* the function keeps its deferred: the engine never touches it */
crochet_deferred *raise_then_return_deferred(void) {
    crochet_deferred *d = NULL;
    if (crochet_deferred_new(&d, NULL, NULL, NULL) != CROCHET_OK) return NULL;
    kept_by_raiser = d;
    crochet_raise(808, "raised-before-deferred");
    return d;
}

/* A raise inside a function returning a deferred fails the call with the raise, ignoring the returned deferred. */
TEST(raise_in_deferred_function) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = NULL;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)raise_then_return_deferred, CROCHET_TYPE_DEFERRED, NULL, 0));
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_EFAILED);
    ASSERT_EQ(crochet_failure_code(crochet_original_failure(r)), 808);
    ASSERT_STREQ(crochet_failure_message(crochet_original_failure(r)), "raised-before-deferred");
    crochet_result_release(r);
    crochet_deferred_release(kept_by_raiser);   /* still the function's (else a leak under ASan/valgrind) */
}

static latch blocker_gate = LATCH_INIT;
static latch blocker_entered = LATCH_INIT;
int32_t blocker(void) { latch_open(&blocker_entered); return latch_wait(&blocker_gate, 10.0); }

/* A failing call whose result the caller released before it even ran is still logged as unhandled once it fails. */
TEST(released_before_completion_still_logged) {
    ASSERT_OK(crochet_setup());
    crochet_set_log_handler(capture_log, NULL, NULL);
    crochet_result *b = NULL, *r = NULL;
    ASSERT_OK(crochet_submit(&b, (crochet_fn)blocker, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT(latch_wait(&blocker_entered, 10.0));
    ASSERT_OK(crochet_submit(&r, (crochet_fn)unobserved_raiser, CROCHET_TYPE_VOID, NULL, 0));
    crochet_result_release(r);
    latch_open(&blocker_gate);
    ASSERT_OK(crochet_wait(b, 10.0, NULL));
    crochet_result_release(b);
    if (!latch_wait(&any_unhandled, 10.0)) FAIL("never logged; log:\n%s", log_snapshot());
    ASSERT_CONTAINS(log_snapshot(), "nobody-looked");
    pthread_mutex_lock(&log_mu);
    ASSERT_EQ(on_reactor_records, 0);
    pthread_mutex_unlock(&log_mu);
}

struct wait_for_outcome { int status; crochet_failure *f; };
static latch wait_for_started = LATCH_INIT;
crochet_deferred *plain_never_fires(void) {
    crochet_deferred *d = NULL;
    if (crochet_deferred_new(&d, NULL, NULL, NULL) != CROCHET_OK) return NULL;
    latch_open(&wait_for_started);
    return d;
}
static void *wait_for_forever(void *p) {
    struct wait_for_outcome *o = p;
    o->status = crochet_wait_for(NULL, &o->f, INFINITY, (crochet_fn)plain_never_fires, CROCHET_TYPE_DEFERRED, NULL, 0);
    return NULL;
}

/* A crochet_wait_for blocked with no time limit returns CROCHET_ESTOPPED when the reactor stops, with a failure of code CROCHET_ESTOPPED. */
TEST(wait_for_stopped) {
    ASSERT_OK(crochet_setup());
    struct wait_for_outcome o = { 99, GARBAGE_FAILURE };
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, wait_for_forever, &o), 0);
    ASSERT(latch_wait(&wait_for_started, 10.0));
    ASSERT_OK(crochet_stop());
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT_STATUS(o.status, CROCHET_ESTOPPED);
    ASSERT_NOT_NULL(o.f);
    ASSERT(o.f != GARBAGE_FAILURE);
    ASSERT_EQ(crochet_failure_code(o.f), CROCHET_ESTOPPED);
    crochet_failure_release(o.f);
}
