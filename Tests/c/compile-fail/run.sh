#!/usr/bin/env bash
# Each file here must NOT compile (with -Werror), for the reason its
# "EXPECT:" line names; checked with gcc and clang. Also checks the header
# alone is clean under -Wpedantic -Wconversion in C11, C17 and C23.
set -uo pipefail
cd "$(dirname "$0")/../../.."
passed=0; failed=0
compilers=(gcc)
command -v clang >/dev/null && compilers+=(clang)
[ -x /opt/swift/usr/bin/clang ] && compilers+=(/opt/swift/usr/bin/clang)
for cc in "${compilers[@]}"; do
    for src in Tests/c/compile-fail/*.c; do
        expect=$(sed -n 's|^/\* EXPECT: \(.*\) \*/$|\1|p' "$src")
        out=$("$cc" -std=c11 -Wall -Wextra -Werror -Iinclude -c "$src" -o /dev/null 2>&1)
        if [ $? -eq 0 ]; then
            echo "not ok - compile-fail: $(basename "$src") compiled with $cc"; failed=$((failed + 1))
        elif ! grep -qi -- "$expect" <<<"$out"; then
            echo "not ok - compile-fail: $(basename "$src") failed with $cc, but not with \"$expect\":"
            sed 's/^/    /' <<<"$out" | head -n 8; failed=$((failed + 1))
        else
            echo "ok - compile-fail: $(basename "$src") ($cc)"; passed=$((passed + 1))
        fi
    done
    for std in c11 c17 c2x; do
        if echo '#include <crochet.h>' | "$cc" -std=$std -Wall -Wextra -Wpedantic -Wconversion -Werror -Iinclude -x c -c - -o /dev/null; then
            echo "ok - header clean: $cc -std=$std -Wpedantic -Wconversion"; passed=$((passed + 1))
        else
            echo "not ok - header: $cc -std=$std"; failed=$((failed + 1))
        fi
    done
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
