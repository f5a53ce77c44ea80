/* Deferreds: firing, callbacks, cancellation, owned values, and results that
 * follow a deferred. Deferred functions are reactor-thread only, so most
 * tests run their body on the reactor with run_on_reactor. */
#include "harness.h"

/* ---- helpers ------------------------------------------------------------ */

/* A log of callback invocations, written on the reactor thread. */
struct calls {
    int n;
    int tag[16];          /* ctx tag of each call, in order */
    int kind[16];         /* 1 value, 2 failure */
    crochet_value value[16];
    int code[16];
    char message[16][64];
    pthread_t thread[16];
    int on_reactor[16];
};

struct tagged { struct calls *log; int tag; };

static void record_value(crochet_value v, void *ctx) {
    struct tagged *t = ctx;
    struct calls *c = t->log;
    ASSERT(c->n < 16);
    c->tag[c->n] = t->tag;
    c->kind[c->n] = 1;
    c->value[c->n] = v;
    c->thread[c->n] = pthread_self();
    c->on_reactor[c->n] = crochet_in_reactor_thread();
    c->n++;
}

static void record_failure(const crochet_failure *f, void *ctx) {
    struct tagged *t = ctx;
    struct calls *c = t->log;
    ASSERT(c->n < 16);
    c->tag[c->n] = t->tag;
    c->kind[c->n] = 2;
    c->code[c->n] = crochet_failure_code(f);
    snprintf(c->message[c->n], sizeof c->message[c->n], "%s", crochet_failure_message(f));
    c->thread[c->n] = pthread_self();
    c->on_reactor[c->n] = crochet_in_reactor_thread();
    c->n++;
}

/* A canceller that records where and with what it ran, and optionally fires. */
struct canceller_log {
    int runs;
    crochet_deferred *d;
    void *ctx;
    int on_reactor;
    pthread_t thread;
    int fire;             /* 0 none, 1 callback int32 42, 2 errback 4242 */
    int fire_status;
};

static void recording_canceller(crochet_deferred *d, void *ctx) {
    struct canceller_log *l = ctx;
    l->runs++;
    l->d = d;
    l->ctx = ctx;
    l->on_reactor = crochet_in_reactor_thread();
    l->thread = pthread_self();
    if (l->fire == 1) l->fire_status = crochet_deferred_callback(d, crochet_int32(42));
    if (l->fire == 2) l->fire_status = crochet_deferred_errback(d, 4242, "canceller says no");
}

/* Counts destroy() calls of an owned value and where the last one ran. */
static atomic_int destroy_count;
static void *destroyed_ptr;
static pthread_t destroy_thread;
static latch destroyed = LATCH_INIT;

static void counting_destroy(void *p) {
    destroyed_ptr = p;
    destroy_thread = pthread_self();
    atomic_fetch_add(&destroy_count, 1);
    latch_open(&destroyed);
}

static pthread_t reactor_thread;
static void capture_reactor_thread(void *ctx) {
    (void)ctx;
    reactor_thread = pthread_self();
}

/* ---- reactor-thread-only rules ------------------------------------------ */

static void make_deferred(void *ctx) {
    ASSERT_OK(crochet_deferred_new((crochet_deferred **)ctx, NULL, NULL, NULL));
}

/* Every deferred function except retain/release returns CROCHET_ENOTREACTOR off the reactor thread. */
TEST(deferred_functions_off_reactor_are_enotreactor) {
    ASSERT_OK(crochet_setup());
    crochet_deferred *d = NULL;
    ASSERT_STATUS(crochet_deferred_new(&d, NULL, NULL, NULL), CROCHET_ENOTREACTOR);

    run_on_reactor(make_deferred, &d);
    ASSERT_NOT_NULL(d);
    ASSERT_STATUS(crochet_deferred_callback(d, crochet_int32(1)), CROCHET_ENOTREACTOR);
    ASSERT_STATUS(crochet_deferred_callback_owned(d, &d, counting_destroy), CROCHET_ENOTREACTOR);
    ASSERT_STATUS(crochet_deferred_errback(d, 5, "x"), CROCHET_ENOTREACTOR);
    ASSERT_STATUS(crochet_deferred_cancel(d), CROCHET_ENOTREACTOR);
    ASSERT_STATUS(crochet_deferred_add_callbacks(d, NULL, NULL, NULL, NULL), CROCHET_ENOTREACTOR);
    crochet_result *r = NULL;
    ASSERT_STATUS(crochet_result_new(&r, d), CROCHET_ENOTREACTOR);
    ASSERT_EQ(atomic_load(&destroy_count), 0);
    crochet_deferred_release(d);
    ASSERT_EQ(atomic_load(&destroy_count), 0);
}

static void bad_arguments_body(void *ctx) {
    (void)ctx;
    ASSERT_STATUS(crochet_deferred_new(NULL, NULL, NULL, NULL), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_deferred_callback(NULL, crochet_int32(1)), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_deferred_callback_owned(NULL, &destroy_count, counting_destroy), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_deferred_errback(NULL, 1, "x"), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_deferred_cancel(NULL), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_deferred_add_callbacks(NULL, NULL, NULL, NULL, NULL), CROCHET_EINVAL);
    crochet_result *r = (crochet_result *)0x1;
    ASSERT_STATUS(crochet_result_new(&r, NULL), CROCHET_EINVAL);
    crochet_deferred *d;
    ASSERT_OK(crochet_deferred_new(&d, NULL, NULL, NULL));
    ASSERT_STATUS(crochet_result_new(NULL, d), CROCHET_EINVAL);
    crochet_value bad = crochet_int32(1);
    bad.type = CROCHET_TYPE_DEFERRED;
    ASSERT_STATUS(crochet_deferred_callback(d, bad), CROCHET_EINVAL);
    bad.type = (crochet_type)99;
    ASSERT_STATUS(crochet_deferred_callback(d, bad), CROCHET_EINVAL);
    /* The bad fires did not fire it. */
    ASSERT_OK(crochet_deferred_callback(d, crochet_int32(3)));
    crochet_deferred_release(d);
    ASSERT_EQ(atomic_load(&destroy_count), 0);
}

/* NULL handles, NULL out-pointers and a value of type DEFERRED or an unknown type are CROCHET_EINVAL, and a rejected fire leaves the deferred unfired. */
TEST(deferred_bad_arguments_are_einval) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(bad_arguments_body, NULL);
    ASSERT_NULL(crochet_deferred_retain(NULL));
    crochet_deferred_release(NULL);
}

/* ---- firing and callbacks ----------------------------------------------- */

static void callbacks_before_fire_body(void *ctx) {
    struct calls *log = ctx;
    static struct tagged t1, t2, t3;
    t1 = (struct tagged){ log, 1 };
    t2 = (struct tagged){ log, 2 };
    t3 = (struct tagged){ log, 3 };
    crochet_deferred *d;
    ASSERT_OK(crochet_deferred_new(&d, NULL, NULL, NULL));
    ASSERT_OK(crochet_deferred_add_callbacks(d, record_value, record_failure, &t1, NULL));
    ASSERT_OK(crochet_deferred_add_callbacks(d, record_value, NULL, &t2, NULL));
    ASSERT_OK(crochet_deferred_add_callbacks(d, record_value, record_failure, &t3, NULL));
    ASSERT_EQ(log->n, 0);
    ASSERT_OK(crochet_deferred_callback(d, crochet_int64(-123456789012LL)));
    ASSERT_EQ(log->n, 3);
    crochet_deferred_release(d);
}

/* Callbacks added before the deferred fires run when it fires, in the order they were added, each with the value. */
TEST(callbacks_added_before_firing_run_in_order) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(capture_reactor_thread, NULL);
    struct calls log = { 0 };
    run_on_reactor(callbacks_before_fire_body, &log);
    ASSERT_EQ(log.n, 3);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(log.tag[i], i + 1);
        ASSERT_EQ(log.kind[i], 1);
        ASSERT_EQ(log.value[i].type, CROCHET_TYPE_INT64);
        ASSERT_EQ(log.value[i].u.i64, -123456789012LL);
        ASSERT_EQ(log.on_reactor[i], 1);
        ASSERT(pthread_equal(log.thread[i], reactor_thread));
    }
}

static void callbacks_after_fire_body(void *ctx) {
    struct calls *log = ctx;
    static struct tagged t1, t2;
    t1 = (struct tagged){ log, 1 };
    t2 = (struct tagged){ log, 2 };
    crochet_deferred *d;
    ASSERT_OK(crochet_deferred_new(&d, NULL, NULL, NULL));
    ASSERT_OK(crochet_deferred_callback(d, crochet_double(2.5)));
    ASSERT_EQ(log->n, 0);
    ASSERT_OK(crochet_deferred_add_callbacks(d, record_value, record_failure, &t1, NULL));
    ASSERT_EQ(log->n, 1);
    ASSERT_OK(crochet_deferred_add_callbacks(d, record_value, record_failure, &t2, NULL));
    ASSERT_EQ(log->n, 2);
    crochet_deferred_release(d);
}

/* Callbacks added after the deferred fired run at once, before add_callbacks returns. */
TEST(callbacks_added_after_firing_run_at_once) {
    ASSERT_OK(crochet_setup());
    struct calls log = { 0 };
    run_on_reactor(callbacks_after_fire_body, &log);
    ASSERT_EQ(log.n, 2);
    ASSERT_EQ(log.tag[0], 1);
    ASSERT_EQ(log.tag[1], 2);
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(log.kind[i], 1);
        ASSERT_EQ(log.value[i].type, CROCHET_TYPE_DOUBLE);
        ASSERT_DBL_EQ(log.value[i].u.f64, 2.5);
    }
}

static void errback_body(void *ctx) {
    struct calls *log = ctx;
    static struct tagged t1, t2, t3;
    t1 = (struct tagged){ log, 1 };
    t2 = (struct tagged){ log, 2 };
    t3 = (struct tagged){ log, 3 };
    crochet_deferred *d;
    ASSERT_OK(crochet_deferred_new(&d, NULL, NULL, NULL));
    ASSERT_OK(crochet_deferred_add_callbacks(d, record_value, record_failure, &t1, NULL));
    ASSERT_OK(crochet_deferred_add_callbacks(d, record_value, NULL, &t2, NULL));  /* no failure handler: skipped */
    char message[] = "disk on fire";
    ASSERT_OK(crochet_deferred_errback(d, 1234, message));
    memset(message, 'X', sizeof message - 1);   /* the message was copied */
    ASSERT_OK(crochet_deferred_add_callbacks(d, NULL, record_failure, &t3, NULL));
    crochet_deferred_release(d);

    /* A NULL message means "". */
    static struct tagged t4;
    t4 = (struct tagged){ log, 4 };
    ASSERT_OK(crochet_deferred_new(&d, NULL, NULL, NULL));
    ASSERT_OK(crochet_deferred_errback(d, 7, NULL));
    ASSERT_OK(crochet_deferred_add_callbacks(d, record_value, record_failure, &t4, NULL));
    crochet_deferred_release(d);
}

/* on_failure receives the errback's code and a copy of its message; on_value does not run for a failure, and a NULL message reads as "". */
TEST(errback_passes_code_and_message_to_on_failure) {
    ASSERT_OK(crochet_setup());
    struct calls log = { 0 };
    run_on_reactor(errback_body, &log);
    ASSERT_EQ(log.n, 3);
    ASSERT_EQ(log.tag[0], 1);
    ASSERT_EQ(log.kind[0], 2);
    ASSERT_EQ(log.code[0], 1234);
    ASSERT_STREQ(log.message[0], "disk on fire");
    ASSERT_EQ(log.tag[1], 3);
    ASSERT_EQ(log.kind[1], 2);
    ASSERT_EQ(log.code[1], 1234);
    ASSERT_STREQ(log.message[1], "disk on fire");
    ASSERT_EQ(log.tag[2], 4);
    ASSERT_EQ(log.kind[2], 2);
    ASSERT_EQ(log.code[2], 7);
    ASSERT_STREQ(log.message[2], "");
}

static void fire_twice_body(void *ctx) {
    struct calls *log = ctx;
    static struct tagged t1, t2;
    t1 = (struct tagged){ log, 1 };
    t2 = (struct tagged){ log, 2 };
    crochet_deferred *d;
    ASSERT_OK(crochet_deferred_new(&d, NULL, NULL, NULL));
    ASSERT_OK(crochet_deferred_add_callbacks(d, record_value, record_failure, &t1, NULL));
    ASSERT_OK(crochet_deferred_callback(d, crochet_int32(1)));
    ASSERT_STATUS(crochet_deferred_callback(d, crochet_int32(2)), CROCHET_EALREADY);
    ASSERT_STATUS(crochet_deferred_errback(d, 3, "late"), CROCHET_EALREADY);
    static int owned;
    ASSERT_STATUS(crochet_deferred_callback_owned(d, &owned, counting_destroy), CROCHET_EALREADY);
    ASSERT_OK(crochet_deferred_add_callbacks(d, record_value, record_failure, &t2, NULL));
    crochet_deferred_release(d);

    ASSERT_OK(crochet_deferred_new(&d, NULL, NULL, NULL));
    ASSERT_OK(crochet_deferred_errback(d, 9, "first"));
    ASSERT_STATUS(crochet_deferred_errback(d, 10, "second"), CROCHET_EALREADY);
    ASSERT_STATUS(crochet_deferred_callback(d, crochet_int32(2)), CROCHET_EALREADY);
    ASSERT_OK(crochet_deferred_add_callbacks(d, record_value, record_failure, &t2, NULL));
    crochet_deferred_release(d);
}

/* Firing a deferred a second time (with a value, a failure or an owned pointer) is CROCHET_EALREADY and keeps the first outcome. */
TEST(firing_twice_is_ealready) {
    ASSERT_OK(crochet_setup());
    struct calls log = { 0 };
    run_on_reactor(fire_twice_body, &log);
    ASSERT_EQ(log.n, 3);
    ASSERT_EQ(log.kind[0], 1);
    ASSERT_EQ(log.value[0].u.i32, 1);
    ASSERT_EQ(log.kind[1], 1);
    ASSERT_EQ(log.value[1].u.i32, 1);
    ASSERT_EQ(log.kind[2], 2);
    ASSERT_EQ(log.code[2], 9);
    ASSERT_STREQ(log.message[2], "first");
    ASSERT_EQ(atomic_load(&destroy_count), 0);
}

struct cancel_then_fire { struct calls log; int owned; };

static void fire_cancelled_body(void *ctx) {
    struct cancel_then_fire *c = ctx;
    static struct tagged t1;
    t1 = (struct tagged){ &c->log, 1 };
    crochet_deferred *d;
    ASSERT_OK(crochet_deferred_new(&d, NULL, NULL, NULL));
    ASSERT_OK(crochet_deferred_add_callbacks(d, record_value, record_failure, &t1, NULL));
    ASSERT_OK(crochet_deferred_cancel(d));
    ASSERT_EQ(c->log.n, 1);
    ASSERT_OK(crochet_deferred_callback(d, crochet_int32(5)));
    ASSERT_OK(crochet_deferred_errback(d, 6, "ignored"));
    ASSERT_OK(crochet_deferred_callback_owned(d, &c->owned, counting_destroy));
    ASSERT_EQ(c->log.n, 1);
    crochet_deferred_release(d);
}

/* Firing a deferred that was cancelled is silently accepted (CROCHET_OK) and changes nothing; an owned pointer accepted that way is destroyed exactly once. */
TEST(firing_a_cancelled_deferred_is_accepted) {
    ASSERT_OK(crochet_setup());
    struct cancel_then_fire c = { { 0 }, 0 };
    run_on_reactor(fire_cancelled_body, &c);
    ASSERT_EQ(c.log.n, 1);
    ASSERT_EQ(c.log.kind[0], 2);
    ASSERT_EQ(c.log.code[0], CROCHET_ECANCELLED);
    /* CROCHET_OK means the library took ptr; it drops the value, so destroy runs once. */
    ASSERT(latch_wait(&destroyed, 5.0));
    ASSERT_PTR_EQ(destroyed_ptr, &c.owned);
    run_on_reactor(capture_reactor_thread, NULL);  /* let anything late happen */
    ASSERT_EQ(atomic_load(&destroy_count), 1);
}

/* ---- cancellation ------------------------------------------------------- */

struct cancel_case { struct canceller_log cl; struct calls log; crochet_deferred *d; };

static void cancel_case_body(void *ctx) {
    struct cancel_case *c = ctx;
    static struct tagged t1;
    t1 = (struct tagged){ &c->log, 1 };
    ASSERT_OK(crochet_deferred_new(&c->d, recording_canceller, &c->cl, NULL));
    ASSERT_OK(crochet_deferred_add_callbacks(c->d, record_value, record_failure, &t1, NULL));
    ASSERT_EQ(c->cl.runs, 0);
    ASSERT_OK(crochet_deferred_cancel(c->d));
    ASSERT_STATUS(crochet_deferred_cancel(c->d), CROCHET_EALREADY);
    crochet_deferred_release(c->d);
}

/* Cancelling an unfired deferred runs its canceller once, on the reactor thread, with the deferred and the ctx given to deferred_new; a canceller that does not fire it leaves a CROCHET_ECANCELLED failure, and a second cancel is CROCHET_EALREADY. */
TEST(cancel_runs_canceller_on_reactor_with_ctx) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(capture_reactor_thread, NULL);
    struct cancel_case c = { { 0 }, { 0 }, NULL };
    run_on_reactor(cancel_case_body, &c);
    ASSERT_EQ(c.cl.runs, 1);
    ASSERT_PTR_EQ(c.cl.d, c.d);
    ASSERT_PTR_EQ(c.cl.ctx, &c.cl);
    ASSERT_EQ(c.cl.on_reactor, 1);
    ASSERT(pthread_equal(c.cl.thread, reactor_thread));
    ASSERT_EQ(c.log.n, 1);
    ASSERT_EQ(c.log.kind[0], 2);
    ASSERT_EQ(c.log.code[0], CROCHET_ECANCELLED);
}

/* A canceller that fires the deferred with a value decides the outcome: the callbacks see that value, not a cancellation. */
TEST(canceller_that_fires_a_value_wins) {
    ASSERT_OK(crochet_setup());
    struct cancel_case c = { { 0 }, { 0 }, NULL };
    c.cl.fire = 1;
    run_on_reactor(cancel_case_body, &c);
    ASSERT_EQ(c.cl.runs, 1);
    ASSERT_OK(c.cl.fire_status);
    ASSERT_EQ(c.log.n, 1);
    ASSERT_EQ(c.log.kind[0], 1);
    ASSERT_EQ(c.log.value[0].type, CROCHET_TYPE_INT32);
    ASSERT_EQ(c.log.value[0].u.i32, 42);
}

/* A canceller that errbacks decides the failure: the callbacks see its code and message, not CROCHET_ECANCELLED. */
TEST(canceller_that_errbacks_sets_the_failure) {
    ASSERT_OK(crochet_setup());
    struct cancel_case c = { { 0 }, { 0 }, NULL };
    c.cl.fire = 2;
    run_on_reactor(cancel_case_body, &c);
    ASSERT_EQ(c.cl.runs, 1);
    ASSERT_OK(c.cl.fire_status);
    ASSERT_EQ(c.log.n, 1);
    ASSERT_EQ(c.log.kind[0], 2);
    ASSERT_EQ(c.log.code[0], 4242);
    ASSERT_STREQ(c.log.message[0], "canceller says no");
}

static void cancel_after_fire_body(void *ctx) {
    struct cancel_case *c = ctx;
    static struct tagged t1;
    t1 = (struct tagged){ &c->log, 1 };
    ASSERT_OK(crochet_deferred_new(&c->d, recording_canceller, &c->cl, NULL));
    ASSERT_OK(crochet_deferred_callback(c->d, crochet_uint8(200)));
    ASSERT_STATUS(crochet_deferred_cancel(c->d), CROCHET_EALREADY);
    ASSERT_OK(crochet_deferred_add_callbacks(c->d, record_value, record_failure, &t1, NULL));
    crochet_deferred_release(c->d);

    ASSERT_OK(crochet_deferred_new(&c->d, recording_canceller, &c->cl, NULL));
    ASSERT_OK(crochet_deferred_errback(c->d, 8, "failed first"));
    ASSERT_STATUS(crochet_deferred_cancel(c->d), CROCHET_EALREADY);
    ASSERT_OK(crochet_deferred_add_callbacks(c->d, record_value, record_failure, &t1, NULL));
    crochet_deferred_release(c->d);
}

/* Cancelling a deferred that already fired (either way) is CROCHET_EALREADY, does not run the canceller and keeps the outcome. */
TEST(cancel_after_fire_is_ealready) {
    ASSERT_OK(crochet_setup());
    struct cancel_case c = { { 0 }, { 0 }, NULL };
    run_on_reactor(cancel_after_fire_body, &c);
    ASSERT_EQ(c.cl.runs, 0);
    ASSERT_EQ(c.log.n, 2);
    ASSERT_EQ(c.log.kind[0], 1);
    ASSERT_EQ(c.log.value[0].type, CROCHET_TYPE_UINT8);
    ASSERT_EQ(c.log.value[0].u.u8, 200);
    ASSERT_EQ(c.log.kind[1], 2);
    ASSERT_EQ(c.log.code[1], 8);
}

/* ---- results that follow deferreds -------------------------------------- */

struct follow { crochet_deferred *d; crochet_result *r; int code; };

static void follow_new(void *ctx) {
    struct follow *f = ctx;
    ASSERT_OK(crochet_deferred_new(&f->d, NULL, NULL, NULL));
    ASSERT_OK(crochet_result_new(&f->r, f->d));
    crochet_deferred_release(f->d);   /* the result keeps its own reference */
}

static void follow_fire_double(void *ctx) {
    struct follow *f = ctx;
    ASSERT_OK(crochet_deferred_callback(f->d, crochet_double(-0.125)));
}

static void follow_new_keep(void *ctx) {
    struct follow *f = ctx;
    ASSERT_OK(crochet_deferred_new(&f->d, NULL, NULL, NULL));
    ASSERT_OK(crochet_result_new(&f->r, f->d));
}

static void follow_fire_error(void *ctx) {
    struct follow *f = ctx;
    ASSERT_OK(crochet_deferred_errback(f->d, f->code, "follow failed"));
    crochet_deferred_release(f->d);
}

/* crochet_result_new makes a result that stays pending until the deferred fires and then waits to the fired value and type; the result keeps the deferred alive. */
TEST(result_new_follows_a_deferred_value) {
    ASSERT_OK(crochet_setup());
    struct follow f = { 0 };
    run_on_reactor(follow_new, &f);
    ASSERT_NOT_NULL(f.r);
    ASSERT_STATUS(crochet_wait(f.r, 0, NULL), CROCHET_ETIMEDOUT);
    ASSERT_STATUS(crochet_wait(f.r, 0.05, NULL), CROCHET_ETIMEDOUT);
    ASSERT_NULL(crochet_original_failure(f.r));
    run_on_reactor(follow_fire_double, &f);
    crochet_value v = { 0 };
    ASSERT_OK(crochet_wait(f.r, 5.0, &v));
    ASSERT_EQ(v.type, CROCHET_TYPE_DOUBLE);
    ASSERT_DBL_EQ(v.u.f64, -0.125);
    ASSERT_NULL(crochet_original_failure(f.r));
    crochet_result_release(f.r);
}

/* A result following a deferred that errbacks waits to CROCHET_EFAILED with the errback's code and message as its original failure. */
TEST(result_new_follows_a_deferred_failure) {
    ASSERT_OK(crochet_setup());
    struct follow f = { 0 };
    f.code = 31337;
    run_on_reactor(follow_new_keep, &f);
    run_on_reactor(follow_fire_error, &f);
    ASSERT_STATUS(crochet_wait(f.r, 5.0, NULL), CROCHET_EFAILED);
    const crochet_failure *fail = crochet_original_failure(f.r);
    ASSERT_NOT_NULL(fail);
    ASSERT_EQ(crochet_failure_code(fail), 31337);
    ASSERT_STREQ(crochet_failure_message(fail), "follow failed");
    ASSERT_NOT_NULL(crochet_failure_traceback(fail));
    crochet_result_release(f.r);
}

static void follow_already_fired(void *ctx) {
    struct follow *f = ctx;
    ASSERT_OK(crochet_deferred_new(&f->d, NULL, NULL, NULL));
    ASSERT_OK(crochet_deferred_callback(f->d, crochet_uint64(UINT64_MAX)));
    ASSERT_OK(crochet_result_new(&f->r, f->d));
    crochet_deferred_release(f->d);
}

/* A result made from a deferred that already fired has its value at once. */
TEST(result_new_of_fired_deferred_is_done) {
    ASSERT_OK(crochet_setup());
    struct follow f = { 0 };
    run_on_reactor(follow_already_fired, &f);
    crochet_value v = { 0 };
    ASSERT_OK(crochet_wait(f.r, 0, &v));
    ASSERT_EQ(v.type, CROCHET_TYPE_UINT64);
    ASSERT_U64_EQ(v.u.u64, UINT64_MAX);
    crochet_result_release(f.r);
}

struct follow_cancel { struct canceller_log cl; crochet_result *r; };

static void follow_cancel_new(void *ctx) {
    struct follow_cancel *f = ctx;
    crochet_deferred *d;
    ASSERT_OK(crochet_deferred_new(&d, recording_canceller, &f->cl, NULL));
    ASSERT_OK(crochet_result_new(&f->r, d));
    crochet_deferred_release(d);
}

/* crochet_cancel on a result made by crochet_result_new cancels the deferred: its canceller runs on the reactor thread and the result ends CROCHET_ECANCELLED. */
TEST(cancelling_a_followed_result_cancels_the_deferred) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(capture_reactor_thread, NULL);
    struct follow_cancel f = { { 0 }, NULL };
    run_on_reactor(follow_cancel_new, &f);
    ASSERT_OK(crochet_cancel(f.r));
    ASSERT_STATUS(crochet_wait(f.r, 5.0, NULL), CROCHET_ECANCELLED);
    ASSERT_EQ(f.cl.runs, 1);
    ASSERT_EQ(f.cl.on_reactor, 1);
    ASSERT(pthread_equal(f.cl.thread, reactor_thread));
    ASSERT_PTR_EQ(f.cl.ctx, &f.cl);
    const crochet_failure *fail = crochet_original_failure(f.r);
    ASSERT_NOT_NULL(fail);
    ASSERT_EQ(crochet_failure_code(fail), CROCHET_ECANCELLED);
    ASSERT_OK(crochet_cancel(f.r));   /* repeated: no further effect */
    ASSERT_EQ(f.cl.runs, 1);
    crochet_result_release(f.r);
}

/* ---- submitted functions returning deferreds ---------------------------- */

static void fire_double_later(void *ctx) {
    crochet_deferred *d = ctx;
    ASSERT(crochet_in_reactor_thread());
    ASSERT_OK(crochet_deferred_callback(d, crochet_double(6.02214076e23)));
    crochet_deferred_release(d);
}

static crochet_deferred *answer_later(double delay) {
    crochet_deferred *d;
    ASSERT_OK(crochet_deferred_new(&d, NULL, NULL, NULL));
    ASSERT_OK(crochet_call_later(NULL, delay, fire_double_later, crochet_deferred_retain(d), NULL));
    return d;
}

/* A submitted function returning CROCHET_TYPE_DEFERRED, fired later from crochet_call_later, gives the fired value and its type (double). */
TEST(submitted_deferred_fired_later_gives_value_and_type) {
    ASSERT_OK(crochet_setup());
    crochet_result *r;
    ASSERT_OK(CROCHET_SUBMIT(&r, answer_later, CROCHET_TYPE_DEFERRED, crochet_double(0.05)));
    crochet_value v = { 0 };
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    ASSERT_EQ(v.type, CROCHET_TYPE_DOUBLE);
    ASSERT_DBL_EQ(v.u.f64, 6.02214076e23);
    crochet_result_release(r);
}

static struct canceller_log submitted_cl;
static crochet_deferred *never_fires(void) {
    crochet_deferred *d;
    ASSERT_OK(crochet_deferred_new(&d, recording_canceller, &submitted_cl, NULL));
    return d;
}

/* Waits (bounded) until r's function has returned its deferred. */
static void await_waiting(crochet_result *r) {
    double deadline = harness_now() + 10.0;
    for (;;) {
        crochet_result_info info;
        info.size = sizeof info;
        ASSERT_OK(crochet_result_get_info(r, &info));
        if (info.state == CROCHET_STATE_WAITING) return;
        if (harness_now() > deadline) FAIL("the call did not return its deferred within 10 s (state %d)", (int)info.state);
        usleep(1000);
    }
}

/* crochet_cancel on the result of a call that returned a deferred runs that deferred's canceller on the reactor thread with its ctx; the result is CROCHET_ECANCELLED. */
TEST(cancelling_submitted_call_runs_canceller) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(capture_reactor_thread, NULL);
    crochet_result *r;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)never_fires, CROCHET_TYPE_DEFERRED, NULL, 0));
    await_waiting(r);   /* the call ran and returned its deferred */
    ASSERT_OK(crochet_cancel(r));
    ASSERT_STATUS(crochet_wait(r, 5.0, NULL), CROCHET_ECANCELLED);
    ASSERT_EQ(submitted_cl.runs, 1);
    ASSERT_EQ(submitted_cl.on_reactor, 1);
    ASSERT(pthread_equal(submitted_cl.thread, reactor_thread));
    ASSERT_PTR_EQ(submitted_cl.ctx, &submitted_cl);
    ASSERT_EQ(crochet_failure_code(crochet_original_failure(r)), CROCHET_ECANCELLED);
    crochet_result_release(r);
}

static crochet_deferred *fires_in_canceller(void) {
    crochet_deferred *d;
    submitted_cl.fire = 1;
    ASSERT_OK(crochet_deferred_new(&d, recording_canceller, &submitted_cl, NULL));
    return d;
}

/* When the canceller of a submitted call's deferred fires it with a value, crochet_cancel's result is that value. */
TEST(cancelling_submitted_call_whose_canceller_fires) {
    ASSERT_OK(crochet_setup());
    crochet_result *r;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)fires_in_canceller, CROCHET_TYPE_DEFERRED, NULL, 0));
    await_waiting(r);
    ASSERT_OK(crochet_cancel(r));
    crochet_value v = { 0 };
    ASSERT_OK(crochet_wait(r, 5.0, &v));
    ASSERT_EQ(submitted_cl.runs, 1);
    ASSERT_EQ(v.type, CROCHET_TYPE_INT32);
    ASSERT_EQ(v.u.i32, 42);
    crochet_result_release(r);
}

static crochet_deferred *returns_null_deferred(void) { return NULL; }

/* A submitted function returning a NULL deferred fails the call with code CROCHET_EINVAL. */
TEST(submitted_null_deferred_fails_einval) {
    ASSERT_OK(crochet_setup());
    crochet_result *r;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)returns_null_deferred, CROCHET_TYPE_DEFERRED, NULL, 0));
    ASSERT_STATUS(crochet_wait(r, 5.0, NULL), CROCHET_EFAILED);
    ASSERT_EQ(crochet_failure_code(crochet_original_failure(r)), CROCHET_EINVAL);
    crochet_result_release(r);
}

/* ---- callback_owned ----------------------------------------------------- */

struct owned_case {
    crochet_deferred *d;
    crochet_result *r;
    int target;
    struct calls log;
};

static void owned_fire_with_result(void *ctx) {
    struct owned_case *o = ctx;
    ASSERT_OK(crochet_deferred_new(&o->d, NULL, NULL, NULL));
    ASSERT_OK(crochet_result_new(&o->r, o->d));
    ASSERT_OK(crochet_deferred_callback_owned(o->d, &o->target, counting_destroy));
    crochet_deferred_release(o->d);   /* the deferred lets go first */
    o->d = NULL;
}

struct waiter { crochet_result *r; crochet_value v; int status; latch got; latch go_release; latch released; pthread_t self; };

static void *wait_then_release(void *p) {
    struct waiter *w = p;
    w->self = pthread_self();
    w->status = crochet_wait(w->r, 10.0, &w->v);
    latch_open(&w->got);
    if (!latch_wait(&w->go_release, 10.0)) return NULL;
    crochet_result_release(w->r);
    latch_open(&w->released);
    return NULL;
}

/* An owned value is destroyed exactly once, on the thread that lets go last: here a waiter thread that releases its result after the deferred and the main thread's reference were released. */
TEST(callback_owned_destroys_when_last_holder_lets_go) {
    ASSERT_OK(crochet_setup());
    struct owned_case o = { 0 };
    o.target = 77;
    run_on_reactor(owned_fire_with_result, &o);
    ASSERT_EQ(atomic_load(&destroy_count), 0);

    struct waiter w = { crochet_result_retain(o.r), { 0 }, 99, LATCH_INIT, LATCH_INIT, LATCH_INIT, 0 };
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, wait_then_release, &w), 0);
    ASSERT(latch_wait(&w.got, 10.0));
    ASSERT_OK(w.status);
    ASSERT_EQ(w.v.type, CROCHET_TYPE_POINTER);
    ASSERT_PTR_EQ(w.v.u.ptr, &o.target);

    crochet_value mine = { 0 };
    ASSERT_OK(crochet_wait(o.r, 0, &mine));
    ASSERT_PTR_EQ(mine.u.ptr, &o.target);
    crochet_result_release(o.r);
    run_on_reactor(capture_reactor_thread, NULL);  /* give a wrong early destroy a chance */
    ASSERT_EQ(atomic_load(&destroy_count), 0);
    ASSERT_EQ(o.target, 77);

    latch_open(&w.go_release);
    ASSERT(latch_wait(&w.released, 10.0));
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT(latch_wait(&destroyed, 5.0));
    ASSERT_EQ(atomic_load(&destroy_count), 1);
    ASSERT_PTR_EQ(destroyed_ptr, &o.target);
    ASSERT(pthread_equal(destroy_thread, w.self));
    run_on_reactor(capture_reactor_thread, NULL);
    ASSERT_EQ(atomic_load(&destroy_count), 1);
}

static void owned_fire_keep_deferred(void *ctx) {
    struct owned_case *o = ctx;
    static struct tagged t1;
    t1 = (struct tagged){ &o->log, 1 };
    ASSERT_OK(crochet_deferred_new(&o->d, NULL, NULL, NULL));
    ASSERT_OK(crochet_deferred_callback_owned(o->d, &o->target, counting_destroy));
    ASSERT_OK(crochet_deferred_add_callbacks(o->d, record_value, NULL, &t1, NULL));
    ASSERT_EQ(atomic_load(&destroy_count), 0);
}

/* With no result following it, an owned value lives as long as the deferred and is destroyed once when the last deferred reference is released from another thread. */
TEST(callback_owned_lives_as_long_as_the_deferred) {
    ASSERT_OK(crochet_setup());
    struct owned_case o = { 0 };
    run_on_reactor(owned_fire_keep_deferred, &o);
    ASSERT_EQ(o.log.n, 1);
    ASSERT_EQ(o.log.value[0].type, CROCHET_TYPE_POINTER);
    ASSERT_PTR_EQ(o.log.value[0].u.ptr, &o.target);
    crochet_deferred *extra = crochet_deferred_retain(o.d);
    ASSERT_PTR_EQ(extra, o.d);
    crochet_deferred_release(o.d);
    run_on_reactor(capture_reactor_thread, NULL);
    ASSERT_EQ(atomic_load(&destroy_count), 0);
    crochet_deferred_release(extra);   /* the last holder, on this thread */
    ASSERT(latch_wait(&destroyed, 5.0));
    ASSERT_EQ(atomic_load(&destroy_count), 1);
    ASSERT(pthread_equal(destroy_thread, pthread_self()));
    run_on_reactor(capture_reactor_thread, NULL);
    ASSERT_EQ(atomic_load(&destroy_count), 1);
}

static void owned_results_many(void *ctx) {
    struct owned_case *o = ctx;
    crochet_result **rs = (crochet_result **)o->r;
    ASSERT_OK(crochet_deferred_new(&o->d, NULL, NULL, NULL));
    for (int i = 0; i < 4; i++) ASSERT_OK(crochet_result_new(&rs[i], o->d));
    ASSERT_OK(crochet_deferred_callback_owned(o->d, &o->target, counting_destroy));
    crochet_deferred_release(o->d);
}

struct releaser { crochet_result *r; latch *start; };
static void *wait_and_release(void *p) {
    struct releaser *rel = p;
    if (!latch_wait(rel->start, 10.0)) return NULL;
    crochet_value v;
    if (crochet_wait(rel->r, 10.0, &v) == CROCHET_OK && v.u.ptr != NULL) crochet_result_release(rel->r);
    return NULL;
}

/* Several results following one owned value, released at once by several threads, destroy it exactly once. */
TEST(callback_owned_destroyed_once_across_racing_releases) {
    ASSERT_OK(crochet_setup());
    for (int round = 0; round < 50; round++) {
        atomic_store(&destroy_count, 0);
        crochet_result *rs[4] = { 0 };
        struct owned_case o = { 0 };
        o.r = (crochet_result *)rs;
        run_on_reactor(owned_results_many, &o);
        latch start = LATCH_INIT;
        struct releaser rel[4];
        pthread_t t[4];
        for (int i = 0; i < 4; i++) {
            rel[i] = (struct releaser){ rs[i], &start };
            ASSERT_EQ(pthread_create(&t[i], NULL, wait_and_release, &rel[i]), 0);
        }
        latch_open(&start);
        for (int i = 0; i < 4; i++) ASSERT_EQ(pthread_join(t[i], NULL), 0);
        ASSERT_EQ(atomic_load(&destroy_count), 1);
    }
}

struct owned_fail { int target; int status; int status_cancelled; };

static void owned_after_fire(void *ctx) {
    struct owned_fail *o = ctx;
    crochet_deferred *d;
    ASSERT_OK(crochet_deferred_new(&d, NULL, NULL, NULL));
    ASSERT_OK(crochet_deferred_errback(d, 3, "already failed"));
    o->status = crochet_deferred_callback_owned(d, &o->target, counting_destroy);
    crochet_result *r;
    ASSERT_OK(crochet_result_new(&r, d));
    crochet_deferred_release(d);
    ASSERT_NOT_NULL(crochet_original_failure(r));
    crochet_result_release(r);
}

/* When callback_owned fails because the deferred already fired, destroy never runs, even after every holder let go. */
TEST(callback_owned_never_destroys_when_it_fails) {
    ASSERT_OK(crochet_setup());
    struct owned_fail o = { 0 };
    run_on_reactor(owned_after_fire, &o);
    ASSERT_STATUS(o.status, CROCHET_EALREADY);
    run_on_reactor(capture_reactor_thread, NULL);
    ASSERT(!latch_wait(&destroyed, 0.1));
    ASSERT_EQ(atomic_load(&destroy_count), 0);
}

static void owned_null_destroy(void *ctx) {
    struct owned_case *o = ctx;
    ASSERT_OK(crochet_deferred_new(&o->d, NULL, NULL, NULL));
    ASSERT_OK(crochet_result_new(&o->r, o->d));
    ASSERT_OK(crochet_deferred_callback_owned(o->d, &o->target, NULL));
    crochet_deferred_release(o->d);
}

/* callback_owned with a NULL destroy fires the deferred with the pointer and nothing is called at release. */
TEST(callback_owned_with_null_destroy) {
    ASSERT_OK(crochet_setup());
    struct owned_case o = { 0 };
    run_on_reactor(owned_null_destroy, &o);
    crochet_value v = { 0 };
    ASSERT_OK(crochet_wait(o.r, 5.0, &v));
    ASSERT_EQ(v.type, CROCHET_TYPE_POINTER);
    ASSERT_PTR_EQ(v.u.ptr, &o.target);
    crochet_result_release(o.r);
}

/* ---- retain/release from other threads ---------------------------------- */

struct shared_deferred { crochet_deferred *d; latch *start; };

static void *hammer_retain_release(void *p) {
    struct shared_deferred *s = p;
    if (!latch_wait(s->start, 10.0)) return NULL;
    for (int i = 0; i < 20000; i++) {
        crochet_deferred *x = crochet_deferred_retain(s->d);
        if (x != s->d) abort();
        crochet_deferred_release(x);
    }
    return NULL;
}

static void fire_shared(void *ctx) {
    struct owned_case *o = ctx;
    static struct tagged t1;
    t1 = (struct tagged){ &o->log, 1 };
    ASSERT_OK(crochet_deferred_callback_owned(o->d, &o->target, counting_destroy));
    ASSERT_OK(crochet_deferred_add_callbacks(o->d, record_value, NULL, &t1, NULL));
}

/* Threads other than the reactor may retain and release a deferred concurrently; the count stays exact, so the deferred still works afterwards and its owned value is destroyed once at the final release. */
TEST(deferred_retain_release_from_other_threads) {
    ASSERT_OK(crochet_setup());
    struct owned_case o = { 0 };
    run_on_reactor(make_deferred, &o.d);
    latch start = LATCH_INIT;
    struct shared_deferred s = { o.d, &start };
    pthread_t t[4];
    for (int i = 0; i < 4; i++) ASSERT_EQ(pthread_create(&t[i], NULL, hammer_retain_release, &s), 0);
    latch_open(&start);
    for (int i = 0; i < 4; i++) ASSERT_EQ(pthread_join(t[i], NULL), 0);
    run_on_reactor(fire_shared, &o);
    ASSERT_EQ(o.log.n, 1);
    ASSERT_PTR_EQ(o.log.value[0].u.ptr, &o.target);
    ASSERT_EQ(atomic_load(&destroy_count), 0);
    crochet_deferred_release(o.d);
    ASSERT(latch_wait(&destroyed, 5.0));
    ASSERT_EQ(atomic_load(&destroy_count), 1);
}

/* ---- re-entrancy and value types ------------------------------------------ */

struct nested_add { crochet_deferred *d; struct calls log; int add_status; int fire_status; };
static struct nested_add nested;
static struct tagged nested_t1, nested_t2, nested_t3;

static void add_from_callback(crochet_value v, void *ctx) {
    record_value(v, ctx);
    nested.add_status = crochet_deferred_add_callbacks(nested.d, record_value, record_failure, &nested_t3, NULL);
    nested.fire_status = crochet_deferred_callback(nested.d, crochet_int32(-1));
}

static void nested_add_body(void *ctx) {
    (void)ctx;
    nested_t1 = (struct tagged){ &nested.log, 1 };
    nested_t2 = (struct tagged){ &nested.log, 2 };
    nested_t3 = (struct tagged){ &nested.log, 3 };
    ASSERT_OK(crochet_deferred_new(&nested.d, NULL, NULL, NULL));
    ASSERT_OK(crochet_deferred_add_callbacks(nested.d, add_from_callback, NULL, &nested_t1, NULL));
    ASSERT_OK(crochet_deferred_add_callbacks(nested.d, record_value, NULL, &nested_t2, NULL));
    ASSERT_OK(crochet_deferred_callback(nested.d, crochet_int32(10)));
    crochet_deferred_release(nested.d);
}

/* A callback that adds another callback while the deferred fires does not deadlock; callbacks still run in the order added (the new one after those already added, as in Twisted), and firing again from inside is CROCHET_EALREADY. */
TEST(callback_added_during_firing_runs_after_existing_ones) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(nested_add_body, NULL);
    ASSERT_OK(nested.add_status);
    ASSERT_STATUS(nested.fire_status, CROCHET_EALREADY);
    ASSERT_EQ(nested.log.n, 3);
    for (int i = 0; i < 3; i++) ASSERT_EQ(nested.log.value[i].u.i32, 10);
    if (nested.log.tag[0] != 1 || nested.log.tag[1] != 2 || nested.log.tag[2] != 3)
        FAIL("callbacks ran in order %d, %d, %d; expected 1, 2, 3 (the order added)",
             nested.log.tag[0], nested.log.tag[1], nested.log.tag[2]);
}

static atomic_int self_release_ran;
static void release_from_callback(crochet_value v, void *ctx) {
    (void)v;
    crochet_deferred_release(ctx);
    atomic_fetch_add(&self_release_ran, 1);
}

static void self_release_body(void *ctx) {
    (void)ctx;
    crochet_deferred *d;
    ASSERT_OK(crochet_deferred_new(&d, NULL, NULL, NULL));
    ASSERT_OK(crochet_deferred_add_callbacks(d, release_from_callback, NULL, d, NULL));   /* hands it our reference */
    ASSERT_OK(crochet_deferred_callback(d, crochet_int32(1)));
}

/* A callback may drop the last reference to its own deferred while it fires. */
TEST(releasing_last_reference_inside_own_callback) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(self_release_body, NULL);
    ASSERT_EQ(atomic_load(&self_release_ran), 1);
    run_on_reactor(capture_reactor_thread, NULL);   /* the reactor is still alive */
}

static int recancel_status = 99;
static void cancelling_canceller(crochet_deferred *d, void *ctx) {
    (void)ctx;
    recancel_status = crochet_deferred_cancel(d);
}

static void recancel_body(void *ctx) {
    struct calls *log = ctx;
    static struct tagged t1;
    t1 = (struct tagged){ log, 1 };
    crochet_deferred *d;
    ASSERT_OK(crochet_deferred_new(&d, cancelling_canceller, NULL, NULL));
    ASSERT_OK(crochet_deferred_add_callbacks(d, record_value, record_failure, &t1, NULL));
    ASSERT_OK(crochet_deferred_cancel(d));
    crochet_deferred_release(d);
}

/* Cancelling a deferred again from inside its own canceller is CROCHET_EALREADY and the deferred still ends CROCHET_ECANCELLED, once. */
TEST(cancel_inside_canceller_is_ealready) {
    ASSERT_OK(crochet_setup());
    struct calls log = { 0 };
    run_on_reactor(recancel_body, &log);
    ASSERT_STATUS(recancel_status, CROCHET_EALREADY);
    ASSERT_EQ(log.n, 1);
    ASSERT_EQ(log.code[0], CROCHET_ECANCELLED);
}

static void released_result_body(void *ctx) {
    struct calls *log = ctx;
    static struct tagged t1;
    t1 = (struct tagged){ log, 1 };
    crochet_deferred *d;
    crochet_result *r;
    ASSERT_OK(crochet_deferred_new(&d, NULL, NULL, NULL));
    ASSERT_OK(crochet_result_new(&r, d));
    crochet_result_release(r);   /* nobody will wait */
    ASSERT_OK(crochet_deferred_add_callbacks(d, record_value, record_failure, &t1, NULL));
    ASSERT_OK(crochet_deferred_callback(d, crochet_int16(-300)));
    crochet_deferred_release(d);
}

/* Releasing a following result before the deferred fires is safe: the deferred still fires and runs its callbacks. */
TEST(result_released_before_fire) {
    ASSERT_OK(crochet_setup());
    struct calls log = { 0 };
    run_on_reactor(released_result_body, &log);
    ASSERT_EQ(log.n, 1);
    ASSERT_EQ(log.value[0].type, CROCHET_TYPE_INT16);
    ASSERT_EQ(log.value[0].u.i16, -300);
}

struct typed { crochet_value values[12]; crochet_result *r[12]; };
static void fire_every_type(void *ctx) {
    struct typed *t = ctx;
    for (int i = 0; i < 12; i++) {
        crochet_deferred *d;
        ASSERT_OK(crochet_deferred_new(&d, NULL, NULL, NULL));
        ASSERT_OK(crochet_result_new(&t->r[i], d));
        ASSERT_OK(crochet_deferred_callback(d, t->values[i]));
        crochet_deferred_release(d);
    }
}

/* A deferred fired with each value type gives a following result that waits to exactly that type and value. */
TEST(every_value_type_round_trips_through_a_deferred) {
    ASSERT_OK(crochet_setup());
    static struct typed t;
    static int target;
    crochet_value vs[12] = {
        crochet_void(), crochet_int8(-128), crochet_uint8(255), crochet_int16(-32768),
        crochet_uint16(65535), crochet_int32(INT32_MIN), crochet_uint32(UINT32_MAX), crochet_int64(INT64_MIN),
        crochet_uint64(UINT64_MAX), crochet_float(1.5f), crochet_double(-1e-300), crochet_pointer(&target),
    };
    memcpy(t.values, vs, sizeof vs);
    run_on_reactor(fire_every_type, &t);
    for (int i = 0; i < 12; i++) {
        crochet_value v;
        memset(&v, 0xAB, sizeof v);
        ASSERT_OK(crochet_wait(t.r[i], 5.0, &v));
        ASSERT_EQ(v.type, vs[i].type);
        switch (vs[i].type) {
        case CROCHET_TYPE_VOID: break;
        case CROCHET_TYPE_INT8: ASSERT_EQ(v.u.i8, -128); break;
        case CROCHET_TYPE_UINT8: ASSERT_EQ(v.u.u8, 255); break;
        case CROCHET_TYPE_INT16: ASSERT_EQ(v.u.i16, -32768); break;
        case CROCHET_TYPE_UINT16: ASSERT_EQ(v.u.u16, 65535); break;
        case CROCHET_TYPE_INT32: ASSERT_EQ(v.u.i32, INT32_MIN); break;
        case CROCHET_TYPE_UINT32: ASSERT_EQ(v.u.u32, UINT32_MAX); break;
        case CROCHET_TYPE_INT64: ASSERT_EQ(v.u.i64, INT64_MIN); break;
        case CROCHET_TYPE_UINT64: ASSERT_U64_EQ(v.u.u64, UINT64_MAX); break;
        case CROCHET_TYPE_FLOAT: ASSERT_DBL_EQ(v.u.f32, 1.5f); break;
        case CROCHET_TYPE_DOUBLE: ASSERT_DBL_EQ(v.u.f64, -1e-300); break;
        case CROCHET_TYPE_POINTER: ASSERT_PTR_EQ(v.u.ptr, &target); break;
        default: FAIL("unexpected type %d", (int)vs[i].type);
        }
        crochet_result_release(t.r[i]);
    }
}
