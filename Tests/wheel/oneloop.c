/* A C library linked against libcrochet (-lcrochet: NEEDED libcrochet.so.0.2),
 * as a C extension or a library loaded with ctypes would be. The Python
 * package must use the same copy of libcrochet, hence the same reactor:
 * Tests/wheel/run.sh loads this next to the wheel's package and compares the
 * thread a call submitted here runs on with the one Python's calls run on.
 *
 *   cc -shared -fPIC oneloop.c -o liboneloop.so -I<include> -L<lib> -lcrochet
 */
#include <crochet.h>
#include <pthread.h>
#include <stdint.h>

static pthread_t recorded_thread;
static int recorded_in_reactor = -1;

/* Runs on the reactor thread: records where it ran. */
static uint64_t record_thread(void) {
    recorded_thread = pthread_self();
    recorded_in_reactor = crochet_in_reactor_thread();
    return (uint64_t)recorded_thread;
}

/* Submits record_thread through this library's libcrochet and waits for it.
 * Returns CROCHET_OK with the reactor thread's pthread_self in *thread and
 * crochet_in_reactor_thread() as seen there in *in_reactor, or the status
 * that failed (CROCHET_ESTATE if this copy of libcrochet was never set up:
 * the Python package set up another one). */
int oneloop_reactor_thread(uint64_t *thread, int *in_reactor) {
    crochet_result *r = NULL;
    int status = crochet_submit(&r, (crochet_fn)record_thread, CROCHET_TYPE_UINT64, NULL, 0);
    if (status != CROCHET_OK)
        return status;
    crochet_value value;
    status = crochet_wait(r, 5.0, &value);
    crochet_result_release(r);
    if (status != CROCHET_OK)
        return status;
    if (value.type != CROCHET_TYPE_UINT64 || value.u.u64 != (uint64_t)recorded_thread)
        return CROCHET_EINVAL;
    *thread = value.u.u64;
    *in_reactor = recorded_in_reactor;
    return CROCHET_OK;
}

/* The library's version as this library sees it (which copy it is bound to
 * shows in /proc/self/maps; this shows the binding works at all). */
const char *oneloop_version(void) { return crochet_version(); }
