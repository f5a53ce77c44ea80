/* When something is slow: what libcrochet says about it.
 *
 * One call blocks the reactor thread (fetch_page sleeps, as a blocking
 * DNS lookup or disk read would); another waits on a deferred that never
 * fires (await_reply: a reply that never comes). With the stall warning set
 * low (0.2 s) the library logs a WARNING naming the blocking call; each
 * timed-out wait says why, from the call's facts (crochet_result_get_info);
 * crochet_wait_for's timeout logs one WARNING with that diagnosis;
 * crochet_get_stats shows the counters. About 1.5 s.
 *
 *   cc diagnose.c $(pkg-config --cflags --libs crochet) -rdynamic -o diagnose
 *
 * (-rdynamic: the library names your functions through dladdr.)
 */
#include <crochet.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define CHECK(expr) do { int _s = (expr); if (_s != CROCHET_OK) { \
        fprintf(stderr, "%s: %s\n", #expr, crochet_strerror(_s)); exit(1); } } while (0)

/* The library's log records, printed as they come (on its logging thread). */
static void print_record(int level, const char *message, void *ctx) {
    (void)ctx;
    const char *name = level >= CROCHET_LOG_ERROR ? "ERROR" : level >= CROCHET_LOG_WARNING ? "WARNING"
                     : level >= CROCHET_LOG_INFO ? "INFO" : "DEBUG";
    printf("[log %s] %s\n", name, message);
    fflush(stdout);
}

/* Blocks the reactor thread: everything else waits behind it. */
int32_t fetch_page(int32_t ms) {
    usleep((useconds_t)ms * 1000);
    return 200;
}

/* Returns a deferred that nothing will ever fire. */
crochet_deferred *await_reply(void) {
    crochet_deferred *d;
    if (crochet_deferred_new(&d, NULL, NULL, NULL) != CROCHET_OK) return NULL;
    return d;
}

int32_t add(int32_t a, int32_t b) { return a + b; }

static const char *state_name(crochet_call_state s) {
    switch (s) {
    case CROCHET_STATE_QUEUED: return "queued";
    case CROCHET_STATE_RUNNING: return "running";
    case CROCHET_STATE_WAITING: return "waiting";
    case CROCHET_STATE_DONE: return "done";
    }
    return "?";
}

static void print_info(const char *label, crochet_result *r) {
    crochet_result_info info = { .size = sizeof info };
    CHECK(crochet_result_get_info(r, &info));
    printf("  %s: state=%s function=%s queued=%.3f s running=%.3f s\n", label, state_name(info.state),
           info.function, info.queued_seconds, info.running_seconds);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    CHECK(crochet_set_log_handler(print_record, NULL, NULL));
    CHECK(crochet_set_stall_warning(0.2));   /* the default is 1 s */
    CHECK(crochet_setup());
    printf("stall warning at 0.2 s\n");

    /* 1. A call that blocks the reactor for 0.8 s, and a wait that gives up. */
    crochet_result *page;
    CHECK(CROCHET_CALL(&page, fetch_page, (int32_t)800));
    int s = crochet_wait(page, 0.4, NULL);     /* the watchdog warns meanwhile */
    CHECK(crochet_log_flush(5.0));
    printf("crochet_wait(fetch_page, 0.4 s): %s\n", crochet_status_name(s));
    print_info("fetch_page", page);

    /* 2. A call queued behind it: crochet_wait_for gives up, and logs why. */
    crochet_value v;
    s = crochet_wait_for(&v, NULL, 0.1, (crochet_fn)add, CROCHET_TYPE_INT32,
                         (crochet_value[]){ crochet_int32(1), crochet_int32(2) }, 2);
    CHECK(crochet_log_flush(5.0));
    printf("crochet_wait_for(add, 0.1 s): %s\n", crochet_status_name(s));

    CHECK(crochet_wait(page, 5.0, &v));
    CHECK(crochet_log_flush(5.0));
    printf("fetch_page returned %" PRId32 "\n", v.u.i32);
    print_info("fetch_page", page);
    crochet_result_release(page);

    /* 3. A deferred that never fires: the call is waiting, not running. */
    crochet_result *reply;
    CHECK(CROCHET_CALL(&reply, await_reply));
    s = crochet_wait(reply, 0.2, NULL);        /* crochet_wait's timeout does not log */
    printf("crochet_wait(await_reply, 0.2 s): %s\n", crochet_status_name(s));
    print_info("await_reply", reply);
    crochet_result_release(reply);
    s = crochet_wait_for(&v, NULL, 0.2, (crochet_fn)await_reply, CROCHET_TYPE_DEFERRED, NULL, 0);
    CHECK(crochet_log_flush(5.0));
    printf("crochet_wait_for(await_reply, 0.2 s): %s\n", crochet_status_name(s));

    /* 4. The counters, for a metrics scraper. */
    crochet_stats st = { .size = sizeof st };
    CHECK(crochet_get_stats(&st));
    printf("stats: submitted=%" PRIu64 " completed=%" PRIu64 " queued=%" PRIu64 " waiting=%" PRIu64
           " max_callback=%.2f s max_queue_delay=%.2f s\n",
           st.calls_submitted, st.calls_completed, st.queued, st.waiting,
           st.max_callback_seconds, st.max_queue_delay_seconds);

    CHECK(crochet_stop());
    CHECK(crochet_log_flush(5.0));
    return 0;
}
