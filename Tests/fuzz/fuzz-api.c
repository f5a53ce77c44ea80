/* A randomized API-sequence harness for libcrochet (issue 7), a libFuzzer
 * target built with the toolchain's clang (-fsanitize=fuzzer,address) against
 * the library built with ASan (and sanitizer coverage): Tests/fuzz/run.sh,
 * make fuzz FUZZ_SECONDS=600.
 *
 * An input is a schedule. Its first byte chooses the number of threads (1-4)
 * and the mode; the rest is dealt round-robin to the threads, each decoding
 * (opcode, argument) pairs: submit (foreign through libffi, and closures that
 * return a value, raise, or return a deferred), wait with a short timeout,
 * cancel, stash, retrieve (results cross threads this way), release, retain,
 * original_failure, wait_for, call_later and its cancel, call_from_thread,
 * firing / errbacking / cancelling / adding callbacks to the deferreds the
 * closures returned (on the reactor), stop, and yields.
 *
 * The reactor runs once per process, so there is one reactor for the whole
 * fuzzing session, never stopped by an input. An input whose first byte is
 * >= 0xE0 runs in a fork child instead: the child calls crochet_setup() (a
 * fresh reactor), runs the schedule, and its STOP opcode really stops the
 * reactor; the parent checks the child's exit status with a bound (and
 * prints the child's stacks through gdb if it hangs). So stop, and fork with
 * the library's threads busy, are exercised too.
 *
 * After every input the harness settles everything (timers due, deferreds
 * still pending fired, every result waited for with a 10 s bound) and checks:
 *   - every result completes (a bounded wait never times out at the end);
 *   - a result's status and value never change once it exists, and agree with
 *     what ran: OK means the function ran once and returned that value,
 *     CANCELLED means a plain call never ran, FAILED carries the raised code;
 *   - no function, closure, timer or call_from_thread runs twice; a timer
 *     whose cancel returned OK never runs, one not cancelled runs;
 *   - every destroy runs exactly once (a second one aborts at once; a
 *     missing one is found by counting, with a bound);
 *   - no leak (LeakSanitizer, per input) and no memory error (ASan).
 * A violated invariant aborts, so libFuzzer saves the input as a crash. */
#define _GNU_SOURCE
#include <crochet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FAILF(...) do {                                                         \
        fprintf(stderr, "fuzz-api: %s:%d: ", __FILE__, __LINE__);               \
        fprintf(stderr, __VA_ARGS__);                                           \
        fprintf(stderr, "\n");                                                  \
        abort();                                                                \
    } while (0)
#define CHECK(cond) do { if (!(cond)) FAILF("CHECK(%s) failed", #cond); } while (0)
#define CHECK_STATUS(expr, ...) do {                                            \
        int _s = (expr); int _ok[] = { __VA_ARGS__ }; int _m = 0;               \
        for (size_t _i = 0; _i < sizeof _ok / sizeof _ok[0]; _i++) _m |= _s == _ok[_i]; \
        if (!_m) FAILF("%s returned %s", #expr, crochet_status_name(_s));       \
    } while (0)

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- trackers: one per function, closure, timer or ctx the engine holds ---- */

enum kind {
    K_ADD,          /* foreign int32 add1(tracker *, int32): OK = a + 1 */
    K_RAISE,        /* foreign void raises(tracker *): FAILED with code 600 */
    K_CLOSURE_VAL,  /* closure returning int64 id */
    K_CLOSURE_RAISE,/* closure raising code 601 */
    K_CLOSURE_DEFER,/* closure returning a deferred (pooled, fired later: id or 700) */
    K_TIMER,        /* call_later */
    K_FROM_THREAD,  /* call_from_thread (and the harness's own reactor jobs) */
    K_CANCELLER,    /* a deferred's canceller ctx */
    K_CALLBACKS,    /* add_callbacks ctx */
};

#define MAGIC 0x7e57ab1eu
typedef struct tracker {
    uint32_t magic;
    enum kind kind;
    int64_t id;
    int32_t arg;
    int expects_destroy;
    atomic_int ran;
    atomic_int destroyed;
    atomic_int cancel_ok;      /* a timer cancel that returned CROCHET_OK */
    struct tracker *owner;     /* a canceller's: the closure whose deferred it cancels */
    struct tracker *next;
} tracker;

static pthread_mutex_t trackers_lock = PTHREAD_MUTEX_INITIALIZER;
static tracker *trackers;
static atomic_long created, destroyed;
static atomic_long next_id;
static int fork_mode;          /* this input runs in a fork child where STOP stops */
static atomic_int stopped;     /* STOP ran (fork mode) */
static atomic_int timers_used; /* this input scheduled a timer */

static tracker *track(enum kind kind, int expects_destroy) {
    tracker *t = calloc(1, sizeof *t);
    CHECK(t != NULL);
    t->magic = MAGIC;
    t->kind = kind;
    t->id = atomic_fetch_add(&next_id, 1) + 1;
    t->expects_destroy = expects_destroy;
    if (expects_destroy) atomic_fetch_add(&created, 1);
    pthread_mutex_lock(&trackers_lock);
    t->next = trackers;
    trackers = t;
    pthread_mutex_unlock(&trackers_lock);
    return t;
}

static void tracker_destroy(void *p) {
    tracker *t = p;
    CHECK(t->magic == MAGIC);
    CHECK(t->expects_destroy);
    int before = atomic_fetch_add(&t->destroyed, 1);
    if (before != 0) FAILF("destroy ran twice for tracker %lld (kind %d)", (long long)t->id, t->kind);
    atomic_fetch_add(&destroyed, 1);
}

static void ran_once(tracker *t) {
    CHECK(t->magic == MAGIC);
    int before = atomic_fetch_add(&t->ran, 1);
    if (before != 0) FAILF("tracker %lld (kind %d) ran twice", (long long)t->id, t->kind);
}

/* ---- functions the reactor runs ---- */

int32_t fz_add1(tracker *t, int32_t a) { ran_once(t); return a + 1; }
void fz_raises(tracker *t) { ran_once(t); crochet_raise(600, "fuzz raise"); }

/* The deferreds closures returned, touched on the reactor thread only. */
#define POOL 64
struct pooled { crochet_deferred *d; tracker *t; };
static struct pooled pool[POOL];
static int pool_count;
static int pool_closed;        /* fork mode: the shutdown trigger drained it */

#define CANCELLER_FIRED (1LL << 40)
static void canceller(crochet_deferred *d, void *ctx) {
    tracker *c = ctx;
    CHECK(c->magic == MAGIC && c->kind == K_CANCELLER);
    ran_once(c);
    if (c->owner->arg & 1)   /* fire it from the canceller: then the value is marked */
        CHECK_STATUS(crochet_deferred_callback(d, crochet_int64(c->owner->id | CANCELLER_FIRED)), CROCHET_OK);
}

static crochet_value closure_fn(void *ctx) {
    tracker *t = ctx;
    CHECK(crochet_in_reactor_thread());
    ran_once(t);
    switch (t->kind) {
    case K_CLOSURE_VAL:
        return crochet_int64(t->id);
    case K_CLOSURE_RAISE:
        crochet_raise(601, "fuzz closure raise");
        return crochet_void();
    case K_CLOSURE_DEFER: {
        tracker *c = track(K_CANCELLER, 1);
        c->owner = t;
        crochet_deferred *d;
        CHECK_STATUS(crochet_deferred_new(&d, canceller, c, tracker_destroy), CROCHET_OK);
        if (pool_count < POOL && !pool_closed) {
            pool[pool_count].d = crochet_deferred_retain(d);
            pool[pool_count].t = t;
            pool_count++;
        } else {
            CHECK_STATUS(crochet_deferred_callback(d, crochet_int64(t->id)), CROCHET_OK);
        }
        crochet_value v;
        v.type = CROCHET_TYPE_DEFERRED;
        v.u.ptr = d;
        return v;
    }
    default:
        FAILF("closure of kind %d", t->kind);
    }
}

static void timer_fn(void *ctx) {
    tracker *t = ctx;
    CHECK(crochet_in_reactor_thread());
    ran_once(t);
}

/* Reactor jobs through call_from_thread: ctx is a tracker of kind
 * K_FROM_THREAD whose arg says what to do with the pool. */
enum { J_NOTHING, J_FIRE, J_ERRBACK, J_DCANCEL, J_ADD_CALLBACKS, J_FIRE_ALL };

static void on_value(crochet_value v, void *ctx) {
    tracker *t = ctx;
    CHECK(t->magic == MAGIC && t->kind == K_CALLBACKS);
    CHECK(v.type == CROCHET_TYPE_INT64);
    ran_once(t);
}
static void on_failure(const crochet_failure *f, void *ctx) {
    tracker *t = ctx;
    CHECK(t->magic == MAGIC && t->kind == K_CALLBACKS);
    CHECK(f != NULL);
    int code = crochet_failure_code(f);
    CHECK(code == 700 || code == CROCHET_ECANCELLED);
    ran_once(t);
}

static void pool_remove(int i) {
    crochet_deferred_release(pool[i].d);
    pool[i] = pool[--pool_count];
}

static void reactor_job(void *ctx) {
    tracker *t = ctx;
    CHECK(crochet_in_reactor_thread());
    ran_once(t);
    int job = t->arg & 0xff, which = (t->arg >> 8) & 0xff;
    if (job == J_NOTHING) return;
    if (job == J_FIRE_ALL) {
        while (pool_count > 0) {
            CHECK_STATUS(crochet_deferred_callback(pool[0].d, crochet_int64(pool[0].t->id)),
                         CROCHET_OK, CROCHET_EALREADY);   /* OK when cancelled; EALREADY when its canceller fired it */
            pool_remove(0);
        }
        return;
    }
    if (pool_count == 0) return;
    int i = which % pool_count;
    switch (job) {
    case J_FIRE:
        CHECK_STATUS(crochet_deferred_callback(pool[i].d, crochet_int64(pool[i].t->id)), CROCHET_OK, CROCHET_EALREADY);
        pool_remove(i);
        break;
    case J_ERRBACK:
        CHECK_STATUS(crochet_deferred_errback(pool[i].d, 700, "fuzz errback"), CROCHET_OK, CROCHET_EALREADY);
        pool_remove(i);
        break;
    case J_DCANCEL:
        CHECK_STATUS(crochet_deferred_cancel(pool[i].d), CROCHET_OK, CROCHET_EALREADY);
        break;   /* stays pooled: a later fire is silently accepted */
    case J_ADD_CALLBACKS: {
        tracker *c = track(K_CALLBACKS, 1);
        CHECK_STATUS(crochet_deferred_add_callbacks(pool[i].d, on_value, on_failure, c, tracker_destroy),
                     CROCHET_OK);
        break;
    }
    }
}

/* Fork mode: at stop, on the reactor thread, let go of the pooled deferreds. */
static void drain_pool_at_stop(void *ctx) {
    (void)ctx;
    pool_closed = 1;
    while (pool_count > 0) pool_remove(0);
}

/* ---- the per-thread schedule ---- */

#define SLOTS 8
struct held {
    crochet_result *r;
    tracker *t;
    int seen;                 /* a status other than ETIMEDOUT was seen */
    int status;
    crochet_value value;
};

#define STASH 16
struct stashed { pthread_mutex_t m; uint64_t id; tracker *t; };
static struct stashed stash_table[STASH];

struct thread_state {
    const uint8_t *ops;
    size_t nops;
    struct held held[SLOTS];
    crochet_delayed_call *timers[4];
    tracker *timer_t[4];
    pthread_t thread;
};

/* Checks a status/value against what the tracker says ran, and against what
 * was seen before on this handle. */
static void check_outcome(struct held *h, int status, crochet_value v, int at_end) {
    tracker *t = h->t;
    if (status == CROCHET_ETIMEDOUT) {
        if (at_end) FAILF("result of tracker %lld (kind %d) never completed", (long long)t->id, t->kind);
        if (h->seen) FAILF("a completed result timed out later");
        return;
    }
    if (h->seen) {
        if (status != h->status) FAILF("status changed: %s then %s", crochet_status_name(h->status),
                                       crochet_status_name(status));
        if (status == CROCHET_OK && (v.type != h->value.type || v.u.u64 != h->value.u.u64))
            FAILF("value changed");
    }
    h->seen = 1; h->status = status; h->value = v;
    int ran = atomic_load(&t->ran);
    int stop_ok = fork_mode && atomic_load(&stopped) && status == CROCHET_ESTOPPED;
    switch (t->kind) {
    case K_ADD:
        if (status == CROCHET_OK) { CHECK(ran == 1); CHECK(v.type == CROCHET_TYPE_INT32); CHECK(v.u.i32 == t->arg + 1); }
        else if (status == CROCHET_ECANCELLED) CHECK(ran == 0);
        else CHECK(stop_ok);
        break;
    case K_RAISE:
    case K_CLOSURE_RAISE:
        if (status == CROCHET_EFAILED) {
            CHECK(ran == 1);
            CHECK(crochet_failure_code(crochet_original_failure(h->r)) == (t->kind == K_RAISE ? 600 : 601));
        } else if (status == CROCHET_ECANCELLED) CHECK(ran == 0);
        else CHECK(stop_ok);
        break;
    case K_CLOSURE_VAL:
        if (status == CROCHET_OK) { CHECK(ran == 1); CHECK(v.type == CROCHET_TYPE_INT64); CHECK(v.u.i64 == t->id); }
        else if (status == CROCHET_ECANCELLED) CHECK(ran == 0);
        else CHECK(stop_ok);
        break;
    case K_CLOSURE_DEFER:
        if (status == CROCHET_OK) {
            CHECK(ran == 1);
            CHECK(v.type == CROCHET_TYPE_INT64);
            CHECK(v.u.i64 == t->id || v.u.i64 == (t->id | CANCELLER_FIRED));   /* fired, or by its canceller */
        } else if (status == CROCHET_EFAILED) {
            CHECK(ran == 1);
            CHECK(crochet_failure_code(crochet_original_failure(h->r)) == 700);
        } else if (status == CROCHET_ECANCELLED) {
            /* cancelled before it ran, or its deferred was cancelled */
        } else CHECK(stop_ok);
        break;
    default:
        FAILF("result of kind %d", t->kind);
    }
}

static void drop(struct held *h) {
    crochet_result_release(h->r);
    memset(h, 0, sizeof *h);
}

static void hold(struct held *h, crochet_result *r, tracker *t) {
    if (h->r) drop(h);
    h->r = r; h->t = t; h->seen = 0;
}

static int allowed_submit(int s) {
    return s == CROCHET_OK || (fork_mode && atomic_load(&stopped) && s == CROCHET_ESTOPPED);
}

static void submit_op(struct held *h, int op, uint8_t arg) {
    crochet_result *r = NULL;
    tracker *t;
    int s;
    switch (op) {
    case 0:
        t = track(K_ADD, 0);
        t->arg = arg;
        s = crochet_submit(&r, (crochet_fn)fz_add1, CROCHET_TYPE_INT32,
                           (crochet_value[]){ crochet_pointer(t), crochet_int32(arg) }, 2);
        break;
    case 1:
        t = track(K_RAISE, 0);
        s = crochet_submit(&r, (crochet_fn)fz_raises, CROCHET_TYPE_VOID,
                           (crochet_value[]){ crochet_pointer(t) }, 1);
        break;
    default: {
        enum kind k = op == 2 ? K_CLOSURE_VAL : op == 3 ? K_CLOSURE_RAISE : K_CLOSURE_DEFER;
        t = track(k, 1);
        t->arg = arg;
        s = crochet_submit_closure(&r, closure_fn, t, tracker_destroy);
        break;
    }
    }
    if (!allowed_submit(s)) FAILF("submit returned %s", crochet_status_name(s));
    if (s != CROCHET_OK) { CHECK(r == NULL); return; }   /* destroy ran on this thread */
    hold(h, r, t);
}

static double op_timeout(uint8_t arg) {
    switch (arg & 3) { case 0: return 0; case 1: return 0.0001; case 2: return 0.001; default: return 0.005; }
}

static void run_ops(struct thread_state *ts) {
    for (size_t i = 0; i + 1 < ts->nops + 1; i += 2) {
        uint8_t op = ts->ops[i] % 24;
        uint8_t arg = i + 1 < ts->nops ? ts->ops[i + 1] : 0;
        struct held *h = &ts->held[arg % SLOTS];
        switch (op) {
        case 0: case 1: case 2: case 3: case 4:
            submit_op(h, op, arg);
            break;
        case 5: case 6:   /* wait */
            if (h->r) {
                crochet_value v;
                memset(&v, 0, sizeof v);
                int s = crochet_wait(h->r, op_timeout(arg >> 3), &v);
                check_outcome(h, s, v, 0);
            }
            break;
        case 7:
            if (h->r) CHECK_STATUS(crochet_cancel(h->r), CROCHET_OK);
            break;
        case 8:
            if (h->r) drop(h);
            break;
        case 9: {   /* stash: the table gets its own reference */
            if (!h->r) break;
            uint64_t id = 0;
            CHECK_STATUS(crochet_stash(h->r, &id), CROCHET_OK);
            CHECK(id != 0);
            struct stashed *e = &stash_table[(arg >> 3) % STASH];
            pthread_mutex_lock(&e->m);
            uint64_t old = e->id;
            e->id = id;
            e->t = h->t;
            pthread_mutex_unlock(&e->m);
            if (old) {   /* the entry's previous id: take it out and drop it */
                crochet_result *o = NULL;
                CHECK_STATUS(crochet_retrieve(&o, old), CROCHET_OK);
                crochet_result_release(o);
            }
            break;
        }
        case 10: {   /* retrieve into this slot */
            struct stashed *e = &stash_table[(arg >> 3) % STASH];
            pthread_mutex_lock(&e->m);
            tracker *t = e->t;
            uint64_t id = e->id;
            e->id = 0;
            pthread_mutex_unlock(&e->m);
            if (!id) break;
            crochet_result *r = NULL;
            int s = crochet_retrieve(&r, id);
            CHECK_STATUS(s, CROCHET_OK);
            CHECK_STATUS(crochet_retrieve(&(crochet_result *){ NULL }, id), CROCHET_ENOTFOUND);
            hold(h, r, t);
            break;
        }
        case 11:
            if (h->r) (void)crochet_original_failure(h->r);
            break;
        case 12: {   /* call_later, maybe keeping the handle */
            tracker *t = track(K_TIMER, 1);
            atomic_store(&timers_used, 1);
            int k = arg & 3;
            double delay = ((arg >> 2) & 3) * 0.0005;
            int keep = (arg >> 4) & 1;
            if (keep && ts->timers[k]) {
                crochet_delayed_call_release(ts->timers[k]);
                ts->timers[k] = NULL;
            }
            crochet_delayed_call *c = NULL;
            int s = crochet_call_later(keep ? &c : NULL, delay, timer_fn, t, tracker_destroy);
            if (!allowed_submit(s)) FAILF("call_later returned %s", crochet_status_name(s));
            if (s == CROCHET_OK && keep) { ts->timers[k] = c; ts->timer_t[k] = t; }
            break;
        }
        case 13: {   /* cancel a kept timer */
            int k = arg & 3;
            if (!ts->timers[k]) break;
            int s = crochet_delayed_call_cancel(ts->timers[k]);
            CHECK_STATUS(s, CROCHET_OK, CROCHET_EALREADY);
            if (s == CROCHET_OK) atomic_store(&ts->timer_t[k]->cancel_ok, 1);
            if (arg & 4) { crochet_delayed_call_release(ts->timers[k]); ts->timers[k] = NULL; }
            break;
        }
        case 14: case 15: case 16: case 17: case 18: {   /* reactor jobs */
            static const int jobs[] = { J_NOTHING, J_FIRE, J_ERRBACK, J_DCANCEL, J_ADD_CALLBACKS };
            tracker *t = track(K_FROM_THREAD, 1);
            t->arg = jobs[op - 14] | (arg << 8);
            int s = crochet_call_from_thread(reactor_job, t, tracker_destroy);
            if (!allowed_submit(s)) FAILF("call_from_thread returned %s", crochet_status_name(s));
            break;
        }
        case 19: {   /* wait_for with a short timeout */
            tracker *t = track(K_ADD, 0);
            t->arg = arg;
            crochet_value v;
            crochet_failure *f = NULL;
            int s = crochet_wait_for(&v, &f, op_timeout(arg), (crochet_fn)fz_add1, CROCHET_TYPE_INT32,
                                     (crochet_value[]){ crochet_pointer(t), crochet_int32(arg) }, 2);
            if (s == CROCHET_OK) { CHECK(v.u.i32 == arg + 1); CHECK(f == NULL); }
            else if (s == CROCHET_ETIMEDOUT) CHECK(f == NULL);
            else if (s == CROCHET_ECANCELLED || s == CROCHET_ESTOPPED) CHECK(fork_mode || s == CROCHET_ECANCELLED);
            else FAILF("wait_for returned %s", crochet_status_name(s));
            crochet_failure_release(f);
            break;
        }
        case 20: {   /* retain into another slot */
            struct held *to = &ts->held[(arg >> 3) % SLOTS];
            if (!h->r || to == h) break;
            crochet_result *r = crochet_result_retain(h->r);
            CHECK(r == h->r);
            struct held copy = *h;
            if (to->r) drop(to);
            *to = copy;
            to->r = r;
            break;
        }
        case 21:
            if (fork_mode && !atomic_load(&stopped) && (arg & 7) == 0) {
                atomic_store(&stopped, 1);   /* first: other threads may see ESTOPPED at once */
                CHECK_STATUS(crochet_stop(), CROCHET_OK);
            } else {
                sched_yield();
            }
            break;
        default:   /* 22, 23: let time pass */
            if (arg & 1) sched_yield();
            else for (volatile int spin = 0; spin < arg * 20; spin++) { }
            break;
        }
    }
}

static void *thread_main(void *p) {
    run_ops(p);
    return NULL;
}

/* ---- settling and checking after an input ---- */

struct done_flag { pthread_mutex_t m; pthread_cond_t c; int done; };
static void open_flag(void *p) {
    struct done_flag *f = p;
    pthread_mutex_lock(&f->m);
    f->done = 1;
    pthread_cond_broadcast(&f->c);
    pthread_mutex_unlock(&f->m);
}
static int wait_flag(struct done_flag *f, double timeout) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double end = ts.tv_sec + ts.tv_nsec / 1e9 + timeout;
    struct timespec dl = { (time_t)end, (long)((end - (time_t)end) * 1e9) };
    pthread_mutex_lock(&f->m);
    int rc = 0;
    while (!f->done && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&f->c, &f->m, &dl);
    int ok = f->done;
    pthread_mutex_unlock(&f->m);
    return ok;
}

/* Waits until every timer scheduled so far is due and ran (timers run in
 * deadline order, so one scheduled after them with the longest delay runs
 * last), then runs `job` on the reactor. */
static void settle_reactor(int job) {
    if (atomic_exchange(&timers_used, 0)) {   /* delays are at most 1.5 ms */
        struct done_flag f = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
        CHECK_STATUS(crochet_call_later(NULL, 0.002, open_flag, &f, NULL), CROCHET_OK);
        if (!wait_flag(&f, 10.0)) FAILF("a 2 ms timer did not run within 10 s");
    }
    tracker *t = track(K_FROM_THREAD, 1);
    t->arg = job;
    struct done_flag g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
    CHECK_STATUS(crochet_call_from_thread(reactor_job, t, tracker_destroy), CROCHET_OK);
    CHECK_STATUS(crochet_call_from_thread(open_flag, &g, NULL), CROCHET_OK);
    if (!wait_flag(&g, 10.0)) FAILF("call_from_thread did not run within 10 s");
}

static void wait_destroys(void) {
    double end = now() + 10.0;
    while (atomic_load(&destroyed) != atomic_load(&created)) {
        if (now() > end)
            FAILF("%ld destroys of %ld after 10 s", atomic_load(&destroyed), atomic_load(&created));
        usleep(200);
    }
}

static void finish(struct thread_state *ts, int nthreads) {
    for (int k = 0; k < nthreads; k++)
        for (int j = 0; j < 4; j++)
            if (ts[k].timers[j]) { crochet_delayed_call_release(ts[k].timers[j]); ts[k].timers[j] = NULL; }
    if (!atomic_load(&stopped)) settle_reactor(J_FIRE_ALL);
    else if (fork_mode) CHECK_STATUS(crochet_stop(), CROCHET_OK);
    for (int k = 0; k < nthreads; k++)
        for (int j = 0; j < SLOTS; j++) {
            struct held *h = &ts[k].held[j];
            if (!h->r) continue;
            crochet_value v;
            memset(&v, 0, sizeof v);
            check_outcome(h, crochet_wait(h->r, 10.0, &v), v, 1);
            drop(h);
        }
    for (int i = 0; i < STASH; i++) {
        uint64_t id = stash_table[i].id;
        stash_table[i].id = 0;
        if (!id) continue;
        crochet_result *r = NULL;
        CHECK_STATUS(crochet_retrieve(&r, id), CROCHET_OK);
        struct held h = { r, stash_table[i].t, 0, 0, { 0 } };
        crochet_value v;
        memset(&v, 0, sizeof v);
        check_outcome(&h, crochet_wait(r, 10.0, &v), v, 1);
        crochet_result_release(r);
    }
    if (!atomic_load(&stopped)) settle_reactor(J_NOTHING);   /* destroys queued by the releases */
    wait_destroys();
    pthread_mutex_lock(&trackers_lock);
    tracker *t = trackers;
    trackers = NULL;
    pthread_mutex_unlock(&trackers_lock);
    while (t) {
        tracker *next = t->next;
        int ran = atomic_load(&t->ran);
        CHECK(ran <= 1);
        if (t->expects_destroy) CHECK(atomic_load(&t->destroyed) == 1);
        if (!atomic_load(&stopped)) {
            if (t->kind == K_TIMER) CHECK(ran == !atomic_load(&t->cancel_ok));
            if (t->kind == K_FROM_THREAD) CHECK(ran == 1);
        } else if (t->kind == K_TIMER && atomic_load(&t->cancel_ok)) CHECK(ran == 0);
        t->magic = 0;
        free(t);
        t = next;
    }
    atomic_store(&created, 0);
    atomic_store(&destroyed, 0);
}

static void quiet_log(int level, const char *message, void *ctx) {
    (void)level; (void)message; (void)ctx;
}

static void run_input(const uint8_t *data, size_t size) {
    for (int i = 0; i < STASH; i++) {
        pthread_mutex_init(&stash_table[i].m, NULL);   /* also afresh in a fork child */
        stash_table[i].id = 0;
    }
    int nthreads = 1 + data[0] % 4;
    const uint8_t *rest = data + 1;
    size_t n = size - 1;
    struct thread_state ts[4];
    memset(ts, 0, sizeof ts);
    uint8_t *bufs[4] = { 0 };
    for (int k = 0; k < nthreads; k++) {
        size_t len = n / nthreads + 1;
        bufs[k] = malloc(len);
        CHECK(bufs[k] != NULL);
        size_t m = 0;
        for (size_t i = k; i < n; i += nthreads) bufs[k][m++] = rest[i];
        ts[k].ops = bufs[k];
        ts[k].nops = m;
    }
    for (int k = 1; k < nthreads; k++) CHECK(pthread_create(&ts[k].thread, NULL, thread_main, &ts[k]) == 0);
    run_ops(&ts[0]);
    for (int k = 1; k < nthreads; k++) CHECK(pthread_join(ts[k].thread, NULL) == 0);
    finish(ts, nthreads);
    for (int k = 0; k < nthreads; k++) free(bufs[k]);
}

static void dump_stacks(pid_t pid) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "gdb -batch -p %d -ex 'thread apply all bt' 2>&1 | grep -v '^\\[New' >&2", (int)pid);
    fprintf(stderr, "fuzz-api: fork child %d hangs; its stacks:\n", (int)pid);
    if (system(cmd) != 0) fprintf(stderr, "fuzz-api: (gdb failed)\n");
}

static void run_in_fork_child(const uint8_t *data, size_t size) {
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        alarm(60);
        fork_mode = 1;
        CHECK_STATUS(crochet_setup(), CROCHET_OK);
        CHECK_STATUS(crochet_set_log_handler(quiet_log, NULL, NULL), CROCHET_OK);
        CHECK_STATUS(crochet_add_shutdown_trigger(drain_pool_at_stop, NULL, NULL), CROCHET_OK);
        run_input(data, size);
        if (!atomic_load(&stopped)) {
            atomic_store(&stopped, 1);
            CHECK_STATUS(crochet_stop(), CROCHET_OK);
        }
        _exit(0);
    }
    double end = now() + 30.0;
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        CHECK(w == 0 || w == pid);
        if (w == pid) break;
        if (now() > end) {
            dump_stacks(pid);
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            FAILF("fork child %d still running after 30 s", (int)pid);
        }
        usleep(1000);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        FAILF("fork child %s %d", WIFEXITED(status) ? "exited with status" : "was killed by signal",
              WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready) {
        CHECK_STATUS(crochet_setup(), CROCHET_OK);
        CHECK_STATUS(crochet_set_log_handler(quiet_log, NULL, NULL), CROCHET_OK);
        ready = 1;
    }
    if (size < 1 || size > 4096) return -1;
    if (data[0] >= 0xE0) run_in_fork_child(data, size);
    else run_input(data, size);
    return 0;
}
