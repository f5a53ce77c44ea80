// The C++ binding from an installed libcrochet: #include <crochet.hpp>.
#include <crochet.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

using namespace std::chrono_literals;

static int32_t add(int32_t a, int32_t b) { return a + b; }

int main() {
    if (std::strcmp(crochet::version(), CROCHET_VERSION_STRING) != 0) {
        std::fprintf(stderr, "app-cpp: header %s, library %s\n", CROCHET_VERSION_STRING, crochet::version());
        return 1;
    }
    crochet::setup();
    int32_t sum = crochet::submit(add, 20, 22).wait(10s);
    std::string where = crochet::wait_for(10s, [] {
        return std::string(crochet::in_reactor_thread() ? "the reactor thread" : "elsewhere");
    });
    if (sum != 42 || where != "the reactor thread") {
        std::fprintf(stderr, "app-cpp: sum %d, ran on %s\n", sum, where.c_str());
        return 1;
    }
    std::printf("ok: C++ binding, add(20, 22) = %d, lambda ran on %s\n", sum, where.c_str());
    return 0;
}
