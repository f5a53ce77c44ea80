#!/usr/bin/env bash
# A fresh Swift 6 package depending on libcrochet as a version-pinned
# dependency (SwiftPM refuses unsafe flags there): a copy of this tree, tagged
# with the header's version, is its package URL. Runs the README's example
# from top-level code, a @MainActor function, an actor on the reactor's
# executor and async waits, and checks that a data race does not compile.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
top="$(cd "$here/../.." && pwd)"
version=$(sed -n 's/^#define CROCHET_VERSION_STRING "\(.*\)"/\1/p' "$top/include/crochet.h")
work="$top/build/swift6-consumer"
rm -rf "$work"
mkdir -p "$work/libcrochet" "$work/consumer"
# The working tree as a fresh repository with a version tag.
(cd "$top" && git ls-files -co --exclude-standard -z | grep -zv '^Tests/swift6-consumer/' \
    | xargs -0 tar -cf - ) | tar -xf - -C "$work/libcrochet"
(cd "$work/libcrochet" && git init -q && git add -A && git -c user.name=ci -c user.email=ci@localhost commit -qm snapshot && git tag "$version")
cp -r "$here/Package.swift" "$here/Sources" "$work/consumer/"
cd "$work/consumer"
export LIBCROCHET_URL="file://$work/libcrochet" LIBCROCHET_VERSION="$version"
swift build --product Consumer 2>&1 | tail -n 5
timeout 60 .build/debug/Consumer
# Each race must be rejected, at the capture, for the reason given there.
for target in RaceAtTopLevel:7 RaceWithLocal:8; do
    name=${target%%:*}; line=${target##*:}
    if swift build --target "$name" > "$name.log" 2>&1; then
        echo "not ok: $name compiled (a non-Sendable capture in Crochet.runInReactor)"; exit 1
    fi
    if ! grep -q "$name/main.swift:$line:.*error:" "$name.log"; then
        echo "not ok: $name failed, but not at the capture on line $line:"; grep "error:" "$name.log" | head; exit 1
    fi
    echo "ok: $name is rejected: $(grep -m1 "$name/main.swift:$line:.*error:" "$name.log" | sed 's/.*error: //')"
done
