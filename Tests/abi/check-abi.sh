#!/usr/bin/env bash
# ABI checks on the staged libcrochet.so:
#  - the exported symbols are exactly the functions the header declares;
#  - the library needs nothing from the Swift toolchain at run time;
#  - the soname is derived from the header (libcrochet.so.MAJOR.MINOR before
#    1.0, MAJOR after) and the staged links follow it;
#  - the version macros, crochet_version(), crochet_version_number(),
#    pkg-config and the Python package agree;
#  - the status codes and type tags have the contract's values.
set -uo pipefail
cd "$(dirname "$0")/../.."
stage="${1:-$PWD/build/stage}"
lib="$stage/lib/libcrochet.so"
export PKG_CONFIG_PATH="$stage/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
out=build/tests/abi
mkdir -p "$out"
passed=0; failed=0
check() {  # check NAME COMMAND...
    local name=$1; shift
    if "$@" >"$out/$name.log" 2>&1; then
        echo "ok - abi: $name"; passed=$((passed + 1))
    else
        echo "not ok - abi: $name"; sed 's/^/    /' "$out/$name.log"; failed=$((failed + 1))
    fi
}

exports_match_header() {
    python3 Tests/abi/header_functions.py include/crochet.h | sort > "$out/declared.txt"
    nm -D --defined-only "$lib" | awk '$(NF-1) ~ /^[A-Z]$/ {print $NF}' | sort > "$out/exported.txt"
    local extra missing
    extra=$(comm -13 "$out/declared.txt" "$out/exported.txt")
    missing=$(comm -23 "$out/declared.txt" "$out/exported.txt")
    echo "declared: $(wc -l < "$out/declared.txt"), exported: $(wc -l < "$out/exported.txt")"
    [ -z "$extra" ] || echo "exported but not declared in the header: $extra"
    [ -z "$missing" ] || echo "declared in the header but not exported: $missing"
    [ -z "$extra" ] && [ -z "$missing" ]
}

self_contained() {
    local needed
    needed=$(readelf -d "$lib" | awk '/NEEDED/ {print $NF}')
    echo "NEEDED: $needed"
    ! grep -qi swift <<<"$needed" || { echo "needs a Swift runtime library"; return 1; }
    # A C program runs with nothing of the Swift toolchain on its library path.
    env -i PATH=/usr/bin:/bin "$out/version" > /dev/null
}

header_macro() { sed -n "s/^#define $1 \\([0-9]*\\)\$/\\1/p" include/crochet.h; }

soname_from_header() {
    local major minor expected actual
    major=$(header_macro CROCHET_VERSION_MAJOR)
    minor=$(header_macro CROCHET_VERSION_MINOR)
    if [ "$major" = 0 ]; then expected="libcrochet.so.$major.$minor"; else expected="libcrochet.so.$major"; fi
    actual=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
    echo "header says $expected, the library's SONAME is $actual"
    [ "$actual" = "$expected" ] || return 1
    [ -e "$stage/lib/$expected" ] || { echo "no $expected link in $stage/lib"; return 1; }
    [ "$(readlink "$stage/lib/libcrochet.so")" = "$expected" ] || { echo "libcrochet.so does not point at $expected"; return 1; }
}

versions_agree() {
    local macro runtime number runtime_number pc py
    read -r macro runtime number runtime_number < <("$out/version")
    pc=$(pkg-config --modversion crochet)
    py=$(PYTHONPATH=bindings/python CROCHET_LIBRARY="$lib" python3 -c 'import libcrochet; print(libcrochet.__version__)' 2>&1)
    echo "header: $macro ($number), crochet_version(): $runtime, crochet_version_number(): $runtime_number, pkg-config: $pc, Python: $py"
    [ "$macro" = "$runtime" ] && [ "$number" = "$runtime_number" ] && [ "$macro" = "$pc" ] && [ "$macro" = "$py" ]
}

cc -Wall -Wextra -Werror Tests/abi/version.c -o "$out/version" $(pkg-config --cflags --libs crochet) \
    -Wl,-rpath,"$stage/lib" || { echo "not ok - abi: version.c does not compile"; exit 1; }
cc -Wall -Wextra -Werror Tests/abi/constants.c -o "$out/constants" $(pkg-config --cflags --libs crochet) \
    -Wl,-rpath,"$stage/lib" || { echo "not ok - abi: constants.c does not compile"; exit 1; }
check exports-match-header exports_match_header
check self-contained self_contained
check soname-from-header soname_from_header
check versions-agree versions_agree
check constants "$out/constants"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
