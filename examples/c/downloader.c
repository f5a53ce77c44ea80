/*
 * downloader.c - libcurl's multi-socket API driven by the libcrochet reactor,
 * and a blocking download() that any thread may call: the native twin of
 * crochet's downloader example (examples/downloader.py there).
 *
 *   cc downloader.c $(pkg-config --cflags --libs crochet libcurl) -pthread -o downloader
 *   ./downloader https://example.com/ https://example.org/
 *
 * How it fits together:
 *   - One CURLM multi handle lives on the reactor thread; every curl call
 *     happens there (curl handles are not thread-safe).
 *   - CURLMOPT_SOCKETFUNCTION maps curl's interest in a socket onto
 *     crochet_add_reader / crochet_add_writer / crochet_remove_*; when a
 *     socket is ready the reactor calls curl_multi_socket_action for it.
 *   - CURLMOPT_TIMERFUNCTION maps curl's single timeout onto one
 *     crochet_call_later timer.
 *   - After each curl_multi_socket_action, curl_multi_info_read says which
 *     transfers ended; each transfer's deferred fires then.
 *   - download() runs on a plain thread: crochet_wait_for submits a function
 *     returning a deferred and waits for it; on timeout wait_for cancels the
 *     deferred, whose canceller removes and cleans up the easy handle.
 *
 * Define DOWNLOADER_NO_MAIN to compile it into another program (the tests).
 */
#define _GNU_SOURCE
#include "downloader.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* Requests: a URL and the body it gets, shared by download() and the reactor */
/* ------------------------------------------------------------------------- */

/* Reference counted: download()'s thread holds one while it waits, a running
 * transfer holds one, and a successful result owns one (the deferred's value
 * is &body, released through crochet_deferred_callback_owned's destroy). */
struct request {
    downloader_buffer body;      /* first: the deferred's value points here */
    atomic_int refs;
    uint64_t id;                 /* download() only: its key in `pending` */
    struct request *next_pending;
    char url[];
};

static struct request *request_new(const char *url) {
    size_t n = strlen(url) + 1;
    struct request *req = calloc(1, sizeof *req + n);
    if (req == NULL) return NULL;
    atomic_init(&req->refs, 1);
    memcpy(req->url, url, n);
    return req;
}

static struct request *request_retain(struct request *req) {
    atomic_fetch_add_explicit(&req->refs, 1, memory_order_relaxed);
    return req;
}

static void request_release(struct request *req) {
    if (req == NULL || atomic_fetch_sub_explicit(&req->refs, 1, memory_order_acq_rel) != 1) return;
    free(req->body.data);
    free(req);
}

/* The destroy function of a successful result's value (&req->body). */
static void request_release_body(void *body) { request_release((struct request *)body); }

void downloader_buffer_free(downloader_buffer *out) {
    if (out == NULL) return;
    free(out->data);
    memset(out, 0, sizeof *out);
}

/* ------------------------------------------------------------------------- */
/* Transfers: the reactor side (every function here runs on the reactor)      */
/* ------------------------------------------------------------------------- */

struct transfer {
    CURL *easy;
    crochet_deferred *d;          /* our own reference; fired when the transfer ends */
    struct request *req;          /* our own reference; the body grows in req->body */
    size_t capacity;
    char error[CURL_ERROR_SIZE];
    struct transfer *prev, *next; /* every live transfer, for the shutdown trigger */
};

static CURLM *multi;                    /* created on first use, on the reactor thread */
static crochet_delayed_call *timer;     /* curl's one timeout, or NULL */
static struct transfer *transfers;      /* live transfers */
static atomic_long live_handles;        /* easy handles not yet cleaned up */
static atomic_ulong write_calls;

long downloader_live_handles(void) { return atomic_load(&live_handles); }
unsigned long downloader_write_calls(void) { return atomic_load(&write_calls); }

static size_t on_data(char *data, size_t size, size_t count, void *ctx) {
    struct transfer *t = ctx;
    downloader_buffer *body = &t->req->body;
    size_t n = size * count;
    atomic_fetch_add(&write_calls, 1);
    if (n > t->capacity - body->size) {
        size_t capacity = t->capacity ? t->capacity : 16384;
        while (capacity - body->size < n) capacity *= 2;
        unsigned char *grown = realloc(body->data, capacity);
        if (grown == NULL) return 0;    /* curl fails the transfer with CURLE_WRITE_ERROR */
        body->data = grown;
        t->capacity = capacity;
    }
    memcpy(body->data + body->size, data, n);
    body->size += n;
    return n;
}

/* Removes t's easy handle from the multi handle and cleans it up; after this
 * curl never calls back for it. Unlinks t; the caller fires and frees. */
static void transfer_detach(struct transfer *t) {
    if (t->prev) t->prev->next = t->next; else transfers = t->next;
    if (t->next) t->next->prev = t->prev;
    curl_multi_remove_handle(multi, t->easy);
    curl_easy_cleanup(t->easy);
    t->easy = NULL;
    atomic_fetch_sub(&live_handles, 1);
}

static void transfer_free(struct transfer *t) {
    crochet_deferred_release(t->d);
    request_release(t->req);
    free(t);
}

/* curl says the transfer ended with result rc. */
static void transfer_done(struct transfer *t, CURLcode rc) {
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    transfer_detach(t);
    if (rc != CURLE_OK) {
        char message[CURL_ERROR_SIZE + 128];
        if (t->error[0] != '\0')
            snprintf(message, sizeof message, "%s (%s)", curl_easy_strerror(rc), t->error);
        else
            snprintf(message, sizeof message, "%s", curl_easy_strerror(rc));
        crochet_deferred_errback(t->d, (int)rc, message);
    } else if (status >= 400) {
        char message[32];
        snprintf(message, sizeof message, "HTTP %ld", status);
        crochet_deferred_errback(t->d, (int)status, message);
    } else {
        t->req->body.http_status = status;
        request_retain(t->req);                 /* the result's reference */
        if (crochet_deferred_callback_owned(t->d, &t->req->body, request_release_body) != CROCHET_OK)
            request_release(t->req);
    }
    transfer_free(t);
}

/* Ends every transfer curl has finished. Called after curl returns, never
 * from inside a curl callback, so firing deferreds (whose callbacks may start
 * or cancel other transfers) is safe here. */
static void check_finished(void) {
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) continue;
        struct transfer *t;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        transfer_done(t, msg->data.result);
    }
}

/* A watched socket is ready (reader: CURL_CSELECT_IN, writer: _OUT). */
static void on_ready(int fd, int flag) {
    int running;
    curl_multi_socket_action(multi, fd, flag, &running);
    check_finished();
}
static void on_readable(int fd, void *ctx) { (void)ctx; on_ready(fd, CURL_CSELECT_IN); }
static void on_writable(int fd, void *ctx) { (void)ctx; on_ready(fd, CURL_CSELECT_OUT); }

/* CURLMOPT_SOCKETFUNCTION: what curl wants to hear about fd from now on. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
    (void)easy; (void)userp; (void)socketp;
    int s = CROCHET_OK;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        s = crochet_add_reader(fd, on_readable, NULL, NULL);
    else
        crochet_remove_reader(fd);
    if (s == CROCHET_OK && (what == CURL_POLL_OUT || what == CURL_POLL_INOUT))
        s = crochet_add_writer(fd, on_writable, NULL, NULL);
    else
        crochet_remove_writer(fd);
    return s == CROCHET_OK ? 0 : -1;    /* -1: curl fails the transfers on fd */
}

/* The crochet_call_later timer curl asked for has come. */
static void on_timeout(void *ctx) {
    (void)ctx;
    crochet_delayed_call_release(timer);   /* it ran; curl may ask for a new one below */
    timer = NULL;
    int running;
    curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_finished();
}

/* CURLMOPT_TIMERFUNCTION: curl's one timeout is now timeout_ms from now
 * (-1: none; 0: as soon as possible, which call_later(0) is: never from
 * inside this callback, as curl requires). */
static int on_timer(CURLM *m, long timeout_ms, void *userp) {
    (void)m; (void)userp;
    if (timer != NULL) {
        crochet_delayed_call_cancel(timer);
        crochet_delayed_call_release(timer);
        timer = NULL;
    }
    if (timeout_ms < 0) return 0;
    int s = crochet_call_later(&timer, timeout_ms / 1000.0, on_timeout, NULL, NULL);
    /* Stopping: no timer will run again, and the shutdown trigger is about
     * to end every transfer with CROCHET_ESTOPPED; failing here would end
     * them first, as CURLE_ABORTED_BY_CALLBACK. */
    if (s == CROCHET_ESTOPPED) return 0;
    return s == CROCHET_OK ? 0 : -1;
}

/* The deferred's canceller (download()'s timeout, or crochet_cancel): the
 * easy handle leaves the multi handle at once, so nothing of it runs again. */
static void on_cancel(crochet_deferred *d, void *ctx) {
    struct transfer *t = ctx;
    transfer_detach(t);
    crochet_deferred_errback(d, CROCHET_ECANCELLED, "download cancelled");
    transfer_free(t);
}

/* Shutdown trigger: the reactor stops; end whatever still runs. */
static void on_shutdown(void *ctx) {
    (void)ctx;
    while (transfers != NULL) {
        struct transfer *t = transfers;
        transfer_detach(t);
        crochet_deferred_errback(t->d, CROCHET_ESTOPPED, "the reactor stopped during the download");
        transfer_free(t);
    }
    if (multi != NULL) {
        curl_multi_cleanup(multi);
        multi = NULL;
    }
    if (timer != NULL) {
        crochet_delayed_call_cancel(timer);
        crochet_delayed_call_release(timer);
        timer = NULL;
    }
}

static int ensure_multi(void) {
    if (multi != NULL) return 0;
    multi = curl_multi_init();
    if (multi == NULL) return -1;
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
    return 0;
}

/* Reactor thread: starts a transfer for req, taking over the caller's
 * reference to it. Returns its deferred, or NULL after crochet_raise. */
static crochet_deferred *transfer_start(struct request *req) {
    struct transfer *t = NULL;
    crochet_deferred *d = NULL;
    const char *why = "out of memory";
    int code = CURLE_OUT_OF_MEMORY;
    if (!crochet_in_reactor_thread()) {
        code = CROCHET_ENOTREACTOR;
        why = "downloads start on the reactor thread only";
        goto fail;
    }
    if (ensure_multi() != 0 || (t = calloc(1, sizeof *t)) == NULL) goto fail;
    if ((t->easy = curl_easy_init()) == NULL) {
        code = CURLE_FAILED_INIT;
        why = "curl_easy_init failed";
        goto fail;
    }
    atomic_fetch_add(&live_handles, 1);
    t->req = req;
    curl_easy_setopt(t->easy, CURLOPT_URL, (const char *)req->url);
    curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
    curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t->easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(t->easy, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(t->easy, CURLOPT_USERAGENT, "libcrochet-downloader/" CROCHET_VERSION_STRING);
    if (crochet_deferred_new(&d, on_cancel, t, NULL) != CROCHET_OK) goto fail;
    CURLMcode mc = curl_multi_add_handle(multi, t->easy);
    if (mc != CURLM_OK) {
        code = CURLE_FAILED_INIT;
        why = curl_multi_strerror(mc);
        goto fail;
    }
    t->next = transfers;
    if (transfers) transfers->prev = t;
    transfers = t;
    t->d = crochet_deferred_retain(d);
    return d;   /* the caller (the engine, for a submitted call) takes this reference */

fail:
    crochet_deferred_release(d);
    if (t != NULL && t->easy != NULL) {
        curl_easy_cleanup(t->easy);
        atomic_fetch_sub(&live_handles, 1);
    }
    free(t);
    request_release(req);
    crochet_raise(code, why);
    return NULL;
}

crochet_deferred *downloader_fetch(const char *url) {
    if (url == NULL) {
        crochet_raise(CROCHET_EINVAL, "no URL");
        return NULL;
    }
    struct request *req = request_new(url);
    if (req == NULL) {
        crochet_raise(CROCHET_ENOMEM, "out of memory");
        return NULL;
    }
    return transfer_start(req);
}

/* ------------------------------------------------------------------------- */
/* download(): the blocking form, for any thread                              */
/* ------------------------------------------------------------------------- */

/* crochet_wait_for returns on timeout once it has *asked* for cancellation:
 * the submitted call may not have started yet, or may be about to run.
 * So the call does not get a pointer into memory download() frees when it
 * returns; it gets an id, which it looks up among the requests whose
 * download() still waits. A call that comes too late finds nothing. */
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static struct request *pending;
static uint64_t last_id;

static void pending_add(struct request *req) {
    pthread_mutex_lock(&pending_lock);
    req->id = ++last_id;
    req->next_pending = pending;
    pending = req;
    pthread_mutex_unlock(&pending_lock);
}

static void pending_remove(struct request *req) {
    pthread_mutex_lock(&pending_lock);
    for (struct request **p = &pending; *p != NULL; p = &(*p)->next_pending) {
        if (*p == req) { *p = req->next_pending; break; }
    }
    pthread_mutex_unlock(&pending_lock);
}

/* Submitted by download(); runs on the reactor thread. */
static crochet_deferred *download_call(uint64_t id) {
    struct request *req = NULL;
    pthread_mutex_lock(&pending_lock);
    for (struct request *r = pending; r != NULL; r = r->next_pending) {
        if (r->id == id) { req = request_retain(r); break; }
    }
    pthread_mutex_unlock(&pending_lock);
    if (req == NULL) {
        crochet_raise(CROCHET_ECANCELLED, "download() returned before the download started");
        return NULL;
    }
    return transfer_start(req);
}

static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static int setup_status;

static void setup(void) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        setup_status = CROCHET_ENOMEM;
        return;
    }
    setup_status = crochet_setup();
    if (setup_status == CROCHET_OK) setup_status = crochet_add_shutdown_trigger(on_shutdown, NULL, NULL);
}

int downloader_setup(void) {
    pthread_once(&setup_once, setup);
    return setup_status;
}

int download(const char *url, double timeout, downloader_buffer *out, crochet_failure **failure) {
    if (failure != NULL) *failure = NULL;
    if (out != NULL) memset(out, 0, sizeof *out);
    if (url == NULL || out == NULL || isnan(timeout) || timeout < 0) return CROCHET_EINVAL;
    int s = downloader_setup();
    if (s != CROCHET_OK) return s;
    struct request *req = request_new(url);
    if (req == NULL) return CROCHET_ENOMEM;
    pending_add(req);
    crochet_value value;
    s = crochet_wait_for(&value, failure, timeout, (crochet_fn)download_call, CROCHET_TYPE_DEFERRED,
                         (crochet_value[]){ crochet_uint64(req->id) }, 1);
    pending_remove(req);
    if (s == CROCHET_OK) {
        /* The value is &req->body. Take the body from req, which we still
         * hold, rather than through value.u.ptr: that value's owner is the
         * EventualResult inside crochet_wait_for, gone once it returns. */
        *out = req->body;
        memset(&req->body, 0, sizeof req->body);
    }
    request_release(req);
    return s;
}

/* ------------------------------------------------------------------------- */
/* The command line: downloader [-t SECONDS] URL...                          */
/* ------------------------------------------------------------------------- */

#ifndef DOWNLOADER_NO_MAIN

struct job {
    pthread_t thread;
    const char *url;
    double timeout;
    int status;
    downloader_buffer body;
    crochet_failure *failure;
};

static void *run_job(void *p) {
    struct job *job = p;
    job->status = download(job->url, job->timeout, &job->body, &job->failure);
    return NULL;
}

int main(int argc, char **argv) {
    double timeout = 30.0;
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "-t") == 0) {
        char *end;
        timeout = strtod(argv[2], &end);
        if (*end != '\0' || !(timeout >= 0)) {
            fprintf(stderr, "downloader: bad timeout %s\n", argv[2]);
            return 2;
        }
        first = 3;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: downloader [-t SECONDS] URL...\n");
        return 2;
    }
    int s = downloader_setup();
    if (s != CROCHET_OK) {
        fprintf(stderr, "downloader: %s\n", crochet_strerror(s));
        return 1;
    }

    /* One plain thread per URL, all blocking in download() at once; the
     * transfers themselves share the reactor thread. */
    int n = argc - first, failed = 0;
    struct job *jobs = calloc((size_t)n, sizeof *jobs);
    if (jobs == NULL) return 1;
    for (int i = 0; i < n; i++) {
        jobs[i].url = argv[first + i];
        jobs[i].timeout = timeout;
        if (pthread_create(&jobs[i].thread, NULL, run_job, &jobs[i]) != 0) {
            fprintf(stderr, "downloader: cannot start a thread\n");
            return 1;
        }
    }
    for (int i = 0; i < n; i++) {
        struct job *job = &jobs[i];
        pthread_join(job->thread, NULL);
        if (job->status == CROCHET_OK) {
            printf("%s: %zu bytes (HTTP %ld)\n", job->url, job->body.size, job->body.http_status);
        } else {
            failed++;
            if (job->failure != NULL)
                printf("%s: failed: %s (code %d)\n", job->url,
                       crochet_failure_message(job->failure), crochet_failure_code(job->failure));
            else
                printf("%s: failed: %s\n", job->url, crochet_strerror(job->status));
        }
        downloader_buffer_free(&job->body);
        crochet_failure_release(job->failure);
    }
    free(jobs);
    crochet_stop();
    return failed ? 1 : 0;
}

#endif /* DOWNLOADER_NO_MAIN */
