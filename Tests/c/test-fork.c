/* fork(): in the child, results inherited from the parent complete with
 * CROCHET_ESTOPPED and crochet_setup() starts a fresh reactor; the parent's
 * reactor is not disturbed. Children report through their exit status (an
 * ASSERT in a child aborts it) and are watched with bounded waits. */
#include "harness.h"
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* Parent: waits up to `limit` seconds for the child and expects exit status 0. */
static void expect_child_ok(pid_t pid, double limit) {
    double deadline = harness_now() + limit;
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        ASSERT(w == 0 || w == pid);
        if (w == pid) break;
        if (harness_now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            FAIL("child %d still running after %.1f s", (int)pid, limit);
        }
        usleep(5 * 1000);   /* polling waitpid: nothing to block on with a bound */
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        FAIL("child %s %d", WIFEXITED(status) ? "exited with status" : "was killed by signal",
             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

static pid_t fork_child(void) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    return pid;
}

static crochet_deferred *never_fires(void) {
    crochet_deferred *d;
    ASSERT_OK(crochet_deferred_new(&d, NULL, NULL, NULL));
    return d;
}

static crochet_deferred *kept;   /* a deferred the parent fires after the fork */
static crochet_deferred *keep_deferred(void) {
    ASSERT_OK(crochet_deferred_new(&kept, NULL, NULL, NULL));
    return crochet_deferred_retain(kept);
}
static void fire_kept(void *ctx) {
    (void)ctx;
    ASSERT_OK(crochet_deferred_callback(kept, crochet_int32(1234)));
    crochet_deferred_release(kept);
}

static int32_t add(int32_t a, int32_t b) { return a + b; }

struct where { pthread_t thread; int in_reactor; };
static struct where where;
static int32_t note_where(int32_t x) {
    where.thread = pthread_self();
    where.in_reactor = crochet_in_reactor_thread();
    return x + 1;
}

static void open_latch(void *ctx) { latch_open(ctx); }

/* In a fork() child, a result that was pending in the parent completes with CROCHET_ESTOPPED (failure code ESTOPPED) when waited on, while a result already completed keeps its value. */
TEST(inherited_pending_results_are_stopped_in_child) {
    ASSERT_OK(crochet_setup());
    crochet_result *pending, *done;
    ASSERT_OK(crochet_submit(&pending, (crochet_fn)never_fires, CROCHET_TYPE_DEFERRED, NULL, 0));
    ASSERT_OK(CROCHET_SUBMIT(&done, add, CROCHET_TYPE_INT32, crochet_int32(2), crochet_int32(3)));
    ASSERT_OK(crochet_wait(done, 10.0, NULL));
    ASSERT_STATUS(crochet_wait(pending, 0.02, NULL), CROCHET_ETIMEDOUT);

    pid_t pid = fork_child();
    if (pid == 0) {
        ASSERT_STATUS(crochet_wait(pending, 5.0, NULL), CROCHET_ESTOPPED);
        const crochet_failure *f = crochet_original_failure(pending);
        ASSERT_NOT_NULL(f);
        ASSERT_EQ(crochet_failure_code(f), CROCHET_ESTOPPED);
        crochet_value v = { 0 };
        ASSERT_OK(crochet_wait(done, 0, &v));
        ASSERT_EQ(v.u.i32, 5);
        crochet_result_release(pending);
        crochet_result_release(done);
        _exit(0);
    }
    expect_child_ok(pid, 10.0);
    /* The parent's copy is untouched. */
    ASSERT_STATUS(crochet_wait(pending, 0, NULL), CROCHET_ETIMEDOUT);
    ASSERT_NULL(crochet_original_failure(pending));
    crochet_result_release(pending);
    crochet_result_release(done);
}

struct child_waiter { crochet_result *r; int status; };
static void *child_wait(void *p) {
    struct child_waiter *w = p;
    w->status = crochet_wait(w->r, 5.0, NULL);
    return NULL;
}

/* In a fork() child, several threads waiting on one inherited pending result all get CROCHET_ESTOPPED. */
TEST(child_threads_waiting_on_inherited_result_get_estopped) {
    ASSERT_OK(crochet_setup());
    crochet_result *pending;
    ASSERT_OK(crochet_submit(&pending, (crochet_fn)never_fires, CROCHET_TYPE_DEFERRED, NULL, 0));
    ASSERT_STATUS(crochet_wait(pending, 0.02, NULL), CROCHET_ETIMEDOUT);
    pid_t pid = fork_child();
    if (pid == 0) {
        struct child_waiter w[3];
        pthread_t t[3];
        for (int i = 0; i < 3; i++) {
            w[i] = (struct child_waiter){ pending, 99 };
            ASSERT_EQ(pthread_create(&t[i], NULL, child_wait, &w[i]), 0);
        }
        for (int i = 0; i < 3; i++) {
            ASSERT_EQ(pthread_join(t[i], NULL), 0);
            ASSERT_STATUS(w[i].status, CROCHET_ESTOPPED);
        }
        _exit(0);
    }
    expect_child_ok(pid, 10.0);
    crochet_result_release(pending);
}

/* crochet_setup() in a fork() child starts a fresh reactor on a new thread there: submissions, wait_for and call_later work, and the child exits cleanly. */
TEST(setup_in_child_starts_fresh_reactor) {
    ASSERT_OK(crochet_setup());
    crochet_value v;
    ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)note_where, CROCHET_TYPE_INT32,
                               (crochet_value[]){ crochet_int32(1) }, 1));
    pid_t pid = fork_child();
    if (pid == 0) {
        ASSERT_OK(crochet_setup());
        crochet_result *r;
        ASSERT_OK(CROCHET_SUBMIT(&r, add, CROCHET_TYPE_INT32, crochet_int32(40), crochet_int32(2)));
        crochet_value cv = { 0 };
        ASSERT_OK(crochet_wait(r, 5.0, &cv));
        ASSERT_EQ(cv.type, CROCHET_TYPE_INT32);
        ASSERT_EQ(cv.u.i32, 42);
        crochet_result_release(r);
        where.in_reactor = 0;
        ASSERT_OK(crochet_wait_for(&cv, NULL, 5.0, (crochet_fn)note_where, CROCHET_TYPE_INT32,
                                   (crochet_value[]){ crochet_int32(9) }, 1));
        ASSERT_EQ(cv.u.i32, 10);
        ASSERT_EQ(where.in_reactor, 1);
        ASSERT(!pthread_equal(where.thread, pthread_self()));
        latch l = LATCH_INIT;
        ASSERT_OK(crochet_call_later(NULL, 0.01, open_latch, &l, NULL));
        ASSERT(latch_wait(&l, 5.0));
        exit(0);   /* through the exit handler, which stops the child's reactor */
    }
    expect_child_ok(pid, 10.0);
}

/* The parent's reactor keeps working after a fork: a deferred pending at the fork still delivers its value to the parent, and new submissions work, while and after the child runs its own reactor. */
TEST(parent_reactor_keeps_working_after_fork) {
    ASSERT_OK(crochet_setup());
    crochet_result *pending;
    ASSERT_OK(crochet_submit(&pending, (crochet_fn)keep_deferred, CROCHET_TYPE_DEFERRED, NULL, 0));
    ASSERT_STATUS(crochet_wait(pending, 0.02, NULL), CROCHET_ETIMEDOUT);
    pid_t pid = fork_child();
    if (pid == 0) {
        ASSERT_STATUS(crochet_wait(pending, 5.0, NULL), CROCHET_ESTOPPED);
        ASSERT_OK(crochet_setup());
        crochet_value cv;
        ASSERT_OK(crochet_wait_for(&cv, NULL, 5.0, (crochet_fn)add, CROCHET_TYPE_INT32,
                                   (crochet_value[]){ crochet_int32(1), crochet_int32(1) }, 2));
        ASSERT_EQ(cv.u.i32, 2);
        exit(0);
    }
    crochet_value v = { 0 };
    ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)add, CROCHET_TYPE_INT32,
                               (crochet_value[]){ crochet_int32(3), crochet_int32(4) }, 2));
    ASSERT_EQ(v.u.i32, 7);
    ASSERT_OK(crochet_call_from_thread(fire_kept, NULL, NULL));
    ASSERT_OK(crochet_wait(pending, 10.0, &v));
    ASSERT_EQ(v.u.i32, 1234);
    crochet_result_release(pending);
    expect_child_ok(pid, 10.0);
    ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)add, CROCHET_TYPE_INT32,
                               (crochet_value[]){ crochet_int32(5), crochet_int32(6) }, 2));
    ASSERT_EQ(v.u.i32, 11);
}

/* A fork() child that never calls crochet_setup can still exit() cleanly (the inherited exit handler does not hang on the parent's reactor thread, which does not exist there). */
TEST(child_without_setup_exits_cleanly) {
    ASSERT_OK(crochet_setup());
    crochet_result *pending;
    ASSERT_OK(crochet_submit(&pending, (crochet_fn)never_fires, CROCHET_TYPE_DEFERRED, NULL, 0));
    uint64_t id;
    ASSERT_OK(crochet_stash(pending, &id));
    pid_t pid = fork_child();
    if (pid == 0) exit(0);
    expect_child_ok(pid, 10.0);
    crochet_result_release(pending);
}

static atomic_int hammering = 1;
static void *hammer(void *p) {
    (void)p;
    while (atomic_load(&hammering)) {
        crochet_value v;
        int s = crochet_wait_for(&v, NULL, 10.0, (crochet_fn)add, CROCHET_TYPE_INT32,
                                 (crochet_value[]){ crochet_int32(1), crochet_int32(2) }, 2);
        if (s != CROCHET_OK || v.u.i32 != 3) abort();
        crochet_result *r;
        if (crochet_submit(&r, (crochet_fn)never_fires, CROCHET_TYPE_DEFERRED, NULL, 0) != CROCHET_OK) abort();
        crochet_cancel(r);
        crochet_result_release(r);
    }
    return NULL;
}

/* Forking while other threads keep submitting, waiting and cancelling: every child sees its inherited pending result stopped, starts its own reactor and exits cleanly, and the parent keeps working. */
TEST(fork_while_busy) {
    ASSERT_OK(crochet_setup());
    pthread_t t[4];
    for (int i = 0; i < 4; i++) ASSERT_EQ(pthread_create(&t[i], NULL, hammer, NULL), 0);
    for (int round = 0; round < 15; round++) {
        crochet_result *pending;
        ASSERT_OK(crochet_submit(&pending, (crochet_fn)never_fires, CROCHET_TYPE_DEFERRED, NULL, 0));
        pid_t pid = fork_child();
        if (pid == 0) {
            ASSERT_STATUS(crochet_wait(pending, 5.0, NULL), CROCHET_ESTOPPED);
            ASSERT_OK(crochet_setup());
            crochet_value cv;
            ASSERT_OK(crochet_wait_for(&cv, NULL, 5.0, (crochet_fn)add, CROCHET_TYPE_INT32,
                                       (crochet_value[]){ crochet_int32(round), crochet_int32(1) }, 2));
            ASSERT_EQ(cv.u.i32, round + 1);
            exit(0);
        }
        expect_child_ok(pid, 10.0);
        ASSERT_OK(crochet_cancel(pending));
        ASSERT_STATUS(crochet_wait(pending, 10.0, NULL), CROCHET_ECANCELLED);
        crochet_result_release(pending);
    }
    atomic_store(&hammering, 0);
    for (int i = 0; i < 4; i++) ASSERT_EQ(pthread_join(t[i], NULL), 0);
}

static int log_pipe_fd = -1;
static void pipe_log(int level, const char *message, void *ctx) {
    (void)ctx;
    char line[512];
    int n = snprintf(line, sizeof line, "%d|%.400s\n", level, message);
    ssize_t w = write(log_pipe_fd, line, (size_t)n);
    (void)w;
}

/* Logging keeps working in a fork() child (its logging thread did not survive the fork): records made there reach the handler, before and after crochet_setup, and are delivered by exit. */
TEST(logging_works_in_child) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    log_pipe_fd = p[1];
    crochet_set_log_handler(pipe_log, NULL, NULL);
    ASSERT_OK(crochet_setup());
    crochet_raise(1, "parent-record");   /* starts the parent's logging machinery */
    pid_t pid = fork_child();
    if (pid == 0) {
        close(p[0]);
        crochet_raise(1, "child-before-setup");
        ASSERT_OK(crochet_setup());
        crochet_raise(1, "child-after-setup");
        exit(0);
    }
    expect_child_ok(pid, 10.0);
    char text[8192];
    size_t len = 0;
    text[0] = 0;
    double deadline = harness_now() + 10.0;
    while (!(strstr(text, "child-after-setup") && strstr(text, "child-before-setup"))) {
        double left = deadline - harness_now();
        if (left <= 0) break;
        struct pollfd pfd = { p[0], POLLIN, 0 };
        if (poll(&pfd, 1, (int)(left * 1000) + 1) <= 0) continue;
        ssize_t n = read(p[0], text + len, sizeof text - 1 - len);
        if (n <= 0) break;
        len += (size_t)n;
        text[len] = 0;
    }
    crochet_set_log_handler(NULL, NULL, NULL);
    close(p[0]);
    ASSERT_CONTAINS(text, "child-before-setup");
    ASSERT_CONTAINS(text, "child-after-setup");
}

/* ---- 0.2: forks made by the library's own threads, and forks under load --- */

static pid_t forked_child;
static int32_t fork_and_return(int32_t x) {
    fflush(stdout);
    fflush(stderr);
    forked_child = fork();
    ASSERT(forked_child >= 0);
    return x;   /* in both processes: the child returns from the call too */
}

/* A call that forks on the reactor thread, the child returning from the call without exec: the child's copy of the loop does not go on (the child ends), and the parent's round trips are unaffected. */
TEST(fork_on_reactor_thread_child_returns) {
    ASSERT_OK(crochet_setup());
    crochet_value v;
    ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)fork_and_return, CROCHET_TYPE_INT32,
                               (crochet_value[]){ crochet_int32(5) }, 1));
    /* Only the parent gets here: the child's thread ended with the call. */
    ASSERT(forked_child > 0);
    ASSERT_EQ(v.u.i32, 5);
    for (int i = 0; i < 2000; i++) {
        ASSERT_OK(crochet_wait_for(&v, NULL, 2.0, (crochet_fn)add, CROCHET_TYPE_INT32,
                                   (crochet_value[]){ crochet_int32(i), crochet_int32(1) }, 2));
        ASSERT_EQ(v.u.i32, i + 1);
        if (i % 100 == 0) usleep(2000);   /* let the reactor go to sleep now and then */
    }
    expect_child_ok(forked_child, 10.0);
}

static crochet_result *inherited;
static int32_t fork_and_set_up_in_child(void) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        /* In the child, on what was the reactor thread. */
        ASSERT_EQ(crochet_in_reactor_thread(), 0);
        ASSERT_STATUS(crochet_wait(inherited, 5.0, NULL), CROCHET_ESTOPPED);
        ASSERT_OK(crochet_setup());   /* a fresh reactor with its own fds */
        crochet_value v;
        ASSERT_OK(crochet_wait_for(&v, NULL, 5.0, (crochet_fn)add, CROCHET_TYPE_INT32,
                                   (crochet_value[]){ crochet_int32(40), crochet_int32(2) }, 2));
        ASSERT_EQ(v.u.i32, 42);
        _exit(0);
    }
    forked_child = pid;
    return 1;
}

/* A child forked on the reactor thread sees inherited results as CROCHET_ESTOPPED and starts a fresh reactor with crochet_setup(); the parent goes on. */
TEST(fork_on_reactor_thread_child_sets_up) {
    ASSERT_OK(crochet_setup());
    ASSERT_OK(crochet_submit(&inherited, (crochet_fn)never_fires, CROCHET_TYPE_DEFERRED, NULL, 0));
    crochet_value v;
    ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)fork_and_set_up_in_child, CROCHET_TYPE_INT32, NULL, 0));
    expect_child_ok(forked_child, 10.0);
    for (int i = 0; i < 200; i++) {
        ASSERT_OK(crochet_wait_for(&v, NULL, 2.0, (crochet_fn)add, CROCHET_TYPE_INT32,
                                   (crochet_value[]){ crochet_int32(i), crochet_int32(1) }, 2));
        ASSERT_EQ(v.u.i32, i + 1);
    }
    ASSERT_STATUS(crochet_wait(inherited, 0, NULL), CROCHET_ETIMEDOUT);   /* still pending in the parent */
}

static void fork_in_handler(int level, const char *message, void *ctx) {
    (void)level; (void)ctx;
    if (!strstr(message, "fork-here")) return;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        /* The child of the logging thread: logging must still work here. */
        crochet_set_log_handler(NULL, NULL, NULL);
        if (crochet_setup() != CROCHET_OK) _exit(3);
        crochet_raise(1, "child-record");
        if (crochet_log_flush(5.0) != CROCHET_OK) _exit(4);
        _exit(0);
    }
    forked_child = pid;
}

/* fork() inside a log handler: the child does not deadlock on the logging queue (it logs and flushes), and the parent's logging goes on. */
TEST(fork_inside_log_handler) {
    ASSERT_OK(crochet_set_log_handler(fork_in_handler, NULL, NULL));
    ASSERT_OK(crochet_setup());
    crochet_raise(1, "fork-here");
    ASSERT_OK(crochet_log_flush(10.0));
    ASSERT(forked_child > 0);
    expect_child_ok(forked_child, 10.0);
    crochet_raise(1, "after");
    ASSERT_OK(crochet_log_flush(10.0));
}

static int32_t raises(int32_t code) {
    crochet_raise(code, "busy-raise");
    return 0;
}
static int32_t slow_add(int32_t a, int32_t b) { return a + b; }
static crochet_deferred *defer_slow_add(void) {
    crochet_deferred *d;
    ASSERT_OK(crochet_defer_to_thread(&d, (crochet_fn)slow_add, CROCHET_TYPE_INT32,
                                      (crochet_value[]){ crochet_int32(1), crochet_int32(2) }, 2));
    return d;
}
static atomic_int stop_load;
static void *keep_library_busy(void *p) {
    (void)p;
    while (!atomic_load(&stop_load)) {
        crochet_result *a, *b;
        if (crochet_submit(&a, (crochet_fn)raises, CROCHET_TYPE_INT32, (crochet_value[]){ crochet_int32(9) }, 1) == 0) {
            ANY_STATUS(crochet_wait(a, 1.0, NULL));
            crochet_result_release(a);
        }
        if (crochet_submit(&b, (crochet_fn)defer_slow_add, CROCHET_TYPE_DEFERRED, NULL, 0) == 0) {
            ANY_STATUS(crochet_wait(b, 1.0, NULL));
            crochet_result_release(b);
        }
    }
    return NULL;
}

/* fork() from main while another thread keeps the reactor and workers busy with raising calls and defer_to_thread jobs: every child can set up, run a raising call and exit (FORK_STRESS_ROUNDS, default 60). */
TEST(fork_under_load) {
    ASSERT_OK(crochet_setup());
    pthread_t t[2];
    for (int i = 0; i < 2; i++) ASSERT_EQ(pthread_create(&t[i], NULL, keep_library_busy, NULL), 0);
    const char *env = getenv("FORK_STRESS_ROUNDS");
    int rounds = env ? atoi(env) : 60;
    for (int i = 0; i < rounds; i++) {
        pid_t pid = fork_child();
        if (pid == 0) {
            alarm(10);   /* a hang in the child is a failure, not a stuck test */
            if (crochet_setup() != CROCHET_OK) _exit(3);
            crochet_result *r;
            if (crochet_submit(&r, (crochet_fn)raises, CROCHET_TYPE_INT32, (crochet_value[]){ crochet_int32(7) }, 1)) _exit(4);
            if (crochet_wait(r, 5.0, NULL) != CROCHET_EFAILED) _exit(5);
            crochet_result_release(r);
            _exit(0);
        }
        expect_child_ok(pid, 15.0);
    }
    atomic_store(&stop_load, 1);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
}

/* Counts the library's Swift lazy globals (`swift_once` tokens: symbols
 * "$s7Crochet...Wz" in its symbol table) not yet made, printing each. */
static int lazy_globals_not_made(void) {
    Dl_info info;
    ASSERT(dladdr((void *)crochet_setup, &info) != 0);
    int fd = open(info.dli_fname, O_RDONLY);
    ASSERT(fd >= 0);
    struct stat st;
    ASSERT(fstat(fd, &st) == 0);
    const unsigned char *file = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    ASSERT(file != MAP_FAILED);
    close(fd);
    const Elf64_Ehdr *header = (const void *)file;
    const Elf64_Shdr *sections = (const void *)(file + header->e_shoff);
    int tokens = 0, not_made = 0;
    for (int i = 0; i < header->e_shnum; i++) {
        if (sections[i].sh_type != SHT_SYMTAB) continue;
        const Elf64_Sym *symbols = (const void *)(file + sections[i].sh_offset);
        const char *names = (const char *)(file + sections[sections[i].sh_link].sh_offset);
        for (size_t k = 0; k < sections[i].sh_size / sizeof *symbols; k++) {
            const char *name = names + symbols[k].st_name;
            size_t length = strlen(name);
            if (strncmp(name, "$s7Crochet", 10) != 0 || length < 12 || strcmp(name + length - 2, "Wz") != 0) continue;
            tokens++;
            /* The runtime's once flag: 0 until the global is made. */
            int32_t flag = *(const volatile int32_t *)((const char *)info.dli_fbase + symbols[k].st_value);
            if (flag == 0) {
                fprintf(stderr, "lazy global not made at setup: %s\n", name);
                not_made++;
            }
        }
    }
    munmap((void *)file, (size_t)st.st_size);
    if (tokens == 0) FAIL("no swift_once tokens found in %s (stripped?)", info.dli_fname);
    return not_made;
}

/* Every Swift lazy global of the library is made by crochet_setup(), before
 * its threads start: one first made while the reactor thread forks (a waiter
 * parking for the first time did this in CI) leaves the child a once that
 * never finishes, and the child's first use hangs. */
TEST(every_lazy_global_is_made_at_setup) {
    ASSERT_OK(crochet_setup());
    ASSERT_EQ(lazy_globals_not_made(), 0);
}
