// Each CASE must FAIL to compile with a readable static_assert message; the
// run script compiles this file once per case (-DCASE=n) and checks both the
// failure and the message. CASE=0 is the control: it must compile.
#include "../../crochet.hpp"

#include <string>

struct point {
    int x, y;
};

int32_t takes_struct(point p) { return p.x + p.y; }
point returns_struct(int32_t v) { return point{v, v}; }
int32_t takes_long_double(long double v) { return static_cast<int32_t>(v); }
int32_t takes_reference(const int32_t &v) { return v; }
int32_t variadic(int32_t n, ...) { return n; }
int32_t two(int32_t a, int32_t b) { return a + b; }
int32_t takes_cstring(const char *s) { return s ? 1 : 0; }
crochet_deferred *returns_deferred() { return nullptr; }

int main() {
    crochet::setup();
#if CASE == 0
    auto r = crochet::submit(two, 1, 2);
    (void)r.wait(std::chrono::seconds(1));
#elif CASE == 1
    auto r = crochet::submit(takes_struct, point{1, 2});   // a struct by value
    (void)r;
#elif CASE == 2
    auto r = crochet::submit(returns_struct, 1);            // a struct returned by value
    (void)r;
#elif CASE == 3
    auto r = crochet::submit(takes_long_double, 1.0L);      // long double
    (void)r;
#elif CASE == 4
    auto r = crochet::submit(takes_reference, 1);           // a reference parameter
    (void)r;
#elif CASE == 5
    auto r = crochet::submit(variadic, 1, 2);               // variadic
    (void)r;
#elif CASE == 6
    auto r = crochet::submit(two, 1);                       // too few arguments
    (void)r;
#elif CASE == 7
    auto r = crochet::submit(takes_cstring, std::string("x"));  // no conversion
    (void)r;
#elif CASE == 8
    auto r = crochet::submit(returns_deferred);             // use submit_deferred
    (void)r;
#elif CASE == 9
    int v = crochet::wait_for(std::chrono::seconds(1), takes_struct, point{1, 2});
    (void)v;
#elif CASE == 10
    crochet::eventual_result<int> r = crochet::submit(two, 1, 2);
    crochet::eventual_result<int> copy = r;                 // results are not copyable
    (void)copy;
#endif
    return 0;
}
