/* Tests for examples/c/downloader.c: libcurl's multi-socket API driven by the
 * libcrochet reactor, and the blocking download() built on crochet_wait_for.
 *
 * run.sh serves DOWNLOADER_TEST_DIR (files f00..f19) over HTTP on
 * 127.0.0.1:DOWNLOADER_TEST_PORT and runs each test in its own process. The
 * tests that need a misbehaving server (silent, trickling, refusing) make it
 * themselves on 127.0.0.1. Every wait is bounded. */
#include "harness.h"
#include "downloader.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define NFILES 20
#define NTHREADS 4

static const char *test_dir(void) {
    const char *dir = getenv("DOWNLOADER_TEST_DIR");
    if (dir == NULL) FAIL("DOWNLOADER_TEST_DIR is not set (run Tests/c/downloader/run.sh)");
    return dir;
}

static int test_port(void) {
    const char *port = getenv("DOWNLOADER_TEST_PORT");
    if (port == NULL) FAIL("DOWNLOADER_TEST_PORT is not set (run Tests/c/downloader/run.sh)");
    return atoi(port);
}

static void file_url(char *url, size_t n, int i) {
    snprintf(url, n, "http://127.0.0.1:%d/f%02d", test_port(), i);
}

/* Reads a served file whole; *size gets its length. */
static unsigned char *read_file(int i, size_t *size) {
    char path[4096];
    snprintf(path, sizeof path, "%s/f%02d", test_dir(), i);
    FILE *f = fopen(path, "rb");
    if (f == NULL) FAIL("cannot open %s", path);
    struct stat st;
    ASSERT_EQ(fstat(fileno(f), &st), 0);
    unsigned char *data = malloc((size_t)st.st_size + 1);
    ASSERT_NOT_NULL(data);
    ASSERT_EQ(fread(data, 1, (size_t)st.st_size, f), (size_t)st.st_size);
    fclose(f);
    *size = (size_t)st.st_size;
    return data;
}

/* Waits (bounded) until every easy handle has been cleaned up. */
static int live_handles_reach_zero(double timeout) {
    double end = harness_now() + timeout;
    while (downloader_live_handles() != 0) {
        if (harness_now() > end) return 0;
        usleep(1000);
    }
    return 1;
}

/* A TCP socket bound to 127.0.0.1 on a free port; listening when asked.
 * Bound but not listening, it refuses connections, and no other program can
 * take its port while it stays open. */
static int local_socket(int listening, int *port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT(fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    if (listening) ASSERT_EQ(listen(fd, 16), 0);
    socklen_t len = sizeof a;
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* Accepts one connection from listener within timeout; -1 if none came. */
static int accept_within(int listener, double timeout) {
    struct pollfd p = { .fd = listener, .events = POLLIN };
    if (poll(&p, 1, (int)(timeout * 1000)) != 1) return -1;
    return accept4(listener, NULL, NULL, SOCK_CLOEXEC);
}

/* Reads and drops what the peer sends until it closes the connection;
 * returns 1 if it did within timeout. */
static int peer_closes_within(int fd, double timeout) {
    double end = harness_now() + timeout;
    char buf[4096];
    for (;;) {
        int left = (int)((end - harness_now()) * 1000);
        if (left <= 0) return 0;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, left) != 1) return 0;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET)) return 1;
        if (n < 0 && errno != EINTR && errno != EAGAIN) return 0;
    }
}

/* ------------------------------------------------------------------------- */

struct worker {
    pthread_t thread;
    int index;
    int downloads;
    char error[256];
};

static atomic_size_t checked_bytes;
static atomic_int finished_workers;

static void download_files(struct worker *w) {
    /* Each thread downloads every file, starting at a different one. */
    for (int k = 0; k < NFILES; k++) {
        int i = (k + w->index * (NFILES / NTHREADS)) % NFILES;
        char url[128];
        file_url(url, sizeof url, i);
        downloader_buffer body;
        crochet_failure *f;
        int s = download(url, 30.0, &body, &f);
        if (s != CROCHET_OK) {
            snprintf(w->error, sizeof w->error, "%s: %s: %s", url, crochet_strerror(s),
                     f ? crochet_failure_message(f) : "");
            crochet_failure_release(f);
            return;
        }
        ASSERT_NULL(f);
        size_t size;
        unsigned char *expected = read_file(i, &size);
        int same = body.size == size && (size == 0 || memcmp(body.data, expected, size) == 0);
        free(expected);
        if (!same || body.http_status != 200) {
            snprintf(w->error, sizeof w->error, "%s: got %zu bytes (HTTP %ld), expected %zu bytes%s",
                     url, body.size, body.http_status, size,
                     body.size == size && !same ? "; the contents differ" : "");
            downloader_buffer_free(&body);
            return;
        }
        atomic_fetch_add(&checked_bytes, body.size);
        downloader_buffer_free(&body);
        w->downloads++;
    }
}

static void *download_all(void *p) {
    download_files(p);
    atomic_fetch_add(&finished_workers, 1);
    return NULL;
}

/* Four threads downloading all twenty files at once get every byte right. */
TEST(concurrent_downloads_are_byte_exact) {
    ASSERT_OK(downloader_setup());
    struct worker workers[NTHREADS];
    memset(workers, 0, sizeof workers);
    for (int t = 0; t < NTHREADS; t++) {
        workers[t].index = t;
        ASSERT_EQ(pthread_create(&workers[t].thread, NULL, download_all, &workers[t]), 0);
    }
    /* Meanwhile, watch the transfers overlap on the one reactor thread. */
    long most = 0;
    double end = harness_now() + 60.0;
    while (atomic_load(&finished_workers) < NTHREADS && harness_now() < end) {
        long live = downloader_live_handles();
        if (live > most) most = live;
        usleep(200);
    }
    for (int t = 0; t < NTHREADS; t++) {
        pthread_join(workers[t].thread, NULL);
        if (workers[t].error[0]) FAIL("thread %d: %s", t, workers[t].error);
        ASSERT_EQ(workers[t].downloads, NFILES);
    }
    printf("%d downloads, %zu bytes checked, %lu write callbacks, at most %ld transfers at once\n",
           NTHREADS * NFILES, (size_t)atomic_load(&checked_bytes), downloader_write_calls(), most);
    ASSERT(most >= 2);
    ASSERT(downloader_write_calls() > 0);
    ASSERT(live_handles_reach_zero(2.0));
}

/* A 404 answer fails with the HTTP status as code and "HTTP 404" as message. */
TEST(missing_file_fails_with_http_status) {
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/no-such-file", test_port());
    downloader_buffer body;
    crochet_failure *f;
    ASSERT_STATUS(download(url, 10.0, &body, &f), CROCHET_EFAILED);
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(crochet_failure_code(f), 404);
    ASSERT_STREQ(crochet_failure_message(f), "HTTP 404");
    ASSERT_NULL(body.data);
    ASSERT_EQ(body.size, 0);
    crochet_failure_release(f);
    ASSERT(live_handles_reach_zero(2.0));
}

/* A port nobody listens on fails with CURLE_COULDNT_CONNECT and curl's words for it. */
TEST(refused_connection_fails_clearly) {
    int port;
    int fd = local_socket(0, &port);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/f00", port);
    downloader_buffer body;
    crochet_failure *f;
    double start = harness_now();
    ASSERT_STATUS(download(url, 10.0, &body, &f), CROCHET_EFAILED);
    ASSERT(harness_now() - start < 5.0);
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(crochet_failure_code(f), CURLE_COULDNT_CONNECT);
    ASSERT_CONTAINS(crochet_failure_message(f), "Couldn't connect to server");
    ASSERT_CONTAINS(crochet_failure_message(f), "127.0.0.1");
    printf("failure: code %d, message \"%s\"\n", crochet_failure_code(f), crochet_failure_message(f));
    crochet_failure_release(f);
    close(fd);
    ASSERT(live_handles_reach_zero(2.0));
}

/* A server that accepts and never answers: download() gives up after its
 * timeout with CROCHET_ETIMEDOUT, the easy handle is removed and cleaned up,
 * and curl closes the connection. */
TEST(timeout_on_silent_server_cancels_transfer) {
    int port;
    int listener = local_socket(1, &port);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/slow", port);
    downloader_buffer body;
    crochet_failure *f = (crochet_failure *)1;
    double start = harness_now();
    ASSERT_STATUS(download(url, 0.3, &body, &f), CROCHET_ETIMEDOUT);
    double took = harness_now() - start;
    ASSERT(took >= 0.29);
    ASSERT(took < 2.0);
    ASSERT_NULL(f);
    ASSERT_NULL(body.data);
    ASSERT(live_handles_reach_zero(2.0));
    /* The connection waited in the listen backlog; curl has closed it. */
    int conn = accept_within(listener, 2.0);
    ASSERT(conn >= 0);
    ASSERT(peer_closes_within(conn, 2.0));
    close(conn);
    close(listener);
}

/* A server that keeps sending a body slowly. */
struct trickler {
    pthread_t thread;
    int listener;
    atomic_int sent_chunks;
    atomic_int peer_gone;     /* a send failed: the client closed the connection */
    atomic_int stop;
};

static void *trickle(void *p) {
    struct trickler *tr = p;
    int conn = accept_within(tr->listener, 5.0);
    if (conn < 0) return NULL;
    char request[4096];
    (void)!recv(conn, request, sizeof request, 0);
    const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\nContent-Type: application/octet-stream\r\n\r\n";
    if (send(conn, head, strlen(head), MSG_NOSIGNAL) < 0) { close(conn); return NULL; }
    char chunk[100];
    memset(chunk, 'x', sizeof chunk);
    double end = harness_now() + 5.0;
    while (!atomic_load(&tr->stop) && harness_now() < end) {
        if (send(conn, chunk, sizeof chunk, MSG_NOSIGNAL) < 0) {
            atomic_store(&tr->peer_gone, 1);
            break;
        }
        atomic_fetch_add(&tr->sent_chunks, 1);
        usleep(20000);
    }
    close(conn);
    return NULL;
}

/* A body still arriving when the timeout comes: no write callback runs after
 * download() returned and the handle was removed, though the server keeps
 * sending until it sees the connection closed. */
TEST(timeout_mid_body_stops_write_callbacks) {
    struct trickler tr = { .listener = -1 };
    int port;
    tr.listener = local_socket(1, &port);
    ASSERT_EQ(pthread_create(&tr.thread, NULL, trickle, &tr), 0);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/trickle", port);
    downloader_buffer body;
    crochet_failure *f;
    ASSERT_STATUS(download(url, 0.3, &body, &f), CROCHET_ETIMEDOUT);
    ASSERT_NULL(f);
    ASSERT(live_handles_reach_zero(2.0));
    unsigned long writes = downloader_write_calls();
    ASSERT(writes > 0);                         /* the body had started arriving */
    ASSERT(atomic_load(&tr.sent_chunks) > 0);
    double end = harness_now() + 3.0;           /* the server notices the close */
    while (!atomic_load(&tr.peer_gone) && harness_now() < end) usleep(5000);
    ASSERT(atomic_load(&tr.peer_gone));
    usleep(200000);
    ASSERT_EQ(downloader_write_calls(), writes);
    atomic_store(&tr.stop, 1);
    pthread_join(tr.thread, NULL);
    close(tr.listener);
}

struct stopped_download { pthread_t thread; int status; crochet_failure *f; double took; };

static void *download_from_silent(void *p) {
    struct stopped_download *sd = p;
    downloader_buffer body;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%s/slow", getenv("SILENT_PORT"));
    double start = harness_now();
    sd->status = download(url, 10.0, &body, &sd->f);
    sd->took = harness_now() - start;
    return NULL;
}

/* crochet_stop during a download: it returns CROCHET_ESTOPPED at once and
 * the shutdown trigger cleans the transfer up. */
TEST(stop_during_download_returns_stopped) {
    int port;
    int listener = local_socket(1, &port);
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    setenv("SILENT_PORT", p, 1);
    ASSERT_OK(downloader_setup());
    struct stopped_download sd = { 0 };
    ASSERT_EQ(pthread_create(&sd.thread, NULL, download_from_silent, &sd), 0);
    int conn = accept_within(listener, 5.0);    /* the transfer is under way */
    ASSERT(conn >= 0);
    ASSERT_EQ(downloader_live_handles(), 1);
    ASSERT_OK(crochet_stop());
    pthread_join(sd.thread, NULL);
    ASSERT_STATUS(sd.status, CROCHET_ESTOPPED);
    ASSERT_NOT_NULL(sd.f);
    ASSERT_EQ(crochet_failure_code(sd.f), CROCHET_ESTOPPED);
    ASSERT(sd.took < 5.0);
    ASSERT(live_handles_reach_zero(2.0));
    ASSERT(peer_closes_within(conn, 2.0));
    crochet_failure_release(sd.f);
    close(conn);
    close(listener);
}

/* The asynchronous form through crochet_submit: the value is a
 * downloader_buffer the EventualResult owns, valid while it is held. */
TEST(fetch_value_is_owned_by_the_result) {
    ASSERT_OK(downloader_setup());
    char url[128];
    file_url(url, sizeof url, 7);
    crochet_result *r;
    ASSERT_OK(CROCHET_SUBMIT(&r, downloader_fetch, CROCHET_TYPE_DEFERRED, crochet_pointer(url)));
    crochet_value v;
    ASSERT_OK(crochet_wait(r, 30.0, &v));
    ASSERT_EQ(v.type, CROCHET_TYPE_POINTER);
    const downloader_buffer *body = v.u.ptr;
    size_t size;
    unsigned char *expected = read_file(7, &size);
    ASSERT_EQ(body->size, size);
    ASSERT_EQ(body->http_status, 200);
    ASSERT(size == 0 || memcmp(body->data, expected, size) == 0);
    free(expected);
    crochet_result_release(r);
    ASSERT(live_handles_reach_zero(2.0));
}

/* crochet_cancel on a fetch in progress runs the canceller: the result fails
 * with CROCHET_ECANCELLED ("download cancelled") and the handle is gone. */
TEST(cancelling_a_fetch_removes_the_handle) {
    ASSERT_OK(downloader_setup());
    int port;
    int listener = local_socket(1, &port);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/slow", port);
    crochet_result *r;
    ASSERT_OK(CROCHET_SUBMIT(&r, downloader_fetch, CROCHET_TYPE_DEFERRED, crochet_pointer(url)));
    int conn = accept_within(listener, 5.0);
    ASSERT(conn >= 0);
    ASSERT_STATUS(crochet_wait(r, 0.05, NULL), CROCHET_ETIMEDOUT);
    ASSERT_OK(crochet_cancel(r));
    ASSERT_STATUS(crochet_wait(r, 5.0, NULL), CROCHET_ECANCELLED);
    ASSERT_EQ(crochet_failure_code(crochet_original_failure(r)), CROCHET_ECANCELLED);
    ASSERT_STREQ(crochet_failure_message(crochet_original_failure(r)), "download cancelled");
    ASSERT(live_handles_reach_zero(2.0));
    ASSERT(peer_closes_within(conn, 2.0));
    crochet_result_release(r);
    close(conn);
    close(listener);
}

/* Bad arguments are CROCHET_EINVAL, and download() on the reactor thread is
 * CROCHET_EREACTORTHREAD; nothing is started either way. */
static int on_reactor_status;
static void download_on_reactor(void *ctx) {
    downloader_buffer body;
    on_reactor_status = download(ctx, 1.0, &body, NULL);
}

TEST(bad_calls_are_refused) {
    downloader_buffer body;
    crochet_failure *f;
    char url[128];
    file_url(url, sizeof url, 0);
    ASSERT_STATUS(download(NULL, 1.0, &body, &f), CROCHET_EINVAL);
    ASSERT_STATUS(download(url, 1.0, NULL, &f), CROCHET_EINVAL);
    ASSERT_STATUS(download(url, -1.0, &body, &f), CROCHET_EINVAL);
    ASSERT_STATUS(download(url, NAN, &body, &f), CROCHET_EINVAL);
    ASSERT_OK(downloader_setup());
    run_on_reactor(download_on_reactor, url);
    ASSERT_STATUS(on_reactor_status, CROCHET_EREACTORTHREAD);
    ASSERT_EQ(downloader_live_handles(), 0);
    /* An unusable URL is curl's failure, reported like any other. */
    ASSERT_STATUS(download("nosuchscheme://x/", 5.0, &body, &f), CROCHET_EFAILED);
    ASSERT_EQ(crochet_failure_code(f), CURLE_UNSUPPORTED_PROTOCOL);
    crochet_failure_release(f);
    ASSERT(live_handles_reach_zero(2.0));
}
