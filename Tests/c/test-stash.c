/* crochet_stash and crochet_retrieve: roundtrip, id properties, one-shot
 * retrieval, the store's own reference, and concurrent use. */
#include "harness.h"
#include <sys/wait.h>

int32_t value_fn(int32_t x) { return x; }

static crochet_result *finished(int32_t x) {
    crochet_result *r = NULL;
    ASSERT_OK(CROCHET_SUBMIT(&r, value_fn, CROCHET_TYPE_INT32, crochet_int32(x)));
    ASSERT_OK(crochet_wait(r, 10.0, NULL));
    return r;
}

/* Retrieving a stashed id hands back the same result handle, with its value. */
TEST(roundtrip_same_handle) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = finished(31337);
    uint64_t id = 0;
    ASSERT_OK(crochet_stash(r, &id));
    ASSERT_NE(id, 0);
    crochet_result *back = NULL;
    ASSERT_OK(crochet_retrieve(&back, id));
    ASSERT_PTR_EQ(back, r);
    crochet_value v;
    ASSERT_OK(crochet_wait(back, 10.0, &v));
    ASSERT_EQ(v.u.i32, 31337);
    crochet_result_release(back);   /* the store's reference */
    crochet_result_release(r);      /* ours */
}

static latch gate = LATCH_INIT;
int32_t gated(void) { return latch_wait(&gate, 10.0) ? 5 : -1; }

/* A pending result can be stashed, retrieved and waited on until it completes. */
TEST(stash_pending_result) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = NULL;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)gated, CROCHET_TYPE_INT32, NULL, 0));
    uint64_t id = 0;
    ASSERT_OK(crochet_stash(r, &id));
    crochet_result_release(r);
    crochet_result *back = NULL;
    ASSERT_OK(crochet_retrieve(&back, id));
    latch_open(&gate);
    crochet_value v;
    ASSERT_OK(crochet_wait(back, 10.0, &v));
    ASSERT_EQ(v.u.i32, 5);
    crochet_result_release(back);
}

/* A second retrieve of the same id is CROCHET_ENOTFOUND and sets *out to NULL. */
TEST(second_retrieve_not_found) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = finished(1);
    uint64_t id = 0;
    ASSERT_OK(crochet_stash(r, &id));
    crochet_result *back = NULL;
    ASSERT_OK(crochet_retrieve(&back, id));
    crochet_result_release(back);
    back = (crochet_result *)(uintptr_t)0x1;
    ASSERT_STATUS(crochet_retrieve(&back, id), CROCHET_ENOTFOUND);
    ASSERT_NULL(back);
    crochet_result_release(r);
}

/* Stashing one result twice gives two different ids, each retrievable once. */
TEST(stash_twice_two_ids) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = finished(2);
    uint64_t a = 0, b = 0;
    ASSERT_OK(crochet_stash(r, &a));
    ASSERT_OK(crochet_stash(r, &b));
    ASSERT_NE(a, b);
    crochet_result *x = NULL, *y = NULL;
    ASSERT_OK(crochet_retrieve(&x, b));
    ASSERT_OK(crochet_retrieve(&y, a));
    ASSERT_PTR_EQ(x, r);
    ASSERT_PTR_EQ(y, r);
    ASSERT_STATUS(crochet_retrieve(&x, a), CROCHET_ENOTFOUND);
    ASSERT_STATUS(crochet_retrieve(&x, b), CROCHET_ENOTFOUND);
    crochet_result_release(y);
    crochet_result_release(r);
    crochet_result_release(r);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* 10000 stashes give ids that are never 0, all distinct, not sequential, below 2^63 (a signed 64-bit column) and spread over that range. */
TEST(ids_distinct_nonzero_unpredictable) {
    ASSERT_OK(crochet_setup());
    enum { N = 10000 };
    crochet_result *r = finished(3);
    uint64_t *ids = malloc(N * sizeof *ids), *sorted = malloc(N * sizeof *ids);
    ASSERT(ids && sorted);
    for (int i = 0; i < N; i++) {
        ASSERT_OK(crochet_stash(r, &ids[i]));
        ASSERT_NE(ids[i], 0);
    }
    int consecutive = 0, small_steps = 0, top_bit = 0, high_bit = 0;
    for (int i = 0; i < N; i++) {
        if (i > 0 && ids[i] == ids[i - 1] + 1) consecutive++;
        if (i > 0 && (ids[i] - ids[i - 1] < 1000000 || ids[i - 1] - ids[i] < 1000000)) small_steps++;
        top_bit += (int)(ids[i] >> 63);
        high_bit += (int)((ids[i] >> 62) & 1);
    }
    if (consecutive) FAIL("%d ids were the previous id + 1 (e.g. %llu, %llu)", consecutive,
                          (unsigned long long)ids[0], (unsigned long long)ids[1]);
    if (small_steps > 5) FAIL("%d ids were within 1e6 of the previous one", small_steps);
    if (top_bit) FAIL("%d of %d ids are 2^63 or more", top_bit, N);
    /* About half of ids uniform below 2^63 have bit 62 set. */
    if (high_bit < N * 4 / 10 || high_bit > N * 6 / 10) FAIL("%d of %d ids have bit 62 set", high_bit, N);
    memcpy(sorted, ids, N * sizeof *ids);
    qsort(sorted, N, sizeof *sorted, cmp_u64);
    for (int i = 1; i < N; i++)
        if (sorted[i] == sorted[i - 1]) FAIL("id %llu stashed twice", (unsigned long long)sorted[i]);
    for (int i = 0; i < N; i++) {
        crochet_result *back = NULL;
        ASSERT_OK(crochet_retrieve(&back, ids[i]));
        ASSERT_PTR_EQ(back, r);
        crochet_result_release(back);
    }
    /* Ids are never reused: stashing again gives ids unlike any retrieved one. */
    for (int i = 0; i < 1000; i++) {
        uint64_t id = 0;
        ASSERT_OK(crochet_stash(r, &id));
        if (bsearch(&id, sorted, N, sizeof *sorted, cmp_u64)) FAIL("id %llu reused", (unsigned long long)id);
        crochet_result *back = NULL;
        ASSERT_OK(crochet_retrieve(&back, id));
        crochet_result_release(back);
    }
    free(ids);
    free(sorted);
    crochet_result_release(r);
}

/* Ids that were never stashed (0, 1, UINT64_MAX, random ones) are CROCHET_ENOTFOUND. */
TEST(unknown_ids_not_found) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = finished(4);
    uint64_t real = 0;
    ASSERT_OK(crochet_stash(r, &real));   /* the store is not empty */
    uint64_t ids[] = { 0, 1, 2, UINT64_MAX, 0x123456789abcdefULL, real ^ 1, real + 1, real - 1 };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        crochet_result *back = (crochet_result *)(uintptr_t)0x1;
        ASSERT_STATUS(crochet_retrieve(&back, ids[i]), CROCHET_ENOTFOUND);
        ASSERT_NULL(back);
    }
    srand(12345);
    for (int i = 0; i < 1000; i++) {
        uint64_t id = ((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^ (uint64_t)rand();
        if (id == real) continue;
        crochet_result *back = NULL;
        ASSERT_STATUS(crochet_retrieve(&back, id), CROCHET_ENOTFOUND);
    }
    crochet_result *back = NULL;
    ASSERT_OK(crochet_retrieve(&back, real));   /* the real one is still there */
    crochet_result_release(back);
    crochet_result_release(r);
}

/* NULL result, NULL id_out and NULL out are CROCHET_EINVAL. */
TEST(null_arguments) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = finished(5);
    uint64_t id = 77;
    ASSERT_STATUS(crochet_stash(NULL, &id), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_stash(r, NULL), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_stash(NULL, NULL), CROCHET_EINVAL);
    ASSERT_OK(crochet_stash(r, &id));
    ASSERT_STATUS(crochet_retrieve(NULL, id), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_retrieve(NULL, 0), CROCHET_EINVAL);
    crochet_result *back = NULL;
    ASSERT_OK(crochet_retrieve(&back, id));   /* the failed retrieve did not remove it */
    crochet_result_release(back);
    crochet_result_release(r);
}

/* ---- the store's own reference ---- */
static atomic_int destroyed;
static latch destroyed_latch = LATCH_INIT;
static void destroy_payload(void *p) {
    (void)p;
    atomic_fetch_add(&destroyed, 1);
    latch_open(&destroyed_latch);
}
static char payload[16] = "payload";
crochet_deferred *owned_value(void) {
    crochet_deferred *d = NULL;
    if (crochet_deferred_new(&d, NULL, NULL, NULL) != CROCHET_OK) return NULL;
    if (crochet_deferred_callback_owned(d, payload, destroy_payload) != CROCHET_OK) abort();
    return d;
}
static void noop(void *ctx) { (void)ctx; }

/* The store holds its own reference: after the caller releases theirs, the stashed result (and its owned value) lives until retrieved and released. */
TEST(store_holds_reference) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = NULL;
    ASSERT_OK(crochet_submit(&r, (crochet_fn)owned_value, CROCHET_TYPE_DEFERRED, NULL, 0));
    ASSERT_OK(crochet_wait(r, 10.0, NULL));
    uint64_t id = 0;
    ASSERT_OK(crochet_stash(r, &id));
    crochet_result_release(r);
    run_on_reactor(noop, NULL);
    ASSERT_EQ(atomic_load(&destroyed), 0);   /* still alive in the store */
    crochet_result *back = NULL;
    ASSERT_OK(crochet_retrieve(&back, id));
    crochet_value v;
    ASSERT_OK(crochet_wait(back, 10.0, &v));
    ASSERT_EQ(v.type, CROCHET_TYPE_POINTER);
    ASSERT_PTR_EQ(v.u.ptr, payload);
    ASSERT_STREQ((const char *)v.u.ptr, "payload");
    ASSERT_EQ(atomic_load(&destroyed), 0);
    crochet_result_release(back);
    ASSERT(latch_wait(&destroyed_latch, 10.0));   /* the last holder let go */
    ASSERT_EQ(atomic_load(&destroyed), 1);
}

/* ---- concurrency ---- */
enum { THREADS = 8, PER_THREAD = 2000 };
static crochet_result *shared[THREADS];
static uint64_t all_ids[THREADS * PER_THREAD];
static latch go = LATCH_INIT;
static void *stasher(void *p) {
    int t = (int)(intptr_t)p;
    ASSERT(latch_wait(&go, 10.0));
    for (int i = 0; i < PER_THREAD; i++) {
        ASSERT_OK(crochet_stash(shared[(t + i) % THREADS], &all_ids[t * PER_THREAD + i]));
        /* Interleave retrieves of our own earlier ids with other threads' stashes. */
        if (i % 4 == 3) {
            crochet_result *back = NULL;
            ASSERT_OK(crochet_retrieve(&back, all_ids[t * PER_THREAD + i - 1]));
            ASSERT_PTR_EQ(back, shared[(t + i - 1) % THREADS]);
            crochet_result_release(back);
            all_ids[t * PER_THREAD + i - 1] = 0;
        }
    }
    return NULL;
}

/* Stashes and retrieves from eight threads at once give distinct ids that each retrieve their own result once. */
TEST(concurrent_stash) {
    ASSERT_OK(crochet_setup());
    for (int i = 0; i < THREADS; i++) shared[i] = finished(100 + i);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) ASSERT_EQ(pthread_create(&th[i], NULL, stasher, (void *)(intptr_t)i), 0);
    latch_open(&go);
    for (int i = 0; i < THREADS; i++) ASSERT_EQ(pthread_join(th[i], NULL), 0);
    enum { N = THREADS * PER_THREAD };
    uint64_t *sorted = malloc(N * sizeof *sorted);
    ASSERT_NOT_NULL(sorted);
    size_t n = 0;
    for (int i = 0; i < N; i++) if (all_ids[i]) sorted[n++] = all_ids[i];
    ASSERT_EQ(n, N - N / 4);
    qsort(sorted, n, sizeof *sorted, cmp_u64);
    for (size_t i = 1; i < n; i++)
        if (sorted[i] == sorted[i - 1]) FAIL("id %llu handed out twice", (unsigned long long)sorted[i]);
    free(sorted);
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < PER_THREAD; i++) {
            uint64_t id = all_ids[t * PER_THREAD + i];
            if (!id) continue;
            crochet_result *back = NULL;
            ASSERT_OK(crochet_retrieve(&back, id));
            ASSERT_PTR_EQ(back, shared[(t + i) % THREADS]);
            crochet_value v;
            ASSERT_OK(crochet_wait(back, 10.0, &v));
            ASSERT_EQ(v.u.i32, 100 + (t + i) % THREADS);
            crochet_result_release(back);
            ASSERT_STATUS(crochet_retrieve(&back, id), CROCHET_ENOTFOUND);
        }
    for (int i = 0; i < THREADS; i++) crochet_result_release(shared[i]);
}

/* ---- failures of results still stashed at exit ---- */
static volatile int sink;
__attribute__((noinline)) void stashed_raiser(void) { crochet_raise(9191, "stashed-at-exit"); sink = 1; }

/* Runs in a child: stashes a failed result nobody observed and a successful one, then exits normally. */
static void stash_and_exit(void) {
    if (crochet_setup() != CROCHET_OK) _exit(3);
    crochet_result *bad = NULL, *good = NULL;
    if (crochet_submit(&bad, (crochet_fn)stashed_raiser, CROCHET_TYPE_VOID, NULL, 0) != CROCHET_OK) _exit(4);
    good = finished(6);
    uint64_t id1, id2;
    if (crochet_stash(bad, &id1) != CROCHET_OK || crochet_stash(good, &id2) != CROCHET_OK) _exit(5);
    run_on_reactor(noop, NULL);   /* the failing call has run */
    crochet_result_release(bad);
    crochet_result_release(good);
    exit(0);
}

/* At exit, the failure of a result still stashed and never observed is logged as an unhandled error (to stderr by default). */
TEST(stashed_failure_logged_at_exit) {
    int pipefd[2];
    ASSERT_EQ(pipe(pipefd), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        close(pipefd[1]);
        stash_and_exit();
    }
    close(pipefd[1]);
    static char out[1 << 16];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof out - 1 && (n = read(pipefd[0], out + len, sizeof out - 1 - len)) > 0) len += (size_t)n;
    out[len] = 0;
    close(pipefd[0]);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) FAIL("child status 0x%x; stderr:\n%s", status, out);
    ASSERT_CONTAINS(out, "ERROR");
    ASSERT_CONTAINS(out, "Unhandled error");
    ASSERT_CONTAINS(out, "EventualResult");
    ASSERT_CONTAINS(out, "stashed-at-exit");
    ASSERT_CONTAINS(out, "9191");
    /* The parent uses the library normally. */
    ASSERT_OK(crochet_setup());
    crochet_result *r = finished(7);
    crochet_result_release(r);
}
