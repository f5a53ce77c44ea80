#!/usr/bin/env bash
# Builds the C++ binding's tests with g++ and clang++ (-std=c++17 -Wall
# -Wextra -Werror) against the staged libcrochet (run `make stage` first),
# runs every test in its own process with a time limit, and checks that
# misuse fails to compile with a readable message.
#
#   bindings/cpp/run-tests.sh              everything
#   bindings/cpp/run-tests.sh NAME-FILTER  only tests whose name contains it
#   VALGRIND=1 bindings/cpp/run-tests.sh   also runs the g++ binary once, all
#                                          in-process tests, under valgrind
#   CXXS="g++" bindings/cpp/run-tests.sh   only some compilers
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
stage="$root/build/stage"
export PKG_CONFIG_PATH="$stage/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
out="$root/build/tests/cpp"
mkdir -p "$out"
filter="${1:-}"
limit="${TEST_TIMEOUT:-60}"

if ! pkg-config --exists crochet; then
    echo "libcrochet is not staged: run 'make stage' in $root first" >&2
    exit 2
fi
flags=(-std=c++17 -O1 -g -Wall -Wextra -Werror -pthread)
libs=($(pkg-config --cflags --libs crochet) -Wl,-rpath,"$stage/lib" -rdynamic)

if [ -z "${CXXS:-}" ]; then
    CXXS="g++"
    if command -v clang++ >/dev/null; then CXXS="$CXXS clang++"
    elif [ -x /opt/swift/usr/bin/clang++ ]; then CXXS="$CXXS /opt/swift/usr/bin/clang++"
    elif [ -x /usr/bin/clang++ ]; then CXXS="$CXXS /usr/bin/clang++"
    else echo "warning: no clang++ found; testing with g++ only" >&2
    fi
fi

passed=0; failed=0; failures=()
pass() { echo "ok - $1"; passed=$((passed + 1)); }
fail() { echo "not ok - $1"; failed=$((failed + 1)); failures+=("$1"); }

for cxx in $CXXS; do
    tag=$(basename "$cxx")
    bin="$out/test-crochet-$tag"
    echo "# $tag: $("$cxx" --version | head -n 1)"
    if ! "$cxx" "${flags[@]}" "$here/tests/test-crochet.cpp" -o "$bin" "${libs[@]}"; then
        fail "$tag: tests/test-crochet.cpp does not compile"
        continue
    fi
    if ! "$cxx" "${flags[@]}" "$root/examples/cpp/demo.cpp" -o "$out/demo-$tag" "${libs[@]}"; then
        fail "$tag: examples/cpp/demo.cpp does not compile"
    elif timeout -k 5 "$limit" "$out/demo-$tag" >"$out/demo-$tag.log" 2>&1; then
        pass "$tag: examples/cpp/demo.cpp runs"
    else
        fail "$tag: examples/cpp/demo.cpp runs"; sed 's/^/    /' "$out/demo-$tag.log" | tail -n 20
    fi
    for t in $("$bin" --list); do
        [ -n "$filter" ] && [[ "$t" != *"$filter"* ]] && continue
        log="$out/$tag.$t.log"
        timeout -k 5 "$limit" "$bin" "$t" >"$log" 2>&1
        rc=$?
        if [ $rc -eq 0 ] && grep -q '^1 passed, 0 failed$' "$log"; then
            pass "$tag: $t"
        else
            why="exit $rc"; [ $rc -eq 124 ] && why="timed out after ${limit}s"
            fail "$tag: $t ($why)"; sed 's/^/    /' "$log" | tail -n 30
        fi
    done
    # All shareable tests in one process too (what a plain ./bin does).
    if [ -z "$filter" ]; then
        if timeout -k 5 "$limit" "$bin" >"$out/$tag.all.log" 2>&1; then
            pass "$tag: all shareable tests in one process ($(tail -n 1 "$out/$tag.all.log"))"
        else
            fail "$tag: all shareable tests in one process"; sed 's/^/    /' "$out/$tag.all.log" | tail -n 30
        fi
    fi
    # Misuse must not compile, and must say why.
    [ -n "$filter" ] && [[ "compile-fail" != *"$filter"* ]] && continue
    src="$here/tests/compile-fail/misuse.cpp"
    if "$cxx" "${flags[@]}" -DCASE=0 -c "$src" -o "$out/misuse-0.o" $(pkg-config --cflags crochet) 2>"$out/misuse-0.log"; then
        pass "$tag: compile-fail control case compiles"
    else
        fail "$tag: compile-fail control case compiles"; sed 's/^/    /' "$out/misuse-0.log" | head -n 20
    fi
    while IFS='|' read -r n text; do
        [[ -z "$n" || "$n" == \#* ]] && continue
        log="$out/misuse-$tag-$n.log"
        if "$cxx" "${flags[@]}" -DCASE="$n" -c "$src" -o "$out/misuse-$n.o" $(pkg-config --cflags crochet) >"$log" 2>&1; then
            fail "$tag: compile-fail case $n compiled, but must not"
        elif grep -qF -- "$text" "$log"; then
            pass "$tag: compile-fail case $n is rejected: $text"
        else
            fail "$tag: compile-fail case $n is rejected without the message '$text'"
            sed 's/^/    /' "$log" | head -n 20
        fi
    done < "$here/tests/compile-fail/cases.txt"
done

if [ "${VALGRIND:-0}" = 1 ]; then
    bin="$out/test-crochet-g++"
    if timeout -k 5 $((limit * 10)) valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
            --suppressions="$root/Tests/c/valgrind.supp" "$bin" >"$out/valgrind.log" 2>&1; then
        pass "valgrind: $(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out/valgrind.log"), no errors, no definite leaks"
    else
        fail "valgrind (exit $?)"; grep -v DWARF "$out/valgrind.log" | sed 's/^/    /' | tail -n 40
    fi
fi

echo
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
