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
# Twisted, for the Python binding's tests/test_twisted.py (which skips without
# it), with the full set only: into the Python `make test` uses, through pip,
# else Debian's package (a system Python that refuses pip, PEP 668).
py=${PYTHON:-python3}
if [ $# -eq 0 ] && command -v "$py" >/dev/null 2>&1 && ! "$py" -c 'import twisted' 2>/dev/null; then
    echo "installing: twisted (for $py)"
    if ! "$py" -m pip install -q twisted; then
        SUDO=""
        [ "$(id -u)" -ne 0 ] && SUDO=sudo
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-twisted >/dev/null ||
            echo "note: twisted is not installed: the Python binding's Twisted tests skip" >&2
    fi
fi
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    echo "note: swift is at /opt/swift/usr/bin; add it to PATH" >&2
fi
