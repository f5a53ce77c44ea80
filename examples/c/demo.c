/* A short tour of libcrochet from C: submit, wait, timeout, cancel,
 * stash/retrieve, wait_for, and a failure with its traceback.
 *
 *   cc demo.c $(pkg-config --cflags --libs crochet) -rdynamic -o demo
 */
#include <crochet.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(expr) do { int _s = (expr); if (_s != CROCHET_OK) { \
        fprintf(stderr, "%s: %s\n", #expr, crochet_strerror(_s)); exit(1); } } while (0)

/* Runs on the reactor thread: a plain function with a plain signature. */
int32_t add(int32_t a, int32_t b) { return a + b; }

/* Runs on the reactor thread and answers later: fires its deferred from a timer. */
static void fire_answer(void *d) {
    crochet_deferred_callback(d, crochet_double(42.0));   /* the timer's destroy releases d */
}

crochet_deferred *answer_after(double seconds) {
    crochet_deferred *d;
    if (crochet_deferred_new(&d, NULL, NULL, NULL) != CROCHET_OK) {
        crochet_raise(CROCHET_ENOMEM, "no deferred");
        return NULL;
    }
    /* The timer owns a reference until it ran (or the reactor stopped). */
    if (crochet_call_later(NULL, seconds, fire_answer, crochet_deferred_retain(d),
                           (crochet_destroy_fn)crochet_deferred_release) != CROCHET_OK) {
        crochet_deferred_release(d);
        crochet_raise(CROCHET_ESTOPPED, "the reactor is stopping");
        return NULL;
    }
    return d;   /* the engine takes this reference */
}

/* Never answers by itself; says so when it is cancelled. */
static void on_cancel(crochet_deferred *d, void *ctx) {
    (void)ctx;
    printf("    (the canceller ran on the reactor thread: %d)\n", crochet_in_reactor_thread());
    crochet_deferred_errback(d, CROCHET_ECANCELLED, "nobody wants the answer any more");
}

crochet_deferred *never_answer(void) {
    crochet_deferred *d;
    if (crochet_deferred_new(&d, on_cancel, NULL, NULL) != CROCHET_OK) return NULL;   /* fails the call */
    return d;
}

/* Fails: crochet_raise marks the call failed and captures a traceback. */
int32_t parse_port(const char *text) {
    char *end;
    long port = strtol(text, &end, 10);
    if (*end != '\0' || port <= 0 || port > 65535) {
        crochet_raise(22, "not a port number");
        return -1;
    }
    return (int32_t)port;
}

int main(void) {
    printf("libcrochet %s\n", crochet_version());
    CHECK(crochet_setup());

    /* 1. Submit a call; wait for its value. */
    crochet_result *r;
    crochet_value v;
    CHECK(CROCHET_CALL(&r, add, 20, 22));   /* tags deduced and checked at compile time */
    CHECK(crochet_wait(r, 1.0, &v));
    printf("1. add(20, 22) on the reactor thread = %d\n", v.u.i32);
    crochet_result_release(r);

    /* 2. A result that takes 0.2 s: a short wait times out, a later one gets it. */
    CHECK(CROCHET_SUBMIT(&r, answer_after, CROCHET_TYPE_DEFERRED, crochet_double(0.2)));
    int s = crochet_wait(r, 0.01, &v);
    printf("2. wait(0.01 s) -> %s\n", crochet_strerror(s));
    CHECK(crochet_wait(r, 5.0, &v));
    printf("   wait(5 s)    -> %.1f\n", v.u.f64);

    /* 3. Stash the result, retrieve it by id (e.g. in another request). */
    uint64_t id;
    CHECK(crochet_stash(r, &id));
    crochet_result_release(r);
    crochet_result *again;
    CHECK(crochet_retrieve(&again, id));
    CHECK(crochet_wait(again, 0, &v));
    printf("3. stashed as %016llx, retrieved: %.1f; again: %s\n", (unsigned long long)id, v.u.f64,
           crochet_strerror(crochet_retrieve(&r, id)));
    crochet_result_release(again);

    /* 4. Cancel: the deferred's canceller runs; the result completes. */
    CHECK(CROCHET_SUBMIT(&r, never_answer, CROCHET_TYPE_DEFERRED));
    printf("4. cancel a call that would never answer\n");
    CHECK(crochet_cancel(r));
    s = crochet_wait(r, 5.0, &v);
    printf("   wait -> %s: %s\n", crochet_strerror(s),
           crochet_failure_message(crochet_original_failure(r)));
    crochet_result_release(r);

    /* 5. wait_for: submit and wait in one call; on timeout the call is cancelled. */
    crochet_failure *f;
    s = crochet_wait_for(&v, &f, 0.05, (crochet_fn)never_answer, CROCHET_TYPE_DEFERRED, NULL, 0);
    printf("5. wait_for(0.05 s, never_answer) -> %s\n", crochet_strerror(s));
    s = crochet_wait_for(&v, &f, 1.0, (crochet_fn)add, CROCHET_TYPE_INT32,
                         (crochet_value[]){ crochet_int32(1), crochet_int32(2) }, 2);
    printf("   wait_for(1 s, add(1, 2)) -> %s, %d\n", crochet_strerror(s), v.u.i32);

    /* 6. A failure: code, message and the traceback where it was raised. */
    s = crochet_wait_for(&v, &f, 1.0, (crochet_fn)parse_port, CROCHET_TYPE_INT32,
                         (crochet_value[]){ crochet_pointer("eighty") }, 1);
    printf("6. parse_port(\"eighty\") -> %s, code %d: %s\n   traceback:\n%s",
           crochet_strerror(s), crochet_failure_code(f), crochet_failure_message(f),
           crochet_failure_traceback(f));
    crochet_failure_release(f);

    CHECK(crochet_stop());
    printf("stopped; later submissions: %s\n",
           crochet_strerror(CROCHET_SUBMIT(&r, add, CROCHET_TYPE_INT32, crochet_int32(1), crochet_int32(1))));
    return 0;
}
