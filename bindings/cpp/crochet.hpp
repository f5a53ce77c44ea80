// crochet.hpp - header-only C++17 binding of libcrochet (C ABI 0.2).
//
// libcrochet runs a reactor (event loop) on its own thread; any thread hands
// it a function to call there and gets back an EventualResult to wait on.
// This header wraps the C API (crochet.h) in the same shape as Python's
// crochet:
//
//   crochet::setup();
//   auto r = crochet::submit(add, 20, 22);            // a C or C++ function
//   int v  = r.wait(std::chrono::seconds(1));          // 42, or throws
//   auto s = crochet::submit([name] { return "hi " + name; });  // any callable
//   std::string text = s.wait(std::chrono::seconds(1));
//   int w  = crochet::wait_for(std::chrono::seconds(1), add, 1, 2);
//
// Every callable - a function pointer, a lambda, a std::function - is copied
// with its arguments (decay-copied, like std::thread) into one heap task and
// handed to crochet_submit_closure with a trampoline and a destroy function.
// The trampoline calls it on the reactor thread, catches what it throws (the
// call fails, and wait() rethrows the exception with its own type), and
// returns the value to the engine: a value the C API carries (integers up to
// 64 bits, bool, enums, float, double, pointers, void) as is; any other
// movable value boxed and owned by the result (destroyed exactly once, when
// the last holder lets go); a crochet::deferred<T> to be followed.
//
// LIFETIMES. The binding keeps no bookkeeping of its own: the engine calls
// the task's destroy exactly once, when the call can never run again (it
// ran, was cancelled before its turn, was rejected at stop, or submit
// failed), and destroy deletes the task with its captures on the reactor
// thread. That is all the lifetime logic there is.
//
// REFERENCES AND TIMEOUTS - READ THIS. A call that has started cannot be
// interrupted. crochet::wait_for therefore, on a timeout, cancels the call:
// one that had not started never starts and wait_for throws timeout_error at
// once; but one that is RUNNING (or following a deferred it returned) is
// WAITED FOR, WITHOUT LIMIT, until it has settled (returned, or its deferred
// was cancelled and fired) before timeout_error is thrown. The timeout may
// be overshot by as long as the running call takes to return; in exchange a
// lambda capturing the caller's locals by reference ([&]) or a pointer
// argument to them is never used after wait_for returned. crochet::submit gives no such guarantee: the
// call runs after its eventual_result was dropped or timed out (crochet's
// semantics, and std::thread's), so a callable given to submit must own what
// it uses (capture by value, shared_ptr) exactly as with std::thread. And a
// deferred a call returns may keep running work after a timeout until its
// canceller stops it: a canceller must stop everything that uses the
// caller's frame.
//
// Errors are exceptions derived from crochet::error (a std::runtime_error
// carrying the CROCHET_E* status): timeout_error, reactor_stopped,
// cancelled_error, call_failed (with the failure's code and traceback),
// again_error (a configured bound was reached).
//
// OPERABILITY. eventual_result::info() says where a call is (queued, running,
// waiting on a deferred, done), for how long, and what it runs; a
// timeout_error's what() says the same at the moment the wait gave up
// ("crochet::wait_for(0.05 s) timed out: `fetch_page` has been running for
// 2.00 s on the reactor thread (queued 3 ms)"), and its info() keeps the facts.
// crochet::stats() reads the reactor's counters; set_stall_warning,
// set_max_queued and set_stash_limit configure the watchdog and the bounds.
// Calls are named for these diagnostics without a per-call allocation: a C
// or C++ function pointer by its symbol (looked up once per function, with
// dladdr: link with -rdynamic to name your own functions), any other
// callable by its demangled type (once per type: g++ says
// "main::{lambda()#1}", clang "main::$_0"), or by a name
// you give: crochet::submit(crochet::named("fetch_page"), f, args...), also
// for wait_for; the name must live as long as the process (a literal).
//
// Build: g++ -std=c++17 ... $(pkg-config --cflags --libs crochet) -pthread
#ifndef CROCHET_HPP
#define CROCHET_HPP

#include <crochet.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <utility>

#include <dlfcn.h>

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

/// Where a call is (crochet_call_state).
enum class call_state : int {
    queued = CROCHET_STATE_QUEUED,     ///< submitted, not started
    running = CROCHET_STATE_RUNNING,   ///< its function runs on the reactor thread (or a worker)
    waiting = CROCHET_STATE_WAITING,   ///< its function returned a deferred that has not fired
    done = CROCHET_STATE_DONE,         ///< the result exists
};

namespace detail {
/// Seconds as the library's diagnoses say them: "2.00 s", "3 ms", "less than 4 ms".
inline std::string seconds_text(double s) {
    char buf[64];
    if (s >= 1) std::snprintf(buf, sizeof buf, "%.2f s", std::floor(s * 100) / 100);
    else if (s * 1000 < 4) return "less than 4 ms";   // the coarse clock's resolution
    else std::snprintf(buf, sizeof buf, "%d ms", static_cast<int>(s * 1000));
    return buf;
}
} // namespace detail

/// The facts of one call (crochet_result_get_info), copied out of the result.
/// Times come from a coarse clock: a few milliseconds of resolution.
struct call_info {
    call_state state = call_state::queued;
    double queued_seconds = 0;    ///< submit -> start (so far, while queued)
    double running_seconds = 0;   ///< start -> done (so far, while running or waiting)
    std::string function;         ///< the name given, the function's symbol, the callable's type, or an address

    /// The facts as one sentence, as timeout errors say them: "`fetch_page`
    /// has been running for 2.00 s on the reactor thread (queued 3 ms)".
    std::string describe() const {
        using detail::seconds_text;
        std::string what = "`" + function + "`";
        switch (state) {
        case call_state::queued:
            return what + " has not started: queued for " + seconds_text(queued_seconds) +
                   " behind other work on the reactor thread";
        case call_state::running:
            return what + " has been running for " + seconds_text(running_seconds) +
                   " on the reactor thread (queued " + seconds_text(queued_seconds) + ")";
        case call_state::waiting:
            return what + " returned a deferred that has not fired for " + seconds_text(running_seconds) +
                   " (queued " + seconds_text(queued_seconds) + ")";
        case call_state::done:
        default:
            return what + " is done (queued " + seconds_text(queued_seconds) + ", ran " +
                   seconds_text(running_seconds) + ")";
        }
    }
};

/// A name for a call's diagnostics (eventual_result::info, timeout_error,
/// the stall warning): crochet::submit(crochet::named("fetch_page"), f, ...).
/// The string is not copied: it must live as long as the process (a string
/// literal, or a name you intern), so naming costs nothing per call.
struct named {
    constexpr explicit named(const char *name) noexcept : name(name) {}
    const char *name;
};

/// Every error this binding throws: a CROCHET_E* status and a message.
class error : public std::runtime_error {
public:
    error(int status, const std::string &what) : std::runtime_error(what), status_(status) {}
    /// The CROCHET_E* status behind the error.
    int status() const noexcept { return status_; }
    /// Its name, "CROCHET_ETIMEDOUT", ... (crochet_status_name).
    const char *status_name() const noexcept { return crochet_status_name(status_); }

private:
    int status_;
};

/// No result within the timeout (crochet.TimeoutError). A later wait may
/// still get it. Thrown by a wait, what() carries the diagnosis: where the
/// call was when the wait gave up (see call_info::describe), and info()
/// those facts.
class timeout_error : public error {
public:
    explicit timeout_error(const std::string &what = "timed out waiting for the result")
        : error(CROCHET_ETIMEDOUT, what) {}
    timeout_error(const std::string &what, call_info info)
        : error(CROCHET_ETIMEDOUT, what), info_(std::make_shared<const call_info>(std::move(info))) {}
    /// Where the call was at the moment of the timeout; NULL when unknown.
    const call_info *info() const noexcept { return info_.get(); }

private:
    std::shared_ptr<const call_info> info_;   // shared: copying the exception does not throw
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

/// A configured bound (crochet_set_max_queued, the stash limit) is reached;
/// nothing was queued or stored. Retry later.
class again_error : public error {
public:
    explicit again_error(const std::string &what = "a configured bound is reached; retry later")
        : error(CROCHET_EAGAIN, what) {}
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

/// Thrown by crochet::raise inside a callable; the trampoline turns it into
/// crochet_raise(code, message), so wait() throws call_failed with code.
class raised : public error {
public:
    raised(int code, const std::string &message) : error(CROCHET_EFAILED, message), code_(code) {}
    int code() const noexcept { return code_; }

private:
    int code_;
};

/// Fails the running call with code and message (crochet_raise's), by
/// throwing crochet::raised. Inside a callable given to submit, wait_for or
/// defer_to_thread use this rather than crochet_raise itself: after
/// crochet_raise the engine ignores the callable's return value, and a
/// value this header boxes (or a deferred<T> it returns) then leaks.
[[noreturn]] inline void raise(int code, const std::string &message) { throw raised(code, message); }

namespace detail {

[[noreturn]] inline void throw_status(int status, const char *context) {
    std::string what = std::string(context) + ": " + crochet_strerror(status);
    switch (status) {
    case CROCHET_ETIMEDOUT: throw timeout_error(what);
    case CROCHET_ESTOPPED: throw reactor_stopped(what);
    case CROCHET_ECANCELLED: throw cancelled_error(what);
    case CROCHET_EAGAIN: throw again_error(what);
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

// ---------------------------------------------------------------------------
// Boxed values: a C++ value the C API cannot carry, owned by the result
// ---------------------------------------------------------------------------

struct box_base {
    const std::type_info *type;
};

template <class T> struct box final : box_base {
    template <class... A> explicit box(A &&...a) : box_base{&typeid(T)}, value(std::forward<A>(a)...) {}
    T value;
    std::atomic<bool> taken{false};   // a move-only value was moved out by wait()
    /// crochet_deferred_callback_owned's destroy: the engine runs it exactly once.
    static void destroy(void *p) noexcept { delete static_cast<box *>(static_cast<box_base *>(p)); }
};

/// "C++ exception std::invalid_argument: what()" for the C-level failure.
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

/// Fails the running call (or worker job) with the current exception.
inline void raise_current(std::exception_ptr *slot) noexcept {
    std::exception_ptr e = std::current_exception();
    if (slot) *slot = e;
    try {
        crochet_raise(CROCHET_EFAILED, describe(e).c_str());
    } catch (...) {
        crochet_raise(CROCHET_EFAILED, "C++ exception");
    }
}

template <class T> using value_t = std::remove_cv_t<std::remove_reference_t<T>>;

} // namespace detail

// ---------------------------------------------------------------------------
// Deferreds: async results made on the reactor thread
// ---------------------------------------------------------------------------

/// A crochet_deferred that fires with a T (Twisted's Deferred): a
/// reference-counted handle. Return one from a callable given to submit()
/// and the result follows it. Creating and firing it are reactor thread
/// only (crochet::error, CROCHET_ENOTREACTOR elsewhere); copying and
/// releasing work anywhere. T may be any movable type: a value the C API
/// cannot carry is boxed and owned by the results it reaches.
template <class T> class deferred {
    static_assert(!std::is_reference_v<T>, "crochet::deferred<T>: T must not be a reference");

public:
    using value_type = T;

    /// An empty handle (returning it fails the call with CROCHET_EINVAL).
    deferred() noexcept = default;
    /// Takes over one reference to d (may be NULL).
    static deferred adopt(crochet_deferred *d) noexcept { return deferred(d); }

    /// A new, unfired deferred (reactor thread only).
    static deferred create() {
        crochet_deferred *d = nullptr;
        detail::check(crochet_deferred_new(&d, nullptr, nullptr, nullptr), "crochet::deferred::create");
        return deferred(d);
    }

    /// A new deferred whose canceller c(deferred<T>&) runs on the reactor
    /// thread when it is cancelled before it fired; it may fire it, and if it
    /// does not, the deferred fails with CROCHET_ECANCELLED. c is owned by
    /// the deferred and destroyed (crochet_deferred_new's destroy) once it
    /// can no longer run. Do not capture the deferred in c (a cycle until it
    /// fires): c receives it. An exception c throws is dropped.
    template <class C> static deferred create(C &&canceller) {
        using Cn = std::decay_t<C>;
        static_assert(std::is_invocable_v<Cn &, deferred &>,
                      "crochet::deferred::create: the canceller must be callable as c(crochet::deferred<T>&)");
        struct holder {
            Cn c;
            static void cancel(crochet_deferred *d, void *p) noexcept {
                deferred self(crochet_deferred_retain(d));
                try {
                    static_cast<holder *>(p)->c(self);
                } catch (...) {
                }
            }
            static void destroy(void *p) noexcept { delete static_cast<holder *>(p); }
        };
        auto *h = new holder{std::forward<C>(canceller)};
        crochet_deferred *d = nullptr;
        detail::check(crochet_deferred_new(&d, &holder::cancel, h, &holder::destroy), "crochet::deferred::create");
        return deferred(d);
    }

    deferred(const deferred &o) noexcept : d_(crochet_deferred_retain(o.d_)) {}
    deferred(deferred &&o) noexcept : d_(std::exchange(o.d_, nullptr)) {}
    deferred &operator=(deferred o) noexcept {
        std::swap(d_, o.d_);
        return *this;
    }
    ~deferred() { crochet_deferred_release(d_); }

    explicit operator bool() const noexcept { return d_ != nullptr; }

    /// Fires with value (reactor thread only). Firing a cancelled deferred
    /// is accepted and drops the value; firing twice throws CROCHET_EALREADY.
    template <class U = T, std::enable_if_t<!std::is_void_v<U>, int> = 0> void callback(U value) {
        require("callback");
        if constexpr (detail::is_raw<T>) {
            detail::check(crochet_deferred_callback(d_, detail::to_value<T>(value)), "crochet::deferred::callback");
        } else {
            std::unique_ptr<detail::box<T>> b(new detail::box<T>(std::move(value)));
            detail::check(crochet_deferred_callback_owned(d_, static_cast<detail::box_base *>(b.get()),
                                                          &detail::box<T>::destroy),
                          "crochet::deferred::callback");
            b.release();   // the engine owns it now
        }
    }
    template <class U = T, std::enable_if_t<std::is_void_v<U>, int> = 0> void callback() {
        require("callback");
        detail::check(crochet_deferred_callback(d_, crochet_void()), "crochet::deferred::callback");
    }

    /// Fires with a pointer the result owns from now on: destroy(ptr) runs
    /// once, when the last holder lets go (crochet_deferred_callback_owned).
    /// A result holding such a pointer cannot be waited on as a temporary:
    /// see eventual_result::wait.
    template <class U = T, std::enable_if_t<std::is_pointer_v<U>, int> = 0>
    void callback_owned(U ptr, void (*destroy)(void *)) {
        require("callback_owned");
        detail::check(crochet_deferred_callback_owned(d_, const_cast<void *>(static_cast<const volatile void *>(ptr)),
                                                      destroy),
                      "crochet::deferred::callback_owned");
    }

    /// Fires with a failure (crochet_deferred_errback).
    void errback(int code, const std::string &message) {
        require("errback");
        detail::check(crochet_deferred_errback(d_, code, message.c_str()), "crochet::deferred::errback");
    }

    /// Cancels it (reactor thread only); false if it had fired or been
    /// cancelled already.
    bool cancel() {
        require("cancel");
        int s = crochet_deferred_cancel(d_);
        if (s == CROCHET_EALREADY) return false;
        detail::check(s, "crochet::deferred::cancel");
        return true;
    }

    crochet_deferred *native_handle() const noexcept { return d_; }
    /// Hands the reference over to the caller; this handle becomes empty.
    crochet_deferred *release() noexcept { return std::exchange(d_, nullptr); }

private:
    explicit deferred(crochet_deferred *d) noexcept : d_(d) {}
    void require(const char *what) const {
        if (!d_) throw error(CROCHET_EINVAL, std::string("crochet::deferred::") + what + ": this deferred is empty");
    }
    crochet_deferred *d_ = nullptr;
};

namespace detail {

template <class R> struct result_of_return {
    using type = value_t<R>;   // what wait() gives back
    static constexpr bool follows = false;
};
template <class T> struct result_of_return<deferred<T>> {
    using type = T;
    static constexpr bool follows = true;
};

/// What a callable returning R yields: R's value type, or T for a deferred<T>.
template <class R> using yield_t = typename result_of_return<value_t<R>>::type;
template <class R> constexpr bool follows_v = result_of_return<value_t<R>>::follows;

/// Turns what the callable returned into the tagged value the engine takes.
/// A boxed value travels as a fired deferred that owns it, so that the
/// engine (not this header) decides when it is destroyed.
template <class R, class Make> crochet_value encode(Make &&make) {
    using V = value_t<R>;
    if constexpr (std::is_void_v<R>) {
        std::forward<Make>(make)();
        return crochet_void();
    } else if constexpr (follows_v<R>) {
        crochet_value v;
        v.type = CROCHET_TYPE_DEFERRED;
        v.u.u64 = 0;
        V d = std::forward<Make>(make)();   // a copy or a move of the handle
        v.u.ptr = d.release();              // NULL fails the call with CROCHET_EINVAL
        return v;
    } else if constexpr (is_raw<V>) {
        return to_value<V>(std::forward<Make>(make)());
    } else {
        std::unique_ptr<box<V>> b(new box<V>(std::forward<Make>(make)()));
        crochet_deferred *d = nullptr;
        check(crochet_deferred_new(&d, nullptr, nullptr, nullptr), "crochet_deferred_new");
        int s = crochet_deferred_callback_owned(d, static_cast<box_base *>(b.get()), &box<V>::destroy);
        if (s != CROCHET_OK) {
            crochet_deferred_release(d);
            throw_status(s, "crochet_deferred_callback_owned");
        }
        b.release();
        crochet_value v;
        v.type = CROCHET_TYPE_DEFERRED;
        v.u.u64 = 0;
        v.u.ptr = d;
        return v;
    }
}

// ---------------------------------------------------------------------------
// Tasks: a callable with its arguments, owned by the engine through destroy
// ---------------------------------------------------------------------------
//
// submit() allocates one task and hands crochet_submit_closure the task's
// run and destroy. The engine calls destroy exactly once when the call can
// never run again, so the task needs no reference count and no list:
// destroy deletes it. The value travels in the engine (a raw value, or a box
// owned by a fired deferred). What does not fit the C API shares a small
// call_state between the task and the eventual_result (none for a noexcept
// callable given to submit):
//   - the exception a callable threw (a C failure carries a code and a
//     message, not a C++ object), written by run() before the engine
//     completes the result;
//   - wait_for's start gate: run() moves it from pending to started, and a
//     timed-out wait_for from pending to abandoned, so wait_for knows at once
//     whether the callable can still run (then it returns without waiting)
//     or is running (then it waits for it to settle).

struct call_state {
    enum : int { pending = 0, started = 1, abandoned = 2 };
    std::exception_ptr thrown;
    std::atomic<int> phase{pending};
};

template <class F, class... A> struct task final {
    std::tuple<F, A...> payload;
    std::shared_ptr<call_state> state;
    using R = std::invoke_result_t<F, A...>;

    template <class G, class... B>
    explicit task(std::shared_ptr<call_state> st, G &&f, B &&...a)
        : payload(std::forward<G>(f), std::forward<B>(a)...), state(std::move(st)) {}

    /// The closure (reactor thread, or a worker for defer_to_thread).
    static crochet_value run(void *ctx) noexcept {
        auto *t = static_cast<task *>(ctx);
        if (t->state) {
            int expected = call_state::pending;
            if (!t->state->phase.compare_exchange_strong(expected, call_state::started, std::memory_order_acq_rel)) {
                crochet_raise(CROCHET_ECANCELLED, "wait_for timed out before the call started");
                return crochet_void();
            }
        }
        try {
            return encode<R>([t]() -> R {
                return std::apply([](F &&f, A &&...a) -> R { return std::invoke(std::move(f), std::move(a)...); },
                                  std::move(t->payload));
            });
        } catch (const raised &e) {
            crochet_raise(e.code(), e.what());
            return crochet_void();
        } catch (...) {
            raise_current(t->state ? &t->state->thrown : nullptr);   // the engine ignores the return value
            return crochet_void();
        }
    }

    /// The closure's destroy: the captures die here, on the reactor thread.
    static void destroy(void *ctx) noexcept { delete static_cast<task *>(ctx); }
};

/// What a function pointer looks like to submit().
template <class F> struct fn_traits {
    static constexpr bool is_function_pointer = false;
};
template <class R, class... A> struct fn_traits<R (*)(A...)> {
    static constexpr bool is_function_pointer = true;
    static constexpr bool is_variadic = false;
    using result = R;
    using params = std::tuple<A...>;
};
template <class R, class... A> struct fn_traits<R (*)(A...) noexcept> : fn_traits<R (*)(A...)> {};
template <class R, class... A> struct fn_traits<R (*)(A..., ...)> : fn_traits<R (*)(A...)> {
    static constexpr bool is_variadic = true;
};
template <class R, class... A> struct fn_traits<R (*)(A..., ...) noexcept> : fn_traits<R (*)(A..., ...)> {};

template <class F> constexpr bool is_function_pointer_v = fn_traits<std::decay_t<F>>::is_function_pointer;

/// The argument as the task keeps it (an rvalue of its decayed copy)
/// converts to the parameter type.
template <class Params, class... Args> struct args_fit : std::false_type {};
template <class... P, class... Args>
struct args_fit<std::tuple<P...>, Args...>
    : std::bool_constant<(std::is_convertible_v<std::decay_t<Args> &&, P> && ...)> {};

/// Readable errors for a function pointer called with the wrong arguments.
template <class Fp, class... Args> constexpr bool check_function_pointer() {
    using T = fn_traits<Fp>;
    constexpr std::size_t arity = std::tuple_size_v<typename T::params>;
    static_assert(!std::is_same_v<std::remove_cv_t<typename T::result>, crochet_deferred *>,
                  "crochet::submit: this function returns a crochet_deferred*; "
                  "use crochet::submit_deferred<T>(f, args...) to follow it");
    if constexpr (T::is_variadic) {
        static_assert(arity <= sizeof...(Args), "crochet::submit: wrong number of arguments for this function");
        return arity <= sizeof...(Args) && std::is_invocable_v<Fp, std::decay_t<Args>...>;
    } else {
        static_assert(arity == sizeof...(Args), "crochet::submit: wrong number of arguments for this function");
        if constexpr (arity == sizeof...(Args)) {
            constexpr bool ok = args_fit<typename T::params, Args...>::value;
            static_assert(ok, "crochet::submit: an argument does not convert to the function's parameter type "
                              "(arguments are copied, like std::thread's: a non-const reference parameter needs "
                              "std::ref(x), or a pointer)");
            return ok && !std::is_same_v<std::remove_cv_t<typename T::result>, crochet_deferred *>;
        } else {
            return false;
        }
    }
}

/// Whether f(args...) can be called and its value carried; static_asserts say why not.
template <class Fn, class... Args> constexpr bool check_invocable() {
    constexpr bool invocable = std::is_invocable_v<Fn, std::decay_t<Args>...>;
    static_assert(invocable, "crochet::submit: the callable cannot be called with these arguments "
                             "(they are copied, like std::thread's, and passed as rvalues)");
    if constexpr (!invocable) {
        return false;
    } else {
        using R = std::invoke_result_t<Fn, std::decay_t<Args>...>;
        using V = value_t<R>;
        constexpr bool raw_deferred = std::is_same_v<V, crochet_deferred *>;
        static_assert(!raw_deferred, "crochet::submit: a callable returning crochet_deferred* is not followed; "
                                     "return a crochet::deferred<T> (crochet::deferred<T>::adopt(d))");
        constexpr bool movable = std::is_void_v<R> || std::is_constructible_v<V, R>;
        static_assert(movable,
                      "crochet::submit: the callable must return a movable value (or a reference to a copyable one)");
        return !raw_deferred && movable;
    }
}

/// Whether submit(f, args...) is well-formed; static_asserts say why not.
template <class F, class... Args> constexpr bool check_callable() {
    using Fn = std::decay_t<F>;
    if constexpr (is_function_pointer_v<F>) {
        if constexpr (!check_function_pointer<Fn, Args...>()) return false;
        else return check_invocable<Fn, Args...>();
    } else {
        return check_invocable<Fn, Args...>();
    }
}


template <class T> class unused {};

} // namespace detail

namespace detail {

/// The facts of r now (crochet_result_get_info).
inline call_info info_of(crochet_result *r) {
    crochet_result_info raw;
    std::memset(&raw, 0, sizeof raw);
    raw.size = sizeof raw;
    check(crochet_result_get_info(r, &raw), "crochet::eventual_result::info");
    call_info i;
    i.state = static_cast<crochet::call_state>(raw.state);
    i.queued_seconds = raw.queued_seconds;
    i.running_seconds = raw.running_seconds;
    i.function = raw.function ? raw.function : "";
    return i;
}

/// "crochet::wait_for(0.05 s)": who waited, and how long.
inline std::string waiter_text(const char *who, double seconds) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "(%g s)", seconds);
    return who + std::string(buf);
}

/// The timeout_error a timed-out wait throws: the diagnosis of r now.
inline timeout_error timeout_of(crochet_result *r, const char *who, double seconds) {
    call_info i = info_of(r);
    std::string what = waiter_text(who, seconds) + " timed out: " + i.describe();
    return timeout_error(what, std::move(i));
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
///
/// MayOwn is true for a pointer result that may be owned by the result
/// itself (one that followed a deferred fired with callback_owned:
/// submit_deferred<T*>, a callable returning deferred<T*>, retrieve_result
/// <T*>). Such a pointer is valid only while the result lives, so wait() on
/// a temporary of that type does not compile; keep the result in a variable
/// (which converts to the plain eventual_result<T*>).
template <class T, bool MayOwn = false> class eventual_result {
    static_assert(!std::is_reference_v<T>, "crochet::eventual_result<T>: T must not be a reference");
    template <class, bool> friend class eventual_result;

public:
    using value_type = T;

    eventual_result() noexcept = default;
    /// Takes over one reference to r; state holds the callable's exception
    /// (empty for a result that did not come from submit()).
    explicit eventual_result(crochet_result *r, std::shared_ptr<detail::call_state> state = {}) noexcept
        : r_(r), state_(std::move(state)) {}
    eventual_result(const eventual_result &) = delete;
    eventual_result &operator=(const eventual_result &) = delete;
    eventual_result(eventual_result &&o) noexcept : r_(std::exchange(o.r_, nullptr)), state_(std::move(o.state_)) {}
    /// From the MayOwn variant: a named result keeps its pointer alive.
    template <bool O, std::enable_if_t<O != MayOwn, int> = 0>
    eventual_result(eventual_result<T, O> &&o) noexcept
        : r_(std::exchange(o.r_, nullptr)), state_(std::move(o.state_)) {}
    eventual_result &operator=(eventual_result &&o) noexcept {
        if (this != &o) {
            crochet_result_release(r_);
            r_ = std::exchange(o.r_, nullptr);
            state_ = std::move(o.state_);
        }
        return *this;
    }
    ~eventual_result() { crochet_result_release(r_); }

    /// Whether this holds a result (false once moved from).
    bool valid() const noexcept { return r_ != nullptr; }
    explicit operator bool() const noexcept { return valid(); }

    /// Waits up to timeout for the result and returns its value, or throws:
    /// timeout_error (a later wait still waits; what() says where the call
    /// was, info() has the facts), cancelled_error,
    /// reactor_stopped, call_failed, or the callable's own exception.
    /// Never on the reactor thread (crochet::error, CROCHET_EREACTORTHREAD).
    template <class Rep, class Period> T wait(const std::chrono::duration<Rep, Period> &timeout) const & {
        return wait_seconds(std::chrono::duration<double>(timeout).count());
    }
    /// Waits with no time limit.
    T wait() const & { return wait_seconds(INFINITY); }

    /// wait() on a temporary: fine, except for a pointer the result may own.
    template <class Rep, class Period> T wait(const std::chrono::duration<Rep, Period> &timeout) && {
        static_assert(!(MayOwn && std::is_pointer_v<T>), "crochet::eventual_result::wait on a temporary: "
                      "the pointer may be owned by the result, which dies at the end of this expression; "
                      "keep the result in a variable while you use the pointer");
        return wait_seconds(std::chrono::duration<double>(timeout).count());
    }
    T wait() && {
        static_assert(!(MayOwn && std::is_pointer_v<T>), "crochet::eventual_result::wait on a temporary: "
                      "the pointer may be owned by the result, which dies at the end of this expression; "
                      "keep the result in a variable while you use the pointer");
        return wait_seconds(INFINITY);
    }

    /// Asks for cancellation and returns at once: a call not yet started
    /// never starts; a deferred being followed is cancelled. The result
    /// always completes.
    void cancel() {
        require("cancel");
        detail::check(crochet_cancel(r_), "crochet::eventual_result::cancel");
    }

    /// Stores a reference in the process-wide store; retrieve it (once) with
    /// crochet::retrieve_result<T>(id). This result stays usable. Throws
    /// again_error when the store is full (crochet_set_stash_limit).
    std::uint64_t stash() {
        require("stash");
        std::uint64_t id = 0;
        detail::check(crochet_stash(r_, &id), "crochet::eventual_result::stash");
        return id;
    }

    /// The failure, if the result exists and is one; an empty handle if it
    /// succeeded or does not exist yet. Marks the failure as observed.
    failure original_failure() const {
        require("original_failure");
        return failure(crochet_failure_retain(crochet_original_failure(r_)));
    }

    /// Where the call is now: queued, running, waiting on a deferred or
    /// done; how long it was queued and has run; and what it runs. Any
    /// thread, never blocks (crochet_result_get_info).
    call_info info() const {
        require("info");
        return detail::info_of(r_);
    }

    /// The C handle (borrowed).
    crochet_result *native_handle() const noexcept { return r_; }

private:
    void require(const char *what) const {
        if (!r_)
            throw error(CROCHET_EINVAL, std::string("crochet::eventual_result::") + what +
                                            ": this result is empty (moved from)");
    }

    T wait_seconds(double seconds) const {
        require("wait");
        crochet_value v;
        v.type = CROCHET_TYPE_VOID;
        v.u.u64 = 0;
        int s = crochet_wait(r_, seconds, &v);
        if (s == CROCHET_ETIMEDOUT) throw detail::timeout_of(r_, "crochet::eventual_result::wait", seconds);
        if (s != CROCHET_OK) fail(s);
        return extract(v);
    }

    [[noreturn]] void fail(int s) const {
        switch (s) {
        case CROCHET_EFAILED:
            if (state_ && state_->thrown) std::rethrow_exception(state_->thrown);   // crochet_wait observed it
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
    std::shared_ptr<detail::call_state> state_;
    template <class Rep, class Period, class F, class... Args>
    friend auto wait_for(const std::chrono::duration<Rep, Period> &, named, F &&, Args &&...);
};

/// Takes a stashed result out of the process-wide store (crochet's
/// retrieve_result). T must be the stashed result's type. Throws
/// crochet::error with CROCHET_ENOTFOUND for an unknown or retrieved id.
/// A C++ exception the call threw comes back as call_failed (its message
/// names the exception's type and what()): the store keeps C results only.
template <class T> eventual_result<T, std::is_pointer_v<T>> retrieve_result(std::uint64_t id) {
    crochet_result *r = nullptr;
    detail::check(crochet_retrieve(&r, id), "crochet::retrieve_result");
    return eventual_result<T, std::is_pointer_v<T>>(r);
}

// ---------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------

/// crochet.setup(): starts the reactor on a library thread (idempotent).
inline void setup() { detail::check(crochet_setup(), "crochet::setup"); }

/// crochet.no_setup(): run the reactor yourself with crochet::run().
/// Throws crochet::error (CROCHET_ESTATE) after setup() or a second call.
inline void no_setup() { detail::check(crochet_no_setup(), "crochet::no_setup"); }

/// After no_setup(), runs the reactor on this thread until stop().
inline void run() { detail::check(crochet_run(), "crochet::run"); }

/// Stops the reactor (any thread, returns at once); pending results
/// complete with reactor_stopped.
inline void stop() { detail::check(crochet_stop(), "crochet::stop"); }

/// Whether the calling thread is the reactor thread.
inline bool in_reactor_thread() noexcept { return crochet_in_reactor_thread() != 0; }

// ---------------------------------------------------------------------------
// submit / submit_deferred / wait_for
// ---------------------------------------------------------------------------

namespace detail {

// Names for diagnostics (crochet_submit_closure_named): each lives for the
// process and is made once, so naming a call costs no allocation.

/// A demangled type name, allocated once and never freed.
inline const char *demangled(const char *mangled) noexcept {
#ifdef CROCHET_HPP_HAVE_CXXABI
    int status = 0;
    char *d = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
    if (d && status == 0) return d;   // kept for the process: the engine may name the call until exit
    std::free(d);
#endif
    return mangled;   // typeid names have static storage
}

/// The name of a callable of type Fn: its demangled type, computed once per type.
template <class Fn> const char *callable_name() noexcept {
    static const char *const name = demangled(typeid(Fn).name());
    return name;
}

struct function_entry {
    const void *fn;
    const char *name;
};

/// The entry of fn, made once per function (dladdr, demangled; the address
/// as text when it has no symbol) and never freed.
inline const function_entry *intern_function(const void *fn) noexcept {
    static std::mutex mutex;
    static auto *entries = new std::unordered_map<const void *, const function_entry *>();
    try {
        std::lock_guard<std::mutex> lock(mutex);
        auto found = entries->find(fn);
        if (found != entries->end()) return found->second;
        const char *name = nullptr;
        Dl_info dl;
        std::memset(&dl, 0, sizeof dl);
        if (dladdr(fn, &dl) != 0 && dl.dli_sname && dl.dli_saddr == fn) {
            name = demangled(dl.dli_sname);
            if (name == dl.dli_sname) name = strdup(name);   // a C symbol: the string belongs to the loader
        } else {
            char text[32];
            std::snprintf(text, sizeof text, "%p", fn);
            name = strdup(text);
        }
        auto *e = new function_entry{fn, name};
        entries->emplace(fn, e);
        return e;
    } catch (...) {
        return nullptr;
    }
}

/// The name of the function at fn: one atomic load on the hot path (a small
/// direct-mapped cache in front of the table of names).
inline const char *function_name(const void *fn) noexcept {
    static std::atomic<const function_entry *> cache[64];
    std::size_t slot = static_cast<std::size_t>((reinterpret_cast<std::uintptr_t>(fn) * 0x9E3779B97F4A7C15ull) >> 58);
    const function_entry *e = cache[slot].load(std::memory_order_acquire);
    if (e && e->fn == fn) return e->name;
    e = intern_function(fn);
    if (!e) return nullptr;
    cache[slot].store(e, std::memory_order_release);
    return e->name;
}

template <class F, class... Args>
using submit_result_t =
    eventual_result<yield_t<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>>,
                    follows_v<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>> &&
                        std::is_pointer_v<yield_t<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>>>>;

/// Builds the task and hands it to the engine (checks already done). name
/// names the call in diagnostics; NULL: the function pointer's symbol, or
/// the callable's type.
template <class F, class... Args>
auto submit_task(const char *context, bool gated, const char *name, F &&f, Args &&...args) {
    using Fn = std::decay_t<F>;
    using task_t = task<Fn, std::decay_t<Args>...>;
    std::shared_ptr<call_state> slot;
    if (gated || !std::is_nothrow_invocable_v<Fn, std::decay_t<Args>...>) slot = std::make_shared<call_state>();
    task_t *t;
    if constexpr (is_function_pointer_v<F>) {
        Fn fp = f;
        if (!fp) throw error(CROCHET_EINVAL, std::string(context) + ": null function pointer");
        if (!name) name = function_name(reinterpret_cast<const void *>(fp));
        t = new task_t(slot, fp, std::forward<Args>(args)...);
    } else {
        if (!name) name = callable_name<Fn>();
        t = new task_t(slot, std::forward<F>(f), std::forward<Args>(args)...);
    }
    crochet_result *r = nullptr;
    // On an error the engine has already run destroy (t is gone).
    check(crochet_submit_closure_named(&r, &task_t::run, t, &task_t::destroy, name), context);
    return submit_result_t<F, Args...>(r, std::move(slot));
}

/// Calls a C function returning crochet_deferred* and follows it.
template <class T, class Fp> struct follow_native {
    Fp f;
    template <class... A> deferred<T> operator()(A &&...a) const {
        return deferred<T>::adopt(std::invoke(f, std::forward<A>(a)...));
    }
};

} // namespace detail

/// crochet's run_in_reactor: queues f(args...) to run on the reactor thread
/// and returns at once with its eventual_result.
///
/// f is any callable: a C or C++ function pointer, a lambda, a
/// std::function, a function object. It and its arguments are decay-copied
/// (like std::thread) into a task the engine owns; its captures are
/// destroyed on the reactor thread once the call ran, was cancelled before
/// its turn, or was dropped at stop. It may return any movable type, or a
/// crochet::deferred<T> that the result then follows (its type is T); what
/// it throws fails the call and is rethrown by wait(). The call runs even
/// when the result is dropped, so f must own what it uses (see the header
/// comment). Throws reactor_stopped after stop(), crochet::error
/// (CROCHET_ESTATE) before setup()/no_setup(), again_error when the queue
/// is at its bound.
template <class F, class... Args> auto submit(F &&f, Args &&...args) {
    if constexpr (!detail::check_callable<F, Args...>()) {
        return detail::unused<F>();
    } else {
        return detail::submit_task("crochet::submit", false, nullptr, std::forward<F>(f),
                                   std::forward<Args>(args)...);
    }
}

/// submit() with a name for diagnostics instead of the function's symbol or
/// the callable's type.
template <class F, class... Args> auto submit(named name, F &&f, Args &&...args) {
    if constexpr (!detail::check_callable<F, Args...>()) {
        return detail::unused<F>();
    } else {
        return detail::submit_task("crochet::submit", false, name.name, std::forward<F>(f),
                                   std::forward<Args>(args)...);
    }
}

/// Submits a function pointer that returns a crochet_deferred* (handing
/// its reference over); the result follows the deferred and has type T
/// (void, or a type the C API carries: the type the deferred fires with).
/// cancel() cancels that deferred. For a pointer T, the result may own the
/// pointer (callback_owned): wait() only on a named result.
template <class T, class F, class... Args> auto submit_deferred(F &&f, Args &&...args) {
    static_assert(detail::is_raw<T>, "crochet::submit_deferred<T>: T must be void or a type the C API carries");
    static_assert(detail::is_function_pointer_v<F>, "crochet::submit_deferred: f must be a plain function pointer");
    using Fp = std::decay_t<F>;
    static_assert(std::is_same_v<std::remove_cv_t<typename detail::fn_traits<Fp>::result>, crochet_deferred *>,
                  "crochet::submit_deferred: f must return crochet_deferred*");
    static_assert(std::tuple_size_v<typename detail::fn_traits<Fp>::params> == sizeof...(Args),
                  "crochet::submit_deferred: wrong number of arguments for this function");
    static_assert(std::is_invocable_v<Fp, std::decay_t<Args>...>,
                  "crochet::submit_deferred: an argument does not convert to the function's parameter type");
    Fp fp = f;
    if (!fp) throw error(CROCHET_EINVAL, "crochet::submit_deferred: null function pointer");
    return detail::submit_task("crochet::submit_deferred", false,
                               detail::function_name(reinterpret_cast<const void *>(fp)),
                               detail::follow_native<T, Fp>{fp},
                               std::forward<Args>(args)...);
}

/// crochet's wait_for: submits f(args...) as submit() does and waits up to
/// timeout for its value.
///
/// On timeout it cancels the call and throws timeout_error once the call
/// can no longer use what it was given: a call not yet started never starts
/// (no wait); a call ALREADY RUNNING IS WAITED FOR WITHOUT LIMIT (the
/// timeout is overshot by the rest of its run); a deferred it returned is
/// cancelled and waited for (its canceller must make it fire, as the
/// default one does). So a lambda capturing locals by reference, or pointer
/// arguments to them, are never used by the call after wait_for returned.
/// (The task, with its captures, is destroyed later on the reactor thread:
/// a capture's destructor must not use the caller's frame.) On the reactor thread it throws crochet::error
/// (CROCHET_EREACTORTHREAD) without submitting anything. A pointer the
/// result may own (from a deferred<T*>) cannot be returned: use submit().
template <class Rep, class Period, class F, class... Args>
auto wait_for(const std::chrono::duration<Rep, Period> &timeout, named name, F &&f, Args &&...args) {
    if constexpr (!detail::check_callable<F, Args...>()) {
        return;
    } else {
        using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
        static_assert(!(detail::follows_v<R> && std::is_pointer_v<detail::yield_t<R>>),
                      "crochet::wait_for cannot return a pointer the result may own (it dies with the result); "
                      "use crochet::submit and keep the eventual_result while you use the pointer");
        if (crochet_in_reactor_thread()) detail::throw_status(CROCHET_EREACTORTHREAD, "crochet::wait_for");
        double seconds = std::chrono::duration<double>(timeout).count();
        // An invalid timeout is refused before anything runs (not after).
        if (!(seconds >= 0)) detail::throw_status(CROCHET_EINVAL, "crochet::wait_for");
        auto r = detail::submit_task("crochet::wait_for", true, name.name, std::forward<F>(f),
                                     std::forward<Args>(args)...);
        try {
            return r.wait_seconds(seconds);
        } catch (const timeout_error &e) {
            // The diagnosis as of the timeout (before cancelling and settling).
            call_info facts = e.info() ? *e.info() : call_info{};
            std::string what = detail::waiter_text("crochet::wait_for", seconds) + " timed out: " + facts.describe();
            int expected = detail::call_state::pending;
            bool never_runs = r.state_->phase.compare_exchange_strong(expected, detail::call_state::abandoned,
                                                                      std::memory_order_acq_rel);
            r.cancel();
            // Settle: a call that had not started never will (the gate);
            // otherwise wait until the result completes, which it does once
            // the callable returned (or its deferred was cancelled and fired).
            if (!never_runs) (void)crochet_wait(r.native_handle(), INFINITY, nullptr);
            throw timeout_error(what, std::move(facts));
        }
    }
}

/// wait_for with the call named by its function's symbol or its callable's
/// type (see crochet::named to give a name).
template <class Rep, class Period, class F, class... Args>
auto wait_for(const std::chrono::duration<Rep, Period> &timeout, F &&f, Args &&...args) {
    return wait_for(timeout, named(nullptr), std::forward<F>(f), std::forward<Args>(args)...);
}

/// crochet_defer_to_thread_closure (reactor thread only): runs f(args...) on
/// the worker pool and returns a deferred that fires on the reactor thread
/// with its value (a type the C API carries, or void) or fails with what it
/// threw (call_failed; the exception's type is in the message). The task is
/// destroyed on the reactor thread. Return it from a submitted callable to
/// make the result follow it.
template <class F, class... Args> auto defer_to_thread(F &&f, Args &&...args) {
    if constexpr (!detail::check_callable<F, Args...>()) {
        return deferred<void>();
    } else {
        using Fn = std::decay_t<F>;
        using R = std::invoke_result_t<Fn, std::decay_t<Args>...>;
        using V = detail::value_t<R>;
        static_assert(std::is_void_v<R> || (detail::is_raw<V> && !detail::follows_v<R>),
                      "crochet::defer_to_thread: f must return void or a type the C API carries");
        using task_t = detail::task<Fn, std::decay_t<Args>...>;
        task_t *t;
        if constexpr (detail::is_function_pointer_v<F>) {
            Fn fp = f;
            if (!fp) throw error(CROCHET_EINVAL, "crochet::defer_to_thread: null function pointer");
            t = new task_t(nullptr, fp, std::forward<Args>(args)...);
        } else {
            t = new task_t(nullptr, std::forward<F>(f), std::forward<Args>(args)...);
        }
        crochet_deferred *d = nullptr;
        detail::check(crochet_defer_to_thread_closure(&d, &task_t::run, t, &task_t::destroy),
                      "crochet::defer_to_thread");
        return deferred<std::conditional_t<std::is_void_v<R>, void, V>>::adopt(d);
    }
}

// ---------------------------------------------------------------------------
// Reactor services: callbacks owned by the engine through destroy
// ---------------------------------------------------------------------------

namespace detail {

/// A callable the engine calls back and destroys (exactly once). An
/// exception escaping it calls std::terminate, as with std::thread: there
/// is no caller to give it to.
template <class F> struct callback final {
    F f;
    static void call(void *p) noexcept { static_cast<callback *>(p)->f(); }
    static void on_fd(int fd, void *p) noexcept {
        if constexpr (std::is_invocable_v<F &, int>) static_cast<callback *>(p)->f(fd);
        else static_cast<callback *>(p)->f();
    }
    static void destroy(void *p) noexcept { delete static_cast<callback *>(p); }
};

template <class F> callback<std::decay_t<F>> *make_callback(F &&f) {
    return new callback<std::decay_t<F>>{std::forward<F>(f)};
}

} // namespace detail

/// A timer from call_later: cancel it, or drop the handle (which does not
/// cancel it).
class delayed_call {
public:
    delayed_call() noexcept = default;
    explicit delayed_call(crochet_delayed_call *c) noexcept : c_(c) {}
    delayed_call(delayed_call &&o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
    delayed_call &operator=(delayed_call o) noexcept {
        std::swap(c_, o.c_);
        return *this;
    }
    ~delayed_call() { crochet_delayed_call_release(c_); }
    /// True if it will now never run; false if it ran (or began) or was
    /// cancelled already.
    bool cancel() {
        if (!c_) throw error(CROCHET_EINVAL, "crochet::delayed_call::cancel: empty handle");
        int s = crochet_delayed_call_cancel(c_);
        if (s == CROCHET_EALREADY) return false;
        detail::check(s, "crochet::delayed_call::cancel");
        return true;
    }
    crochet_delayed_call *native_handle() const noexcept { return c_; }

private:
    crochet_delayed_call *c_ = nullptr;
};

/// Runs f() on the reactor thread soon (any thread), in order with
/// submissions from this thread. f is destroyed there after it ran, or at
/// stop. Fire and forget: like a thread, f must own what it uses.
template <class F> void call_from_thread(F &&f) {
    auto *c = detail::make_callback(std::forward<F>(f));
    using C = std::remove_pointer_t<decltype(c)>;
    detail::check(crochet_call_from_thread(&C::call, c, &C::destroy), "crochet::call_from_thread");
}

/// Runs f() on the reactor thread after delay (any thread); f is destroyed
/// after it ran, when cancelled, or at stop.
template <class Rep, class Period, class F>
delayed_call call_later(const std::chrono::duration<Rep, Period> &delay, F &&f) {
    auto *c = detail::make_callback(std::forward<F>(f));
    using C = std::remove_pointer_t<decltype(c)>;
    crochet_delayed_call *h = nullptr;
    detail::check(crochet_call_later(&h, std::chrono::duration<double>(delay).count(), &C::call, c, &C::destroy),
                  "crochet::call_later");
    return delayed_call(h);
}

/// Reactor thread only: calls f(fd) (or f()) while fd is readable; a second
/// add_reader replaces it. f is destroyed when removed, replaced, or at stop.
template <class F> void add_reader(int fd, F &&f) {
    auto *c = detail::make_callback(std::forward<F>(f));
    using C = std::remove_pointer_t<decltype(c)>;
    detail::check(crochet_add_reader(fd, &C::on_fd, c, &C::destroy), "crochet::add_reader");
}
inline void remove_reader(int fd) { detail::check(crochet_remove_reader(fd), "crochet::remove_reader"); }

/// Reactor thread only: as add_reader, for writability.
template <class F> void add_writer(int fd, F &&f) {
    auto *c = detail::make_callback(std::forward<F>(f));
    using C = std::remove_pointer_t<decltype(c)>;
    detail::check(crochet_add_writer(fd, &C::on_fd, c, &C::destroy), "crochet::add_writer");
}
inline void remove_writer(int fd) { detail::check(crochet_remove_writer(fd), "crochet::remove_writer"); }

/// Runs f() on the reactor thread when it stops, before pending results
/// fail (any thread; triggers run in reverse order of registration).
template <class F> void add_shutdown_trigger(F &&f) {
    auto *c = detail::make_callback(std::forward<F>(f));
    using C = std::remove_pointer_t<decltype(c)>;
    detail::check(crochet_add_shutdown_trigger(&C::call, c, &C::destroy), "crochet::add_shutdown_trigger");
}

// ---------------------------------------------------------------------------
// Operability: stats, the stall watchdog, bounds
// ---------------------------------------------------------------------------

/// The reactor's counters (crochet_stats).
struct reactor_stats {
    std::uint64_t calls_submitted = 0;   ///< calls submitted since the process started (every language)
    std::uint64_t calls_completed = 0;   ///< results completed (value, failure, cancelled or stopped)
    std::uint64_t queued = 0;            ///< calls not yet started
    std::uint64_t waiting = 0;           ///< results following a deferred
    std::uint64_t timers = 0, readers = 0, writers = 0;
    std::uint64_t workers = 0, workers_busy = 0, worker_queue = 0;
    std::uint64_t stashed = 0;           ///< results in the process-wide stash
    double max_queue_delay_seconds = 0;  ///< longest submit -> start since the previous stats()
    double max_callback_seconds = 0;     ///< longest callback on the reactor thread, same window
};

/// The reactor's counters now (crochet_get_stats): cheap enough for a
/// metrics scraper every second. The two maxima cover the time since the
/// previous call by anyone in the process. Any thread; throws crochet::error
/// (CROCHET_ESTATE) before setup()/no_setup().
inline reactor_stats stats() {
    crochet_stats raw;
    std::memset(&raw, 0, sizeof raw);
    raw.size = sizeof raw;
    detail::check(crochet_get_stats(&raw), "crochet::stats");
    reactor_stats s;
    s.calls_submitted = raw.calls_submitted;
    s.calls_completed = raw.calls_completed;
    s.queued = raw.queued;
    s.waiting = raw.waiting;
    s.timers = raw.timers;
    s.readers = raw.readers;
    s.writers = raw.writers;
    s.workers = raw.workers;
    s.workers_busy = raw.workers_busy;
    s.worker_queue = raw.worker_queue;
    s.stashed = raw.stashed;
    s.max_queue_delay_seconds = raw.max_queue_delay_seconds;
    s.max_callback_seconds = raw.max_callback_seconds;
    return s;
}

/// When one callback has run on the reactor thread longer than threshold,
/// the library logs one WARNING naming it, how long so far and how many
/// calls are queued behind it (DEBUG when the loop is free again). Zero
/// turns it off; the default is 1 s. Throws crochet::error (CROCHET_EINVAL)
/// for a negative threshold.
template <class Rep, class Period> void set_stall_warning(const std::chrono::duration<Rep, Period> &threshold) {
    detail::check(crochet_set_stall_warning(std::chrono::duration<double>(threshold).count()),
                  "crochet::set_stall_warning");
}

/// With n > 0, submit, wait_for and call_from_thread throw again_error
/// while n calls are queued (submitted, not started): nothing is queued and
/// the callable is destroyed. 0: unbounded (the default).
inline void set_max_queued(std::size_t n) { detail::check(crochet_set_max_queued(n), "crochet::set_max_queued"); }

/// Bounds the stash: with max_results > 0, eventual_result::stash throws
/// again_error while it holds that many; with max_age > 0, a result stashed
/// longer is dropped with a WARNING and retrieve_result then throws
/// CROCHET_ENOTFOUND (checked about once a second). Zero: no bound.
template <class Rep = double, class Period = std::ratio<1>>
void set_stash_limit(std::size_t max_results,
                     const std::chrono::duration<Rep, Period> &max_age = std::chrono::duration<double>(0)) {
    detail::check(crochet_set_stash_limit(max_results, std::chrono::duration<double>(max_age).count()),
                  "crochet::set_stash_limit");
}

// ---------------------------------------------------------------------------
// Logging, versions
// ---------------------------------------------------------------------------

/// Sends the library's log records to f(int level, const char *message)
/// (CROCHET_LOG_DEBUG .. CROCHET_LOG_ERROR), called on the library's
/// logging thread, one record at a time. The previous handler is destroyed
/// on that thread after its last call. An exception f throws is dropped.
template <class F> void set_log_handler(F &&f) {
    using Fn = std::decay_t<F>;
    static_assert(std::is_invocable_v<Fn &, int, const char *>,
                  "crochet::set_log_handler: f must be callable as f(int level, const char *message)");
    struct handler {
        Fn f;
        static void log(int level, const char *message, void *p) noexcept {
            try {
                static_cast<handler *>(p)->f(level, message);
            } catch (...) {
            }
        }
        static void destroy(void *p) noexcept { delete static_cast<handler *>(p); }
    };
    auto *h = new handler{std::forward<F>(f)};
    detail::check(crochet_set_log_handler(&handler::log, h, &handler::destroy), "crochet::set_log_handler");
}

/// Back to the default handler (stderr).
inline void reset_log_handler() { detail::check(crochet_set_log_handler(nullptr, nullptr, nullptr), "crochet::reset_log_handler"); }

/// Waits until every record made so far was delivered; false if timeout
/// passed first. Not on the reactor thread or in a handler.
template <class Rep, class Period> bool log_flush(const std::chrono::duration<Rep, Period> &timeout) {
    int s = crochet_log_flush(std::chrono::duration<double>(timeout).count());
    if (s == CROCHET_ETIMEDOUT) return false;
    detail::check(s, "crochet::log_flush");
    return true;
}

/// The runtime library's version string.
inline const char *version() noexcept { return crochet_version(); }
/// The runtime library's MAJOR*10000 + MINOR*100 + PATCH (compare with
/// CROCHET_VERSION_NUMBER, the header's).
inline unsigned version_number() noexcept { return crochet_version_number(); }
/// "CROCHET_ETIMEDOUT", ... for a status.
inline const char *status_name(int status) noexcept { return crochet_status_name(status); }

} // namespace crochet

#endif // CROCHET_HPP
