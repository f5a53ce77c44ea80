#!/usr/bin/env bash
# Runs the API-sequence fuzzer (Tests/fuzz/fuzz-api.c) for a given time.
#   Tests/fuzz/run.sh [SECONDS]        default 30 (FUZZ_SECONDS also works)
# Builds libcrochet with AddressSanitizer and sanitizer coverage into
# .build-fuzz, stages it in build/stage-fuzz, links the target with the
# toolchain's clang (-fsanitize=fuzzer,address) and runs libFuzzer with the
# corpus in build/fuzz/corpus (kept between runs). A crash, a violated
# invariant, a leak or a hang is saved as build/fuzz/crash-* (or timeout-*,
# leak-*); rerun one with: build/fuzz/fuzz-api build/fuzz/crash-...
# Prints the executions and a final "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/opt/swift/usr/bin"
seconds="${1:-${FUZZ_SECONDS:-30}}"
out=build/fuzz
stage="$PWD/build/stage-fuzz"
mkdir -p "$out/corpus"

if [ "${FUZZ_SKIP_BUILD:-0}" != 1 ]; then
    if ! Tests/c/tools/build-variant.sh .build-fuzz "$stage" --sanitize=address \
            -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp \
            -Xcc -fsanitize-coverage=inline-8bit-counters,pc-table,trace-cmp; then
        echo "not ok - the ASan + coverage build of libcrochet failed"
        echo "0 passed, 1 failed"
        exit 1
    fi
fi
# -rdynamic: the library's coverage hooks and ASan's interface resolve against
# the executable, which holds the libFuzzer and ASan runtimes.
if ! /opt/swift/usr/bin/clang -O1 -g -fsanitize=fuzzer,address -fno-omit-frame-pointer -fuse-ld=lld \
        -rdynamic -Wall -Wextra -Werror -std=gnu11 -pthread -I"$stage/include" \
        Tests/fuzz/fuzz-api.c -o "$out/fuzz-api" -L"$stage/lib" -lcrochet -Wl,-rpath,"$stage/lib"; then
    echo "not ok - Tests/fuzz/fuzz-api.c does not compile"
    echo "0 passed, 1 failed"
    exit 1
fi

log="$out/fuzz.log"
echo "fuzzing for ${seconds}s (log: $log)"
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}" \
timeout -k 10 $((seconds + 120)) "$out/fuzz-api" -max_total_time="$seconds" -max_len=512 -timeout=60 \
    -print_final_stats=1 -artifact_prefix="$out/" "$out/corpus" >"$log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
echo "executions: ${execs:-?} (${rate:-?}/s), ${cov:-cov: ?} edges, corpus: $(ls "$out/corpus" | wc -l) inputs"
if [ $rc -eq 0 ]; then
    echo "ok - fuzz-api: ${seconds}s, no crash, leak, hang or broken invariant"
    echo "1 passed, 0 failed"
else
    echo "not ok - fuzz-api (exit $rc)"
    grep -v '^#[0-9]' "$log" | tail -n 60 | sed 's/^/    /'
    ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* 2>/dev/null | sed 's/^/    saved: /'
    echo "0 passed, 1 failed"
    exit 1
fi
