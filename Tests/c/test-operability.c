/* Operability (0.2): where a call is (crochet_result_get_info), why a wait
 * timed out, the stall watchdog, stats, and the bounds on queued calls and
 * on the stash. Times come from a coarse clock (a few ms of resolution):
 * the tests compare against tens of milliseconds, never exact values. */
#include "harness.h"

/* Log records, for the warnings. */
static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;
static char log_text[65536];
static size_t log_len;
static void record(int level, const char *message, void *ctx) {
    (void)ctx;
    pthread_mutex_lock(&log_mutex);
    int n = snprintf(log_text + log_len, sizeof log_text - log_len, "%d|%s\n", level, message);
    if (n > 0 && log_len + (size_t)n < sizeof log_text) log_len += (size_t)n;
    pthread_mutex_unlock(&log_mutex);
}
static int count_in_log(const char *needle) {
    pthread_mutex_lock(&log_mutex);
    int n = 0;
    for (const char *p = log_text; (p = strstr(p, needle)) != NULL; p++) n++;
    pthread_mutex_unlock(&log_mutex);
    return n;
}
static void logs_to_record(void) {
    ASSERT_OK(crochet_set_log_handler(record, NULL, NULL));
}

static latch entered = LATCH_INIT, release = LATCH_INIT;
void blocking_call(void) {
    latch_open(&entered);
    ASSERT(latch_wait(&release, 10.0));
}
int32_t add(int32_t a, int32_t b) { return a + b; }

static crochet_result_info info_of(crochet_result *r) {
    crochet_result_info info;
    memset(&info, 0, sizeof info);
    info.size = sizeof info;
    ASSERT_OK(crochet_result_get_info(r, &info));
    return info;
}

/* A call queued behind a blocking one is QUEUED with a growing queued time; the blocking one is RUNNING with a growing running time; both named by their symbols; then both DONE. */
TEST(facts_queued_running_done) {
    ASSERT_OK(crochet_setup());
    crochet_result *blocker, *behind;
    ASSERT_OK(CROCHET_CALL(&blocker, blocking_call));
    ASSERT(latch_wait(&entered, 10.0));
    ASSERT_OK(CROCHET_CALL(&behind, add, 1, 2));
    usleep(60 * 1000);
    crochet_result_info b = info_of(blocker), q = info_of(behind);
    ASSERT_EQ(b.state, CROCHET_STATE_RUNNING);
    ASSERT(b.running_seconds >= 0.04);
    ASSERT_STREQ(b.function, "blocking_call");
    ASSERT_EQ(q.state, CROCHET_STATE_QUEUED);
    ASSERT(q.queued_seconds >= 0.04);
    ASSERT_DBL_EQ(q.running_seconds, 0);
    ASSERT_STREQ(q.function, "add");
    latch_open(&release);
    ASSERT_OK(crochet_wait(behind, 10.0, NULL));
    q = info_of(behind);
    b = info_of(blocker);
    ASSERT_EQ(q.state, CROCHET_STATE_DONE);
    ASSERT_EQ(b.state, CROCHET_STATE_DONE);
    ASSERT(q.queued_seconds >= 0.04);     /* kept once done */
    ASSERT(b.running_seconds >= 0.04);
    crochet_result_release(blocker);
    crochet_result_release(behind);
}

crochet_deferred *never_fires(void);
crochet_deferred *never_fires(void) {
    crochet_deferred *d;
    ASSERT_OK(crochet_deferred_new(&d, NULL, NULL, NULL));
    return d;
}

/* A call whose function returned an unfired deferred is WAITING; crochet_wait's timeout logs nothing, crochet_wait_for's logs one WARNING naming the function and its state. */
TEST(facts_waiting_and_timeout_diagnosis) {
    logs_to_record();
    ASSERT_OK(crochet_setup());
    crochet_result *r;
    ASSERT_OK(CROCHET_CALL(&r, never_fires));
    ASSERT_STATUS(crochet_wait(r, 0.05, NULL), CROCHET_ETIMEDOUT);
    /* The running time grows while it waits (bounded: a slow machine may
     * have started the call late). */
    crochet_result_info i = info_of(r);
    double deadline = harness_now() + 10.0;
    while ((i.state != CROCHET_STATE_WAITING || i.running_seconds < 0.03) && harness_now() < deadline) {
        ASSERT_STATUS(crochet_wait(r, 0.01, NULL), CROCHET_ETIMEDOUT);
        i = info_of(r);
    }
    ASSERT_EQ(i.state, CROCHET_STATE_WAITING);
    ASSERT(i.running_seconds >= 0.03);
    ASSERT_STREQ(i.function, "never_fires");
    ASSERT_OK(crochet_log_flush(5.0));
    ASSERT_EQ(count_in_log("timed out"), 0);   /* crochet_wait may be retried: no record */
    crochet_value v;
    ASSERT_STATUS(crochet_wait_for(&v, NULL, 0.05, (crochet_fn)never_fires, CROCHET_TYPE_DEFERRED, NULL, 0),
                  CROCHET_ETIMEDOUT);
    ASSERT_OK(crochet_log_flush(5.0));
    ASSERT_EQ(count_in_log("30|crochet_wait_for(never_fires, 0.05 s) timed out: `never_fires` returned a deferred that has not fired"), 1);
    crochet_result_release(r);
}

/* crochet_wait_for's timeout diagnosis says when the call never started (queued behind a blocking call) and when it is running. */
TEST(timeout_diagnosis_queued_and_running) {
    logs_to_record();
    ASSERT_OK(crochet_setup());
    crochet_result *blocker;
    ASSERT_OK(CROCHET_CALL(&blocker, blocking_call));
    ASSERT(latch_wait(&entered, 10.0));
    crochet_value v;
    ASSERT_STATUS(crochet_wait_for(&v, NULL, 0.05, (crochet_fn)add, CROCHET_TYPE_INT32,
                                   (crochet_value[]){ crochet_int32(1), crochet_int32(2) }, 2), CROCHET_ETIMEDOUT);
    ASSERT_STATUS(crochet_wait_for(&v, NULL, 0.05, (crochet_fn)blocking_call, CROCHET_TYPE_VOID, NULL, 0),
                  CROCHET_ETIMEDOUT);
    latch_open(&release);
    ASSERT_OK(crochet_wait(blocker, 10.0, NULL));
    ASSERT_OK(crochet_log_flush(5.0));
    ASSERT_EQ(count_in_log("`add` has not started: queued for"), 1);
    crochet_result_release(blocker);
}

crochet_value named_closure(void *ctx);   /* not static: -rdynamic names it */
crochet_value named_closure(void *ctx) {
    (void)ctx;
    return crochet_int32(5);
}

/* A closure submitted with a name is known by that name; without one, by its function's symbol. */
TEST(named_closure) {
    ASSERT_OK(crochet_setup());
    crochet_result *r, *s;
    ASSERT_OK(crochet_submit_closure_named(&r, named_closure, NULL, NULL, "module.fetch_page"));
    ASSERT_OK(crochet_submit_closure(&s, named_closure, NULL, NULL));
    ASSERT_OK(crochet_wait(r, 10.0, NULL));
    ASSERT_OK(crochet_wait(s, 10.0, NULL));
    ASSERT_STREQ(info_of(r).function, "module.fetch_page");
    ASSERT_STREQ(info_of(s).function, "named_closure");
    crochet_result_release(r);
    crochet_result_release(s);
}

/* get_info and get_stats reject NULLs and a size smaller than the 0.2 struct; set_stall_warning and set_stash_limit reject bad numbers; get_stats before setup is ESTATE. */
TEST(bad_arguments) {
    crochet_stats st;
    st.size = sizeof st;
    ASSERT_STATUS(crochet_get_stats(&st), CROCHET_ESTATE);
    ASSERT_OK(crochet_setup());
    crochet_result *r;
    ASSERT_OK(CROCHET_CALL(&r, add, 1, 1));
    crochet_result_info info;
    info.size = sizeof info - 1;
    ASSERT_STATUS(crochet_result_get_info(r, &info), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_result_get_info(NULL, &info), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_result_get_info(r, NULL), CROCHET_EINVAL);
    st.size = 8;
    ASSERT_STATUS(crochet_get_stats(&st), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_get_stats(NULL), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_set_stall_warning(-1), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_set_stall_warning(NAN), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_set_stall_warning(INFINITY), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_set_stash_limit(1, -1), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_set_stash_limit(1, NAN), CROCHET_EINVAL);
    ASSERT_OK(crochet_wait(r, 10.0, NULL));
    crochet_result_release(r);
}

/* A callback running longer than the stall threshold gets one WARNING naming it, with the calls queued behind it, and a DEBUG record when the loop is free again. */
TEST(stall_warning_once_per_stall) {
    logs_to_record();
    ASSERT_OK(crochet_set_stall_warning(0.1));
    ASSERT_OK(crochet_setup());
    crochet_result *blocker, *behind[3];
    ASSERT_OK(CROCHET_CALL(&blocker, blocking_call));
    ASSERT(latch_wait(&entered, 10.0));
    for (int i = 0; i < 3; i++) ASSERT_OK(CROCHET_CALL(&behind[i], add, i, i));
    double deadline = harness_now() + 10.0;
    while (count_in_log("stalled") == 0 && harness_now() < deadline) usleep(10 * 1000);
    usleep(400 * 1000);   /* several more looks by the watchdog: still one warning */
    latch_open(&release);
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(crochet_wait(behind[i], 10.0, NULL));
        crochet_result_release(behind[i]);
    }
    deadline = harness_now() + 10.0;
    while (count_in_log("free again") == 0 && harness_now() < deadline) usleep(10 * 1000);
    ASSERT_OK(crochet_log_flush(5.0));
    ASSERT_EQ(count_in_log("30|the reactor thread is stalled: `blocking_call` has been running for"), 1);
    ASSERT_EQ(count_in_log("3 calls are queued behind it"), 1);
    ASSERT_EQ(count_in_log("10|the reactor is free again: `blocking_call`"), 1);
    crochet_result_release(blocker);
}

static void short_call(void *ctx) { (void)ctx; usleep(2000); }

/* A loop merely busy with many short callbacks is not stalled: no warning; and a threshold of 0 turns warnings off. */
TEST(no_stall_warning_for_busy_loop_or_when_off) {
    logs_to_record();
    ASSERT_OK(crochet_set_stall_warning(0.05));
    ASSERT_OK(crochet_setup());
    for (int i = 0; i < 150; i++) ASSERT_OK(crochet_call_from_thread(short_call, NULL, NULL));   /* ~0.3 s busy */
    crochet_value v;
    ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)add, CROCHET_TYPE_INT32,
                               (crochet_value[]){ crochet_int32(1), crochet_int32(1) }, 2));
    ASSERT_OK(crochet_set_stall_warning(0));
    crochet_result *blocker;
    ASSERT_OK(CROCHET_CALL(&blocker, blocking_call));
    ASSERT(latch_wait(&entered, 10.0));
    usleep(300 * 1000);
    latch_open(&release);
    ASSERT_OK(crochet_wait(blocker, 10.0, NULL));
    ASSERT_OK(crochet_log_flush(5.0));
    ASSERT_EQ(count_in_log("stalled"), 0);
    crochet_result_release(blocker);
}

static void on_readable(int fd, void *ctx) { (void)fd; (void)ctx; }
static void on_reactor_add_timer_and_reader(void *ctx) {
    int *fds = ctx;
    ASSERT_OK(crochet_call_later(NULL, 60, short_call, NULL, NULL));
    ASSERT_OK(crochet_add_reader(fds[0], on_readable, NULL, NULL));
}

/* Right after setup, stats count nothing: the library's own warm-up is not a call. */
TEST(stats_start_at_zero) {
    ASSERT_OK(crochet_setup());
    crochet_stats s;
    s.size = sizeof s;
    ASSERT_OK(crochet_get_stats(&s));
    ASSERT_EQ(s.calls_submitted, 0);
    ASSERT_EQ(s.calls_completed, 0);
    ASSERT_EQ(s.queued, 0);
    ASSERT_EQ(s.stashed, 0);
}

/* Stats counters move as a scripted workload says: submitted, completed, queued behind a blocker, waiting, timers, readers, stashed, and the maxima over the window. */
TEST(stats_follow_the_workload) {
    ASSERT_OK(crochet_setup());
    crochet_stats before;
    before.size = sizeof before;
    ASSERT_OK(crochet_get_stats(&before));
    crochet_result *blocker, *q[5], *w;
    ASSERT_OK(CROCHET_CALL(&blocker, blocking_call));
    ASSERT(latch_wait(&entered, 10.0));
    for (int i = 0; i < 5; i++) ASSERT_OK(CROCHET_CALL(&q[i], add, i, 1));
    usleep(50 * 1000);
    crochet_stats s;
    s.size = sizeof s;
    ASSERT_OK(crochet_get_stats(&s));
    ASSERT_EQ(s.calls_submitted - before.calls_submitted, 6);
    ASSERT_EQ(s.queued, 5);
    latch_open(&release);
    for (int i = 0; i < 5; i++) ASSERT_OK(crochet_wait(q[i], 10.0, NULL));
    ASSERT_OK(CROCHET_CALL(&w, never_fires));
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    run_on_reactor(on_reactor_add_timer_and_reader, fds);
    crochet_value v;   /* a round trip: the callbacks before it have returned, their counts published */
    ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)add, CROCHET_TYPE_INT32,
                               (crochet_value[]){ crochet_int32(1), crochet_int32(1) }, 2));
    uint64_t id;
    ASSERT_OK(crochet_stash(q[0], &id));
    ASSERT_OK(crochet_get_stats(&s));
    ASSERT_EQ(s.queued, 0);
    ASSERT_EQ(s.calls_completed - before.calls_completed, 7);
    ASSERT_EQ(s.waiting, 1);
    ASSERT_EQ(s.timers, 1);
    ASSERT_EQ(s.readers, 1);
    ASSERT_EQ(s.writers, 0);
    ASSERT_EQ(s.stashed, 1);
    ASSERT(s.max_callback_seconds >= 0.04);     /* the blocking call */
    ASSERT(s.max_queue_delay_seconds >= 0.04);  /* the calls behind it */
    ASSERT_OK(crochet_get_stats(&s));           /* a new window */
    ASSERT(s.max_callback_seconds < 0.04);
    crochet_result_release(blocker);
    crochet_result_release(w);
    for (int i = 0; i < 5; i++) crochet_result_release(q[i]);
}

static atomic_int destroyed;
static void count_destroy(void *ctx) { (void)ctx; atomic_fetch_add(&destroyed, 1); }
static void nothing(void *ctx) { (void)ctx; }

/* With crochet_set_max_queued(n), submits and call_from_thread return EAGAIN while n calls are queued; nothing is queued, a closure's and a callback's destroy runs; once the queue drains, submits work again. */
TEST(max_queued_bound) {
    ASSERT_OK(crochet_setup());
    ASSERT_OK(crochet_set_max_queued(3));
    crochet_result *blocker, *q[3], *r;
    ASSERT_OK(CROCHET_CALL(&blocker, blocking_call));
    ASSERT(latch_wait(&entered, 10.0));
    for (int i = 0; i < 3; i++) ASSERT_OK(CROCHET_CALL(&q[i], add, i, 1));
    r = (crochet_result *)1;
    ASSERT_STATUS(CROCHET_CALL(&r, add, 9, 9), CROCHET_EAGAIN);
    ASSERT_NULL(r);
    ASSERT_STATUS(crochet_submit_closure(&r, named_closure, NULL, count_destroy), CROCHET_EAGAIN);
    ASSERT_STATUS(crochet_call_from_thread(nothing, NULL, count_destroy), CROCHET_EAGAIN);
    ASSERT_EQ(atomic_load(&destroyed), 2);
    crochet_value v;
    ASSERT_STATUS(crochet_wait_for(&v, NULL, 1.0, (crochet_fn)add, CROCHET_TYPE_INT32,
                                   (crochet_value[]){ crochet_int32(1), crochet_int32(1) }, 2), CROCHET_EAGAIN);
    latch_open(&release);
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(crochet_wait(q[i], 10.0, NULL));
        crochet_result_release(q[i]);
    }
    ASSERT_OK(CROCHET_CALL(&r, add, 9, 9));
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    ASSERT_EQ(v.u.i32, 18);
    crochet_result_release(r);
    ASSERT_OK(crochet_set_max_queued(0));
    crochet_stats s;
    s.size = sizeof s;
    ASSERT_OK(crochet_get_stats(&s));
    ASSERT_EQ(s.queued, 0);
    crochet_result_release(blocker);
}

/* Calls counted against the bound and then rejected at stop give their places back (a new bound starts from zero queued). */
TEST(max_queued_places_come_back_at_stop_and_cancel) {
    ASSERT_OK(crochet_setup());
    ASSERT_OK(crochet_set_max_queued(2));
    crochet_result *blocker, *a, *b, *c;
    ASSERT_OK(CROCHET_CALL(&blocker, blocking_call));
    ASSERT(latch_wait(&entered, 10.0));
    ASSERT_OK(CROCHET_CALL(&a, add, 1, 1));
    ASSERT_OK(CROCHET_CALL(&b, add, 1, 1));
    ASSERT_OK(crochet_cancel(a));
    ASSERT_STATUS(CROCHET_CALL(&c, add, 1, 1), CROCHET_EAGAIN);   /* cancelled, but still queued */
    latch_open(&release);
    ASSERT_STATUS(crochet_wait(a, 10.0, NULL), CROCHET_ECANCELLED);
    ASSERT_OK(crochet_wait(b, 10.0, NULL));
    ASSERT_OK(CROCHET_CALL(&c, add, 1, 1));
    ASSERT_OK(crochet_wait(c, 10.0, NULL));
    crochet_result_release(a);
    crochet_result_release(b);
    crochet_result_release(c);
    crochet_result_release(blocker);
}

static int32_t fails(void) {
    crochet_raise(77, "expired-failure");
    return 0;
}

/* With a stash size bound, stash returns EAGAIN at the bound; with an age bound, a result left longer is dropped with a WARNING, its unobserved failure logged, and retrieve is ENOTFOUND. */
TEST(stash_limit) {
    logs_to_record();
    ASSERT_OK(crochet_setup());
    ASSERT_OK(crochet_set_stash_limit(2, 0));
    crochet_result *r, *f;
    ASSERT_OK(CROCHET_CALL(&r, add, 1, 1));
    ASSERT_OK(crochet_wait(r, 10.0, NULL));
    uint64_t a, b, c;
    ASSERT_OK(crochet_stash(r, &a));
    ASSERT_OK(crochet_stash(r, &b));
    ASSERT_STATUS(crochet_stash(r, &c), CROCHET_EAGAIN);
    crochet_result *back;
    ASSERT_OK(crochet_retrieve(&back, a));
    crochet_result_release(back);
    ASSERT_OK(crochet_stash(r, &c));   /* room again */
    ASSERT_OK(crochet_set_stash_limit(0, 0.2));
    ASSERT_OK(CROCHET_CALL(&f, fails));
    crochet_value v;
    ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)add, CROCHET_TYPE_INT32,
                               (crochet_value[]){ crochet_int32(1), crochet_int32(1) }, 2));   /* f ran */
    uint64_t fid;
    ASSERT_OK(crochet_stash(f, &fid));
    crochet_result_release(f);   /* only the stash holds it now */
    double deadline = harness_now() + 10.0;
    while (count_in_log("expired-failure") == 0 && harness_now() < deadline) usleep(20 * 1000);
    ASSERT_OK(crochet_log_flush(5.0));
    ASSERT_STATUS(crochet_retrieve(&back, fid), CROCHET_ENOTFOUND);
    ASSERT_STATUS(crochet_retrieve(&back, b), CROCHET_ENOTFOUND);
    ASSERT(count_in_log("was not retrieved within the stash's age bound") >= 3);
    ASSERT_EQ(count_in_log("40|Unhandled error in EventualResult"), 1);
    crochet_result_release(r);
}
