/* crochet_stop: waiters are released with CROCHET_ESTOPPED, later calls are
 * refused, and shutdown triggers run first, on the reactor thread. */
#include "harness.h"

static crochet_deferred *never_fires(void) {
    crochet_deferred *d;
    ASSERT_OK(crochet_deferred_new(&d, NULL, NULL, NULL));
    return d;
}

static latch blocker_started = LATCH_INIT;
static latch blocker_release = LATCH_INIT;
static int32_t block_reactor(void) {
    latch_open(&blocker_started);
    /* Bounded: a broken stop fails the test instead of hanging the reactor forever. */
    latch_wait(&blocker_release, 10.0);
    return 5;
}

static atomic_int queued_runs;
static void queued_call(void) { atomic_fetch_add(&queued_runs, 1); }

static void must_not_run(void *ctx) {
    (void)ctx;
    atomic_fetch_add(&queued_runs, 1);
}

struct waiter {
    crochet_result *r;
    int status;
    double waited;
    latch *ready;
    latch done;
};

static void *wait_long(void *p) {
    struct waiter *w = p;
    latch_open(w->ready);
    double start = harness_now();
    w->status = crochet_wait(w->r, 20.0, NULL);
    w->waited = harness_now() - start;
    latch_open(&w->done);
    return NULL;
}

/* crochet_stop releases every waiter with CROCHET_ESTOPPED: threads waiting on results that follow never-firing deferreds and on calls queued behind a blocked call; the queued calls never run. */
TEST(stop_unblocks_every_waiter) {
    ASSERT_OK(crochet_setup());
    enum { DEFERREDS = 3, QUEUED = 3, N = DEFERREDS + QUEUED };
    crochet_result *rs[N];
    for (int i = 0; i < DEFERREDS; i++)
        ASSERT_OK(crochet_submit(&rs[i], (crochet_fn)never_fires, CROCHET_TYPE_DEFERRED, NULL, 0));
    /* Make sure the deferred calls ran, so they are pending on deferreds, not queued. */
    ASSERT_STATUS(crochet_wait(rs[DEFERREDS - 1], 0.05, NULL), CROCHET_ETIMEDOUT);
    crochet_result *blocker;
    ASSERT_OK(crochet_submit(&blocker, (crochet_fn)block_reactor, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT(latch_wait(&blocker_started, 10.0));
    for (int i = DEFERREDS; i < N; i++)
        ASSERT_OK(crochet_submit(&rs[i], (crochet_fn)queued_call, CROCHET_TYPE_VOID, NULL, 0));

    latch ready = LATCH_INIT;
    struct waiter w[2 * N];
    pthread_t t[2 * N];
    for (int i = 0; i < 2 * N; i++) {   /* two waiters per result */
        w[i] = (struct waiter){ rs[i % N], 99, 0, &ready, LATCH_INIT };
        ASSERT_EQ(pthread_create(&t[i], NULL, wait_long, &w[i]), 0);
    }
    ASSERT(latch_wait_n(&ready, 2 * N, 10.0));
    ASSERT_STATUS(crochet_wait(rs[0], 0.05, NULL), CROCHET_ETIMEDOUT);  /* waiters are now blocked */

    ASSERT_OK(crochet_stop());
    latch_open(&blocker_release);
    for (int i = 0; i < 2 * N; i++) {
        ASSERT(latch_wait(&w[i].done, 10.0));
        ASSERT_EQ(pthread_join(t[i], NULL), 0);
        if (w[i].status != CROCHET_ESTOPPED)
            FAIL("waiter %d on result %d returned %d (%s), expected ESTOPPED", i, i % N, w[i].status,
                 crochet_strerror(w[i].status));
        ASSERT(w[i].waited < 10.0);
    }
    for (int i = 0; i < N; i++) {
        ASSERT_STATUS(crochet_wait(rs[i], 0, NULL), CROCHET_ESTOPPED);
        crochet_result_release(rs[i]);
    }
    ASSERT_EQ(atomic_load(&queued_runs), 0);
    /* The call that was running when stop came completes one way or the other. */
    int s = crochet_wait(blocker, 10.0, NULL);
    ASSERT(s == CROCHET_OK || s == CROCHET_ESTOPPED);
    crochet_result_release(blocker);
}

static void noop(void *ctx) { (void)ctx; }

/* Right after crochet_stop returns, submit, wait_for, call_from_thread, call_later and add_shutdown_trigger return CROCHET_ESTOPPED and nothing they were given runs. */
TEST(calls_after_stop_are_estopped) {
    ASSERT_OK(crochet_setup());
    ASSERT_OK(crochet_stop());
    crochet_result *r = (crochet_result *)0x1;
    ASSERT_STATUS(crochet_submit(&r, (crochet_fn)queued_call, CROCHET_TYPE_VOID, NULL, 0), CROCHET_ESTOPPED);
    ASSERT_NULL(r);
    ASSERT_STATUS(crochet_wait_for(NULL, NULL, 1.0, (crochet_fn)queued_call, CROCHET_TYPE_VOID, NULL, 0),
                  CROCHET_ESTOPPED);
    ASSERT_STATUS(crochet_call_from_thread(must_not_run, NULL, NULL), CROCHET_ESTOPPED);
    crochet_delayed_call *c = NULL;
    ASSERT_STATUS(crochet_call_later(&c, 0, must_not_run, NULL, NULL), CROCHET_ESTOPPED);
    crochet_delayed_call_release(c);
    ASSERT_STATUS(crochet_call_later(NULL, 0, must_not_run, NULL, NULL), CROCHET_ESTOPPED);
    ASSERT_STATUS(crochet_add_shutdown_trigger(noop, NULL, NULL), CROCHET_ESTOPPED);
    /* setup stays a no-op, and does not revive the reactor. */
    ASSERT_OK(crochet_setup());
    ASSERT_STATUS(crochet_submit(&r, (crochet_fn)queued_call, CROCHET_TYPE_VOID, NULL, 0), CROCHET_ESTOPPED);
    usleep(100 * 1000);   /* nothing to synchronise with: give a wrong run a chance */
    ASSERT_EQ(atomic_load(&queued_runs), 0);
}

static void *stop_once(void *p) {
    *(int *)p = crochet_stop();
    return NULL;
}

/* crochet_stop is idempotent, also when several threads call it at once: every call returns CROCHET_OK. */
TEST(stop_is_idempotent) {
    ASSERT_OK(crochet_setup());
    crochet_result *r;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)never_fires, CROCHET_TYPE_DEFERRED, NULL, 0));
    int statuses[6];
    pthread_t t[6];
    for (int i = 0; i < 6; i++) {
        statuses[i] = 99;
        ASSERT_EQ(pthread_create(&t[i], NULL, stop_once, &statuses[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        ASSERT_EQ(pthread_join(t[i], NULL), 0);
        ASSERT_OK(statuses[i]);
    }
    ASSERT_OK(crochet_stop());
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_ESTOPPED);
    ASSERT_OK(crochet_stop());
    crochet_result_release(r);
}

/* What each shutdown trigger saw. */
struct trigger_log {
    atomic_int n;
    int order[8];
    int on_reactor[8];
    int pending_not_failed[8];   /* crochet_original_failure(pending) was NULL */
    int add_status[8];           /* crochet_add_shutdown_trigger from inside a trigger */
    crochet_result *pending;
    latch done;
};
static struct trigger_log tl = { 0, { 0 }, { 0 }, { 0 }, { 0 }, NULL, LATCH_INIT };
static struct { int id; } trigger_ids[4] = { { 1 }, { 2 }, { 3 }, { 4 } };

static void trigger(void *ctx) {
    int id = *(int *)ctx;
    int i = atomic_fetch_add(&tl.n, 1);
    tl.order[i] = id;
    tl.on_reactor[i] = crochet_in_reactor_thread();
    tl.pending_not_failed[i] = crochet_original_failure(tl.pending) == NULL;
    tl.add_status[i] = crochet_add_shutdown_trigger(noop, NULL, NULL);
    latch_open(&tl.done);
}

static void register_from_reactor(void *ctx) {
    ASSERT_OK(crochet_add_shutdown_trigger(trigger, ctx, NULL));
}

/* Shutdown triggers run on the reactor thread when stopping, in reverse order of registration (from any thread), before pending results are failed; adding one from inside a trigger is CROCHET_ESTOPPED. */
TEST(shutdown_triggers_run_in_reverse_before_results_fail) {
    ASSERT_OK(crochet_setup());
    ASSERT_OK(crochet_submit(&tl.pending, (crochet_fn)never_fires, CROCHET_TYPE_DEFERRED, NULL, 0));
    ASSERT_OK(crochet_add_shutdown_trigger(trigger, &trigger_ids[0].id, NULL));
    run_on_reactor(register_from_reactor, &trigger_ids[1].id);
    ASSERT_OK(crochet_add_shutdown_trigger(trigger, &trigger_ids[2].id, NULL));
    ASSERT_OK(crochet_add_shutdown_trigger(trigger, &trigger_ids[3].id, NULL));
    ASSERT_STATUS(crochet_wait(tl.pending, 0.05, NULL), CROCHET_ETIMEDOUT);
    ASSERT_EQ(atomic_load(&tl.n), 0);

    ASSERT_OK(crochet_stop());
    ASSERT_STATUS(crochet_wait(tl.pending, 10.0, NULL), CROCHET_ESTOPPED);
    /* The triggers ran before the pending result failed, so all have run by now. */
    ASSERT_EQ(atomic_load(&tl.n), 4);
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(tl.order[i], 4 - i);
        ASSERT_EQ(tl.on_reactor[i], 1);
        ASSERT_EQ(tl.pending_not_failed[i], 1);
        ASSERT_STATUS(tl.add_status[i], CROCHET_ESTOPPED);
    }
    crochet_result_release(tl.pending);
}

/* crochet_add_shutdown_trigger with a NULL fn is CROCHET_EINVAL, and after stop it is CROCHET_ESTOPPED. */
TEST(add_shutdown_trigger_errors) {
    ASSERT_OK(crochet_setup());
    ASSERT_STATUS(crochet_add_shutdown_trigger(NULL, NULL, NULL), CROCHET_EINVAL);
    ASSERT_OK(crochet_stop());
    ASSERT_STATUS(crochet_add_shutdown_trigger(noop, NULL, NULL), CROCHET_ESTOPPED);
}

/* The original failure of a result ended by stop has code CROCHET_ESTOPPED, and every later wait returns CROCHET_ESTOPPED. */
TEST(stopped_result_failure_code_is_estopped) {
    ASSERT_OK(crochet_setup());
    crochet_result *r;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)never_fires, CROCHET_TYPE_DEFERRED, NULL, 0));
    ASSERT_NULL(crochet_original_failure(r));
    ASSERT_OK(crochet_stop());
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_ESTOPPED);
    const crochet_failure *f = crochet_original_failure(r);
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(crochet_failure_code(f), CROCHET_ESTOPPED);
    ASSERT_NOT_NULL(crochet_failure_message(f));
    ASSERT_NOT_NULL(crochet_failure_traceback(f));
    ASSERT_STATUS(crochet_wait(r, 0, NULL), CROCHET_ESTOPPED);
    ASSERT_STATUS(crochet_wait(r, INFINITY, NULL), CROCHET_ESTOPPED);
    crochet_result_release(r);
}

static int32_t seven(void) { return 7; }

/* Results that completed before stop keep their values after it. */
TEST(completed_results_survive_stop) {
    ASSERT_OK(crochet_setup());
    crochet_result *r;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)seven, CROCHET_TYPE_INT32, NULL, 0));
    crochet_value v;
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    ASSERT_OK(crochet_stop());
    crochet_result *barrier;
    ASSERT_STATUS(crochet_submit(&barrier, (crochet_fn)seven, CROCHET_TYPE_INT32, NULL, 0), CROCHET_ESTOPPED);
    v.u.i32 = 0;
    ASSERT_OK(crochet_wait(r, 0, &v));
    ASSERT_EQ(v.u.i32, 7);
    ASSERT_NULL(crochet_original_failure(r));
    crochet_result_release(r);
}

static latch late_timer_ran = LATCH_INIT;
static void open_late(void *ctx) { (void)ctx; latch_open(&late_timer_ran); }

/* A timer still pending at stop never runs. */
TEST(pending_timer_never_runs_after_stop) {
    ASSERT_OK(crochet_setup());
    ASSERT_OK(crochet_call_later(NULL, 0.1, open_late, NULL, NULL));
    crochet_result *r;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)never_fires, CROCHET_TYPE_DEFERRED, NULL, 0));
    ASSERT_OK(crochet_stop());
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_ESTOPPED);
    ASSERT(!latch_wait(&late_timer_ran, 0.4));
    crochet_result_release(r);
}

static int32_t stop_from_inside(void) {
    return crochet_stop();
}

/* crochet_stop called on the reactor thread inside a submitted call returns CROCHET_OK and still fails the other pending results with CROCHET_ESTOPPED. */
TEST(stop_from_reactor_thread) {
    ASSERT_OK(crochet_setup());
    crochet_result *pending;
    ASSERT_OK(crochet_submit(&pending, (crochet_fn)never_fires, CROCHET_TYPE_DEFERRED, NULL, 0));
    crochet_result *stopper;
    ASSERT_OK(crochet_submit(&stopper, (crochet_fn)stop_from_inside, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT_STATUS(crochet_wait(pending, 10.0, NULL), CROCHET_ESTOPPED);
    crochet_value v = { 0 };
    int s = crochet_wait(stopper, 10.0, &v);
    if (s == CROCHET_OK) ASSERT_OK(v.u.i32);   /* the call itself finished before the stop took effect */
    else ASSERT_STATUS(s, CROCHET_ESTOPPED);
    crochet_result_release(pending);
    crochet_result_release(stopper);
}

struct run_status { int status; latch done; };
static void *run_reactor(void *p) {
    struct run_status *rs = p;
    rs->status = crochet_run();
    latch_open(&rs->done);
    return NULL;
}

/* After crochet_no_setup, crochet_stop before crochet_run makes crochet_run return promptly, and a queued call never runs but completes with CROCHET_ESTOPPED. */
TEST(stop_before_run_after_no_setup) {
    ASSERT_OK(crochet_no_setup());
    crochet_result *r;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)queued_call, CROCHET_TYPE_VOID, NULL, 0));
    ASSERT_OK(crochet_stop());
    static struct run_status rs = { 99, LATCH_INIT };
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, run_reactor, &rs), 0);
    ASSERT(latch_wait(&rs.done, 10.0));
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT(rs.status == CROCHET_OK || rs.status == CROCHET_ESTATE);
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_ESTOPPED);
    ASSERT_EQ(atomic_load(&queued_runs), 0);
    crochet_result_release(r);
}

static int32_t echo(int32_t x) { return x; }

struct submitter { int ok, stopped, bad, last_status; latch *go; };
static void *submit_until_stopped(void *p) {
    struct submitter *s = p;
    if (!latch_wait(s->go, 10.0)) return NULL;
    for (int i = 0; i < 1000000; i++) {
        crochet_result *r;
        int st = CROCHET_SUBMIT(&r, echo, CROCHET_TYPE_INT32, crochet_int32(i));
        if (st == CROCHET_ESTOPPED) return NULL;
        if (st != CROCHET_OK) { s->bad++; s->last_status = st; return NULL; }
        crochet_value v;
        st = crochet_wait(r, 10.0, &v);
        if (st == CROCHET_OK && v.u.i32 == i) s->ok++;
        else if (st == CROCHET_ESTOPPED) s->stopped++;
        else { s->bad++; s->last_status = st; }
        crochet_result_release(r);
        if (s->bad) return NULL;
    }
    return NULL;
}

/* crochet_stop racing with threads that submit and wait in a loop: every submission either returns CROCHET_ESTOPPED or gives a result that completes (value or CROCHET_ESTOPPED), never a timeout. */
TEST(stop_races_with_submitters) {
    ASSERT_OK(crochet_setup());
    latch go = LATCH_INIT;
    struct submitter s[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        s[i] = (struct submitter){ 0, 0, 0, 0, &go };
        ASSERT_EQ(pthread_create(&t[i], NULL, submit_until_stopped, &s[i]), 0);
    }
    latch_open(&go);
    ASSERT_STATUS(crochet_wait_for(NULL, NULL, 10.0, (crochet_fn)echo, CROCHET_TYPE_INT32,
                                   (crochet_value[]){ crochet_int32(0) }, 1), CROCHET_OK);
    usleep(20 * 1000);   /* let the submitters get going; nothing to synchronise with */
    ASSERT_OK(crochet_stop());
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(pthread_join(t[i], NULL), 0);
        if (s[i].bad) FAIL("submitter %d got status %d (%s)", i, s[i].last_status, crochet_strerror(s[i].last_status));
    }
}

static latch work_started = LATCH_INIT;
static latch work_release = LATCH_INIT;
static int32_t slow_work(void) {
    latch_open(&work_started);
    latch_wait(&work_release, 10.0);
    return 3;
}

struct defer_at_stop { crochet_result *r; };
static void defer_slow(void *ctx) {
    struct defer_at_stop *d = ctx;
    crochet_deferred *def;
    ASSERT_OK(crochet_defer_to_thread(&def, (crochet_fn)slow_work, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT_OK(crochet_result_new(&d->r, def));
    crochet_deferred_release(def);
}

/* A result following defer_to_thread work still running at stop completes with CROCHET_ESTOPPED, and the work finishing afterwards is dropped safely. */
TEST(defer_to_thread_work_running_at_stop) {
    ASSERT_OK(crochet_setup());
    static struct defer_at_stop d;
    run_on_reactor(defer_slow, &d);
    ASSERT(latch_wait(&work_started, 10.0));
    ASSERT_OK(crochet_stop());
    ASSERT_STATUS(crochet_wait(d.r, 10.0, NULL), CROCHET_ESTOPPED);
    latch_open(&work_release);
    usleep(100 * 1000);   /* the worker returns into a stopped reactor: give a crash a chance */
    ASSERT_STATUS(crochet_wait(d.r, 0, NULL), CROCHET_ESTOPPED);
    crochet_result_release(d.r);
}
