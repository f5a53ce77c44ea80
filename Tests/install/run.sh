#!/usr/bin/env bash
# make test-install: install what `make` built into a temporary DESTDIR the way
# a distribution would (PREFIX=/usr, multiarch LIBDIR), then build and run
# programs against that tree only: a CMake project (find_package(crochet 0.2)
# + crochet::crochet), a Meson project, a pkg-config Makefile project, each
# with a C program and a C++ program that includes <crochet.hpp>; and a CMake
# project that uses the repository through add_subdirectory. Also checks that
# install runs no package manager and no build, refuses to run before make,
# ships the library stripped with no RUNPATH and its debug info split off, and
# that uninstall removes everything it installed. Never rebuilds the library.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
here=$root/Tests/install

# Only what this test installs may be found: not the staged library.
unset PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR LD_LIBRARY_PATH CMAKE_PREFIX_PATH MAKEFLAGS MFLAGS

macro() { sed -n "s/^#define CROCHET_VERSION_$1 \\([0-9]*\\).*/\\1/p" include/crochet.h; }
version=$(sed -n 's/^#define CROCHET_VERSION_STRING "\(.*\)"/\1/p' include/crochet.h)
major=$(macro MAJOR); minor=$(macro MINOR)
if [ "$major" = 0 ]; then soname=libcrochet.so.$major.$minor; else soname=libcrochet.so.$major; fi
multiarch=$(cc -print-multiarch 2>/dev/null || true)
[ -n "$multiarch" ] || multiarch=$(uname -m)-linux-gnu
prefix=/usr
libdir=/usr/lib/$multiarch

if [ ! -f build/dist/lib/libcrochet.so.$version ]; then
    echo "test-install: build/dist/lib/libcrochet.so.$version is missing: run make first" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/crochet-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
lib=$dest$libdir/libcrochet.so.$version

passed=0; failed=0
ok()   { passed=$((passed + 1)); echo "ok   - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }
step() { printf '\n# %s (%ss so far)\n' "$1" "$SECONDS"; }

# Package managers and builders, replaced by shims that record any call.
shims=$tmp/shims
mkdir -p "$shims"
for tool in apt-get apt aptitude dpkg dpkg-query sudo pip pip3 swift swiftc swift-build; do
    printf '#!/bin/sh\necho "%s $*" >> "%s/called"\nexit 1\n' "$tool" "$shims" > "$shims/$tool"
    chmod +x "$shims/$tool"
done
install_make() { PATH="$shims:$PATH" make --no-print-directory -C "$root" "$@"; }
dirs=(DESTDIR="$dest" PREFIX=$prefix LIBDIR="$libdir")

step "install refuses to run before make"
if out=$(install_make install DIST="$tmp/nothing-built" DESTDIR="$tmp/early" 2>&1); then
    fail "make install with nothing built succeeded"
else
    check "make install with nothing built says: run make first" grep -q "run make first" <<<"$out"
fi
check "and installs nothing" test ! -e "$tmp/early"

step "make install ${dirs[*]}"
if install_make install "${dirs[@]}" > "$tmp/install.log" 2>&1; then
    ok "make install"
else
    fail "make install"; cat "$tmp/install.log"
fi
if [ -s "$shims/called" ]; then
    fail "install ran a package manager or a build:"; cat "$shims/called"
else
    ok "install ran no package manager, no swift"
fi

step "what is installed"
expected=(
    "$libdir/libcrochet.so.$version"
    "$libdir/$soname -> libcrochet.so.$version"
    "$libdir/libcrochet.so -> $soname"
    "$libdir/.debug/$soname.debug"
    "/usr/include/crochet.h"
    "/usr/include/crochet.hpp"
    "$libdir/pkgconfig/crochet.pc"
    "$libdir/cmake/crochet/crochetConfig.cmake"
    "$libdir/cmake/crochet/crochetConfigVersion.cmake"
    "/usr/share/doc/libcrochet/LICENSE"
    "/usr/share/doc/libcrochet/README.md"
    "/usr/share/doc/libcrochet/CHANGELOG.md"
    "/usr/share/doc/libcrochet/docs/concepts.md"
    "/usr/share/doc/libcrochet/docs/api/README.md"
    "/usr/share/doc/libcrochet/bindings/cpp/README.md"
)
for e in "${expected[@]}"; do
    path=${e%% -> *}
    if [ "$path" != "$e" ]; then
        check "$e" test "$(readlink "$dest$path" 2>/dev/null)" = "${e#* -> }"
    else
        check "$path" test -f "$dest$path"
    fi
done
check "installed header is the tree's" cmp -s "$dest/usr/include/crochet.h" include/crochet.h
check "installed docs: every relative link resolves" bash -c \
    'cd "$1" && python3 "$2/scripts/gen-api-docs.py" --check-links *.md docs/*.md docs/api/*.md bindings/*/README.md' \
    _ "$dest/usr/share/doc/libcrochet" "$root"
check "no file outside /usr" test "$(cd "$dest" && ls)" = usr
check "library mode 644" test "$(stat -c %a "$lib")" = 644

step "the shipped library"
dyn=$(readelf -d "$lib")
check "SONAME is $soname" grep -q "Library soname: \[$soname\]" <<<"$dyn"
if grep -qE '\((RUNPATH|RPATH)\)' <<<"$dyn"; then fail "no RUNPATH: $(grep -E 'RUNPATH|RPATH' <<<"$dyn")"; else ok "no RUNPATH or RPATH"; fi
sections=$(readelf -S -W "$lib")
check "stripped: no .symtab" bash -c '! grep -q " \.symtab " <<<"$1"' _ "$sections"
check "stripped: no .debug_* sections" bash -c '! grep -q " \.debug_" <<<"$1"' _ "$sections"
check ".gnu_debuglink names $soname.debug" bash -c 'readelf -p .gnu_debuglink "$1" | grep -q "$2"' _ "$lib" "$soname.debug"
debuglink_crc_matches() {  # the CRC-32 in .gnu_debuglink is the debug file's (what gdb checks)
    python3 - "$1" "$2" <<'PY'
import subprocess, sys, tempfile, zlib
lib, debug = sys.argv[1:]
with tempfile.NamedTemporaryFile() as t:
    subprocess.run(["objcopy", "--dump-section", ".gnu_debuglink=" + t.name, lib], check=True)
    link = open(t.name, "rb").read()
crc = int.from_bytes(link[-4:], "little")
sys.exit(0 if crc == zlib.crc32(open(debug, "rb").read()) & 0xffffffff else 1)
PY
}
check ".gnu_debuglink CRC matches the installed $soname.debug" debuglink_crc_matches "$lib" "$dest$libdir/.debug/$soname.debug"
check "$soname.debug holds the DWARF" bash -c 'readelf -S -W "$1" | grep -q " \.debug_info "' _ "$dest$libdir/.debug/$soname.debug"
others=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[A-Z]$/ {print $3}' | grep -v '^crochet_' || true)
check "exports only crochet_* symbols (global or weak)" test -z "$others"
echo "     library $(stat -c %s "$lib") bytes, debug info $(stat -c %s "$dest$libdir/.debug/$soname.debug") bytes"

run_app() {  # run_app WHAT BINARY
    local out
    if out=$(LD_LIBRARY_PATH="$dest$libdir" timeout 30 "$2" "$lib" 2>&1); then
        ok "$1: $(head -n1 <<<"$out")"
    else
        fail "$1: $out"
    fi
}

step "pkg-config and a Makefile project"
export PKG_CONFIG_LIBDIR=$dest$libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
check "pkg-config --modversion crochet = $version" test "$(pkg-config --modversion crochet)" = "$version"
check "crochet.pc libdir = $libdir" bash -c 'grep -qx "libdir=\${prefix}/lib/$1" "$2"' _ "$multiarch" "$PKG_CONFIG_LIBDIR/crochet.pc"
cp -r "$here/pkgconfig" "$tmp/pkgconfig"
cp "$here/app.c" "$here/app.cpp" "$tmp/pkgconfig/"
if make --no-print-directory -s -C "$tmp/pkgconfig" > "$tmp/pkgconfig.log" 2>&1; then
    ok "pkg-config project builds (C and C++ with <crochet.hpp>)"
    run_app "pkg-config C program" "$tmp/pkgconfig/app"
    run_app "pkg-config C++ program" "$tmp/pkgconfig/app-cpp"
else
    fail "pkg-config project builds"; cat "$tmp/pkgconfig.log"
fi

step "Meson"
cp -r "$here/meson" "$tmp/meson"
cp "$here/app.c" "$here/app.cpp" "$tmp/meson/"
if (meson setup "$tmp/meson/build" "$tmp/meson" && ninja -C "$tmp/meson/build") > "$tmp/meson.log" 2>&1; then
    ok "Meson project builds (dependency('crochet', version: '>=0.2'))"
    run_app "Meson C program" "$tmp/meson/build/app"
    run_app "Meson C++ program" "$tmp/meson/build/app-cpp"
else
    fail "Meson project builds"; cat "$tmp/meson.log"
fi
unset PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR

step "CMake: find_package(crochet 0.2 REQUIRED), crochet::crochet"
generator=(); command -v ninja >/dev/null && generator=(-G Ninja)
cp -r "$here/cmake" "$tmp/cmake"
cp "$here/app.c" "$here/app.cpp" "$tmp/cmake/"
if (cmake -S "$tmp/cmake" -B "$tmp/cmake/build" "${generator[@]}" -DCMAKE_PREFIX_PATH="$dest/usr" \
        -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON && cmake --build "$tmp/cmake/build") > "$tmp/cmake.log" 2>&1; then
    ok "CMake project builds"
    check "found the package in $libdir/cmake/crochet" \
        grep -q "crochet_DIR:PATH=$dest$libdir/cmake/crochet" "$tmp/cmake/build/CMakeCache.txt"
    run_app "CMake C program" "$tmp/cmake/build/app"
    run_app "CMake C++ program" "$tmp/cmake/build/app-cpp"
else
    fail "CMake project builds"; cat "$tmp/cmake.log"
fi

# Which requests this version satisfies (SameMinorVersion before 1.0).
version_answer() {
    cat > "$tmp/version.cmake" <<EOF
set(PACKAGE_FIND_NAME crochet)
set(PACKAGE_FIND_VERSION "$1")
string(REPLACE "." ";" _parts "$1")
list(LENGTH _parts PACKAGE_FIND_VERSION_COUNT)
list(APPEND _parts 0 0 0)
list(GET _parts 0 PACKAGE_FIND_VERSION_MAJOR)
list(GET _parts 1 PACKAGE_FIND_VERSION_MINOR)
list(GET _parts 2 PACKAGE_FIND_VERSION_PATCH)
set(CMAKE_SIZEOF_VOID_P 8)
include("$dest$libdir/cmake/crochet/crochetConfigVersion.cmake")
if(PACKAGE_VERSION_COMPATIBLE)
  message("yes")
else()
  message("no")
endif()
EOF
    cmake -P "$tmp/version.cmake" 2>&1
}
this_minor="$major.$minor"
if [ "$major" = 0 ]; then
    other_minors=("$major.$((minor + 1))" "$major.$((minor - 1))" "$((major + 1)).0")
else
    other_minors=("$((major + 1)).0" "$((major - 1)).0")
fi
check "find_package(crochet $this_minor) accepts $version" test "$(version_answer "$this_minor")" = yes
check "find_package(crochet $version) accepts $version" test "$(version_answer "$version")" = yes
for v in "${other_minors[@]}"; do
    check "find_package(crochet $v) rejects $version" test "$(version_answer "$v")" = no
done

step "CMake: add_subdirectory of the repository"
cp -r "$here/subdir" "$tmp/subdir"
cp "$here/app.c" "$tmp/subdir/"
if (cmake -S "$tmp/subdir" -B "$tmp/subdir/build" "${generator[@]}" -DCROCHET_SOURCE_DIR="$root" \
        -DCROCHET_PREBUILT_LIBRARY="$root/build/stage/lib/libcrochet.so.$version" \
        && cmake --build "$tmp/subdir/build") > "$tmp/subdir.log" 2>&1; then
    ok "add_subdirectory project builds"
    out=$(timeout 30 "$tmp/subdir/build/app" "$tmp/subdir/build/crochet/lib/libcrochet.so.$version" 2>&1) \
        && ok "add_subdirectory C program (build-tree RUNPATH): $out" || fail "add_subdirectory C program: $out"
else
    fail "add_subdirectory project builds"; cat "$tmp/subdir.log"
fi

step "make uninstall"
if install_make uninstall "${dirs[@]}" > "$tmp/uninstall.log" 2>&1; then ok "make uninstall"; else fail "make uninstall"; cat "$tmp/uninstall.log"; fi
left=$(cd "$dest" && find . \( -type f -o -type l \) | sort)
if [ -z "$left" ]; then ok "uninstall removed every installed file"; else fail "uninstall left: $left"; fi
for d in "$libdir/cmake/crochet" "$libdir/.debug" /usr/share/doc/libcrochet; do
    check "uninstall removed $d" test ! -e "$dest$d"
done

step "make install-strip"
dest2=$tmp/dest-strip
if install_make install-strip DESTDIR="$dest2" PREFIX=$prefix LIBDIR="$libdir" > "$tmp/strip.log" 2>&1; then
    ok "make install-strip"
    check "install-strip: the library, without the separate debug info" \
        bash -c 'test -f "$1/libcrochet.so.$2" && test ! -e "$1/.debug"' _ "$dest2$libdir" "$version"
    install_make uninstall DESTDIR="$dest2" PREFIX=$prefix LIBDIR="$libdir" > /dev/null 2>&1
    left=$(cd "$dest2" && find . \( -type f -o -type l \))
    check "uninstall after install-strip leaves nothing" test -z "$left"
else
    fail "make install-strip"; cat "$tmp/strip.log"
fi
if [ -s "$shims/called" ]; then fail "install/uninstall ran: $(cat "$shims/called")"; fi

echo
echo "test-install: $passed passed, $failed failed in ${SECONDS}s"
[ "$failed" -eq 0 ]
