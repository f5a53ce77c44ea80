/* libcrochet benchmarks: what C callers pay, beside two baselines measured in
 * the same run: a raw-futex ping-pong round trip (the cost of one
 * cross-thread wake-up on this machine), and a libuv peer in the same
 * process (uv-peer.c: uv_async + a mutex queue + a futex per request, the
 * design a C programmer would otherwise write). Every figure is the median of
 * repetitions, with its spread (min..max) and its ratio to the baseline;
 * the goals of issue 11 get a PASS/FAIL verdict line each, and every figure
 * goes to a machine-readable summary. docs/benchmarks.md says what each row
 * measures and how.
 *
 *   bench [--quick] [--summary FILE.tsv] [--prev PREVIOUS.tsv]
 *         [--only rt,peer,paced,competing,memory,timers]
 *   bench --memory-child queued|uv-queued|follower|deferred   (used by bench itself)
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
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "uv-peer.h"

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

/* ---- the libuv peer beside libcrochet: one interface for both ---- */

typedef struct impl {
    const char *name;
    void *(*submit)(void);          /* queues add(1, 2) */
    int32_t (*wait)(void *);
    void (*release)(void *);
} impl;

static void *c_submit(void) {
    crochet_result *r;
    crochet_value args[2] = { crochet_int32(1), crochet_int32(2) };
    must(crochet_submit(&r, (crochet_fn)add, CROCHET_TYPE_INT32, args, 2), "submit");
    return r;
}
static int32_t c_wait(void *p) {
    crochet_value v;
    must(crochet_wait(p, INFINITY, &v), "wait");
    return v.u.i32;
}
static void c_release(void *p) { crochet_result_release(p); }

static void *u_submit(void) {
    uvp_req *r = uvp_submit(add, 1, 2);
    if (!r) abort();
    return r;
}
static int32_t u_wait(void *p) { return uvp_wait(p); }
static void u_release(void *p) { uvp_release(p); }

static const impl CROCHET = { "libcrochet", c_submit, c_wait, c_release };
static const impl UV = { "libuv+futex", u_submit, u_wait, u_release };

static int cmp_double_inplace(const void *a, const void *b) { return cmp_double(a, b); }

/* The q-quantile of v[0..n) (sorts v). */
static double quantile(double *v, int n, double q) {
    qsort(v, n, sizeof *v, cmp_double_inplace);
    int i = (int)(q * (n - 1) + 0.5);
    return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

static double thread_cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
         + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Back-to-back round trips: mean ns per call; *p50 the median call in ns. */
static double impl_round_trip(const impl *m, int iters, double *p50) {
    double *lat = malloc(sizeof *lat * iters);
    double start = now();
    for (int i = 0; i < iters; i++) {
        double s = now();
        void *r = m->submit();
        if (m->wait(r) != 3) abort();
        m->release(r);
        lat[i] = now() - s;
    }
    double mean = (now() - start) / iters * 1e9;
    *p50 = quantile(lat, iters, 0.5) * 1e9;
    free(lat);
    return mean;
}

/* Calls per second: submit n, then wait for all. */
static double impl_pipelined(const impl *m, int n) {
    void **rs = malloc(sizeof *rs * n);
    double start = now();
    for (int i = 0; i < n; i++) rs[i] = m->submit();
    for (int i = 0; i < n; i++) {
        if (m->wait(rs[i]) != 3) abort();
        m->release(rs[i]);
    }
    double elapsed = now() - start;
    free(rs);
    return n / elapsed;
}

struct worker_arg { const impl *m; int iters; };
static void *impl_worker(void *p) {
    struct worker_arg *a = p;
    for (int i = 0; i < a->iters; i++) {
        void *r = a->m->submit();
        if (a->m->wait(r) != 3) abort();
        a->m->release(r);
    }
    return NULL;
}

/* Total calls per second with `threads` callers doing round trips. */
static double impl_contended(const impl *m, int threads, int iters) {
    pthread_t t[16];
    struct worker_arg a = { m, iters };
    double start = now();
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, impl_worker, &a);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    return threads * (double)iters / (now() - start);
}

/* One caller paced at `rate` calls/s for `calls` calls, sleeping (absolute
 * deadlines, 1 ns timer slack) between calls; a window that runs late (the
 * machine is busy) ends after 1.5x its nominal length + 0.5 s, and the
 * figures are over the calls made (the achieved rate shows the shortfall). */
struct paced { double p50_us, p99_us, cpu_us, rate, caller_cpu_us; };

static struct paced impl_paced(const impl *m, double rate, int calls) {
    double *lat = malloc(sizeof *lat * calls);
    usleep(20000);   /* let both implementations go idle before the window */
    long period = (long)(1e9 / rate);
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    double cpu0 = cpu_seconds(), tcpu0 = thread_cpu_seconds(), start = now();
    double limit = start + 1.5 * calls / rate + 0.5;
    int made = 0;
    for (int i = 0; i < calls && (i % 64 || now() < limit); i++, made++) {
        next.tv_nsec += period;
        while (next.tv_nsec >= 1000000000L) { next.tv_nsec -= 1000000000L; next.tv_sec++; }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        double s = now();
        void *r = m->submit();
        if (m->wait(r) != 3) abort();
        m->release(r);
        lat[i] = now() - s;
    }
    double elapsed = now() - start, cpu = cpu_seconds() - cpu0, tcpu = thread_cpu_seconds() - tcpu0;
    struct paced p;
    p.cpu_us = cpu / made * 1e6;
    p.caller_cpu_us = tcpu / made * 1e6;
    p.rate = made / elapsed;
    p.p50_us = quantile(lat, made, 0.5) * 1e6;
    p.p99_us = quantile(lat, made, 0.99) * 1e6;
    free(lat);
    return p;
}

/* Two CPU-bound threads (nice 0) run while one caller is paced: their
 * progress says how much of the machine the implementation took from them. */
static _Atomic int hog_stop;
static _Atomic unsigned long hog_work;
static void *hog(void *arg) {
    (void)arg;
    unsigned long n = 0;
    volatile double x = 1;
    while (!atomic_load_explicit(&hog_stop, memory_order_relaxed)) {
        for (int k = 0; k < 1000; k++) x = x * 1.0000001 + 1e-9;
        n++;
    }
    atomic_fetch_add(&hog_work, n);
    return NULL;
}

struct competing { struct paced p; double hog_mops; };

static struct competing impl_competing(const impl *m, double rate, int calls) {
    pthread_t h[2];
    atomic_store(&hog_stop, 0);
    atomic_store(&hog_work, 0);
    for (int i = 0; i < 2; i++) pthread_create(&h[i], NULL, hog, NULL);
    double start = now();
    struct competing c;
    c.p = impl_paced(m, rate, calls);
    atomic_store(&hog_stop, 1);
    for (int i = 0; i < 2; i++) pthread_join(h[i], NULL);
    c.hog_mops = atomic_load(&hog_work) * 1000.0 / (now() - start) / 1e6;
    return c;
}

/* ---- memory, each figure measured in a fresh child process ---- */

static long rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (!f || fscanf(f, "%ld %ld", &size, &resident) != 2) exit(1);
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

static void barrier(void) {
    void *r = c_submit();
    c_wait(r);
    c_release(r);
}

static crochet_deferred *make_unfired(void) {
    crochet_deferred *d;
    must(crochet_deferred_new(&d, NULL, NULL, NULL), "deferred_new");
    return d;
}

/* On the reactor: n unfired deferreds, each with a result following it
 * (the result keeps the deferred; ours is dropped). */
struct follow { crochet_result **rs; int n; };
static int32_t make_followers(struct follow *f) {
    for (int i = 0; i < f->n; i++) {
        crochet_deferred *d;
        must(crochet_deferred_new(&d, NULL, NULL, NULL), "deferred_new");
        must(crochet_result_new(&f->rs[i], d), "result_new");
        crochet_deferred_release(d);
    }
    return 0;
}

static int32_t block_loop(int32_t a, int32_t b) {
    (void)a; (void)b;
    while (!atomic_load(&gate)) sched_yield();
    return 0;
}

/* Prints "rss_bytes_per_item heap_bytes_per_item" and exits without
 * cleaning up (the process ends anyway). */
static void drop_log(int level, const char *message, void *ctx) { (void)level; (void)message; (void)ctx; }

/* The timer benchmarks keep the reactor busy for seconds on purpose: its
 * stall warnings are expected there; anything else goes to stderr. */
static void bench_log(int level, const char *message, void *ctx) {
    (void)ctx;
    if (strstr(message, "reactor thread is stalled") || strstr(message, "reactor is free again")) return;
    if (level >= CROCHET_LOG_WARNING) fprintf(stderr, "libcrochet: %s\n", message);
}

static int memory_child(const char *kind) {
    /* Blocking the reactor on purpose is not worth a stall warning. */
    crochet_set_log_handler(drop_log, NULL, NULL);
    const int n = 1000000;
    void **rs = malloc(sizeof *rs * n);
    /* Touch the array before measuring (not with zeros: the compiler turns
     * malloc + memset(0) into calloc, whose pages are only faulted in while
     * measuring, 8 bytes per item on both sides). */
    memset(rs, 0xA5, sizeof *rs * n);
    long rss0, heap0, rss1, heap1;
    if (strcmp(kind, "uv-queued") == 0) {
        if (uvp_start() != 0) return 1;
        for (int i = 0; i < 1000; i++) { void *r = u_submit(); u_wait(r); u_release(r); }
        uvp_req *blocker = uvp_submit(block_loop, 0, 0);
        rss0 = rss_bytes(); heap0 = heap_bytes();
        for (int i = 0; i < n; i++) rs[i] = u_submit();
        rss1 = rss_bytes(); heap1 = heap_bytes();
        atomic_store(&gate, 1);
        uvp_wait(blocker);
    } else {
        must(crochet_setup(), "setup");
        for (int i = 0; i < 1000; i++) barrier();
        if (strcmp(kind, "queued") == 0) {
            /* The reactor is kept busy: every call stays queued. */
            crochet_result *blocker;
            must(CROCHET_SUBMIT(&blocker, block_reactor, CROCHET_TYPE_INT32), "submit");
            rss0 = rss_bytes(); heap0 = heap_bytes();
            for (int i = 0; i < n; i++) rs[i] = c_submit();
            rss1 = rss_bytes(); heap1 = heap_bytes();
            atomic_store(&gate, 1);
        } else if (strcmp(kind, "follower") == 0) {
            /* crochet_result_new on the reactor: result + deferred + the
             * deferred's callback entry, and nothing else. */
            struct follow f = { (crochet_result **)rs, n };
            barrier();
            rss0 = rss_bytes(); heap0 = heap_bytes();
            crochet_result *r;
            must(CROCHET_SUBMIT(&r, make_followers, CROCHET_TYPE_INT32, crochet_pointer(&f)), "submit");
            if (crochet_wait(r, INFINITY, NULL) != CROCHET_OK) abort();
            crochet_result_release(r);
            rss1 = rss_bytes(); heap1 = heap_bytes();
        } else if (strcmp(kind, "deferred") == 0) {
            /* Each call returns an unfired deferred, which its result then
             * follows; a barrier every 1,000 keeps the calls in flight few,
             * so what remains is what a pending result costs when a
             * submitted call returned the deferred (anything the finished
             * call leaves behind included). */
            barrier();
            rss0 = rss_bytes(); heap0 = heap_bytes();
            for (int i = 0; i < n; i++) {
                must(CROCHET_SUBMIT((crochet_result **)&rs[i], make_unfired, CROCHET_TYPE_DEFERRED), "submit");
                if (i % 1000 == 999) barrier();
            }
            barrier();
            rss1 = rss_bytes(); heap1 = heap_bytes();
        } else {
            return 2;
        }
    }
    printf("%.1f %.1f\n", (double)(rss1 - rss0) / n, (double)(heap1 - heap0) / n);
    fflush(stdout);
    _exit(0);
}

static char self_path[4096];

/* Runs `bench --memory-child kind` and reads its two figures. */
static void run_memory_child(const char *kind, double *rss, double *heap) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "'%s' --memory-child %s", self_path, kind);
    FILE *p = popen(cmd, "r");
    if (!p || fscanf(p, "%lf %lf", rss, heap) != 2) {
        fprintf(stderr, "memory child %s failed\n", kind);
        exit(1);
    }
    if (pclose(p) != 0) {
        fprintf(stderr, "memory child %s failed\n", kind);
        exit(1);
    }
}

/* ---- report ---- */

static FILE *tsv;

static void tsv_row(const char *key, const char *unit, stat c, const stat *u) {
    if (!tsv) return;
    fprintf(tsv, "row\t%s\t%s\t%.6g\t%.6g\t%.6g", key, unit, c.median, c.min, c.max);
    if (u) fprintf(tsv, "\t%.6g\t%.6g\t%.6g\t%.4f\n", u->median, u->min, u->max, c.median / u->median);
    else fprintf(tsv, "\t-\t-\t-\t-\n");
}

static void row(const char *key, const char *name, stat s, const char *unit, double baseline, const char *budget) {
    printf("%-46s %12.1f %-8s [%10.1f .. %10.1f]", name, s.median, unit, s.min, s.max);
    if (baseline > 0) printf("  %6.2fx futex", s.median / baseline);
    if (budget) printf("  (%s)", budget);
    printf("\n");
    tsv_row(key, unit, s, NULL);
}

/* libcrochet beside the libuv peer; ratio = libcrochet / libuv. */
static void pair_row(const char *key, const char *name, const char *unit, stat c, stat u) {
    char cs[64], us[64];
    snprintf(cs, sizeof cs, "%.1f [%.1f..%.1f]", c.median, c.min, c.max);
    snprintf(us, sizeof us, "%.1f [%.1f..%.1f]", u.median, u.min, u.max);
    printf("%-44s %-6s %-26s %-26s %6.2fx\n", name, unit, cs, us, c.median / u.median);
    tsv_row(key, unit, c, &u);
}

static int goals_passed, goals_failed;
static char goal_lines[16][512];
static int ngoals;

static void goal(const char *key, int pass, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void goal(const char *key, int pass, const char *fmt, ...) {
    char text[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (strstr(text, "nan")) {
        /* A figure it needs was not measured (--only). */
        char *colon = strchr(text, ':');
        if (colon) snprintf(colon, sizeof text - (size_t)(colon - text), ": not measured in this run");
        pass = -1;
    }
    if (pass > 0) goals_passed++;
    else if (pass == 0) goals_failed++;
    const char *verdict = pass > 0 ? "PASS" : pass == 0 ? "FAIL" : "N/A ";
    snprintf(goal_lines[ngoals++], sizeof goal_lines[0], "%s  %s", verdict, text);
    if (tsv) fprintf(tsv, "goal\t%s\t%s\t%s\n", key, pass > 0 ? "PASS" : pass == 0 ? "FAIL" : "NA", text);
}

/* The previous run's summary, for the no-regression goal. */
struct prev_row { char key[64]; double median, min, max; };
static struct prev_row prev[128];
static int nprev;
static double prev_load = -1;   /* its 1-minute load average at start */

static void load_prev(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[1024];
    while (fgets(line, sizeof line, f) && nprev < 128) {
        struct prev_row p;
        char unit[32];
        const char *load = line[0] == '#' ? strstr(line, ", load ") : NULL;
        if (load) prev_load = atof(load + 7);
        if (sscanf(line, "row\t%63s\t%31s\t%lf\t%lf\t%lf", p.key, unit, &p.median, &p.min, &p.max) == 5)
            prev[nprev++] = p;
    }
    fclose(f);
}

static const struct prev_row *find_prev(const char *key) {
    for (int i = 0; i < nprev; i++)
        if (strcmp(prev[i].key, key) == 0) return &prev[i];
    return NULL;
}

#define MEASURE(var, expr) do { \
        double _v[64]; \
        for (int _i = 0; _i < REPS; _i++) _v[_i] = (expr); \
        var = summarize(_v, REPS); \
    } while (0)

/* The two implementations measured alternately, each repetition starting
 * with the other one, so slow drift in the machine's load hits both. */
#define MEASURE_PAIR(reps, cvar, uvar, expr_c, expr_u) do { \
        double _c[64], _u[64]; \
        for (int _i = 0; _i < (reps); _i++) { \
            if (_i % 2 == 0) { _c[_i] = (expr_c); _u[_i] = (expr_u); } \
            else { _u[_i] = (expr_u); _c[_i] = (expr_c); } \
        } \
        cvar = summarize(_c, (reps)); \
        uvar = summarize(_u, (reps)); \
    } while (0)

static stat one(double v) { stat s = { v, v, v }; return s; }

static const stat NONE = { NAN, NAN, NAN };

/* Seconds each section took, for the budget of make bench. */
static char timing[256];
static double section_start;
static void section_end(const char *name) {
    if (section_start == 0) return;
    double t = now() - section_start;
    size_t l = strlen(timing);
    snprintf(timing + l, sizeof timing - l, "%s%s %.0f", l ? ", " : "", name, t);
    if (tsv) fprintf(tsv, "row\tseconds_%s\ts\t%.1f\t%.1f\t%.1f\t-\t-\t-\t-\n", name, t, t, t);
    section_start = 0;
}

/* --only a,b,c: the sections to run (all without it). */
static const char *only;
static int want(const char *section) {
    if (!only) return 1;
    size_t n = strlen(section);
    for (const char *p = only; (p = strstr(p, section)); p += n)
        if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == 0)) return 1;
    return 0;
}

int main(int argc, char **argv) {
    int quick = 0;
    const char *summary_path = NULL, *prev_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) quick = 1;
        else if (strcmp(argv[i], "--summary") == 0 && i + 1 < argc) summary_path = argv[++i];
        else if (strcmp(argv[i], "--prev") == 0 && i + 1 < argc) prev_path = argv[++i];
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) only = argv[++i];
        else if (strcmp(argv[i], "--memory-child") == 0 && i + 1 < argc) return memory_child(argv[++i]);
        else {
            fprintf(stderr, "usage: bench [--quick] [--summary FILE] [--prev FILE] [--only rt,peer,paced,competing,memory,timers]\n");
            return 2;
        }
    }
    ssize_t len = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (len <= 0) { perror("readlink /proc/self/exe"); return 1; }
    self_path[len] = 0;
    if (prev_path) load_prev(prev_path);
    if (summary_path && !(tsv = fopen(summary_path, "w"))) { perror(summary_path); return 1; }
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);   /* paced sleeps end on time */
    setvbuf(stdout, NULL, _IOLBF, 0);          /* rows appear as measured, also through tee */
    double bench_start = now();

    if (quick) REPS = 5;
    int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    int rt_iters = quick ? 20000 : 100000;
    crochet_set_log_handler(bench_log, NULL, NULL);
    must(crochet_setup(), "setup");
    if (uvp_start() != 0) { fprintf(stderr, "libuv peer: cannot start\n"); return 1; }
    double load[3] = { 0, 0, 0 };
    getloadavg(load, 3);
    time_t t = time(NULL);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    printf("libcrochet %s benchmarks%s: %d repetitions each, median [min .. max]; %d CPUs; libuv %s peer\n",
           crochet_version(), quick ? " (quick)" : "", REPS, ncpu, uvp_version());
    printf("%s, load average %.2f %.2f %.2f at start\n\n", when, load[0], load[1], load[2]);
    if (tsv) {
        fprintf(tsv, "# libcrochet %s bench%s, %s, %d CPUs, libuv %s, load %.2f %.2f %.2f\n",
                crochet_version(), quick ? " --quick" : "", when, ncpu, uvp_version(), load[0], load[1], load[2]);
        fprintf(tsv, "# kind\tkey\tunit\tcrochet\tcrochet_min\tcrochet_max\tlibuv\tlibuv_min\tlibuv_max\tratio\n"
                     "# goal\tkey\tverdict\ttext\n");
    }

    /* Figures not measured (--only) stay NaN; their goals say N/A. */
    stat futex_any = NONE, futex_same = NONE, futex_cross = NONE, rt_any = NONE, rt_same = NONE, rt_cross = NONE;
    stat defer_rt = NONE, c_rt = NONE, u_rt = NONE, c_p50 = NONE, u_p50 = NONE;
    stat c_pipe = NONE, u_pipe = NONE, c_cont = NONE, u_cont = NONE;
    stat pc[3][5], pu[3][5];   /* paced: p50, p99, cpu, caller cpu, achieved rate */
    for (int k = 0; k < 3; k++) for (int j = 0; j < 5; j++) pc[k][j] = pu[k][j] = NONE;
    stat c_comp = NONE, u_comp = NONE, c_hog = NONE, u_hog = NONE;
    stat c_q_rss = NONE, c_q_heap = NONE, u_q_rss = NONE, u_q_heap = NONE;
    stat c_f_rss = NONE, c_f_heap = NONE, c_d_rss = NONE, c_d_heap = NONE;
    stat timer_stats[2][2] = { { NONE, NONE }, { NONE, NONE } }, fd10 = NONE, fd10k = NONE;
    int in_order = -1;
    int paced_reps = quick ? 1 : 3;

    if (want("rt")) {
        section_start = now();
        printf("== round trip beside a raw futex ping-pong\n");
        MEASURE(futex_any, futex_pingpong(-1, -1, rt_iters / 4));
        round_trip(rt_iters / 10);   /* warm up */
        MEASURE(rt_any, round_trip(rt_iters));
        row("futex_pingpong_unpinned", "futex ping-pong round trip (unpinned)", futex_any, "ns", 0, NULL);
        row("rt_unpinned", "submit+wait round trip (unpinned)", rt_any, "ns", futex_any.median, "goal <= 0.05x");

        MEASURE(futex_same, futex_pingpong(0, 0, rt_iters / 4));
        pin_reactor_to(0);
        pin(0);
        MEASURE(rt_same, round_trip(rt_iters / 4));
        pin(-1);
        row("futex_pingpong_same_core", "futex ping-pong round trip (same core)", futex_same, "ns", 0, NULL);
        row("rt_same_core", "submit+wait round trip (same core)", rt_same, "ns", futex_same.median, NULL);
        if (ncpu > 1) {
            MEASURE(futex_cross, futex_pingpong(0, 1, rt_iters / 4));
            pin_reactor_to(1);
            pin(0);
            MEASURE(rt_cross, round_trip(rt_iters));
            pin(-1);
            row("futex_pingpong_two_cores", "futex ping-pong round trip (two cores)", futex_cross, "ns", 0, NULL);
            row("rt_two_cores", "submit+wait round trip (two cores)", rt_cross, "ns", futex_cross.median, NULL);
        }
        pin_reactor_to(-1);

        MEASURE(defer_rt, defer_round_trip(quick ? 2000 : 10000));
        row("defer_to_thread_rt", "defer_to_thread round trip", defer_rt, "ns", futex_any.median, NULL);
        section_end("rt");
    }

    /* ---- beside the libuv peer ---- */
    if (want("peer") || want("paced") || want("competing") || want("memory")) {
        printf("\n== beside a libuv peer in this process (uv_async + mutex queue + futex per request);\n"
               "   ratio = libcrochet / libuv\n");
        printf("%-44s %-6s %-26s %-26s %7s\n", "measure", "unit", "libcrochet [min..max]", "libuv+futex [min..max]", "ratio");
    }
    if (want("peer")) {
        section_start = now();
        {
            int iters = quick ? 10000 : 50000;
            double cm[64], um[64], cp[64], up[64];
            impl_round_trip(&CROCHET, iters / 10, &cp[0]);   /* warm up */
            impl_round_trip(&UV, iters / 10, &up[0]);
            for (int i = 0; i < REPS; i++) {
                if (i % 2 == 0) { cm[i] = impl_round_trip(&CROCHET, iters, &cp[i]); um[i] = impl_round_trip(&UV, iters, &up[i]); }
                else { um[i] = impl_round_trip(&UV, iters, &up[i]); cm[i] = impl_round_trip(&CROCHET, iters, &cp[i]); }
            }
            c_rt = summarize(cm, REPS); u_rt = summarize(um, REPS);
            c_p50 = summarize(cp, REPS); u_p50 = summarize(up, REPS);
        }
        pair_row("rt_b2b_mean", "round trip back-to-back, mean", "ns", c_rt, u_rt);
        pair_row("rt_b2b_p50", "round trip back-to-back, p50", "ns", c_p50, u_p50);

        impl_pipelined(&CROCHET, 100000);   /* warm up: the first run pays the page faults */
        impl_pipelined(&UV, 100000);
        MEASURE_PAIR(REPS, c_pipe, u_pipe, impl_pipelined(&CROCHET, 100000) / 1e6, impl_pipelined(&UV, 100000) / 1e6);
        pair_row("pipelined", "pipelined: submit 100,000 then wait all", "M/s", c_pipe, u_pipe);
        int cont_iters = quick ? 5000 : 20000;
        MEASURE_PAIR(REPS, c_cont, u_cont, impl_contended(&CROCHET, 4, cont_iters) / 1e3,
                     impl_contended(&UV, 4, cont_iters) / 1e3);
        pair_row("threads4", "4 caller threads doing round trips", "k/s", c_cont, u_cont);
        section_end("peer");
    }

    if (want("paced")) {
        section_start = now();
        {
            /* What the process burns with both implementations idle (timers,
             * watchdogs): part of every paced window's CPU. */
            usleep(50000);
            double c0 = cpu_seconds(), t0 = now();
            usleep(quick ? 250000 : 1000000);
            double idle = (cpu_seconds() - c0) / (now() - t0) * 1e6;
            char cs[64];
            snprintf(cs, sizeof cs, "%.1f", idle);
            printf("%-44s %-6s %-26s %-26s\n", "process CPU with both idle", "us/s", cs, "(one process)");
            tsv_row("idle_cpu", "us/s", one(idle), NULL);
        }

        /* Paced: one caller at a fixed rate for a fixed number of calls, each
         * implementation in its own window while the other is idle. */
        static const double rates[3] = { 50000, 5000, 500 };
        static const double seconds_full[3] = { 2, 2, 4 }, seconds_quick[3] = { 0.5, 0.5, 1 };
        for (int k = 0; k < 3; k++) {
            int calls = (int)(rates[k] * (quick ? seconds_quick[k] : seconds_full[k]));
            double cv[5][64], uv[5][64];
            for (int i = 0; i < paced_reps; i++) {
                struct paced c, u;
                if (i % 2 == 0) { c = impl_paced(&CROCHET, rates[k], calls); u = impl_paced(&UV, rates[k], calls); }
                else { u = impl_paced(&UV, rates[k], calls); c = impl_paced(&CROCHET, rates[k], calls); }
                cv[0][i] = c.p50_us; cv[1][i] = c.p99_us; cv[2][i] = c.cpu_us; cv[3][i] = c.caller_cpu_us; cv[4][i] = c.rate / 1e3;
                uv[0][i] = u.p50_us; uv[1][i] = u.p99_us; uv[2][i] = u.cpu_us; uv[3][i] = u.caller_cpu_us; uv[4][i] = u.rate / 1e3;
            }
            for (int j = 0; j < 5; j++) { pc[k][j] = summarize(cv[j], paced_reps); pu[k][j] = summarize(uv[j], paced_reps); }
            char name[96], key[64], label[16];
            if (rates[k] >= 1000) snprintf(label, sizeof label, "%gk/s", rates[k] / 1000);
            else snprintf(label, sizeof label, "%g/s", rates[k]);
            const char *what[5] = { "p50 round trip", "p99 round trip", "CPU per call", "of which the caller", "achieved rate" };
            const char *keys[5] = { "p50", "p99", "cpu_per_call", "caller_cpu_per_call", "achieved" };
            const char *units[5] = { "us", "us", "us", "us", "k/s" };
            for (int j = 0; j < 5; j++) {
                if (j == 3) snprintf(name, sizeof name, "  %s", what[j]);
                else snprintf(name, sizeof name, "paced %s x %d: %s", label, calls, what[j]);
                snprintf(key, sizeof key, "paced_%g_%s", rates[k], keys[j]);
                pair_row(key, name, units[j], pc[k][j], pu[k][j]);
            }
        }
        section_end("paced");
    }

    if (want("competing")) {
        section_start = now();
        {
            int calls = quick ? 2500 : 5000;
            double cv[64], uv[64], ch[64], uh[64], cr[64], ur[64], c5[64], u5[64];
            for (int i = 0; i < paced_reps; i++) {
                struct competing c, u;
                if (i % 2 == 0) { c = impl_competing(&CROCHET, 5000, calls); u = impl_competing(&UV, 5000, calls); }
                else { u = impl_competing(&UV, 5000, calls); c = impl_competing(&CROCHET, 5000, calls); }
                cv[i] = c.p.p99_us; uv[i] = u.p.p99_us; ch[i] = c.hog_mops; uh[i] = u.hog_mops;
                cr[i] = c.p.rate / 1e3; ur[i] = u.p.rate / 1e3;
                c5[i] = c.p.p50_us; u5[i] = u.p.p50_us;
            }
            c_comp = summarize(cv, paced_reps); u_comp = summarize(uv, paced_reps);
            c_hog = summarize(ch, paced_reps); u_hog = summarize(uh, paced_reps);
            char name[96];
            snprintf(name, sizeof name, "2 CPU-bound threads, 5k/s x %d: p99", calls);
            pair_row("competing_p99", name, "us", c_comp, u_comp);
            pair_row("competing_p50", "  p50", "us", summarize(c5, paced_reps), summarize(u5, paced_reps));
            pair_row("competing_hog_work", "  the CPU-bound threads' work meanwhile", "Mop/s", c_hog, u_hog);
            pair_row("competing_achieved", "  achieved rate", "k/s", summarize(cr, paced_reps), summarize(ur, paced_reps));
        }
        section_end("competing");
    }

    if (want("memory")) {
        section_start = now();
        /* Memory, each figure from a fresh process (so RSS growth is not hidden
         * by memory earlier benchmarks freed). */
        {
            int reps = quick ? 1 : 3;
            double v[8][64];
            for (int i = 0; i < reps; i++) {
                run_memory_child("queued", &v[0][i], &v[1][i]);
                run_memory_child("uv-queued", &v[2][i], &v[3][i]);
                run_memory_child("follower", &v[4][i], &v[5][i]);
                run_memory_child("deferred", &v[6][i], &v[7][i]);
            }
            c_q_rss = summarize(v[0], reps); c_q_heap = summarize(v[1], reps);
            u_q_rss = summarize(v[2], reps); u_q_heap = summarize(v[3], reps);
            c_f_rss = summarize(v[4], reps); c_f_heap = summarize(v[5], reps);
            c_d_rss = summarize(v[6], reps); c_d_heap = summarize(v[7], reps);
        }
        pair_row("queued_call_rss", "bytes per queued call (RSS growth / 1 M)", "B", c_q_rss, u_q_rss);
        pair_row("queued_call_heap", "bytes per queued call (malloc's count)", "B", c_q_heap, u_q_heap);
        {
            const char *names[4] = { "result following an unfired deferred (RSS)", "  the same, malloc's count",
                                     "  made by a submitted call (RSS)", "  the same, malloc's count" };
            const char *keys[4] = { "deferred_result_rss", "deferred_result_heap",
                                    "deferred_submit_rss", "deferred_submit_heap" };
            stat *v[4] = { &c_f_rss, &c_f_heap, &c_d_rss, &c_d_heap };
            for (int i = 0; i < 4; i++) {
                char cs[64];
                snprintf(cs, sizeof cs, "%.1f [%.1f..%.1f]", v[i]->median, v[i]->min, v[i]->max);
                printf("%-44s %-6s %-26s %-26s\n", names[i], "B", cs, "-");
                tsv_row(keys[i], "B", *v[i], NULL);
            }
        }
        section_end("memory");
    }

    if (want("timers")) {
        section_start = now();
        /* ---- timers, fds ---- */
        printf("\n== timers and fds\n");
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
            char name[80], key[64];
            timer_stats[k][0] = summarize(sv, reps);
            timer_stats[k][1] = summarize(cv, reps);
            snprintf(name, sizeof name, "call_later schedule, %d pending", sizes[k]);
            snprintf(key, sizeof key, "timer_schedule_%d", sizes[k]);
            row(key, name, timer_stats[k][0], "ns", 0, NULL);
            snprintf(name, sizeof name, "delayed_call_cancel, %d pending", sizes[k]);
            snprintf(key, sizeof key, "timer_cancel_%d", sizes[k]);
            row(key, name, timer_stats[k][1], "ns", 0, NULL);
        }
        in_order = timers_in_order(1000);
        printf("%-46s %s\n", "timers fire in deadline order, FIFO on ties",
               in_order ? "yes (1,000 timers, 250 groups of equal deadlines)" : "NO");
        tsv_row("timers_in_order", "bool", one(in_order), NULL);

        MEASURE(fd10, fd_latency(10, quick ? 200 : 1000));
        MEASURE(fd10k, fd_latency(10000, quick ? 200 : 1000));
        row("fd_10", "pipe write -> reader callback, 10 watched", fd10, "ns", futex_any.median, NULL);
        row("fd_10000", "pipe write -> reader callback, 10,000 watched", fd10k, "ns", futex_any.median, NULL);
        section_end("timers");
    }

    /* ---- the goals of issue 11 ---- */
    goal("pipelined", c_pipe.median >= u_pipe.median,
         "pipelined >= 1.0x libuv: %.2fx (%.2f vs %.2f M/s)",
         c_pipe.median / u_pipe.median, c_pipe.median, u_pipe.median);
    {
        double r5 = pc[1][2].median / pu[1][2].median, r05 = pc[2][2].median / pu[2][2].median;
        goal("cpu_per_call", r5 <= 1.1 && r05 <= 1.1,
             "CPU per call <= 1.1x libuv at 5k and 500/s: %.2fx (%.1f vs %.1f us), %.2fx (%.1f vs %.1f us)",
             r5, pc[1][2].median, pu[1][2].median, r05, pc[2][2].median, pu[2][2].median);
    }
    goal("p50_every_rate",
         c_p50.median / 1e3 <= u_p50.median / 1e3 && pc[0][0].median <= pu[0][0].median
             && pc[1][0].median <= pu[1][0].median && pc[2][0].median <= pu[2][0].median,
         "p50 <= libuv at every rate: back-to-back %.1f vs %.1f, 50k/s %.1f vs %.1f, 5k/s %.1f vs %.1f, 500/s %.1f vs %.1f us",
         c_p50.median / 1e3, u_p50.median / 1e3, pc[0][0].median, pu[0][0].median,
         pc[1][0].median, pu[1][0].median, pc[2][0].median, pu[2][0].median);
    goal("competing_p99", c_comp.median <= u_comp.median,
         "p99 with 2 CPU-bound threads <= libuv: %.1f vs %.1f us (%.2fx); their work %.0f vs %.0f Mop/s",
         c_comp.median, u_comp.median, c_comp.median / u_comp.median, c_hog.median, u_hog.median);
    goal("rt_saturation", rt_any.median / futex_any.median <= 0.05,
         "round trip at saturation <= 0.05x futex ping-pong: %.3fx (%.0f vs %.0f ns, unpinned; two cores %.3fx)",
         rt_any.median / futex_any.median, rt_any.median, futex_any.median,
         ncpu > 1 ? rt_cross.median / futex_cross.median : 0.0);
    goal("threads4", c_cont.median / u_cont.median >= 1.5,
         "4 threads >= 1.5x libuv: %.2fx (%.0f vs %.0f k/s)",
         c_cont.median / u_cont.median, c_cont.median, u_cont.median);
    goal("deferred_result_bytes", c_f_rss.median <= 160,
         "<= 160 B per pending result following an unfired deferred: %.0f B RSS (%.0f B malloc; "
         "%.0f B RSS when a submitted call returns the deferred)",
         c_f_rss.median, c_f_heap.median, c_d_rss.median);
    goal("queued_call_bytes", c_q_rss.median <= 128,
         "<= 128 B per queued call: %.0f B RSS (%.0f B malloc; libuv peer %.0f B)",
         c_q_rss.median, c_q_heap.median, u_q_rss.median);
    {
        /* A regression: the median is over 1.3x the previous run's and the
         * ranges do not overlap (the machine is noisy). */
        const char *keys[6] = { "timer_schedule_10000", "timer_cancel_10000", "timer_schedule_1000000",
                                "timer_cancel_1000000", "fd_10", "fd_10000" };
        stat cur[6] = { timer_stats[0][0], timer_stats[0][1], timer_stats[1][0], timer_stats[1][1], fd10, fd10k };
        char text[300] = "";
        int compared = 0, regressed = 0;
        for (int i = 0; i < 6; i++) {
            const struct prev_row *p = find_prev(keys[i]);
            if (!p) continue;
            compared++;
            if (cur[i].median > 1.3 * p->median && cur[i].min > 1.3 * p->min) {
                regressed++;
                size_t l = strlen(text);
                snprintf(text + l, sizeof text - l, " %s %.0f vs %.0f ns;", keys[i], cur[i].median, p->median);
            }
        }
        if (!in_order) regressed++;
        if (in_order < 0)
            goal("timers_fds", -1, "timer and fd figures: not measured in this run");
        else if (compared == 0)
            goal("timers_fds", in_order ? -1 : 0, "timer and fd figures: no previous run to compare with%s",
                 in_order ? "" : "; timers out of order");
        else
            goal("timers_fds", regressed == 0,
                 "no regression in timer and fd figures vs the previous run (load %.1f then, %.1f now):%s",
                 prev_load, load[0], regressed ? text : " none (median and min both > 1.3x previous counts)");
    }
    printf("\n== goals of issue 11 (libcrochet beside libuv+futex, medians)\n");
    for (int i = 0; i < ngoals; i++) printf("%s\n", goal_lines[i]);
    printf("%d passed, %d failed; %.0f s (%s)", goals_passed, goals_failed, now() - bench_start, timing);
    if (summary_path) printf("; summary in %s", summary_path);
    printf("\n");
    if (tsv) {
        fprintf(tsv, "row\tbench_seconds\ts\t%.1f\t%.1f\t%.1f\t-\t-\t-\t-\n", now() - bench_start, now() - bench_start, now() - bench_start);
        fclose(tsv);
    }
    uvp_stop();
    return 0;
}
