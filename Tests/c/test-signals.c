/* Signals and the library's threads: they block SIGPIPE only (a write to a
 * broken pipe on the reactor thread returns EPIPE instead of ending the
 * process), keep every other signal as the thread that called setup had it,
 * and a process forked on the reactor thread gets the full mask back. */
#include "harness.h"
#include <signal.h>
#include <sys/wait.h>

/* The calling thread's blocked set, as a bit mask of signals 1..63. */
static uint64_t blocked_now(void) {
    sigset_t set;
    pthread_sigmask(SIG_BLOCK, NULL, &set);
    uint64_t bits = 0;
    for (int s = 1; s < 64; s++) if (sigismember(&set, s) == 1) bits |= 1ull << s;
    return bits;
}

static uint64_t reactor_blocked(void) {
    crochet_value v;
    ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)blocked_now, CROCHET_TYPE_UINT64, NULL, 0));
    return v.u.u64;
}

/* With nothing blocked by the application, the reactor thread blocks SIGPIPE and nothing else. */
TEST(reactor_thread_blocks_only_sigpipe) {
    ASSERT_OK(crochet_setup());
    ASSERT_U64_EQ(reactor_blocked(), 1ull << SIGPIPE);
}

/* Signals the application blocked before setup stay blocked on the reactor thread (it inherits the mask). */
TEST(reactor_thread_inherits_the_setup_threads_mask) {
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &usr1, NULL), 0);
    ASSERT_OK(crochet_setup());
    ASSERT_U64_EQ(reactor_blocked(), (1ull << SIGPIPE) | (1ull << SIGUSR1));
}

static int32_t write_to_broken_pipe(void) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    close(p[0]);
    ssize_t n = write(p[1], "x", 1);
    int e = errno;
    close(p[1]);
    return n < 0 ? e : 0;
}

/* A write to a broken pipe on the reactor thread fails with EPIPE; the process goes on (SIGPIPE left at its default action). */
TEST(broken_pipe_on_reactor_thread_is_epipe) {
    signal(SIGPIPE, SIG_DFL);
    ASSERT_OK(crochet_setup());
    crochet_value v;
    ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)write_to_broken_pipe, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT_EQ(v.u.i32, EPIPE);
}

/* In a child forked on the reactor thread: exits 0 if nothing is blocked. */
static int32_t fork_and_report_mask(void) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) _exit(blocked_now() == 0 ? 0 : 1);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

/* A process forked on the reactor thread starts with nothing blocked (the setup thread's mask), so what it execs can be signalled. */
TEST(fork_on_reactor_thread_gives_the_mask_back) {
    ASSERT_OK(crochet_setup());
    crochet_value v;
    ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)fork_and_report_mask, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT_EQ(v.u.i32, 0);
    ASSERT_U64_EQ(reactor_blocked(), 1ull << SIGPIPE);   /* the reactor thread itself keeps SIGPIPE blocked */
}

static int32_t spawn_and_terminate(void) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sleep", "sleep", "30", (char *)NULL);
        _exit(127);
    }
    kill(pid, SIGTERM);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return -1;
    return WIFSIGNALED(status) ? WTERMSIG(status) : -2;
}

/* A program started from the reactor thread ends on SIGTERM (it was immune while every signal was blocked there). */
TEST(program_started_on_reactor_thread_ends_on_sigterm) {
    ASSERT_OK(crochet_setup());
    crochet_value v;
    ASSERT_OK(crochet_wait_for(&v, NULL, 20.0, (crochet_fn)spawn_and_terminate, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT_EQ(v.u.i32, SIGTERM);
}

static atomic_int usr2_seen;
static void on_usr2(int s) { (void)s; atomic_store(&usr2_seen, 1); }
static int32_t wait_for_usr2(void) {
    for (int i = 0; i < 2000 && !atomic_load(&usr2_seen); i++) usleep(1000);
    return atomic_load(&usr2_seen);
}

/* A signal sent to the reactor thread itself (pthread_kill) runs the application's handler there. */
TEST(signal_to_reactor_thread_runs_the_handler) {
    signal(SIGUSR2, on_usr2);
    ASSERT_OK(crochet_setup());
    crochet_value self;
    ASSERT_OK(crochet_wait_for(&self, NULL, 10.0, (crochet_fn)pthread_self, CROCHET_TYPE_UINT64, NULL, 0));
    ASSERT_EQ(pthread_kill((pthread_t)self.u.u64, SIGUSR2), 0);
    crochet_value v;
    ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)wait_for_usr2, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT_EQ(v.u.i32, 1);
    /* The loop is not disturbed by the interrupted sleep. */
    ASSERT_EQ(reactor_blocked(), 1ull << SIGPIPE);
}

/* A process that ignores SIGPIPE (as Python does) has nothing to protect: the reactor thread blocks no signal at all, so what it spawns, by any means, starts clean. */
TEST(ignored_sigpipe_is_not_blocked) {
    signal(SIGPIPE, SIG_IGN);
    ASSERT_OK(crochet_setup());
    ASSERT_U64_EQ(reactor_blocked(), 0);
    crochet_value v;
    ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)fork_and_report_mask, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT_EQ(v.u.i32, 0);
}
