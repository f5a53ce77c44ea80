/* Reactor services: fd readers and writers (level-triggered, like Twisted's
 * addReader), crochet_defer_to_thread on the worker pool, and all of them
 * driven by crochet_run on the caller's thread after crochet_no_setup. */
#include "harness.h"
#include <sys/socket.h>

#define POOL_SIZE 8   /* the worker pool's size */

static pthread_t reactor_thread;
static void capture_reactor_thread(void *ctx) {
    (void)ctx;
    reactor_thread = pthread_self();
}

static void open_latch(void *ctx) { latch_open(ctx); }

/* Returns once the reactor has run a full timer turn after everything queued so far. */
static void settle(void) {
    latch l = LATCH_INIT;
    ASSERT_OK(crochet_call_later(NULL, 0.05, open_latch, &l, NULL));
    ASSERT(latch_wait(&l, 10.0));
    run_on_reactor(capture_reactor_thread, NULL);
}

static void write_byte(int fd, char c) {
    ASSERT_EQ(write(fd, &c, 1), 1);
}

/* What a watcher callback saw. */
struct watch {
    int fd;
    atomic_int calls;
    int stop_after;        /* remove the watcher on this call (0: never) */
    int drain;             /* read everything available on each call */
    int wrong_fd, wrong_ctx, off_reactor;
    int remove_status;
    int last_read;         /* result of the last read() when draining */
    char got[64];
    int ngot;
    latch called;
    latch removed;
};

#define WATCH_INIT { -1, 0, 0, 0, 0, 0, 0, 99, 99, { 0 }, 0, LATCH_INIT, LATCH_INIT }

static void check_call(struct watch *w, int fd, void *ctx) {
    if (fd != w->fd) w->wrong_fd++;
    if (ctx != w) w->wrong_ctx++;
    if (!crochet_in_reactor_thread() || !pthread_equal(pthread_self(), reactor_thread)) w->off_reactor++;
}

static void on_readable(int fd, void *ctx) {
    struct watch *w = ctx;
    check_call(w, fd, ctx);
    int n = atomic_fetch_add(&w->calls, 1) + 1;
    if (w->drain) {
        char buf[64];
        ssize_t r = read(fd, buf, sizeof buf);
        w->last_read = (int)r;
        for (ssize_t i = 0; i < r && w->ngot < (int)sizeof w->got; i++) w->got[w->ngot++] = buf[i];
    }
    if (w->stop_after && n == w->stop_after) {
        w->remove_status = crochet_remove_reader(fd);
        latch_open(&w->removed);
    }
    latch_open(&w->called);
}

static void on_writable(int fd, void *ctx) {
    struct watch *w = ctx;
    check_call(w, fd, ctx);
    int n = atomic_fetch_add(&w->calls, 1) + 1;
    if (w->stop_after && n == w->stop_after) {
        w->remove_status = crochet_remove_writer(fd);
        latch_open(&w->removed);
    }
    latch_open(&w->called);
}

static void add_reader_for(void *ctx) {
    struct watch *w = ctx;
    ASSERT_OK(crochet_add_reader(w->fd, on_readable, w, NULL));
}

static void add_writer_for(void *ctx) {
    struct watch *w = ctx;
    ASSERT_OK(crochet_add_writer(w->fd, on_writable, w, NULL));
}

static void remove_reader_for(void *ctx) {
    struct watch *w = ctx;
    ASSERT_OK(crochet_remove_reader(w->fd));
}

static void expect_clean(struct watch *w) {
    ASSERT_EQ(w->wrong_fd, 0);
    ASSERT_EQ(w->wrong_ctx, 0);
    ASSERT_EQ(w->off_reactor, 0);
}

/* ---- readers and writers ------------------------------------------------- */

/* A reader runs on the reactor thread with its fd and ctx again and again while the fd stays readable (level-triggered), and crochet_remove_reader inside the callback stops it for good. */
TEST(reader_is_level_triggered_until_removed_in_callback) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(capture_reactor_thread, NULL);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    static struct watch w = WATCH_INIT;
    w.fd = p[0];
    w.stop_after = 5;
    write_byte(p[1], 'x');   /* never drained */
    run_on_reactor(add_reader_for, &w);
    ASSERT(latch_wait(&w.removed, 10.0));
    ASSERT_OK(w.remove_status);
    settle();
    settle();
    ASSERT_EQ(atomic_load(&w.calls), 5);
    expect_clean(&w);
    close(p[0]);
    close(p[1]);
}

/* A reader that drains its fd is not called again until new data arrives, and then is. */
TEST(drained_reader_waits_for_new_data) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(capture_reactor_thread, NULL);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    static struct watch w = WATCH_INIT;
    w.fd = p[0];
    w.drain = 1;
    run_on_reactor(add_reader_for, &w);
    settle();
    ASSERT_EQ(atomic_load(&w.calls), 0);   /* nothing to read yet */
    write_byte(p[1], 'a');
    ASSERT(latch_wait_n(&w.called, 1, 10.0));
    settle();
    ASSERT_EQ(atomic_load(&w.calls), 1);
    write_byte(p[1], 'b');
    ASSERT(latch_wait_n(&w.called, 2, 10.0));
    settle();
    ASSERT_EQ(atomic_load(&w.calls), 2);
    ASSERT_EQ(w.ngot, 2);
    ASSERT_EQ(w.got[0], 'a');
    ASSERT_EQ(w.got[1], 'b');
    run_on_reactor(remove_reader_for, &w);
    write_byte(p[1], 'c');
    settle();
    ASSERT_EQ(atomic_load(&w.calls), 2);
    expect_clean(&w);
    close(p[0]);
    close(p[1]);
}

/* A writer runs repeatedly while its fd stays writable, until crochet_remove_writer inside the callback. */
TEST(writer_is_level_triggered_until_removed_in_callback) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(capture_reactor_thread, NULL);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    static struct watch w = WATCH_INIT;
    w.fd = p[1];
    w.stop_after = 4;
    run_on_reactor(add_writer_for, &w);
    ASSERT(latch_wait(&w.removed, 10.0));
    ASSERT_OK(w.remove_status);
    settle();
    ASSERT_EQ(atomic_load(&w.calls), 4);
    expect_clean(&w);
    close(p[0]);
    close(p[1]);
}

struct replace { struct watch first, second; };
static void add_two_readers(void *ctx) {
    struct replace *r = ctx;
    ASSERT_OK(crochet_add_reader(r->first.fd, on_readable, &r->first, NULL));
    ASSERT_OK(crochet_add_reader(r->second.fd, on_readable, &r->second, NULL));
}

/* A second crochet_add_reader on the same fd replaces the first callback: only the second runs. */
TEST(second_add_reader_replaces_callback) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(capture_reactor_thread, NULL);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    static struct replace r = { WATCH_INIT, WATCH_INIT };
    r.first.fd = r.second.fd = p[0];
    r.first.drain = r.second.drain = 1;
    r.second.stop_after = 2;
    run_on_reactor(add_two_readers, &r);
    write_byte(p[1], '1');
    ASSERT(latch_wait_n(&r.second.called, 1, 10.0));
    write_byte(p[1], '2');
    ASSERT(latch_wait(&r.second.removed, 10.0));
    settle();
    ASSERT_EQ(atomic_load(&r.first.calls), 0);
    ASSERT_EQ(atomic_load(&r.second.calls), 2);
    expect_clean(&r.second);
    close(p[0]);
    close(p[1]);
}

/* A reader and a writer on one socket work independently: the writer fires while the reader waits for data, removing the writer keeps the reader, and removing the reader keeps the writer. */
TEST(reader_and_writer_on_one_fd_are_independent) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(capture_reactor_thread, NULL);
    int s[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
    static struct watch reader = WATCH_INIT, writer = WATCH_INIT;
    reader.fd = writer.fd = s[0];
    reader.drain = 1;
    writer.stop_after = 1;
    run_on_reactor(add_reader_for, &reader);
    run_on_reactor(add_writer_for, &writer);
    ASSERT(latch_wait(&writer.removed, 10.0));   /* writable at once; removes itself */
    ASSERT_OK(writer.remove_status);
    settle();
    ASSERT_EQ(atomic_load(&reader.calls), 0);    /* nothing to read yet */
    ASSERT_EQ(atomic_load(&writer.calls), 1);
    write_byte(s[1], 'r');
    ASSERT(latch_wait(&reader.called, 10.0));    /* the reader survived the writer's removal */
    ASSERT_EQ(reader.got[0], 'r');

    /* Now the other way round: remove the reader, the writer keeps working. */
    run_on_reactor(remove_reader_for, &reader);
    int before = atomic_load(&reader.calls);
    static struct watch writer2 = WATCH_INIT;
    writer2.fd = s[0];
    writer2.stop_after = 3;
    run_on_reactor(add_writer_for, &writer2);
    write_byte(s[1], 'q');                       /* readable again, but no reader */
    ASSERT(latch_wait(&writer2.removed, 10.0));
    settle();
    ASSERT_EQ(atomic_load(&reader.calls), before);
    ASSERT_EQ(atomic_load(&writer2.calls), 3);
    expect_clean(&reader);
    expect_clean(&writer);
    expect_clean(&writer2);
    close(s[0]);
    close(s[1]);
}

/* Closing the write end of a pipe wakes its reader, which reads 0 (EOF). */
TEST(hangup_wakes_reader_with_eof) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(capture_reactor_thread, NULL);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    static struct watch w = WATCH_INIT;
    w.fd = p[0];
    w.drain = 1;
    w.stop_after = 1;
    run_on_reactor(add_reader_for, &w);
    settle();
    ASSERT_EQ(atomic_load(&w.calls), 0);
    close(p[1]);
    ASSERT(latch_wait(&w.removed, 10.0));
    ASSERT_EQ(w.last_read, 0);
    expect_clean(&w);
    close(p[0]);
}

/* Closing the peer of a socket wakes a reader on it (EOF). */
TEST(socket_peer_close_wakes_reader) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(capture_reactor_thread, NULL);
    int s[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
    static struct watch w = WATCH_INIT;
    w.fd = s[0];
    w.drain = 1;
    w.stop_after = 1;
    run_on_reactor(add_reader_for, &w);
    close(s[1]);
    ASSERT(latch_wait(&w.removed, 10.0));
    ASSERT_EQ(w.last_read, 0);
    close(s[0]);
}

/* The fd-reuse scenario: removed, closed, and its number reused at once by a new pipe. */
struct reuse {
    int fd;                   /* the fd number being reused */
    int old_write, new_write;
    struct watch old_w, new_w;
};

static void reuse_body(void *ctx) {
    struct reuse *r = ctx;
    ASSERT_OK(crochet_remove_reader(r->fd));
    ASSERT_EQ(close(r->fd), 0);
    int q[2];
    ASSERT_EQ(pipe(q), 0);
    if (q[0] != r->fd) {      /* force the number if pipe() did not reuse it */
        ASSERT_EQ(dup2(q[0], r->fd), r->fd);
        close(q[0]);
    }
    r->new_write = q[1];
    r->new_w.fd = r->fd;
    ASSERT_OK(crochet_add_reader(r->fd, on_readable, &r->new_w, NULL));
}

/* After remove_reader, close and an immediate reuse of the fd number by a new pipe, only the new reader's callback runs, never the old one (even though the old fd was readable when removed). */
TEST(no_callback_after_remove_when_fd_number_reused) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(capture_reactor_thread, NULL);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    static struct reuse r = { -1, -1, -1, WATCH_INIT, WATCH_INIT };
    r.fd = p[0];
    r.old_write = p[1];
    r.old_w.fd = p[0];
    r.new_w.drain = 1;
    r.new_w.stop_after = 1;
    run_on_reactor(add_reader_for, &r.old_w);
    write_byte(p[1], 'o');
    ASSERT(latch_wait(&r.old_w.called, 10.0));   /* the old reader is live and its fd readable */
    run_on_reactor(reuse_body, &r);
    int old_calls = atomic_load(&r.old_w.calls);
    settle();
    ASSERT_EQ(atomic_load(&r.old_w.calls), old_calls);
    ASSERT_EQ(atomic_load(&r.new_w.calls), 0);   /* the new pipe is empty */
    write_byte(r.new_write, 'n');
    ASSERT(latch_wait(&r.new_w.removed, 10.0));
    ASSERT_EQ(r.new_w.ngot, 1);
    ASSERT_EQ(r.new_w.got[0], 'n');
    settle();
    ASSERT_EQ(atomic_load(&r.old_w.calls), old_calls);
    expect_clean(&r.new_w);
    close(r.fd);
    close(r.old_write);
    close(r.new_write);
}

/* Two readers ready in the same reactor turn; whichever runs first removes the other, closes its fd and reuses the number for a fresh empty pipe with a third reader. */
struct race {
    int fds[2], writes[2];
    int first;                        /* index of the reader that ran first, or -1 */
    atomic_int calls[2];
    atomic_int fresh_calls;
    int fresh_write;
    int fresh_nonempty;               /* the fresh reader found data to read */
    latch first_done, fresh_done;
};
static struct race race;

static void on_fresh(int fd, void *ctx) {
    (void)ctx;
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n == 1) race.fresh_nonempty++;
    atomic_fetch_add(&race.fresh_calls, 1);
    crochet_remove_reader(fd);
    latch_open(&race.fresh_done);
}

static void on_racer(int fd, void *ctx) {
    int me = (int)(intptr_t)ctx, other = 1 - me;
    atomic_fetch_add(&race.calls[me], 1);
    ASSERT_EQ(fd, race.fds[me]);
    if (race.first >= 0) return;   /* the loser must never get here */
    race.first = me;
    ASSERT_OK(crochet_remove_reader(race.fds[me]));
    ASSERT_OK(crochet_remove_reader(race.fds[other]));
    ASSERT_EQ(close(race.fds[other]), 0);
    int q[2];
    ASSERT_EQ(pipe(q), 0);
    if (q[0] != race.fds[other]) {
        ASSERT_EQ(dup2(q[0], race.fds[other]), race.fds[other]);
        close(q[0]);
    }
    race.fresh_write = q[1];
    ASSERT_OK(crochet_add_reader(race.fds[other], on_fresh, NULL, NULL));
    latch_open(&race.first_done);
}

static void add_racers(void *ctx) {
    (void)ctx;
    write_byte(race.writes[0], 'a');
    write_byte(race.writes[1], 'b');
    ASSERT_OK(crochet_add_reader(race.fds[0], on_racer, (void *)(intptr_t)0, NULL));
    ASSERT_OK(crochet_add_reader(race.fds[1], on_racer, (void *)(intptr_t)1, NULL));
}

/* When a callback removes another reader whose event is already pending in the same turn, closes its fd and reuses the number, neither the removed reader nor the new one runs for that stale event. */
TEST(stale_event_for_reused_fd_is_dropped) {
    ASSERT_OK(crochet_setup());
    for (int round = 0; round < 20; round++) {
        int a[2], b[2];
        ASSERT_EQ(pipe(a), 0);
        ASSERT_EQ(pipe(b), 0);
        memset(&race, 0, sizeof race);
        race.fds[0] = a[0]; race.writes[0] = a[1];
        race.fds[1] = b[0]; race.writes[1] = b[1];
        race.first = -1;
        race.first_done = (latch)LATCH_INIT;
        race.fresh_done = (latch)LATCH_INIT;
        run_on_reactor(add_racers, NULL);
        ASSERT(latch_wait(&race.first_done, 10.0));
        settle();
        int loser = 1 - race.first;
        ASSERT_EQ(atomic_load(&race.calls[race.first]), 1);
        ASSERT_EQ(atomic_load(&race.calls[loser]), 0);
        ASSERT_EQ(atomic_load(&race.fresh_calls), 0);
        write_byte(race.fresh_write, 'f');
        ASSERT(latch_wait(&race.fresh_done, 10.0));
        ASSERT_EQ(race.fresh_nonempty, 1);
        close(a[0]); close(a[1]); close(b[0]); close(b[1]);
        close(race.fresh_write);
    }
}

static atomic_int many_done;
static latch all_many = LATCH_INIT;
static void drain_and_remove(int fd, void *ctx) {
    (void)ctx;
    char c;
    ASSERT_EQ(read(fd, &c, 1), 1);
    ASSERT_OK(crochet_remove_reader(fd));
    if (atomic_fetch_add(&many_done, 1) + 1 == 100) latch_open(&all_many);
}
static int many_fds[100][2];
static void add_many(void *ctx) {
    (void)ctx;
    for (int i = 0; i < 100; i++) ASSERT_OK(crochet_add_reader(many_fds[i][0], drain_and_remove, NULL, NULL));
}

/* A hundred readers at once each run exactly once for their one byte. */
TEST(many_readers) {
    ASSERT_OK(crochet_setup());
    for (int i = 0; i < 100; i++) ASSERT_EQ(pipe(many_fds[i]), 0);
    run_on_reactor(add_many, NULL);
    for (int i = 99; i >= 0; i--) write_byte(many_fds[i][1], 'm');
    ASSERT(latch_wait(&all_many, 10.0));
    settle();
    ASSERT_EQ(atomic_load(&many_done), 100);
    for (int i = 0; i < 100; i++) { close(many_fds[i][0]); close(many_fds[i][1]); }
}

static void dummy_fd_cb(int fd, void *ctx) {
    (void)fd; (void)ctx;
    abort();   /* a rejected watcher must never be called */
}

struct bad_fds { int closed_fd; int file_fd; int good_fd; };
static void bad_watchers_body(void *ctx) {
    struct bad_fds *b = ctx;
    ASSERT_STATUS(crochet_add_reader(-1, dummy_fd_cb, NULL, NULL), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_add_writer(-1, dummy_fd_cb, NULL, NULL), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_add_reader(b->closed_fd, dummy_fd_cb, NULL, NULL), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_add_writer(b->closed_fd, dummy_fd_cb, NULL, NULL), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_add_reader(b->file_fd, dummy_fd_cb, NULL, NULL), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_add_writer(b->file_fd, dummy_fd_cb, NULL, NULL), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_add_reader(b->good_fd, NULL, NULL, NULL), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_add_writer(b->good_fd, NULL, NULL, NULL), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_remove_reader(-1), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_remove_writer(-1), CROCHET_EINVAL);
    /* Removing watchers that do not exist is fine. */
    ASSERT_OK(crochet_remove_reader(b->good_fd));
    ASSERT_OK(crochet_remove_writer(b->good_fd));
    ASSERT_OK(crochet_remove_reader(b->closed_fd));
    ASSERT_OK(crochet_remove_writer(b->closed_fd));
}

/* A negative fd, a closed fd, a regular file (which cannot be polled) and a NULL callback are CROCHET_EINVAL and the callback never runs; removing a watcher that does not exist is CROCHET_OK. */
TEST(watcher_bad_arguments) {
    ASSERT_OK(crochet_setup());
    FILE *f = tmpfile();
    ASSERT_NOT_NULL(f);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    int closed[2];   /* opened last, so nothing reuses the closed numbers */
    ASSERT_EQ(pipe(closed), 0);
    close(closed[0]);
    close(closed[1]);
    write_byte(p[1], 'z');   /* good_fd is readable: a wrongly accepted watcher would fire */
    struct bad_fds b = { closed[0], fileno(f), p[0] };
    run_on_reactor(bad_watchers_body, &b);
    settle();
    fclose(f);
    close(p[0]);
    close(p[1]);
}

/* Off the reactor thread, add/remove reader/writer and defer_to_thread return CROCHET_ENOTREACTOR and register nothing. */
TEST(reactor_services_off_reactor_are_enotreactor) {
    ASSERT_OK(crochet_setup());
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    write_byte(p[1], 'z');
    ASSERT_STATUS(crochet_add_reader(p[0], dummy_fd_cb, NULL, NULL), CROCHET_ENOTREACTOR);
    ASSERT_STATUS(crochet_add_writer(p[1], dummy_fd_cb, NULL, NULL), CROCHET_ENOTREACTOR);
    ASSERT_STATUS(crochet_remove_reader(p[0]), CROCHET_ENOTREACTOR);
    ASSERT_STATUS(crochet_remove_writer(p[1]), CROCHET_ENOTREACTOR);
    crochet_deferred *d = (crochet_deferred *)0x1;
    ASSERT_STATUS(crochet_defer_to_thread(&d, (crochet_fn)dummy_fd_cb, CROCHET_TYPE_VOID, NULL, 0),
                  CROCHET_ENOTREACTOR);
    settle();
    close(p[0]);
    close(p[1]);
}

/* ---- defer_to_thread ----------------------------------------------------- */

struct worker_seen { pthread_t thread; int in_reactor; atomic_int runs; };
static struct worker_seen worker_seen;

static int64_t blocking_sum(int32_t a, int64_t b, double c) {
    worker_seen.thread = pthread_self();
    worker_seen.in_reactor = crochet_in_reactor_thread();
    atomic_fetch_add(&worker_seen.runs, 1);
    return a + b + (int64_t)c;
}

struct fired {
    int kind;                 /* 1 value, 2 failure */
    crochet_value value;
    int code;
    char message[128];
    pthread_t thread;
    int on_reactor;
    latch done;
};

static void fired_value(crochet_value v, void *ctx) {
    struct fired *f = ctx;
    f->kind = 1;
    f->value = v;
    f->thread = pthread_self();
    f->on_reactor = crochet_in_reactor_thread();
    latch_open(&f->done);
}

static void fired_failure(const crochet_failure *fl, void *ctx) {
    struct fired *f = ctx;
    f->kind = 2;
    f->code = crochet_failure_code(fl);
    snprintf(f->message, sizeof f->message, "%s", crochet_failure_message(fl));
    f->thread = pthread_self();
    f->on_reactor = crochet_in_reactor_thread();
    latch_open(&f->done);
}

struct defer_case {
    crochet_fn fn;
    crochet_type type;
    crochet_value args[3];
    size_t nargs;
    struct fired fired;
    crochet_result *r;        /* follows the deferred, for waiting off the reactor */
    crochet_deferred *d;
};

static void defer_body(void *ctx) {
    struct defer_case *c = ctx;
    ASSERT_OK(crochet_defer_to_thread(&c->d, c->fn, c->type, c->args, c->nargs));
    ASSERT_NOT_NULL(c->d);
    ASSERT_OK(crochet_deferred_add_callbacks(c->d, fired_value, fired_failure, &c->fired, NULL));
    ASSERT_OK(crochet_result_new(&c->r, c->d));
}

/* crochet_defer_to_thread runs the function with its arguments on a thread that is not the reactor thread, and fires the deferred on the reactor thread with the value and type. */
TEST(defer_to_thread_runs_off_reactor_and_fires_on_reactor) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(capture_reactor_thread, NULL);
    static struct defer_case c;
    c.fn = (crochet_fn)blocking_sum;
    c.type = CROCHET_TYPE_INT64;
    c.args[0] = crochet_int32(-5);
    c.args[1] = crochet_int64(10000000000LL);
    c.args[2] = crochet_double(0.5e3);
    c.nargs = 3;
    c.fired.done = (latch)LATCH_INIT;
    run_on_reactor(defer_body, &c);
    crochet_value v = { 0 };
    ASSERT_OK(crochet_wait(c.r, 10.0, &v));
    ASSERT_EQ(v.type, CROCHET_TYPE_INT64);
    ASSERT_EQ(v.u.i64, 10000000495LL);
    ASSERT(latch_wait(&c.fired.done, 10.0));
    ASSERT_EQ(c.fired.kind, 1);
    ASSERT_EQ(c.fired.value.u.i64, 10000000495LL);
    ASSERT_EQ(c.fired.on_reactor, 1);
    ASSERT(pthread_equal(c.fired.thread, reactor_thread));
    ASSERT_EQ(atomic_load(&worker_seen.runs), 1);
    ASSERT_EQ(worker_seen.in_reactor, 0);
    ASSERT(!pthread_equal(worker_seen.thread, reactor_thread));
    ASSERT(!pthread_equal(worker_seen.thread, pthread_self()));
    crochet_result_release(c.r);
    crochet_deferred_release(c.d);
}

/* Not static, so -rdynamic names it in tracebacks. */
int32_t worker_raises(int32_t code);
int32_t worker_raises(int32_t code) {
    crochet_raise(code, "the worker gave up");
    return 123;   /* ignored */
}

/* A function that calls crochet_raise on the worker fails the deferred with that code and message, and a traceback. */
TEST(defer_to_thread_raise_gives_failure) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(capture_reactor_thread, NULL);
    static struct defer_case c;
    c.fn = (crochet_fn)worker_raises;
    c.type = CROCHET_TYPE_INT32;
    c.args[0] = crochet_int32(2024);
    c.nargs = 1;
    c.fired.done = (latch)LATCH_INIT;
    run_on_reactor(defer_body, &c);
    ASSERT_STATUS(crochet_wait(c.r, 10.0, NULL), CROCHET_EFAILED);
    const crochet_failure *f = crochet_original_failure(c.r);
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(crochet_failure_code(f), 2024);
    ASSERT_STREQ(crochet_failure_message(f), "the worker gave up");
    ASSERT_CONTAINS(crochet_failure_traceback(f), "worker_raises");
    ASSERT(latch_wait(&c.fired.done, 10.0));
    ASSERT_EQ(c.fired.kind, 2);
    ASSERT_EQ(c.fired.code, 2024);
    ASSERT(pthread_equal(c.fired.thread, reactor_thread));
    crochet_result_release(c.r);
    crochet_deferred_release(c.d);
}

static void worker_void(void) {}

/* A void function run by defer_to_thread fires with a value of type CROCHET_TYPE_VOID. */
TEST(defer_to_thread_void_function) {
    ASSERT_OK(crochet_setup());
    static struct defer_case c;
    c.fn = (crochet_fn)worker_void;
    c.type = CROCHET_TYPE_VOID;
    c.nargs = 0;
    c.fired.done = (latch)LATCH_INIT;
    run_on_reactor(defer_body, &c);
    crochet_value v = { .type = CROCHET_TYPE_POINTER };
    ASSERT_OK(crochet_wait(c.r, 10.0, &v));
    ASSERT_EQ(v.type, CROCHET_TYPE_VOID);
    crochet_result_release(c.r);
    crochet_deferred_release(c.d);
}

/* The pool of workers: blockers hold a worker each until released. */
static latch blockers_started = LATCH_INIT;
static latch blockers_release = LATCH_INIT;
static int32_t blocker(int32_t i) {
    latch_open(&blockers_started);
    latch_wait(&blockers_release, 10.0);
    return i;
}

static atomic_int victim_runs;
static latch victim_ran = LATCH_INIT;
static int32_t victim(void) {
    atomic_fetch_add(&victim_runs, 1);
    latch_open(&victim_ran);
    return 1;
}

static int32_t quick(int32_t i) { return i * 3; }

struct pool_case {
    crochet_result *blockers[POOL_SIZE];
    crochet_result *victim;
    struct fired victim_fired;
    int cancel_status;
    crochet_result *later[POOL_SIZE];
};

static void start_blockers(void *ctx) {
    struct pool_case *p = ctx;
    for (int i = 0; i < POOL_SIZE; i++) {
        crochet_deferred *d;
        ASSERT_OK(crochet_defer_to_thread(&d, (crochet_fn)blocker, CROCHET_TYPE_INT32,
                                          (crochet_value[]){ crochet_int32(i) }, 1));
        ASSERT_OK(crochet_result_new(&p->blockers[i], d));
        crochet_deferred_release(d);
    }
}

static void queue_and_cancel_victim(void *ctx) {
    struct pool_case *p = ctx;
    crochet_deferred *d;
    ASSERT_OK(crochet_defer_to_thread(&d, (crochet_fn)victim, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT_OK(crochet_deferred_add_callbacks(d, fired_value, fired_failure, &p->victim_fired, NULL));
    ASSERT_OK(crochet_result_new(&p->victim, d));
    p->cancel_status = crochet_deferred_cancel(d);
    crochet_deferred_release(d);
}

static void queue_later(void *ctx) {
    struct pool_case *p = ctx;
    for (int i = 0; i < POOL_SIZE; i++) {
        crochet_deferred *d;
        ASSERT_OK(crochet_defer_to_thread(&d, (crochet_fn)quick, CROCHET_TYPE_INT32,
                                          (crochet_value[]){ crochet_int32(i) }, 1));
        ASSERT_OK(crochet_result_new(&p->later[i], d));
        crochet_deferred_release(d);
    }
}

/* Cancelling a defer_to_thread deferred whose work is still queued (all 8 workers busy) fails it with CROCHET_ECANCELLED at once, and the function never runs, even after the workers free up. */
TEST(defer_to_thread_cancel_before_start_never_runs) {
    ASSERT_OK(crochet_setup());
    static struct pool_case p;
    p.victim_fired.done = (latch)LATCH_INIT;
    run_on_reactor(start_blockers, &p);
    if (!latch_wait_n(&blockers_started, POOL_SIZE, 10.0))
        FAIL("only %d of %d blocking functions started: the pool is smaller than %d",
             blockers_started.count, POOL_SIZE, POOL_SIZE);
    run_on_reactor(queue_and_cancel_victim, &p);
    ASSERT_OK(p.cancel_status);
    ASSERT(latch_wait(&p.victim_fired.done, 10.0));   /* fired by the cancel itself */
    ASSERT_EQ(p.victim_fired.kind, 2);
    ASSERT_EQ(p.victim_fired.code, CROCHET_ECANCELLED);
    ASSERT_STATUS(crochet_wait(p.victim, 10.0, NULL), CROCHET_ECANCELLED);

    latch_open(&blockers_release);
    for (int i = 0; i < POOL_SIZE; i++) {
        crochet_value v;
        ASSERT_OK(crochet_wait(p.blockers[i], 10.0, &v));
        ASSERT_EQ(v.u.i32, i);
        crochet_result_release(p.blockers[i]);
    }
    /* Work queued after the victim runs; the victim, queued before it, still does not. */
    run_on_reactor(queue_later, &p);
    for (int i = 0; i < POOL_SIZE; i++) {
        crochet_value v;
        ASSERT_OK(crochet_wait(p.later[i], 10.0, &v));
        ASSERT_EQ(v.u.i32, 3 * i);
        crochet_result_release(p.later[i]);
    }
    ASSERT(!latch_wait(&victim_ran, 0.2));
    ASSERT_EQ(atomic_load(&victim_runs), 0);
    crochet_result_release(p.victim);
}

static latch running_started = LATCH_INIT;
static latch running_release = LATCH_INIT;
static atomic_int running_finished;
static int32_t long_running(void) {
    latch_open(&running_started);
    latch_wait(&running_release, 10.0);
    atomic_fetch_add(&running_finished, 1);
    return 5;
}

struct running_case { crochet_deferred *d; struct fired fired; int cancel_status; crochet_result *r; };
static void start_long(void *ctx) {
    struct running_case *c = ctx;
    ASSERT_OK(crochet_defer_to_thread(&c->d, (crochet_fn)long_running, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT_OK(crochet_deferred_add_callbacks(c->d, fired_value, fired_failure, &c->fired, NULL));
}
static void cancel_long(void *ctx) {
    struct running_case *c = ctx;
    c->cancel_status = crochet_deferred_cancel(c->d);
    ASSERT_OK(crochet_result_new(&c->r, c->d));
    crochet_deferred_release(c->d);
}

/* Cancelling a defer_to_thread deferred whose function is already running fails it with CROCHET_ECANCELLED; the function finishes and its late value is dropped without disturbing the outcome. */
TEST(defer_to_thread_cancel_while_running) {
    ASSERT_OK(crochet_setup());
    static struct running_case c;
    c.fired.done = (latch)LATCH_INIT;
    run_on_reactor(start_long, &c);
    ASSERT(latch_wait(&running_started, 10.0));
    run_on_reactor(cancel_long, &c);
    ASSERT_OK(c.cancel_status);
    ASSERT(latch_wait(&c.fired.done, 10.0));
    ASSERT_EQ(c.fired.kind, 2);
    ASSERT_EQ(c.fired.code, CROCHET_ECANCELLED);
    latch_open(&running_release);
    ASSERT_STATUS(crochet_wait(c.r, 10.0, NULL), CROCHET_ECANCELLED);
    /* Let the late value arrive on the reactor, then check nothing changed. */
    for (int i = 0; i < 100 && atomic_load(&running_finished) == 0; i++) settle();
    ASSERT_EQ(atomic_load(&running_finished), 1);
    settle();
    ASSERT_STATUS(crochet_wait(c.r, 0, NULL), CROCHET_ECANCELLED);
    crochet_result_release(c.r);
}

struct many_defer { crochet_result *r[200]; };
static void defer_many(void *ctx) {
    struct many_defer *m = ctx;
    for (int i = 0; i < 200; i++) {
        crochet_deferred *d;
        ASSERT_OK(crochet_defer_to_thread(&d, (crochet_fn)quick, CROCHET_TYPE_INT32,
                                          (crochet_value[]){ crochet_int32(i) }, 1));
        ASSERT_OK(crochet_result_new(&m->r[i], d));
        crochet_deferred_release(d);
    }
}

/* More work than workers is queued and all of it completes with the right values. */
TEST(defer_to_thread_many_jobs) {
    ASSERT_OK(crochet_setup());
    static struct many_defer m;
    run_on_reactor(defer_many, &m);
    for (int i = 0; i < 200; i++) {
        crochet_value v;
        ASSERT_OK(crochet_wait(m.r[i], 10.0, &v));
        ASSERT_EQ(v.u.i32, 3 * i);
        crochet_result_release(m.r[i]);
    }
}

static void defer_bad_args_body(void *ctx) {
    (void)ctx;
    crochet_deferred *d = (crochet_deferred *)0x1;
    crochet_value bad_void[1] = { crochet_void() };
    crochet_value bad_deferred[1] = { crochet_int32(1) };
    bad_deferred[0].type = CROCHET_TYPE_DEFERRED;
    crochet_value unknown[1] = { crochet_int32(1) };
    unknown[0].type = (crochet_type)77;
    crochet_value many[CROCHET_MAX_ARGS + 1];
    for (int i = 0; i <= CROCHET_MAX_ARGS; i++) many[i] = crochet_int32(i);
    ASSERT_STATUS(crochet_defer_to_thread(NULL, (crochet_fn)victim, CROCHET_TYPE_INT32, NULL, 0), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_defer_to_thread(&d, NULL, CROCHET_TYPE_INT32, NULL, 0), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_defer_to_thread(&d, (crochet_fn)victim, CROCHET_TYPE_DEFERRED, NULL, 0), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_defer_to_thread(&d, (crochet_fn)victim, (crochet_type)77, NULL, 0), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_defer_to_thread(&d, (crochet_fn)victim, CROCHET_TYPE_INT32, bad_void, 1), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_defer_to_thread(&d, (crochet_fn)victim, CROCHET_TYPE_INT32, bad_deferred, 1), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_defer_to_thread(&d, (crochet_fn)victim, CROCHET_TYPE_INT32, unknown, 1), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_defer_to_thread(&d, (crochet_fn)victim, CROCHET_TYPE_INT32, many, CROCHET_MAX_ARGS + 1), CROCHET_EINVAL);
    ASSERT_STATUS(crochet_defer_to_thread(&d, (crochet_fn)victim, CROCHET_TYPE_INT32, NULL, 1), CROCHET_EINVAL);
}

/* defer_to_thread rejects a NULL out or fn, a DEFERRED or unknown return type, VOID, DEFERRED or unknown argument types and too many arguments with CROCHET_EINVAL, and runs nothing. */
TEST(defer_to_thread_bad_arguments) {
    ASSERT_OK(crochet_setup());
    run_on_reactor(defer_bad_args_body, NULL);
    settle();
    ASSERT_EQ(atomic_load(&victim_runs), 0);
}

/* ---- crochet_no_setup + crochet_run --------------------------------------- */

struct drive {
    pthread_t main_thread;
    int pipe[2];
    latch reader_installed;
    latch events;                /* one open per service that ran */
    int reader_ok, timer_ok, defer_ok;
    pthread_t worker;
    int timed_out;
};
static struct drive drive;

static void drive_reader(int fd, void *ctx) {
    (void)ctx;
    char c;
    ASSERT_EQ(read(fd, &c, 1), 1);
    drive.reader_ok = c == 'd' && pthread_equal(pthread_self(), drive.main_thread) && crochet_in_reactor_thread();
    ASSERT_OK(crochet_remove_reader(fd));
    latch_open(&drive.events);
}

static void drive_timer(void *ctx) {
    (void)ctx;
    drive.timer_ok = pthread_equal(pthread_self(), drive.main_thread) && crochet_in_reactor_thread();
    latch_open(&drive.events);
}

static int32_t drive_work(int32_t x) {
    drive.worker = pthread_self();
    return x + 1;
}

static void drive_fired(crochet_value v, void *ctx) {
    (void)ctx;
    drive.defer_ok = v.u.i32 == 41 && pthread_equal(pthread_self(), drive.main_thread) &&
                     crochet_in_reactor_thread() && !pthread_equal(drive.worker, drive.main_thread);
    latch_open(&drive.events);
}

static void drive_start(void *ctx) {
    (void)ctx;
    ASSERT_OK(crochet_add_reader(drive.pipe[0], drive_reader, NULL, NULL));
    ASSERT_OK(crochet_call_later(NULL, 0.02, drive_timer, NULL, NULL));
    crochet_deferred *d;
    ASSERT_OK(crochet_defer_to_thread(&d, (crochet_fn)drive_work, CROCHET_TYPE_INT32,
                                      (crochet_value[]){ crochet_int32(40) }, 1));
    ASSERT_OK(crochet_deferred_add_callbacks(d, drive_fired, NULL, NULL, NULL));
    crochet_deferred_release(d);
    latch_open(&drive.reader_installed);
}

static void *drive_from_outside(void *p) {
    (void)p;
    if (latch_wait(&drive.reader_installed, 10.0)) {
        char c = 'd';
        if (write(drive.pipe[1], &c, 1) != 1) abort();
    }
    if (!latch_wait_n(&drive.events, 3, 10.0)) drive.timed_out = 1;
    crochet_stop();   /* ends crochet_run either way: the test never hangs */
    return NULL;
}

/* After crochet_no_setup, crochet_run drives readers, timers and defer_to_thread completions on the calling thread, with the blocking work on another thread. */
TEST(run_drives_services_on_callers_thread) {
    ASSERT_OK(crochet_no_setup());
    drive.main_thread = pthread_self();
    drive.reader_installed = (latch)LATCH_INIT;
    drive.events = (latch)LATCH_INIT;
    ASSERT_EQ(pipe(drive.pipe), 0);
    ASSERT_OK(crochet_call_from_thread(drive_start, NULL, NULL));
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, drive_from_outside, NULL), 0);
    ASSERT_OK(crochet_run());
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT_EQ(drive.timed_out, 0);
    ASSERT_EQ(drive.reader_ok, 1);
    ASSERT_EQ(drive.timer_ok, 1);
    ASSERT_EQ(drive.defer_ok, 1);
    close(drive.pipe[0]);
    close(drive.pipe[1]);
}
