/* Linux facilities the Swift core needs that Glibc's module does not offer:
 * futexes, epoll, eventfd, thread-locals, raw atomics, backtraces, getrandom.
 * Every name is prefixed cl_. */
#ifndef CROCHET_CLINUX_H
#define CROCHET_CLINUX_H

#include <stdint.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

/* --- time --- */

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t cl_now_ns(void);

/* --- futex --- */

/* Sleeps while *addr == expected, until woken or the CLOCK_MONOTONIC absolute
 * deadline (nanoseconds; < 0 means none). Returns 0 when woken (or spurious),
 * -1 on timeout, 1 when *addr != expected at the call. */
int cl_futex_wait(uint32_t *addr, uint32_t expected, int64_t deadline_ns);

/* Wakes up to count threads sleeping on addr. */
void cl_futex_wake(uint32_t *addr, int count);

/* --- raw atomics on memory the Swift side allocated --- */
static inline uint32_t cl_atomic_load_u32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline uint32_t cl_atomic_fetch_add_u32(uint32_t *p, uint32_t v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
static inline void cl_atomic_store_u32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static inline uint32_t cl_atomic_fetch_or_u32(uint32_t *p, uint32_t v) { return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST); }

/* A spin-wait hint (PAUSE on x86). */
static inline void cl_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Brings the cache line at p in for writing (a hint). */
static inline void cl_prefetch(const void *p) { __builtin_prefetch(p, 1, 3); }

/* --- thread-locals --- */

/* The call whose crochet_raise slot is live on this thread (NULL outside). */
void *cl_tls_current_call(void);
void cl_tls_set_current_call(void *call);

/* The call interface this thread used last (a one-entry cache). */
void *cl_tls_last_interface(void);
void cl_tls_set_last_interface(void *interface);

/* The reactor this thread runs (NULL if none). */
void *cl_tls_reactor(void);
void cl_tls_set_reactor(void *reactor);

/* --- epoll / eventfd --- */
int cl_epoll_create(void);
int cl_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/* Waits for events; writes up to max (events, data) pairs. timeout_ns < 0
 * blocks. Returns the count, or -1 with errno. EINTR is reported as 0. */
int cl_epoll_wait(int epfd, uint32_t *events, uint64_t *data, int max, int64_t timeout_ns);
int cl_eventfd_create(void);
void cl_eventfd_signal(int fd);
void cl_eventfd_drain(int fd);

/* 1 if fd is an open descriptor, else 0. */
int cl_fd_is_open(int fd);

/* --- randomness --- */
/* Fills buf from the OS's secure random source. Returns 0, or -1. */
int cl_getrandom(void *buf, size_t len);

/* --- backtraces --- */
/* The calling thread's return addresses, innermost first, at most `max`
 * (backtrace(3): cheap, no symbols). Returns how many. */
int cl_capture_frames(void **frames, int max);
/* A malloc'ed text of `n` captured frames, one per line, skipping the
 * innermost `skip` and those inside this library; symbolised with dladdr
 * (and demangled) where symbols are visible: the costly part, done when the
 * text is first wanted. NULL only when out of memory. */
char *cl_format_frames(void *const *frames, int n, int skip);

/* --- threads --- */
/* Starts a joinable thread running fn(arg); returns 0 or an errno. The new
 * thread has the caller's signal mask plus SIGPIPE blocked unless the process
 * ignores SIGPIPE (given back to processes it forks). */
int cl_thread_start(uint64_t *thread_out, void *(*fn)(void *), void *arg);
/* Joins within timeout_ns (< 0: wait forever). 0 on success, else errno. */
int cl_thread_join(uint64_t thread, int64_t timeout_ns);
uint64_t cl_thread_self(void);

/* --- process --- */
/* Registers the fork handlers (prepare, parent, child) once. */
int cl_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));
int cl_atexit(void (*fn)(void));

/* Writes a whole line to stderr without stdio buffering. */
void cl_write_stderr(const char *text);

/* --- a mutex and condition variable pair, heap allocated --- */
typedef struct cl_monitor cl_monitor;
cl_monitor *cl_monitor_new(void);
void cl_monitor_lock(cl_monitor *m);
void cl_monitor_unlock(cl_monitor *m);
/* Waits (lock held) until signalled or the monotonic deadline (< 0: none).
 * Returns 0 when signalled (or spuriously), -1 on timeout. */
int cl_monitor_wait(cl_monitor *m, int64_t deadline_ns);
void cl_monitor_broadcast(cl_monitor *m);
/* Wakes one waiter. */
void cl_monitor_signal(cl_monitor *m);
/* Re-initialises the monitor in a forked child (its lock may have been held). */
void cl_monitor_reinit(cl_monitor *m);

/* Another copy of libcrochet loaded in this process (an object that exports
 * crochet_setup and is not the one holding this code): writes this copy's
 * path into self and the other's into other; returns 1 if there is one. */
int cl_find_other_copy(char *self, size_t self_size, char *other, size_t other_size);

/* The coarse monotonic clock in milliseconds (wraps after 49 days): a few
 * nanoseconds to read, a few milliseconds of resolution. For diagnostics. */
uint32_t cl_coarse_ms(void);

/* The symbol at address, demangled ("fetch_page", "ns::f(int)+0x10"), or
 * the address with its object ("0x7f... (libfoo.so+0x1234)"). malloc'd. */
char *cl_symbol_name(const void *address);

/* The calling thread's counter of submitted calls (NULL until set). */
uint64_t *cl_tls_submit_slot(void);
void cl_tls_set_submit_slot(uint64_t *slot);

/* Relaxed atomic 64-bit access, for counters written by one thread. */
static inline uint64_t cl_atomic_load_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void cl_atomic_store_u64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }

/* Whether this thread's last submit had to wake a sleeping reactor. */
int cl_tls_woke_reactor(void);
void cl_tls_set_woke_reactor(int woke);

/* Detaches a thread started with cl_thread_start (nobody will join it). */
int cl_thread_detach(uint64_t thread);

#endif
