#!/usr/bin/env bash
# Tests examples/c/downloader.c against the staged libcrochet and libcurl.
# Serves 20 files of random bytes over HTTP on 127.0.0.1 (python3's
# http.server on a free port), runs each test of test-downloader.c in its own
# process with a time limit, then the downloader command line on a few URLs.
#   Tests/c/downloader/run.sh [test-filter]
#   VALGRIND=1 Tests/c/downloader/run.sh     runs each test under valgrind memcheck
# Needs: make stage; scripts/install-deps.sh libcurl4-openssl-dev; python3.
set -uo pipefail
cd "$(dirname "$0")/../../.."
root="$PWD"
stage="$root/build/stage"
export PKG_CONFIG_PATH="$stage/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
out="$root/build/tests/c/downloader"
mkdir -p "$out"
filter="${1:-}"
limit="${TEST_TIMEOUT:-60}"
passed=0; failed=0; failures=()

runner=()
if [ "${VALGRIND:-0}" = 1 ]; then
    runner=(valgrind -q --error-exitcode=99 --leak-check=no --suppressions=Tests/c/valgrind.supp)
    limit=$((limit * 4))
fi

for dep in crochet libcurl; do
    if ! pkg-config --exists "$dep"; then
        echo "not ok - pkg-config cannot find $dep (make stage; scripts/install-deps.sh libcurl4-openssl-dev)"
        echo "0 passed, 1 failed"
        exit 1
    fi
done

# Build the test (downloader.c without its main) and the command line.
flags=(-O1 -g -Wall -Wextra -Werror -std=gnu11 -pthread -rdynamic)
libs=($(pkg-config --cflags --libs crochet libcurl) -Wl,-rpath,"$stage/lib" -lm)
if ! cc "${flags[@]}" -DDOWNLOADER_NO_MAIN -Iexamples/c -ITests/c \
        Tests/c/downloader/test-downloader.c examples/c/downloader.c -o "$out/test-downloader" "${libs[@]}" ||
   ! cc "${flags[@]}" examples/c/downloader.c -o "$out/downloader" "${libs[@]}"; then
    echo "not ok - does not compile"
    echo "0 passed, 1 failed"
    exit 1
fi

# The files to serve: 20 sizes from empty to 4 MiB, random bytes.
tmp=$(mktemp -d)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir "$tmp/www"
python3 - "$tmp/www" <<'EOF'
import os, random, sys
sizes = [0, 1, 2, 100, 1023, 1024, 1025, 4096, 16383, 65536, 100000, 131073,
         250000, 524288, 999999, 1048576, 1500000, 2097152, 3000001, 4194304]
for i, size in enumerate(sizes):
    with open(os.path.join(sys.argv[1], "f%02d" % i), "wb") as f:
        f.write(os.urandom(size))
EOF

# A free port: ask the kernel for one, then start the server on it; retry if
# another program took it meanwhile. Wait (bounded) until it accepts.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
accepts() { python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()' "$1" 2>/dev/null; }
port=""
for attempt in 1 2 3; do
    candidate=$(free_port)
    python3 -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$candidate" >"$out/http-server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 50); do
        if accepts "$candidate"; then port=$candidate; break; fi
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$port" ] && break
    kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; server_pid=""
done
if [ -z "$port" ]; then
    echo "not ok - the HTTP server did not start"; cat "$out/http-server.log"
    echo "0 passed, 1 failed"
    exit 1
fi
export DOWNLOADER_TEST_DIR="$tmp/www" DOWNLOADER_TEST_PORT="$port"

bin="$out/test-downloader"
for t in $("$bin" --list); do
    [ -n "$filter" ] && [[ "$t" != *"$filter"* ]] && continue
    log="$out/$t.log"
    start=$(date +%s%N)
    timeout -k 5 "$limit" "${runner[@]}" "$bin" "$t" >"$log" 2>&1
    rc=$?
    secs=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
    if [ $rc -eq 0 ]; then
        echo "ok - $t (${secs}s)"
        passed=$((passed + 1))
    else
        why="exit $rc"; [ $rc -eq 124 ] && why="timed out after ${limit}s"
        echo "not ok - $t ($why)"
        sed 's/^/    /' "$log" | tail -n 30
        failed=$((failed + 1)); failures+=("$t")
    fi
done

# The command line: three URLs at once, one of them missing; exit status 1.
if [ -z "$filter" ] || [[ cli == *"$filter"* ]]; then
    log="$out/cli.log"
    base="http://127.0.0.1:$port"
    timeout -k 5 "$limit" "${runner[@]}" "$out/downloader" -t 30 "$base/f19" "$base/f05" "$base/missing" >"$log" 2>&1
    rc=$?
    if [ $rc -eq 1 ] &&
       grep -qx "$base/f19: 4194304 bytes (HTTP 200)" "$log" &&
       grep -qx "$base/f05: 1024 bytes (HTTP 200)" "$log" &&
       grep -qx "$base/missing: failed: HTTP 404 (code 404)" "$log"; then
        echo "ok - cli"
        passed=$((passed + 1))
    else
        echo "not ok - cli (exit $rc)"
        sed 's/^/    /' "$log" | tail -n 30
        failed=$((failed + 1)); failures+=("cli")
    fi
fi

echo
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
