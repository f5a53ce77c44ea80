#!/usr/bin/env bash
# Runs examples/c/diagnose.c and examples/python/diagnose.py against the
# staged libcrochet and checks that their output shows what issue 12 promises:
# the stall warning naming the blocking call, the timeout diagnoses (a call
# running on the reactor thread, one queued behind it, one waiting on a
# deferred that never fires) in the log records and in the statuses, infos
# and TimeoutError messages, and the stats line.
#   Tests/c/diagnose/run.sh            (make test-diagnose)
set -uo pipefail
cd "$(dirname "$0")/../../.."
root="$PWD"
stage="$root/build/stage"
export PKG_CONFIG_PATH="$stage/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
out="$root/build/tests/c/diagnose"
mkdir -p "$out"
passed=0; failed=0
T='([0-9.]+ m?s|less than 4 ms)'   # a duration as the library says it (a loaded machine may be slow)
M='(0\.[7-9][0-9]|[1-9][0-9]*\.[0-9]+) s'   # fetch_page's 0.8 s, or more

# expect FILE PATTERN...: each (grep -E) pattern matches exactly one line of FILE.
expect() {
    local file=$1 name=$2; shift 2
    local p n ok=1
    for p in "$@"; do
        n=$(grep -cE -- "$p" "$file")
        if [ "$n" != 1 ]; then
            echo "  $name: $n lines match: $p"
            ok=0
        fi
    done
    if [ $ok = 1 ]; then
        echo "ok - $name"; passed=$((passed + 1))
    else
        echo "not ok - $name (output in $file):"; sed 's/^/    | /' "$file"; failed=$((failed + 1))
    fi
}

# run NAME OUTFILE COMMAND...: runs it with a time limit; fails on a non-zero exit.
run() {
    local name=$1 file=$2; shift 2
    local start=$SECONDS
    if ! timeout 30 "$@" >"$file" 2>"$file.stderr"; then
        echo "not ok - $name exited with an error:"; sed 's/^/    | /' "$file" "$file.stderr"
        failed=$((failed + 1))
        return 1
    fi
    echo "# $name ran in $((SECONDS - start)) s"
    return 0
}

if cc -O2 -g -Wall -Wextra -Werror -rdynamic examples/c/diagnose.c -o "$out/diagnose" \
        $(pkg-config --cflags --libs crochet) -Wl,-rpath,"$stage/lib"; then
    if run "examples/c/diagnose.c" "$out/c.txt" "$out/diagnose"; then
        expect "$out/c.txt" "C: the stall warning names fetch_page" \
            '^\[log WARNING\] the reactor thread is stalled: `fetch_page` has been running for '"$T"'; '
        expect "$out/c.txt" "C: crochet_wait's timeout, and fetch_page's info while it runs" \
            '^crochet_wait\(fetch_page, 0\.4 s\): CROCHET_ETIMEDOUT$' \
            '^  fetch_page: state=running function=fetch_page queued=[0-9.]+ s running=([0-9]+\.[0-9]+) s$'
        expect "$out/c.txt" "C: crochet_wait_for's WARNING for a call queued behind it" \
            '^\[log WARNING\] crochet_wait_for\(add, 0\.1 s\) timed out: `add` has not started: queued for '"$T"' behind other work on the reactor thread$' \
            '^crochet_wait_for\(add, 0\.1 s\): CROCHET_ETIMEDOUT$'
        expect "$out/c.txt" "C: fetch_page done; the loop free again" \
            '^fetch_page returned 200$' \
            '^  fetch_page: state=done function=fetch_page ' \
            '^\[log DEBUG\] the reactor is free again: `fetch_page`'
        expect "$out/c.txt" "C: a deferred that never fires: waiting, crochet_wait_for's WARNING" \
            '^crochet_wait\(await_reply, 0\.2 s\): CROCHET_ETIMEDOUT$' \
            '^  await_reply: state=waiting function=await_reply ' \
            '^\[log WARNING\] crochet_wait_for\(await_reply, 0\.2 s\) timed out: `await_reply` returned a deferred that has not fired for '"$T"'' \
            '^crochet_wait_for\(await_reply, 0\.2 s\): CROCHET_ETIMEDOUT$'
        expect "$out/c.txt" "C: stats" \
            '^stats: submitted=4 completed=[0-9]+ queued=0 waiting=[0-9]+ max_callback='"$M"''
        # One per stall and per crochet_wait_for timeout; none for crochet_wait's.
        n=$(grep -c '^\[log WARNING\]' "$out/c.txt")
        [ "$n" = 3 ] && { echo "ok - C: three WARNINGs"; passed=$((passed + 1)); } ||
            { echo "not ok - C: $n WARNINGs, not 3"; failed=$((failed + 1)); }
    fi
else
    echo "not ok - examples/c/diagnose.c does not compile"; failed=$((failed + 1))
fi

py=(env PYTHONPATH="$root/bindings/python" "${PYTHON:-python3}" examples/python/diagnose.py)
if run "examples/python/diagnose.py" "$out/python.txt" "${py[@]}"; then
    f="$out/python.txt"
    expect "$f" "Python: the stall warning names fetch_page" \
        '^\[log WARNING\] the reactor thread is stalled: `fetch_page` has been running for '"$T"'; '
    expect "$f" "Python: wait()'s TimeoutError says fetch_page is running" \
        '^page\.wait\(0\.4\): TimeoutError: no result within 0\.4 seconds: `fetch_page` has been running for '"$T"' on the reactor thread \(queued [^)]+\)$' \
        "^  info: <libcrochet\.ResultInfo running 'fetch_page' "
    expect "$f" "Python: wait_for's TimeoutError and WARNING for a call queued behind it" \
        '^\[log WARNING\] wait_for\(add, 0\.1 s\) timed out: `add` has not started: queued for '"$T"' behind other work on the reactor thread$' \
        '^add\(1, 2\): TimeoutError: wait_for\(add, 0\.1 s\) timed out: `add` has not started: queued for '
    expect "$f" "Python: fetch_page done; the loop free again" \
        '^fetch_page returned 200$' \
        '^  info: `fetch_page` is done \(queued ' \
        '^\[log DEBUG\] the reactor is free again: `fetch_page`'
    expect "$f" "Python: a Deferred that never fires" \
        '^reply\.wait\(0\.2\): TimeoutError: no result within 0\.2 seconds: `await_reply` returned a deferred that has not fired for '"$T"'' \
        "^  info: <libcrochet\.ResultInfo waiting 'await_reply' " \
        '^\[log WARNING\] wait_for\(await_reply_for_a_while, 0\.2 s\) timed out: `await_reply_for_a_while` returned a deferred that has not fired for ' \
        '^await_reply_for_a_while\(\): TimeoutError: wait_for\(await_reply_for_a_while, 0\.2 s\) timed out: `await_reply_for_a_while` returned a deferred'
    expect "$f" "Python: stats" \
        '^stats: submitted=[0-9]+ completed=[0-9]+ queued=0 waiting=[0-9]+ max_callback='"$M"''
    n=$(grep -c '^\[log WARNING\]' "$f")
    [ "$n" = 3 ] && { echo "ok - Python: three WARNINGs"; passed=$((passed + 1)); } ||
        { echo "not ok - Python: $n WARNINGs, not 3"; failed=$((failed + 1)); }
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
