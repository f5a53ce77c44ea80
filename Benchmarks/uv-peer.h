/* uv-peer: the design a C programmer would otherwise write for "call this on
 * my event loop's thread and give me the result", to measure libcrochet
 * against. A libuv loop runs on its own thread; callers push requests on a
 * mutex-protected FIFO and wake the loop with uv_async_send; the loop takes
 * the whole queue, runs each request and completes it through a futex word
 * in the request (the caller parks on it only if the result is not there
 * yet, and the loop wakes it only if it parked). No spinning anywhere. */
#ifndef UV_PEER_H
#define UV_PEER_H

#include <stdatomic.h>
#include <stdint.h>

typedef int32_t (*uvp_fn)(int32_t a, int32_t b);

typedef struct uvp_req {
    struct uvp_req *next;
    uvp_fn fn;
    int32_t a, b, value;
    _Atomic uint32_t state;   /* 0 pending, 1 done, 2 pending with a parked waiter */
} uvp_req;

/* Starts the loop thread. 0 on success. */
int uvp_start(void);
/* Stops the loop and joins its thread (requests still queued are run first). */
void uvp_stop(void);
/* Queues fn(a, b) for the loop thread; the request is the caller's to wait
 * on and release. NULL when out of memory. */
uvp_req *uvp_submit(uvp_fn fn, int32_t a, int32_t b);
/* Waits for the request's completion and returns fn's value. */
int32_t uvp_wait(uvp_req *r);
/* Frees a completed request. */
void uvp_release(uvp_req *r);
/* The libuv version string. */
const char *uvp_version(void);

#endif
