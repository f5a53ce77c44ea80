/*
 * downloader.h - download URLs from any thread with libcurl driven by the
 * libcrochet reactor: the native twin of crochet's downloader example.
 *
 * One libcurl multi handle lives on the reactor thread. Its sockets are
 * watched with crochet_add_reader/crochet_add_writer and its timeout with
 * crochet_call_later, so every transfer of the process shares the one event
 * loop and no curl function is ever called on any other thread. A plain
 * thread calls download(), which blocks (with a timeout) in crochet_wait_for
 * until the transfer's deferred fires.
 */
#ifndef DOWNLOADER_H
#define DOWNLOADER_H

#include <crochet.h>
#include <stddef.h>

/* A downloaded body. data is malloc'd (NULL when size is 0); free it with
 * downloader_buffer_free. */
typedef struct downloader_buffer {
    unsigned char *data;
    size_t size;
    long http_status;       /* the final response's status code (e.g. 200) */
} downloader_buffer;

/* Any thread; idempotent. Initializes libcurl and starts the reactor
 * (crochet_setup) if it does not run yet, and registers a shutdown trigger
 * that ends every transfer still running when the reactor stops. download()
 * calls it itself; call it first from main() if other threads might start
 * using libcurl while it runs (curl_global_init is not thread-safe before
 * libcurl 7.84).
 * Returns CROCHET_OK or a crochet_setup / crochet_add_shutdown_trigger status,
 * or CROCHET_ENOMEM when libcurl cannot be initialized. */
int downloader_setup(void);

/* Any thread but the reactor thread. Downloads url, waiting at most timeout
 * seconds (INFINITY: no limit). On CROCHET_OK, *out holds the body (yours).
 * Otherwise *out is zeroed and the status says why:
 *   CROCHET_EFAILED     the transfer failed; *failure (when failure is not
 *                       NULL) says how: its code is the CURLcode (e.g. 7,
 *                       CURLE_COULDNT_CONNECT) with curl_easy_strerror's text
 *                       first in the message ("Couldn't connect to server
 *                       (...)"), or, when the server answered with a status
 *                       of 400 or more, that status with the message
 *                       "HTTP 404" and so on;
 *   CROCHET_ETIMEDOUT   no answer within timeout: the transfer was cancelled,
 *                       its easy handle removed and cleaned up on the
 *                       reactor thread (no callback of it runs afterwards);
 *   CROCHET_ESTOPPED    the reactor stopped before the transfer ended;
 *   CROCHET_EINVAL      a NULL url or out, a bad timeout;
 *   CROCHET_EREACTORTHREAD  called on the reactor thread;
 *   CROCHET_ENOMEM.
 * *failure receives a reference you release with crochet_failure_release
 * (NULL when there is no failure). */
int download(const char *url, double timeout, downloader_buffer *out, crochet_failure **failure);

/* Reactor thread only: the asynchronous form. Starts downloading url (copied)
 * and returns a new deferred (one reference, yours) that fires with a
 * CROCHET_TYPE_POINTER value to a downloader_buffer the result owns (through
 * crochet_deferred_callback_owned: valid while you hold the deferred or an
 * EventualResult that followed it), or fails as download() describes.
 * Cancelling the deferred removes and cleans up the transfer. Returns NULL
 * (after crochet_raise, when called inside a submitted call) on failure.
 * Suitable as a CROCHET_TYPE_DEFERRED function for crochet_submit. */
crochet_deferred *downloader_fetch(const char *url);

/* Frees out->data and zeroes *out. NULL: no-op. */
void downloader_buffer_free(downloader_buffer *out);

/* For tests: libcurl easy handles alive now, and write callbacks run so far. */
long downloader_live_handles(void);
unsigned long downloader_write_calls(void);

#endif /* DOWNLOADER_H */
