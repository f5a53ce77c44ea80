#!/usr/bin/env bash
# Builds and runs the C benchmark (bench.c, with the libuv peer uv-peer.c)
# against the staged libcrochet.
#   Benchmarks/run-bench.sh [--quick] [--only rt,peer,paced,competing,memory,timers]
# The summary goes to build/bench/summary.tsv; the one before it is kept as
# build/bench/summary.prev.tsv (unless it measured no timers: --only), which
# the no-regression goal compares with (BENCH_PREV=file: another run's).
set -euo pipefail
cd "$(dirname "$0")/.."
stage="$PWD/build/stage"
out="$PWD/build/bench"
export PKG_CONFIG_PATH="$stage/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
[ -f "$stage/lib/pkgconfig/crochet.pc" ] || { echo "no staged library in $stage: run make stage" >&2; exit 1; }
# The peer needs libuv's headers (Debian: libuv1-dev).
pkg-config --exists libuv || scripts/install-deps.sh libuv1-dev
mkdir -p "$out"
ulimit -n 65536 2>/dev/null || true
cc -O2 -g -Wall -Wextra -pthread Benchmarks/bench.c Benchmarks/uv-peer.c -o "$out/bench" \
    $(pkg-config --cflags --libs crochet libuv) -Wl,-rpath,"$stage/lib" -lm
# A partial run (--only without timers) does not replace the reference.
if [ -f "$out/summary.tsv" ] && grep -q $'^row\ttimer_schedule_10000\t' "$out/summary.tsv"; then
    mv -f "$out/summary.tsv" "$out/summary.prev.tsv"
fi
prev="${BENCH_PREV:-$out/summary.prev.tsv}"
args=(--summary "$out/summary.tsv")
[ -f "$prev" ] && args+=(--prev "$prev")
exec "$out/bench" "$@" "${args[@]}"
