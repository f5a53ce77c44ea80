/* crochet_call_from_thread and crochet_call_later: where, when and in which
 * order callbacks run, and cancelling delayed calls. */
#include "harness.h"

static pthread_t reactor_thread;
static void capture_reactor_thread(void *ctx) {
    (void)ctx;
    reactor_thread = pthread_self();
}

/* An ordered log of callback runs, appended on the reactor thread. */
#define MAX_RUNS 2048
struct order {
    atomic_int n;
    int seq[MAX_RUNS];
    double at[MAX_RUNS];
    int off_reactor;          /* runs not on the reactor thread */
    latch done;
};

struct step { struct order *o; int id; };

static void record_step(void *ctx) {
    struct step *s = ctx;
    struct order *o = s->o;
    if (!crochet_in_reactor_thread() || !pthread_equal(pthread_self(), reactor_thread)) o->off_reactor++;
    int i = atomic_fetch_add(&o->n, 1);
    if (i < MAX_RUNS) {
        o->seq[i] = s->id;
        o->at[i] = harness_now();
    }
    latch_open(&o->done);
}

static void open_latch(void *ctx) { latch_open(ctx); }

static atomic_int never_count;
static void must_not_run(void *ctx) {
    (void)ctx;
    atomic_fetch_add(&never_count, 1);
}

/* crochet_call_from_thread runs every callback on the reactor thread, in the order one thread queued them. */
TEST(call_from_thread_runs_on_reactor_in_order) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(capture_reactor_thread, NULL);
    static struct order o = { 0, { 0 }, { 0 }, 0, LATCH_INIT };
    static struct step steps[1000];
    for (int i = 0; i < 1000; i++) {
        steps[i] = (struct step){ &o, i };
        ASSERT_OK(crochet_call_from_thread(record_step, &steps[i], NULL));
    }
    ASSERT(latch_wait_n(&o.done, 1000, 10.0));
    ASSERT_EQ(atomic_load(&o.n), 1000);
    ASSERT_EQ(o.off_reactor, 0);
    for (int i = 0; i < 1000; i++) ASSERT_EQ(o.seq[i], i);
}

static struct order mixed = { 0, { 0 }, { 0 }, 0, LATCH_INIT };
static void submitted_step(int32_t id) {
    int i = atomic_fetch_add(&mixed.n, 1);
    mixed.seq[i] = id;
    latch_open(&mixed.done);
}

/* crochet_call_from_thread and crochet_submit calls from one thread run in the order they were made. */
TEST(call_from_thread_keeps_order_with_submit) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(capture_reactor_thread, NULL);
    static struct step steps[200];
    crochet_result *rs[200] = { 0 };
    for (int i = 0; i < 200; i++) {
        if (i % 2) {
            steps[i] = (struct step){ &mixed, i };
            ASSERT_OK(crochet_call_from_thread(record_step, &steps[i], NULL));
        } else {
            ASSERT_OK(CROCHET_SUBMIT(&rs[i], submitted_step, CROCHET_TYPE_VOID, crochet_int32(i)));
        }
    }
    ASSERT(latch_wait_n(&mixed.done, 200, 10.0));
    for (int i = 0; i < 200; i++) {
        ASSERT_EQ(mixed.seq[i], i);
        crochet_result_release(rs[i]);
    }
}

/* crochet_call_from_thread with a NULL fn is CROCHET_EINVAL. */
TEST(call_from_thread_null_fn_is_einval) {
    ASSERT_OK(crochet_setup());
    ASSERT_STATUS(crochet_call_from_thread(NULL, NULL, NULL), CROCHET_EINVAL);
}

/* Before setup, crochet_call_from_thread and crochet_call_later are CROCHET_ESTATE and never run fn. */
TEST(timers_before_setup_are_estate) {
    crochet_delayed_call *c = (crochet_delayed_call *)0x1;
    ASSERT_STATUS(crochet_call_from_thread(must_not_run, NULL, NULL), CROCHET_ESTATE);
    ASSERT_STATUS(crochet_call_later(&c, 0, must_not_run, NULL, NULL), CROCHET_ESTATE);
    ASSERT_OK(crochet_setup());
    latch l = LATCH_INIT;
    ASSERT_OK(crochet_call_later(NULL, 0.02, open_latch, &l, NULL));
    ASSERT(latch_wait(&l, 5.0));
    ASSERT_EQ(atomic_load(&never_count), 0);
}

/* crochet_call_later runs fn on the reactor thread no sooner than the delay after it was scheduled. */
TEST(call_later_runs_after_at_least_the_delay) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(capture_reactor_thread, NULL);
    static struct order o = { 0, { 0 }, { 0 }, 0, LATCH_INIT };
    const double delays[] = { 0.001, 0.02, 0.15 };
    struct step steps[3];
    double scheduled[3];
    for (int i = 0; i < 3; i++) {
        steps[i] = (struct step){ &o, i };
        scheduled[i] = harness_now();
        crochet_delayed_call *c = NULL;
        ASSERT_OK(crochet_call_later(&c, delays[i], record_step, &steps[i], NULL));
        ASSERT_NOT_NULL(c);
        crochet_delayed_call_release(c);
    }
    ASSERT(latch_wait_n(&o.done, 3, 10.0));
    ASSERT_EQ(o.off_reactor, 0);
    for (int i = 0; i < 3; i++) {
        int id = o.seq[i];
        double elapsed = o.at[i] - scheduled[id];
        if (elapsed < delays[id])
            FAIL("timer %d with delay %.3f ran after %.6f s", id, delays[id], elapsed);
    }
}

/* Timers run in deadline order, whatever order they were scheduled in. */
TEST(call_later_runs_in_deadline_order) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(capture_reactor_thread, NULL);
    static struct order o = { 0, { 0 }, { 0 }, 0, LATCH_INIT };
    const double delays[] = { 0.25, 0.05, 0.20, 0.0, 0.10, 0.15 };
    const int expected[] = { 3, 1, 4, 5, 2, 0 };
    struct step steps[6];
    for (int i = 0; i < 6; i++) {
        steps[i] = (struct step){ &o, i };
        ASSERT_OK(crochet_call_later(NULL, delays[i], record_step, &steps[i], NULL));
    }
    ASSERT(latch_wait_n(&o.done, 6, 10.0));
    for (int i = 0; i < 6; i++) ASSERT_EQ(o.seq[i], expected[i]);
}

/* 100 timers scheduled from one thread with the same delay run in the order they were scheduled. */
TEST(call_later_equal_delays_run_fifo) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(capture_reactor_thread, NULL);
    static struct order o = { 0, { 0 }, { 0 }, 0, LATCH_INIT };
    static struct step steps[100];
    for (int i = 0; i < 100; i++) {
        steps[i] = (struct step){ &o, i };
        ASSERT_OK(crochet_call_later(NULL, 0.05, record_step, &steps[i], NULL));
    }
    ASSERT(latch_wait_n(&o.done, 100, 10.0));
    for (int i = 0; i < 100; i++) ASSERT_EQ(o.seq[i], i);
}

static struct order same_tick = { 0, { 0 }, { 0 }, 0, LATCH_INIT };
static struct step same_tick_steps[100];
static void schedule_same_tick(void *ctx) {
    (void)ctx;
    for (int i = 0; i < 100; i++) {
        same_tick_steps[i] = (struct step){ &same_tick, i };
        /* Delays 0.5 and 0 interleaved (0.5 s outlasts scheduling even under valgrind): each group must stay FIFO. */
        ASSERT_OK(crochet_call_later(NULL, (i % 2) ? 0.0 : 0.5, record_step, &same_tick_steps[i], NULL));
    }
}

/* Timers scheduled in one reactor callback (so possibly with identical deadlines) run FIFO within each deadline, earlier deadlines first. */
TEST(call_later_equal_deadlines_from_reactor_run_fifo) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(capture_reactor_thread, NULL);
    run_on_reactor(schedule_same_tick, NULL);
    ASSERT(latch_wait_n(&same_tick.done, 100, 10.0));
    for (int i = 0; i < 50; i++) ASSERT_EQ(same_tick.seq[i], 2 * i + 1);
    for (int i = 0; i < 50; i++) ASSERT_EQ(same_tick.seq[50 + i], 2 * i);
}

/* A delayed call cancelled before it runs never runs, even after a later timer proves its deadline passed. */
TEST(cancel_before_run_means_never_runs) {
    ASSERT_OK(crochet_setup());
    crochet_delayed_call *c = NULL;
    ASSERT_OK(crochet_call_later(&c, 0.05, must_not_run, NULL, NULL));
    ASSERT_OK(crochet_delayed_call_cancel(c));
    latch barrier = LATCH_INIT;
    ASSERT_OK(crochet_call_later(NULL, 0.15, open_latch, &barrier, NULL));
    ASSERT(latch_wait(&barrier, 10.0));
    ASSERT_EQ(atomic_load(&never_count), 0);
    ASSERT_STATUS(crochet_delayed_call_cancel(c), CROCHET_EALREADY);
    crochet_delayed_call_release(c);
}

/* Cancelling a delayed call that already ran is CROCHET_EALREADY. */
TEST(cancel_after_run_is_ealready) {
    ASSERT_OK(crochet_setup());
    latch ran = LATCH_INIT;
    crochet_delayed_call *c = NULL;
    ASSERT_OK(crochet_call_later(&c, 0.01, open_latch, &ran, NULL));
    ASSERT(latch_wait(&ran, 10.0));
    run_on_reactor(capture_reactor_thread, NULL);   /* the timer callback has returned */
    ASSERT_STATUS(crochet_delayed_call_cancel(c), CROCHET_EALREADY);
    ASSERT_STATUS(crochet_delayed_call_cancel(c), CROCHET_EALREADY);
    crochet_delayed_call_release(c);
}

/* A second cancel of the same delayed call is CROCHET_EALREADY. */
TEST(double_cancel_is_ealready) {
    ASSERT_OK(crochet_setup());
    crochet_delayed_call *c = NULL;
    ASSERT_OK(crochet_call_later(&c, 5.0, must_not_run, NULL, NULL));
    ASSERT_OK(crochet_delayed_call_cancel(c));
    ASSERT_STATUS(crochet_delayed_call_cancel(c), CROCHET_EALREADY);
    crochet_delayed_call_release(c);
    ASSERT_EQ(atomic_load(&never_count), 0);
}

struct self_cancel { crochet_delayed_call *c; int status; latch done; };
static void cancel_myself(void *ctx) {
    struct self_cancel *s = ctx;
    s->status = crochet_delayed_call_cancel(s->c);
    latch_open(&s->done);
}

/* A delayed call that cancels itself while running gets CROCHET_EALREADY (it started running). */
TEST(cancel_while_running_is_ealready) {
    ASSERT_OK(crochet_setup());
    static struct self_cancel s = { NULL, 99, LATCH_INIT };
    /* call_later stores the handle before the timer can fire, even with no delay. */
    ASSERT_OK(crochet_call_later(&s.c, 0, cancel_myself, &s, NULL));
    ASSERT(latch_wait(&s.done, 10.0));
    ASSERT_STATUS(s.status, CROCHET_EALREADY);
    crochet_delayed_call_release(s.c);
}

struct cross_cancel { crochet_delayed_call *victim; int status; latch done; };
static void cancel_victim(void *ctx) {
    struct cross_cancel *x = ctx;
    x->status = crochet_delayed_call_cancel(x->victim);
    latch_open(&x->done);
}

/* A timer can cancel another timer with the same deadline from inside its callback on the reactor thread, and the cancelled one never runs. */
TEST(timer_cancels_a_due_timer_from_the_reactor) {
    ASSERT_OK(crochet_setup());
    static struct cross_cancel x = { NULL, 99, LATCH_INIT };
    crochet_delayed_call *first = NULL;
    ASSERT_OK(crochet_call_later(&first, 0.05, cancel_victim, &x, NULL));
    ASSERT_OK(crochet_call_later(&x.victim, 0.05, must_not_run, NULL, NULL));
    latch barrier = LATCH_INIT;
    ASSERT_OK(crochet_call_later(NULL, 0.1, open_latch, &barrier, NULL));
    ASSERT(latch_wait(&x.done, 10.0));
    ASSERT(latch_wait(&barrier, 10.0));
    ASSERT_OK(x.status);
    ASSERT_EQ(atomic_load(&never_count), 0);
    crochet_delayed_call_release(first);
    crochet_delayed_call_release(x.victim);
}

/* crochet_call_later accepts a NULL out and still runs fn. */
TEST(call_later_out_may_be_null) {
    ASSERT_OK(crochet_setup());
    latch ran = LATCH_INIT;
    ASSERT_OK(crochet_call_later(NULL, 0.01, open_latch, &ran, NULL));
    ASSERT(latch_wait(&ran, 10.0));
}

/* A delay of 0 runs fn soon on the reactor thread. */
TEST(call_later_zero_delay_runs_soon) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(capture_reactor_thread, NULL);
    static struct order o = { 0, { 0 }, { 0 }, 0, LATCH_INIT };
    struct step s = { &o, 7 };
    double start = harness_now();
    ASSERT_OK(crochet_call_later(NULL, 0, record_step, &s, NULL));
    ASSERT(latch_wait(&o.done, 10.0));
    ASSERT_EQ(o.off_reactor, 0);
    if (o.at[0] - start > 1.0) FAIL("a zero-delay timer took %.3f s", o.at[0] - start);
}

struct nested { latch ran; int status; crochet_delayed_call *c; double scheduled_at; double ran_at; };
static void nested_fire(void *ctx) {
    struct nested *n = ctx;
    n->ran_at = harness_now();
    if (!crochet_in_reactor_thread()) n->status = -1000;
    latch_open(&n->ran);
}
static void schedule_from_reactor(void *ctx) {
    struct nested *n = ctx;
    n->scheduled_at = harness_now();
    n->status = crochet_call_later(&n->c, 0.03, nested_fire, n, NULL);
}

/* crochet_call_later called on the reactor thread, inside a callback, schedules a timer that runs after its delay. */
TEST(call_later_from_inside_reactor_callback) {
    ASSERT_OK(crochet_setup());
    static struct nested n = { LATCH_INIT, 99, NULL, 0, 0 };
    run_on_reactor(schedule_from_reactor, &n);
    ASSERT_OK(n.status);
    ASSERT(latch_wait(&n.ran, 10.0));
    ASSERT_OK(n.status);
    ASSERT(n.ran_at - n.scheduled_at >= 0.03);
    crochet_delayed_call_release(n.c);
}

/* A negative, NaN or infinite delay and a NULL fn are CROCHET_EINVAL and nothing is scheduled. */
TEST(call_later_bad_arguments_are_einval) {
    ASSERT_OK(crochet_setup());
    const double bad[] = { -1.0, -1e-9, -INFINITY, NAN, INFINITY };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        crochet_delayed_call *c = NULL;
        int s = crochet_call_later(&c, bad[i], must_not_run, NULL, NULL);
        if (s != CROCHET_EINVAL) FAIL("delay %g returned %d (%s), expected EINVAL", bad[i], s, crochet_strerror(s));
        crochet_delayed_call_release(c);
        ASSERT_STATUS(crochet_call_later(NULL, bad[i], must_not_run, NULL, NULL), CROCHET_EINVAL);
    }
    crochet_delayed_call *c = NULL;
    ASSERT_STATUS(crochet_call_later(&c, 0.01, NULL, NULL, NULL), CROCHET_EINVAL);
    crochet_delayed_call_release(c);
    ASSERT_STATUS(crochet_delayed_call_cancel(NULL), CROCHET_EINVAL);
    crochet_delayed_call_release(NULL);
    latch barrier = LATCH_INIT;
    ASSERT_OK(crochet_call_later(NULL, 0.05, open_latch, &barrier, NULL));
    ASSERT(latch_wait(&barrier, 10.0));
    ASSERT_EQ(atomic_load(&never_count), 0);
}

/* Releasing the handle of a delayed call does not cancel it: it still runs. */
TEST(release_does_not_cancel) {
    ASSERT_OK(crochet_setup());
    latch ran = LATCH_INIT;
    crochet_delayed_call *c = NULL;
    ASSERT_OK(crochet_call_later(&c, 0.03, open_latch, &ran, NULL));
    ASSERT_NOT_NULL(c);
    crochet_delayed_call_release(c);
    ASSERT(latch_wait(&ran, 10.0));
}

static atomic_int many_count;
static latch many_done = LATCH_INIT;
static void count_many(void *ctx) {
    (void)ctx;
    if (atomic_fetch_add(&many_count, 1) + 1 == 4 * 250) latch_open(&many_done);
}
static void *schedule_many(void *p) {
    (void)p;
    for (int i = 0; i < 250; i++) {
        crochet_delayed_call *c = NULL;
        if (crochet_call_later(&c, (i % 5) * 0.002, count_many, NULL, NULL) != CROCHET_OK) abort();
        crochet_delayed_call *k = NULL;
        if (crochet_call_later(&k, 0.01, must_not_run, NULL, NULL) != CROCHET_OK) abort();
        if (crochet_delayed_call_cancel(k) != CROCHET_OK) abort();
        crochet_delayed_call_release(k);
        crochet_delayed_call_release(c);
    }
    return NULL;
}

/* Several threads scheduling and cancelling timers at once: every uncancelled timer runs exactly once and no cancelled one runs. */
TEST(call_later_from_many_threads) {
    ASSERT_OK(crochet_setup());
    pthread_t t[4];
    for (int i = 0; i < 4; i++) ASSERT_EQ(pthread_create(&t[i], NULL, schedule_many, NULL), 0);
    for (int i = 0; i < 4; i++) ASSERT_EQ(pthread_join(t[i], NULL), 0);
    ASSERT(latch_wait(&many_done, 10.0));
    latch barrier = LATCH_INIT;
    ASSERT_OK(crochet_call_later(NULL, 0.05, open_latch, &barrier, NULL));
    ASSERT(latch_wait(&barrier, 10.0));
    ASSERT_EQ(atomic_load(&many_count), 1000);
    ASSERT_EQ(atomic_load(&never_count), 0);
}

/* A huge but finite delay (centuries, 1e300, DBL_MAX) is valid: call_later returns CROCHET_OK, the call does not run, and it can be cancelled. */
TEST(call_later_huge_finite_delay_is_accepted) {
    ASSERT_OK(crochet_setup());
    const double delays[] = { 1e9, 1e10, 1e12, 1e20, 1e300, 1.7976931348623157e308 };
    for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++) {
        crochet_delayed_call *c = NULL;
        fprintf(stderr, "call_later(delay %g)\n", delays[i]);
        ASSERT_OK(crochet_call_later(&c, delays[i], must_not_run, NULL, NULL));
        ASSERT_OK(crochet_delayed_call_cancel(c));
        crochet_delayed_call_release(c);
        ASSERT_OK(crochet_call_later(NULL, delays[i], must_not_run, NULL, NULL));   /* left pending */
    }
    latch barrier = LATCH_INIT;
    ASSERT_OK(crochet_call_later(NULL, 0.05, open_latch, &barrier, NULL));
    ASSERT(latch_wait(&barrier, 10.0));
    ASSERT_EQ(atomic_load(&never_count), 0);
}

static atomic_int second_ran;
static latch stopped_by_timer = LATCH_INIT;
static void stop_from_timer(void *ctx) {
    (void)ctx;
    ASSERT_OK(crochet_stop());
    latch_open(&stopped_by_timer);
}
static void second_timer(void *ctx) {
    (void)ctx;
    atomic_fetch_add(&second_ran, 1);
}
static void schedule_pair_due_together(void *ctx) {
    (void)ctx;
    /* Scheduled on the reactor with equal delays: due in the same turn, in this order. */
    ASSERT_OK(crochet_call_later(NULL, 0.005, stop_from_timer, NULL, NULL));
    ASSERT_OK(crochet_call_later(NULL, 0.005, second_timer, NULL, NULL));
}

/* Two timers due together, the first stops the reactor: the second never runs (a timer pending at stop never runs). */
TEST(timer_due_with_one_that_stops_never_runs) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(schedule_pair_due_together, NULL);
    ASSERT(latch_wait(&stopped_by_timer, 10.0));
    usleep(50000);
    ASSERT_EQ(atomic_load(&second_ran), 0);
}

static void stop_after_timer_is_due(void) {
    usleep(20000);   /* the 1 ms timer becomes due meanwhile */
    ASSERT_OK(crochet_stop());
}

/* A submitted call stops the reactor while a 1 ms timer is due: the timer never runs. */
TEST(timer_due_when_a_call_stops_never_runs) {
    ASSERT_OK(crochet_setup());
    ASSERT_OK(crochet_call_later(NULL, 0.001, second_timer, NULL, NULL));
    crochet_result *r;
    ASSERT_OK(CROCHET_SUBMIT(&r, stop_after_timer_is_due, CROCHET_TYPE_VOID));
    ANY_STATUS(crochet_wait(r, 10.0, NULL));
    crochet_result_release(r);
    usleep(50000);
    ASSERT_EQ(atomic_load(&second_ran), 0);
}

static crochet_delayed_call *_Atomic published;
static atomic_int saw_null_handle;
static latch handle_checked = LATCH_INIT;
static void read_own_handle(void *ctx) {
    (void)ctx;
    if (atomic_load(&published) == NULL) atomic_fetch_add(&saw_null_handle, 1);
    latch_open(&handle_checked);
}

/* crochet_call_later stores *out before the timer can fire, so a callback with no delay may read its own handle (1,000 rounds). */
TEST(call_later_handle_is_published_before_it_fires) {
    ASSERT_OK(crochet_setup());
    for (int i = 0; i < 1000; i++) {
        atomic_store(&published, NULL);
        ASSERT_OK(crochet_call_later((crochet_delayed_call **)&published, 0, read_own_handle, NULL, NULL));
        ASSERT(latch_wait_n(&handle_checked, i + 1, 10.0));
        crochet_delayed_call_release(atomic_load(&published));
    }
    ASSERT_EQ(atomic_load(&saw_null_handle), 0);
}
