/* Process exit: the exit handler stops the reactor so a process with threads
 * blocked in crochet_wait still exits, and failures of still-stashed results
 * are logged on the way out. Each test forks a child that does the exiting;
 * the parent watches it with bounded waits. */
#include "harness.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

/* ---- child process plumbing --------------------------------------------- */

struct child {
    pid_t pid;
    int out;              /* read end of the child's output pipe */
    char text[65536];     /* what the child wrote there */
    size_t len;
    int status;           /* waitpid status */
};

static int child_log_fd = -1;   /* in the child: write end of the pipe */

/* Forks; returns 1 in the child (with child_log_fd set, and stderr on the
 * pipe too if capture_stderr), 0 in the parent. */
static int start_child(struct child *c, int capture_stderr) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    fflush(stdout);
    fflush(stderr);
    c->pid = fork();
    ASSERT(c->pid >= 0);
    if (c->pid == 0) {
        close(p[0]);
        child_log_fd = p[1];
        if (capture_stderr) ASSERT(dup2(p[1], 2) == 2);
        return 1;
    }
    close(p[1]);
    c->out = p[0];
    c->len = 0;
    return 0;
}

/* Parent: collects the child's output until EOF and its exit, for at most
 * `limit` seconds; kills it and fails the test if it takes longer. */
static void finish_child(struct child *c, double limit) {
    double deadline = harness_now() + limit;
    int eof = 0, exited = 0;
    while (!(eof && exited)) {
        double left = deadline - harness_now();
        if (left <= 0) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, NULL, 0);
            c->text[c->len] = 0;
            FAIL("child %d still running after %.1f s (eof %d); its output:\n%s", (int)c->pid, limit, eof, c->text);
        }
        if (!eof) {
            struct pollfd pfd = { c->out, POLLIN, 0 };
            if (poll(&pfd, 1, 20) > 0) {
                ssize_t n = read(c->out, c->text + c->len, sizeof c->text - 1 - c->len);
                if (n <= 0) eof = 1;
                else c->len += (size_t)n;
            }
        } else {
            usleep(10 * 1000);   /* polling waitpid: nothing to block on with a bound */
        }
        if (!exited) {
            pid_t w = waitpid(c->pid, &c->status, WNOHANG);
            ASSERT(w == 0 || w == c->pid);
            if (w == c->pid) exited = 1;
        }
    }
    c->text[c->len] = 0;
    close(c->out);
}

static void expect_clean_exit(struct child *c) {
    if (!WIFEXITED(c->status) || WEXITSTATUS(c->status) != 0)
        FAIL("child did not exit with status 0 (%s %d); its output:\n%s",
             WIFEXITED(c->status) ? "exit" : "signal",
             WIFEXITED(c->status) ? WEXITSTATUS(c->status) : WTERMSIG(c->status), c->text);
}

/* A log handler for the child: one "level|message" line per record on the pipe. */
static void pipe_log(int level, const char *message, void *ctx) {
    (void)ctx;
    char line[8192];
    int n = snprintf(line, sizeof line, "%d|%s\n", level, message);
    if (n > (int)sizeof line - 1) n = (int)sizeof line - 1;
    ssize_t w = write(child_log_fd, line, (size_t)n);
    (void)w;
}

/* ---- functions the children submit ---------------------------------------- */

static crochet_deferred *never_fires(void) {
    crochet_deferred *d;
    ASSERT_OK(crochet_deferred_new(&d, NULL, NULL, NULL));
    return d;
}

static int32_t fails(int32_t code) {
    char message[64];
    snprintf(message, sizeof message, "stashed-boom-%d", (int)code);
    crochet_raise(code, message);
    return 0;
}

static void nothing(void) {}

struct blocked_waiter { crochet_result *r; latch *ready; };
static void *wait_forever(void *p) {
    struct blocked_waiter *w = p;
    latch_open(w->ready);
    ANY_STATUS(crochet_wait(w->r, INFINITY, NULL));
    return NULL;
}

/* Starts `n` threads blocked in crochet_wait(INFINITY) on never-completing results. */
static void block_waiters(int n) {
    ASSERT_OK(crochet_setup());
    static latch ready = LATCH_INIT;
    static struct blocked_waiter w[8];
    for (int i = 0; i < n; i++) {
        crochet_result *r;
        ASSERT_OK(crochet_submit(&r, (crochet_fn)never_fires, CROCHET_TYPE_DEFERRED, NULL, 0));
        w[i] = (struct blocked_waiter){ r, &ready };
        pthread_t t;
        ASSERT_EQ(pthread_create(&t, NULL, wait_forever, &w[i]), 0);
        ASSERT_EQ(pthread_detach(t), 0);
    }
    ASSERT(latch_wait_n(&ready, n, 10.0));
    /* Give the threads time to block inside crochet_wait. */
    ASSERT_STATUS(crochet_wait(w[0].r, 0.1, NULL), CROCHET_ETIMEDOUT);
}

/* ---- tests ----------------------------------------------------------------- */

/* A process whose main returns while other threads are blocked in crochet_wait(INFINITY) on never-completing results exits promptly with status 0. */
TEST(main_returns_with_blocked_waiters) {
    struct child c;
    if (start_child(&c, 1)) {
        block_waiters(4);
        return;   /* back to the harness's main, which returns 0 */
    }
    finish_child(&c, 10.0);
    expect_clean_exit(&c);
}

/* A process that calls exit(0) while other threads are blocked in crochet_wait exits promptly with status 0. */
TEST(exit_call_with_blocked_waiters) {
    struct child c;
    if (start_child(&c, 1)) {
        block_waiters(3);
        exit(0);
    }
    finish_child(&c, 10.0);
    expect_clean_exit(&c);
}

static void *exit_from_thread(void *p) {
    latch_wait(p, 10.0);
    exit(0);
}

/* A process exits promptly with status 0 when another thread calls exit(0) while the main thread is blocked in crochet_wait. */
TEST(exit_from_other_thread_while_main_waits) {
    struct child c;
    if (start_child(&c, 1)) {
        ASSERT_OK(crochet_setup());
        crochet_result *r;
        ASSERT_OK(crochet_submit(&r, (crochet_fn)never_fires, CROCHET_TYPE_DEFERRED, NULL, 0));
        static latch go = LATCH_INIT;
        pthread_t t;
        ASSERT_EQ(pthread_create(&t, NULL, exit_from_thread, &go), 0);
        latch_open(&go);
        ANY_STATUS(crochet_wait(r, INFINITY, NULL));
        /* The exiting thread owns the exit now; never return into a second exit. */
        for (;;) pause();
    }
    finish_child(&c, 10.0);
    expect_clean_exit(&c);
}

/* Makes a failed result, stashes it, drops the caller's reference without observing the failure, and makes sure it has completed. */
static uint64_t stash_failure(int32_t code) {
    crochet_result *r;
    ASSERT_OK(CROCHET_SUBMIT(&r, fails, CROCHET_TYPE_INT32, crochet_int32(code)));
    uint64_t id;
    ASSERT_OK(crochet_stash(r, &id));
    crochet_result_release(r);
    /* Calls run in order: once this one is done, the failing one has completed. */
    crochet_result *barrier;
    ASSERT_OK(crochet_submit(&barrier, (crochet_fn)nothing, CROCHET_TYPE_VOID, NULL, 0));
    ASSERT_OK(crochet_wait(barrier, 10.0, NULL));
    crochet_result_release(barrier);
    return id;
}

/* At exit, the failure of a result still stashed is logged at CROCHET_LOG_ERROR to the log handler, with its message; a retrieved one is not. */
TEST(stashed_failures_are_logged_at_exit) {
    struct child c;
    if (start_child(&c, 0)) {
        crochet_set_log_handler(pipe_log, NULL, NULL);
        ASSERT_OK(crochet_setup());
        stash_failure(4711);
        uint64_t taken = stash_failure(815);
        crochet_result *r;
        ASSERT_OK(crochet_retrieve(&r, taken));
        ASSERT_STATUS(crochet_wait(r, 10.0, NULL), CROCHET_EFAILED);   /* observed: not unhandled */
        crochet_result_release(r);
        return;
    }
    finish_child(&c, 10.0);
    expect_clean_exit(&c);
    ASSERT_CONTAINS(c.text, "stashed-boom-4711");
    char *line = strstr(c.text, "stashed-boom-4711");
    while (line > c.text && line[-1] != '\n') line--;
    ASSERT_EQ(atoi(line), CROCHET_LOG_ERROR);
    if (strstr(c.text, "stashed-boom-815")) FAIL("a retrieved, observed failure was logged:\n%s", c.text);
}

/* A stashed result still pending at exit is not an error: the stopping reactor completes it, and nothing is logged (as crochet is silent). */
TEST(pending_stashed_result_is_silent_at_exit) {
    struct child c;
    if (start_child(&c, 1)) {
        crochet_set_log_handler(pipe_log, NULL, NULL);
        ASSERT_OK(crochet_setup());
        crochet_result *r;
        ASSERT_OK(crochet_submit(&r, (crochet_fn)never_fires, CROCHET_TYPE_DEFERRED, NULL, 0));
        uint64_t id;
        ASSERT_OK(crochet_stash(r, &id));
        crochet_result_release(r);
        stash_failure(321);   /* the control: a failure is still reported */
        exit(0);
    }
    finish_child(&c, 10.0);
    expect_clean_exit(&c);
    ASSERT_CONTAINS(c.text, "stashed-boom-321");
    const char *first = strstr(c.text, "Unhandled error");
    ASSERT_NOT_NULL(first);
    if (strstr(first + 1, "Unhandled error")) FAIL("more than the failure was reported:\n%s", c.text);
}

/* A fork child does not report the stashed failures it inherited (its parent does): each is reported once. */
TEST(fork_child_does_not_report_inherited_stashed_failures) {
    struct child c;
    if (start_child(&c, 1)) {
        crochet_set_log_handler(pipe_log, NULL, NULL);
        ASSERT_OK(crochet_setup());
        stash_failure(654);
        fflush(stdout);
        pid_t pid = fork();
        ASSERT(pid >= 0);
        if (pid == 0) exit(0);   /* the grandchild: inherited the store, reports nothing */
        int status;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        exit(0);                 /* the child reports its own stashed failure */
    }
    finish_child(&c, 10.0);
    expect_clean_exit(&c);
    const char *first = strstr(c.text, "stashed-boom-654");
    ASSERT_NOT_NULL(first);
    if (strstr(first + 1, "stashed-boom-654")) FAIL("reported twice (by the fork child too):\n%s", c.text);
}

/* With the default log handler, failures of results still stashed at exit are written to stderr as "libcrochet: ..." lines. */
TEST(stashed_failures_logged_to_stderr_by_default) {
    struct child c;
    if (start_child(&c, 1)) {
        ASSERT_OK(crochet_setup());
        stash_failure(99);
        exit(0);
    }
    finish_child(&c, 10.0);
    expect_clean_exit(&c);
    ASSERT_CONTAINS(c.text, "stashed-boom-99");
    ASSERT_CONTAINS(c.text, "libcrochet: ");
}

static void slow_pipe_log(int level, const char *message, void *ctx) {
    usleep(30 * 1000);   /* a slow handler: records pile up in the queue */
    pipe_log(level, message, ctx);
}

/* Log records still queued at exit are delivered before the process ends: unhandled errors released just before main returns all reach a slow handler. */
TEST(queued_log_records_are_delivered_at_exit) {
    struct child c;
    if (start_child(&c, 0)) {
        crochet_set_log_handler(slow_pipe_log, NULL, NULL);
        ASSERT_OK(crochet_setup());
        crochet_result *rs[5];
        for (int i = 0; i < 5; i++)
            ASSERT_OK(CROCHET_SUBMIT(&rs[i], fails, CROCHET_TYPE_INT32, crochet_int32(600 + i)));
        crochet_result *barrier;
        ASSERT_OK(crochet_submit(&barrier, (crochet_fn)nothing, CROCHET_TYPE_VOID, NULL, 0));
        ASSERT_OK(crochet_wait(barrier, 10.0, NULL));
        crochet_result_release(barrier);
        for (int i = 0; i < 5; i++) crochet_result_release(rs[i]);   /* unobserved failures */
        return;
    }
    finish_child(&c, 10.0);
    expect_clean_exit(&c);
    for (int i = 0; i < 5; i++) {
        char needle[32];
        snprintf(needle, sizeof needle, "stashed-boom-%d", 600 + i);
        if (!strstr(c.text, needle)) FAIL("record for %s missing from:\n%s", needle, c.text);
    }
    ASSERT_CONTAINS(c.text, "Unhandled error in EventualResult");
}

static void trigger_to_pipe(void *ctx) {
    char line[64];
    int n = snprintf(line, sizeof line, "trigger-%d on-reactor=%d\n", (int)(intptr_t)ctx, crochet_in_reactor_thread());
    ssize_t w = write(child_log_fd, line, (size_t)n);
    (void)w;
}

/* At exit, the exit handler stops the reactor, so shutdown triggers run (on the reactor thread, last registered first). */
TEST(shutdown_triggers_run_at_exit) {
    struct child c;
    if (start_child(&c, 0)) {
        ASSERT_OK(crochet_setup());
        ASSERT_OK(crochet_add_shutdown_trigger(trigger_to_pipe, (void *)(intptr_t)1, NULL));
        ASSERT_OK(crochet_add_shutdown_trigger(trigger_to_pipe, (void *)(intptr_t)2, NULL));
        return;
    }
    finish_child(&c, 10.0);
    expect_clean_exit(&c);
    ASSERT_CONTAINS(c.text, "trigger-2 on-reactor=1\ntrigger-1 on-reactor=1\n");
}

static void exit_on_reactor(void) { exit(0); }

/* A process exits promptly with status 0 when a submitted function calls exit(0) on the reactor thread while main is blocked in crochet_wait. */
TEST(exit_from_reactor_thread) {
    struct child c;
    if (start_child(&c, 1)) {
        ASSERT_OK(crochet_setup());
        crochet_result *pending, *exiter;
        ASSERT_OK(crochet_submit(&pending, (crochet_fn)never_fires, CROCHET_TYPE_DEFERRED, NULL, 0));
        ASSERT_OK(crochet_submit(&exiter, (crochet_fn)exit_on_reactor, CROCHET_TYPE_VOID, NULL, 0));
        ANY_STATUS(crochet_wait(pending, INFINITY, NULL));
        for (;;) pause();   /* the exiting thread owns the exit */
    }
    finish_child(&c, 10.0);
    expect_clean_exit(&c);
}

/* ---- 0.2: the edges of exit ------------------------------------------------ */

static latch hold_entered = LATCH_INIT, hold_release = LATCH_INIT;
static void hold_reactor(void) {
    latch_open(&hold_entered);
    ASSERT(latch_wait(&hold_release, 10.0));
}
static void exit_now(void) { exit(0); }
static int32_t never_runs(int32_t x) {
    ssize_t w = write(child_log_fd, "behind ran\n", 11);
    (void)w;
    return x;
}
static void child_say(const char *text) {
    ssize_t w = write(child_log_fd, text, strlen(text));
    (void)w;
}

static crochet_result *behind;   /* a call queued in the same batch as the exiting one, behind it */
static void *wait_on_behind(void *p) {
    (void)p;
    ANY_STATUS(crochet_wait(behind, INFINITY, NULL));   /* must return: exit completes it */
    return NULL;
}
/* Registered before crochet_setup, so it runs after the library's exit handler. */
static void report_behind(void) {
    char line[64];
    snprintf(line, sizeof line, "behind=%s\n", crochet_status_name(crochet_wait(behind, 0, NULL)));
    child_say(line);
}

/* Queues exit_now and then `behind` while the reactor is held, so both
 * arrive in one batch, exit_now first. */
static void queue_exit_then_behind(void) {
    crochet_result *holder, *exiter;
    ASSERT_OK(CROCHET_SUBMIT(&holder, hold_reactor, CROCHET_TYPE_VOID));
    ASSERT(latch_wait(&hold_entered, 10.0));
    ASSERT_OK(CROCHET_SUBMIT(&exiter, exit_now, CROCHET_TYPE_VOID));
    ASSERT_OK(CROCHET_SUBMIT(&behind, never_runs, CROCHET_TYPE_INT32, crochet_int32(1)));
}

/* exit() inside a submitted call completes the calls queued behind it in the same batch with CROCHET_ESTOPPED, never runs them, and returns well under a second although a thread waits on one with no timeout. */
TEST(exit_inside_call_completes_calls_behind_it) {
    struct child c;
    if (start_child(&c, 1)) {
        ASSERT_EQ(atexit(report_behind), 0);
        ASSERT_OK(crochet_setup());
        queue_exit_then_behind();
        pthread_t t;
        ASSERT_EQ(pthread_create(&t, NULL, wait_on_behind, NULL), 0);
        latch_open(&hold_release);
        for (;;) pause();
    }
    double start = harness_now();
    finish_child(&c, 10.0);
    expect_clean_exit(&c);
    if (harness_now() - start > 1.0 * harness_slowdown()) FAIL("exit took %.2f s", harness_now() - start);
    ASSERT(strstr(c.text, "behind ran") == NULL);
    ASSERT_CONTAINS(c.text, "behind=CROCHET_ESTOPPED");
}

static crochet_result *_Atomic worker_target;
static int32_t worker_waiting(void) {
    crochet_result *r;
    while ((r = atomic_load(&worker_target)) == NULL) usleep(1000);
    child_say("worker waiting\n");
    return crochet_wait(r, INFINITY, NULL);
}
static crochet_deferred *start_waiting_worker(void) {
    crochet_deferred *d;
    ASSERT_OK(crochet_defer_to_thread(&d, (crochet_fn)worker_waiting, CROCHET_TYPE_INT32, NULL, 0));
    return d;
}

/* exit() inside a call returns promptly while a defer_to_thread worker is blocked (no timeout) on a result queued behind that call: the result completes as stopped and the worker ends. */
TEST(exit_inside_call_with_worker_blocked_on_pending_result) {
    struct child c;
    if (start_child(&c, 1)) {
        ASSERT_OK(crochet_setup());
        crochet_result *worker;
        ASSERT_OK(CROCHET_SUBMIT(&worker, start_waiting_worker, CROCHET_TYPE_DEFERRED));
        queue_exit_then_behind();
        atomic_store(&worker_target, behind);
        usleep(50000);   /* let the worker block in its wait */
        latch_open(&hold_release);
        for (;;) pause();
    }
    double start = harness_now();
    finish_child(&c, 10.0);
    expect_clean_exit(&c);
    if (harness_now() - start > 1.0 * harness_slowdown()) FAIL("exit took %.2f s", harness_now() - start);
    ASSERT_CONTAINS(c.text, "worker waiting");
}

static int32_t exit_from_worker(void) { exit(0); }
static crochet_deferred *defer_exit(void) {
    crochet_deferred *d;
    ASSERT_OK(crochet_defer_to_thread(&d, (crochet_fn)exit_from_worker, CROCHET_TYPE_INT32, NULL, 0));
    return d;
}

/* exit() called from a defer_to_thread worker returns well under a second (stopping never waits to join the exiting worker). */
TEST(exit_from_worker_is_prompt) {
    struct child c;
    if (start_child(&c, 1)) {
        ASSERT_OK(crochet_setup());
        crochet_result *r;
        ASSERT_OK(CROCHET_SUBMIT(&r, defer_exit, CROCHET_TYPE_DEFERRED));
        ANY_STATUS(crochet_wait(r, INFINITY, NULL));
        for (;;) pause();
    }
    double start = harness_now();
    finish_child(&c, 10.0);
    expect_clean_exit(&c);
    if (harness_now() - start > 1.0 * harness_slowdown()) FAIL("exit took %.2f s", harness_now() - start);
}

static crochet_result *late_failure;
/* Registered before crochet_setup: runs after the library's exit handler. */
static void release_late_failure(void) {
    crochet_result_release(late_failure);   /* an unobserved failure: logs an ERROR now */
}

/* A log record made by an exit handler that runs after the library's own (one registered before crochet_setup) still reaches the log handler. */
TEST(records_made_after_library_exit_handler_are_delivered) {
    struct child c;
    if (start_child(&c, 1)) {
        ASSERT_EQ(atexit(release_late_failure), 0);
        ASSERT_OK(crochet_set_log_handler(pipe_log, NULL, NULL));
        ASSERT_OK(crochet_setup());
        ASSERT_OK(CROCHET_SUBMIT(&late_failure, fails, CROCHET_TYPE_INT32, crochet_int32(4343)));
        /* Calls run in order: once this one is done, so is the failure, unobserved. */
        crochet_value v;
        ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)nothing, CROCHET_TYPE_VOID, NULL, 0));
        exit(0);
    }
    finish_child(&c, 10.0);
    expect_clean_exit(&c);
    ASSERT_CONTAINS(c.text, "40|Unhandled error in EventualResult");
    ASSERT_CONTAINS(c.text, "stashed-boom-4343");
}

static int queued_calls_ran;
static void count_queued(void) {
    if (++queued_calls_ran == 1000) child_say("all 1000 ran\n");
}

/* Calls queued before exit (on another thread) run, in order, before the reactor stops, as crochet's reactor drains them. */
TEST(calls_queued_before_exit_run) {
    struct child c;
    if (start_child(&c, 1)) {
        ASSERT_OK(crochet_setup());
        crochet_result *holder;
        ASSERT_OK(CROCHET_SUBMIT(&holder, hold_reactor, CROCHET_TYPE_VOID));
        ASSERT(latch_wait(&hold_entered, 10.0));
        for (int i = 0; i < 1000; i++) {
            crochet_result *r;
            ASSERT_OK(CROCHET_SUBMIT(&r, count_queued, CROCHET_TYPE_VOID));
            crochet_result_release(r);
        }
        latch_open(&hold_release);
        exit(0);
    }
    finish_child(&c, 10.0);
    expect_clean_exit(&c);
    ASSERT_CONTAINS(c.text, "all 1000 ran");
}
