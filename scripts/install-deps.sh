#!/usr/bin/env bash
# Installs the Debian packages the build, demo and tests need, if missing.
# Usage: scripts/install-deps.sh [package...]   (defaults to the full set)
set -euo pipefail
packages=("$@")
if [ ${#packages[@]} -eq 0 ]; then
    # patchelf: `make` (dist) removes SwiftPM's RUNPATH from the shipped library.
    # cmake, meson, ninja-build: make test-install builds consumers of the install.
    packages=(libffi-dev pkg-config libcurl4-openssl-dev valgrind python3-pip
              patchelf cmake meson ninja-build)
fi
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    echo "note: swift is at /opt/swift/usr/bin; add it to PATH" >&2
fi
