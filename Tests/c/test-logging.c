/* Logging: records go to crochet_set_log_handler's handler on the library's
 * logging thread (never the reactor thread), one at a time, in order; NULL
 * restores the default stderr handler. */
#include "harness.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#define MAX_RECORDS 512

/* Everything the handler saw. */
static struct {
    pthread_mutex_t mutex;
    int n;
    int level[MAX_RECORDS];
    char message[MAX_RECORDS][1024];
    pthread_t thread[MAX_RECORDS];
    int on_reactor[MAX_RECORDS];
    void *ctx[MAX_RECORDS];
    atomic_int in_flight;
    int overlapped;
    latch arrived;
} logged = { PTHREAD_MUTEX_INITIALIZER, 0, { 0 }, { { 0 } }, { 0 }, { 0 }, { 0 }, 0, 0, LATCH_INIT };

static void record_log(int level, const char *message, void *ctx) {
    if (atomic_fetch_add(&logged.in_flight, 1) != 0) logged.overlapped = 1;
    pthread_mutex_lock(&logged.mutex);
    if (logged.n < MAX_RECORDS) {
        int i = logged.n++;
        logged.level[i] = level;
        snprintf(logged.message[i], sizeof logged.message[i], "%s", message);
        logged.thread[i] = pthread_self();
        logged.on_reactor[i] = crochet_in_reactor_thread();
        logged.ctx[i] = ctx;
    }
    pthread_mutex_unlock(&logged.mutex);
    atomic_fetch_sub(&logged.in_flight, 1);
    latch_open(&logged.arrived);
}

/* Index of the first record whose message contains needle, or -1. */
static int find_record(const char *needle) {
    pthread_mutex_lock(&logged.mutex);
    int found = -1;
    for (int i = 0; i < logged.n && found < 0; i++)
        if (strstr(logged.message[i], needle)) found = i;
    pthread_mutex_unlock(&logged.mutex);
    return found;
}

/* Waits (bounded) until a record containing needle arrived; returns its index. */
static int await_record(const char *needle) {
    double deadline = harness_now() + 10.0;
    for (;;) {
        /* Count first, then look: a record arriving in between is then
         * counted by the latch, and the wait below returns at once. */
        pthread_mutex_lock(&logged.mutex);
        int seen = logged.n;
        pthread_mutex_unlock(&logged.mutex);
        int i = find_record(needle);
        if (i >= 0) return i;
        double left = deadline - harness_now();
        if (left <= 0 || !latch_wait_n(&logged.arrived, seen + 1, left)) {
            for (int k = 0; k < seen; k++) fprintf(stderr, "  record %d: %.120s\n", k, logged.message[k]);
            FAIL("no log record containing \"%s\" within 10 s (%d records)", needle, seen);
        }
    }
}

static pthread_t reactor_thread;
static void capture_reactor_thread(void *ctx) {
    (void)ctx;
    reactor_thread = pthread_self();
}

/* Not static, so -rdynamic names it in tracebacks. */
int32_t fails(int32_t code);
int32_t fails(int32_t code) {
    char message[64];
    snprintf(message, sizeof message, "logged-failure-%d", (int)code);
    crochet_raise(code, message);
    return 0;
}

static void nothing(void) {}

/* Waits until every call submitted so far from this thread has completed. */
static void barrier(void) {
    ASSERT_OK(crochet_wait_for(NULL, NULL, 10.0, (crochet_fn)nothing, CROCHET_TYPE_VOID, NULL, 0));
}

/* Submits a call that fails with code, and returns its result once complete, without observing the failure. */
static crochet_result *completed_failure(int32_t code) {
    crochet_result *r;
    ASSERT_OK(CROCHET_SUBMIT(&r, fails, CROCHET_TYPE_INT32, crochet_int32(code)));
    barrier();
    return r;
}

static void release_result(void *r) { crochet_result_release(r); }

static void raise_outside_call(void *ctx) {
    crochet_raise(17, ctx);
}

/* A log sentinel: a warning raised from a reactor callback, logged after everything the reactor logged before. */
static void log_sentinel(const char *text) {
    run_on_reactor(raise_outside_call, (void *)text);
    await_record(text);
}

/* An unobserved failure released by the last holder is logged at CROCHET_LOG_ERROR as "Unhandled error in EventualResult: " with its code, message and traceback, to the handler with its ctx. */
TEST(unhandled_error_is_logged_at_error_level) {
    static int ctx_marker;
    crochet_set_log_handler(record_log, &ctx_marker, NULL);
    ASSERT_OK(crochet_setup());
    crochet_result *r = completed_failure(4321);
    crochet_result_release(r);
    int i = await_record("logged-failure-4321");
    ASSERT_EQ(logged.level[i], CROCHET_LOG_ERROR);
    ASSERT_CONTAINS(logged.message[i], "Unhandled error in EventualResult: ");
    ASSERT_CONTAINS(logged.message[i], "4321");
    ASSERT_CONTAINS(logged.message[i], "fails");   /* the traceback names the raising function (-rdynamic) */
    ASSERT_PTR_EQ(logged.ctx[i], &ctx_marker);
}

/* The handler is never called on the reactor thread, also for records produced on it (an unhandled error released there, a crochet_raise warning there). */
TEST(handler_never_runs_on_reactor_thread) {
    crochet_set_log_handler(record_log, NULL, NULL);
    ASSERT_OK(crochet_setup());
    run_on_reactor(capture_reactor_thread, NULL);
    /* Released on the reactor thread: the record is produced there. */
    crochet_result *r = completed_failure(55);
    run_on_reactor(release_result, r);
    run_on_reactor(raise_outside_call, "warning-from-reactor");
    await_record("logged-failure-55");
    await_record("warning-from-reactor");
    pthread_mutex_lock(&logged.mutex);
    for (int i = 0; i < logged.n; i++) {
        ASSERT_EQ(logged.on_reactor[i], 0);
        if (pthread_equal(logged.thread[i], reactor_thread))
            FAIL("record %d (\"%s\") was delivered on the reactor thread", i, logged.message[i]);
    }
    pthread_mutex_unlock(&logged.mutex);
}

/* crochet_raise outside a submitted call (on the reactor thread in a plain callback, or on another thread) logs at CROCHET_LOG_WARNING and does nothing else. */
TEST(raise_outside_a_call_logs_a_warning) {
    crochet_set_log_handler(record_log, NULL, NULL);
    ASSERT_OK(crochet_setup());
    crochet_raise(3, "warning-from-main");
    int i = await_record("warning-from-main");
    ASSERT_EQ(logged.level[i], CROCHET_LOG_WARNING);
    ASSERT(!pthread_equal(logged.thread[i], pthread_self()));   /* delivered on the logging thread */
    run_on_reactor(raise_outside_call, "warning-from-callback");
    i = await_record("warning-from-callback");
    ASSERT_EQ(logged.level[i], CROCHET_LOG_WARNING);
    /* The library still works normally. */
    crochet_value v;
    ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)nothing, CROCHET_TYPE_VOID, NULL, 0));
    ASSERT_EQ(v.type, CROCHET_TYPE_VOID);
}

/* Records reach the handler one at a time and in the order they were produced. */
TEST(records_arrive_in_order_one_at_a_time) {
    crochet_set_log_handler(record_log, NULL, NULL);
    ASSERT_OK(crochet_setup());
    char text[64];
    for (int i = 0; i < 200; i++) {
        snprintf(text, sizeof text, "ordered-%03d;", i);
        crochet_raise(1, text);
    }
    await_record("ordered-199;");
    int last = -1;
    for (int i = 0; i < 200; i++) {
        snprintf(text, sizeof text, "ordered-%03d;", i);
        int at = find_record(text);
        ASSERT(at > last);
        last = at;
    }
    ASSERT_EQ(logged.overlapped, 0);
}

static latch slow_entered = LATCH_INIT;
static latch slow_release = LATCH_INIT;
static void blocking_handler(int level, const char *message, void *ctx) {
    latch_open(&slow_entered);
    latch_wait(&slow_release, 10.0);
    record_log(level, message, ctx);
}

static int32_t twice(int32_t x) { return 2 * x; }

/* A handler that blocks does not stall the reactor: calls keep completing meanwhile. */
TEST(slow_handler_does_not_stall_reactor) {
    crochet_set_log_handler(blocking_handler, NULL, NULL);
    ASSERT_OK(crochet_setup());
    run_on_reactor(raise_outside_call, "blocks-the-handler");
    ASSERT(latch_wait(&slow_entered, 10.0));
    for (int i = 0; i < 10; i++) {
        crochet_result *r = completed_failure(900 + i);
        crochet_result_release(r);   /* more records pile up behind the blocked one */
        crochet_value v;
        ASSERT_OK(crochet_wait_for(&v, NULL, 5.0, (crochet_fn)twice, CROCHET_TYPE_INT32,
                                   (crochet_value[]){ crochet_int32(i) }, 1));
        ASSERT_EQ(v.u.i32, 2 * i);
    }
    latch_open(&slow_release);
    await_record("logged-failure-909");
}

/* A failure observed through crochet_wait or crochet_original_failure, or a cancellation the caller asked for, is not logged when released. */
TEST(observed_or_cancelled_failures_are_not_logged) {
    crochet_set_log_handler(record_log, NULL, NULL);
    ASSERT_OK(crochet_setup());
    crochet_result *a = completed_failure(701);
    ASSERT_STATUS(crochet_wait(a, 0, NULL), CROCHET_EFAILED);
    crochet_result_release(a);
    crochet_result *b = completed_failure(702);
    ASSERT_NOT_NULL(crochet_original_failure(b));
    crochet_result_release(b);
    /* A call the caller cancelled (before or after it ran), released unobserved. */
    crochet_result *c;
    ASSERT_OK(crochet_submit(&c, (crochet_fn)nothing, CROCHET_TYPE_VOID, NULL, 0));
    ASSERT_OK(crochet_cancel(c));
    crochet_result_release(c);
    crochet_result *d = completed_failure(703);   /* positive control */
    crochet_result_release(d);
    log_sentinel("sentinel-after-releases");
    await_record("logged-failure-703");
    ASSERT_EQ(find_record("logged-failure-701"), -1);
    ASSERT_EQ(find_record("logged-failure-702"), -1);
    pthread_mutex_lock(&logged.mutex);
    int errors = 0;
    for (int i = 0; i < logged.n; i++) errors += logged.level[i] == CROCHET_LOG_ERROR;
    pthread_mutex_unlock(&logged.mutex);
    ASSERT_EQ(errors, 1);
}

static int other_handler_calls;
static void other_handler(int level, const char *message, void *ctx) {
    (void)level; (void)message; (void)ctx;
    other_handler_calls++;
}

/* crochet_set_log_handler(NULL, NULL, NULL) restores the default handler, which writes "libcrochet: LEVEL: message" lines to stderr (checked in a forked child whose stderr is a pipe). */
TEST(null_handler_restores_default_stderr) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        if (dup2(p[1], 2) != 2) _exit(3);
        crochet_set_log_handler(other_handler, NULL, NULL);
        crochet_set_log_handler(NULL, NULL, NULL);
        ASSERT_OK(crochet_setup());
        crochet_raise(5, "to-default-handler");
        crochet_result *r = completed_failure(808);
        crochet_result_release(r);
        if (other_handler_calls != 0) _exit(4);
        exit(0);   /* queued records are delivered before the process ends */
    }
    close(p[1]);
    char text[65536];
    size_t len = 0;
    double deadline = harness_now() + 10.0;
    for (;;) {
        struct pollfd pfd = { p[0], POLLIN, 0 };
        double left = deadline - harness_now();
        if (left <= 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            FAIL("child did not finish writing within 10 s");
        }
        if (poll(&pfd, 1, (int)(left * 1000) + 1) <= 0) continue;
        ssize_t n = read(p[0], text + len, sizeof text - 1 - len);
        if (n <= 0) break;
        len += (size_t)n;
    }
    text[len] = 0;
    close(p[0]);
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (harness_now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            FAIL("child did not exit within 10 s");
        }
        usleep(5 * 1000);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        FAIL("child ended badly (status 0x%x); its stderr:\n%s", status, text);
    ASSERT_CONTAINS(text, "libcrochet: WARNING: ");
    ASSERT_CONTAINS(text, "to-default-handler");
    ASSERT_CONTAINS(text, "libcrochet: ERROR: ");
    ASSERT_CONTAINS(text, "logged-failure-808");
}

/* Switching handlers while records flow never crashes, and records after the switch go to the new handler. */
TEST(switching_handlers_while_logging) {
    ASSERT_OK(crochet_setup());
    for (int i = 0; i < 50; i++) {
        crochet_set_log_handler(i % 2 ? record_log : other_handler, NULL, NULL);
        crochet_raise(1, "churn");
    }
    crochet_set_log_handler(record_log, NULL, NULL);
    crochet_raise(1, "after-the-switch");
    await_record("after-the-switch");
}

static atomic_int first_calls, second_calls;
static latch second_got = LATCH_INIT;
static latch first_got = LATCH_INIT;
static void second_handler(int level, const char *message, void *ctx) {
    (void)level; (void)ctx;
    if (strstr(message, "after-swap")) {
        atomic_fetch_add(&second_calls, 1);
        latch_open(&second_got);
    }
}
static void swapping_handler(int level, const char *message, void *ctx) {
    (void)level; (void)message; (void)ctx;
    atomic_fetch_add(&first_calls, 1);
    crochet_set_log_handler(second_handler, NULL, NULL);   /* from the logging thread itself */
    latch_open(&first_got);
}

/* A handler may call crochet_set_log_handler itself (on the logging thread) without deadlock; later records go to the new handler. */
TEST(handler_may_replace_itself) {
    crochet_set_log_handler(swapping_handler, NULL, NULL);
    ASSERT_OK(crochet_setup());
    crochet_raise(1, "before-swap");
    ASSERT(latch_wait(&first_got, 10.0));
    crochet_raise(1, "after-swap");
    ASSERT(latch_wait(&second_got, 10.0));
    ASSERT_EQ(atomic_load(&first_calls), 1);
}

static latch old_entered = LATCH_INIT, old_release = LATCH_INIT, old_destroyed = LATCH_INIT;
static atomic_int old_calls_after_replace, replaced_flag, old_running, destroyed_while_running, destroy_calls;
static pthread_t old_handler_thread;
static atomic_int destroy_on_other_thread;
static void blocking_old_handler(int level, const char *message, void *ctx) {
    (void)level; (void)message; (void)ctx;
    old_handler_thread = pthread_self();
    atomic_store(&old_running, 1);
    if (atomic_load(&replaced_flag)) atomic_fetch_add(&old_calls_after_replace, 1);
    latch_open(&old_entered);
    latch_wait(&old_release, 10.0);
    atomic_store(&old_running, 0);
}
static void old_destroy(void *ctx) {
    ASSERT_EQ((intptr_t)ctx, 42);
    if (atomic_load(&old_running)) atomic_store(&destroyed_while_running, 1);
    if (!pthread_equal(pthread_self(), old_handler_thread)) atomic_store(&destroy_on_other_thread, 1);
    atomic_fetch_add(&destroy_calls, 1);
    latch_open(&old_destroyed);
}
static latch new_got_four = LATCH_INIT;
static void new_handler(int level, const char *message, void *ctx) {
    (void)level; (void)ctx;
    if (strstr(message, "four")) latch_open(&new_got_four);
}

/* crochet_set_log_handler never blocks, even while the old handler runs; the old handler is never called afterwards, and its destroy runs once, on the logging thread, after its last call returned. */
TEST(replacing_handler_never_blocks_and_destroys_old_after_its_last_call) {
    ASSERT_OK(crochet_set_log_handler(blocking_old_handler, (void *)(intptr_t)42, old_destroy));
    crochet_raise(0, "one");     /* outside a call: each logs a warning */
    crochet_raise(0, "two");
    crochet_raise(0, "three");
    ASSERT(latch_wait(&old_entered, 10.0));
    /* The old handler is blocked: replacing it returns at once. */
    ASSERT_OK(crochet_set_log_handler(new_handler, NULL, NULL));
    atomic_store(&replaced_flag, 1);
    ASSERT(!latch_wait(&old_destroyed, 0.1));   /* not while it runs */
    latch_open(&old_release);
    ASSERT(latch_wait(&old_destroyed, 10.0));
    /* Records still queued ("two", "three") and later ones go to the new handler. */
    crochet_raise(0, "four");
    ASSERT(latch_wait(&new_got_four, 10.0));
    ASSERT_OK(crochet_log_flush(10.0));
    ASSERT_EQ(atomic_load(&old_calls_after_replace), 0);
    ASSERT_EQ(atomic_load(&destroyed_while_running), 0);
    ASSERT_EQ(atomic_load(&destroy_on_other_thread), 0);
    ASSERT_EQ(atomic_load(&destroy_calls), 1);
}

static latch forwarder_entered = LATCH_INIT, reactor_busy = LATCH_INIT, forwarded = LATCH_INIT;
static atomic_int forward_status = 99;
static double set_handler_seconds = -1;
static int32_t forward_record(int32_t x) { return x; }
static void forwarding_handler(int level, const char *message, void *ctx) {
    (void)level; (void)ctx;
    if (!strstr(message, "forward-me")) return;
    latch_open(&forwarder_entered);
    ASSERT(latch_wait(&reactor_busy, 10.0));
    crochet_value v;
    /* Forwards the record through the reactor, which is busy replacing this handler. */
    atomic_store(&forward_status, crochet_wait_for(&v, NULL, 5.0, (crochet_fn)forward_record, CROCHET_TYPE_INT32,
                                                   (crochet_value[]){ crochet_int32(1) }, 1));
    latch_open(&forwarded);
}
static void replace_handler_on_reactor(void) {
    latch_open(&reactor_busy);
    usleep(20000);   /* the handler is now inside crochet_wait_for */
    double start = harness_now();
    ASSERT_OK(crochet_set_log_handler(record_log, NULL, NULL));
    set_handler_seconds = harness_now() - start;
}

/* crochet_set_log_handler on the reactor thread, while the old handler forwards a record through the reactor with crochet_wait_for, returns at once: no deadlock, the forward succeeds. */
TEST(set_log_handler_on_reactor_does_not_deadlock_with_forwarding_handler) {
    ASSERT_OK(crochet_set_log_handler(forwarding_handler, NULL, NULL));
    ASSERT_OK(crochet_setup());
    crochet_raise(0, "forward-me");   /* outside a call: a warning record */
    ASSERT(latch_wait(&forwarder_entered, 10.0));
    crochet_result *r;
    ASSERT_OK(CROCHET_SUBMIT(&r, replace_handler_on_reactor, CROCHET_TYPE_VOID));
    ASSERT_OK(crochet_wait(r, 10.0, NULL));
    ASSERT(latch_wait(&forwarded, 10.0));
    ASSERT_STATUS(atomic_load(&forward_status), CROCHET_OK);
    if (set_handler_seconds > 0.5 * harness_slowdown()) FAIL("crochet_set_log_handler took %.2f s on the reactor thread", set_handler_seconds);
    crochet_result_release(r);
}

/* crochet_log_flush waits until every earlier record was delivered, refuses the reactor thread and a handler, and rejects bad timeouts. */
TEST(log_flush_delivers_earlier_records) {
    ASSERT_OK(crochet_set_log_handler(record_log, NULL, NULL));
    ASSERT_OK(crochet_setup());
    for (int i = 0; i < 50; i++) crochet_raise(0, "flush-me");
    crochet_raise(0, "flush-last");
    ASSERT_OK(crochet_log_flush(10.0));
    ASSERT(find_record("flush-last") >= 0);
    ASSERT_STATUS(crochet_log_flush(-1), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_log_flush(NAN), CROCHET_EINVAL);
    ASSERT_OK(crochet_log_flush(0));   /* nothing pending: a poll succeeds */
}
