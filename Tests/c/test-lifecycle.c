/* Lifecycle: crochet_setup, crochet_no_setup, crochet_run, crochet_stop and
 * versions. Each test starts in a fresh process, so in an unset-up library. */
#include "harness.h"

static int32_t add(int32_t a, int32_t b) { return a + b; }

struct where { pthread_t thread; int in_reactor; atomic_int runs; };
static struct where where;
static int32_t note_where(int32_t x) {
    where.thread = pthread_self();
    where.in_reactor = crochet_in_reactor_thread();
    atomic_fetch_add(&where.runs, 1);
    return x * 2;
}

/* crochet_setup is idempotent: later calls return CROCHET_OK and the one reactor keeps serving calls. */
TEST(setup_is_idempotent) {
    ASSERT_OK(crochet_setup());
    crochet_value v;
    ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)note_where, CROCHET_TYPE_INT32,
                               (crochet_value[]){ crochet_int32(1) }, 1));
    pthread_t first = where.thread;
    ASSERT_OK(crochet_setup());
    ASSERT_OK(crochet_setup());
    crochet_result *r;
    ASSERT_OK(CROCHET_SUBMIT(&r, add, CROCHET_TYPE_INT32, crochet_int32(20), crochet_int32(22)));
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    ASSERT_EQ(v.type, CROCHET_TYPE_INT32);
    ASSERT_EQ(v.u.i32, 42);
    crochet_result_release(r);
    ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)note_where, CROCHET_TYPE_INT32,
                               (crochet_value[]){ crochet_int32(2) }, 1));
    ASSERT(pthread_equal(where.thread, first));   /* still the same reactor thread */
}

/* crochet_setup starts a reactor on a thread that is not the caller's, and crochet_in_reactor_thread is 1 only there. */
TEST(setup_runs_reactor_on_its_own_thread) {
    ASSERT_EQ(crochet_in_reactor_thread(), 0);
    ASSERT_OK(crochet_setup());
    ASSERT_EQ(crochet_in_reactor_thread(), 0);
    crochet_value v;
    ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)note_where, CROCHET_TYPE_INT32,
                               (crochet_value[]){ crochet_int32(21) }, 1));
    ASSERT_EQ(v.u.i32, 42);
    ASSERT_EQ(where.in_reactor, 1);
    ASSERT(!pthread_equal(where.thread, pthread_self()));
}

/* crochet_no_setup after crochet_setup is CROCHET_ESTATE and leaves the running reactor alone. */
TEST(no_setup_after_setup_is_estate) {
    ASSERT_OK(crochet_setup());
    ASSERT_STATUS(crochet_no_setup(), CROCHET_ESTATE);
    crochet_value v;
    ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)add, CROCHET_TYPE_INT32,
                               (crochet_value[]){ crochet_int32(1), crochet_int32(2) }, 2));
    ASSERT_EQ(v.u.i32, 3);
}

/* crochet_no_setup twice is CROCHET_ESTATE. */
TEST(no_setup_twice_is_estate) {
    ASSERT_OK(crochet_no_setup());
    ASSERT_STATUS(crochet_no_setup(), CROCHET_ESTATE);
}

static void *run_reactor(void *p) {
    *(int *)p = crochet_run();
    return NULL;
}

/* crochet_setup after crochet_no_setup returns CROCHET_OK but starts no thread: a submitted call runs only once someone calls crochet_run. */
TEST(setup_after_no_setup_has_no_effect) {
    ASSERT_OK(crochet_no_setup());
    ASSERT_OK(crochet_setup());
    ASSERT_OK(crochet_setup());
    crochet_result *r;
    ASSERT_OK(CROCHET_SUBMIT(&r, note_where, CROCHET_TYPE_INT32, crochet_int32(5)));
    ASSERT_STATUS(crochet_wait(r, 0.3, NULL), CROCHET_ETIMEDOUT);
    ASSERT_EQ(atomic_load(&where.runs), 0);

    int run_status = 99;
    pthread_t runner;
    ASSERT_EQ(pthread_create(&runner, NULL, run_reactor, &run_status), 0);
    crochet_value v;
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    ASSERT_EQ(v.u.i32, 10);
    ASSERT(pthread_equal(where.thread, runner));
    crochet_result_release(r);
    ASSERT_OK(crochet_stop());
    ASSERT_EQ(pthread_join(runner, NULL), 0);
    ASSERT_OK(run_status);
}

/* What the driver thread saw while main ran the reactor. */
struct drive {
    pthread_t main_thread;
    int statuses[8];
    crochet_result *queued;
    latch done;
    int second_run;
};

static void *drive_and_stop(void *p) {
    struct drive *d = p;
    crochet_value v;
    /* A call queued before crochet_run started. */
    d->statuses[0] = crochet_wait(d->queued, 10.0, &v);
    d->statuses[1] = v.u.i32 == 14 && pthread_equal(where.thread, d->main_thread) && where.in_reactor == 1;
    /* A call submitted while it runs. */
    d->statuses[2] = crochet_wait_for(&v, NULL, 10.0, (crochet_fn)note_where, CROCHET_TYPE_INT32,
                                      (crochet_value[]){ crochet_int32(50) }, 1);
    d->statuses[3] = v.u.i32 == 100 && pthread_equal(where.thread, d->main_thread) && where.in_reactor == 1;
    /* crochet_run again while it runs: CROCHET_ESTATE. */
    d->second_run = crochet_run();
    d->statuses[4] = crochet_in_reactor_thread();
    d->statuses[5] = crochet_stop();
    latch_open(&d->done);
    return NULL;
}

/* After crochet_no_setup, crochet_run runs the reactor on the calling thread (calls run there and see crochet_in_reactor_thread() == 1) until crochet_stop from another thread; a second crochet_run meanwhile or afterwards is CROCHET_ESTATE. */
TEST(run_after_no_setup_uses_calling_thread) {
    ASSERT_OK(crochet_no_setup());
    ASSERT_EQ(crochet_in_reactor_thread(), 0);
    static struct drive d = { 0 };
    d.main_thread = pthread_self();
    d.done = (latch)LATCH_INIT;
    ASSERT_OK(CROCHET_SUBMIT(&d.queued, note_where, CROCHET_TYPE_INT32, crochet_int32(7)));
    pthread_t driver;
    ASSERT_EQ(pthread_create(&driver, NULL, drive_and_stop, &d), 0);
    ASSERT_OK(crochet_run());
    ASSERT_EQ(crochet_in_reactor_thread(), 0);
    ASSERT(latch_wait(&d.done, 10.0));
    ASSERT_EQ(pthread_join(driver, NULL), 0);
    ASSERT_OK(d.statuses[0]);
    ASSERT_EQ(d.statuses[1], 1);
    ASSERT_OK(d.statuses[2]);
    ASSERT_EQ(d.statuses[3], 1);
    ASSERT_STATUS(d.second_run, CROCHET_ESTATE);
    ASSERT_EQ(d.statuses[4], 0);
    ASSERT_OK(d.statuses[5]);
    crochet_result_release(d.queued);
    /* A reactor runs once. */
    ASSERT_STATUS(crochet_run(), CROCHET_ESTATE);
}

/* crochet_run without crochet_no_setup is CROCHET_ESTATE, before any setup. */
TEST(run_without_no_setup_is_estate) {
    ASSERT_STATUS(crochet_run(), CROCHET_ESTATE);
}

/* crochet_run after crochet_setup is CROCHET_ESTATE: the library's thread runs the reactor. */
TEST(run_after_setup_is_estate) {
    ASSERT_OK(crochet_setup());
    ASSERT_STATUS(crochet_run(), CROCHET_ESTATE);
    crochet_value v;
    ASSERT_OK(crochet_wait_for(&v, NULL, 10.0, (crochet_fn)add, CROCHET_TYPE_INT32,
                               (crochet_value[]){ crochet_int32(2), crochet_int32(3) }, 2));
    ASSERT_EQ(v.u.i32, 5);
}

/* crochet_stop before setup or no_setup is CROCHET_ESTATE. */
TEST(stop_before_setup_is_estate) {
    ASSERT_STATUS(crochet_stop(), CROCHET_ESTATE);
    ASSERT_STATUS(crochet_stop(), CROCHET_ESTATE);
}

/* Submitting before setup or no_setup is CROCHET_ESTATE and sets *out to NULL. */
TEST(submit_before_setup_is_estate) {
    crochet_result *r = (crochet_result *)0x1;
    ASSERT_STATUS(CROCHET_SUBMIT(&r, add, CROCHET_TYPE_INT32, crochet_int32(1), crochet_int32(2)), CROCHET_ESTATE);
    ASSERT_NULL(r);
    ASSERT_STATUS(crochet_add_shutdown_trigger((void (*)(void *))free, NULL, NULL), CROCHET_ESTATE);
}

/* crochet_version() equals CROCHET_VERSION_STRING, which agrees with the major, minor and patch macros. */
TEST(version_matches_header) {
    const char *v = crochet_version();
    ASSERT_NOT_NULL(v);
    ASSERT_STREQ(v, CROCHET_VERSION_STRING);
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", CROCHET_VERSION_MAJOR, CROCHET_VERSION_MINOR,
             CROCHET_VERSION_PATCH);
    ASSERT_STREQ(CROCHET_VERSION_STRING, expected);
    ASSERT_PTR_EQ(crochet_version(), v);   /* a static string */
}

#include <dlfcn.h>
#include <sys/wait.h>

/* Parent side of a child whose stderr is the pipe p: reads it to EOF into
 * text (NUL-terminated), then reaps the child; returns its waitpid status. */
static int child_stderr(pid_t pid, int p[2], char *text, size_t size) {
    close(p[1]);
    size_t len = 0;
    ssize_t n;
    while ((n = read(p[0], text + len, size - 1 - len)) > 0) len += (size_t)n;
    text[len] = 0;
    close(p[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

/* A second copy of the library loaded in one process (a file copy, as a wheel that bundles its own would be) warns, naming both paths, when it sets up. */
TEST(second_copy_warns_naming_both) {
    Dl_info me;
    ASSERT(dladdr((void *)crochet_setup, &me));
    char copy[256];
    snprintf(copy, sizeof copy, "/tmp/libcrochet-copy-%d.so", (int)getpid());
    char command[768];
    snprintf(command, sizeof command, "cp '%s' '%s'", me.dli_fname, copy);
    ASSERT_EQ(system(command), 0);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 2);
        if (crochet_setup() != CROCHET_OK) _exit(3);
        void *other = dlopen(copy, RTLD_NOW | RTLD_LOCAL);
        if (other == NULL) _exit(4);
        int (*other_setup)(void) = (int (*)(void))dlsym(other, "crochet_setup");
        int (*other_flush)(double) = (int (*)(double))dlsym(other, "crochet_log_flush");
        if (other_setup == NULL || other_setup() != CROCHET_OK) _exit(5);
        other_flush(5.0);
        _exit(0);
    }
    char text[8192];
    int status = child_stderr(pid, p, text, sizeof text);
    unlink(copy);
    ASSERT(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    ASSERT_CONTAINS(text, "two copies of libcrochet are loaded in this process");
    ASSERT_CONTAINS(text, copy);
    ASSERT_CONTAINS(text, me.dli_fname);
}

/* One copy alone never warns about copies. */
TEST(one_copy_does_not_warn) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 2);
        if (crochet_setup() != CROCHET_OK) _exit(3);
        crochet_raise(0, "just-one");   /* outside a call: one warning record */
        crochet_log_flush(5.0);
        _exit(0);
    }
    char text[8192];
    int status = child_stderr(pid, p, text, sizeof text);
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_CONTAINS(text, "just-one");
    ASSERT(strstr(text, "two copies") == NULL);
}
