/* crochet_cancel: calls not yet started, calls that returned a deferred (with
 * and without a canceller), finished results, repetition, races with
 * completion, and that asked-for cancellations are not logged. */
#include "harness.h"
#include <sched.h>

static void noop(void *ctx) { (void)ctx; }

/* ---- blocking the reactor ---- */
static latch gate = LATCH_INIT;
static latch gate_entered = LATCH_INIT;
int32_t block_on_gate(void) {
    latch_open(&gate_entered);
    return latch_wait(&gate, 10.0) ? 1 : 0;
}
static crochet_result *block_reactor(void) {
    crochet_result *b = NULL;
    ASSERT_OK(crochet_submit(&b, (crochet_fn)block_on_gate, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT(latch_wait(&gate_entered, 10.0));
    return b;
}
static void unblock_reactor(crochet_result *b) {
    latch_open(&gate);
    crochet_value v;
    ASSERT_OK(crochet_wait(b, 10.0, &v));
    ASSERT_EQ(v.u.i32, 1);
    crochet_result_release(b);
}

static atomic_int never_calls;
int32_t never_runs(void) { atomic_fetch_add(&never_calls, 1); return 7; }

/* A call cancelled before it started never runs and completes with CROCHET_ECANCELLED. */
TEST(cancel_not_started) {
    ASSERT_OK(crochet_setup());
    crochet_result *b = block_reactor();
    crochet_result *r = NULL;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)never_runs, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT_OK(crochet_cancel(r));
    unblock_reactor(b);
    crochet_value v;
    ASSERT_STATUS(crochet_wait(r, 10.0, &v), CROCHET_ECANCELLED);
    run_on_reactor(noop, NULL);   /* anything queued after it has run */
    ASSERT_EQ(atomic_load(&never_calls), 0);
    const crochet_failure *f = crochet_original_failure(r);
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(crochet_failure_code(f), CROCHET_ECANCELLED);
    ASSERT_NOT_NULL(crochet_failure_message(f));
    ASSERT_NOT_NULL(crochet_failure_traceback(f));
    crochet_result_release(r);
}

/* Cancelling one queued call leaves the calls queued around it to run normally. */
TEST(cancel_not_started_neighbours_run) {
    ASSERT_OK(crochet_setup());
    crochet_result *b = block_reactor();
    crochet_result *r[3] = { NULL, NULL, NULL };
    for (int i = 0; i < 3; i++)
        ASSERT_OK(crochet_submit(&r[i], (crochet_fn)never_runs, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT_OK(crochet_cancel(r[1]));
    unblock_reactor(b);
    crochet_value v;
    ASSERT_OK(crochet_wait(r[0], 10.0, &v)); ASSERT_EQ(v.u.i32, 7);
    ASSERT_STATUS(crochet_wait(r[1], 10.0, &v), CROCHET_ECANCELLED);
    ASSERT_OK(crochet_wait(r[2], 10.0, &v)); ASSERT_EQ(v.u.i32, 7);
    ASSERT_EQ(atomic_load(&never_calls), 2);
    for (int i = 0; i < 3; i++) crochet_result_release(r[i]);
}

/* ---- calls that return a deferred ---- */
struct cancel_probe {
    int mode;                 /* 0: canceller does not fire, 1: fires with a value, 2: no canceller */
    atomic_int runs;          /* canceller runs */
    atomic_int on_reactor;    /* crochet_in_reactor_thread() inside the canceller */
    atomic_int fire_status;
};
static struct cancel_probe probe;
static void probe_canceller(crochet_deferred *d, void *ctx) {
    struct cancel_probe *p = ctx;
    atomic_fetch_add(&p->runs, 1);
    atomic_store(&p->on_reactor, crochet_in_reactor_thread());
    if (p->mode == 1) atomic_store(&p->fire_status, crochet_deferred_callback(d, crochet_int32(99)));
}
static atomic_int deferred_fn_ran;
crochet_deferred *deferred_with_probe(struct cancel_probe *p) {
    crochet_deferred *d = NULL;
    if (crochet_deferred_new(&d, p->mode == 2 ? NULL : probe_canceller, p, NULL) != CROCHET_OK) return NULL;
    atomic_fetch_add(&deferred_fn_ran, 1);
    return d;
}
static crochet_result *submit_deferred(int mode) {
    probe.mode = mode;
    crochet_result *r = NULL;
    ASSERT_OK(CROCHET_SUBMIT(&r, deferred_with_probe, CROCHET_TYPE_DEFERRED, crochet_pointer(&probe)));
    run_on_reactor(noop, NULL);   /* the function has returned its deferred */
    ASSERT_EQ(atomic_load(&deferred_fn_ran), 1);
    ASSERT_STATUS(crochet_wait(r, 0, NULL), CROCHET_ETIMEDOUT);
    return r;
}

/* Cancelling a call that returned a deferred runs its canceller on the reactor thread; a value it fires becomes the result. */
TEST(cancel_deferred_canceller_fires_value) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = submit_deferred(1);
    ASSERT_OK(crochet_cancel(r));
    crochet_value v;
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    ASSERT_EQ(v.type, CROCHET_TYPE_INT32);
    ASSERT_EQ(v.u.i32, 99);
    ASSERT_EQ(atomic_load(&probe.runs), 1);
    ASSERT_EQ(atomic_load(&probe.on_reactor), 1);
    ASSERT_OK(atomic_load(&probe.fire_status));
    ASSERT_NULL(crochet_original_failure(r));
    crochet_result_release(r);
}

/* A canceller that does not fire the deferred leaves the result failed with CROCHET_ECANCELLED. */
TEST(cancel_deferred_canceller_silent) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = submit_deferred(0);
    ASSERT_OK(crochet_cancel(r));
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_ECANCELLED);
    ASSERT_EQ(atomic_load(&probe.runs), 1);
    ASSERT_EQ(atomic_load(&probe.on_reactor), 1);
    const crochet_failure *f = crochet_original_failure(r);
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(crochet_failure_code(f), CROCHET_ECANCELLED);
    crochet_result_release(r);
}

/* Cancelling a call whose deferred has no canceller fails the result with CROCHET_ECANCELLED. */
TEST(cancel_deferred_without_canceller) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = submit_deferred(2);
    ASSERT_OK(crochet_cancel(r));
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_ECANCELLED);
    ASSERT_EQ(atomic_load(&probe.runs), 0);
    crochet_result_release(r);
}

int64_t plain_value(int64_t x) { return x; }
void raise_fn(void) { crochet_raise(555, "finished-failure"); }

/* Cancelling a result that already exists leaves its value or failure unchanged. */
TEST(cancel_finished_result_unchanged) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = NULL;
    crochet_value v;
    ASSERT_OK(CROCHET_SUBMIT(&r, plain_value, CROCHET_TYPE_INT64, crochet_int64(-123456789012LL)));
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    ASSERT_OK(crochet_cancel(r));
    run_on_reactor(noop, NULL);
    memset(&v, 0, sizeof v);
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    ASSERT_EQ(v.type, CROCHET_TYPE_INT64);
    ASSERT_EQ(v.u.i64, -123456789012LL);
    ASSERT_NULL(crochet_original_failure(r));
    crochet_result_release(r);

    ASSERT_OK(crochet_submit(&r, (crochet_fn)raise_fn, CROCHET_TYPE_VOID, NULL, 0));
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_EFAILED);
    ASSERT_OK(crochet_cancel(r));
    run_on_reactor(noop, NULL);
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_EFAILED);
    ASSERT_EQ(crochet_failure_code(crochet_original_failure(r)), 555);
    ASSERT_STREQ(crochet_failure_message(crochet_original_failure(r)), "finished-failure");
    crochet_result_release(r);
}

/* Repeated cancels have no further effect: the canceller runs once and the outcome stays CROCHET_ECANCELLED. */
TEST(repeated_cancel) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = submit_deferred(0);
    for (int i = 0; i < 5; i++) ASSERT_OK(crochet_cancel(r));
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_ECANCELLED);
    for (int i = 0; i < 5; i++) ASSERT_OK(crochet_cancel(r));
    run_on_reactor(noop, NULL);
    ASSERT_EQ(atomic_load(&probe.runs), 1);
    ASSERT_STATUS(crochet_wait(r, 0, NULL), CROCHET_ECANCELLED);
    crochet_result_release(r);

    /* Same for a call that has not started. */
    crochet_result *b = block_reactor();
    ASSERT_OK(crochet_submit(&r, (crochet_fn)never_runs, CROCHET_TYPE_INT32, NULL, 0));
    for (int i = 0; i < 5; i++) ASSERT_OK(crochet_cancel(r));
    unblock_reactor(b);
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_ECANCELLED);
    ASSERT_OK(crochet_cancel(r));
    ASSERT_STATUS(crochet_wait(r, 0, NULL), CROCHET_ECANCELLED);
    ASSERT_EQ(atomic_load(&never_calls), 0);
    crochet_result_release(r);
}

/* A NULL result is CROCHET_EINVAL. */
TEST(cancel_null) {
    ASSERT_OK(crochet_setup());
    ASSERT_STATUS(crochet_cancel(NULL), CROCHET_EINVAL);
}

/* ---- racing cancel against completion ---- */
enum { CANCELLERS = 3, ROUNDS = 2000 };
static pthread_mutex_t race_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t race_cv = PTHREAD_COND_INITIALIZER;
static crochet_result *race_r;
static int race_gen, race_done, race_quit;

static void *canceller_thread(void *p) {
    (void)p;
    int seen = 0;
    pthread_mutex_lock(&race_mu);
    for (;;) {
        while (race_gen == seen && !race_quit) pthread_cond_wait(&race_cv, &race_mu);
        if (race_quit) break;
        seen = race_gen;
        crochet_result *r = race_r;
        pthread_mutex_unlock(&race_mu);
        int s = crochet_cancel(r);
        pthread_mutex_lock(&race_mu);
        if (s != CROCHET_OK) fprintf(stderr, "cancel returned %d\n", s), abort();
        race_done++;
        pthread_cond_broadcast(&race_cv);
    }
    pthread_mutex_unlock(&race_mu);
    return NULL;
}

struct fire_ctx { crochet_deferred *d; int32_t value; };
static void fire_cb(void *p) {
    struct fire_ctx *c = p;
    int s = crochet_deferred_callback(c->d, crochet_int32(c->value));
    if (s != CROCHET_OK) fprintf(stderr, "late callback returned %d\n", s), abort();
    crochet_deferred_release(c->d);
    free(c);
}
crochet_deferred *racing_deferred(int32_t value) {
    crochet_deferred *d = NULL;
    if (crochet_deferred_new(&d, NULL, NULL, NULL) != CROCHET_OK) return NULL;
    struct fire_ctx *c = malloc(sizeof *c);
    if (!c) abort();
    c->d = crochet_deferred_retain(d);
    c->value = value;
    if (crochet_call_from_thread(fire_cb, c, NULL) != CROCHET_OK) abort();
    return d;
}
int32_t racing_plain(int32_t value) { return value; }

/* Cancelling from several threads while the call completes (plainly or through a deferred) always completes the result with the value or CROCHET_ECANCELLED. */
TEST(cancel_races_completion) {
    ASSERT_OK(crochet_setup());
    pthread_t th[CANCELLERS];
    for (int i = 0; i < CANCELLERS; i++) ASSERT_EQ(pthread_create(&th[i], NULL, canceller_thread, NULL), 0);
    int values = 0, cancelled = 0;
    for (int i = 0; i < ROUNDS; i++) {
        crochet_result *r = NULL;
        crochet_fn fn = (i & 1) ? (crochet_fn)racing_deferred : (crochet_fn)racing_plain;
        crochet_type rt = (i & 1) ? CROCHET_TYPE_DEFERRED : CROCHET_TYPE_INT32;
        ASSERT_OK(CROCHET_SUBMIT(&r, fn, rt, crochet_int32(i)));
        pthread_mutex_lock(&race_mu);
        race_r = r;
        race_gen++;
        pthread_cond_broadcast(&race_cv);
        pthread_mutex_unlock(&race_mu);
        if (i % 3 == 0) ASSERT_OK(crochet_cancel(r));   /* the main thread joins in too */

        crochet_value v;
        int s = crochet_wait(r, 10.0, &v);
        if (s == CROCHET_OK) {
            ASSERT_EQ(v.type, CROCHET_TYPE_INT32);
            ASSERT_EQ(v.u.i32, i);
            values++;
        } else if (s == CROCHET_ECANCELLED) {
            cancelled++;
        } else {
            FAIL("round %d: wait returned %d (%s)", i, s, crochet_strerror(s));
        }
        /* Every canceller is done with r before it goes. */
        pthread_mutex_lock(&race_mu);
        while (race_done < CANCELLERS * (i + 1)) pthread_cond_wait(&race_cv, &race_mu);
        pthread_mutex_unlock(&race_mu);
        ASSERT_STATUS(crochet_wait(r, 0, NULL), s);   /* outcome is stable after all cancels */
        crochet_result_release(r);
    }
    pthread_mutex_lock(&race_mu);
    race_quit = 1;
    pthread_cond_broadcast(&race_cv);
    pthread_mutex_unlock(&race_mu);
    for (int i = 0; i < CANCELLERS; i++) ASSERT_EQ(pthread_join(th[i], NULL), 0);
    ASSERT_EQ(values + cancelled, ROUNDS);
    printf("%d values, %d cancelled\n", values, cancelled);
}

/* ---- logging ---- */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_text[1 << 16];
static size_t log_len;
static int unhandled_records;
static latch control_logged = LATCH_INIT;
static void capture_log(int level, const char *message, void *ctx) {
    (void)ctx;
    pthread_mutex_lock(&log_mu);
    int n = snprintf(log_text + log_len, sizeof log_text - log_len, "[%d] %s\n", level, message);
    if (n > 0) log_len += (size_t)n < sizeof log_text - log_len ? (size_t)n : sizeof log_text - log_len - 1;
    if (strstr(message, "Unhandled error in EventualResult")) unhandled_records++;
    pthread_mutex_unlock(&log_mu);
    if (strstr(message, "cancel-log-control")) latch_open(&control_logged);
}
void raise_control(void) { crochet_raise(4711, "cancel-log-control"); }
crochet_deferred *never_fires(void) {
    crochet_deferred *d = NULL;
    return crochet_deferred_new(&d, NULL, NULL, NULL) == CROCHET_OK ? d : NULL;
}

/* Cancelled results released unobserved (not started, deferred, wait_for timeout) are not logged as unhandled errors, while an unobserved real failure is. */
TEST(cancelled_not_logged) {
    ASSERT_OK(crochet_setup());
    crochet_set_log_handler(capture_log, NULL, NULL);

    /* A call cancelled before it started, released before it completes. */
    crochet_result *b = block_reactor();
    crochet_result *r = NULL;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)never_runs, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT_OK(crochet_cancel(r));
    crochet_result_release(r);
    unblock_reactor(b);

    /* A call cancelled through its deferred, released after it completed. */
    r = submit_deferred(0);
    ASSERT_OK(crochet_cancel(r));
    run_on_reactor(noop, NULL);
    crochet_result_release(r);

    /* wait_for's own cancellation on timeout. */
    ASSERT_STATUS(crochet_wait_for(NULL, NULL, 0.01, (crochet_fn)never_fires, CROCHET_TYPE_DEFERRED, NULL, 0),
                  CROCHET_ETIMEDOUT);
    run_on_reactor(noop, NULL);

    /* The control: an unobserved failure, which must be logged, after all of the above. */
    ASSERT_OK(crochet_submit(&r, (crochet_fn)raise_control, CROCHET_TYPE_VOID, NULL, 0));
    run_on_reactor(noop, NULL);
    crochet_result_release(r);
    ASSERT_OK(crochet_stop());
    if (!latch_wait(&control_logged, 10.0)) {
        pthread_mutex_lock(&log_mu);
        FAIL("the unobserved failure was never logged; log:\n%s", log_text);
    }
    pthread_mutex_lock(&log_mu);
    if (unhandled_records != 1) FAIL("%d unhandled-error records, expected 1; log:\n%s", unhandled_records, log_text);
    pthread_mutex_unlock(&log_mu);
}

/* ---- cancelling a call while it runs ---- */
static latch running_gate = LATCH_INIT;
static latch running_entered = LATCH_INIT;
static atomic_int running_calls;
int32_t running_plain(void) {
    atomic_fetch_add(&running_calls, 1);
    latch_open(&running_entered);
    return latch_wait(&running_gate, 10.0) ? 8 : -1;
}
crochet_deferred *running_then_deferred(struct cancel_probe *p) {
    latch_open(&running_entered);
    if (!latch_wait(&running_gate, 10.0)) return NULL;
    return deferred_with_probe(p);
}

/* Cancelling a plain call while it runs still completes the result (with its value or CROCHET_ECANCELLED), and the call ran exactly once. */
TEST(cancel_while_running_plain) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = NULL;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)running_plain, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT(latch_wait(&running_entered, 10.0));
    ASSERT_OK(crochet_cancel(r));
    latch_open(&running_gate);
    crochet_value v;
    int s = crochet_wait(r, 10.0, &v);
    if (s == CROCHET_OK) ASSERT_EQ(v.u.i32, 8);
    else ASSERT_STATUS(s, CROCHET_ECANCELLED);
    ASSERT_STATUS(crochet_wait(r, 0, NULL), s);
    ASSERT_EQ(atomic_load(&running_calls), 1);
    crochet_result_release(r);
}

/* Cancelling a call while it runs, when it then returns a deferred, cancels that deferred: its canceller runs and the result completes with CROCHET_ECANCELLED. */
TEST(cancel_while_running_then_deferred) {
    ASSERT_OK(crochet_setup());
    probe.mode = 0;
    crochet_result *r = NULL;
    ASSERT_OK(CROCHET_SUBMIT(&r, running_then_deferred, CROCHET_TYPE_DEFERRED, crochet_pointer(&probe)));
    ASSERT(latch_wait(&running_entered, 10.0));
    ASSERT_OK(crochet_cancel(r));
    latch_open(&running_gate);
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_ECANCELLED);
    ASSERT_EQ(atomic_load(&deferred_fn_ran), 1);
    ASSERT_EQ(atomic_load(&probe.runs), 1);
    ASSERT_EQ(atomic_load(&probe.on_reactor), 1);
    crochet_result_release(r);
}
