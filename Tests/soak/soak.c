/* A soak run (issue 7): 8 threads of mixed load against the staged (release)
 * library for a given time, a fork every FORK_EVERY seconds whose child sets
 * up its own reactor, runs calls and stops, and a final stop with results
 * and timers still pending.
 *   soak SECONDS     (Tests/soak/run.sh, make soak SECONDS=600)
 * Prints the calls done, RSS (the peak over the first quarter of the run
 * against the peak over the last quarter: it must be flat), the worst round
 * trip latency, and "N passed, N failed" over these checks:
 *   - per thread: every call returned its value (or the status it must have:
 *     FAILED with the raised code, CANCELLED only for a call that never ran),
 *     no bounded wait timed out;
 *   - per fork: the child set up, ran calls, stopped and exited 0 in time;
 *   - memory flat: last-quarter peak RSS <= first-quarter peak + 10 % (and
 *     at least 8 MB of slack);
 *   - final stop: every pending result completes with CROCHET_ESTOPPED;
 *   - every destroy ran exactly once (counted, bounded wait after stop);
 *   - no error-level log record (an unhandled failure would be one). */
#define _GNU_SOURCE
#include <crochet.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define THREADS 8

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long rss_kb(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static atomic_int running = 1;
static atomic_long destroys_expected, destroys_done, double_destroys;
static atomic_long error_logs;
static char first_error[256];

static void count_log(int level, const char *message, void *ctx) {
    (void)ctx;
    if (level >= CROCHET_LOG_ERROR && atomic_fetch_add(&error_logs, 1) == 0)
        snprintf(first_error, sizeof first_error, "%s", message);
}

/* A ctx the engine owns: destroy must run exactly once. */
struct owned { atomic_int destroyed; atomic_int ran; int64_t value; };
static struct owned *owned_new(int64_t value) {
    struct owned *o = calloc(1, sizeof *o);
    if (!o) abort();
    o->value = value;
    atomic_fetch_add(&destroys_expected, 1);
    return o;
}
static void owned_destroy(void *p) {
    struct owned *o = p;
    if (atomic_fetch_add(&o->destroyed, 1) != 0) { atomic_fetch_add(&double_destroys, 1); return; }
    atomic_fetch_add(&destroys_done, 1);
    free(o);
}

int32_t soak_add(int32_t a, int32_t b) { return a + b; }
void soak_raise(int32_t code) { crochet_raise(code, "soak"); }

static crochet_value closure_value(void *ctx) {
    struct owned *o = ctx;
    atomic_fetch_add(&o->ran, 1);
    return crochet_int64(o->value);
}

/* A closure returning a deferred a 0-1 ms timer fires. */
static void fire_later(void *ctx) {
    crochet_deferred *d = ctx;
    crochet_deferred_callback(d, crochet_int64(77));   /* EALREADY if cancelled meanwhile: fine */
}
static void release_deferred(void *ctx) { crochet_deferred_release(ctx); }
static crochet_value closure_deferred(void *ctx) {
    struct owned *o = ctx;
    atomic_fetch_add(&o->ran, 1);
    crochet_deferred *d;
    if (crochet_deferred_new(&d, NULL, NULL, NULL) != CROCHET_OK) abort();
    crochet_deferred_retain(d);
    if (crochet_call_later(NULL, (o->value & 1) * 0.001, fire_later, d, release_deferred) != CROCHET_OK) {
        /* stopping: release_deferred already ran */
    }
    crochet_value v;
    v.type = CROCHET_TYPE_DEFERRED;
    v.u.ptr = d;
    return v;
}
/* A closure returning a deferred nobody fires: pending until the final stop. */
static crochet_value closure_never(void *ctx) {
    (void)ctx;
    crochet_deferred *d;
    if (crochet_deferred_new(&d, NULL, NULL, NULL) != CROCHET_OK) abort();
    crochet_value v;
    v.type = CROCHET_TYPE_DEFERRED;
    v.u.ptr = d;
    return v;
}

static void timer_fn(void *ctx) {
    struct owned *o = ctx;
    atomic_fetch_add(&o->ran, 1);
}

struct worker {
    int index;
    uint64_t rng;
    long calls, bad, timeouts;
    double worst;
    char first_bad[200];
    crochet_result *pending[2];   /* left pending for the final stop */
};

static uint64_t next_rand(struct worker *w) {
    w->rng ^= w->rng << 13; w->rng ^= w->rng >> 7; w->rng ^= w->rng << 17;
    return w->rng;
}

static void bad(struct worker *w, const char *what, int status) {
    if (w->bad++ == 0)
        snprintf(w->first_bad, sizeof w->first_bad, "%s: %s", what, crochet_status_name(status));
    if (status == CROCHET_ETIMEDOUT) w->timeouts++;
}

static void latency(struct worker *w, double start) {
    double l = now() - start;
    if (l > w->worst) w->worst = l;
}

static void one_op(struct worker *w) {
    uint64_t r = next_rand(w);
    int32_t a = (int32_t)(r >> 8 & 0xffff), b = (int32_t)(r >> 24 & 0xffff);
    crochet_result *res = NULL;
    crochet_value v;
    int s;
    double start = now();
    switch (r % 20) {
    case 0: case 1: case 2: case 3: case 4: case 5:   /* foreign round trip */
        if ((s = CROCHET_SUBMIT(&res, soak_add, CROCHET_TYPE_INT32, crochet_int32(a), crochet_int32(b)))) { bad(w, "submit", s); return; }
        s = crochet_wait(res, 5.0, &v);
        latency(w, start);
        if (s != CROCHET_OK || v.u.i32 != a + b) bad(w, "add", s);
        crochet_result_release(res);
        w->calls++;
        break;
    case 6: case 7: case 8: {   /* closure round trip, destroy counted */
        struct owned *o = owned_new(a);
        if ((s = crochet_submit_closure(&res, closure_value, o, owned_destroy))) { bad(w, "submit_closure", s); return; }
        s = crochet_wait(res, 5.0, &v);
        latency(w, start);
        if (s != CROCHET_OK || v.u.i64 != a) bad(w, "closure", s);
        crochet_result_release(res);
        w->calls++;
        break;
    }
    case 9: {   /* submit then cancel at once */
        struct owned *o = owned_new(a);
        if ((s = crochet_submit_closure(&res, closure_value, o, owned_destroy))) { bad(w, "submit_closure", s); return; }
        crochet_cancel(res);
        s = crochet_wait(res, 5.0, &v);
        if (!(s == CROCHET_OK && v.u.i64 == a) && s != CROCHET_ECANCELLED) bad(w, "cancelled closure", s);
        crochet_result_release(res);
        w->calls++;
        break;
    }
    case 10: case 11: {   /* wait_for */
        crochet_failure *f = NULL;
        s = crochet_wait_for(&v, &f, 5.0, (crochet_fn)soak_add, CROCHET_TYPE_INT32,
                             (crochet_value[]){ crochet_int32(a), crochet_int32(b) }, 2);
        latency(w, start);
        if (s != CROCHET_OK || v.u.i32 != a + b) bad(w, "wait_for", s);
        crochet_failure_release(f);
        w->calls++;
        break;
    }
    case 12: {   /* a raise, observed */
        if ((s = CROCHET_SUBMIT(&res, soak_raise, CROCHET_TYPE_VOID, crochet_int32(900 + (a & 7))))) { bad(w, "submit", s); return; }
        s = crochet_wait(res, 5.0, NULL);
        latency(w, start);
        if (s != CROCHET_EFAILED || crochet_failure_code(crochet_original_failure(res)) != 900 + (a & 7))
            bad(w, "raise", s);
        crochet_result_release(res);
        w->calls++;
        break;
    }
    case 13: {   /* stash and retrieve */
        if ((s = CROCHET_SUBMIT(&res, soak_add, CROCHET_TYPE_INT32, crochet_int32(a), crochet_int32(1)))) { bad(w, "submit", s); return; }
        uint64_t id = 0;
        if ((s = crochet_stash(res, &id))) bad(w, "stash", s);
        crochet_result_release(res);
        res = NULL;
        if ((s = crochet_retrieve(&res, id))) { bad(w, "retrieve", s); return; }
        s = crochet_wait(res, 5.0, &v);
        if (s != CROCHET_OK || v.u.i32 != a + 1) bad(w, "stashed", s);
        crochet_result_release(res);
        w->calls++;
        break;
    }
    case 14: case 15: {   /* a deferred a timer fires */
        struct owned *o = owned_new(a);
        if ((s = crochet_submit_closure(&res, closure_deferred, o, owned_destroy))) { bad(w, "submit_closure", s); return; }
        s = crochet_wait(res, 5.0, &v);
        latency(w, start);
        if (s != CROCHET_OK || v.u.i64 != 77) bad(w, "deferred", s);
        crochet_result_release(res);
        w->calls++;
        break;
    }
    case 16: {   /* timers, half cancelled */
        struct owned *o = owned_new(a);
        crochet_delayed_call *c = NULL;
        if ((s = crochet_call_later(&c, (a & 3) * 0.0005, timer_fn, o, owned_destroy))) { bad(w, "call_later", s); return; }
        if (a & 4) {
            s = crochet_delayed_call_cancel(c);
            if (s != CROCHET_OK && s != CROCHET_EALREADY) bad(w, "delayed_call_cancel", s);
        }
        crochet_delayed_call_release(c);
        w->calls++;
        break;
    }
    default: {   /* a pipelined batch */
        crochet_result *batch[16];
        int n = 0;
        for (int i = 0; i < 16; i++) {
            if ((s = CROCHET_SUBMIT(&batch[n], soak_add, CROCHET_TYPE_INT32, crochet_int32(i), crochet_int32(a)))) { bad(w, "submit", s); break; }
            n++;
        }
        for (int i = 0; i < n; i++) {
            s = crochet_wait(batch[i], 5.0, &v);
            if (s != CROCHET_OK || v.u.i32 != i + a) bad(w, "batch", s);
            crochet_result_release(batch[i]);
        }
        latency(w, start);
        w->calls += n;
        break;
    }
    }
}

static void *worker_main(void *p) {
    struct worker *w = p;
    while (atomic_load_explicit(&running, memory_order_relaxed)) one_op(w);
    /* Leave work pending for the final stop: a call following a deferred
     * nobody fires, and a timer a minute away. */
    struct owned *o = owned_new(0);
    int s = crochet_submit_closure(&w->pending[0], closure_never, o, owned_destroy);
    if (s) bad(w, "submit_closure (pending)", s);
    o = owned_new(0);
    s = crochet_call_later(NULL, 60.0, timer_fn, o, owned_destroy);
    if (s) bad(w, "call_later (pending)", s);
    return NULL;
}

/* ---- fork children ---- */

static int child_work(void) {
    alarm(30);
    if (crochet_setup() != CROCHET_OK) return 3;
    for (int i = 0; i < 200; i++) {
        crochet_result *r;
        crochet_value v;
        if (CROCHET_SUBMIT(&r, soak_add, CROCHET_TYPE_INT32, crochet_int32(i), crochet_int32(1))) return 4;
        if (crochet_wait(r, 5.0, &v) != CROCHET_OK || v.u.i32 != i + 1) return 5;
        crochet_result_release(r);
    }
    crochet_result *r;
    if (CROCHET_SUBMIT(&r, soak_raise, CROCHET_TYPE_VOID, crochet_int32(5))) return 6;
    if (crochet_wait(r, 5.0, NULL) != CROCHET_EFAILED) return 7;
    crochet_result_release(r);
    if (crochet_stop() != CROCHET_OK) return 8;
    return 0;
}

static void dump_stacks(pid_t pid) {
    char cmd[160];
    snprintf(cmd, sizeof cmd, "gdb -batch -p %d -ex 'thread apply all bt' 2>&1 | grep -v '^\\[New' >&2", (int)pid);
    fprintf(stderr, "soak: fork child %d hangs; its stacks:\n", (int)pid);
    if (system(cmd) != 0) fprintf(stderr, "soak: (gdb failed)\n");
}

/* Forks; the child runs child_work. Returns 1 if the child exited 0 in time. */
static int one_fork(char *why, size_t whylen) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) { snprintf(why, whylen, "fork: %s", strerror(errno)); return 0; }
    if (pid == 0) _exit(child_work());
    double end = now() + 20.0;
    int status;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) break;
        if (now() > end) {
            dump_stacks(pid);
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            snprintf(why, whylen, "child %d still running after 20 s", (int)pid);
            return 0;
        }
        usleep(2000);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 1;
    snprintf(why, whylen, "child %s %d", WIFEXITED(status) ? "exited with status" : "killed by signal",
             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return 0;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 20;
    double fork_every = getenv("FORK_EVERY") ? atof(getenv("FORK_EVERY")) : 2.0;
    if (!(seconds > 0)) { fprintf(stderr, "usage: soak SECONDS\n"); return 2; }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (crochet_setup() != CROCHET_OK) { printf("not ok - crochet_setup\n0 passed, 1 failed\n"); return 1; }
    crochet_set_log_handler(count_log, NULL, NULL);
    int passed = 0, failed = 0;
#define RESULT(ok, ...) do { if (ok) { passed++; printf("ok - "); } else { failed++; printf("not ok - "); } \
                             printf(__VA_ARGS__); printf("\n"); } while (0)

    struct worker w[THREADS];
    pthread_t t[THREADS];
    memset(w, 0, sizeof w);
    double start = now();
    for (int i = 0; i < THREADS; i++) {
        w[i].index = i;
        w[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
        if (pthread_create(&t[i], NULL, worker_main, &w[i]) != 0) abort();
    }
    long first_peak = 0, last_peak = 0, first_rss = 0;
    int forks = 0, forks_ok = 0;
    double next_fork = start + fork_every, next_report = start + 60;
    char why[200];
    while (now() - start < seconds) {
        usleep(100 * 1000);
        double el = now() - start;
        long rss = rss_kb();
        if (!first_rss) first_rss = rss;
        if (el <= seconds / 4 && rss > first_peak) first_peak = rss;
        if (el >= seconds * 3 / 4 && rss > last_peak) last_peak = rss;
        if (now() >= next_fork) {
            forks++;
            if (one_fork(why, sizeof why)) forks_ok++;
            else { failed++; printf("not ok - fork %d: %s\n", forks, why); }
            next_fork = now() + fork_every;
        }
        if (now() >= next_report) {
            long calls = 0;
            for (int i = 0; i < THREADS; i++) calls += w[i].calls;   /* racy read: a progress line */
            printf("# %.0f s: %ld calls, RSS %ld kB, %d forks\n", el, calls, rss, forks);
            next_report += 60;
        }
    }
    atomic_store(&running, 0);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    double elapsed = now() - start;

    long calls = 0;
    double worst = 0;
    for (int i = 0; i < THREADS; i++) {
        calls += w[i].calls;
        if (w[i].worst > worst) worst = w[i].worst;
        if (w[i].bad)
            RESULT(0, "thread %d: %ld calls, %ld wrong (%ld timed out); first: %s", i, w[i].calls, w[i].bad,
                   w[i].timeouts, w[i].first_bad);
        else RESULT(1, "thread %d: %ld calls, all as expected", i, w[i].calls);
    }
    passed += forks_ok;
    printf("%s - %d of %d forks: the child set up, ran 201 calls and stopped\n",
           forks_ok == forks ? "ok" : "not ok", forks_ok, forks);

    /* The final stop: everything pending completes with ESTOPPED. */
    if (crochet_stop() != CROCHET_OK) RESULT(0, "crochet_stop");
    int stopped_ok = 1;
    for (int i = 0; i < THREADS; i++) {
        if (!w[i].pending[0]) continue;
        int s = crochet_wait(w[i].pending[0], 10.0, NULL);
        if (s != CROCHET_ESTOPPED) { stopped_ok = 0; printf("# pending result of thread %d: %s\n", i, crochet_status_name(s)); }
        crochet_result_release(w[i].pending[0]);
    }
    RESULT(stopped_ok, "final stop: every pending result completed with CROCHET_ESTOPPED");
    double end = now() + 10.0;
    while (atomic_load(&destroys_done) + atomic_load(&double_destroys) < atomic_load(&destroys_expected) && now() < end)
        usleep(1000);
    RESULT(atomic_load(&destroys_done) == atomic_load(&destroys_expected) && atomic_load(&double_destroys) == 0,
           "destroys: %ld of %ld ran, %ld twice", atomic_load(&destroys_done), atomic_load(&destroys_expected),
           atomic_load(&double_destroys));
    crochet_log_flush(5.0);
    RESULT(atomic_load(&error_logs) == 0, "error-level log records: %ld%s%s", atomic_load(&error_logs),
           atomic_load(&error_logs) ? "; first: " : "", first_error);

    long slack = first_peak / 10 > 8192 ? first_peak / 10 : 8192;
    printf("calls done: %ld in %.1f s (%.0f/s), forks: %d\n", calls, elapsed, calls / elapsed, forks);
    printf("RSS: %ld kB at start; peak %ld kB over the first quarter, %ld kB over the last quarter\n",
           first_rss, first_peak, last_peak);
    RESULT(last_peak <= first_peak + slack, "memory flat: last-quarter peak %+ld kB from the first quarter's (allowed %+ld)",
           last_peak - first_peak, slack);
    printf("worst round-trip latency: %.1f ms\n", worst * 1000);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
