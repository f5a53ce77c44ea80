// Each CASE must FAIL to compile with a readable static_assert message; the
// run script compiles this file once per case (-DCASE=n) and checks both the
// failure and the message. CASE=0 is the control: it must compile.
//
// Since 0.2 every callable (function pointers too) is called by the closure
// trampoline, not libffi, so functions taking or returning structs, long
// double, references, and variadic functions are no longer misuse (they are
// run-time tests now: function_pointer_any_signature).
#include "../../crochet.hpp"

#include <string>

int32_t two(int32_t a, int32_t b) { return a + b; }
int32_t takes_cstring(const char *s) { return s ? 1 : 0; }
void bump(int &v) { v++; }
crochet_deferred *returns_deferred() { return nullptr; }
crochet_deferred *returns_owned_string() { return nullptr; }

int main() {
    crochet::setup();
#if CASE == 0
    auto r = crochet::submit(two, 1, 2);
    (void)r.wait(std::chrono::seconds(1));
    auto owned = crochet::submit_deferred<char *>(returns_owned_string);   // named: fine
    char *p = owned.wait(std::chrono::seconds(1));
    (void)p;
    const char *q = crochet::submit([] { return "static"; }).wait();   // not owned by the result: fine
    (void)q;
    int v = 0;
    crochet::wait_for(std::chrono::seconds(1), bump, std::ref(v));
#elif CASE == 1
    auto r = crochet::submit(two, 1);                       // too few arguments
    (void)r;
#elif CASE == 2
    auto r = crochet::submit(takes_cstring, std::string("x"));  // no conversion
    (void)r;
#elif CASE == 3
    auto r = crochet::submit(returns_deferred);             // use submit_deferred
    (void)r;
#elif CASE == 4
    crochet::eventual_result<int> r = crochet::submit(two, 1, 2);
    crochet::eventual_result<int> copy = r;                 // results are not copyable
    (void)copy;
#elif CASE == 5
    // The pointer is owned by the temporary result, which dies at the ';'.
    char *s = crochet::submit_deferred<char *>(returns_owned_string).wait();
    (void)s;
#elif CASE == 6
    char *s = crochet::submit_deferred<char *>(returns_owned_string).wait(std::chrono::seconds(1));
    (void)s;
#elif CASE == 7
    char *s = crochet::wait_for(std::chrono::seconds(1), [] { return crochet::deferred<char *>::create(); });
    (void)s;
#elif CASE == 8
    auto r = crochet::submit([] { return returns_deferred(); });   // a raw crochet_deferred* is not followed
    (void)r;
#elif CASE == 9
    int v = 0;
    auto r = crochet::submit(bump, v);                      // int& cannot bind to the binding's copy
    (void)r;
#elif CASE == 10
    auto r = crochet::submit([](int a) { return a; }, std::string("x"));  // the callable cannot take it
    (void)r;
#elif CASE == 11
    auto r = crochet::submit_deferred<std::string>(returns_deferred);   // C deferreds carry C values
    (void)r;
#elif CASE == 12
    auto id = crochet::submit(two, 1, 2).stash();
    const char *s = crochet::retrieve_result<const char *>(id).wait();   // a retrieved pointer may be owned
    (void)s;
#endif
    return 0;
}
