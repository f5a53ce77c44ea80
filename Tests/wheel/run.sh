#!/bin/bash
# The Python wheel as a user gets it (make test-wheel, after make wheel):
#
#   1. installed into a fresh venv, `env -i venv/bin/python` imports it and
#      runs calls with nothing on PATH but failing pkg-config/cc/swift shims:
#      the library it maps is the bundled one, no shim ran, no subprocess
#      module was even imported;
#   2. one reactor per process: a C library linked with -lcrochet (NEEDED
#      libcrochet.so.0.2), loaded with ctypes before `import libcrochet`, with
#      a copy of the staged library on LD_LIBRARY_PATH: the package uses that
#      copy (not its bundled one), a call the C library submits and one Python
#      submits run on the same thread, and one libcrochet is mapped;
#   3. the other order: the package first (bundled copy), then the C library:
#      the dynamic linker binds it to the copy already loaded (its soname), so
#      again one libcrochet and one reactor thread.
#
#   Tests/wheel/run.sh WHEEL STAGE SONAME     (PYTHON, CC from the environment)
set -euo pipefail

if [ $# -ne 3 ]; then
    echo "usage: $0 WHEEL STAGE SONAME" >&2
    exit 2
fi
wheel=$1 stage=$2 soname=$3
python=${PYTHON:-python3}
cc=${CC:-cc}
here=$(cd "$(dirname "$0")" && pwd)
test -f "$wheel" || { echo "test-wheel: no wheel $wheel (make wheel)" >&2; exit 1; }
test -f "$stage/lib/$soname" || { echo "test-wheel: no $stage/lib/$soname" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1

"$python" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q --no-index --no-deps "$wheel"
site=$("$tmp/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')
bundled=$site/libcrochet/_lib/$soname
test -f "$bundled" || { echo "test-wheel: the wheel installed no $bundled" >&2; exit 1; }

# The only PATH the tests get: tools that fail, and say so, if anything runs them.
mkdir -p "$tmp/bin"
for tool in pkg-config cc gcc clang swift swiftc ldconfig; do
    printf '#!/bin/sh\necho "%s $*" >> "%s"\nexit 1\n' "$tool" "$tmp/ran" > "$tmp/bin/$tool"
    chmod +x "$tmp/bin/$tool"
done

# The "system" libcrochet: a private copy of the staged one (a concurrent
# `make stage` replaces build/stage's file), with its soname and dev links.
mkdir -p "$tmp/syslib"
cp "$(readlink -f "$stage/lib/$soname")" "$tmp/syslib/$soname"
ln -s "$soname" "$tmp/syslib/libcrochet.so"
"$cc" -shared -fPIC -O1 -Wall -Wextra -Werror "$here/oneloop.c" -o "$tmp/liboneloop.so" \
    -I"$stage/include" -L"$tmp/syslib" -lcrochet
readelf -d "$tmp/liboneloop.so" | grep -q "NEEDED.*\[$soname\]" \
    || { echo "test-wheel: liboneloop.so does not need $soname" >&2; exit 1; }

# Helpers every check below uses, in the venv's Python.
mkdir -p "$tmp/helpers"
cat > "$tmp/helpers/wheelcheck.py" <<'EOF'
import ctypes, os, sys, threading
from ctypes import POINTER, byref, c_int, c_uint64

SONAME, BUNDLED = os.environ["SONAME"], os.environ["BUNDLED"]

def libcrochet_mapped():
    """Every libcrochet file mapped in this process (real paths)."""
    paths = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(None, 5)
            path = fields[5].strip() if len(fields) == 6 else ""
            if path.endswith(" (deleted)"):   # replaced on disk since it was mapped
                path = path[:-len(" (deleted)")]
            if os.path.basename(path).startswith("libcrochet.so"):
                paths.add(os.path.realpath(path))
    return sorted(paths)

def python_reactor_thread(libcrochet):
    return libcrochet.wait_for(5)(threading.get_ident)()

def c_reactor_thread(one):
    one.oneloop_reactor_thread.argtypes = [POINTER(c_uint64), POINTER(c_int)]
    thread, in_reactor = c_uint64(), c_int()
    status = one.oneloop_reactor_thread(byref(thread), byref(in_reactor))
    assert status == 0, "the C library's call failed: status %d" % status
    assert in_reactor.value == 1, "crochet_in_reactor_thread() was %d" % in_reactor.value
    return thread.value

def same_reactor(libcrochet, one, expected_path):
    mapped = libcrochet_mapped()
    assert mapped == [os.path.realpath(expected_path)], mapped
    assert os.path.realpath(libcrochet.library_path()) == os.path.realpath(expected_path), \
        libcrochet.library_path()
    c_thread, py_thread = c_reactor_thread(one), python_reactor_thread(libcrochet)
    assert c_thread == py_thread, (c_thread, py_thread)
    assert py_thread != threading.get_ident()
    return "%s, reactor thread %#x" % (mapped[0], py_thread)
EOF

run() {   # run NAME [VAR=value...] -- CODE: the venv's Python under env -i
    local name=$1; shift
    local vars=()
    while [ "$1" != "--" ]; do vars+=("$1"); shift; done
    shift
    if ! env -i PATH="$tmp/bin" HOME="$tmp" SONAME="$soname" BUNDLED="$bundled" "${vars[@]}" \
            PYTHONPATH="$tmp/helpers" "$tmp/venv/bin/python" -c "$1" > "$tmp/out" 2>&1; then
        echo "test-wheel: $name FAILED:" >&2
        cat "$tmp/out" >&2
        exit 1
    fi
    if [ -s "$tmp/ran" ]; then
        echo "test-wheel: $name ran a tool it must not need:" >&2
        cat "$tmp/ran" >&2
        exit 1
    fi
    echo "test-wheel: $name: $(tail -n 1 "$tmp/out")"
}

run "env -i import, no toolchain" -- '
import sys, threading
from wheelcheck import *
import libcrochet
assert libcrochet.__file__.startswith(os.path.dirname(os.path.dirname(BUNDLED))), libcrochet.__file__
libcrochet.setup()
assert libcrochet.wait_for(5)(lambda: 6 * 7)() == 42
result = libcrochet.run_in_reactor(threading.get_ident)()
assert result.wait(5) != threading.get_ident()
assert libcrochet.library_path() == BUNDLED, libcrochet.library_path()
assert libcrochet_mapped() == [BUNDLED], libcrochet_mapped()
assert libcrochet.library_version() == libcrochet.__version__
assert "subprocess" not in sys.modules, "a subprocess module was imported"
print("the bundled %s, version %s, round trips ok" % (BUNDLED, libcrochet.__version__))
'

run "C library first, one reactor" LD_LIBRARY_PATH="$tmp/syslib" ONELOOP="$tmp/liboneloop.so" -- '
from wheelcheck import *
one = ctypes.CDLL(os.environ["ONELOOP"], mode=ctypes.RTLD_GLOBAL)
import libcrochet
libcrochet.setup()
print("one copy:", same_reactor(libcrochet, one, os.path.join(os.environ["LD_LIBRARY_PATH"], SONAME)))
'

run "package first, one reactor" LD_LIBRARY_PATH="$tmp/syslib" ONELOOP="$tmp/liboneloop.so" -- '
from wheelcheck import *
import libcrochet
libcrochet.setup()
one = ctypes.CDLL(os.environ["ONELOOP"])
print("one copy:", same_reactor(libcrochet, one, BUNDLED))
'
echo "test-wheel: all passed"
