#!/usr/bin/env bash
# Builds and runs the C benchmark against the staged libcrochet.
set -euo pipefail
cd "$(dirname "$0")/.."
stage="$PWD/build/stage"
export PKG_CONFIG_PATH="$stage/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
mkdir -p build
ulimit -n 65536 2>/dev/null || true
cc -O2 -g -Wall -Wextra -pthread Benchmarks/bench.c -o build/bench \
    $(pkg-config --cflags --libs crochet) -Wl,-rpath,"$stage/lib" -lm
exec ./build/bench "$@"
