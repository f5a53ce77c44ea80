// crochet.hpp - header-only C++17 binding of libcrochet.
//
// libcrochet runs a reactor (event loop) on its own thread; any thread hands
// it a function to call there and gets back an EventualResult to wait on.
// This header wraps the C API (crochet.h) in the same shape as Python's
// crochet:
//
//   crochet::setup();
//   auto r = crochet::submit(add, 20, 22);            // a C function pointer
//   int v  = r.wait(std::chrono::seconds(1));          // 42, or throws
//   auto s = crochet::submit([name] { return "hi " + name; });  // any callable
//   std::string text = s.wait(std::chrono::seconds(1));
//   int w  = crochet::wait_for(std::chrono::seconds(1), add, 1, 2);
//
// Function pointers are called through libffi with argument and return types
// deduced from the pointer's signature: integers up to 64 bits, bool, enums,
// float, double, pointers and void. Any other signature is rejected at
// compile time; wrap such a call in a lambda. Callables (lambdas with
// captures, std::function, ...) may return any movable type; the value comes
// back owned by the result and is destroyed exactly once. A C++ exception
// thrown by a callable fails the call and is rethrown, with its own type, by
// wait().
//
// Errors are exceptions derived from crochet::error (a std::runtime_error
// carrying the CROCHET_E* status): timeout_error, reactor_stopped,
// cancelled_error, call_failed (with the failure's code and traceback).
//
// Build: g++ -std=c++17 ... $(pkg-config --cflags --libs crochet) -pthread
#ifndef CROCHET_HPP
#define CROCHET_HPP

#include <crochet.h>

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <utility>

#if defined(__has_include)
#if __has_include(<cxxabi.h>)
#include <cxxabi.h>
#define CROCHET_HPP_HAVE_CXXABI 1
#endif
#endif

namespace crochet {

// ---------------------------------------------------------------------------
// Failures and errors
// ---------------------------------------------------------------------------

/// Why a call failed: a reference-counted handle to a crochet_failure. An
/// empty handle (no failure) is false in a boolean context.
class failure {
public:
    failure() noexcept = default;
    /// Takes over one reference to `f` (may be NULL).
    explicit failure(crochet_failure *f) noexcept : f_(f) {}
    failure(const failure &o) noexcept : f_(crochet_failure_retain(o.f_)) {}
    failure(failure &&o) noexcept : f_(o.f_) { o.f_ = nullptr; }
    failure &operator=(failure o) noexcept {
        std::swap(f_, o.f_);
        return *this;
    }
    ~failure() { crochet_failure_release(f_); }

    explicit operator bool() const noexcept { return f_ != nullptr; }
    /// crochet_raise's code, or a CROCHET_E* code; 0 when empty.
    int code() const noexcept { return crochet_failure_code(f_); }
    std::string message() const { return crochet_failure_message(f_); }
    /// The frames where the failure was raised, one per line.
    std::string traceback() const { return crochet_failure_traceback(f_); }
    const crochet_failure *native_handle() const noexcept { return f_; }

private:
    crochet_failure *f_ = nullptr;
};

/// Every error this binding throws: a CROCHET_E* status and a message.
class error : public std::runtime_error {
public:
    error(int status, const std::string &what) : std::runtime_error(what), status_(status) {}
    /// The CROCHET_E* status behind the error.
    int status() const noexcept { return status_; }

private:
    int status_;
};

/// No result within the timeout (crochet.TimeoutError). A later wait may
/// still get it.
class timeout_error : public error {
public:
    explicit timeout_error(const std::string &what = "timed out waiting for the result")
        : error(CROCHET_ETIMEDOUT, what) {}
};

/// The reactor stopped; no result will ever come (crochet.ReactorStopped).
class reactor_stopped : public error {
public:
    explicit reactor_stopped(const std::string &what = "the reactor has stopped")
        : error(CROCHET_ESTOPPED, what) {}
};

/// The call was cancelled (Twisted's CancelledError).
class cancelled_error : public error {
public:
    explicit cancelled_error(const std::string &what = "the call was cancelled")
        : error(CROCHET_ECANCELLED, what) {}
};

/// The call failed: crochet_raise, a failed deferred, or a C++ exception
/// seen only through the C API (a result retrieved from the stash).
class call_failed : public error {
public:
    explicit call_failed(failure f)
        : error(CROCHET_EFAILED, f ? f.message() : std::string("the call failed")), failure_(std::move(f)) {}
    /// crochet_raise's (or crochet_deferred_errback's) code.
    int code() const noexcept { return failure_.code(); }
    /// The frames of the thread where the failure was raised.
    std::string traceback() const { return failure_.traceback(); }
    const crochet::failure &original_failure() const noexcept { return failure_; }

private:
    crochet::failure failure_;
};

namespace detail {

[[noreturn]] inline void throw_status(int status, const char *context) {
    std::string what = std::string(context) + ": " + crochet_strerror(status);
    switch (status) {
    case CROCHET_ETIMEDOUT: throw timeout_error(what);
    case CROCHET_ESTOPPED: throw reactor_stopped(what);
    case CROCHET_ECANCELLED: throw cancelled_error(what);
    case CROCHET_ENOMEM: throw std::bad_alloc();
    default: throw error(status, what);
    }
}

inline void check(int status, const char *context) {
    if (status != CROCHET_OK) throw_status(status, context);
}

// ---------------------------------------------------------------------------
// Types the C API carries, mapped to crochet_type tags at compile time
// ---------------------------------------------------------------------------

template <class T> struct dependent_false : std::false_type {};

/// The crochet_type tag of T, or -1 when the C API cannot carry T.
template <class T> constexpr int tag_of() {
    using U = std::remove_cv_t<T>;
    if constexpr (std::is_void_v<U>) {
        return CROCHET_TYPE_VOID;
    } else if constexpr (std::is_same_v<U, bool>) {
        return CROCHET_TYPE_UINT8;
    } else if constexpr (std::is_enum_v<U>) {
        return tag_of<std::underlying_type_t<U>>();
    } else if constexpr (std::is_integral_v<U>) {
        constexpr bool s = std::is_signed_v<U>;
        if constexpr (sizeof(U) == 1) return s ? CROCHET_TYPE_INT8 : CROCHET_TYPE_UINT8;
        else if constexpr (sizeof(U) == 2) return s ? CROCHET_TYPE_INT16 : CROCHET_TYPE_UINT16;
        else if constexpr (sizeof(U) == 4) return s ? CROCHET_TYPE_INT32 : CROCHET_TYPE_UINT32;
        else if constexpr (sizeof(U) == 8) return s ? CROCHET_TYPE_INT64 : CROCHET_TYPE_UINT64;
        else return -1;
    } else if constexpr (std::is_same_v<U, float>) {
        return CROCHET_TYPE_FLOAT;
    } else if constexpr (std::is_same_v<U, double>) {
        return CROCHET_TYPE_DOUBLE;
    } else if constexpr (std::is_pointer_v<U>) {
        return CROCHET_TYPE_POINTER;
    } else {
        return -1;
    }
}

/// Whether T (a value type, or void) travels as a plain crochet_value.
template <class T> constexpr bool is_raw = tag_of<T>() >= 0;

/// Whether T can be a parameter of a function called through the C API.
template <class T> constexpr bool is_argument = !std::is_void_v<T> && tag_of<T>() >= 0;

inline const char *type_name(int tag) {
    static const char *const names[] = {"void",   "int8",   "uint8", "int16",  "uint16",  "int32",   "uint32",
                                        "int64",  "uint64", "float", "double", "pointer", "deferred"};
    return tag >= 0 && tag <= CROCHET_TYPE_DEFERRED ? names[tag] : "unknown";
}

template <class T> crochet_value to_value(T v) noexcept {
    using U = std::remove_cv_t<T>;
    if constexpr (std::is_same_v<U, bool>) {
        return crochet_uint8(v ? 1 : 0);
    } else if constexpr (std::is_enum_v<U>) {
        return to_value<std::underlying_type_t<U>>(static_cast<std::underlying_type_t<U>>(v));
    } else if constexpr (std::is_pointer_v<U>) {
        if constexpr (std::is_function_v<std::remove_pointer_t<U>>)
            return crochet_pointer(reinterpret_cast<void *>(v));
        else
            return crochet_pointer(const_cast<void *>(static_cast<const volatile void *>(v)));
    } else {
        constexpr int tag = tag_of<U>();
        if constexpr (tag == CROCHET_TYPE_INT8) return crochet_int8(static_cast<int8_t>(v));
        else if constexpr (tag == CROCHET_TYPE_UINT8) return crochet_uint8(static_cast<uint8_t>(v));
        else if constexpr (tag == CROCHET_TYPE_INT16) return crochet_int16(static_cast<int16_t>(v));
        else if constexpr (tag == CROCHET_TYPE_UINT16) return crochet_uint16(static_cast<uint16_t>(v));
        else if constexpr (tag == CROCHET_TYPE_INT32) return crochet_int32(static_cast<int32_t>(v));
        else if constexpr (tag == CROCHET_TYPE_UINT32) return crochet_uint32(static_cast<uint32_t>(v));
        else if constexpr (tag == CROCHET_TYPE_INT64) return crochet_int64(static_cast<int64_t>(v));
        else if constexpr (tag == CROCHET_TYPE_UINT64) return crochet_uint64(static_cast<uint64_t>(v));
        else if constexpr (tag == CROCHET_TYPE_FLOAT) return crochet_float(v);
        else if constexpr (tag == CROCHET_TYPE_DOUBLE) return crochet_double(v);
        else static_assert(dependent_false<T>::value, "crochet: this type cannot be passed through the C API");
    }
}

/// The T a crochet_value holds (its tag already checked).
template <class T> T from_value(const crochet_value &v) noexcept {
    using U = std::remove_cv_t<T>;
    if constexpr (std::is_same_v<U, bool>) {
        return v.u.u8 != 0;
    } else if constexpr (std::is_enum_v<U>) {
        return static_cast<U>(from_value<std::underlying_type_t<U>>(v));
    } else if constexpr (std::is_pointer_v<U>) {
        if constexpr (std::is_function_v<std::remove_pointer_t<U>>)
            return reinterpret_cast<U>(v.u.ptr);
        else
            return static_cast<U>(v.u.ptr);
    } else {
        constexpr int tag = tag_of<U>();
        if constexpr (tag == CROCHET_TYPE_INT8) return static_cast<U>(v.u.i8);
        else if constexpr (tag == CROCHET_TYPE_UINT8) return static_cast<U>(v.u.u8);
        else if constexpr (tag == CROCHET_TYPE_INT16) return static_cast<U>(v.u.i16);
        else if constexpr (tag == CROCHET_TYPE_UINT16) return static_cast<U>(v.u.u16);
        else if constexpr (tag == CROCHET_TYPE_INT32) return static_cast<U>(v.u.i32);
        else if constexpr (tag == CROCHET_TYPE_UINT32) return static_cast<U>(v.u.u32);
        else if constexpr (tag == CROCHET_TYPE_INT64) return static_cast<U>(v.u.i64);
        else if constexpr (tag == CROCHET_TYPE_UINT64) return static_cast<U>(v.u.u64);
        else if constexpr (tag == CROCHET_TYPE_FLOAT) return v.u.f32;
        else if constexpr (tag == CROCHET_TYPE_DOUBLE) return v.u.f64;
        else static_assert(dependent_false<T>::value, "crochet: this type cannot come back through the C API");
    }
}

/// What a plain function pointer looks like to submit().
template <class F> struct fn_traits {
    static constexpr bool is_function_pointer = false;
};
template <class R, class... A> struct fn_traits<R (*)(A...)> {
    static constexpr bool is_function_pointer = true;
    static constexpr bool is_variadic = false;
    using result = std::remove_cv_t<R>;
    using params = std::tuple<A...>;
};
template <class R, class... A> struct fn_traits<R (*)(A...) noexcept> : fn_traits<R (*)(A...)> {};
template <class R, class... A> struct fn_traits<R (*)(A..., ...)> : fn_traits<R (*)(A...)> {
    static constexpr bool is_variadic = true;
};
template <class R, class... A> struct fn_traits<R (*)(A..., ...) noexcept> : fn_traits<R (*)(A..., ...)> {};

template <class F> constexpr bool is_function_pointer_v = fn_traits<std::decay_t<F>>::is_function_pointer;

// ---------------------------------------------------------------------------
// Boxed values: what a callable returned, owned by the C result
// ---------------------------------------------------------------------------

struct box_base {
    const std::type_info *type;
};

template <class T> struct box final : box_base {
    template <class... A> explicit box(A &&...a) : box_base{&typeid(T)}, value(std::forward<A>(a)...) {}
    T value;
    std::atomic<bool> taken{false};   // a move-only value was moved out by wait()
    /// crochet_deferred_callback_owned's destroy: runs exactly once.
    static void destroy(void *p) noexcept { delete static_cast<box *>(static_cast<box_base *>(p)); }
};

/// The callable path's task counter, for leak tests.
inline std::atomic<long> &live_task_counter() noexcept {
    static std::atomic<long> n{0};
    return n;
}

// ---------------------------------------------------------------------------
// Tasks: a callable and its arguments, run by a trampoline on the reactor
// ---------------------------------------------------------------------------
//
// submit(callable) heap-allocates a task and submits a trampoline (a plain
// function pointer) with the task's address as its one argument. The task is
// reference counted: every owner (an eventual_result, a stash entry, an
// orphan entry) holds one reference, and the queued call holds one until it
// is settled, exactly once, by whoever learns its fate first:
//   - the trampoline, when the reactor runs it (state pending -> started);
//   - an owner that sees the C result completed while the state is still
//     pending: the engine completes a call it never started only by
//     cancelling it before its turn or by rejecting it at stop, so it never
//     will start (pending -> abandoned);
//   - a reaper queued behind a cancelled call, or the shutdown trigger, for
//     a task whose last owner let go before the call completed (an orphan).
// The exception a callable threw is kept in the task, so wait() rethrows it.

enum : int { task_pending = 0, task_started = 1, task_abandoned = 2 };

struct task_base {
    std::atomic<int> refs{2};           // owners + the queued call
    std::atomic<int> owners{1};
    std::atomic<int> state{task_pending};
    std::atomic<bool> cancel_requested{false};
    std::atomic<bool> orphaning{false}; // the last owner is putting it in the orphan list
    std::exception_ptr error;           // written by the trampoline before the result completes
    // Guarded by the orphan list's mutex.
    bool in_orphans = false;
    task_base *prev = nullptr;
    task_base *next = nullptr;
    crochet_result *orphan_result = nullptr;

    task_base() noexcept { live_task_counter().fetch_add(1, std::memory_order_relaxed); }
    task_base(const task_base &) = delete;
    task_base &operator=(const task_base &) = delete;
    virtual ~task_base() { live_task_counter().fetch_sub(1, std::memory_order_relaxed); }

    void ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
    void unref() noexcept {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }
    void add_owner() noexcept {
        owners.fetch_add(1, std::memory_order_relaxed);
        ref();
    }
};

/// Owners whose last holder let go while the call was still queued.
struct orphan_list {
    std::mutex mutex;
    task_base *head = nullptr;
    bool trigger_registered = false;   // the shutdown trigger, for this process's reactor
    bool fork_handlers = false;
};

inline orphan_list &orphans() noexcept {
    static orphan_list *list = new orphan_list;   // never destroyed: trampolines may run during exit
    return *list;
}

/// Unlinks t (lock held); hands back the orphan entry's result reference.
inline crochet_result *unlink_orphan(orphan_list &l, task_base *t) noexcept {
    if (t->prev) t->prev->next = t->next;
    else l.head = t->next;
    if (t->next) t->next->prev = t->prev;
    t->prev = t->next = nullptr;
    t->in_orphans = false;
    crochet_result *r = t->orphan_result;
    t->orphan_result = nullptr;
    return r;
}

/// Drops an orphan entry: its result reference and its owner reference.
inline void drop_orphan_entry(task_base *t, crochet_result *r) noexcept {
    crochet_result_release(r);
    t->owners.fetch_sub(1, std::memory_order_relaxed);
    t->unref();
}

/// The trampoline's last step: settles the call reference, and drops the
/// orphan entry if the last owner left while the call was queued.
inline void finish_call(task_base *t) noexcept {
    // Pairs with release_owner: it sets `orphaning` and then reads `state`;
    // we stored `started` and now read `orphaning`. One of us sees the other.
    if (t->orphaning.load(std::memory_order_seq_cst)) {
        orphan_list &l = orphans();
        crochet_result *r = nullptr;
        bool entry = false;
        {
            std::lock_guard<std::mutex> lock(l.mutex);
            if (t->in_orphans) {
                r = unlink_orphan(l, t);
                entry = true;
            }
        }
        // The engine holds the running call: releasing r here is safe.
        if (entry) drop_orphan_entry(t, r);
    }
    t->unref();
}

/// Abandons a call that will never start (its state is pending and the
/// engine is done with it); returns whether this thread settled it.
inline bool abandon(task_base *t) noexcept {
    int expected = task_pending;
    if (!t->state.compare_exchange_strong(expected, task_abandoned, std::memory_order_acq_rel)) return false;
    t->unref();   // the call reference
    return true;
}

/// Shutdown trigger (reactor thread, once the loop has stopped turning): a
/// call still queued now is rejected, never run, so pending orphans go.
inline void reap_orphans_at_shutdown(void *) noexcept {
    orphan_list &l = orphans();
    task_base *dropped = nullptr;   // linked through `next`, result kept in `orphan_result`
    {
        std::lock_guard<std::mutex> lock(l.mutex);
        l.trigger_registered = false;
        task_base *t = l.head;
        while (t) {
            task_base *next = t->next;
            if (t->state.load(std::memory_order_acquire) == task_pending) {
                crochet_result *r = unlink_orphan(l, t);
                t->orphan_result = r;
                t->next = dropped;
                dropped = t;
            }
            t = next;
        }
    }
    while (dropped) {
        task_base *t = dropped;
        dropped = t->next;
        crochet_result *r = t->orphan_result;
        t->next = nullptr;
        t->orphan_result = nullptr;
        abandon(t);
        drop_orphan_entry(t, r);
    }
}

/// Reaper queued (after a cancel) behind the call: when it runs, the engine
/// has either started the call or completed it as cancelled.
inline void reap_cancelled_orphan(void *p) noexcept {
    auto *t = static_cast<task_base *>(p);
    orphan_list &l = orphans();
    crochet_result *r = nullptr;
    bool entry = false;
    {
        std::lock_guard<std::mutex> lock(l.mutex);
        if (t->in_orphans && t->state.load(std::memory_order_acquire) == task_pending) {
            r = unlink_orphan(l, t);
            entry = true;
        }
    }
    if (entry) {
        abandon(t);
        drop_orphan_entry(t, r);
    }
    t->unref();   // the reaper's reference
}

/// Registers the shutdown trigger once per reactor (lock held).
inline void ensure_shutdown_trigger(orphan_list &l) noexcept {
    if (!l.fork_handlers) {
        l.fork_handlers = true;
        pthread_atfork([] { orphans().mutex.lock(); }, [] { orphans().mutex.unlock(); },
                       [] {
                           orphans().trigger_registered = false;   // the child gets a fresh reactor
                           orphans().mutex.unlock();
                       });
    }
    if (!l.trigger_registered)
        l.trigger_registered = crochet_add_shutdown_trigger(reap_orphans_at_shutdown, nullptr) == CROCHET_OK;
}

/// An owner lets go of t and of its result reference r.
inline void release_owner(task_base *t, crochet_result *r) noexcept {
    if (t->owners.fetch_sub(1, std::memory_order_acq_rel) != 1) {
        crochet_result_release(r);
        t->unref();
        return;
    }
    // The last owner. If the call never started but its result exists, it
    // never will start (cancelled before its turn, or rejected at stop).
    if (t->state.load(std::memory_order_seq_cst) == task_pending && crochet_original_failure(r) != nullptr)
        abandon(t);
    if (t->state.load(std::memory_order_seq_cst) == task_pending) {
        // Still queued: keep the result in the orphan list until the call
        // runs (the trampoline drops the entry) or is known never to run.
        t->owners.fetch_add(1, std::memory_order_relaxed);
        t->orphaning.store(true, std::memory_order_seq_cst);
        orphan_list &l = orphans();
        bool inserted = false;
        {
            std::lock_guard<std::mutex> lock(l.mutex);
            if (t->state.load(std::memory_order_seq_cst) == task_pending) {
                t->prev = nullptr;
                t->next = l.head;
                if (l.head) l.head->prev = t;
                l.head = t;
                t->in_orphans = true;
                t->orphan_result = r;
                inserted = true;
                ensure_shutdown_trigger(l);
            }
        }
        if (inserted) {
            if (t->cancel_requested.load(std::memory_order_acquire)) {
                // The reaper is queued after the call (it was submitted
                // before this owner existed), so it sees the call's fate.
                t->ref();
                if (crochet_call_from_thread(reap_cancelled_orphan, static_cast<void *>(t)) != CROCHET_OK) t->unref();
            }
            return;
        }
        t->owners.fetch_sub(1, std::memory_order_relaxed);
    }
    crochet_result_release(r);
    t->unref();
}

/// "std::invalid_argument: what()" for the C-level failure message.
inline std::string describe(const std::exception_ptr &e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception &x) {
        std::string name = typeid(x).name();
#ifdef CROCHET_HPP_HAVE_CXXABI
        int status = 0;
        char *demangled = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
        if (demangled && status == 0) name = demangled;
        std::free(demangled);
#endif
        return "C++ exception " + name + ": " + x.what();
    } catch (...) {
        return "C++ exception of an unknown type";
    }
}

/// Fails the running call with the current exception (trampoline only).
inline void raise_exception(task_base *t) noexcept {
    t->error = std::current_exception();
    try {
        crochet_raise(CROCHET_EFAILED, describe(t->error).c_str());
    } catch (...) {
        crochet_raise(CROCHET_EFAILED, "C++ exception");
    }
}

template <class T> using value_t = std::remove_cv_t<std::remove_reference_t<T>>;

template <class R, class F, class... A> struct task final : task_base {
    using V = value_t<R>;
    std::optional<std::tuple<F, A...>> payload;

    template <class G, class... B>
    explicit task(G &&f, B &&...a) : payload(std::in_place, std::forward<G>(f), std::forward<B>(a)...) {}

    decltype(auto) invoke() {
        return std::apply([](F &&f, A &&...a) -> R { return std::invoke(std::move(f), std::move(a)...); },
                          std::move(*payload));
    }

    static task *self(void *p) noexcept { return static_cast<task *>(static_cast<task_base *>(p)); }

    /// Trampoline for a value the C API carries: returned as is.
    static V run_raw(void *p) noexcept {
        task *t = self(p);
        t->state.store(task_started, std::memory_order_seq_cst);
        if constexpr (std::is_void_v<V>) {
            try {
                t->invoke();
            } catch (...) {
                raise_exception(t);
            }
            t->payload.reset();   // captures die on the reactor thread, after the call
            finish_call(t);
        } else {
            V v{};
            try {
                v = t->invoke();
            } catch (...) {
                raise_exception(t);   // the engine ignores the return value
            }
            t->payload.reset();
            finish_call(t);
            return v;
        }
    }

    /// Trampoline for any other value: boxed, and handed to a fired deferred
    /// that owns it (destroyed once, when the last holder lets go).
    static crochet_deferred *run_boxed(void *p) noexcept {
        task *t = self(p);
        t->state.store(task_started, std::memory_order_seq_cst);
        crochet_deferred *d = nullptr;
        try {
            std::unique_ptr<box<V>> b(new box<V>(t->invoke()));
            t->payload.reset();
            int s = crochet_deferred_new(&d, nullptr, nullptr);
            if (s != CROCHET_OK) throw_status(s, "crochet_deferred_new");
            s = crochet_deferred_callback_owned(d, static_cast<box_base *>(b.get()), &box<V>::destroy);
            if (s != CROCHET_OK) throw_status(s, "crochet_deferred_callback_owned");
            b.release();
        } catch (...) {
            crochet_deferred_release(d);
            d = nullptr;
            raise_exception(t);   // the engine ignores the return value
        }
        t->payload.reset();
        finish_call(t);
        return d;
    }
};

/// The stash's C++ side: the task behind a stashed result, so that the
/// retrieved result still rethrows the callable's own exception.
struct stash_map {
    std::mutex mutex;
    std::unordered_map<std::uint64_t, task_base *> tasks;
};

inline stash_map &stashed_tasks() noexcept {
    static stash_map *m = new stash_map;
    return *m;
}

} // namespace detail

// ---------------------------------------------------------------------------
// EventualResult
// ---------------------------------------------------------------------------

/// The eventual outcome of a submitted call (crochet's EventualResult).
/// Movable, not copyable; releases its reference when destroyed. A
/// moved-from result is empty: every operation on it throws crochet::error
/// with status CROCHET_EINVAL. wait, cancel, stash and original_failure may
/// run on several threads at once on one result (e.g. one thread waits while
/// another cancels); moving, assigning or destroying it must not overlap them.
template <class T> class eventual_result {
    static_assert(!std::is_reference_v<T>, "crochet::eventual_result<T>: T must not be a reference");

public:
    using value_type = T;

    eventual_result() noexcept = default;
    /// Takes over one reference to r (and to task, which may be null).
    eventual_result(crochet_result *r, detail::task_base *task) noexcept : r_(r), task_(task) {}
    eventual_result(const eventual_result &) = delete;
    eventual_result &operator=(const eventual_result &) = delete;
    eventual_result(eventual_result &&o) noexcept : r_(std::exchange(o.r_, nullptr)), task_(std::exchange(o.task_, nullptr)) {}
    eventual_result &operator=(eventual_result &&o) noexcept {
        if (this != &o) {
            reset();
            r_ = std::exchange(o.r_, nullptr);
            task_ = std::exchange(o.task_, nullptr);
        }
        return *this;
    }
    ~eventual_result() { reset(); }

    /// Whether this holds a result (false once moved from).
    bool valid() const noexcept { return r_ != nullptr; }
    explicit operator bool() const noexcept { return valid(); }

    /// Waits up to timeout for the result and returns its value, or throws:
    /// timeout_error (a later wait still waits), cancelled_error,
    /// reactor_stopped, call_failed, or the callable's own exception.
    /// Never on the reactor thread (crochet::error, CROCHET_EREACTORTHREAD).
    template <class Rep, class Period> T wait(const std::chrono::duration<Rep, Period> &timeout) const {
        return wait_seconds(std::chrono::duration<double>(timeout).count());
    }

    /// Waits with no time limit.
    T wait() const { return wait_seconds(INFINITY); }

    /// Asks for cancellation and returns at once: a call not yet started
    /// never starts; a deferred being followed is cancelled. The result
    /// always completes.
    void cancel() {
        require("cancel");
        if (task_) task_->cancel_requested.store(true, std::memory_order_release);
        detail::check(crochet_cancel(r_), "crochet::eventual_result::cancel");
    }

    /// Stores a reference in the process-wide store; retrieve it (once) with
    /// crochet::retrieve_result<T>(id). This result stays usable.
    std::uint64_t stash() {
        require("stash");
        std::uint64_t id = 0;
        detail::check(crochet_stash(r_, &id), "crochet::eventual_result::stash");
        if (task_) {
            detail::stash_map &m = detail::stashed_tasks();
            task_->add_owner();
            try {
                std::lock_guard<std::mutex> lock(m.mutex);
                m.tasks.emplace(id, task_);
            } catch (...) {
                crochet_result *back = nullptr;
                if (crochet_retrieve(&back, id) == CROCHET_OK) crochet_result_release(back);
                detail::release_owner(task_, crochet_result_retain(r_));
                throw;
            }
        }
        return id;
    }

    /// The failure, if the result exists and is one; an empty handle if it
    /// succeeded or does not exist yet. Marks the failure as observed.
    failure original_failure() const {
        require("original_failure");
        return failure(crochet_failure_retain(crochet_original_failure(r_)));
    }

    /// The C handle (borrowed).
    crochet_result *native_handle() const noexcept { return r_; }

private:
    void require(const char *what) const {
        if (!r_)
            throw error(CROCHET_EINVAL, std::string("crochet::eventual_result::") + what +
                                            ": this result is empty (moved from)");
    }

    void reset() noexcept {
        if (task_) detail::release_owner(task_, r_);
        else crochet_result_release(r_);
        r_ = nullptr;
        task_ = nullptr;
    }

    T wait_seconds(double seconds) const {
        require("wait");
        crochet_value v;
        v.type = CROCHET_TYPE_VOID;
        v.u.u64 = 0;
        int s = crochet_wait(r_, seconds, &v);
        if (s != CROCHET_OK) fail(s);
        return extract(v);
    }

    [[noreturn]] void fail(int s) const {
        switch (s) {
        case CROCHET_EFAILED:
            if (task_ && task_->error) std::rethrow_exception(task_->error);
            throw call_failed(failure(crochet_failure_retain(crochet_original_failure(r_))));
        case CROCHET_ECANCELLED:
        case CROCHET_ESTOPPED: {
            failure f(crochet_failure_retain(crochet_original_failure(r_)));
            std::string what = f ? f.message() : std::string(crochet_strerror(s));
            if (s == CROCHET_ECANCELLED) throw cancelled_error(what);
            throw reactor_stopped(what);
        }
        default:
            detail::throw_status(s, "crochet::eventual_result::wait");
        }
    }

    static T extract(const crochet_value &v) {
        if constexpr (std::is_void_v<T>) {
            (void)v;
        } else if constexpr (detail::is_raw<T>) {
            constexpr int tag = detail::tag_of<T>();
            if (v.type != tag)
                throw error(CROCHET_EINVAL, std::string("crochet::eventual_result::wait: the result is a ") +
                                                detail::type_name(v.type) + ", not a " + detail::type_name(tag));
            return detail::from_value<T>(v);
        } else {
            if (v.type != CROCHET_TYPE_POINTER || !v.u.ptr)
                throw error(CROCHET_EINVAL, std::string("crochet::eventual_result::wait: the result is a ") +
                                                detail::type_name(v.type) + ", not a boxed C++ value");
            auto *base = static_cast<detail::box_base *>(v.u.ptr);
            if (*base->type != typeid(T))
                throw error(CROCHET_EINVAL, "crochet::eventual_result::wait: the result holds another C++ type");
            auto *b = static_cast<detail::box<T> *>(base);
            if constexpr (std::is_copy_constructible_v<T>) {
                return b->value;
            } else {
                if (b->taken.exchange(true, std::memory_order_acq_rel))
                    throw error(CROCHET_EALREADY,
                                "crochet::eventual_result::wait: the move-only value was already moved out");
                return std::move(b->value);
            }
        }
    }

    crochet_result *r_ = nullptr;
    detail::task_base *task_ = nullptr;
};

/// Takes a stashed result out of the process-wide store (crochet's
/// retrieve_result). T must be the stashed result's type. Throws
/// crochet::error with CROCHET_ENOTFOUND for an unknown or retrieved id.
template <class T> eventual_result<T> retrieve_result(std::uint64_t id) {
    crochet_result *r = nullptr;
    detail::check(crochet_retrieve(&r, id), "crochet::retrieve_result");
    detail::task_base *task = nullptr;
    detail::stash_map &m = detail::stashed_tasks();
    {
        std::lock_guard<std::mutex> lock(m.mutex);
        auto it = m.tasks.find(id);
        if (it != m.tasks.end()) {
            task = it->second;
            m.tasks.erase(it);
        }
    }
    return eventual_result<T>(r, task);
}

// ---------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------

/// crochet.setup(): starts the reactor on a library thread (idempotent).
inline void setup() {
    detail::check(crochet_setup(), "crochet::setup");
    std::lock_guard<std::mutex> lock(detail::orphans().mutex);
    detail::ensure_shutdown_trigger(detail::orphans());
}

/// crochet.no_setup(): run the reactor yourself with crochet::run().
/// Throws crochet::error (CROCHET_ESTATE) after setup() or a second call.
inline void no_setup() {
    detail::check(crochet_no_setup(), "crochet::no_setup");
    std::lock_guard<std::mutex> lock(detail::orphans().mutex);
    detail::ensure_shutdown_trigger(detail::orphans());
}

/// After no_setup(), runs the reactor on this thread until stop().
inline void run() { detail::check(crochet_run(), "crochet::run"); }

/// Stops the reactor (any thread, returns at once); pending results
/// complete with reactor_stopped.
inline void stop() { detail::check(crochet_stop(), "crochet::stop"); }

/// Whether the calling thread is the reactor thread.
inline bool in_reactor_thread() noexcept { return crochet_in_reactor_thread() != 0; }

// ---------------------------------------------------------------------------
// submit / wait_for
// ---------------------------------------------------------------------------

namespace detail {

template <class P, class A> constexpr bool convertible_v = std::is_convertible_v<A, P>;

template <class Params, class... Args> struct args_fit : std::false_type {};
template <class... P, class... Args>
struct args_fit<std::tuple<P...>, Args...> : std::bool_constant<(convertible_v<P, Args> && ...)> {};

template <class Fp> struct fn_checks {
    using traits = fn_traits<Fp>;
    using R = typename traits::result;
    template <class... P> static constexpr bool all_arguments(std::tuple<P...> *) { return (is_argument<P> && ...); }
    static constexpr bool params_ok = all_arguments(static_cast<typename traits::params *>(nullptr));
    static constexpr bool result_ok = is_raw<R>;
    static constexpr std::size_t arity = std::tuple_size_v<typename traits::params>;
};

/// Packs args into crochet_values of the function's parameter types.
template <class... P, class... Args>
void pack(crochet_value *out, std::tuple<P...> *, Args &&...args) {
    std::size_t i = 0;
    ((out[i++] = to_value<P>(static_cast<P>(std::forward<Args>(args)))), ...);
    (void)out;
    (void)i;
}

template <class Fp, class... Args> constexpr bool check_function_pointer() {
    using C = fn_checks<Fp>;
    static_assert(!fn_traits<Fp>::is_variadic,
                  "crochet::submit: a variadic C function cannot be called through the C API; "
                  "wrap the call in a lambda");
    static_assert(!std::is_same_v<typename C::R, crochet_deferred *>,
                  "crochet::submit: this function returns a crochet_deferred*; "
                  "use crochet::submit_deferred<T>(f, args...) to follow it");
    static_assert(C::params_ok,
                  "crochet::submit: a parameter type of this function cannot be passed through the C API "
                  "(only integers up to 64 bits, bool, enums, float, double and pointers can); "
                  "wrap the call in a lambda instead");
    static_assert(C::result_ok,
                  "crochet::submit: the return type of this function cannot come back through the C API "
                  "(only void, integers up to 64 bits, bool, enums, float, double and pointers can); "
                  "wrap the call in a lambda instead");
    static_assert(C::arity == sizeof...(Args), "crochet::submit: wrong number of arguments for this function");
    static_assert(C::arity <= CROCHET_MAX_ARGS, "crochet::submit: more than CROCHET_MAX_ARGS (32) parameters");
    return !fn_traits<Fp>::is_variadic && !std::is_same_v<typename C::R, crochet_deferred *> && C::params_ok &&
           C::result_ok && C::arity == sizeof...(Args) && C::arity <= CROCHET_MAX_ARGS;
}

template <class Fp, class... Args> constexpr bool arguments_convert() {
    if constexpr (std::tuple_size_v<typename fn_traits<Fp>::params> == sizeof...(Args)) {
        constexpr bool ok = args_fit<typename fn_traits<Fp>::params, Args...>::value;
        static_assert(ok, "crochet::submit: an argument does not convert to the function's parameter type");
        return ok;
    } else {
        return false;
    }
}

/// Submits a function pointer (result type tag given) with its arguments.
template <class Fp, class... Args>
crochet_result *submit_function(int return_tag, Fp f, Args &&...args) {
    using params = typename fn_traits<Fp>::params;
    crochet_value values[sizeof...(Args) + 1] = {};
    pack(values, static_cast<params *>(nullptr), std::forward<Args>(args)...);
    crochet_result *r = nullptr;
    check(crochet_submit(&r, reinterpret_cast<crochet_fn>(f), static_cast<crochet_type>(return_tag), values,
                         sizeof...(Args)),
          "crochet::submit");
    return r;
}

template <class F, class... Args> struct callable_traits {
    using Fn = std::decay_t<F>;
    static constexpr bool invocable = std::is_invocable_v<Fn, std::decay_t<Args>...>;
    using R = typename std::conditional_t<invocable, std::invoke_result<Fn, std::decay_t<Args>...>,
                                          std::enable_if<true, void>>::type;
    using V = value_t<R>;
};

template <class F, class... Args> auto submit_callable(F &&f, Args &&...args) {
    using CT = callable_traits<F, Args...>;
    using R = typename CT::R;
    using V = typename CT::V;
    static_assert(CT::invocable, "crochet::submit: the callable cannot be called with these arguments");
    static_assert(std::is_void_v<V> || std::is_constructible_v<V, R>,
                  "crochet::submit: the callable must return a movable value (or a reference to a copyable one)");
    static_assert(!std::is_same_v<V, crochet_deferred *>,
                  "crochet::submit: a callable returning crochet_deferred* is not followed; "
                  "use crochet::submit_deferred<T> with a function pointer");
    if constexpr (!CT::invocable || !(std::is_void_v<V> || std::is_constructible_v<V, R>) ||
                  std::is_same_v<V, crochet_deferred *>) {
        return eventual_result<V>();
    } else {
        using task_t = task<R, std::decay_t<F>, std::decay_t<Args>...>;
        auto *t = new task_t(std::forward<F>(f), std::forward<Args>(args)...);
        crochet_value arg = crochet_pointer(static_cast<task_base *>(t));
        crochet_result *r = nullptr;
        int s;
        if constexpr (is_raw<V>)
            s = crochet_submit(&r, reinterpret_cast<crochet_fn>(&task_t::run_raw),
                               static_cast<crochet_type>(tag_of<V>()), &arg, 1);
        else
            s = crochet_submit(&r, reinterpret_cast<crochet_fn>(&task_t::run_boxed), CROCHET_TYPE_DEFERRED, &arg, 1);
        if (s != CROCHET_OK) {
            delete static_cast<task_base *>(t);
            throw_status(s, "crochet::submit");
        }
        return eventual_result<V>(r, t);
    }
}

template <class Fp> using fn_result_t = typename fn_traits<Fp>::result;

} // namespace detail

/// crochet's run_in_reactor: queues f(args...) to run on the reactor thread
/// and returns at once with its eventual_result.
///
/// A plain function pointer is called through libffi with the types of its
/// signature (arguments convert to the parameter types here); its result
/// is an eventual_result<R> of its return type R. Any other callable is
/// decay-copied with its arguments (like std::thread) and invoked on the
/// reactor thread; it may return any movable type, and what it throws is
/// rethrown by wait(). Throws reactor_stopped after stop(), crochet::error
/// (CROCHET_ESTATE) before setup()/no_setup().
template <class F, class... Args> auto submit(F &&f, Args &&...args) {
    if constexpr (detail::is_function_pointer_v<F>) {
        using Fp = std::decay_t<F>;
        using R = detail::fn_result_t<Fp>;
        if constexpr (!detail::check_function_pointer<Fp, Args...>() || !detail::arguments_convert<Fp, Args...>()) {
            return eventual_result<std::conditional_t<detail::is_raw<R>, R, void>>();
        } else {
            Fp fp = f;
            if (!fp) throw error(CROCHET_EINVAL, "crochet::submit: null function pointer");
            crochet_result *r = detail::submit_function(detail::tag_of<R>(), fp, std::forward<Args>(args)...);
            return eventual_result<R>(r, nullptr);
        }
    } else {
        return detail::submit_callable(std::forward<F>(f), std::forward<Args>(args)...);
    }
}

/// Submits a function pointer that returns a crochet_deferred* (handing
/// its reference over); the result follows the deferred and has type T
/// (void, or a type the C API carries: the type the deferred fires with).
/// cancel() cancels that deferred.
template <class T, class F, class... Args> eventual_result<T> submit_deferred(F &&f, Args &&...args) {
    static_assert(detail::is_raw<T>, "crochet::submit_deferred<T>: T must be void or a type the C API carries");
    static_assert(detail::is_function_pointer_v<F>, "crochet::submit_deferred: f must be a plain function pointer");
    using Fp = std::decay_t<F>;
    static_assert(std::is_same_v<detail::fn_result_t<Fp>, crochet_deferred *>,
                  "crochet::submit_deferred: f must return crochet_deferred*");
    static_assert(detail::fn_checks<Fp>::params_ok,
                  "crochet::submit_deferred: a parameter type of this function cannot be passed through the C API");
    static_assert(detail::fn_checks<Fp>::arity == sizeof...(Args),
                  "crochet::submit_deferred: wrong number of arguments for this function");
    Fp fp = f;
    if (!fp) throw error(CROCHET_EINVAL, "crochet::submit_deferred: null function pointer");
    return eventual_result<T>(detail::submit_function(CROCHET_TYPE_DEFERRED, fp, std::forward<Args>(args)...), nullptr);
}

/// crochet's wait_for: submits f(args...) as submit() does and waits up to
/// timeout; on timeout the call is cancelled and timeout_error thrown. On
/// the reactor thread it throws crochet::error (CROCHET_EREACTORTHREAD)
/// without submitting anything.
template <class Rep, class Period, class F, class... Args>
auto wait_for(const std::chrono::duration<Rep, Period> &timeout, F &&f, Args &&...args) {
    double seconds = std::chrono::duration<double>(timeout).count();
    if constexpr (detail::is_function_pointer_v<F>) {
        using Fp = std::decay_t<F>;
        using R = detail::fn_result_t<Fp>;
        if constexpr (!detail::check_function_pointer<Fp, Args...>() || !detail::arguments_convert<Fp, Args...>()) {
            return;
        } else {
            Fp fp = f;
            if (!fp) throw error(CROCHET_EINVAL, "crochet::wait_for: null function pointer");
            crochet_value values[sizeof...(Args) + 1] = {};
            detail::pack(values, static_cast<typename detail::fn_traits<Fp>::params *>(nullptr),
                         std::forward<Args>(args)...);
            crochet_value v;
            v.type = CROCHET_TYPE_VOID;
            v.u.u64 = 0;
            crochet_failure *fl = nullptr;
            int s = crochet_wait_for(&v, &fl, seconds, reinterpret_cast<crochet_fn>(fp),
                                     static_cast<crochet_type>(detail::tag_of<R>()), values, sizeof...(Args));
            failure why(fl);
            switch (s) {
            case CROCHET_OK:
                break;
            case CROCHET_EFAILED:
                throw call_failed(std::move(why));
            case CROCHET_ECANCELLED:
                throw cancelled_error(why ? why.message() : std::string(crochet_strerror(s)));
            case CROCHET_ESTOPPED:
                throw reactor_stopped(why ? why.message() : std::string(crochet_strerror(s)));
            default:
                detail::throw_status(s, "crochet::wait_for");
            }
            if constexpr (!std::is_void_v<R>) return detail::from_value<R>(v);
        }
    } else {
        if (crochet_in_reactor_thread())
            detail::throw_status(CROCHET_EREACTORTHREAD, "crochet::wait_for");
        auto r = detail::submit_callable(std::forward<F>(f), std::forward<Args>(args)...);
        try {
            return r.wait(timeout);
        } catch (const timeout_error &) {
            r.cancel();
            throw;
        }
    }
}

/// The runtime library's version string.
inline const char *version() noexcept { return crochet_version(); }

} // namespace crochet

#endif // CROCHET_HPP
