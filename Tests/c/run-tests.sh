#!/usr/bin/env bash
# Builds every Tests/c/test-*.c against the staged libcrochet (through
# pkg-config) and runs each test in its own process with a time limit.
#   Tests/c/run-tests.sh [file-filter] [test-filter]
#   VALGRIND=1 Tests/c/run-tests.sh     runs each test under valgrind memcheck
set -uo pipefail
cd "$(dirname "$0")/../.."
stage="$PWD/build/stage"
export PKG_CONFIG_PATH="$stage/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
out=build/tests/c
mkdir -p "$out"
file_filter="${1:-}"
test_filter="${2:-}"
limit="${TEST_TIMEOUT:-30}"
passed=0; failed=0; failures=()

runner=()
if [ "${VALGRIND:-0}" = 1 ]; then
    runner=(valgrind -q --error-exitcode=99 --leak-check=no --suppressions=Tests/c/valgrind.supp)
    limit=$((limit * 4))
fi

for src in Tests/c/test-*.c; do
    name=$(basename "$src" .c)
    [ -n "$file_filter" ] && [[ "$name" != *"$file_filter"* ]] && continue
    bin="$out/$name"
    if ! cc -O1 -g -Wall -Wextra -Werror -std=gnu11 -pthread -rdynamic "$src" -o "$bin" \
            $(pkg-config --cflags --libs crochet) -Wl,-rpath,"$stage/lib" -lm; then
        echo "not ok - $name: does not compile"
        failed=$((failed + 1)); failures+=("$name (compile)")
        continue
    fi
    for t in $("$bin" --list); do
        [ -n "$test_filter" ] && [[ "$t" != *"$test_filter"* ]] && continue
        log="$out/$name.$t.log"
        start=$(date +%s%N)
        timeout -k 5 "$limit" "${runner[@]}" "$bin" "$t" >"$log" 2>&1
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
