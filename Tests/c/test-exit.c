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
    crochet_wait(w->r, INFINITY, NULL);
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
        crochet_wait(r, INFINITY, NULL);
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
        crochet_wait(pending, INFINITY, NULL);
        for (;;) pause();   /* the exiting thread owns the exit */
    }
    finish_child(&c, 10.0);
    expect_clean_exit(&c);
}
