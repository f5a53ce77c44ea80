/* Bad input to every contract function: NULL handles and out-pointers,
 * unknown type tags, too many arguments, NaN/negative/infinite times,
 * unknown stash ids, reactor-only functions off the reactor thread, calls
 * before setup and after stop. Each returns its documented status. */
#include "harness.h"
#include <fcntl.h>
#include <limits.h>

static void noop(void *ctx) { (void)ctx; }

static atomic_int marker_calls;
int32_t marker(void) { atomic_fetch_add(&marker_calls, 1); return 1; }
static void marker_cb(void *ctx) { (void)ctx; atomic_fetch_add(&marker_calls, 1); }
static void marker_fd_cb(int fd, void *ctx) { (void)fd; (void)ctx; atomic_fetch_add(&marker_calls, 1); }
static void marker_destroy(void *p) { (void)p; atomic_fetch_add(&marker_calls, 1); }
static void marker_value(crochet_value v, void *ctx) { (void)v; (void)ctx; atomic_fetch_add(&marker_calls, 1); }
static void marker_failure(const crochet_failure *f, void *ctx) { (void)f; (void)ctx; atomic_fetch_add(&marker_calls, 1); }
static void marker_canceller(crochet_deferred *d, void *ctx) { (void)d; (void)ctx; atomic_fetch_add(&marker_calls, 1); }

#define BAD_RESULT ((crochet_result *)(uintptr_t)0x1)
#define BAD_DEFERRED ((crochet_deferred *)(uintptr_t)0x1)

/* Status checks on the reactor thread are collected, then asserted on the main thread. */
static char errors[8192];
static size_t errors_len;
#define CHECK(expr, expected) do {                                              \
        int _s = (expr), _e = (expected);                                       \
        if (_s != _e && errors_len < sizeof errors - 200)                       \
            errors_len += (size_t)snprintf(errors + errors_len, sizeof errors - errors_len, \
                "  line %d: %s returned %d (%s), expected %d (%s)\n", __LINE__, #expr, \
                _s, crochet_strerror(_s), _e, crochet_strerror(_e));            \
    } while (0)
#define ASSERT_NO_ERRORS() do { if (errors_len) FAIL("on the reactor thread:\n%s", errors); } while (0)

static const crochet_type bad_tags[] = {
    (crochet_type)13, (crochet_type)99, (crochet_type)-1, (crochet_type)0x7fffffff, (crochet_type)1000000
};
#define NBAD (sizeof bad_tags / sizeof bad_tags[0])

/* ---- before setup ---- */

/* Before setup, submit, wait_for, stop, call_from_thread, call_later and add_shutdown_trigger are CROCHET_ESTATE, run is CROCHET_ESTATE, and reactor-only functions are CROCHET_ENOTREACTOR. */
TEST(before_setup_estate) {
    crochet_result *r = BAD_RESULT;
    ASSERT_STATUS(crochet_submit(&r, (crochet_fn)marker, CROCHET_TYPE_INT32, NULL, 0), CROCHET_ESTATE);
    ASSERT_NULL(r);
    r = BAD_RESULT;
    ASSERT_STATUS(CROCHET_SUBMIT(&r, marker, CROCHET_TYPE_INT32), CROCHET_ESTATE);
    ASSERT_NULL(r);
    crochet_value v;
    ASSERT_STATUS(crochet_wait_for(&v, NULL, 1.0, (crochet_fn)marker, CROCHET_TYPE_INT32, NULL, 0), CROCHET_ESTATE);
    ASSERT_STATUS(crochet_call_from_thread(marker_cb, NULL, NULL), CROCHET_ESTATE);
    crochet_delayed_call *c = NULL;
    ASSERT_STATUS(crochet_call_later(&c, 0, marker_cb, NULL, NULL), CROCHET_ESTATE);
    ASSERT_STATUS(crochet_call_later(NULL, 0, marker_cb, NULL, NULL), CROCHET_ESTATE);
    ASSERT_STATUS(crochet_add_shutdown_trigger(marker_cb, NULL, NULL), CROCHET_ESTATE);
    ASSERT_STATUS(crochet_stop(), CROCHET_ESTATE);
    ASSERT_STATUS(crochet_run(), CROCHET_ESTATE);
    ASSERT_EQ(crochet_in_reactor_thread(), 0);
    crochet_deferred *d = NULL;
    ASSERT_STATUS(crochet_deferred_new(&d, NULL, NULL, NULL), CROCHET_ENOTREACTOR);
    ASSERT_STATUS(crochet_defer_to_thread(&d, (crochet_fn)marker, CROCHET_TYPE_INT32, NULL, 0), CROCHET_ENOTREACTOR);
    ASSERT_EQ(atomic_load(&marker_calls), 0);
    /* Setup still works afterwards. */
    ASSERT_OK(crochet_setup());
    ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)marker, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT_EQ(atomic_load(&marker_calls), 1);
}

/* ---- lifecycle misuse ---- */

/* no_setup after setup, run without no_setup, and submit/call_from_thread/call_later after stop get their documented statuses. */
TEST(lifecycle_misuse) {
    ASSERT_OK(crochet_setup());
    ASSERT_OK(crochet_setup());
    ASSERT_STATUS(crochet_no_setup(), CROCHET_ESTATE);
    ASSERT_STATUS(crochet_run(), CROCHET_ESTATE);
    ASSERT_OK(crochet_stop());
    ASSERT_OK(crochet_stop());
    crochet_result *r = BAD_RESULT;
    ASSERT_STATUS(crochet_submit(&r, (crochet_fn)marker, CROCHET_TYPE_INT32, NULL, 0), CROCHET_ESTOPPED);
    ASSERT_NULL(r);
    ASSERT_STATUS(crochet_wait_for(NULL, NULL, 1.0, (crochet_fn)marker, CROCHET_TYPE_INT32, NULL, 0), CROCHET_ESTOPPED);
    ASSERT_STATUS(crochet_call_from_thread(marker_cb, NULL, NULL), CROCHET_ESTOPPED);
    ASSERT_STATUS(crochet_call_later(NULL, 0, marker_cb, NULL, NULL), CROCHET_ESTOPPED);
    ASSERT_EQ(atomic_load(&marker_calls), 0);
}

/* ---- crochet_submit ---- */

/* crochet_submit rejects a NULL out, NULL fn, NULL args with nargs > 0, unknown/VOID/DEFERRED argument tags, unknown return tags and nargs > 32 with CROCHET_EINVAL, setting *out to NULL and running nothing. */
TEST(submit_bad_args) {
    ASSERT_OK(crochet_setup());
    crochet_value args[CROCHET_MAX_ARGS + 1];
    for (int i = 0; i <= CROCHET_MAX_ARGS; i++) args[i] = crochet_int32(i);
    crochet_result *r;

    ASSERT_STATUS(crochet_submit(NULL, (crochet_fn)marker, CROCHET_TYPE_INT32, NULL, 0), CROCHET_EINVAL);
    r = BAD_RESULT;
    ASSERT_STATUS(crochet_submit(&r, NULL, CROCHET_TYPE_INT32, NULL, 0), CROCHET_EINVAL);
    ASSERT_NULL(r);
    r = BAD_RESULT;
    ASSERT_STATUS(crochet_submit(&r, (crochet_fn)marker, CROCHET_TYPE_INT32, NULL, 1), CROCHET_EINVAL);
    ASSERT_NULL(r);
    r = BAD_RESULT;
    ASSERT_STATUS(crochet_submit(&r, (crochet_fn)marker, CROCHET_TYPE_INT32, args, CROCHET_MAX_ARGS + 1), CROCHET_EINVAL);
    ASSERT_NULL(r);
    ASSERT_STATUS(crochet_submit(&r, (crochet_fn)marker, CROCHET_TYPE_INT32, args, SIZE_MAX), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_submit(&r, (crochet_fn)marker, CROCHET_TYPE_INT32, NULL, SIZE_MAX), CROCHET_EINVAL);

    for (size_t i = 0; i < NBAD; i++) {
        r = BAD_RESULT;
        ASSERT_STATUS(crochet_submit(&r, (crochet_fn)marker, bad_tags[i], NULL, 0), CROCHET_EINVAL);
        ASSERT_NULL(r);
        /* A bad argument tag in the first and in the last position. */
        crochet_value a[CROCHET_MAX_ARGS];
        memcpy(a, args, sizeof a);
        a[0].type = bad_tags[i];
        ASSERT_STATUS(crochet_submit(&r, (crochet_fn)marker, CROCHET_TYPE_INT32, a, 1), CROCHET_EINVAL);
        a[0] = args[0];
        a[CROCHET_MAX_ARGS - 1].type = bad_tags[i];
        ASSERT_STATUS(crochet_submit(&r, (crochet_fn)marker, CROCHET_TYPE_INT32, a, CROCHET_MAX_ARGS), CROCHET_EINVAL);
    }
    crochet_value a = crochet_void();
    ASSERT_STATUS(crochet_submit(&r, (crochet_fn)marker, CROCHET_TYPE_INT32, &a, 1), CROCHET_EINVAL);
    a.type = CROCHET_TYPE_DEFERRED;
    a.u.ptr = NULL;
    ASSERT_STATUS(crochet_submit(&r, (crochet_fn)marker, CROCHET_TYPE_INT32, &a, 1), CROCHET_EINVAL);
    r = BAD_RESULT;
    ASSERT_STATUS(CROCHET_SUBMIT(&r, marker, CROCHET_TYPE_INT32, crochet_int32(1), crochet_void()), CROCHET_EINVAL);
    ASSERT_NULL(r);

    run_on_reactor(noop, NULL);
    ASSERT_EQ(atomic_load(&marker_calls), 0);
    /* The same call with good input runs. */
    ASSERT_OK(crochet_submit(&r, (crochet_fn)marker, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT_OK(crochet_wait(r, 10.0, NULL));
    crochet_result_release(r);
    ASSERT_EQ(atomic_load(&marker_calls), 1);
}

/* ---- results, stash, failures ---- */

/* Result functions given NULL handles or out-pointers return CROCHET_EINVAL (or NULL), and unknown stash ids are CROCHET_ENOTFOUND. */
TEST(result_functions_null) {
    ASSERT_OK(crochet_setup());
    crochet_value v;
    ASSERT_STATUS(crochet_wait(NULL, 0, &v), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_wait(NULL, 1.0, NULL), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_cancel(NULL), CROCHET_EINVAL);
    ASSERT_NULL(crochet_original_failure(NULL));
    uint64_t id = 5;
    ASSERT_STATUS(crochet_stash(NULL, &id), CROCHET_EINVAL);
    crochet_result *r = NULL;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)marker, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT_STATUS(crochet_stash(r, NULL), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_retrieve(NULL, 1), CROCHET_EINVAL);
    uint64_t unknown[] = { 0, 1, 42, UINT64_MAX, 0xdeadbeefcafef00dULL };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        crochet_result *back = BAD_RESULT;
        ASSERT_STATUS(crochet_retrieve(&back, unknown[i]), CROCHET_ENOTFOUND);
        ASSERT_NULL(back);
    }
    ASSERT_NULL(crochet_result_retain(NULL));
    crochet_result_release(NULL);
    ASSERT_OK(crochet_wait(r, 10.0, NULL));
    crochet_result_release(r);
}

/* Failure accessors on NULL return 0, "" and a non-NULL traceback; retain(NULL) is NULL and release(NULL) does nothing. */
TEST(failure_functions_null) {
    ASSERT_OK(crochet_setup());
    ASSERT_EQ(crochet_failure_code(NULL), 0);
    ASSERT_STREQ(crochet_failure_message(NULL), "");
    ASSERT_NOT_NULL(crochet_failure_traceback(NULL));
    ASSERT_NULL(crochet_failure_retain(NULL));
    crochet_failure_release(NULL);
}

/* Releasing NULL handles of every kind does nothing, and retaining NULL returns NULL. */
TEST(release_null_noops) {
    crochet_result_release(NULL);
    crochet_failure_release(NULL);
    crochet_deferred_release(NULL);
    crochet_delayed_call_release(NULL);
    ASSERT_NULL(crochet_result_retain(NULL));
    ASSERT_NULL(crochet_failure_retain(NULL));
    ASSERT_NULL(crochet_deferred_retain(NULL));
    ASSERT_OK(crochet_setup());
    crochet_result_release(NULL);
    crochet_failure_release(NULL);
    crochet_deferred_release(NULL);
    crochet_delayed_call_release(NULL);
}

/* ---- times ---- */

static latch timer_ran = LATCH_INIT;
static void timer_cb(void *ctx) { (void)ctx; latch_open(&timer_ran); }

/* NaN and negative timeouts (wait, wait_for) and NaN, negative and infinite delays (call_later) are CROCHET_EINVAL, and nothing runs. */
TEST(bad_timeouts_and_delays) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = NULL;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)marker, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT_OK(crochet_wait(r, 10.0, NULL));
    double bad[] = { NAN, -NAN, -1.0, -1e-300, -INFINITY };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_STATUS(crochet_wait(r, bad[i], NULL), CROCHET_EINVAL);
        ASSERT_STATUS(crochet_wait_for(NULL, NULL, bad[i], (crochet_fn)marker, CROCHET_TYPE_INT32, NULL, 0),
                      CROCHET_EINVAL);
        crochet_delayed_call *c = NULL;
        ASSERT_STATUS(crochet_call_later(&c, bad[i], marker_cb, NULL, NULL), CROCHET_EINVAL);
        ASSERT_STATUS(crochet_call_later(NULL, bad[i], marker_cb, NULL, NULL), CROCHET_EINVAL);
    }
    crochet_delayed_call *c = NULL;
    ASSERT_STATUS(crochet_call_later(&c, INFINITY, marker_cb, NULL, NULL), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_call_later(NULL, INFINITY, marker_cb, NULL, NULL), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_call_later(&c, 0.0, NULL, NULL, NULL), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_delayed_call_cancel(NULL), CROCHET_EINVAL);
    crochet_result_release(r);
    /* A good zero delay runs; by then any wrongly accepted zero-or-less delay would have run too. */
    ASSERT_OK(crochet_call_later(NULL, 0.0, timer_cb, NULL, NULL));
    ASSERT(latch_wait(&timer_ran, 10.0));
    run_on_reactor(noop, NULL);
    ASSERT_EQ(atomic_load(&marker_calls), 1);   /* only the submitted call at the start ran */
}

/* call_from_thread and add_shutdown_trigger with a NULL fn are CROCHET_EINVAL. */
TEST(services_null_fn) {
    ASSERT_OK(crochet_setup());
    ASSERT_STATUS(crochet_call_from_thread(NULL, NULL, NULL), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_add_shutdown_trigger(NULL, NULL, NULL), CROCHET_EINVAL);
}

/* ---- reactor-only functions ---- */
static crochet_deferred *made_d;
static void make_deferred(void *ctx) {
    (void)ctx;
    CHECK(crochet_deferred_new(&made_d, marker_canceller, NULL, NULL), CROCHET_OK);
}
static void release_made(void *ctx) {
    (void)ctx;
    CHECK(crochet_deferred_callback(made_d, crochet_int32(1)), CROCHET_OK);   /* still unfired */
    crochet_deferred_release(made_d);
}

static void off_reactor_checks(void) {
    crochet_deferred *d = BAD_DEFERRED;
    ASSERT_STATUS(crochet_deferred_new(&d, NULL, NULL, NULL), CROCHET_ENOTREACTOR);
    ASSERT_STATUS(crochet_deferred_callback(made_d, crochet_int32(1)), CROCHET_ENOTREACTOR);
    ASSERT_STATUS(crochet_deferred_callback_owned(made_d, &marker_calls, marker_destroy), CROCHET_ENOTREACTOR);
    ASSERT_STATUS(crochet_deferred_errback(made_d, 1, "x"), CROCHET_ENOTREACTOR);
    ASSERT_STATUS(crochet_deferred_cancel(made_d), CROCHET_ENOTREACTOR);
    ASSERT_STATUS(crochet_deferred_add_callbacks(made_d, marker_value, marker_failure, NULL, NULL), CROCHET_ENOTREACTOR);
    crochet_result *r = BAD_RESULT;
    ASSERT_STATUS(crochet_result_new(&r, made_d), CROCHET_ENOTREACTOR);
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    ASSERT_EQ(write(fds[1], "x", 1), 1);   /* readable and writable: a watcher would fire */
    ASSERT_STATUS(crochet_add_reader(fds[0], marker_fd_cb, NULL, NULL), CROCHET_ENOTREACTOR);
    ASSERT_STATUS(crochet_add_writer(fds[1], marker_fd_cb, NULL, NULL), CROCHET_ENOTREACTOR);
    ASSERT_STATUS(crochet_remove_reader(fds[0]), CROCHET_ENOTREACTOR);
    ASSERT_STATUS(crochet_remove_writer(fds[1]), CROCHET_ENOTREACTOR);
    d = BAD_DEFERRED;
    ASSERT_STATUS(crochet_defer_to_thread(&d, (crochet_fn)marker, CROCHET_TYPE_INT32, NULL, 0), CROCHET_ENOTREACTOR);
    run_on_reactor(noop, NULL);
    run_on_reactor(noop, NULL);
    close(fds[0]);
    close(fds[1]);
}
static void *off_reactor_thread(void *p) { (void)p; off_reactor_checks(); return NULL; }

/* Reactor-only functions called on the main thread and on another thread return CROCHET_ENOTREACTOR and never call their callbacks. */
TEST(reactor_only_off_reactor) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(make_deferred, NULL);
    ASSERT_NO_ERRORS();
    ASSERT_NOT_NULL(made_d);
    off_reactor_checks();
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, off_reactor_thread, NULL), 0);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT_EQ(atomic_load(&marker_calls), 0);
    /* The deferred was left untouched: firing it on the reactor works. */
    run_on_reactor(release_made, NULL);
    ASSERT_NO_ERRORS();
    ASSERT_EQ(atomic_load(&marker_calls), 0);
}

static void on_reactor_bad_args(void *ctx) {
    (void)ctx;
    crochet_deferred *d = NULL;
    CHECK(crochet_deferred_new(NULL, NULL, NULL, NULL), CROCHET_EINVAL);
    CHECK(crochet_deferred_new(&d, marker_canceller, NULL, NULL), CROCHET_OK);

    CHECK(crochet_deferred_callback(NULL, crochet_int32(1)), CROCHET_EINVAL);
    crochet_value bad = crochet_int32(1);
    bad.type = CROCHET_TYPE_DEFERRED;
    CHECK(crochet_deferred_callback(d, bad), CROCHET_EINVAL);
    for (size_t i = 0; i < NBAD; i++) {
        bad.type = bad_tags[i];
        CHECK(crochet_deferred_callback(d, bad), CROCHET_EINVAL);
    }
    CHECK(crochet_deferred_callback_owned(NULL, &marker_calls, marker_destroy), CROCHET_EINVAL);
    CHECK(crochet_deferred_errback(NULL, 1, "x"), CROCHET_EINVAL);
    CHECK(crochet_deferred_cancel(NULL), CROCHET_EINVAL);
    CHECK(crochet_deferred_add_callbacks(NULL, marker_value, marker_failure, NULL, NULL), CROCHET_EINVAL);

    crochet_result *r = BAD_RESULT;
    CHECK(crochet_result_new(NULL, d), CROCHET_EINVAL);
    CHECK(crochet_result_new(&r, NULL), CROCHET_EINVAL);
    if (r != NULL) CHECK(1, 0);   /* *out set to NULL on error */

    int fds[2];
    if (pipe(fds) != 0) { CHECK(-1, 0); return; }
    if (write(fds[1], "x", 1) != 1) CHECK(-1, 0);
    int closed = dup(fds[0]);
    close(closed);
    CHECK(crochet_add_reader(-1, marker_fd_cb, NULL, NULL), CROCHET_EINVAL);
    CHECK(crochet_add_reader(fds[0], NULL, NULL, NULL), CROCHET_EINVAL);
    CHECK(crochet_add_reader(closed, marker_fd_cb, NULL, NULL), CROCHET_EINVAL);
    CHECK(crochet_add_writer(-1, marker_fd_cb, NULL, NULL), CROCHET_EINVAL);
    CHECK(crochet_add_writer(fds[1], NULL, NULL, NULL), CROCHET_EINVAL);
    CHECK(crochet_add_writer(closed, marker_fd_cb, NULL, NULL), CROCHET_EINVAL);
    CHECK(crochet_remove_reader(-1), CROCHET_EINVAL);
    CHECK(crochet_remove_writer(-1), CROCHET_EINVAL);
    CHECK(crochet_remove_reader(fds[0]), CROCHET_OK);    /* not watched: does nothing */
    CHECK(crochet_remove_writer(fds[1]), CROCHET_OK);
    close(fds[0]);
    close(fds[1]);

    crochet_deferred *w = BAD_DEFERRED;
    crochet_value args[CROCHET_MAX_ARGS + 1];
    for (int i = 0; i <= CROCHET_MAX_ARGS; i++) args[i] = crochet_int32(i);
    CHECK(crochet_defer_to_thread(NULL, (crochet_fn)marker, CROCHET_TYPE_INT32, NULL, 0), CROCHET_EINVAL);
    CHECK(crochet_defer_to_thread(&w, NULL, CROCHET_TYPE_INT32, NULL, 0), CROCHET_EINVAL);
    CHECK(crochet_defer_to_thread(&w, (crochet_fn)marker, CROCHET_TYPE_DEFERRED, NULL, 0), CROCHET_EINVAL);
    CHECK(crochet_defer_to_thread(&w, (crochet_fn)marker, CROCHET_TYPE_INT32, NULL, 1), CROCHET_EINVAL);
    CHECK(crochet_defer_to_thread(&w, (crochet_fn)marker, CROCHET_TYPE_INT32, args, CROCHET_MAX_ARGS + 1), CROCHET_EINVAL);
    for (size_t i = 0; i < NBAD; i++) {
        CHECK(crochet_defer_to_thread(&w, (crochet_fn)marker, bad_tags[i], NULL, 0), CROCHET_EINVAL);
        crochet_value a = crochet_int32(0);
        a.type = bad_tags[i];
        CHECK(crochet_defer_to_thread(&w, (crochet_fn)marker, CROCHET_TYPE_INT32, &a, 1), CROCHET_EINVAL);
    }
    crochet_value a = crochet_void();
    CHECK(crochet_defer_to_thread(&w, (crochet_fn)marker, CROCHET_TYPE_INT32, &a, 1), CROCHET_EINVAL);
    a.type = CROCHET_TYPE_DEFERRED;
    CHECK(crochet_defer_to_thread(&w, (crochet_fn)marker, CROCHET_TYPE_INT32, &a, 1), CROCHET_EINVAL);
    if (w != NULL && w != BAD_DEFERRED) crochet_deferred_release(w);

    /* The deferred was not fired by any of the rejected calls. */
    CHECK(crochet_deferred_callback(d, crochet_int32(2)), CROCHET_OK);
    CHECK(crochet_deferred_callback(d, crochet_int32(3)), CROCHET_EALREADY);
    crochet_deferred_release(d);
}

/* On the reactor thread, reactor-only functions given NULL handles, bad fds, bad type tags or too many arguments return CROCHET_EINVAL and call nothing. */
TEST(reactor_only_bad_args_on_reactor) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(on_reactor_bad_args, NULL);
    run_on_reactor(noop, NULL);
    ASSERT_NO_ERRORS();
    ASSERT_EQ(atomic_load(&marker_calls), 0);
}

/* ---- crochet_strerror ---- */

/* crochet_strerror gives distinct non-empty text for every status and non-NULL text for unknown ones. */
TEST(strerror_every_code) {
    const char *texts[12];
    for (int code = 0; code >= -11; code--) {
        texts[-code] = crochet_strerror(code);
        ASSERT_NOT_NULL(texts[-code]);
        ASSERT(strlen(texts[-code]) > 0);
        for (int other = 0; other < -code; other++)
            if (strcmp(texts[other], texts[-code]) == 0)
                FAIL("codes %d and %d share the text \"%s\"", -other, code, texts[-code]);
    }
    int unknown[] = { 12345, -999, 1, -12, INT_MIN, INT_MAX };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *s = crochet_strerror(unknown[i]);
        ASSERT_NOT_NULL(s);
        ASSERT(strlen(s) > 0);
        for (int k = 0; k < 12; k++)
            if (strcmp(s, texts[k]) == 0) FAIL("unknown code %d described as code %d: \"%s\"", unknown[i], -k, s);
    }
    ASSERT_OK(crochet_setup());
    ASSERT_NOT_NULL(crochet_strerror(-3));
}
