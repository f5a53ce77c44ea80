/* Linked into the C tests under AddressSanitizer, preloaded under valgrind
 * (Tests/c/run-tests.sh, ASAN=1 / VALGRIND=1): a fork child skips the leak
 * check at its exit; every other process is leak-checked in full.
 *
 * Why: a fork child deliberately abandons everything it inherited. The header
 * says "in a fork child nothing inherited is destroyed (the parent owns it)":
 * the parent's reactor, logging queue, worker pool and results may hold locks
 * taken by threads that do not exist in the child. A leak check at the
 * child's exit lists all of that as lost (the parent threads whose stacks
 * referenced it are gone). Memory errors in the child are still reported. */
#include <pthread.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CHILD_SHIM_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define CHILD_SHIM_ASAN 1
#endif

#ifdef CHILD_SHIM_ASAN
static volatile int in_fork_child;
/* LeakSanitizer asks this when it is about to check (at exit). */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void) { return in_fork_child; }
static void child_after_fork(void) { in_fork_child = 1; }
#else
#include <valgrind/valgrind.h>
/* --leak-check is one of valgrind's dynamically changeable options. */
static void child_after_fork(void) { VALGRIND_CLO_CHANGE("--leak-check=no"); }
#endif

__attribute__((constructor)) static void install_fork_child_handler(void) {
    pthread_atfork(NULL, NULL, child_after_fork);
}
