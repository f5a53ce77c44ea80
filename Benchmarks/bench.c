/* libcrochet benchmarks: what C callers pay, beside a raw-futex ping-pong
 * round trip measured in the same run (the cost of one cross-thread wake-up
 * on this machine). Every figure is the median of REPS repetitions, with its
 * spread (min..max) and its ratio to the baseline.
 *
 *   bench [--quick]
 */
#define _GNU_SOURCE
#include <crochet.h>
#include <errno.h>
#include <linux/futex.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <malloc.h>

static void must(int s, const char *what) {
    if (s != CROCHET_OK) {
        fprintf(stderr, "%s: %s\n", what, crochet_strerror(s));
        exit(1);
    }
}

static int REPS = 7;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct { double median, min, max; } stat;

static stat summarize(double *v, int n) {
    qsort(v, n, sizeof *v, cmp_double);
    stat s = { n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, v[0], v[n - 1] };
    return s;
}

static void pin(int cpu) {
    if (cpu < 0) {
        cpu_set_t all;
        CPU_ZERO(&all);
        for (int i = 0; i < CPU_SETSIZE; i++) CPU_SET(i, &all);
        sched_setaffinity(0, sizeof all, &all);
        return;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

/* ---- baseline: two threads ping-ponging through a raw futex ---- */

static _Atomic uint32_t futex_word;
static int pp_iters;
static int pp_peer_cpu;

static void futex_wait(_Atomic uint32_t *w, uint32_t v) {
    syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}
static void futex_wake(_Atomic uint32_t *w) {
    syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *pong(void *arg) {
    (void)arg;
    pin(pp_peer_cpu);
    for (int i = 0; i < pp_iters; i++) {
        while (atomic_load(&futex_word) != 1) futex_wait(&futex_word, 0);
        atomic_store(&futex_word, 0);
        futex_wake(&futex_word);
    }
    return NULL;
}

/* ns per round trip (ping + pong). */
static double futex_pingpong(int cpu_self, int cpu_peer, int iters) {
    pp_iters = iters;
    pp_peer_cpu = cpu_peer;
    atomic_store(&futex_word, 0);
    pin(cpu_self);
    pthread_t t;
    pthread_create(&t, NULL, pong, NULL);
    double start = now();
    for (int i = 0; i < iters; i++) {
        atomic_store(&futex_word, 1);
        futex_wake(&futex_word);
        while (atomic_load(&futex_word) != 0) futex_wait(&futex_word, 1);
    }
    double elapsed = now() - start;
    pthread_join(t, NULL);
    pin(-1);
    return elapsed / iters * 1e9;
}

/* ---- libcrochet ---- */

int32_t add(int32_t a, int32_t b) { return a + b; }

static int32_t pin_reactor(int32_t cpu) {
    pin(cpu);
    return 0;
}

static void pin_reactor_to(int cpu) {
    crochet_result *r;
    must(CROCHET_SUBMIT(&r, pin_reactor, CROCHET_TYPE_INT32, crochet_int32(cpu)), "submit");
    if (crochet_wait(r, INFINITY, NULL) != CROCHET_OK) abort();
    crochet_result_release(r);
}


static double round_trip(int iters) {
    crochet_value args[2] = { crochet_int32(1), crochet_int32(2) };
    crochet_value v;
    double start = now();
    for (int i = 0; i < iters; i++) {
        crochet_result *r;
        must(crochet_submit(&r, (crochet_fn)add, CROCHET_TYPE_INT32, args, 2), "submit");
        must(crochet_wait(r, INFINITY, &v), "wait");
        crochet_result_release(r);
    }
    return (now() - start) / iters * 1e9;
}

/* calls per second: submit n, then wait for all. */
static double pipelined(int n) {
    crochet_result **rs = malloc(sizeof *rs * n);
    crochet_value args[2] = { crochet_int32(1), crochet_int32(2) };
    double start = now();
    for (int i = 0; i < n; i++)
        must(crochet_submit(&rs[i], (crochet_fn)add, CROCHET_TYPE_INT32, args, 2), "submit");
    for (int i = 0; i < n; i++) {
        must(crochet_wait(rs[i], INFINITY, NULL), "wait");
        crochet_result_release(rs[i]);
    }
    double elapsed = now() - start;
    free(rs);
    return n / elapsed;
}

static int contended_iters;
static void *contended_worker(void *arg) {
    (void)arg;
    round_trip(contended_iters);
    return NULL;
}

/* total calls per second with `threads` callers doing round trips. */
static double contended(int threads, int iters) {
    pthread_t t[16];
    contended_iters = iters;
    double start = now();
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, contended_worker, NULL);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    return threads * (double)iters / (now() - start);
}

/* ---- memory per pending result ---- */

/* Bytes malloc has handed out (all arenas): unlike RSS, not hidden by the
 * reuse of memory earlier benchmarks freed. */
static long heap_bytes(void) {
    struct mallinfo2 mi = mallinfo2();
    return (long)(mi.uordblks + mi.hblkhd);
}


static _Atomic int gate;
static int32_t block_reactor(void) {
    while (!atomic_load(&gate)) sched_yield();
    return 0;
}

static double bytes_per_pending(int n) {
    crochet_result **rs = malloc(sizeof *rs * n);
    memset(rs, 0, sizeof *rs * n);   /* touch the array before measuring */
    atomic_store(&gate, 0);
    crochet_result *blocker;
    must(CROCHET_SUBMIT(&blocker, block_reactor, CROCHET_TYPE_INT32), "submit");
    crochet_value args[2] = { crochet_int32(1), crochet_int32(2) };
    long before = heap_bytes();
    for (int i = 0; i < n; i++)
        must(crochet_submit(&rs[i], (crochet_fn)add, CROCHET_TYPE_INT32, args, 2), "submit");
    long after = heap_bytes();
    atomic_store(&gate, 1);
    if (crochet_wait(blocker, INFINITY, NULL) != CROCHET_OK) abort();
    crochet_result_release(blocker);
    for (int i = 0; i < n; i++) {
        if (crochet_wait(rs[i], INFINITY, NULL) != CROCHET_OK) abort();
        crochet_result_release(rs[i]);
    }
    free(rs);
    return (double)(after - before) / n;
}

/* ---- timers ---- */

static void nop(void *ctx) { (void)ctx; }

struct timer_bench { int n; double schedule_ns, cancel_ns; };

static void timer_bench_on_reactor(struct timer_bench *tb) {
    crochet_delayed_call **calls = malloc(sizeof *calls * tb->n);
    unsigned seed = 12345;
    double start = now();
    for (int i = 0; i < tb->n; i++) {
        double delay = 1000.0 + (rand_r(&seed) % 1000000) / 1000.0;
        if (crochet_call_later(&calls[i], delay, nop, NULL, NULL) != CROCHET_OK) abort();
    }
    double mid = now();
    for (int i = 0; i < tb->n; i++) crochet_delayed_call_cancel(calls[(int)(((long long)i * 7919) % tb->n)]);
    double end = now();
    for (int i = 0; i < tb->n; i++) crochet_delayed_call_release(calls[i]);
    free(calls);
    tb->schedule_ns = (mid - start) / tb->n * 1e9;
    tb->cancel_ns = (end - mid) / tb->n * 1e9;
}

static int32_t run_timer_bench(struct timer_bench *tb) {
    timer_bench_on_reactor(tb);
    return 0;
}

struct order_check { int n, next, wrong; _Atomic int done; struct order_entry *entries; int *perm; };
struct order_entry { struct order_check *check; int expected; };
static void order_fire(void *p) {
    struct order_entry *e = p;
    if (e->expected != e->check->next) e->check->wrong++;
    e->check->next++;
    if (e->check->next == e->check->n) atomic_store(&e->check->done, 1);
}

/* Groups of 4 timers with equal delays, the groups 1 ms apart and scheduled
 * in shuffled order, all from the reactor thread within far less than 1 ms:
 * they must fire in delay order, and in scheduling order within a group. */
static int32_t schedule_ordered(struct order_check *check) {
    for (int g = 0; g < check->n / 4; g++) {
        for (int k = 0; k < 4; k++) {
            struct order_entry *e = &check->entries[check->perm[g] * 4 + k];
            e->check = check;
            e->expected = check->perm[g] * 4 + k;
            if (crochet_call_later(NULL, 0.02 + check->perm[g] * 1e-3, order_fire, e, NULL) != CROCHET_OK) abort();
        }
    }
    return 0;
}

static int timers_in_order(int n) {
    struct order_check check = { n, 0, 0, 0, malloc(sizeof(struct order_entry) * n), malloc(sizeof(int) * (n / 4)) };
    int groups = n / 4;
    for (int i = 0; i < groups; i++) check.perm[i] = i;
    unsigned seed = 7;
    for (int i = groups - 1; i > 0; i--) {
        int j = rand_r(&seed) % (i + 1), t = check.perm[i];
        check.perm[i] = check.perm[j];
        check.perm[j] = t;
    }
    crochet_result *r;
    must(CROCHET_SUBMIT(&r, schedule_ordered, CROCHET_TYPE_INT32, crochet_pointer(&check)), "submit");
    if (crochet_wait(r, INFINITY, NULL) != CROCHET_OK) abort();
    crochet_result_release(r);
    double deadline = now() + 30;
    while (!atomic_load(&check.done) && now() < deadline) usleep(1000);
    int ok = atomic_load(&check.done) && check.wrong == 0;
    free(check.perm);
    free(check.entries);
    return ok;
}

/* ---- fd readiness with many watched pipes ---- */

struct fd_bench { int nfds; int *fds; _Atomic int hits; };
static void on_readable(int fd, void *ctx) {
    struct fd_bench *fb = ctx;
    uint64_t v;
    if (read(fd, &v, sizeof v) == sizeof v) atomic_fetch_add(&fb->hits, 1);
}
static int32_t watch_all(struct fd_bench *fb) {
    for (int i = 0; i < fb->nfds; i++)
        if (crochet_add_reader(fb->fds[i], on_readable, fb, NULL) != CROCHET_OK) return 1;
    return 0;
}
static int32_t unwatch_all(struct fd_bench *fb) {
    for (int i = 0; i < fb->nfds; i++) crochet_remove_reader(fb->fds[i]);
    return 0;
}

/* ns from making one of nfds watched eventfds readable until its callback ran. */
static double fd_latency(int nfds, int rounds) {
    struct fd_bench fb = { nfds, malloc(sizeof(int) * nfds), 0 };
    for (int i = 0; i < nfds; i++) {
        if ((fb.fds[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
            perror("eventfd");
            exit(1);
        }
    }
    crochet_result *r;
    crochet_value v;
    must(CROCHET_SUBMIT(&r, watch_all, CROCHET_TYPE_INT32, crochet_pointer(&fb)), "submit");
    if (crochet_wait(r, INFINITY, &v) != CROCHET_OK) abort();
    crochet_result_release(r);
    if (v.u.i32 != 0) {
        fprintf(stderr, "add_reader failed\n");
        exit(1);
    }
    double total = 0;
    for (int k = 0; k < rounds; k++) {
        int target = (int)(((long long)k * 7919) % nfds);
        int before = atomic_load(&fb.hits);
        /* Let the reactor go idle (asleep in epoll) so the wake-up is measured. */
        usleep(200);
        uint64_t one = 1;
        double start = now();
        if (write(fb.fds[target], &one, sizeof one) != sizeof one) exit(1);
        while (atomic_load(&fb.hits) == before) sched_yield();
        total += now() - start;
    }
    must(CROCHET_SUBMIT(&r, unwatch_all, CROCHET_TYPE_INT32, crochet_pointer(&fb)), "submit");
    if (crochet_wait(r, INFINITY, NULL) != CROCHET_OK) abort();
    crochet_result_release(r);
    for (int i = 0; i < nfds; i++) close(fb.fds[i]);
    free(fb.fds);
    return total / rounds * 1e9;
}

/* ---- defer_to_thread round trip ---- */

static crochet_deferred *add_on_worker(void) {
    crochet_deferred *d;
    must(crochet_defer_to_thread(&d, (crochet_fn)add, CROCHET_TYPE_INT32,
                                 (crochet_value[]){ crochet_int32(1), crochet_int32(2) }, 2), "defer_to_thread");
    return d;
}

static double defer_round_trip(int iters) {
    double start = now();
    for (int i = 0; i < iters; i++) {
        crochet_result *r;
        must(CROCHET_SUBMIT(&r, add_on_worker, CROCHET_TYPE_DEFERRED), "submit");
        must(crochet_wait(r, INFINITY, NULL), "wait");
        crochet_result_release(r);
    }
    return (now() - start) / iters * 1e9;
}

/* ---- report ---- */

static void row(const char *name, stat s, const char *unit, double baseline, const char *budget) {
    printf("%-46s %12.1f %-8s [%10.1f .. %10.1f]", name, s.median, unit, s.min, s.max);
    if (baseline > 0) printf("  %6.2fx futex", s.median / baseline);
    if (budget) printf("  (%s)", budget);
    printf("\n");
}

#define MEASURE(var, expr) do { \
        double _v[64]; \
        for (int _i = 0; _i < REPS; _i++) _v[_i] = (expr); \
        var = summarize(_v, REPS); \
    } while (0)

int main(int argc, char **argv) {
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    if (quick) REPS = 5;
    int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    int rt_iters = quick ? 20000 : 100000;
    must(crochet_setup(), "setup");
    printf("libcrochet %s benchmarks: %d repetitions each, median [min .. max]; %d CPUs\n\n",
           crochet_version(), REPS, ncpu);

    stat futex_any, futex_same, futex_cross, rt_any, rt_same, rt_cross;
    MEASURE(futex_any, futex_pingpong(-1, -1, rt_iters / 4));
    round_trip(rt_iters / 10);   /* warm up */
    MEASURE(rt_any, round_trip(rt_iters));
    row("futex ping-pong round trip (unpinned)", futex_any, "ns", 0, NULL);
    row("submit+wait round trip (unpinned)", rt_any, "ns", futex_any.median, "budget <= 0.5x");

    MEASURE(futex_same, futex_pingpong(0, 0, rt_iters / 4));
    pin_reactor_to(0);
    pin(0);
    MEASURE(rt_same, round_trip(rt_iters / 4));
    pin(-1);
    row("futex ping-pong round trip (same core)", futex_same, "ns", 0, NULL);
    row("submit+wait round trip (same core)", rt_same, "ns", futex_same.median, NULL);
    if (ncpu > 1) {
        MEASURE(futex_cross, futex_pingpong(0, 1, rt_iters / 4));
        pin_reactor_to(1);
        pin(0);
        MEASURE(rt_cross, round_trip(rt_iters));
        pin(-1);
        row("futex ping-pong round trip (two cores)", futex_cross, "ns", 0, NULL);
        row("submit+wait round trip (two cores)", rt_cross, "ns", futex_cross.median, NULL);
    }
    pin_reactor_to(-1);

    stat pipe_rate, cont_rate, mem, defer_rt;
    pipelined(100000);   /* warm up: the first run pays the page faults */
    MEASURE(pipe_rate, pipelined(100000) / 1e6);
    row("pipelined: submit 100,000 then wait all", pipe_rate, "M/s", 0, "budget >= 5 M/s");
    MEASURE(cont_rate, contended(4, quick ? 20000 : 50000) / 1e3);
    row("4 caller threads doing round trips", cont_rate, "k/s", 0, "budget >= 300 k/s");
    {
        double v[64];
        int reps = quick ? 3 : 5;
        for (int i = 0; i < reps; i++) v[i] = bytes_per_pending(1000000);
        mem = summarize(v, reps);
        row("memory per pending result (1,000,000 pending)", mem, "bytes", 0, "budget <= 200");
    }
    MEASURE(defer_rt, defer_round_trip(quick ? 2000 : 10000));
    row("defer_to_thread round trip", defer_rt, "ns", futex_any.median, NULL);
    printf("%-46s %12.1f ns (engine round trip, for comparison)\n", "", rt_any.median);

    printf("\n");
    int sizes[2] = { 10000, 1000000 };
    for (int k = 0; k < 2; k++) {
        double sv[64], cv[64];
        int reps = sizes[k] > 100000 ? (quick ? 3 : 5) : REPS;
        for (int i = 0; i < reps; i++) {
            struct timer_bench tb = { sizes[k], 0, 0 };
            crochet_result *r;
            must(CROCHET_SUBMIT(&r, run_timer_bench, CROCHET_TYPE_INT32, crochet_pointer(&tb)), "submit");
            if (crochet_wait(r, INFINITY, NULL) != CROCHET_OK) abort();
            crochet_result_release(r);
            sv[i] = tb.schedule_ns;
            cv[i] = tb.cancel_ns;
        }
        char name[80];
        snprintf(name, sizeof name, "call_later schedule, %d pending", sizes[k]);
        row(name, summarize(sv, reps), "ns", 0, NULL);
        snprintf(name, sizeof name, "delayed_call_cancel, %d pending", sizes[k]);
        row(name, summarize(cv, reps), "ns", 0, NULL);
    }
    printf("%-46s %s\n", "timers fire in deadline order, FIFO on ties",
           timers_in_order(1000) ? "yes (1,000 timers, 250 groups of equal deadlines)" : "NO");

    printf("\n");
    stat fd10, fd10k;
    MEASURE(fd10, fd_latency(10, quick ? 200 : 1000));
    MEASURE(fd10k, fd_latency(10000, quick ? 200 : 1000));
    row("pipe write -> reader callback, 10 watched", fd10, "ns", futex_any.median, NULL);
    row("pipe write -> reader callback, 10,000 watched", fd10k, "ns", futex_any.median, NULL);
    return 0;
}
