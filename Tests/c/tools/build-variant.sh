#!/usr/bin/env bash
# Builds libcrochet with extra swift-build flags into its own scratch path and
# stages it (library under its soname, header, crochet.pc) in its own
# directory, like `make stage` does for the release build in build/stage.
#   Tests/c/tools/build-variant.sh SCRATCH STAGE [swift build flags...]
#   Tests/c/tools/build-variant.sh .build-asan build/stage-asan --sanitize=address
# The variants are optimised, as the shipped library is: an unoptimised Swift
# build looks generic metadata up in the runtime's locked caches on every
# call (tuple types on each submit), and a fork() from another thread while
# one of those locks is held leaves the child a lock nobody will release
# (test-fork's fork_while_busy hung under the debug ASan build). nice -n 10
# keeps them out of the way of other builds.
set -euo pipefail
cd "$(dirname "$0")/../../.."
export PATH="$PATH:/opt/swift/usr/bin"
scratch=$1; stage=$2; shift 2
case "$stage" in /*) ;; *) stage="$PWD/$stage" ;; esac
version=$(sed -n 's/^#define CROCHET_VERSION_STRING "\(.*\)"/\1/p' include/crochet.h)
major=$(sed -n 's/^#define CROCHET_VERSION_MAJOR \([0-9]*\)/\1/p' include/crochet.h)
minor=$(sed -n 's/^#define CROCHET_VERSION_MINOR \([0-9]*\)/\1/p' include/crochet.h)
soname=libcrochet.so.$([ "$major" = 0 ] && echo "$major.$minor" || echo "$major")
nice -n 10 swift build -c release --product crochet --scratch-path "$scratch" "$@" 2>&1 | tail -n 5
mkdir -p "$stage/lib/pkgconfig" "$stage/include"
# Copy then rename: a process that has the old library mapped keeps it intact.
cp "$scratch/release/libcrochet.so" "$stage/lib/.libcrochet.so.tmp"
mv -f "$stage/lib/.libcrochet.so.tmp" "$stage/lib/libcrochet.so.$version"
ln -sf "libcrochet.so.$version" "$stage/lib/$soname"
ln -sf "$soname" "$stage/lib/libcrochet.so"
cp include/crochet.h "$stage/include/crochet.h"
sed -e "s|@PREFIX@|$stage|" -e "s|@VERSION@|$version|" pkgconfig/crochet.pc.in > "$stage/lib/pkgconfig/crochet.pc"
echo "staged libcrochet $version ($*) in $stage"
