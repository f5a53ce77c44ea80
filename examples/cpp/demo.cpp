// A short tour of libcrochet 0.2 from C++ (bindings/cpp/crochet.hpp): setup,
// a function pointer, a lambda, a wait with a timeout, wait_for, failures,
// and a lambda returning a deferred that a timer fires.
//
//   g++ -std=c++17 examples/cpp/demo.cpp -rdynamic -pthread
//       $(pkg-config --cflags --libs crochet) -o demo
#include "../../bindings/cpp/crochet.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

// Runs on the reactor thread, called by the binding's closure trampoline
// (no libffi): any signature works, and what it throws fails the call.
int32_t add(int32_t a, int32_t b) { return a + b; }

// Fails the C way: crochet_raise marks the call failed, with a traceback.
int32_t parse_port(const char *text) {
    char *end = nullptr;
    long port = std::strtol(text, &end, 10);
    if (*end != '\0' || port <= 0 || port > 65535) {
        crochet_raise(22, "not a port number");
        return -1;
    }
    return static_cast<int32_t>(port);
}

int main() {
    std::printf("libcrochet %s (header %s)\n", crochet::version(), CROCHET_VERSION_STRING);
    crochet::setup();

    // 1. A function pointer: the result is an eventual_result<int32_t>.
    auto sum = crochet::submit(add, 20, 22);
    std::printf("1. add(20, 22) = %d\n", sum.wait(1s));

    // 2. A lambda with captures may return any movable type. It is copied
    //    with its captures, like std::thread's function: capture by value.
    std::string who = "reactor";
    auto greeting = crochet::submit([who] {
        return std::vector<std::string>{"hello from the", who, crochet::in_reactor_thread() ? "thread" : "?"};
    });
    auto words = greeting.wait(1s);
    std::printf("2. %s %s %s\n", words[0].c_str(), words[1].c_str(), words[2].c_str());

    // 3. A wait that times out, then a later one that gets the value. (The
    //    first call holds the reactor until we let it go, so the second waits.)
    std::promise<void> go;
    auto busy = crochet::submit([gate = go.get_future()] { gate.wait_for(5s); });
    auto late = crochet::submit(add, 1, 2);
    try {
        late.wait(10ms);
    } catch (const crochet::timeout_error &e) {
        std::printf("3. wait(10 ms): %s (%s)\n", e.what(), e.status_name());
    }
    go.set_value();
    std::printf("   wait(5 s): %d\n", late.wait(5s));

    // 4. wait_for: submit and wait in one call. A lambda given to wait_for
    //    may capture locals by reference: on a timeout wait_for waits until
    //    a running call has returned before it throws.
    std::printf("4. wait_for(add(40, 2)) = %d\n", crochet::wait_for(1s, add, 40, 2));
    int local = 0;
    crochet::wait_for(1s, [&local] { local = 7; });
    std::printf("   wait_for([&local] { local = 7; }) -> local = %d\n", local);

    // 5. A lambda returning crochet::deferred<T>: the result follows it, here
    //    fired by a timer 20 ms later.
    auto answer = crochet::submit([] {
        auto d = crochet::deferred<std::string>::create();
        crochet::call_later(20ms, [d]() mutable { d.callback("fired by a timer"); });
        return d;
    });
    std::printf("5. deferred: %s\n", answer.wait(1s).c_str());

    // 6. Failures: crochet_raise gives call_failed; a C++ exception thrown on
    //    the reactor thread comes back with its own type.
    try {
        crochet::wait_for(1s, parse_port, "eighty");
    } catch (const crochet::call_failed &e) {
        std::printf("6. parse_port(\"eighty\"): code %d, %s\n   traceback:\n%s", e.code(), e.what(),
                    e.traceback().c_str());
    }
    try {
        crochet::submit([]() -> int { throw std::invalid_argument("no such user"); }).wait(1s);
    } catch (const std::invalid_argument &e) {
        std::printf("   the lambda threw std::invalid_argument: %s\n", e.what());
    }
    return 0;
}
