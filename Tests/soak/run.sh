#!/usr/bin/env bash
# The soak run: Tests/soak/soak.c against the staged library (make stage).
#   Tests/soak/run.sh [SECONDS]      default 20 (make soak SECONDS=600 passes it here)
# 8 threads of mixed load, a fork every FORK_EVERY (2) seconds with a child
# that sets up, runs calls and stops, then a final stop with work pending.
# Prints calls done, RSS (first vs last quarter), worst latency, and
# "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-${SECONDS_TO_RUN:-20}}"
stage="$PWD/build/stage"
export PKG_CONFIG_PATH="$stage/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
out=build/soak
mkdir -p "$out"
if ! cc -O2 -g -gdwarf-4 -Wall -Wextra -Werror -std=gnu11 -pthread -rdynamic Tests/soak/soak.c -o "$out/soak" \
        $(pkg-config --cflags --libs crochet) -Wl,-rpath,"$stage/lib" -lm; then
    echo "not ok - Tests/soak/soak.c does not compile (make stage first?)"
    echo "0 passed, 1 failed"
    exit 1
fi
timeout -k 10 $((${seconds%.*} + 180)) "$out/soak" "$seconds"
