/* Ownership across the ABI (0.2): every stored callback's destroy(ctx) runs
 * exactly once, on the thread the header says, never under a library lock
 * (each destroy here calls back into the library), in every path: ran,
 * cancelled, removed, replaced, rejected at stop, registering call failed. */
#include "harness.h"
#include <fcntl.h>
#include <sys/socket.h>

typedef struct tracked {
    atomic_int ran;               /* callback calls */
    atomic_int destroyed;         /* destroy calls */
    atomic_int ran_after_destroy;
    atomic_int destroy_on_reactor;
    pthread_t destroy_thread;
    latch done;                   /* opened by destroy */
} tracked;

#define TRACKED_INIT { 0, 0, 0, 0, 0, LATCH_INIT }

static void track_ran(tracked *t) {
    if (atomic_load(&t->destroyed)) atomic_fetch_add(&t->ran_after_destroy, 1);
    atomic_fetch_add(&t->ran, 1);
}

static void tracked_destroy(void *p) {
    tracked *t = p;
    t->destroy_thread = pthread_self();
    atomic_store(&t->destroy_on_reactor, crochet_in_reactor_thread());
    /* Calls back into the library: deadlocks if a library lock is held. */
    crochet_result *r;
    ASSERT_STATUS(crochet_retrieve(&r, 12345), CROCHET_ENOTFOUND);
    int s = crochet_call_from_thread(NULL, NULL, NULL);
    ASSERT_STATUS(s, CROCHET_EINVAL);
    ASSERT_NOT_NULL(crochet_status_name(CROCHET_OK));
    atomic_fetch_add(&t->destroyed, 1);
    latch_open(&t->done);
}

/* Waits for destroy, then checks it ran once and never before a call. */
static void expect_destroyed_once(tracked *t, int on_reactor) {
    ASSERT(latch_wait(&t->done, 10.0));
    usleep(20000);   /* a second destroy would come now: it must not */
    ASSERT_EQ(atomic_load(&t->destroyed), 1);
    ASSERT_EQ(atomic_load(&t->ran_after_destroy), 0);
    if (on_reactor >= 0) ASSERT_EQ(atomic_load(&t->destroy_on_reactor), on_reactor);
}

/* Destroy ran on this thread, before the call that failed returned. */
static void expect_destroyed_here(tracked *t) {
    ASSERT_EQ(atomic_load(&t->destroyed), 1);
    ASSERT(pthread_equal(t->destroy_thread, pthread_self()));
    ASSERT_EQ(atomic_load(&t->ran), 0);
}

/* A call that blocks the reactor until released. */
static latch blocker_entered = LATCH_INIT, blocker_release = LATCH_INIT;
static void blocker(void) {
    latch_open(&blocker_entered);
    ASSERT(latch_wait(&blocker_release, 10.0));
}
static crochet_result *block_reactor(void) {
    crochet_result *r;
    ASSERT_OK(CROCHET_SUBMIT(&r, blocker, CROCHET_TYPE_VOID));
    ASSERT(latch_wait(&blocker_entered, 10.0));
    return r;
}

static crochet_value closure_answer(void *ctx) {
    track_ran(ctx);
    return crochet_int32(42);
}

/* ------------------------------------------------------------------------ */
/* crochet_submit_closure                                                    */

/* A closure that ran has its ctx destroyed once, on the reactor thread, after it returned; the result has its value. */
TEST(closure_ran) {
    ASSERT_OK(crochet_setup());
    tracked t = TRACKED_INIT;
    crochet_result *r;
    ASSERT_OK(crochet_submit_closure(&r, closure_answer, &t, tracked_destroy));
    crochet_value v;
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    ASSERT_EQ(v.type, CROCHET_TYPE_INT32);
    ASSERT_EQ(v.u.i32, 42);
    expect_destroyed_once(&t, 1);
    ASSERT_EQ(atomic_load(&t.ran), 1);
    crochet_result_release(r);
}

/* A closure cancelled before it starts never runs, its result is ECANCELLED and its ctx is destroyed once on the reactor thread. */
TEST(closure_cancelled_before_start) {
    ASSERT_OK(crochet_setup());
    crochet_result *b = block_reactor();
    tracked t = TRACKED_INIT;
    crochet_result *r;
    ASSERT_OK(crochet_submit_closure(&r, closure_answer, &t, tracked_destroy));
    ASSERT_OK(crochet_cancel(r));
    latch_open(&blocker_release);
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_ECANCELLED);
    expect_destroyed_once(&t, 1);
    ASSERT_EQ(atomic_load(&t.ran), 0);
    crochet_result_release(r);
    crochet_result_release(b);
}

/* A closure queued when the reactor stops never runs, completes with ESTOPPED, and its ctx is destroyed once on the reactor thread. */
TEST(closure_rejected_at_stop) {
    ASSERT_OK(crochet_setup());
    crochet_result *b = block_reactor();
    tracked t = TRACKED_INIT;
    crochet_result *r;
    ASSERT_OK(crochet_submit_closure(&r, closure_answer, &t, tracked_destroy));
    ASSERT_OK(crochet_stop());
    latch_open(&blocker_release);
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_ESTOPPED);
    expect_destroyed_once(&t, 1);
    ASSERT_EQ(atomic_load(&t.ran), 0);
    crochet_result_release(r);
    crochet_result_release(b);
}

/* When crochet_submit_closure fails (before setup, NULL out or fn, after stop) the ctx is destroyed on the calling thread before it returns. */
TEST(closure_submit_fails) {
    tracked a = TRACKED_INIT, b = TRACKED_INIT, c = TRACKED_INIT, d = TRACKED_INIT;
    crochet_result *r = (crochet_result *)1;
    ASSERT_STATUS(crochet_submit_closure(&r, closure_answer, &a, tracked_destroy), CROCHET_ESTATE);
    ASSERT_NULL(r);
    expect_destroyed_here(&a);
    ASSERT_OK(crochet_setup());
    ASSERT_STATUS(crochet_submit_closure(NULL, closure_answer, &b, tracked_destroy), CROCHET_EINVAL);
    expect_destroyed_here(&b);
    ASSERT_STATUS(crochet_submit_closure(&r, NULL, &c, tracked_destroy), CROCHET_EINVAL);
    expect_destroyed_here(&c);
    ASSERT_OK(crochet_stop());
    ASSERT_STATUS(crochet_submit_closure(&r, closure_answer, &d, tracked_destroy), CROCHET_ESTOPPED);
    expect_destroyed_here(&d);
    /* A NULL destroy is allowed everywhere. */
    ASSERT_STATUS(crochet_submit_closure(&r, closure_answer, NULL, NULL), CROCHET_ESTOPPED);
}

static crochet_deferred *kept;
static crochet_value closure_returning_deferred(void *ctx) {
    track_ran(ctx);
    crochet_deferred *d;
    ASSERT_OK(crochet_deferred_new(&d, NULL, NULL, NULL));
    kept = crochet_deferred_retain(d);
    crochet_value v;
    v.type = CROCHET_TYPE_DEFERRED;
    v.u.ptr = d;
    return v;
}
static void fire_kept(void *ctx) {
    (void)ctx;
    ASSERT_OK(crochet_deferred_callback(kept, crochet_int64(7)));
    crochet_deferred_release(kept);
}

/* A closure returning a deferred value makes the result follow it; the ctx is destroyed when the closure returned, not when the deferred fires. */
TEST(closure_returning_deferred_is_followed) {
    ASSERT_OK(crochet_setup());
    tracked t = TRACKED_INIT;
    crochet_result *r;
    ASSERT_OK(crochet_submit_closure(&r, closure_returning_deferred, &t, tracked_destroy));
    expect_destroyed_once(&t, 1);
    ASSERT_STATUS(crochet_wait(r, 0.05, NULL), CROCHET_ETIMEDOUT);
    run_on_reactor(fire_kept, NULL);
    crochet_value v;
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    ASSERT_EQ(v.type, CROCHET_TYPE_INT64);
    ASSERT_EQ(v.u.i64, 7);
    crochet_result_release(r);
}

static crochet_value closure_raising(void *ctx) {
    track_ran(ctx);
    crochet_raise(77, "closure says no");
    return crochet_int32(1);
}
static crochet_value closure_bad_tag(void *ctx) {
    track_ran(ctx);
    crochet_value v;
    memset(&v, 0, sizeof v);
    v.type = (crochet_type)99;
    return v;
}
static crochet_value closure_null_deferred(void *ctx) {
    track_ran(ctx);
    crochet_value v;
    v.type = CROCHET_TYPE_DEFERRED;
    v.u.ptr = NULL;
    return v;
}

/* A closure may raise; an unknown type tag or a NULL deferred fails the call with CROCHET_EINVAL; the ctx is destroyed once either way. */
TEST(closure_failures) {
    ASSERT_OK(crochet_setup());
    {
        tracked t = TRACKED_INIT;
        crochet_result *r;
        ASSERT_OK(crochet_submit_closure(&r, closure_raising, &t, tracked_destroy));
        ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_EFAILED);
        ASSERT_EQ(crochet_failure_code(crochet_original_failure(r)), 77);
        ASSERT_STREQ(crochet_failure_message(crochet_original_failure(r)), "closure says no");
        expect_destroyed_once(&t, 1);
        crochet_result_release(r);
    }
    crochet_value (*bad[])(void *) = { closure_bad_tag, closure_null_deferred };
    for (int i = 0; i < 2; i++) {
        tracked t = TRACKED_INIT;
        crochet_result *r;
        ASSERT_OK(crochet_submit_closure(&r, bad[i], &t, tracked_destroy));
        ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_EFAILED);
        ASSERT_EQ(crochet_failure_code(crochet_original_failure(r)), CROCHET_EINVAL);
        expect_destroyed_once(&t, 1);
        crochet_result_release(r);
    }
}

/* ------------------------------------------------------------------------ */
/* crochet_defer_to_thread_closure                                           */

static latch workers_release = LATCH_INIT;
static atomic_int workers_in;
static crochet_value blocking_work(void *ctx) {
    (void)ctx;
    atomic_fetch_add(&workers_in, 1);
    ASSERT(latch_wait(&workers_release, 10.0));
    return crochet_void();
}
static crochet_value work_answer(void *ctx) {
    track_ran(ctx);
    ASSERT(!crochet_in_reactor_thread());
    return crochet_double(2.5);
}

struct worker_case { tracked *t; crochet_deferred *d; crochet_result *r; int cancel; int busy; };
static void start_worker_case(void *p) {
    struct worker_case *c = p;
    for (int i = 0; i < c->busy; i++) {
        crochet_deferred *d;
        ASSERT_OK(crochet_defer_to_thread_closure(&d, blocking_work, NULL, NULL));
        crochet_deferred_release(d);
    }
    ASSERT_OK(crochet_defer_to_thread_closure(&c->d, work_answer, c->t, tracked_destroy));
    ASSERT_OK(crochet_result_new(&c->r, c->d));
    if (c->cancel) ASSERT_OK(crochet_deferred_cancel(c->d));
    crochet_deferred_release(c->d);
}

/* Work run on a worker has its ctx destroyed once on the reactor thread after it returned; the deferred fires with its value. */
TEST(worker_closure_ran) {
    ASSERT_OK(crochet_setup());
    tracked t = TRACKED_INIT;
    struct worker_case c = { &t, NULL, NULL, 0, 0 };
    run_on_reactor(start_worker_case, &c);
    crochet_value v;
    ASSERT_OK(crochet_wait(c.r, 10.0, &v));
    ASSERT_DBL_EQ(v.u.f64, 2.5);
    expect_destroyed_once(&t, 1);
    ASSERT_EQ(atomic_load(&t.ran), 1);
    crochet_result_release(c.r);
}

/* Work cancelled while every worker is busy never runs, and its ctx is destroyed once on the reactor thread. */
TEST(worker_closure_cancelled_before_start) {
    ASSERT_OK(crochet_setup());
    tracked t = TRACKED_INIT;
    struct worker_case c = { &t, NULL, NULL, 1, 8 };
    run_on_reactor(start_worker_case, &c);
    ASSERT_STATUS(crochet_wait(c.r, 10.0, NULL), CROCHET_ECANCELLED);
    expect_destroyed_once(&t, 1);
    latch_open(&workers_release);
    usleep(50000);
    ASSERT_EQ(atomic_load(&t.ran), 0);
    crochet_result_release(c.r);
}

/* Work still queued when the reactor stops never runs, and its ctx is destroyed once on the reactor thread. */
TEST(worker_closure_dropped_at_stop) {
    ASSERT_OK(crochet_setup());
    tracked t = TRACKED_INIT;
    struct worker_case c = { &t, NULL, NULL, 0, 8 };
    run_on_reactor(start_worker_case, &c);
    while (atomic_load(&workers_in) < 8) usleep(1000);
    ASSERT_OK(crochet_stop());
    ASSERT_STATUS(crochet_wait(c.r, 10.0, NULL), CROCHET_ESTOPPED);
    latch_open(&workers_release);   /* stop joins the workers: let them finish */
    expect_destroyed_once(&t, 1);
    ASSERT_EQ(atomic_load(&t.ran), 0);
    crochet_result_release(c.r);
}

static void worker_closure_off_reactor(void *ctx) { (void)ctx; }

/* crochet_defer_to_thread_closure off the reactor thread, or with a NULL out or fn, destroys the ctx before returning. */
TEST(worker_closure_fails) {
    ASSERT_OK(crochet_setup());
    tracked a = TRACKED_INIT, b = TRACKED_INIT;
    crochet_deferred *d;
    ASSERT_STATUS(crochet_defer_to_thread_closure(&d, work_answer, &a, tracked_destroy), CROCHET_ENOTREACTOR);
    expect_destroyed_here(&a);
    ASSERT_STATUS(crochet_defer_to_thread_closure(NULL, work_answer, &b, tracked_destroy), CROCHET_EINVAL);
    expect_destroyed_here(&b);
    (void)worker_closure_off_reactor;
}

/* ------------------------------------------------------------------------ */
/* call_from_thread, call_later, shutdown triggers                           */

static void cb_ran(void *ctx) { track_ran(ctx); }

/* A call_from_thread callback has its ctx destroyed once, on the reactor thread, after it ran. */
TEST(call_from_thread_ran) {
    ASSERT_OK(crochet_setup());
    tracked t = TRACKED_INIT;
    ASSERT_OK(crochet_call_from_thread(cb_ran, &t, tracked_destroy));
    expect_destroyed_once(&t, 1);
    ASSERT_EQ(atomic_load(&t.ran), 1);
}

/* A call_from_thread callback queued at stop never runs; its ctx is destroyed once on the reactor thread. */
TEST(call_from_thread_rejected_at_stop) {
    ASSERT_OK(crochet_setup());
    crochet_result *b = block_reactor();
    tracked t = TRACKED_INIT;
    ASSERT_OK(crochet_call_from_thread(cb_ran, &t, tracked_destroy));
    ASSERT_OK(crochet_stop());
    latch_open(&blocker_release);
    expect_destroyed_once(&t, 1);
    ASSERT_EQ(atomic_load(&t.ran), 0);
    crochet_result_release(b);
}

/* call_from_thread that fails (before setup, NULL fn, after stop) destroys the ctx before it returns. */
TEST(call_from_thread_fails) {
    tracked a = TRACKED_INIT, b = TRACKED_INIT, c = TRACKED_INIT;
    ASSERT_STATUS(crochet_call_from_thread(cb_ran, &a, tracked_destroy), CROCHET_ESTATE);
    expect_destroyed_here(&a);
    ASSERT_OK(crochet_setup());
    ASSERT_STATUS(crochet_call_from_thread(NULL, &b, tracked_destroy), CROCHET_EINVAL);
    expect_destroyed_here(&b);
    ASSERT_OK(crochet_stop());
    ASSERT_STATUS(crochet_call_from_thread(cb_ran, &c, tracked_destroy), CROCHET_ESTOPPED);
    expect_destroyed_here(&c);
}

/* A timer that ran has its ctx destroyed once, on the reactor thread, after it ran. */
TEST(call_later_ran) {
    ASSERT_OK(crochet_setup());
    tracked t = TRACKED_INIT;
    crochet_delayed_call *c;
    ASSERT_OK(crochet_call_later(&c, 0.001, cb_ran, &t, tracked_destroy));
    expect_destroyed_once(&t, 1);
    ASSERT_EQ(atomic_load(&t.ran), 1);
    ASSERT_STATUS(crochet_delayed_call_cancel(c), CROCHET_EALREADY);
    crochet_delayed_call_release(c);
}

/* A timer cancelled from another thread never runs; its ctx is destroyed once, on the reactor thread. */
TEST(call_later_cancelled) {
    ASSERT_OK(crochet_setup());
    tracked t = TRACKED_INIT;
    crochet_delayed_call *c;
    ASSERT_OK(crochet_call_later(&c, 60.0, cb_ran, &t, tracked_destroy));
    ASSERT_OK(crochet_delayed_call_cancel(c));
    expect_destroyed_once(&t, 1);
    ASSERT_EQ(atomic_load(&t.ran), 0);
    crochet_delayed_call_release(c);
}

static void cancel_on_reactor(void *p) {
    crochet_delayed_call *c = p;
    ASSERT_OK(crochet_delayed_call_cancel(c));
}

/* A timer cancelled on the reactor thread has its ctx destroyed there, before cancel returns. */
TEST(call_later_cancelled_on_reactor) {
    ASSERT_OK(crochet_setup());
    tracked t = TRACKED_INIT;
    crochet_delayed_call *c;
    ASSERT_OK(crochet_call_later(&c, 60.0, cb_ran, &t, tracked_destroy));
    run_on_reactor(cancel_on_reactor, c);
    ASSERT_EQ(atomic_load(&t.destroyed), 1);
    expect_destroyed_once(&t, 1);
    crochet_delayed_call_release(c);
}

/* A timer pending at stop never runs; its ctx is destroyed once on the reactor thread (also when the handle was released first). */
TEST(call_later_pending_at_stop) {
    ASSERT_OK(crochet_setup());
    tracked t = TRACKED_INIT, u = TRACKED_INIT;
    crochet_delayed_call *c;
    ASSERT_OK(crochet_call_later(&c, 60.0, cb_ran, &t, tracked_destroy));
    ASSERT_OK(crochet_call_later(NULL, 60.0, cb_ran, &u, tracked_destroy));
    ASSERT_OK(crochet_stop());
    expect_destroyed_once(&t, 1);
    expect_destroyed_once(&u, 1);
    ASSERT_EQ(atomic_load(&t.ran) + atomic_load(&u.ran), 0);
    crochet_delayed_call_release(c);
}

/* call_later that fails (bad delay, before setup, after stop) destroys the ctx before it returns and sets *out to NULL. */
TEST(call_later_fails) {
    tracked a = TRACKED_INIT, b = TRACKED_INIT, c = TRACKED_INIT, d = TRACKED_INIT;
    crochet_delayed_call *h = (crochet_delayed_call *)1;
    ASSERT_STATUS(crochet_call_later(&h, 1.0, cb_ran, &a, tracked_destroy), CROCHET_ESTATE);
    ASSERT_NULL(h);
    expect_destroyed_here(&a);
    ASSERT_OK(crochet_setup());
    ASSERT_STATUS(crochet_call_later(&h, -1.0, cb_ran, &b, tracked_destroy), CROCHET_EINVAL);
    expect_destroyed_here(&b);
    ASSERT_STATUS(crochet_call_later(&h, 1.0, NULL, &c, tracked_destroy), CROCHET_EINVAL);
    expect_destroyed_here(&c);
    ASSERT_OK(crochet_stop());
    h = (crochet_delayed_call *)1;
    ASSERT_STATUS(crochet_call_later(&h, 1.0, cb_ran, &d, tracked_destroy), CROCHET_ESTOPPED);
    ASSERT_NULL(h);
    expect_destroyed_here(&d);
}

/* A shutdown trigger runs at stop and then has its ctx destroyed once, on the reactor thread. */
TEST(shutdown_trigger_ran) {
    ASSERT_OK(crochet_setup());
    tracked t = TRACKED_INIT;
    ASSERT_OK(crochet_add_shutdown_trigger(cb_ran, &t, tracked_destroy));
    ASSERT_EQ(atomic_load(&t.destroyed), 0);
    ASSERT_OK(crochet_stop());
    expect_destroyed_once(&t, 1);
    ASSERT_EQ(atomic_load(&t.ran), 1);
}

/* add_shutdown_trigger that fails (NULL fn, before setup, after stop) destroys the ctx before it returns. */
TEST(shutdown_trigger_fails) {
    tracked a = TRACKED_INIT, b = TRACKED_INIT, c = TRACKED_INIT;
    ASSERT_STATUS(crochet_add_shutdown_trigger(cb_ran, &a, tracked_destroy), CROCHET_ESTATE);
    expect_destroyed_here(&a);
    ASSERT_OK(crochet_setup());
    ASSERT_STATUS(crochet_add_shutdown_trigger(NULL, &b, tracked_destroy), CROCHET_EINVAL);
    expect_destroyed_here(&b);
    ASSERT_OK(crochet_stop());
    ASSERT_STATUS(crochet_add_shutdown_trigger(cb_ran, &c, tracked_destroy), CROCHET_ESTOPPED);
    expect_destroyed_here(&c);
}

/* ------------------------------------------------------------------------ */
/* Readers and writers                                                       */

static int fds[2];
static tracked first = TRACKED_INIT, second = TRACKED_INIT;
static void reader_cb(int fd, void *ctx) {
    (void)fd;
    track_ran(ctx);
}
static void add_first_reader(void *p) {
    (void)p;
    ASSERT_OK(crochet_add_reader(fds[0], reader_cb, &first, tracked_destroy));
}
static void replace_reader(void *p) {
    (void)p;
    ASSERT_OK(crochet_add_reader(fds[0], reader_cb, &second, tracked_destroy));
}
static void remove_reader(void *p) {
    (void)p;
    ASSERT_OK(crochet_remove_reader(fds[0]));
}

/* A reader's ctx is destroyed once on the reactor thread when it is replaced, and the replacement's when it is removed. */
TEST(reader_replaced_and_removed) {
    ASSERT_OK(crochet_setup());
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    run_on_reactor(add_first_reader, NULL);
    run_on_reactor(replace_reader, NULL);
    expect_destroyed_once(&first, 1);
    ASSERT_EQ(atomic_load(&second.destroyed), 0);
    run_on_reactor(remove_reader, NULL);
    expect_destroyed_once(&second, 1);
    ASSERT_EQ(write(fds[1], "x", 1), 1);
    usleep(20000);
    ASSERT_EQ(atomic_load(&first.ran) + atomic_load(&second.ran), 0);
}

static atomic_int in_callback, destroyed_inside_callback;
static void self_removing_reader(int fd, void *ctx) {
    track_ran(ctx);
    atomic_store(&in_callback, 1);
    ASSERT_OK(crochet_remove_reader(fd));
    ASSERT_OK(crochet_add_reader(fd, reader_cb, &second, tracked_destroy));   /* and re-add another */
    ASSERT_OK(crochet_remove_reader(fd));
    if (atomic_load(&first.destroyed)) atomic_store(&destroyed_inside_callback, 1);
    atomic_store(&in_callback, 0);
}
static void add_self_removing(void *p) {
    (void)p;
    ASSERT_OK(crochet_add_reader(fds[0], self_removing_reader, &first, tracked_destroy));
}

/* A reader removing itself inside its callback has its ctx destroyed only after that callback returned. */
TEST(reader_removed_inside_its_callback) {
    ASSERT_OK(crochet_setup());
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    run_on_reactor(add_self_removing, NULL);
    ASSERT_EQ(write(fds[1], "x", 1), 1);
    expect_destroyed_once(&first, 1);
    expect_destroyed_once(&second, 1);
    ASSERT_EQ(atomic_load(&destroyed_inside_callback), 0);
    ASSERT_EQ(atomic_load(&first.ran), 1);
}

static void add_writer_first(void *p) {
    (void)p;
    ASSERT_OK(crochet_add_writer(fds[1], reader_cb, &first, tracked_destroy));
    ASSERT_OK(crochet_add_reader(fds[0], reader_cb, &second, tracked_destroy));
}

/* Watchers still registered when the reactor stops have their ctx destroyed once on the reactor thread. */
TEST(watchers_destroyed_at_stop) {
    ASSERT_OK(crochet_setup());
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    run_on_reactor(add_writer_first, NULL);
    ASSERT_OK(crochet_stop());
    expect_destroyed_once(&first, 1);
    expect_destroyed_once(&second, 1);
}

static void add_bad_reader(void *p) {
    tracked *t = p;
    ASSERT_STATUS(crochet_add_reader(-1, reader_cb, t, tracked_destroy), CROCHET_EINVAL);
    ASSERT_EQ(atomic_load(&t[0].destroyed), 1);
    ASSERT_STATUS(crochet_add_writer(1000, reader_cb, &t[1], tracked_destroy), CROCHET_EINVAL);   /* not open */
    ASSERT_EQ(atomic_load(&t[1].destroyed), 1);
    ASSERT_STATUS(crochet_add_reader(fds[0], NULL, &t[2], tracked_destroy), CROCHET_EINVAL);
    ASSERT_EQ(atomic_load(&t[2].destroyed), 1);
}

/* add_reader/add_writer that fail (bad fd, NULL fn, off the reactor thread) destroy the ctx before returning. */
TEST(watcher_add_fails) {
    ASSERT_OK(crochet_setup());
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    tracked t[3] = { TRACKED_INIT, TRACKED_INIT, TRACKED_INIT };
    run_on_reactor(add_bad_reader, t);
    tracked off = TRACKED_INIT;
    ASSERT_STATUS(crochet_add_reader(fds[0], reader_cb, &off, tracked_destroy), CROCHET_ENOTREACTOR);
    expect_destroyed_here(&off);
}

/* ------------------------------------------------------------------------ */
/* Deferreds                                                                 */

static void canceller(crochet_deferred *d, void *ctx) {
    (void)d;
    track_ran(ctx);
}
static void on_value(crochet_value v, void *ctx) { (void)v; track_ran(ctx); }
static void on_failure(const crochet_failure *f, void *ctx) { (void)f; track_ran(ctx); }

struct deferred_case { tracked *canceller_t, *pair_t; int how; };   /* 0 fire, 1 cancel, 2 free unfired */
static void run_deferred_case(void *p) {
    struct deferred_case *c = p;
    crochet_deferred *d;
    ASSERT_OK(crochet_deferred_new(&d, canceller, c->canceller_t, tracked_destroy));
    ASSERT_OK(crochet_deferred_add_callbacks(d, on_value, on_failure, c->pair_t, tracked_destroy));
    ASSERT_EQ(atomic_load(&c->canceller_t->destroyed) + atomic_load(&c->pair_t->destroyed), 0);
    if (c->how == 0) ASSERT_OK(crochet_deferred_callback(d, crochet_int32(1)));
    if (c->how == 1) ASSERT_OK(crochet_deferred_cancel(d));
    crochet_deferred_release(d);
}

/* A deferred that fires destroys its canceller's ctx (canceller never run) and, after the pair ran, the pair's ctx. */
TEST(deferred_fired) {
    ASSERT_OK(crochet_setup());
    tracked c = TRACKED_INIT, p = TRACKED_INIT;
    struct deferred_case dc = { &c, &p, 0 };
    run_on_reactor(run_deferred_case, &dc);
    expect_destroyed_once(&c, 1);
    expect_destroyed_once(&p, 1);
    ASSERT_EQ(atomic_load(&c.ran), 0);
    ASSERT_EQ(atomic_load(&p.ran), 1);
}

/* A cancelled deferred runs its canceller, then destroys its ctx; the pair runs (with the failure) and its ctx is destroyed. */
TEST(deferred_cancelled) {
    ASSERT_OK(crochet_setup());
    tracked c = TRACKED_INIT, p = TRACKED_INIT;
    struct deferred_case dc = { &c, &p, 1 };
    run_on_reactor(run_deferred_case, &dc);
    expect_destroyed_once(&c, 1);
    expect_destroyed_once(&p, 1);
    ASSERT_EQ(atomic_load(&c.ran), 1);
    ASSERT_EQ(atomic_load(&p.ran), 1);
}

/* A deferred freed unfired destroys both ctxs without running either callback. */
TEST(deferred_freed_unfired) {
    ASSERT_OK(crochet_setup());
    tracked c = TRACKED_INIT, p = TRACKED_INIT;
    struct deferred_case dc = { &c, &p, 2 };
    run_on_reactor(run_deferred_case, &dc);
    expect_destroyed_once(&c, -1);
    expect_destroyed_once(&p, -1);
    ASSERT_EQ(atomic_load(&c.ran) + atomic_load(&p.ran), 0);
}

/* deferred_new and add_callbacks that fail (off the reactor thread, NULL out or d) destroy the ctx before returning. */
TEST(deferred_registration_fails) {
    ASSERT_OK(crochet_setup());
    tracked a = TRACKED_INIT, b = TRACKED_INIT, c = TRACKED_INIT;
    crochet_deferred *d;
    ASSERT_STATUS(crochet_deferred_new(&d, canceller, &a, tracked_destroy), CROCHET_ENOTREACTOR);
    expect_destroyed_here(&a);
    ASSERT_STATUS(crochet_deferred_new(NULL, canceller, &b, tracked_destroy), CROCHET_EINVAL);
    expect_destroyed_here(&b);
    ASSERT_STATUS(crochet_deferred_add_callbacks(NULL, on_value, on_failure, &c, tracked_destroy), CROCHET_EINVAL);
    expect_destroyed_here(&c);
}

/* ------------------------------------------------------------------------ */
/* wait_for hands owned values over                                          */

static atomic_int owned_destroyed;
static void count_free(void *p) {
    atomic_fetch_add(&owned_destroyed, 1);
    free(p);
}
static void fire_owned_later(void *p) {
    crochet_deferred *d = p;
    ASSERT_OK(crochet_deferred_callback_owned(d, strdup("the reply"), count_free));
    crochet_deferred_release(d);
}
/* What a blocking client's helper submits: a deferred that fires with an owned string. */
static crochet_deferred *get_reply(void) {
    crochet_deferred *d;
    ASSERT_OK(crochet_deferred_new(&d, NULL, NULL, NULL));
    ASSERT_OK(crochet_call_later(NULL, 0.001, fire_owned_later, crochet_deferred_retain(d), NULL));
    return d;
}

/* crochet_wait_for over a deferred fired with an owned string gives the caller the string; the library never frees it. */
TEST(wait_for_hands_over_owned_string) {
    ASSERT_OK(crochet_setup());
    for (int i = 0; i < 100; i++) {
        crochet_value v;
        ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)get_reply, CROCHET_TYPE_DEFERRED, NULL, 0));
        ASSERT_EQ(v.type, CROCHET_TYPE_POINTER);
        ASSERT_STREQ((const char *)v.u.ptr, "the reply");
        free(v.u.ptr);   /* ours now */
    }
    ASSERT_OK(crochet_stop());
    usleep(20000);
    ASSERT_EQ(atomic_load(&owned_destroyed), 0);
}

/* crochet_wait_for with a NULL value_out leaves an owned value to the library, which destroys it once. */
TEST(wait_for_without_value_out_destroys_owned_value) {
    ASSERT_OK(crochet_setup());
    ASSERT_OK(crochet_wait_for(NULL, NULL, 10.0, (crochet_fn)get_reply, CROCHET_TYPE_DEFERRED, NULL, 0));
    double deadline = harness_now() + 10.0;
    while (atomic_load(&owned_destroyed) == 0 && harness_now() < deadline) usleep(1000);
    ASSERT_EQ(atomic_load(&owned_destroyed), 1);
}

/* crochet_wait / a kept result still own the value: it is destroyed once when the last holder lets go. */
TEST(submit_and_wait_keeps_ownership) {
    ASSERT_OK(crochet_setup());
    crochet_result *r;
    ASSERT_OK(CROCHET_SUBMIT(&r, get_reply, CROCHET_TYPE_DEFERRED));
    crochet_value v;
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    ASSERT_STREQ((const char *)v.u.ptr, "the reply");
    ASSERT_EQ(atomic_load(&owned_destroyed), 0);
    crochet_result_release(r);
    double deadline = harness_now() + 10.0;
    while (atomic_load(&owned_destroyed) == 0 && harness_now() < deadline) usleep(1000);
    ASSERT_EQ(atomic_load(&owned_destroyed), 1);
}

/* ------------------------------------------------------------------------ */
/* crochet_raise leaves a returned deferred alone                            */

static crochet_deferred *raised_with;
static crochet_deferred *raise_and_return_kept_deferred(void) {
    ASSERT_OK(crochet_deferred_new(&raised_with, NULL, NULL, NULL));   /* the function keeps this reference */
    crochet_raise(5, "raised, but returns its own deferred");
    return raised_with;
}
static void use_kept_deferred(void *p) {
    (void)p;
    ASSERT_OK(crochet_deferred_callback(raised_with, crochet_int32(3)));   /* still valid: the engine left it alone */
    crochet_deferred_release(raised_with);
}

/* A CROCHET_TYPE_DEFERRED function that raises keeps its returned deferred: the engine neither follows nor releases it. */
TEST(raise_leaves_returned_deferred_untouched) {
    ASSERT_OK(crochet_setup());
    crochet_result *r;
    ASSERT_OK(CROCHET_SUBMIT(&r, raise_and_return_kept_deferred, CROCHET_TYPE_DEFERRED));
    ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_EFAILED);
    ASSERT_EQ(crochet_failure_code(crochet_original_failure(r)), 5);
    run_on_reactor(use_kept_deferred, NULL);
    crochet_result_release(r);
}

/* ------------------------------------------------------------------------ */
/* Names and versions                                                        */

/* crochet_status_name names every status of the table and says CROCHET_EUNKNOWN otherwise; the version number matches the macros. */
TEST(status_names_and_version_number) {
    ASSERT_STREQ(crochet_status_name(CROCHET_OK), "CROCHET_OK");
    ASSERT_STREQ(crochet_status_name(CROCHET_ETIMEDOUT), "CROCHET_ETIMEDOUT");
    ASSERT_STREQ(crochet_status_name(CROCHET_ENOTREACTOR), "CROCHET_ENOTREACTOR");
    ASSERT_STREQ(crochet_status_name(CROCHET_EAGAIN), "CROCHET_EAGAIN");
    ASSERT_STREQ(crochet_status_name(-13), "CROCHET_EUNKNOWN");
    ASSERT_STREQ(crochet_status_name(1), "CROCHET_EUNKNOWN");
    ASSERT_EQ(crochet_version_number(), CROCHET_VERSION_NUMBER);
    ASSERT_EQ(CROCHET_VERSION_NUMBER, CROCHET_VERSION_MAJOR * 10000 + CROCHET_VERSION_MINOR * 100 + CROCHET_VERSION_PATCH);
}
