/* The defer_to_thread worker pool: a job starts on a free or new worker
 * whenever the pool is below its limit (dependent jobs never wait behind a
 * busy worker), and memory stays flat under a steady backlog. */
#include "harness.h"
#include <malloc.h>
#include <semaphore.h>

static sem_t handoff;
static atomic_int first_timed_out;

static int32_t quick(void) { return 1; }

/* Job 1: waits (bounded) for job 2 to post. */
static int32_t wait_for_second(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 3;
    if (sem_timedwait(&handoff, &ts) != 0) atomic_fetch_add(&first_timed_out, 1);
    return 1;
}
static int32_t post_for_first(void) {
    sem_post(&handoff);
    return 2;
}

static crochet_deferred *defer(crochet_fn fn) {
    crochet_deferred *d;
    ASSERT_OK(crochet_defer_to_thread(&d, fn, CROCHET_TYPE_INT32, NULL, 0));
    return d;
}
static crochet_deferred *defer_quick(void) { return defer((crochet_fn)quick); }

struct pair { crochet_deferred *first, *second; };
static crochet_deferred *defer_dependent_pair(void) {
    crochet_deferred *a = defer((crochet_fn)wait_for_second);
    crochet_deferred *b = defer((crochet_fn)post_for_first);
    crochet_deferred_release(b);
    return a;
}

/* With one idle worker, job 1 waiting for job 2 never waits out its timeout: job 2 starts on a new worker at once (20 rounds). */
TEST(dependent_jobs_each_get_a_worker) {
    ASSERT_OK(crochet_setup());
    ASSERT_EQ(sem_init(&handoff, 0, 0), 0);
    for (int round = 0; round < 20; round++) {
        crochet_value v;
        if (round == 0)   /* one worker exists and is idle */
            ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)defer_quick, CROCHET_TYPE_DEFERRED, NULL, 0));
        ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)defer_dependent_pair, CROCHET_TYPE_DEFERRED, NULL, 0));
        ASSERT_EQ(atomic_load(&first_timed_out), 0);
    }
}

/* Steady backlog: every completion queues another job, so about 2,000 are always queued. */
static atomic_long completed;
static atomic_int stop_feeding;
static int32_t tiny(void) { return 0; }
static void requeue(crochet_value v, void *ctx);
static void queue_one(void) {
    crochet_deferred *d;
    ASSERT_OK(crochet_defer_to_thread(&d, (crochet_fn)tiny, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT_OK(crochet_deferred_add_callbacks(d, requeue, NULL, NULL, NULL));
    crochet_deferred_release(d);
}
static void requeue(crochet_value v, void *ctx) {
    (void)v; (void)ctx;
    atomic_fetch_add(&completed, 1);
    if (!atomic_load(&stop_feeding)) queue_one();
}
static void start_backlog(void *ctx) {
    (void)ctx;
    for (int i = 0; i < 2000; i++) queue_one();
}

static size_t heap_in_use(void) { return mallinfo2().uordblks; }

/* Under a steady backlog of 2,000 queued jobs the heap stays flat: finished jobs are not kept (3 s, growth under 4 MB after warm-up). */
TEST(memory_flat_under_steady_backlog) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(start_backlog, NULL);
    usleep(500 * 1000);   /* warm-up: arrays reach their working size */
    size_t before = heap_in_use();
    long done_before = atomic_load(&completed);
    usleep(3 * 1000 * 1000);
    size_t after = heap_in_use();
    long done = atomic_load(&completed) - done_before;
    atomic_store(&stop_feeding, 1);
    printf("%ld jobs in 3 s; heap %zu -> %zu bytes\n", done, before, after);
    ASSERT(done > 10000);
    if (after > before + 4 * 1024 * 1024)
        FAIL("heap grew by %zu bytes over %ld jobs", after - before, done);
}
