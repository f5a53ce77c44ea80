#!/usr/bin/env bash
# Builds every Tests/c/test-*.c against the staged libcrochet (through
# pkg-config) and runs each test in its own process with a time limit.
#   Tests/c/run-tests.sh [file-filter] [test-filter]
#   VALGRIND=1 Tests/c/run-tests.sh     runs each test under valgrind memcheck, leak
#                                       check on (definite leaks fail; see valgrind.supp)
#   ASAN=1 Tests/c/run-tests.sh         the library and the tests built with
#                                       AddressSanitizer (make test-asan stages the
#                                       library in build/stage-asan first)
set -uo pipefail
cd "$(dirname "$0")/../.."
stage="$PWD/build/stage"
out=build/tests/c
cc=(cc)
cflags=(-O1 -g -gdwarf-4)   # DWARF 4: valgrind 3.19 cannot read DWARF 5
env_run=()
if [ "${ASAN:-0}" = 1 ]; then
    stage="$PWD/build/stage-asan"
    out=build/tests/c-asan
    cc=(/opt/swift/usr/bin/clang)   # the toolchain that built the library: same ASan runtime
    # -Wno-unsequenced: test-call-macro.c passes i++, i++ on purpose (each
    # argument evaluated once); gcc does not warn there, clang does.
    cflags=(-O1 -g -fsanitize=address -fno-omit-frame-pointer -fuse-ld=lld -Wno-unsequenced
            Tests/c/tools/fork-child-no-leak-check.c)
    # LeakSanitizer is on (the default): a leak fails the test as any error does
    # (fork children excepted: tools/fork-child-no-leak-check.c).
    env_run=(env "ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allow_user_segv_handler=1:print_summary=1}")
fi
export PKG_CONFIG_PATH="$stage/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
if [ ! -e "$stage/lib/pkgconfig/crochet.pc" ]; then
    echo "not ok - no staged library in $stage (make stage, or make test-asan)"
    echo "0 passed, 1 failed"
    exit 1
fi
mkdir -p "$out"
file_filter="${1:-}"
test_filter="${2:-}"
limit="${TEST_TIMEOUT:-30}"
passed=0; failed=0; failures=()

runner=()
# Timing bounds in tests (harness_slowdown()) stretch under instrumentation.
export CROCHET_TEST_SLOWDOWN=1
if [ "${ASAN:-0}" = 1 ]; then
    limit=$((limit * 3))
    export CROCHET_TEST_SLOWDOWN=3
elif [ "${VALGRIND:-0}" = 1 ]; then
    # Fork children skip the leak check (they abandon what they inherited by
    # design: tools/fork-child-no-leak-check.c); every other process is checked.
    if ! cc -O1 -g -gdwarf-4 -shared -fPIC Tests/c/tools/fork-child-no-leak-check.c \
            -o "$out/fork-child-no-leak-check.so"; then
        echo "not ok - Tests/c/tools/fork-child-no-leak-check.c does not compile (valgrind's headers?)"
        echo "0 passed, 1 failed"
        exit 1
    fi
    runner=(env "LD_PRELOAD=$PWD/$out/fork-child-no-leak-check.so"
            valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
            --show-leak-kinds=definite --num-callers=40 --suppressions=Tests/c/valgrind.supp)
    limit=$((limit * 4))
    export CROCHET_TEST_SLOWDOWN=20
fi

for src in Tests/c/test-*.c; do
    name=$(basename "$src" .c)
    [ -n "$file_filter" ] && [[ "$name" != *"$file_filter"* ]] && continue
    bin="$out/$name"
    if ! "${cc[@]}" "${cflags[@]}" -Wall -Wextra -Werror -std=gnu11 -pthread -rdynamic "$src" -o "$bin" \
            $(pkg-config --cflags --libs crochet) -Wl,-rpath,"$stage/lib" -lm; then
        echo "not ok - $name: does not compile"
        failed=$((failed + 1)); failures+=("$name (compile)")
        continue
    fi
    for t in $("$bin" --list); do
        [ -n "$test_filter" ] && [[ "$t" != *"$test_filter"* ]] && continue
        log="$out/$name.$t.log"
        start=$(date +%s%N)
        timeout -k 5 "$limit" "${env_run[@]}" "${runner[@]}" "$bin" "$t" >"$log" 2>&1
        rc=$?
        secs=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
        if [ $rc -eq 0 ]; then
            echo "ok - $name: $t (${secs}s)"
            passed=$((passed + 1))
        else
            why="exit $rc"; [ $rc -eq 124 ] && why="timed out after ${limit}s"
            echo "not ok - $name: $t ($why)"
            sed 's/^/    /' "$log" | tail -n 30
            failed=$((failed + 1)); failures+=("$name: $t")
        fi
    done
done
echo
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
