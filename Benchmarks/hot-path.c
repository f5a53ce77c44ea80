/* The hot path's three figures, on any libcrochet version (it uses only
 * crochet_setup, crochet_submit, crochet_wait and crochet_result_release,
 * unchanged since 0.1): so that two revisions can be run side by side, in
 * alternation, by Benchmarks/compare-revisions.sh.
 *   hot-path [REPS]   prints: rt_ns <median> pipelined_Mps <median> threads4_kps <median>
 * rt: one thread's submit + wait + release, back to back. pipelined: 100,000
 * submits, then 100,000 waits. threads4: four threads doing round trips. */
#include <crochet.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int32_t add(int32_t a, int32_t b) { return a + b; }

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, compare);
    return v[n / 2];
}

static void round_trips(int n) {
    for (int i = 0; i < n; i++) {
        crochet_result *r;
        crochet_value args[2] = { crochet_int32(i), crochet_int32(1) };
        crochet_value v;
        if (crochet_submit(&r, (crochet_fn)add, CROCHET_TYPE_INT32, args, 2) != CROCHET_OK) abort();
        if (crochet_wait(r, INFINITY, &v) != CROCHET_OK || v.u.i32 != i + 1) abort();
        crochet_result_release(r);
    }
}

enum { PIPELINED = 100000, RT = 100000, PER_THREAD = 25000 };
static crochet_result *pending[PIPELINED];

static void *thread_round_trips(void *p) {
    (void)p;
    round_trips(PER_THREAD);
    return NULL;
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 7;
    if (reps < 1 || reps > 64) reps = 7;
    if (crochet_setup() != CROCHET_OK) return 1;
    round_trips(10000);   /* warm */
    double rt[64], pipelined[64], threads4[64];
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        round_trips(RT);
        rt[r] = (now() - t0) / RT * 1e9;

        t0 = now();
        for (int i = 0; i < PIPELINED; i++) {
            crochet_value args[2] = { crochet_int32(i), crochet_int32(1) };
            if (crochet_submit(&pending[i], (crochet_fn)add, CROCHET_TYPE_INT32, args, 2) != CROCHET_OK) abort();
        }
        for (int i = 0; i < PIPELINED; i++) {
            if (crochet_wait(pending[i], INFINITY, NULL) != CROCHET_OK) abort();
            crochet_result_release(pending[i]);
        }
        pipelined[r] = PIPELINED / (now() - t0) / 1e6;

        pthread_t threads[4];
        t0 = now();
        for (int t = 0; t < 4; t++) pthread_create(&threads[t], NULL, thread_round_trips, NULL);
        for (int t = 0; t < 4; t++) pthread_join(threads[t], NULL);
        threads4[r] = 4.0 * PER_THREAD / (now() - t0) / 1e3;
    }
    printf("rt_ns %.1f pipelined_Mps %.3f threads4_kps %.1f\n",
           median(rt, reps), median(pipelined, reps), median(threads4, reps));
    return 0;
}
