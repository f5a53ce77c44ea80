/* uv-peer: see uv-peer.h. */
#define _GNU_SOURCE
#include "uv-peer.h"

#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uv.h>

static uv_loop_t loop;
static uv_async_t async;
static uv_thread_t thread;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uvp_req *head, *tail;
static int stopping;

static void on_async(uv_async_t *handle) {
    pthread_mutex_lock(&lock);
    uvp_req *r = head;
    head = tail = NULL;
    int stop = stopping;
    pthread_mutex_unlock(&lock);
    while (r) {
        uvp_req *next = r->next;   /* r may be freed once completed */
        r->value = r->fn(r->a, r->b);
        if (atomic_exchange_explicit(&r->state, 1, memory_order_release) == 2)
            syscall(SYS_futex, &r->state, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
        r = next;
    }
    if (stop) uv_close((uv_handle_t *)handle, NULL);
}

static void run_loop(void *arg) {
    (void)arg;
    uv_run(&loop, UV_RUN_DEFAULT);
}

int uvp_start(void) {
    if (uv_loop_init(&loop) != 0) return -1;
    if (uv_async_init(&loop, &async, on_async) != 0) return -1;
    stopping = 0;
    return uv_thread_create(&thread, run_loop, NULL) == 0 ? 0 : -1;
}

void uvp_stop(void) {
    pthread_mutex_lock(&lock);
    stopping = 1;
    pthread_mutex_unlock(&lock);
    uv_async_send(&async);
    uv_thread_join(&thread);
    uv_loop_close(&loop);
}

uvp_req *uvp_submit(uvp_fn fn, int32_t a, int32_t b) {
    uvp_req *r = malloc(sizeof *r);
    if (!r) return NULL;
    r->next = NULL;
    r->fn = fn;
    r->a = a;
    r->b = b;
    r->value = 0;
    atomic_init(&r->state, 0);
    pthread_mutex_lock(&lock);
    if (tail) tail->next = r;
    else head = r;
    tail = r;
    pthread_mutex_unlock(&lock);
    uv_async_send(&async);   /* coalesces: one wake-up per batch */
    return r;
}

int32_t uvp_wait(uvp_req *r) {
    uint32_t s = atomic_load_explicit(&r->state, memory_order_acquire);
    if (s != 1) {
        if (s == 2 || atomic_compare_exchange_strong(&r->state, &s, 2) || s == 2) {
            while (atomic_load_explicit(&r->state, memory_order_acquire) != 1)
                syscall(SYS_futex, &r->state, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
        }
    }
    return r->value;
}

void uvp_release(uvp_req *r) { free(r); }

const char *uvp_version(void) { return uv_version_string(); }
