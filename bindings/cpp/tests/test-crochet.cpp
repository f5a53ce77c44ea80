// Tests of the header-only C++ binding (bindings/cpp/crochet.hpp).
// Every wait is bounded; no test sleeps: ordering comes from gates (a
// callable that holds the reactor until the test opens it) and from round
// trips (the reactor runs calls in submission order, so once a later call
// has completed every earlier one has run or been dropped).
#include "../crochet.hpp"
#include "harness.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

constexpr auto bounded = 10s;   // the limit of every wait that should succeed

/// Holds the reactor inside a call until open() (bounded: 10 s).
struct gate {
    std::promise<void> promise;
    std::shared_future<void> opened = promise.get_future().share();
    std::promise<void> entered_promise;
    std::shared_future<void> entered = entered_promise.get_future().share();
    void open() { promise.set_value(); }
};

/// Submits a call that blocks the reactor until g opens; true if it did.
crochet::eventual_result<bool> block_reactor(const std::shared_ptr<gate> &g) {
    auto r = crochet::submit([g] {
        g->entered_promise.set_value();
        return g->opened.wait_for(bounded) == std::future_status::ready;
    });
    if (g->entered.wait_for(bounded) != std::future_status::ready) throw std::runtime_error("the gate was not entered");
    return r;
}

/// Waits until the reactor has handled everything submitted before.
void round_trip() { crochet::wait_for(bounded, [] {}); }

long live_tasks() { return crochet::detail::live_task_counter().load(); }

void set_up() { crochet::setup(); }

// Functions called through libffi, one per signature kind.
int32_t add(int32_t a, int32_t b) { return a + b; }
int8_t neg8(int8_t v) { return static_cast<int8_t>(-v); }
uint8_t inc8(uint8_t v) { return static_cast<uint8_t>(v + 1); }
int16_t neg16(int16_t v) { return static_cast<int16_t>(-v); }
uint16_t inc16(uint16_t v) { return static_cast<uint16_t>(v + 1); }
uint32_t inc32(uint32_t v) { return v + 1; }
int64_t mul64(int64_t a, int64_t b) { return a * b; }
uint64_t inc64(uint64_t v) { return v + 1; }
long sub_long(long a, long b) { return a - b; }
unsigned long long ull(unsigned long long v) { return v * 2; }
bool is_even(int v) { return v % 2 == 0; }
char upper(char c) { return static_cast<char>(c - 'a' + 'A'); }
enum class colour : int16_t { red = 1, green = 2, blue = 3 };
colour next_colour(colour c) { return static_cast<colour>(static_cast<int16_t>(c) + 1); }
double hypotenuse(double a, double b) { return std::sqrt(a * a + b * b); }
float halve(float v) { return v / 2.0f; }
double mixed(int32_t i, float f, double d, int64_t l, uint8_t u) { return i + f + d + static_cast<double>(l) + u; }
size_t length(const char *s) { return std::strlen(s); }
const char *skip(const char *s, int n) { return s + n; }
void store(int *out, int v) { *out = v; }
int32_t sum10(int32_t a, int32_t b, int32_t c, int32_t d, int32_t e, int32_t f, int32_t g, int32_t h, int32_t i,
              int32_t j) {
    return a + b + c + d + e + f + g + h + i + j;
}
int32_t call_twice(int32_t (*f)(int32_t, int32_t), int32_t v) { return f(f(v, v), v); }
int32_t noexcept_add(int32_t a, int32_t b) noexcept { return a + b; }

std::atomic<int> void_calls{0};
std::atomic<bool> void_on_reactor{false};
void tick() {
    void_on_reactor = crochet::in_reactor_thread();
    void_calls++;
}

// A deferred that fires only when cancelled (its canceller says so).
std::atomic<int> cancellers_run{0};
void on_cancel(crochet_deferred *d, void *) {
    cancellers_run++;
    crochet_deferred_errback(d, CROCHET_ECANCELLED, "nobody wants the answer any more");
}
crochet_deferred *never_answer() {
    crochet_deferred *d = nullptr;
    crochet_deferred_new(&d, on_cancel, nullptr);
    return d;
}
crochet_deferred *answer_now(int32_t v) {
    crochet_deferred *d = nullptr;
    crochet_deferred_new(&d, nullptr, nullptr);
    crochet_deferred_callback(d, crochet_int32(v));
    return d;
}

/// Counts its live instances: a boxed value must be destroyed exactly once.
struct tracked {
    static std::atomic<int> live;
    static std::atomic<int> destroyed;
    int value;
    explicit tracked(int v) : value(v) { live++; }
    tracked(const tracked &o) : value(o.value) { live++; }
    tracked(tracked &&o) noexcept : value(o.value) { live++; }
    ~tracked() {
        live--;
        destroyed++;
    }
};
std::atomic<int> tracked::live{0};
std::atomic<int> tracked::destroyed{0};

struct not_a_std_exception {
    int code;
};

} // namespace

// External linkage, so that -rdynamic names it in the failure's traceback.
int32_t parse_port(const char *text) {
    char *end = nullptr;
    long port = std::strtol(text, &end, 10);
    if (*end != '\0' || port <= 0 || port > 65535) {
        crochet_raise(22, "not a port number");
        return -1;
    }
    return static_cast<int32_t>(port);
}

// ---------------------------------------------------------------------------
// Function pointers
// ---------------------------------------------------------------------------

TEST(function_pointer_integers, "integer signatures of every width are deduced and round-trip") {
    set_up();
    CHECK_EQ(crochet::submit(add, 20, 22).wait(bounded), 42);
    CHECK_EQ(crochet::submit(neg8, int8_t{-128 + 1}).wait(bounded), int8_t{127});
    CHECK_EQ(crochet::submit(inc8, uint8_t{254}).wait(bounded), uint8_t{255});
    CHECK_EQ(crochet::submit(neg16, int16_t{-300}).wait(bounded), int16_t{300});
    CHECK_EQ(crochet::submit(inc16, uint16_t{65534}).wait(bounded), uint16_t{65535});
    CHECK_EQ(crochet::submit(inc32, 4294967294u).wait(bounded), 4294967295u);
    CHECK_EQ(crochet::submit(mul64, int64_t{1} << 40, int64_t{-3}).wait(bounded), -(int64_t{3} << 40));
    CHECK_EQ(crochet::submit(inc64, UINT64_MAX - 1).wait(bounded), UINT64_MAX);
    CHECK_EQ(crochet::submit(sub_long, 5L, 7L).wait(bounded), -2L);
    CHECK_EQ(crochet::submit(ull, 1ULL << 62).wait(bounded), 1ULL << 63);
    CHECK_EQ(crochet::submit(is_even, 4).wait(bounded), true);
    CHECK_EQ(crochet::submit(is_even, 5).wait(bounded), false);
    CHECK_EQ(crochet::submit(upper, 'q').wait(bounded), 'Q');
    CHECK(crochet::submit(next_colour, colour::red).wait(bounded) == colour::green);
    // Arguments convert to the parameter types, as in a direct call.
    CHECK_EQ(crochet::submit(add, short{1}, 'A').wait(bounded), 66);
    CHECK_EQ(crochet::submit(noexcept_add, 1, 2).wait(bounded), 3);
}

TEST(function_pointer_floating, "float and double arguments and returns keep their values") {
    set_up();
    CHECK_EQ(crochet::submit(hypotenuse, 3.0, 4.0).wait(bounded), 5.0);
    CHECK_EQ(crochet::submit(halve, 5.0f).wait(bounded), 2.5f);
    CHECK_EQ(crochet::submit(mixed, 1, 0.5f, 0.25, int64_t{1} << 33, uint8_t{200}).wait(bounded),
             1 + 0.5 + 0.25 + 8589934592.0 + 200);
    CHECK_EQ(crochet::submit(hypotenuse, 6, 8).wait(bounded), 10.0);   // ints convert to double
}

TEST(function_pointer_pointers, "pointer arguments and returns, including function pointers, pass through") {
    set_up();
    const char *text = "crochet";
    CHECK_EQ(crochet::submit(length, text).wait(bounded), size_t{7});
    CHECK_EQ(std::string(crochet::submit(skip, text, 3).wait(bounded)), std::string("chet"));
    CHECK(crochet::submit(skip, text, 0).wait(bounded) == text);
    int out = 0;
    crochet::submit(store, &out, 17).wait(bounded);
    CHECK_EQ(out, 17);
    CHECK_EQ(crochet::submit(call_twice, add, 5).wait(bounded), 15);
    std::string owned = "abc";
    CHECK_EQ(crochet::submit(length, owned.c_str()).wait(bounded), size_t{3});
}

TEST(function_pointer_void, "a void function runs on the reactor thread and wait() returns nothing") {
    set_up();
    int before = void_calls;
    crochet::eventual_result<void> r = crochet::submit(tick);
    r.wait(bounded);
    CHECK_EQ(void_calls.load(), before + 1);
    CHECK(void_on_reactor.load());
    r.wait(bounded);   // every wait returns the same outcome
    CHECK_EQ(void_calls.load(), before + 1);
}

TEST(function_pointer_many_arguments, "ten arguments (more than fit inline in a call record) arrive in order") {
    set_up();
    CHECK_EQ(crochet::submit(sum10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10).wait(bounded), 55);
    CHECK_EQ(crochet::wait_for(bounded, sum10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 100), 109);
}

TEST(function_pointer_by_reference_to_function, "a function name and &function both work") {
    set_up();
    CHECK_EQ(crochet::submit(&add, 1, 2).wait(bounded), 3);
    int32_t (*fp)(int32_t, int32_t) = add;
    CHECK_EQ(crochet::submit(fp, 2, 2).wait(bounded), 4);
    int32_t (*null_fp)(int32_t, int32_t) = nullptr;
    CHECK_THROWS_AS(crochet::submit(null_fp, 1, 1), crochet::error, CHECK_EQ(e.status(), CROCHET_EINVAL));
}

// ---------------------------------------------------------------------------
// Callables
// ---------------------------------------------------------------------------

TEST(lambda_string, "a capturing lambda returning std::string gives that string back") {
    set_up();
    std::string name = "world";
    auto r = crochet::submit([name] { return "hello " + name + (crochet::in_reactor_thread() ? "!" : "?"); });
    CHECK_EQ(r.wait(bounded), std::string("hello world!"));
    CHECK_EQ(r.wait(bounded), std::string("hello world!"));   // the same value every time
}

TEST(lambda_vector, "a lambda returning std::vector gives the vector back, on every wait") {
    set_up();
    auto r = crochet::submit([](int n) {
        std::vector<int> v;
        for (int i = 0; i < n; i++) v.push_back(i * i);
        return v;
    }, 1000);
    std::vector<int> v = r.wait(bounded);
    CHECK_EQ(v.size(), size_t{1000});
    CHECK_EQ(v[999], 998001);
    CHECK(r.wait(bounded) == v);
}

TEST(lambda_move_only, "a lambda returning std::unique_ptr hands it over once; a second wait says so") {
    set_up();
    auto r = crochet::submit([] { return std::make_unique<std::string>("only one"); });
    std::unique_ptr<std::string> p = r.wait(bounded);
    CHECK(p != nullptr);
    if (p) CHECK_EQ(*p, std::string("only one"));
    CHECK_THROWS_AS(r.wait(bounded), crochet::error, CHECK_EQ(e.status(), CROCHET_EALREADY));
}

TEST(lambda_move_only_arguments, "move-only arguments and a move-only callable are moved to the reactor") {
    set_up();
    auto owned = std::make_unique<int>(41);
    auto r = crochet::submit([p = std::move(owned)](std::unique_ptr<int> q) { return *p + *q; }, std::make_unique<int>(1));
    CHECK_EQ(r.wait(bounded), 42);
}

TEST(lambda_reference_return, "a lambda returning a reference returns a copy of the referent") {
    set_up();
    auto r = crochet::submit([s = std::string("kept")]() -> const std::string & { return s; });
    CHECK_EQ(r.wait(bounded), std::string("kept"));
}

TEST(lambda_raw_values, "a lambda returning a scalar or pointer travels as a plain value") {
    set_up();
    CHECK_EQ(crochet::submit([] { return 2.5; }).wait(bounded), 2.5);
    CHECK_EQ(crochet::submit([] { return int64_t{-7}; }).wait(bounded), int64_t{-7});
    static const char text[] = "static";
    CHECK(crochet::submit([] { return text; }).wait(bounded) == text);
    std::atomic<int> ran{0};
    crochet::submit([&ran] { ran++; }).wait(bounded);
    CHECK_EQ(ran.load(), 1);
}

TEST(std_function_callable, "a std::function and a stateful function object are callables too") {
    set_up();
    std::function<int(int)> twice = [](int v) { return 2 * v; };
    CHECK_EQ(crochet::submit(twice, 21).wait(bounded), 42);
    struct counter {
        int n = 0;
        int operator()() { return ++n; }
    };
    CHECK_EQ(crochet::submit(counter{}).wait(bounded), 1);
}

TEST(boxed_value_destroyed_once, "a boxed value is destroyed exactly once, when the last holder lets go") {
    set_up();
    int destroyed_before = tracked::destroyed;
    {
        auto r = crochet::submit([] { return tracked(7); });
        tracked a = r.wait(bounded);
        tracked b = r.wait(bounded);
        CHECK_EQ(a.value + b.value, 14);
        round_trip();   // the engine has dropped its own hold on the value
        CHECK_EQ(tracked::live.load(), 3);   // a, b and the boxed one
    }
    CHECK_EQ(tracked::live.load(), 0);
    CHECK(tracked::destroyed.load() > destroyed_before);
    // Never waited for: still destroyed once the result goes.
    { auto r = crochet::submit([] { return tracked(8); }); }
    round_trip();
    CHECK_EQ(tracked::live.load(), 0);
}

TEST(captures_destroyed_on_reactor, "a callable's captures are destroyed right after the call, on the reactor thread") {
    set_up();
    struct probe {
        std::shared_ptr<std::atomic<int>> where;
        explicit probe(std::shared_ptr<std::atomic<int>> w) : where(std::move(w)) {}
        probe(const probe &) = default;
        probe(probe &&) = default;
        ~probe() {
            if (where) where->store(crochet::in_reactor_thread() ? 1 : 2);
        }
    };
    auto where = std::make_shared<std::atomic<int>>(0);
    auto r = crochet::submit([p = probe(where)] { return p.where != nullptr; });
    CHECK_EQ(r.wait(bounded), true);
    round_trip();
    CHECK_EQ(where->load(), 1);
}

// ---------------------------------------------------------------------------
// Failures
// ---------------------------------------------------------------------------

TEST(exception_keeps_its_type, "std::invalid_argument thrown in a lambda is rethrown as std::invalid_argument") {
    set_up();
    auto r = crochet::submit([]() -> std::string { throw std::invalid_argument("bad input"); });
    CHECK_THROWS_AS(r.wait(bounded), std::invalid_argument, CHECK_EQ(std::string(e.what()), std::string("bad input")));
    CHECK_THROWS_AS(r.wait(bounded), std::invalid_argument, (void)e);   // every wait
    crochet::failure f = r.original_failure();
    CHECK(static_cast<bool>(f));
    CHECK_EQ(f.code(), CROCHET_EFAILED);
    CHECK_EQ(f.message(), std::string("C++ exception std::invalid_argument: bad input"));
    // A void lambda and a scalar-returning one fail the same way.
    CHECK_THROWS_AS(crochet::submit([] { throw std::out_of_range("void"); }).wait(bounded), std::out_of_range, (void)e);
    CHECK_THROWS_AS(crochet::submit([]() -> int { throw std::length_error("int"); }).wait(bounded), std::length_error,
                    (void)e);
}

TEST(exception_of_any_type, "an exception not derived from std::exception is rethrown as itself") {
    set_up();
    auto r = crochet::submit([]() -> int { throw not_a_std_exception{5}; });
    bool caught = false;
    try {
        r.wait(bounded);
    } catch (const not_a_std_exception &e) {
        caught = e.code == 5;
    }
    CHECK(caught);
    CHECK_EQ(r.original_failure().message(), std::string("C++ exception of an unknown type"));
}

TEST(native_raise_is_call_failed, "crochet_raise in a C function gives call_failed with its code, message, traceback") {
    set_up();
    auto r = crochet::submit(parse_port, "eighty");
    CHECK_THROWS_AS(r.wait(bounded), crochet::call_failed, {
        CHECK_EQ(e.status(), CROCHET_EFAILED);
        CHECK_EQ(e.code(), 22);
        CHECK_EQ(std::string(e.what()), std::string("not a port number"));
        CHECK(e.traceback().find("parse_port") != std::string::npos);
    });
    CHECK_EQ(crochet::submit(parse_port, "8080").wait(bounded), 8080);
    // Through wait_for too, and as a crochet::error.
    CHECK_THROWS_AS(crochet::wait_for(bounded, parse_port, "x"), crochet::error, CHECK_EQ(e.status(), CROCHET_EFAILED));
}

TEST(raise_inside_lambda, "crochet_raise inside a lambda fails the call with call_failed, value dropped") {
    set_up();
    int destroyed_before = tracked::destroyed;
    auto r = crochet::submit([] {
        crochet_raise(7, "raised from C++");
        return tracked(1);
    });
    CHECK_THROWS_AS(r.wait(bounded), crochet::call_failed, {
        CHECK_EQ(e.code(), 7);
        CHECK_EQ(std::string(e.what()), std::string("raised from C++"));
    });
    round_trip();
    CHECK_EQ(tracked::live.load(), 0);
    CHECK(tracked::destroyed.load() > destroyed_before);
}

// ---------------------------------------------------------------------------
// Timeouts, cancellation
// ---------------------------------------------------------------------------

TEST(timeout_then_success, "a wait that times out throws timeout_error; a later wait gets the value") {
    set_up();
    auto g = std::make_shared<gate>();
    auto blocker = block_reactor(g);
    auto r = crochet::submit([] { return std::string("late"); });
    auto n = crochet::submit(add, 1, 2);
    CHECK_THROWS_AS(r.wait(10ms), crochet::timeout_error, CHECK_EQ(e.status(), CROCHET_ETIMEDOUT));
    CHECK_THROWS_AS(n.wait(0s), crochet::timeout_error, (void)e);   // 0 polls
    g->open();
    CHECK_EQ(blocker.wait(bounded), true);
    CHECK_EQ(r.wait(bounded), std::string("late"));
    CHECK_EQ(n.wait(bounded), 3);
    CHECK_THROWS_AS(n.wait(-1s), crochet::error, CHECK_EQ(e.status(), CROCHET_EINVAL));
}

TEST(cancel_before_start, "a call cancelled before its turn never runs and throws cancelled_error") {
    set_up();
    long tasks_before = live_tasks();
    auto g = std::make_shared<gate>();
    auto blocker = block_reactor(g);
    auto ran = std::make_shared<std::atomic<bool>>(false);
    auto r = crochet::submit([ran] {
        *ran = true;
        return std::string("never");
    });
    r.cancel();
    r.cancel();   // repeated: no further effect
    g->open();
    CHECK_THROWS_AS(r.wait(bounded), crochet::cancelled_error, CHECK_EQ(e.status(), CROCHET_ECANCELLED));
    CHECK(!ran->load());
    CHECK_EQ(r.original_failure().code(), CROCHET_ECANCELLED);
    blocker.wait(bounded);
    auto fp = crochet::submit(add, 1, 1);   // cancel after completion: unchanged
    CHECK_EQ(fp.wait(bounded), 2);
    fp.cancel();
    CHECK_EQ(fp.wait(bounded), 2);
    r = crochet::eventual_result<std::string>();
    blocker = crochet::eventual_result<bool>();
    CHECK_EQ(live_tasks(), tasks_before);
}

TEST(cancel_follows_deferred, "cancelling a call that returned a deferred runs its canceller") {
    set_up();
    int before = cancellers_run;
    auto r = crochet::submit_deferred<int32_t>(never_answer);
    CHECK_THROWS_AS(r.wait(10ms), crochet::timeout_error, (void)e);
    r.cancel();
    CHECK_THROWS_AS(r.wait(bounded), crochet::cancelled_error,
                    CHECK_EQ(std::string(e.what()), std::string("nobody wants the answer any more")));
    CHECK_EQ(cancellers_run.load(), before + 1);
    CHECK_EQ(crochet::submit_deferred<int32_t>(answer_now, 9).wait(bounded), 9);
}

TEST(cancelled_and_dropped_is_freed, "a cancelled call whose result was dropped at once leaks nothing") {
    set_up();
    long tasks_before = live_tasks();
    auto g = std::make_shared<gate>();
    auto blocker = block_reactor(g);
    auto ran = std::make_shared<std::atomic<bool>>(false);
    {
        auto r = crochet::submit([ran] { *ran = true; });
        r.cancel();
    }   // dropped while still queued
    g->open();
    blocker.wait(bounded);
    round_trip();
    CHECK(!ran->load());
    blocker = crochet::eventual_result<bool>();
    CHECK_EQ(live_tasks(), tasks_before);
    CHECK_EQ(ran.use_count(), 1L);   // the callable (and its capture) is gone
}

TEST(fire_and_forget, "a callable whose result is dropped at once still runs, and leaks nothing") {
    set_up();
    long tasks_before = live_tasks();
    auto count = std::make_shared<std::atomic<int>>(0);
    for (int i = 0; i < 100; i++) crochet::submit([count] { (*count)++; });
    round_trip();
    CHECK_EQ(count->load(), 100);
    CHECK_EQ(live_tasks(), tasks_before);
    CHECK_EQ(count.use_count(), 1L);
}

// ---------------------------------------------------------------------------
// stash / retrieve, wait_for
// ---------------------------------------------------------------------------

TEST(stash_and_retrieve, "a stashed result is retrieved once by its id, with its value") {
    set_up();
    std::uint64_t id = 0;
    {
        auto r = crochet::submit([] { return std::string("kept for later"); });
        id = r.stash();
        CHECK(id != 0);
        CHECK_EQ(r.wait(bounded), std::string("kept for later"));   // still usable
    }
    auto again = crochet::retrieve_result<std::string>(id);
    CHECK_EQ(again.wait(bounded), std::string("kept for later"));
    CHECK_THROWS_AS(crochet::retrieve_result<std::string>(id), crochet::error,
                    CHECK_EQ(e.status(), CROCHET_ENOTFOUND));
    CHECK_THROWS_AS(crochet::retrieve_result<int>(12345), crochet::error, CHECK_EQ(e.status(), CROCHET_ENOTFOUND));

    auto fp = crochet::submit(add, 2, 3);
    std::uint64_t id2 = fp.stash();
    CHECK(id2 != id);
    fp = crochet::eventual_result<int32_t>();
    CHECK_EQ(crochet::retrieve_result<int32_t>(id2).wait(bounded), 5);
}

TEST(stash_keeps_exception_type, "a retrieved result rethrows the callable's own exception type") {
    set_up();
    std::uint64_t id = crochet::submit([]() -> int { throw std::domain_error("stashed"); }).stash();
    auto r = crochet::retrieve_result<int>(id);
    CHECK_THROWS_AS(r.wait(bounded), std::domain_error, CHECK_EQ(std::string(e.what()), std::string("stashed")));
}

TEST(retrieve_with_wrong_type, "retrieving a result as the wrong type throws crochet::error instead of misreading") {
    set_up();
    std::uint64_t id = crochet::submit([] { return std::string("text"); }).stash();
    auto r = crochet::retrieve_result<std::vector<int>>(id);
    CHECK_THROWS_AS(r.wait(bounded), crochet::error, CHECK_EQ(e.status(), CROCHET_EINVAL));
    std::uint64_t id2 = crochet::submit(add, 1, 2).stash();
    auto d = crochet::retrieve_result<double>(id2);
    CHECK_THROWS_AS(d.wait(bounded), crochet::error, CHECK_EQ(e.status(), CROCHET_EINVAL));
}

TEST(wait_for_values, "wait_for returns the value of a function pointer and of a lambda") {
    set_up();
    CHECK_EQ(crochet::wait_for(bounded, add, 40, 2), 42);
    CHECK_EQ(crochet::wait_for(bounded, [](std::string s) { return s + s; }, std::string("ab")), std::string("abab"));
    crochet::wait_for(bounded, tick);
    std::unique_ptr<int> p = crochet::wait_for(bounded, [] { return std::make_unique<int>(3); });
    CHECK(p && *p == 3);
    CHECK_THROWS_AS(crochet::wait_for(bounded, []() -> int { throw std::invalid_argument("wf"); }),
                    std::invalid_argument, (void)e);
}

TEST(wait_for_timeout_cancels, "wait_for that times out throws timeout_error and the call never runs") {
    set_up();
    long tasks_before = live_tasks();
    auto g = std::make_shared<gate>();
    auto blocker = block_reactor(g);
    auto ran = std::make_shared<std::atomic<int>>(0);
    CHECK_THROWS_AS(crochet::wait_for(20ms, [ran] { (*ran)++; }), crochet::timeout_error, (void)e);
    CHECK_THROWS_AS(crochet::wait_for(20ms, tick), crochet::timeout_error, (void)e);
    int ticks = void_calls;
    g->open();
    blocker.wait(bounded);
    round_trip();
    CHECK_EQ(ran->load(), 0);
    CHECK_EQ(void_calls.load(), ticks);
    blocker = crochet::eventual_result<bool>();
    CHECK_EQ(live_tasks(), tasks_before);
}

TEST(moved_from_results, "a moved-from result is empty and says so; the moved-to one works") {
    set_up();
    auto a = crochet::submit(add, 1, 2);
    auto b = std::move(a);
    CHECK(!a.valid());
    CHECK(b.valid());
    CHECK_THROWS_AS(a.wait(bounded), crochet::error, CHECK_EQ(e.status(), CROCHET_EINVAL));
    CHECK_THROWS_AS(a.cancel(), crochet::error, CHECK_EQ(e.status(), CROCHET_EINVAL));
    CHECK_THROWS_AS(a.stash(), crochet::error, CHECK_EQ(e.status(), CROCHET_EINVAL));
    CHECK_THROWS_AS(a.original_failure(), crochet::error, CHECK_EQ(e.status(), CROCHET_EINVAL));
    CHECK_EQ(b.wait(bounded), 3);

    auto s = crochet::submit([] { return std::string("x"); });
    crochet::eventual_result<std::string> t;
    CHECK(!t);
    t = std::move(s);
    CHECK(!s);
    CHECK_EQ(t.wait(bounded), std::string("x"));
    t = crochet::submit([] { return std::string("y"); });   // the old one is released
    CHECK_EQ(t.wait(bounded), std::string("y"));
    a = std::move(b);
    CHECK_EQ(a.wait(bounded), 3);
    CHECK(!b.valid());
}

TEST(original_failure_states, "original_failure is empty before a result and after success") {
    set_up();
    auto g = std::make_shared<gate>();
    auto blocker = block_reactor(g);
    auto r = crochet::submit(add, 1, 1);
    CHECK(!r.original_failure());
    g->open();
    CHECK_EQ(r.wait(bounded), 2);
    CHECK(!r.original_failure());
    blocker.wait(bounded);
}

TEST(blocking_on_reactor_thread, "wait and wait_for on the reactor thread throw CROCHET_EREACTORTHREAD") {
    set_up();
    auto ran = std::make_shared<std::atomic<int>>(0);
    auto r = crochet::submit([ran] {
        int statuses = 0;
        auto inner = crochet::submit(add, 1, 2);
        try {
            inner.wait(1s);
        } catch (const crochet::error &e) {
            if (e.status() == CROCHET_EREACTORTHREAD) statuses++;
        }
        try {
            crochet::wait_for(1s, [ran] { (*ran)++; });
        } catch (const crochet::error &e) {
            if (e.status() == CROCHET_EREACTORTHREAD) statuses++;
        }
        try {
            crochet::wait_for(1s, add, 1, 2);
        } catch (const crochet::error &e) {
            if (e.status() == CROCHET_EREACTORTHREAD) statuses++;
        }
        return statuses;
    });
    CHECK_EQ(r.wait(bounded), 3);
    round_trip();
    CHECK_EQ(ran->load(), 0);   // wait_for submitted nothing
}

TEST(many_threads, "eight threads submitting and waiting at once all get their own values") {
    set_up();
    long tasks_before = live_tasks();
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; t++) {
        threads.emplace_back([t, &wrong] {
            for (int i = 0; i < 500; i++) {
                try {
                    if (crochet::submit([t, i] { return std::to_string(t * 1000 + i); }).wait(bounded) !=
                        std::to_string(t * 1000 + i))
                        wrong++;
                    if (crochet::submit(add, t, i).wait(bounded) != t + i) wrong++;
                    if (i % 50 == 0) crochet::submit([] { return std::vector<int>(10); });   // dropped
                } catch (...) {
                    wrong++;
                }
            }
        });
    }
    for (auto &th : threads) th.join();
    CHECK_EQ(wrong.load(), 0);
    round_trip();
    CHECK_EQ(live_tasks(), tasks_before);
}

TEST(shared_waiters, "several threads may wait on one result at once") {
    set_up();
    auto g = std::make_shared<gate>();
    auto blocker = block_reactor(g);
    auto r = crochet::submit([] { return std::string("shared"); });
    std::atomic<int> got{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; i++)
        threads.emplace_back([&] {
            try {
                if (r.wait(bounded) == "shared") got++;
            } catch (...) {
            }
        });
    g->open();
    for (auto &th : threads) th.join();
    CHECK_EQ(got.load(), 4);
    blocker.wait(bounded);
}

// ---------------------------------------------------------------------------
// Lifecycle (each in a process of its own)
// ---------------------------------------------------------------------------

TEST_OWN_PROCESS(before_setup, "submit before setup throws crochet::error with CROCHET_ESTATE") {
    CHECK_THROWS_AS(crochet::submit(add, 1, 2), crochet::error, CHECK_EQ(e.status(), CROCHET_ESTATE));
    CHECK_THROWS_AS(crochet::submit([] { return 1; }), crochet::error, CHECK_EQ(e.status(), CROCHET_ESTATE));
    CHECK_EQ(crochet::detail::live_task_counter().load(), 0L);
    crochet::setup();
    crochet::setup();   // idempotent
    CHECK_THROWS_AS(crochet::no_setup(), crochet::error, CHECK_EQ(e.status(), CROCHET_ESTATE));
    CHECK_EQ(crochet::submit(add, 1, 2).wait(bounded), 3);
}

TEST_OWN_PROCESS(stop_completes_pending, "stop: pending results throw reactor_stopped, dropped ones are freed, submit throws") {
    crochet::setup();
    auto g = std::make_shared<gate>();
    auto blocker = block_reactor(g);
    auto ran = std::make_shared<std::atomic<int>>(0);
    auto kept = crochet::submit([ran] { (*ran)++; return std::string("kept"); });
    crochet::submit([ran] { (*ran)++; });   // dropped while queued: an orphan
    auto fp = crochet::submit(add, 1, 2);
    crochet::stop();
    g->open();
    CHECK_EQ(blocker.wait(bounded), true);   // the running call finishes
    CHECK_THROWS_AS(kept.wait(bounded), crochet::reactor_stopped, CHECK_EQ(e.status(), CROCHET_ESTOPPED));
    CHECK_THROWS_AS(fp.wait(bounded), crochet::reactor_stopped, (void)e);
    CHECK_EQ(ran->load(), 0);
    CHECK_THROWS_AS(crochet::submit([] { return 1; }), crochet::reactor_stopped, (void)e);
    CHECK_THROWS_AS(crochet::submit(add, 1, 2), crochet::reactor_stopped, (void)e);
    CHECK_THROWS_AS(crochet::wait_for(bounded, add, 1, 2), crochet::reactor_stopped, (void)e);
    kept = crochet::eventual_result<std::string>();
    blocker = crochet::eventual_result<bool>();
    // The shutdown trigger ran before `kept` completed: the orphan is gone.
    CHECK_EQ(crochet::detail::live_task_counter().load(), 0L);
    CHECK_EQ(ran.use_count(), 1L);
}

TEST_OWN_PROCESS(no_setup_and_run, "no_setup + run on an application thread serves submissions until stop") {
    crochet::no_setup();
    CHECK_THROWS_AS(crochet::no_setup(), crochet::error, CHECK_EQ(e.status(), CROCHET_ESTATE));
    crochet::setup();   // no effect after no_setup
    std::promise<void> done;
    std::thread reactor([&] {
        try {
            crochet::run();
        } catch (...) {
        }
        done.set_value();
    });
    CHECK_EQ(crochet::submit([] { return std::string(crochet::in_reactor_thread() ? "app" : "?"); }).wait(bounded),
             std::string("app"));
    CHECK_EQ(crochet::wait_for(bounded, add, 2, 2), 4);
    crochet::stop();
    CHECK(done.get_future().wait_for(bounded) == std::future_status::ready);
    reactor.join();
}

int main(int argc, char **argv) { return harness::main(argc, argv); }
