// A tiny test harness for the C++ binding's tests.
//
//   ./bin              runs every test that may share a process, prints
//                      "N passed, N failed", exits non-zero on a failure
//   ./bin --list       names every test, one per line
//   ./bin NAME...      runs the named tests (run-tests.sh runs each test in
//                      its own process this way)
//
// A check that fails prints both operands and fails the test; the test goes
// on to its end (or its first exception).
#ifndef CROCHET_CPP_TEST_HARNESS_HPP
#define CROCHET_CPP_TEST_HARNESS_HPP

#include <cstdio>
#include <cstring>
#include <exception>
#include <sstream>
#include <string>
#include <vector>

namespace harness {

struct test_case {
    const char *name;
    const char *behaviour;   // the one sentence the test checks
    void (*body)();
    bool own_process;        // stops the reactor or needs a fresh process
};

inline std::vector<test_case> &registry() {
    static std::vector<test_case> tests;
    return tests;
}

inline int &failures_in_current() {
    static int n = 0;
    return n;
}

struct registrar {
    registrar(const char *name, const char *behaviour, void (*body)(), bool own_process) {
        registry().push_back({name, behaviour, body, own_process});
    }
};

template <class T> std::string show(const T &v) {
    std::ostringstream s;
    if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, const char *> || std::is_same_v<T, char *>)
        s << '"' << v << '"';
    else if constexpr (std::is_pointer_v<T>)
        s << static_cast<const void *>(v);
    else if constexpr (std::is_enum_v<T>)
        s << static_cast<long long>(v);
    else if constexpr (sizeof(T) == 1 && std::is_integral_v<T>)
        s << static_cast<int>(v);
    else
        s << v;
    return s.str();
}

inline void fail(const char *file, int line, const std::string &what) {
    std::fprintf(stderr, "    %s:%d: %s\n", file, line, what.c_str());
    ++failures_in_current();
}

inline int run(const test_case &t) {
    failures_in_current() = 0;
    try {
        t.body();
    } catch (const std::exception &e) {
        fail(__FILE__, __LINE__, std::string("unexpected exception: ") + e.what());
    } catch (...) {
        fail(__FILE__, __LINE__, "unexpected exception of an unknown type");
    }
    bool ok = failures_in_current() == 0;
    std::printf("%s - %s: %s\n", ok ? "ok" : "not ok", t.name, t.behaviour);
    std::fflush(stdout);
    return ok ? 0 : 1;
}

inline int main(int argc, char **argv) {
    if (argc > 1 && std::strcmp(argv[1], "--list") == 0) {
        for (const auto &t : registry()) std::printf("%s\n", t.name);
        return 0;
    }
    int passed = 0, failed = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            bool found = false;
            for (const auto &t : registry()) {
                if (std::strcmp(t.name, argv[i]) != 0) continue;
                found = true;
                (run(t) == 0 ? passed : failed)++;
            }
            if (!found) {
                std::printf("not ok - %s: no such test\n", argv[i]);
                failed++;
            }
        }
    } else {
        for (const auto &t : registry()) {
            if (t.own_process) continue;
            (run(t) == 0 ? passed : failed)++;
        }
    }
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

} // namespace harness

#define HARNESS_CAT2(a, b) a##b
#define HARNESS_CAT(a, b) HARNESS_CAT2(a, b)

#define TEST_IMPL(name, behaviour, own)                                                      \
    static void test_##name();                                                               \
    static harness::registrar HARNESS_CAT(registrar_, name)(#name, behaviour, test_##name, own); \
    static void test_##name()

/// A test that may share a process with others.
#define TEST(name, behaviour) TEST_IMPL(name, behaviour, false)
/// A test that must run in a process of its own (it stops the reactor, ...).
#define TEST_OWN_PROCESS(name, behaviour) TEST_IMPL(name, behaviour, true)

#define CHECK(cond)                                                      \
    do {                                                                 \
        if (!(cond)) harness::fail(__FILE__, __LINE__, "CHECK(" #cond ")"); \
    } while (0)

#define CHECK_EQ(a, b)                                                                              \
    do {                                                                                            \
        auto &&check_a_ = (a);                                                                      \
        auto &&check_b_ = (b);                                                                      \
        if (!(check_a_ == check_b_))                                                                \
            harness::fail(__FILE__, __LINE__,                                                       \
                          "CHECK_EQ(" #a ", " #b "): " + harness::show(check_a_) + " != " +         \
                              harness::show(check_b_));                                             \
    } while (0)

/// Checks that expr throws exactly type E (or a subclass); `on` is run with
/// the caught exception as `e`.
#define CHECK_THROWS_AS(expr, E, on)                                                        \
    do {                                                                                    \
        bool check_thrown_ = false;                                                         \
        try {                                                                               \
            (void)(expr);                                                                   \
        } catch (const E &e) {                                                              \
            check_thrown_ = true;                                                           \
            on;                                                                             \
        } catch (const std::exception &other_) {                                           \
            check_thrown_ = true;                                                           \
            harness::fail(__FILE__, __LINE__,                                               \
                          std::string(#expr " threw another exception: ") + other_.what()); \
        }                                                                                   \
        if (!check_thrown_) harness::fail(__FILE__, __LINE__, #expr " did not throw " #E);  \
    } while (0)

#endif
