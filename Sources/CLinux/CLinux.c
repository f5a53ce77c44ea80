#define _GNU_SOURCE
#include "CLinux.h"

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int64_t cl_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int cl_futex_wait(uint32_t *addr, uint32_t expected, int64_t deadline_ns) {
    struct timespec ts, *tsp = NULL;
    if (deadline_ns >= 0) {
        ts.tv_sec = deadline_ns / 1000000000;
        ts.tv_nsec = deadline_ns % 1000000000;
        tsp = &ts;
    }
    long rc = syscall(SYS_futex, addr, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected, tsp,
                      NULL, FUTEX_BITSET_MATCH_ANY);
    if (rc == 0) return 0;
    if (errno == ETIMEDOUT) return -1;
    if (errno == EAGAIN) return 1;
    return 0; /* EINTR: let the caller re-check */
}

void cl_futex_wake(uint32_t *addr, int count) {
    syscall(SYS_futex, addr, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, count, NULL, NULL, 0);
}

/* initial-exec: a plain %fs-relative load instead of a __tls_get_addr call
 * on every submit; 24 bytes fit in the static TLS surplus even when the
 * library is dlopen'ed (Python's ctypes). */
#define CL_TLS static _Thread_local __attribute__((tls_model("initial-exec")))
CL_TLS void *tls_current_call;
CL_TLS void *tls_reactor;
CL_TLS void *tls_last_interface;
void *cl_tls_last_interface(void) { return tls_last_interface; }
void cl_tls_set_last_interface(void *interface) { tls_last_interface = interface; }
void *cl_tls_current_call(void) { return tls_current_call; }
void cl_tls_set_current_call(void *call) { tls_current_call = call; }
void *cl_tls_reactor(void) { return tls_reactor; }
void cl_tls_set_reactor(void *reactor) { tls_reactor = reactor; }

int cl_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cl_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

int cl_epoll_wait(int epfd, uint32_t *events, uint64_t *data, int max, int64_t timeout_ns) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n;
#ifdef SYS_epoll_pwait2
    static int have_pwait2 = 1;
    if (have_pwait2) {
        struct timespec ts = { timeout_ns / 1000000000, timeout_ns % 1000000000 };
        n = (int)syscall(SYS_epoll_pwait2, epfd, evs, max, timeout_ns < 0 ? NULL : &ts, NULL, 0);
        if (n < 0 && errno == ENOSYS) have_pwait2 = 0; else goto done;
    }
#endif
    n = epoll_wait(epfd, evs, max, timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999) / 1000000));
done:
    if (n < 0) return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++) {
        events[i] = evs[i].events;
        data[i] = evs[i].data.u64;
    }
    return n;
}

int cl_eventfd_create(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

void cl_eventfd_signal(int fd) {
    uint64_t one = 1;
    ssize_t rc;
    do { rc = write(fd, &one, sizeof one); } while (rc < 0 && errno == EINTR);
}

void cl_eventfd_drain(int fd) {
    uint64_t v;
    ssize_t rc;
    do { rc = read(fd, &v, sizeof v); } while (rc < 0 && errno == EINTR);
}

int cl_fd_is_open(int fd) { return fd >= 0 && fcntl(fd, F_GETFD) != -1; }

int cl_getrandom(void *buf, size_t len) {
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static const char *demangled(const char *name, char **to_free);

/* A frame of its own (never a tail call into backtrace), as the skip counts
 * of cl_format_frames' callers assume. */
#if defined(__has_attribute) && __has_attribute(disable_tail_calls)
__attribute__((noinline, disable_tail_calls))
#else
__attribute__((noinline, optimize("no-optimize-sibling-calls")))
#endif
int cl_capture_frames(void **frames, int max) { return backtrace(frames, max); }

char *cl_format_frames(void *const *frames, int n, int skip) {
    size_t cap = 256, len = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    out[0] = 0;
    /* Frames inside this library (crochet_raise and the engine under it)
     * say nothing to the user: skip the innermost ones, and print the rest
     * as one marker line each run. */
    Dl_info self;
    void *self_base = dladdr((void *)cl_format_frames, &self) ? self.dli_fbase : NULL;
    int first = skip + 1;
    while (first < n) {
        Dl_info info;
        if (!(dladdr(frames[first], &info) && info.dli_fbase == self_base)) break;
        first++;
    }
    int in_library_run = 0, shown = 0;
    for (int i = first; i < n; i++) {
        char line[512];
        Dl_info info;
        memset(&info, 0, sizeof info);
        int known = dladdr(frames[i], &info);
        if (known && self_base && info.dli_fbase == self_base) {
            if (in_library_run) continue;
            in_library_run = 1;
            snprintf(line, sizeof line, "#%-2d (libcrochet)\n", shown);
        } else if ((in_library_run = 0), known && info.dli_sname) {
            char *to_free;
            const char *name = demangled(info.dli_sname, &to_free);
            snprintf(line, sizeof line, "#%-2d %p in %s+0x%lx (%s)\n", shown, frames[i],
                     name, (unsigned long)((char *)frames[i] - (char *)info.dli_saddr),
                     info.dli_fname ? info.dli_fname : "?");
            free(to_free);
        } else if (info.dli_fname) {
            snprintf(line, sizeof line, "#%-2d %p in ?? (%s+0x%lx)\n", shown, frames[i],
                     info.dli_fname, (unsigned long)((char *)frames[i] - (char *)info.dli_fbase));
        } else {
            snprintf(line, sizeof line, "#%-2d %p in ??\n", shown, frames[i]);
        }
        shown++;
        size_t l = strlen(line);
        if (len + l + 1 > cap) {
            while (len + l + 1 > cap) cap *= 2;
            char *grown = realloc(out, cap);
            if (!grown) break;
            out = grown;
        }
        memcpy(out + len, line, l + 1);
        len += l;
    }
    return out;
}

/* The C++ ABI's demangler (libstdc++, which the Swift runtime needs anyway). */
extern char *__cxa_demangle(const char *mangled, char *buffer, size_t *length, int *status);

static const char *demangled(const char *name, char **to_free) {
    *to_free = NULL;
    if (name && name[0] == '_' && name[1] == 'Z') {
        int status = 0;
        char *d = __cxa_demangle(name, NULL, NULL, &status);
        if (d && status == 0) {
            *to_free = d;
            return d;
        }
        free(d);
    }
    return name;
}

/* Library threads block SIGPIPE only (a write to a broken pipe or socket on
 * them returns EPIPE instead of ending the process), and only while SIGPIPE
 * would end the process: a process that ignores it (Python does) has
 * nothing to fear, and its children keep a clean mask. Every other signal is
 * as in the thread that started them. A process forked on a library thread
 * gets the starter's SIGPIPE back (the atfork child handler below), so it
 * runs what it execs with the mask it would have had. (General-dynamic TLS:
 * read only at thread start and in fork children.) */
static _Thread_local int pipe_blocked_by_us;

static void unblock_pipe_in_child(void) {
    if (!pipe_blocked_by_us) return;
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_UNBLOCK, &pipe, NULL);
    pipe_blocked_by_us = 0;
}

static pthread_once_t child_handler_once = PTHREAD_ONCE_INIT;
static void register_child_handler(void) { pthread_atfork(NULL, NULL, unblock_pipe_in_child); }

struct thread_start { void *(*fn)(void *); void *arg; int pipe_was_blocked; };

static void *thread_trampoline(void *p) {
    struct thread_start start = *(struct thread_start *)p;
    free(p);
    pipe_blocked_by_us = !start.pipe_was_blocked;
    return start.fn(start.arg);
}

int cl_thread_start(uint64_t *thread_out, void *(*fn)(void *), void *arg) {
    pthread_once(&child_handler_once, register_child_handler);
    struct thread_start *start = malloc(sizeof *start);
    if (!start) return ENOMEM;
    sigset_t pipe, old;
    sigemptyset(&pipe);
    struct sigaction action;
    if (sigaction(SIGPIPE, NULL, &action) != 0 || action.sa_handler != SIG_IGN) sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &old);
    /* "Was blocked" also when we did not block it: nothing to give back. */
    *start = (struct thread_start){ fn, arg, sigismember(&old, SIGPIPE) == 1 || !sigismember(&pipe, SIGPIPE) };
    pthread_t t;
    int rc = pthread_create(&t, NULL, thread_trampoline, start);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0) *thread_out = (uint64_t)t;
    else free(start);
    return rc;
}

int cl_thread_join(uint64_t thread, int64_t timeout_ns) {
    if (timeout_ns < 0) return pthread_join((pthread_t)thread, NULL);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t t = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + timeout_ns;
    ts.tv_sec = t / 1000000000;
    ts.tv_nsec = t % 1000000000;
    return pthread_timedjoin_np((pthread_t)thread, NULL, &ts);
}

uint64_t cl_thread_self(void) { return (uint64_t)pthread_self(); }

int cl_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void)) {
    return pthread_atfork(prepare, parent, child);
}

int cl_atexit(void (*fn)(void)) { return atexit(fn); }

void cl_write_stderr(const char *text) {
    size_t len = strlen(text);
    while (len > 0) {
        ssize_t n = write(2, text, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        text += n;
        len -= (size_t)n;
    }
}

struct cl_monitor {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
};

static void monitor_init(cl_monitor *m) {
    pthread_mutex_init(&m->mutex, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cond, &attr);
    pthread_condattr_destroy(&attr);
}

cl_monitor *cl_monitor_new(void) {
    cl_monitor *m = malloc(sizeof *m);
    if (m) monitor_init(m);
    return m;
}

void cl_monitor_lock(cl_monitor *m) { pthread_mutex_lock(&m->mutex); }
void cl_monitor_unlock(cl_monitor *m) { pthread_mutex_unlock(&m->mutex); }

int cl_monitor_wait(cl_monitor *m, int64_t deadline_ns) {
    if (deadline_ns < 0) {
        pthread_cond_wait(&m->cond, &m->mutex);
        return 0;
    }
    struct timespec ts = { deadline_ns / 1000000000, deadline_ns % 1000000000 };
    return pthread_cond_timedwait(&m->cond, &m->mutex, &ts) == ETIMEDOUT ? -1 : 0;
}

void cl_monitor_broadcast(cl_monitor *m) { pthread_cond_broadcast(&m->cond); }
void cl_monitor_signal(cl_monitor *m) { pthread_cond_signal(&m->cond); }

void cl_monitor_reinit(cl_monitor *m) { monitor_init(m); }

/* ---- other copies of the library in this process ------------------------ */

#include <link.h>

struct copy_search {
    void *self_base;
    char *other;
    size_t other_size;
    int found;
};

static int look_for_copy(struct dl_phdr_info *info, size_t size, void *p) {
    (void)size;
    struct copy_search *search = p;
    if (info->dlpi_name == NULL || info->dlpi_name[0] == 0) return 0;
    void *handle = dlopen(info->dlpi_name, RTLD_LAZY | RTLD_NOLOAD);
    if (handle == NULL) return 0;
    void *entry = dlsym(handle, "crochet_setup");
    Dl_info where;
    /* An object exporting crochet_setup itself (not through a dependency)
     * that is not this copy. */
    if (entry != NULL && dladdr(entry, &where) && where.dli_fbase != search->self_base
        && where.dli_fbase == (void *)info->dlpi_addr) {
        snprintf(search->other, search->other_size, "%s", info->dlpi_name);
        search->found = 1;
    }
    dlclose(handle);
    return search->found;
}

int cl_find_other_copy(char *self, size_t self_size, char *other, size_t other_size) {
    Dl_info me;
    if (!dladdr((void *)cl_find_other_copy, &me)) return 0;
    snprintf(self, self_size, "%s", me.dli_fname ? me.dli_fname : "?");
    struct copy_search search = { me.dli_fbase, other, other_size, 0 };
    dl_iterate_phdr(look_for_copy, &search);
    return search.found;
}

/* ---- diagnostics ----------------------------------------------------------- */

uint32_t cl_coarse_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    return (uint32_t)((uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u);
}

char *cl_symbol_name(const void *address) {
    Dl_info info;
    memset(&info, 0, sizeof info);
    char text[512];
    if (dladdr(address, &info) && info.dli_sname) {
        char *to_free;
        const char *name = demangled(info.dli_sname, &to_free);
        if (info.dli_saddr == address) {
            snprintf(text, sizeof text, "%s", name);
        } else {
            snprintf(text, sizeof text, "%s+0x%lx", name,
                     (unsigned long)((const char *)address - (const char *)info.dli_saddr));
        }
        free(to_free);
    } else if (info.dli_fname) {
        snprintf(text, sizeof text, "%p (%s+0x%lx)", address, info.dli_fname,
                 (unsigned long)((const char *)address - (const char *)info.dli_fbase));
    } else {
        snprintf(text, sizeof text, "%p", address);
    }
    return strdup(text);
}

CL_TLS uint64_t *submit_slot;

uint64_t *cl_tls_submit_slot(void) { return submit_slot; }
void cl_tls_set_submit_slot(uint64_t *slot) { submit_slot = slot; }

CL_TLS int woke_reactor;
int cl_tls_woke_reactor(void) { return woke_reactor; }
void cl_tls_set_woke_reactor(int woke) { woke_reactor = woke; }

int cl_thread_detach(uint64_t thread) { return pthread_detach((pthread_t)thread); }
