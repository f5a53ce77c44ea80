/*
 * crochet.h - libcrochet: use an event loop from any thread, from C.
 * SPDX-License-Identifier: MIT (see LICENSE)
 *
 * A reactor (event loop) runs on a thread the library owns (crochet_setup) or
 * on one of yours (crochet_no_setup + crochet_run). Any thread hands it a
 * foreign function to call (crochet_submit), which the reactor thread calls
 * through libffi, and gets back an EventualResult to wait on with a timeout,
 * cancel, stash and retrieve by id. This is the API of Python's crochet
 * library for native code.
 *
 * Conventions (they hold for every function below unless its entry says
 * otherwise):
 *   - Functions return an int status: CROCHET_OK (0) or a negative CROCHET_E*
 *     code. crochet_strerror() describes any status and never returns NULL.
 *   - The object acted on is the first argument; an object created is returned
 *     through the first argument, marked out.
 *   - Handles are reference counted. A function that hands you a handle gives
 *     you one reference; *_release drops one; *_retain adds one. Releasing NULL
 *     does nothing.
 *   - Any thread may call a function unless its entry says "reactor thread
 *     only"; those return CROCHET_ENOTREACTOR on any other thread.
 *   - Timeouts and delays are double seconds: negative or NaN is
 *     CROCHET_EINVAL, INFINITY means no limit, 0 means "poll".
 *   - NULL where a handle or out-pointer is required is CROCHET_EINVAL.
 *   - When a function that takes a callback returns an error, the callback is
 *     never called.
 *   - Callbacks own their ctx through destroy (since 0.2). Every function
 *     that stores a callback with a void *ctx also takes a crochet_destroy_fn
 *     destroy (may be NULL). The library calls destroy(ctx) exactly once, as
 *     soon as it will never call that callback with that ctx again: after the
 *     callback ran for the last time, when it is cancelled, removed or
 *     replaced, when the reactor stops, and also when the registering
 *     function itself fails (then on the calling thread, before it returns).
 *     Unless an entry says otherwise destroy runs on the reactor thread,
 *     never while a library lock is held, and it may call into the library.
 *     In a fork child nothing inherited is destroyed (the parent owns it).
 *
 * Only symbols starting with crochet_ are exported from libcrochet.so.
 */
#ifndef CROCHET_H
#define CROCHET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version, written once here: the soname (libcrochet.so.MAJOR.MINOR
 * before 1.0), pkg-config, the Python and Swift metadata derive from it. */
#define CROCHET_VERSION_MAJOR 0
#define CROCHET_VERSION_MINOR 2
#define CROCHET_VERSION_PATCH 0
#define CROCHET_VERSION_STRING "0.2.0"
#define CROCHET_VERSION_NUMBER (CROCHET_VERSION_MAJOR * 10000 + CROCHET_VERSION_MINOR * 100 + CROCHET_VERSION_PATCH)

/* Functions whose status must not be ignored are marked with this: a
 * compiler warning when a call's result is dropped. Define
 * CROCHET_NO_WARN_UNUSED_RESULT before including the header to turn it off.
 * (C++17 and C23: [[nodiscard]], silenced by a (void) cast; older C with
 * GCC or Clang: warn_unused_result.) */
#if defined(CROCHET_NO_WARN_UNUSED_RESULT)
#define CROCHET_WARN_UNUSED_RESULT
#elif defined(__cplusplus) && __cplusplus >= 201703L
#define CROCHET_WARN_UNUSED_RESULT [[nodiscard]]
#elif !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 202311L
#define CROCHET_WARN_UNUSED_RESULT [[nodiscard]]
#elif defined(__GNUC__)
#define CROCHET_WARN_UNUSED_RESULT __attribute__((warn_unused_result))
#else
#define CROCHET_WARN_UNUSED_RESULT
#endif

/* ------------------------------------------------------------------------- */
/* Status codes (the values are ABI)                                          */
/* ------------------------------------------------------------------------- */

#define CROCHET_OK              0   /* success */
#define CROCHET_ETIMEDOUT      -1   /* no result within the timeout (crochet.TimeoutError) */
#define CROCHET_ESTOPPED       -2   /* the reactor has stopped; no result will ever come (crochet.ReactorStopped) */
#define CROCHET_EFAILED        -3   /* the call failed; crochet_original_failure() says how */
#define CROCHET_ECANCELLED     -4   /* the call was cancelled (Twisted's CancelledError) */
#define CROCHET_EINVAL         -5   /* an argument is invalid */
#define CROCHET_ESTATE         -6   /* wrong lifecycle state (not set up; no_setup after setup) */
#define CROCHET_EREACTORTHREAD -7   /* a blocking call was made on the reactor thread */
#define CROCHET_ENOTFOUND      -8   /* no stashed result has that id (or it was already retrieved) */
#define CROCHET_ENOMEM         -9   /* out of memory */
#define CROCHET_EALREADY      -10   /* the deferred or delayed call has already fired or been cancelled */
#define CROCHET_ENOTREACTOR   -11   /* this function may only be called on the reactor thread */
#define CROCHET_EAGAIN        -12   /* a configured bound is reached; retry later (since 0.2) */

/* A static, human-readable description of any status, including unknown ones
 * ("unknown libcrochet status"). Never NULL; the string is never freed. */
const char *crochet_strerror(int status);

/* The name of a status as a static string ("CROCHET_ETIMEDOUT", ...), or
 * "CROCHET_EUNKNOWN" for a value not in the table, like uv_err_name. Never
 * NULL; the string is never freed. (Since 0.2.) */
const char *crochet_status_name(int status);

/* The runtime library's version, CROCHET_VERSION_STRING of the build that made
 * it. Compare it with the header's macros to detect a mismatch. Never NULL. */
const char *crochet_version(void);

/* The runtime library's CROCHET_VERSION_NUMBER (MAJOR*10000 + MINOR*100 +
 * PATCH), for numeric comparisons. (Since 0.2.) */
unsigned crochet_version_number(void);

/* ------------------------------------------------------------------------- */
/* Values                                                                     */
/* ------------------------------------------------------------------------- */

/* The type of a foreign function's argument or return value. */
typedef enum crochet_type {
    CROCHET_TYPE_VOID = 0,
    CROCHET_TYPE_INT8 = 1,  CROCHET_TYPE_UINT8 = 2,
    CROCHET_TYPE_INT16 = 3, CROCHET_TYPE_UINT16 = 4,
    CROCHET_TYPE_INT32 = 5, CROCHET_TYPE_UINT32 = 6,
    CROCHET_TYPE_INT64 = 7, CROCHET_TYPE_UINT64 = 8,
    CROCHET_TYPE_FLOAT = 9, CROCHET_TYPE_DOUBLE = 10,
    CROCHET_TYPE_POINTER = 11,
    CROCHET_TYPE_DEFERRED = 12  /* return type only: fn returns crochet_deferred*; the result follows it */
} crochet_type;

/* A tagged value: an argument, or a call's result. */
typedef struct crochet_value {
    crochet_type type;
    union {
        int8_t i8; uint8_t u8; int16_t i16; uint16_t u16;
        int32_t i32; uint32_t u32; int64_t i64; uint64_t u64;
        float f32; double f64; void *ptr;
    } u;
} crochet_value;

/* Any function pointer, cast to this for crochet_submit. */
typedef void (*crochet_fn)(void);

/* Releases a callback's ctx; see "Callbacks own their ctx" above. */
typedef void (*crochet_destroy_fn)(void *ctx);

/* The most arguments one call may take. */
#define CROCHET_MAX_ARGS 32

/* Value constructors, one per type. */
static inline crochet_value crochet_void(void)             { crochet_value v; v.type = CROCHET_TYPE_VOID;    v.u.u64 = 0; return v; }
static inline crochet_value crochet_int8(int8_t x)         { crochet_value v; v.type = CROCHET_TYPE_INT8;    v.u.u64 = 0; v.u.i8 = x;  return v; }
static inline crochet_value crochet_uint8(uint8_t x)       { crochet_value v; v.type = CROCHET_TYPE_UINT8;   v.u.u64 = 0; v.u.u8 = x;  return v; }
static inline crochet_value crochet_int16(int16_t x)       { crochet_value v; v.type = CROCHET_TYPE_INT16;   v.u.u64 = 0; v.u.i16 = x; return v; }
static inline crochet_value crochet_uint16(uint16_t x)     { crochet_value v; v.type = CROCHET_TYPE_UINT16;  v.u.u64 = 0; v.u.u16 = x; return v; }
static inline crochet_value crochet_int32(int32_t x)       { crochet_value v; v.type = CROCHET_TYPE_INT32;   v.u.u64 = 0; v.u.i32 = x; return v; }
static inline crochet_value crochet_uint32(uint32_t x)     { crochet_value v; v.type = CROCHET_TYPE_UINT32;  v.u.u64 = 0; v.u.u32 = x; return v; }
static inline crochet_value crochet_int64(int64_t x)       { crochet_value v; v.type = CROCHET_TYPE_INT64;   v.u.i64 = x; return v; }
static inline crochet_value crochet_uint64(uint64_t x)     { crochet_value v; v.type = CROCHET_TYPE_UINT64;  v.u.u64 = x; return v; }
static inline crochet_value crochet_float(float x)         { crochet_value v; v.type = CROCHET_TYPE_FLOAT;   v.u.u64 = 0; v.u.f32 = x; return v; }
static inline crochet_value crochet_double(double x)       { crochet_value v; v.type = CROCHET_TYPE_DOUBLE;  v.u.f64 = x; return v; }
static inline crochet_value crochet_pointer(void *x)       { crochet_value v; v.type = CROCHET_TYPE_POINTER; v.u.u64 = 0; v.u.ptr = x; return v; }

/* ------------------------------------------------------------------------- */
/* Handles                                                                    */
/* ------------------------------------------------------------------------- */

typedef struct crochet_result crochet_result;           /* an EventualResult */
typedef struct crochet_failure crochet_failure;         /* why a result failed */
typedef struct crochet_deferred crochet_deferred;       /* an async result made on the reactor */
typedef struct crochet_delayed_call crochet_delayed_call; /* a timer from crochet_call_later */

/* ------------------------------------------------------------------------- */
/* Lifecycle (crochet.setup / crochet.no_setup)                               */
/* ------------------------------------------------------------------------- */

/* Starts the reactor on a thread the library owns and registers an exit
 * handler that stops it (and logs failures of results still stashed).
 * Idempotent: later calls return CROCHET_OK and do nothing; after
 * crochet_no_setup() it returns CROCHET_OK and has no effect. In a child made
 * by fork() it starts a fresh reactor.
 * Signals: the library's threads (reactor, workers, logging) have the signal
 * mask of the thread that started them plus, unless the process ignores
 * SIGPIPE at setup, SIGPIPE blocked, so a write to a broken pipe or socket on
 * the reactor thread fails with EPIPE instead of ending the process; a
 * process forked on one of them gets SIGPIPE back.
 * Returns CROCHET_OK, or CROCHET_ENOMEM when the thread or its resources
 * cannot be created. */
CROCHET_WARN_UNUSED_RESULT int crochet_setup(void);

/* Initializes the library with no side effects: no thread is started and
 * logging is untouched. Run the reactor yourself with crochet_run().
 * Returns CROCHET_OK, or CROCHET_ESTATE after crochet_setup() or a second
 * crochet_no_setup(). */
CROCHET_WARN_UNUSED_RESULT int crochet_no_setup(void);

/* After crochet_no_setup(), runs the reactor on the calling thread until
 * crochet_stop(); that thread is the reactor thread meanwhile.
 * Returns CROCHET_OK once stopped; CROCHET_ESTATE without crochet_no_setup(),
 * while the reactor already runs, or once it has stopped (a reactor runs
 * once); CROCHET_ENOMEM if the selector cannot be created. */
CROCHET_WARN_UNUSED_RESULT int crochet_run(void);

/* Any thread. Stops the reactor: shutdown triggers run on the reactor thread,
 * then every pending result completes with CROCHET_ESTOPPED, so every blocked
 * waiter returns. From the moment it is called, submissions, call_from_thread
 * and call_later return CROCHET_ESTOPPED (also on the reactor thread, whose
 * current callbacks and fd events of the current turn still run), and calls
 * not yet started never start. Returns at once (it does not wait for the
 * reactor thread). Idempotent. The reactor thread does the stopping: a
 * callback running when crochet_stop is called finishes first, and the
 * waiters return then (a wait with a timeout bounds how long).
 * Returns CROCHET_OK, or CROCHET_ESTATE before setup/no_setup. */
int crochet_stop(void);

/* 1 on the reactor thread (while it runs the reactor), else 0. */
int crochet_in_reactor_thread(void);

/* ------------------------------------------------------------------------- */
/* Calling into the reactor (crochet.run_in_reactor)                          */
/* ------------------------------------------------------------------------- */

/* Queues fn(args...) to be called on the reactor thread through libffi, with
 * the argument types given by args[i].type and the given return type, and
 * returns at once with a new EventualResult (one reference, yours) in *out.
 * Argument values are copied: the caller's array may be freed at once.
 *
 * When return_type is CROCHET_TYPE_DEFERRED, fn returns a crochet_deferred *
 * and hands its reference to the engine; the result completes when that
 * deferred fires (a NULL return fails the call with code CROCHET_EINVAL).
 * Otherwise the result completes with the returned value when fn returns.
 * Inside fn, crochet_raise() fails the call instead.
 *
 * args may be NULL when nargs is 0. *out is set to NULL on any error.
 * Returns CROCHET_OK; CROCHET_EINVAL for a NULL out or fn, NULL args with
 * nargs > 0, an unknown type tag, CROCHET_TYPE_VOID or CROCHET_TYPE_DEFERRED
 * as an argument type, or nargs > CROCHET_MAX_ARGS; CROCHET_ESTATE before
 * setup/no_setup; CROCHET_ESTOPPED after stop; CROCHET_ENOMEM. */
CROCHET_WARN_UNUSED_RESULT int crochet_submit(crochet_result **out, crochet_fn fn, crochet_type return_type,
                   const crochet_value *args, size_t nargs);

/* crochet_submit with the arguments given as trailing constructor calls:
 *   CROCHET_SUBMIT(&r, add, CROCHET_TYPE_INT32, crochet_int32(1), crochet_int32(2));
 *   CROCHET_SUBMIT(&r, tick, CROCHET_TYPE_VOID);
 * (C99; in C++ build the array yourself.) */
#define CROCHET_SUBMIT(out, fn, return_type, ...)                                   \
    crochet_submit((out), (crochet_fn)(fn), (return_type),                          \
        ((const crochet_value[]){ crochet_void(), __VA_ARGS__ }) + 1,               \
        sizeof((const crochet_value[]){ crochet_void(), __VA_ARGS__ })              \
            / sizeof(crochet_value) - 1)

/* Type-checked submit (C11 with GCC or Clang): the return and argument tags
 * are deduced from fn's type and the arguments' types, at compile time.
 *   CROCHET_CALL(&r, add, 1, 2);                  int32_t add(int32_t, int32_t)
 *   CROCHET_CALL(&r, half, 10.0);                 double half(double)
 *   CROCHET_CALL(&r, tick);                       void tick(void)
 *   CROCHET_CALL(&r, fetch, (const char *)url);   crochet_deferred *fetch(const char *)
 * Each argument must have exactly the type of fn's parameter: C would
 * convert CROCHET_CALL(&r, half, 10) silently, but the reactor calls fn
 * through libffi with the arguments' own types, so this does not compile
 * ("CROCHET_CALL: each argument must have exactly the type of its
 * parameter"). Cast literals and pointers to the parameter's type, including
 * const. Types with no crochet_type (structs, long double, enums: cast them)
 * do not compile either. fn returning crochet_deferred * follows the
 * deferred, as CROCHET_TYPE_DEFERRED does. Up to 16 arguments; each is
 * evaluated once. Returns crochet_submit's status. */
#if defined(__GNUC__) && !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
static inline crochet_value crochet__bool(_Bool x) { return crochet_uint8((uint8_t)x); }
static inline crochet_value crochet__char(char x) { return (char)-1 < 0 ? crochet_int8((int8_t)x) : crochet_uint8((uint8_t)x); }
static inline crochet_value crochet__long(long x) { return sizeof(long) == 8 ? crochet_int64((int64_t)x) : crochet_int32((int32_t)x); }
static inline crochet_value crochet__ulong(unsigned long x) { return sizeof(long) == 8 ? crochet_uint64((uint64_t)x) : crochet_uint32((uint32_t)x); }
static inline crochet_value crochet__llong(long long x) { return crochet_int64((int64_t)x); }
static inline crochet_value crochet__ullong(unsigned long long x) { return crochet_uint64((uint64_t)x); }
static inline crochet_value crochet__object(const volatile void *p) { return crochet_pointer((void *)(uintptr_t)p); }

/* An expression's type after lvalue conversion (arrays decay; short stays short). */
#define CROCHET__TYPE(x) __typeof__(((void)0, (x)))
/* The value of an argument, evaluated once: only the selected constructor's
 * call is type-checked, so a struct argument fails to compile there. */
#define CROCHET__VALUE(x) _Generic(((void)0, (x)),                                     \
    _Bool: crochet__bool, char: crochet__char, signed char: crochet_int8,             \
    unsigned char: crochet_uint8, short: crochet_int16, unsigned short: crochet_uint16, \
    int: crochet_int32, unsigned int: crochet_uint32, long: crochet__long,            \
    unsigned long: crochet__ulong, long long: crochet__llong,                          \
    unsigned long long: crochet__ullong, float: crochet_float, double: crochet_double, \
    default: crochet__object)(x)
/* The tag for a pointer to a value of some type; default: any pointer. */
#define CROCHET__TAG_OF_POINTER(p) _Generic((p),                                       \
    _Bool *: CROCHET_TYPE_UINT8, char *: ((char)-1 < 0 ? CROCHET_TYPE_INT8 : CROCHET_TYPE_UINT8), \
    signed char *: CROCHET_TYPE_INT8, unsigned char *: CROCHET_TYPE_UINT8,             \
    short *: CROCHET_TYPE_INT16, unsigned short *: CROCHET_TYPE_UINT16,                \
    int *: CROCHET_TYPE_INT32, unsigned int *: CROCHET_TYPE_UINT32,                    \
    long *: (sizeof(long) == 8 ? CROCHET_TYPE_INT64 : CROCHET_TYPE_INT32),             \
    unsigned long *: (sizeof(long) == 8 ? CROCHET_TYPE_UINT64 : CROCHET_TYPE_UINT32),  \
    long long *: CROCHET_TYPE_INT64, unsigned long long *: CROCHET_TYPE_UINT64,        \
    float *: CROCHET_TYPE_FLOAT, double *: CROCHET_TYPE_DOUBLE,                        \
    void *: CROCHET_TYPE_VOID, crochet_deferred **: CROCHET_TYPE_DEFERRED,             \
    default: CROCHET_TYPE_POINTER)
/* A type as a value type: void becomes char (to classify it harmlessly). */
#define CROCHET__VALUE_TYPE(t) __typeof__(*_Generic((t *)0, void *: (char *)0, default: (t *)0))
/* Whether the tag fits the type: a tag of POINTER must be a pointer (not an
 * enum, a struct or a long double, which reach the default association). */
#define CROCHET__FITS(t) (CROCHET__TAG_OF_POINTER((t *)0) != CROCHET_TYPE_POINTER \
    || __builtin_classify_type(*(CROCHET__VALUE_TYPE(t) *)0) == 5)
#define CROCHET__RETURN_TAG(call) CROCHET__TAG_OF_POINTER((__typeof__(call) *)0)
#define CROCHET__CHECK(fn, call, ...) (void)sizeof(struct {                            \
    _Static_assert(__builtin_types_compatible_p(__typeof__(&*(fn)), __typeof__(call) (*)(__VA_ARGS__)), \
                   "CROCHET_CALL: each argument must have exactly the type of its parameter (cast it)"); \
    _Static_assert(CROCHET__FITS(__typeof__(call)),                                    \
                   "CROCHET_CALL: the return type has no crochet_type (a struct or a long double)"); \
    char crochet__unused; })
/* Each argument's type must fit too. */
#define CROCHET__ARG_FITS(a) (void)sizeof(struct {                                      \
    _Static_assert(CROCHET__FITS(CROCHET__TYPE(a)),                                     \
                   "CROCHET_CALL: an argument type has no crochet_type (a struct or a long double)"); \
    char crochet__unused; })
#define CROCHET__COUNT(...) CROCHET__COUNT_(__VA_ARGS__, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, )
#define CROCHET__COUNT_(fn, _1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, n, ...) n
#define CROCHET__CAT(a, b) CROCHET__CAT_(a, b)
#define CROCHET__CAT_(a, b) a##b
#define CROCHET__CALL_0(out, fn) \
    (CROCHET__CHECK(fn, (fn)(), void), \
     crochet_submit((out), (crochet_fn)(fn), CROCHET__RETURN_TAG((fn)()), NULL, 0))
#define CROCHET__CALL_1(out, fn, a1) \
    (CROCHET__CHECK(fn, (fn)(a1), CROCHET__TYPE(a1)), CROCHET__ARG_FITS(a1), \
     crochet_submit((out), (crochet_fn)(fn), CROCHET__RETURN_TAG((fn)(a1)), \
                    (const crochet_value[]){ CROCHET__VALUE(a1) }, 1))
#define CROCHET__CALL_2(out, fn, a1, a2) \
    (CROCHET__CHECK(fn, (fn)(a1, a2), CROCHET__TYPE(a1), CROCHET__TYPE(a2)), CROCHET__ARG_FITS(a1), CROCHET__ARG_FITS(a2), \
     crochet_submit((out), (crochet_fn)(fn), CROCHET__RETURN_TAG((fn)(a1, a2)), \
                    (const crochet_value[]){ CROCHET__VALUE(a1), CROCHET__VALUE(a2) }, 2))
#define CROCHET__CALL_3(out, fn, a1, a2, a3) \
    (CROCHET__CHECK(fn, (fn)(a1, a2, a3), CROCHET__TYPE(a1), CROCHET__TYPE(a2), CROCHET__TYPE(a3)), CROCHET__ARG_FITS(a1), CROCHET__ARG_FITS(a2), CROCHET__ARG_FITS(a3), \
     crochet_submit((out), (crochet_fn)(fn), CROCHET__RETURN_TAG((fn)(a1, a2, a3)), \
                    (const crochet_value[]){ CROCHET__VALUE(a1), CROCHET__VALUE(a2), CROCHET__VALUE(a3) }, 3))
#define CROCHET__CALL_4(out, fn, a1, a2, a3, a4) \
    (CROCHET__CHECK(fn, (fn)(a1, a2, a3, a4), CROCHET__TYPE(a1), CROCHET__TYPE(a2), CROCHET__TYPE(a3), CROCHET__TYPE(a4)), CROCHET__ARG_FITS(a1), CROCHET__ARG_FITS(a2), CROCHET__ARG_FITS(a3), CROCHET__ARG_FITS(a4), \
     crochet_submit((out), (crochet_fn)(fn), CROCHET__RETURN_TAG((fn)(a1, a2, a3, a4)), \
                    (const crochet_value[]){ CROCHET__VALUE(a1), CROCHET__VALUE(a2), CROCHET__VALUE(a3), CROCHET__VALUE(a4) }, 4))
#define CROCHET__CALL_5(out, fn, a1, a2, a3, a4, a5) \
    (CROCHET__CHECK(fn, (fn)(a1, a2, a3, a4, a5), CROCHET__TYPE(a1), CROCHET__TYPE(a2), CROCHET__TYPE(a3), CROCHET__TYPE(a4), CROCHET__TYPE(a5)), CROCHET__ARG_FITS(a1), CROCHET__ARG_FITS(a2), CROCHET__ARG_FITS(a3), CROCHET__ARG_FITS(a4), CROCHET__ARG_FITS(a5), \
     crochet_submit((out), (crochet_fn)(fn), CROCHET__RETURN_TAG((fn)(a1, a2, a3, a4, a5)), \
                    (const crochet_value[]){ CROCHET__VALUE(a1), CROCHET__VALUE(a2), CROCHET__VALUE(a3), CROCHET__VALUE(a4), CROCHET__VALUE(a5) }, 5))
#define CROCHET__CALL_6(out, fn, a1, a2, a3, a4, a5, a6) \
    (CROCHET__CHECK(fn, (fn)(a1, a2, a3, a4, a5, a6), CROCHET__TYPE(a1), CROCHET__TYPE(a2), CROCHET__TYPE(a3), CROCHET__TYPE(a4), CROCHET__TYPE(a5), CROCHET__TYPE(a6)), CROCHET__ARG_FITS(a1), CROCHET__ARG_FITS(a2), CROCHET__ARG_FITS(a3), CROCHET__ARG_FITS(a4), CROCHET__ARG_FITS(a5), CROCHET__ARG_FITS(a6), \
     crochet_submit((out), (crochet_fn)(fn), CROCHET__RETURN_TAG((fn)(a1, a2, a3, a4, a5, a6)), \
                    (const crochet_value[]){ CROCHET__VALUE(a1), CROCHET__VALUE(a2), CROCHET__VALUE(a3), CROCHET__VALUE(a4), CROCHET__VALUE(a5), CROCHET__VALUE(a6) }, 6))
#define CROCHET__CALL_7(out, fn, a1, a2, a3, a4, a5, a6, a7) \
    (CROCHET__CHECK(fn, (fn)(a1, a2, a3, a4, a5, a6, a7), CROCHET__TYPE(a1), CROCHET__TYPE(a2), CROCHET__TYPE(a3), CROCHET__TYPE(a4), CROCHET__TYPE(a5), CROCHET__TYPE(a6), CROCHET__TYPE(a7)), CROCHET__ARG_FITS(a1), CROCHET__ARG_FITS(a2), CROCHET__ARG_FITS(a3), CROCHET__ARG_FITS(a4), CROCHET__ARG_FITS(a5), CROCHET__ARG_FITS(a6), CROCHET__ARG_FITS(a7), \
     crochet_submit((out), (crochet_fn)(fn), CROCHET__RETURN_TAG((fn)(a1, a2, a3, a4, a5, a6, a7)), \
                    (const crochet_value[]){ CROCHET__VALUE(a1), CROCHET__VALUE(a2), CROCHET__VALUE(a3), CROCHET__VALUE(a4), CROCHET__VALUE(a5), CROCHET__VALUE(a6), CROCHET__VALUE(a7) }, 7))
#define CROCHET__CALL_8(out, fn, a1, a2, a3, a4, a5, a6, a7, a8) \
    (CROCHET__CHECK(fn, (fn)(a1, a2, a3, a4, a5, a6, a7, a8), CROCHET__TYPE(a1), CROCHET__TYPE(a2), CROCHET__TYPE(a3), CROCHET__TYPE(a4), CROCHET__TYPE(a5), CROCHET__TYPE(a6), CROCHET__TYPE(a7), CROCHET__TYPE(a8)), CROCHET__ARG_FITS(a1), CROCHET__ARG_FITS(a2), CROCHET__ARG_FITS(a3), CROCHET__ARG_FITS(a4), CROCHET__ARG_FITS(a5), CROCHET__ARG_FITS(a6), CROCHET__ARG_FITS(a7), CROCHET__ARG_FITS(a8), \
     crochet_submit((out), (crochet_fn)(fn), CROCHET__RETURN_TAG((fn)(a1, a2, a3, a4, a5, a6, a7, a8)), \
                    (const crochet_value[]){ CROCHET__VALUE(a1), CROCHET__VALUE(a2), CROCHET__VALUE(a3), CROCHET__VALUE(a4), CROCHET__VALUE(a5), CROCHET__VALUE(a6), CROCHET__VALUE(a7), CROCHET__VALUE(a8) }, 8))
#define CROCHET__CALL_9(out, fn, a1, a2, a3, a4, a5, a6, a7, a8, a9) \
    (CROCHET__CHECK(fn, (fn)(a1, a2, a3, a4, a5, a6, a7, a8, a9), CROCHET__TYPE(a1), CROCHET__TYPE(a2), CROCHET__TYPE(a3), CROCHET__TYPE(a4), CROCHET__TYPE(a5), CROCHET__TYPE(a6), CROCHET__TYPE(a7), CROCHET__TYPE(a8), CROCHET__TYPE(a9)), CROCHET__ARG_FITS(a1), CROCHET__ARG_FITS(a2), CROCHET__ARG_FITS(a3), CROCHET__ARG_FITS(a4), CROCHET__ARG_FITS(a5), CROCHET__ARG_FITS(a6), CROCHET__ARG_FITS(a7), CROCHET__ARG_FITS(a8), CROCHET__ARG_FITS(a9), \
     crochet_submit((out), (crochet_fn)(fn), CROCHET__RETURN_TAG((fn)(a1, a2, a3, a4, a5, a6, a7, a8, a9)), \
                    (const crochet_value[]){ CROCHET__VALUE(a1), CROCHET__VALUE(a2), CROCHET__VALUE(a3), CROCHET__VALUE(a4), CROCHET__VALUE(a5), CROCHET__VALUE(a6), CROCHET__VALUE(a7), CROCHET__VALUE(a8), CROCHET__VALUE(a9) }, 9))
#define CROCHET__CALL_10(out, fn, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10) \
    (CROCHET__CHECK(fn, (fn)(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10), CROCHET__TYPE(a1), CROCHET__TYPE(a2), CROCHET__TYPE(a3), CROCHET__TYPE(a4), CROCHET__TYPE(a5), CROCHET__TYPE(a6), CROCHET__TYPE(a7), CROCHET__TYPE(a8), CROCHET__TYPE(a9), CROCHET__TYPE(a10)), CROCHET__ARG_FITS(a1), CROCHET__ARG_FITS(a2), CROCHET__ARG_FITS(a3), CROCHET__ARG_FITS(a4), CROCHET__ARG_FITS(a5), CROCHET__ARG_FITS(a6), CROCHET__ARG_FITS(a7), CROCHET__ARG_FITS(a8), CROCHET__ARG_FITS(a9), CROCHET__ARG_FITS(a10), \
     crochet_submit((out), (crochet_fn)(fn), CROCHET__RETURN_TAG((fn)(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10)), \
                    (const crochet_value[]){ CROCHET__VALUE(a1), CROCHET__VALUE(a2), CROCHET__VALUE(a3), CROCHET__VALUE(a4), CROCHET__VALUE(a5), CROCHET__VALUE(a6), CROCHET__VALUE(a7), CROCHET__VALUE(a8), CROCHET__VALUE(a9), CROCHET__VALUE(a10) }, 10))
#define CROCHET__CALL_11(out, fn, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11) \
    (CROCHET__CHECK(fn, (fn)(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11), CROCHET__TYPE(a1), CROCHET__TYPE(a2), CROCHET__TYPE(a3), CROCHET__TYPE(a4), CROCHET__TYPE(a5), CROCHET__TYPE(a6), CROCHET__TYPE(a7), CROCHET__TYPE(a8), CROCHET__TYPE(a9), CROCHET__TYPE(a10), CROCHET__TYPE(a11)), CROCHET__ARG_FITS(a1), CROCHET__ARG_FITS(a2), CROCHET__ARG_FITS(a3), CROCHET__ARG_FITS(a4), CROCHET__ARG_FITS(a5), CROCHET__ARG_FITS(a6), CROCHET__ARG_FITS(a7), CROCHET__ARG_FITS(a8), CROCHET__ARG_FITS(a9), CROCHET__ARG_FITS(a10), CROCHET__ARG_FITS(a11), \
     crochet_submit((out), (crochet_fn)(fn), CROCHET__RETURN_TAG((fn)(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11)), \
                    (const crochet_value[]){ CROCHET__VALUE(a1), CROCHET__VALUE(a2), CROCHET__VALUE(a3), CROCHET__VALUE(a4), CROCHET__VALUE(a5), CROCHET__VALUE(a6), CROCHET__VALUE(a7), CROCHET__VALUE(a8), CROCHET__VALUE(a9), CROCHET__VALUE(a10), CROCHET__VALUE(a11) }, 11))
#define CROCHET__CALL_12(out, fn, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12) \
    (CROCHET__CHECK(fn, (fn)(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12), CROCHET__TYPE(a1), CROCHET__TYPE(a2), CROCHET__TYPE(a3), CROCHET__TYPE(a4), CROCHET__TYPE(a5), CROCHET__TYPE(a6), CROCHET__TYPE(a7), CROCHET__TYPE(a8), CROCHET__TYPE(a9), CROCHET__TYPE(a10), CROCHET__TYPE(a11), CROCHET__TYPE(a12)), CROCHET__ARG_FITS(a1), CROCHET__ARG_FITS(a2), CROCHET__ARG_FITS(a3), CROCHET__ARG_FITS(a4), CROCHET__ARG_FITS(a5), CROCHET__ARG_FITS(a6), CROCHET__ARG_FITS(a7), CROCHET__ARG_FITS(a8), CROCHET__ARG_FITS(a9), CROCHET__ARG_FITS(a10), CROCHET__ARG_FITS(a11), CROCHET__ARG_FITS(a12), \
     crochet_submit((out), (crochet_fn)(fn), CROCHET__RETURN_TAG((fn)(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12)), \
                    (const crochet_value[]){ CROCHET__VALUE(a1), CROCHET__VALUE(a2), CROCHET__VALUE(a3), CROCHET__VALUE(a4), CROCHET__VALUE(a5), CROCHET__VALUE(a6), CROCHET__VALUE(a7), CROCHET__VALUE(a8), CROCHET__VALUE(a9), CROCHET__VALUE(a10), CROCHET__VALUE(a11), CROCHET__VALUE(a12) }, 12))
#define CROCHET__CALL_13(out, fn, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13) \
    (CROCHET__CHECK(fn, (fn)(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13), CROCHET__TYPE(a1), CROCHET__TYPE(a2), CROCHET__TYPE(a3), CROCHET__TYPE(a4), CROCHET__TYPE(a5), CROCHET__TYPE(a6), CROCHET__TYPE(a7), CROCHET__TYPE(a8), CROCHET__TYPE(a9), CROCHET__TYPE(a10), CROCHET__TYPE(a11), CROCHET__TYPE(a12), CROCHET__TYPE(a13)), CROCHET__ARG_FITS(a1), CROCHET__ARG_FITS(a2), CROCHET__ARG_FITS(a3), CROCHET__ARG_FITS(a4), CROCHET__ARG_FITS(a5), CROCHET__ARG_FITS(a6), CROCHET__ARG_FITS(a7), CROCHET__ARG_FITS(a8), CROCHET__ARG_FITS(a9), CROCHET__ARG_FITS(a10), CROCHET__ARG_FITS(a11), CROCHET__ARG_FITS(a12), CROCHET__ARG_FITS(a13), \
     crochet_submit((out), (crochet_fn)(fn), CROCHET__RETURN_TAG((fn)(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13)), \
                    (const crochet_value[]){ CROCHET__VALUE(a1), CROCHET__VALUE(a2), CROCHET__VALUE(a3), CROCHET__VALUE(a4), CROCHET__VALUE(a5), CROCHET__VALUE(a6), CROCHET__VALUE(a7), CROCHET__VALUE(a8), CROCHET__VALUE(a9), CROCHET__VALUE(a10), CROCHET__VALUE(a11), CROCHET__VALUE(a12), CROCHET__VALUE(a13) }, 13))
#define CROCHET__CALL_14(out, fn, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14) \
    (CROCHET__CHECK(fn, (fn)(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14), CROCHET__TYPE(a1), CROCHET__TYPE(a2), CROCHET__TYPE(a3), CROCHET__TYPE(a4), CROCHET__TYPE(a5), CROCHET__TYPE(a6), CROCHET__TYPE(a7), CROCHET__TYPE(a8), CROCHET__TYPE(a9), CROCHET__TYPE(a10), CROCHET__TYPE(a11), CROCHET__TYPE(a12), CROCHET__TYPE(a13), CROCHET__TYPE(a14)), CROCHET__ARG_FITS(a1), CROCHET__ARG_FITS(a2), CROCHET__ARG_FITS(a3), CROCHET__ARG_FITS(a4), CROCHET__ARG_FITS(a5), CROCHET__ARG_FITS(a6), CROCHET__ARG_FITS(a7), CROCHET__ARG_FITS(a8), CROCHET__ARG_FITS(a9), CROCHET__ARG_FITS(a10), CROCHET__ARG_FITS(a11), CROCHET__ARG_FITS(a12), CROCHET__ARG_FITS(a13), CROCHET__ARG_FITS(a14), \
     crochet_submit((out), (crochet_fn)(fn), CROCHET__RETURN_TAG((fn)(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14)), \
                    (const crochet_value[]){ CROCHET__VALUE(a1), CROCHET__VALUE(a2), CROCHET__VALUE(a3), CROCHET__VALUE(a4), CROCHET__VALUE(a5), CROCHET__VALUE(a6), CROCHET__VALUE(a7), CROCHET__VALUE(a8), CROCHET__VALUE(a9), CROCHET__VALUE(a10), CROCHET__VALUE(a11), CROCHET__VALUE(a12), CROCHET__VALUE(a13), CROCHET__VALUE(a14) }, 14))
#define CROCHET__CALL_15(out, fn, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15) \
    (CROCHET__CHECK(fn, (fn)(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15), CROCHET__TYPE(a1), CROCHET__TYPE(a2), CROCHET__TYPE(a3), CROCHET__TYPE(a4), CROCHET__TYPE(a5), CROCHET__TYPE(a6), CROCHET__TYPE(a7), CROCHET__TYPE(a8), CROCHET__TYPE(a9), CROCHET__TYPE(a10), CROCHET__TYPE(a11), CROCHET__TYPE(a12), CROCHET__TYPE(a13), CROCHET__TYPE(a14), CROCHET__TYPE(a15)), CROCHET__ARG_FITS(a1), CROCHET__ARG_FITS(a2), CROCHET__ARG_FITS(a3), CROCHET__ARG_FITS(a4), CROCHET__ARG_FITS(a5), CROCHET__ARG_FITS(a6), CROCHET__ARG_FITS(a7), CROCHET__ARG_FITS(a8), CROCHET__ARG_FITS(a9), CROCHET__ARG_FITS(a10), CROCHET__ARG_FITS(a11), CROCHET__ARG_FITS(a12), CROCHET__ARG_FITS(a13), CROCHET__ARG_FITS(a14), CROCHET__ARG_FITS(a15), \
     crochet_submit((out), (crochet_fn)(fn), CROCHET__RETURN_TAG((fn)(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15)), \
                    (const crochet_value[]){ CROCHET__VALUE(a1), CROCHET__VALUE(a2), CROCHET__VALUE(a3), CROCHET__VALUE(a4), CROCHET__VALUE(a5), CROCHET__VALUE(a6), CROCHET__VALUE(a7), CROCHET__VALUE(a8), CROCHET__VALUE(a9), CROCHET__VALUE(a10), CROCHET__VALUE(a11), CROCHET__VALUE(a12), CROCHET__VALUE(a13), CROCHET__VALUE(a14), CROCHET__VALUE(a15) }, 15))
#define CROCHET__CALL_16(out, fn, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16) \
    (CROCHET__CHECK(fn, (fn)(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16), CROCHET__TYPE(a1), CROCHET__TYPE(a2), CROCHET__TYPE(a3), CROCHET__TYPE(a4), CROCHET__TYPE(a5), CROCHET__TYPE(a6), CROCHET__TYPE(a7), CROCHET__TYPE(a8), CROCHET__TYPE(a9), CROCHET__TYPE(a10), CROCHET__TYPE(a11), CROCHET__TYPE(a12), CROCHET__TYPE(a13), CROCHET__TYPE(a14), CROCHET__TYPE(a15), CROCHET__TYPE(a16)), CROCHET__ARG_FITS(a1), CROCHET__ARG_FITS(a2), CROCHET__ARG_FITS(a3), CROCHET__ARG_FITS(a4), CROCHET__ARG_FITS(a5), CROCHET__ARG_FITS(a6), CROCHET__ARG_FITS(a7), CROCHET__ARG_FITS(a8), CROCHET__ARG_FITS(a9), CROCHET__ARG_FITS(a10), CROCHET__ARG_FITS(a11), CROCHET__ARG_FITS(a12), CROCHET__ARG_FITS(a13), CROCHET__ARG_FITS(a14), CROCHET__ARG_FITS(a15), CROCHET__ARG_FITS(a16), \
     crochet_submit((out), (crochet_fn)(fn), CROCHET__RETURN_TAG((fn)(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16)), \
                    (const crochet_value[]){ CROCHET__VALUE(a1), CROCHET__VALUE(a2), CROCHET__VALUE(a3), CROCHET__VALUE(a4), CROCHET__VALUE(a5), CROCHET__VALUE(a6), CROCHET__VALUE(a7), CROCHET__VALUE(a8), CROCHET__VALUE(a9), CROCHET__VALUE(a10), CROCHET__VALUE(a11), CROCHET__VALUE(a12), CROCHET__VALUE(a13), CROCHET__VALUE(a14), CROCHET__VALUE(a15), CROCHET__VALUE(a16) }, 16))
#define CROCHET_CALL(out, ...) \
    CROCHET__CAT(CROCHET__CALL_, CROCHET__COUNT(__VA_ARGS__))(out, __VA_ARGS__)
#endif

/* Reactor thread only, inside a submitted call (or a function run by
 * crochet_defer_to_thread, or a closure): marks the current call as failed
 * with code and message; the function's return value is then ignored and
 * never touched (a crochet_deferred * it returns stays the function's: the
 * engine neither follows nor releases it). message is copied
 * (NULL means ""), and a traceback of the calling thread is captured. A later
 * crochet_raise in the same call replaces the earlier one. crochet_wait then
 * returns CROCHET_EFAILED, except for the codes CROCHET_ECANCELLED and
 * CROCHET_ESTOPPED, which keep their meaning (as raising Twisted's
 * CancelledError does in crochet). Anywhere else it does nothing but log a
 * warning. */
void crochet_raise(int code, const char *message);

/* A closure: fn(ctx) returns a tagged value whose type is the result's type
 * (CROCHET_TYPE_VOID for none). Returning { .type = CROCHET_TYPE_DEFERRED,
 * .u.ptr = d } hands d's reference to the engine and the result follows d, as
 * a CROCHET_TYPE_DEFERRED return does for crochet_submit (a NULL d, or an
 * unknown type tag, fails the call with code CROCHET_EINVAL). fn may call
 * crochet_raise. (Since 0.2.) */
typedef crochet_value (*crochet_closure_fn)(void *ctx);

/* Queues fn(ctx) to run on the reactor thread, with no libffi: the form
 * bindings use for their own language's callables. Ordering, cancellation,
 * stop and every status are those of crochet_submit. destroy(ctx) runs
 * exactly once: on the reactor thread after fn returned, or when the call is
 * cancelled before it starts or rejected at stop; or on the calling thread
 * before this returns an error. *out is set to NULL on any error.
 * Returns CROCHET_OK; CROCHET_EINVAL for a NULL out or fn; CROCHET_ESTATE
 * before setup/no_setup; CROCHET_ESTOPPED after stop; CROCHET_ENOMEM.
 * (Since 0.2.) */
CROCHET_WARN_UNUSED_RESULT int crochet_submit_closure(crochet_result **out, crochet_closure_fn fn, void *ctx,
                           crochet_destroy_fn destroy);

/* ------------------------------------------------------------------------- */
/* Waiting (EventualResult)                                                   */
/* ------------------------------------------------------------------------- */

/* Waits up to timeout seconds for r's result.
 * Returns CROCHET_OK and stores the value in *value_out (value_out may be
 * NULL; value_out->type is the call's return type, CROCHET_TYPE_VOID for a
 * void function, or the type the deferred was fired with); or the call's
 * outcome: CROCHET_EFAILED, CROCHET_ECANCELLED, CROCHET_ESTOPPED (then
 * crochet_original_failure() says more); or CROCHET_ETIMEDOUT when no result
 * came within timeout (a later wait still waits). Once a result exists every
 * wait returns the same status and value. Any number of threads may wait on
 * one result at once. CROCHET_EREACTORTHREAD at once on the reactor thread;
 * CROCHET_EINVAL for a NULL r or a negative or NaN timeout. */
CROCHET_WARN_UNUSED_RESULT int crochet_wait(crochet_result *r, double timeout, crochet_value *value_out);

/* Asks for cancellation and returns at once; later calls have no further
 * effect. A call not yet started never starts and completes with
 * CROCHET_ECANCELLED; a call that returned a deferred has that deferred
 * cancelled on the reactor thread; a result that already exists is unchanged.
 * In every case the result does complete. A cancellation asked for here is
 * never logged as an unhandled error.
 * Returns CROCHET_OK, or CROCHET_EINVAL for a NULL r. */
int crochet_cancel(crochet_result *r);

/* The failure of r (borrowed: valid while you hold r) if its result is a
 * failure (CROCHET_EFAILED, CROCHET_ECANCELLED, CROCHET_ESTOPPED); NULL if it
 * succeeded, if no result exists yet, or if r is NULL. Marks the failure as
 * observed. Never blocks. */
const crochet_failure *crochet_original_failure(crochet_result *r);

/* Stores a new reference to r in the process-wide store and returns its id in
 * *id_out: unpredictable (keyed from the OS's secure random source), never 0,
 * never reused in this process, below 2^63 (it fits a signed 64-bit
 * column). You keep your own reference.
 * Returns CROCHET_OK; CROCHET_EINVAL for a NULL r or id_out; CROCHET_EAGAIN
 * when the store holds crochet_set_stash_limit's max_results; CROCHET_ENOMEM. */
CROCHET_WARN_UNUSED_RESULT int crochet_stash(crochet_result *r, uint64_t *id_out);

/* Removes the result stashed under id from the store and hands you its
 * reference in *out (NULL on error).
 * Returns CROCHET_OK; CROCHET_ENOTFOUND for an id never stashed or already
 * retrieved; CROCHET_EINVAL for a NULL out. */
CROCHET_WARN_UNUSED_RESULT int crochet_retrieve(crochet_result **out, uint64_t id);

/* Adds a reference to r and returns r (NULL for NULL). */
crochet_result *crochet_result_retain(crochet_result *r);

/* Drops a reference. When the last goes, a failure nobody observed (through
 * crochet_wait or crochet_original_failure) and nobody asked for (by
 * crochet_cancel) is logged at CROCHET_LOG_ERROR as "Unhandled error in
 * EventualResult: ..." with its code, message and traceback. NULL: no-op. */
void crochet_result_release(crochet_result *r);

/* Reactor thread only. Makes a new EventualResult (one reference, yours, in
 * *out) that completes when d fires; takes its own reference to d.
 * Returns CROCHET_OK; CROCHET_EINVAL for a NULL out or d; CROCHET_ENOTREACTOR;
 * CROCHET_ENOMEM. */
CROCHET_WARN_UNUSED_RESULT int crochet_result_new(crochet_result **out, crochet_deferred *d);

/* ------------------------------------------------------------------------- */
/* wait_for (crochet.wait_for)                                                */
/* ------------------------------------------------------------------------- */

/* Submits fn(args...) as crochet_submit does, then waits up to timeout
 * (counted from the submission); on CROCHET_ETIMEDOUT the call is cancelled
 * before this returns. Returns the call's status as crochet_wait does, the
 * value in *value_out (may be NULL). When the outcome is a failure and
 * failure_out is not NULL, *failure_out receives a reference you release
 * with crochet_failure_release; otherwise it is set to NULL.
 * Returns crochet_submit's errors before anything is submitted, and
 * CROCHET_EREACTORTHREAD on the reactor thread without submitting anything.
 *
 * Owned values are handed to you (since 0.2): when the value is a pointer
 * the result owned (crochet_deferred_callback_owned), the library never
 * calls its destroy function; you free the pointer as its producer says
 * (for example free()). So wait_for on a call producing a string gives you
 * the string. (A value is not owned by you when value_out is NULL: then the
 * library destroys it as usual.)
 *
 * After CROCHET_ETIMEDOUT a call that had not started never starts, but a
 * function already running on the reactor thread cannot be interrupted: it
 * may still be using pointer arguments after this returns. Pass pointers to
 * memory that outlives the call (or ids), as with threads. */
CROCHET_WARN_UNUSED_RESULT int crochet_wait_for(crochet_value *value_out, crochet_failure **failure_out,
                     double timeout, crochet_fn fn, crochet_type return_type,
                     const crochet_value *args, size_t nargs);

/* ------------------------------------------------------------------------- */
/* Failures                                                                   */
/* ------------------------------------------------------------------------- */

/* crochet_raise's or crochet_deferred_errback's code, or a CROCHET_E* code
 * (CROCHET_ECANCELLED, CROCHET_ESTOPPED, CROCHET_EINVAL for a NULL deferred).
 * 0 for a NULL f. */
int crochet_failure_code(const crochet_failure *f);

/* The failure's message (owned by f; "" if none or NULL f). Never NULL. */
const char *crochet_failure_message(const crochet_failure *f);

/* The frames of the thread where the failure was raised, one per line,
 * symbolised where the symbols are visible (link with -rdynamic to name your
 * own functions). Owned by f; never NULL. */
const char *crochet_failure_traceback(const crochet_failure *f);

/* Adds a reference to f and returns it (NULL for NULL). */
crochet_failure *crochet_failure_retain(const crochet_failure *f);

/* Drops a reference. NULL: no-op. */
void crochet_failure_release(crochet_failure *f);

/* ------------------------------------------------------------------------- */
/* Deferreds (async results produced on the reactor)                          */
/* ------------------------------------------------------------------------- */

/* Reactor thread only, except crochet_deferred_retain and _release, which any
 * thread may call. Like Twisted's Deferred: fire it once with a value
 * (callback) or a failure (errback). Firing twice is CROCHET_EALREADY, except
 * that firing a deferred that was cancelled is silently accepted. */

/* Runs on the reactor thread when the deferred is cancelled before it fired.
 * It may fire d (callback or errback); if it does not, d fails with
 * CROCHET_ECANCELLED. */
typedef void (*crochet_canceller)(crochet_deferred *d, void *ctx);

/* Makes a new, unfired deferred (one reference, yours, in *out). canceller
 * may be NULL. destroy(ctx) runs once the canceller can no longer run: when d
 * fired or was cancelled (after the canceller returned), or when d is freed
 * unfired (then on the thread that released it last); on this thread before
 * an error returns.
 * Returns CROCHET_OK; CROCHET_EINVAL for a NULL out; CROCHET_ENOTREACTOR;
 * CROCHET_ENOMEM. */
CROCHET_WARN_UNUSED_RESULT int crochet_deferred_new(crochet_deferred **out, crochet_canceller canceller, void *ctx,
                         crochet_destroy_fn destroy);

/* Fires d with value, running its callbacks now. A value of type
 * CROCHET_TYPE_DEFERRED is not allowed.
 * Returns CROCHET_OK (also when d was cancelled before: the value is then
 * dropped); CROCHET_EALREADY if d already fired; CROCHET_EINVAL for a NULL d
 * or a bad value type; CROCHET_ENOTREACTOR. */
int crochet_deferred_callback(crochet_deferred *d, crochet_value value);

/* Fires d with the pointer value ptr, which the result owns from now on:
 * destroy(ptr) runs exactly once, on whichever thread lets go last, when the
 * last holder of the value (d, and every EventualResult it reached) lets go.
 * destroy may be NULL. If the call fails (any status but CROCHET_OK), destroy
 * is never called and ptr stays yours.
 * Returns as crochet_deferred_callback does. */
int crochet_deferred_callback_owned(crochet_deferred *d, void *ptr, void (*destroy)(void *));

/* Fires d with a failure of code and message (copied; NULL means ""); a
 * traceback of the calling thread is captured. Results following d complete
 * as crochet_raise describes (CROCHET_ECANCELLED and CROCHET_ESTOPPED keep
 * their meaning; any other code gives CROCHET_EFAILED).
 * Returns as crochet_deferred_callback does. */
int crochet_deferred_errback(crochet_deferred *d, int code, const char *message);

/* Cancels d: when it has not fired, its canceller runs, and if that did not
 * fire it, d fails with CROCHET_ECANCELLED.
 * Returns CROCHET_OK; CROCHET_EALREADY if d had already fired or been
 * cancelled; CROCHET_EINVAL for a NULL d; CROCHET_ENOTREACTOR. */
int crochet_deferred_cancel(crochet_deferred *d);

/* Adds a pair of callbacks: on_value runs with the value if d succeeds,
 * on_failure with the failure (borrowed for the call) if it fails; either
 * may be NULL. They run on the reactor thread, in the order added, when d
 * fires, or at once if it already has (a pair added by a callback while d
 * fires runs after the pairs added before it, as in Twisted). A value is
 * borrowed for the call (copy an owned pointer's target, or keep d, to keep
 * it). destroy(ctx) runs after the pair ran, or when d is freed unfired (on
 * the thread that released it last); on this thread before an error returns.
 * Returns CROCHET_OK; CROCHET_EINVAL for a NULL d; CROCHET_ENOTREACTOR;
 * CROCHET_ENOMEM. */
int crochet_deferred_add_callbacks(crochet_deferred *d,
        void (*on_value)(crochet_value value, void *ctx),
        void (*on_failure)(const crochet_failure *f, void *ctx), void *ctx,
        crochet_destroy_fn destroy);

/* Any thread. Adds a reference to d and returns d (NULL for NULL). */
crochet_deferred *crochet_deferred_retain(crochet_deferred *d);

/* Any thread. Drops a reference. NULL: no-op. */
void crochet_deferred_release(crochet_deferred *d);

/* ------------------------------------------------------------------------- */
/* Reactor services                                                           */
/* ------------------------------------------------------------------------- */

/* Any thread. Runs fn(ctx) on the reactor thread soon, in submission order
 * with crochet_submit calls from the same thread. destroy(ctx) runs after fn
 * returned, or when the reactor stops before fn ran.
 * Returns CROCHET_OK; CROCHET_EINVAL for a NULL fn; CROCHET_ESTATE before
 * setup/no_setup; CROCHET_ESTOPPED after stop (fn never runs). */
int crochet_call_from_thread(void (*fn)(void *ctx), void *ctx, crochet_destroy_fn destroy);

/* Any thread. Runs fn(ctx) on the reactor thread after delay seconds. Timers
 * run in deadline order, first scheduled first among equal deadlines. When
 * out is not NULL it receives a handle (one reference, yours) to cancel the
 * call with; release it with crochet_delayed_call_release whether or not the
 * call ran; *out is set before the timer can fire, so fn may read it. A
 * timer still pending at stop never runs. destroy(ctx) runs after fn
 * returned, when the call is cancelled, or at stop.
 * Returns CROCHET_OK; CROCHET_EINVAL for a NULL fn or a negative, NaN or
 * infinite delay; CROCHET_ESTATE before setup/no_setup; CROCHET_ESTOPPED
 * after stop; CROCHET_ENOMEM. */
CROCHET_WARN_UNUSED_RESULT int crochet_call_later(crochet_delayed_call **out, double delay,
                       void (*fn)(void *ctx), void *ctx, crochet_destroy_fn destroy);

/* Any thread. Cancels the delayed call so that it never runs.
 * Returns CROCHET_OK; CROCHET_EALREADY if it already ran (or started
 * running) or was cancelled; CROCHET_EINVAL for a NULL c. */
int crochet_delayed_call_cancel(crochet_delayed_call *c);

/* Any thread. Drops your reference to the handle (it does not cancel the
 * call). NULL: no-op. */
void crochet_delayed_call_release(crochet_delayed_call *c);

/* Reactor thread only. Calls fn(fd, ctx) on the reactor thread while fd is
 * readable, or has an error or hang-up (so a reader sees EOF), level-triggered
 * like Twisted's addReader. A second add_reader on the same fd replaces its
 * callback. No callback runs for an fd after its watcher was removed.
 * destroy(ctx) runs when the watcher is removed or replaced, or the reactor
 * stops, after any running callback of it returned.
 * Returns CROCHET_OK; CROCHET_EINVAL for a NULL fn, a negative fd or one that
 * is not open (or cannot be polled); CROCHET_ENOTREACTOR; CROCHET_ENOMEM. */
int crochet_add_reader(int fd, void (*fn)(int fd, void *ctx), void *ctx, crochet_destroy_fn destroy);

/* Reactor thread only. Stops watching fd for reading (safe inside any
 * callback). Removing a reader that does not exist does nothing.
 * Returns CROCHET_OK; CROCHET_EINVAL for a negative fd; CROCHET_ENOTREACTOR. */
int crochet_remove_reader(int fd);

/* Reactor thread only. As crochet_add_reader, for writability (and error or
 * hang-up). A reader and a writer on one fd work independently. */
int crochet_add_writer(int fd, void (*fn)(int fd, void *ctx), void *ctx, crochet_destroy_fn destroy);

/* Reactor thread only. As crochet_remove_reader, for the writer. */
int crochet_remove_writer(int fd);

/* Reactor thread only. Runs fn(args...) (types as for crochet_submit) on a
 * bounded pool of worker threads and returns at once with a new deferred (one
 * reference, yours, in *out) that fires on the reactor thread with the
 * function's value, or with its failure when it calls crochet_raise.
 * Cancelling the deferred before the work starts means it never starts.
 * Returns CROCHET_OK; crochet_submit's CROCHET_EINVAL cases (return_type
 * CROCHET_TYPE_DEFERRED is also CROCHET_EINVAL here); CROCHET_ENOTREACTOR;
 * CROCHET_ENOMEM. */
CROCHET_WARN_UNUSED_RESULT int crochet_defer_to_thread(crochet_deferred **out, crochet_fn fn, crochet_type return_type,
                            const crochet_value *args, size_t nargs);

/* Reactor thread only. crochet_defer_to_thread for a closure: fn(ctx) runs on
 * a worker and the deferred fires with the value it returns (a
 * CROCHET_TYPE_DEFERRED value is not allowed there and fails it with code
 * CROCHET_EINVAL); fn may call crochet_raise. destroy(ctx) runs on the
 * reactor thread after fn returned, or when the work is cancelled before it
 * starts or dropped at stop; on this thread before an error returns.
 * Returns CROCHET_OK; CROCHET_EINVAL for a NULL out or fn;
 * CROCHET_ENOTREACTOR; CROCHET_ESTOPPED; CROCHET_ENOMEM. (Since 0.2.) */
CROCHET_WARN_UNUSED_RESULT int crochet_defer_to_thread_closure(crochet_deferred **out, crochet_closure_fn fn, void *ctx,
                                    crochet_destroy_fn destroy);

/* Any thread. Registers fn(ctx) to run on the reactor thread when the reactor
 * stops, before pending results are failed with CROCHET_ESTOPPED; triggers
 * run in reverse order of registration. destroy(ctx) runs after fn returned.
 * Returns CROCHET_OK; CROCHET_EINVAL for a NULL fn; CROCHET_ESTATE before
 * setup/no_setup; CROCHET_ESTOPPED once stopping has begun; CROCHET_ENOMEM. */
int crochet_add_shutdown_trigger(void (*fn)(void *ctx), void *ctx, crochet_destroy_fn destroy);

/* ------------------------------------------------------------------------- */
/* Operability: why a wait timed out, a stalled loop, bounds (since 0.2)       */
/* ------------------------------------------------------------------------- */

/* Where a call is. */
typedef enum crochet_call_state {
    CROCHET_STATE_QUEUED = 0,    /* submitted, not started */
    CROCHET_STATE_RUNNING = 1,   /* its function is running on the reactor thread (or a worker) */
    CROCHET_STATE_WAITING = 2,   /* its function returned a deferred that has not fired */
    CROCHET_STATE_DONE = 3
} crochet_call_state;

/* The facts of one result. Times come from the system's coarse monotonic
 * clock (a few milliseconds of resolution), so that keeping them costs the
 * hot path a few nanoseconds per state change. */
typedef struct crochet_result_info {
    size_t size;                 /* set to sizeof(crochet_result_info) by the caller */
    crochet_call_state state;
    double queued_seconds;       /* submit -> start (so far, while queued) */
    double running_seconds;      /* start -> done (so far, while running or waiting) */
    const char *function;        /* the function's symbol where known, else its address as text; valid while r is */
} crochet_result_info;

/* Any thread; never blocks. Fills *out with where r's call is (after a
 * CROCHET_ETIMEDOUT, the reason). function is the C function's symbol
 * (demangled; link with -rdynamic to name your own functions), the name
 * given to crochet_submit_closure_named, or the address as text; a result
 * made by crochet_result_new says "a result following a deferred". Only
 * what out->size covers is written.
 * Returns CROCHET_OK; CROCHET_EINVAL for a NULL r or out, or an out->size
 * smaller than the 0.2 struct. */
int crochet_result_get_info(crochet_result *r, crochet_result_info *out);

/* crochet_submit_closure with a name for diagnostics (crochet_result_get_info,
 * stall warnings, wait_for's timeout record): name must live as long as the
 * process (a string literal, an interned name) and is not copied, so naming
 * costs nothing per call. NULL: the function's symbol, as unnamed.
 * Returns as crochet_submit_closure does. */
CROCHET_WARN_UNUSED_RESULT int crochet_submit_closure_named(crochet_result **out, crochet_closure_fn fn, void *ctx,
                                                            crochet_destroy_fn destroy, const char *name);

/* Counters for a metrics scraper: cheap enough to call every second. */
typedef struct crochet_stats {
    size_t size;                 /* set to sizeof(crochet_stats) by the caller */
    uint64_t calls_submitted, calls_completed;
    uint64_t queued;             /* calls not yet started */
    uint64_t waiting;            /* results following a deferred */
    uint64_t timers, readers, writers;
    uint64_t workers, workers_busy, worker_queue;
    uint64_t stashed;
    double max_queue_delay_seconds;  /* longest submit -> start since the previous crochet_get_stats call */
    double max_callback_seconds;     /* longest single callback on the reactor thread, same window */
} crochet_stats;

/* Any thread. Fills *out (what out->size covers). calls_completed counts
 * every result completed (with a value, a failure, cancelled or stopped).
 * The two maxima cover the time since the previous call (coarse clock).
 * Returns CROCHET_OK; CROCHET_EINVAL for a NULL out or a small size;
 * CROCHET_ESTATE before setup/no_setup. */
int crochet_get_stats(crochet_stats *out);

/* Any thread. When one callback on the reactor thread has run longer than
 * seconds, a thread other than the reactor logs one WARNING naming it, how
 * long so far and how many calls are queued behind it; a DEBUG record says
 * when the loop is free again. 0 turns it off; the default is 1 s.
 * Returns CROCHET_OK; CROCHET_EINVAL for a negative, NaN or infinite value. */
int crochet_set_stall_warning(double seconds);

/* Any thread. With n > 0, crochet_submit*, crochet_wait_for and
 * crochet_call_from_thread return CROCHET_EAGAIN while n calls are queued
 * (submitted, not started): nothing is queued and (for closures and
 * call_from_thread) destroy runs before they return. 0: unbounded (default).
 * Returns CROCHET_OK. */
int crochet_set_max_queued(size_t n);

/* Any thread. With max_results > 0, crochet_stash returns CROCHET_EAGAIN
 * while the store holds max_results; with max_age_seconds > 0, a result
 * stashed longer is dropped from the store with a WARNING (its failure, if
 * unobserved, is logged as usual) and a later retrieve is
 * CROCHET_ENOTFOUND (checked about once a second). 0: no bound (default).
 * Returns CROCHET_OK; CROCHET_EINVAL for a negative or NaN age. */
int crochet_set_stash_limit(size_t max_results, double max_age_seconds);

/* ------------------------------------------------------------------------- */
/* Logging                                                                    */
/* ------------------------------------------------------------------------- */

enum { CROCHET_LOG_DEBUG = 10, CROCHET_LOG_INFO = 20, CROCHET_LOG_WARNING = 30, CROCHET_LOG_ERROR = 40 };

/* Receives one log record; message is valid for the call only. */
typedef void (*crochet_log_fn)(int level, const char *message, void *ctx);

/* Any thread, including the reactor thread and a handler; never blocks.
 * Sends log records to fn(level, message, ctx); NULL restores the default,
 * which writes "libcrochet: LEVEL: message" lines to stderr (destroy is then
 * ignored). Handlers are called on the library's logging thread, never on
 * the reactor thread, one record at a time, in order; every record is
 * delivered before the process ends, including records made by exit
 * handlers that run after the library's own. The previous handler is never
 * called after its last record in flight; its destroy(ctx) then runs on the
 * logging thread.
 * Returns CROCHET_OK. (Returns int since 0.2.) */
int crochet_set_log_handler(crochet_log_fn fn, void *ctx, crochet_destroy_fn destroy);

/* Waits until every record made before this call was delivered to the
 * handler, up to timeout seconds. Not on the reactor thread.
 * Returns CROCHET_OK; CROCHET_ETIMEDOUT; CROCHET_EINVAL for a negative or
 * NaN timeout; CROCHET_EREACTORTHREAD on the reactor thread, or inside a log
 * handler (which would wait for itself). (Since 0.2.) */
int crochet_log_flush(double timeout);

#ifdef __cplusplus
}
#endif

#endif /* CROCHET_H */
