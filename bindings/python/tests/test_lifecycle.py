"""setup, no_setup, run, stop; logging; finding the library. Each case runs
in a fresh interpreter (the lifecycle is per process)."""

import os
import shutil

import libcrochet
from helpers import LIMIT, PACKAGE_ROOT, run_python


def check(done, code=0):
    assert done.returncode == code, "exit %d, stdout:\n%s\nstderr:\n%s" % (
        done.returncode, done.stdout, done.stderr)


def test_setup_idempotent():
    """setup() may be called many times."""
    done = run_python("""
import libcrochet
for _ in range(3):
    libcrochet.setup()
print(libcrochet.wait_for(5)(libcrochet.in_reactor_thread)())
""")
    check(done)
    assert done.stdout.strip() == "True"


def test_calls_before_setup():
    """Calling a decorated function before setup() is a RuntimeError."""
    done = run_python("""
import libcrochet
for f in (libcrochet.run_in_reactor(print), libcrochet.wait_for(1)(print),
          lambda: libcrochet.call_later(0, print), lambda: libcrochet.call_from_thread(print)):
    try:
        f()
    except RuntimeError as e:
        print("RuntimeError", "setup()" in str(e))
""")
    check(done)
    assert done.stdout.split("\n")[:4] == ["RuntimeError True"] * 4


def test_no_setup_after_setup():
    """no_setup() after setup() raises RuntimeError."""
    done = run_python("""
import libcrochet
libcrochet.setup()
try:
    libcrochet.no_setup()
except RuntimeError:
    print("RuntimeError")
""")
    check(done)
    assert done.stdout.strip() == "RuntimeError"


def test_no_setup_runs_own_reactor():
    """After no_setup() no reactor runs until the application runs one with
    run() on a thread of its own; setup() then has no effect; stop() ends
    run()."""
    done = run_python("""
import threading, libcrochet
libcrochet.no_setup()
libcrochet.no_setup()
libcrochet.setup()

@libcrochet.run_in_reactor
def where():
    return threading.current_thread() is reactor_thread

queued = where()
try:
    queued.wait(0.2)
except libcrochet.TimeoutError:
    print("no reactor yet")
reactor_thread = threading.Thread(target=libcrochet.run)
reactor_thread.start()
print("ran on our thread", queued.wait(5))
libcrochet.stop()
reactor_thread.join(5)
print("run returned", not reactor_thread.is_alive())
try:
    libcrochet.run()
except RuntimeError:
    print("runs once")
""")
    check(done)
    assert done.stdout.split("\n")[:4] == ["no reactor yet", "ran on our thread True",
                                           "run returned True", "runs once"]


def test_run_without_no_setup():
    """run() without no_setup() is a RuntimeError; so is stop() before setup."""
    done = run_python("""
import libcrochet
for f in (libcrochet.run, libcrochet.stop):
    try:
        f()
    except RuntimeError:
        print("RuntimeError")
libcrochet.setup()
try:
    libcrochet.run()
except RuntimeError:
    print("RuntimeError")
""")
    check(done)
    assert done.stdout.split() == ["RuntimeError"] * 3


def test_library_logs_go_to_logging(log_capture):
    """Library log records reach logging.getLogger("libcrochet") with their
    level, from the library's logging thread (not the reactor's)."""
    lib = libcrochet._native.lib
    lib.crochet_raise(0, b"raised-outside-a-call")   # the library logs a warning
    record = log_capture.wait_for("raised-outside-a-call")
    assert record.levelname == "WARNING"
    assert record.name == "libcrochet"
    reactor_ident = libcrochet.wait_for(LIMIT)(lambda: __import__("threading").get_ident())()
    assert record.thread != reactor_ident


def _without_library_env():
    env = {"CROCHET_LIBRARY": "", "PKG_CONFIG_PATH": os.path.join(PACKAGE_ROOT, "no-such-dir"),
           "PKG_CONFIG_LIBDIR": os.path.join(PACKAGE_ROOT, "no-such-dir")}
    return env


def test_library_not_found():
    """With no way to find libcrochet.so, importing raises ImportError naming
    all three places to look."""
    done = run_python("""
try:
    import libcrochet
except ImportError as e:
    print(e)
""", env=_without_library_env())
    check(done)
    message = done.stdout
    assert "CROCHET_LIBRARY" in message
    assert "installed with the package" in message and "_lib" in message
    assert "already loaded" in message and "dynamic linker" in message
    assert "pkg-config" in message
    places = [line for line in message.splitlines() if line.startswith("  - ")]
    assert [p.split(":")[0].split(" (")[0] for p in places] == [
        "  - the CROCHET_LIBRARY environment variable", "  - a copy already loaded in this process",
        "  - a copy installed with the package", "  - the dynamic linker", "  - pkg-config"]


def test_library_from_environment():
    """CROCHET_LIBRARY names the library (a file or its directory)."""
    path = libcrochet.library_path()
    for value in (path, os.path.dirname(path)):
        env = _without_library_env()
        env["CROCHET_LIBRARY"] = value
        done = run_python("""
import libcrochet
libcrochet.setup()
print(libcrochet.library_path())
print(libcrochet.wait_for(5)(lambda: 6 * 7)())
""", env=env)
        check(done)
        expected = value if value == path else os.path.join(value, "libcrochet.so")
        assert done.stdout.split() == [expected, "42"]


def test_library_from_pkg_config():
    """Without CROCHET_LIBRARY, pkg-config's libdir is used."""
    done = run_python("""
import libcrochet, subprocess
libdir = subprocess.run(["pkg-config", "--variable=libdir", "crochet"], capture_output=True,
                        text=True).stdout.strip()
print(libcrochet.library_path() == libdir + "/libcrochet.so")
""", env={"CROCHET_LIBRARY": ""})
    check(done)
    assert done.stdout.strip() == "True"


def test_bad_environment_falls_back_with_warning():
    """A CROCHET_LIBRARY that does not load falls back to the next place, with
    a RuntimeWarning that says so."""
    done = run_python("""
import warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import libcrochet
print([str(w.message) for w in caught if w.category is RuntimeWarning])
""", env={"CROCHET_LIBRARY": "/nonexistent/libcrochet.so"})
    check(done)
    assert "/nonexistent/libcrochet.so" in done.stdout


def test_library_from_the_dynamic_linker():
    """Without CROCHET_LIBRARY or a bundled copy, the soname is loaded through
    the dynamic linker's search (LD_LIBRARY_PATH here), before pkg-config and
    with no subprocess at all."""
    libdir = os.path.dirname(libcrochet.library_path())
    env = _without_library_env()
    env["LD_LIBRARY_PATH"] = libdir
    done = run_python("""
import sys
import libcrochet
libcrochet.setup()
print(libcrochet.library_path())
print(libcrochet.wait_for(5)(lambda: "ok")())
print("subprocess" in sys.modules)
""", env=env)
    check(done)
    soname = libcrochet._native.SONAME
    assert soname == "libcrochet.so.%s" % ".".join(libcrochet.__version__.split(".")[:2])
    assert done.stdout.split() == [os.path.join(libdir, soname), "ok", "False"]


def test_library_already_loaded():
    """A copy of the soname already in the process (a C library linked
    against libcrochet, loaded first) is used, not another one: one engine."""
    path = os.path.join(os.path.dirname(libcrochet.library_path()), libcrochet._native.SONAME)
    env = _without_library_env()
    env["PRELOADED"] = path
    done = run_python("""
import ctypes, os
ctypes.CDLL(os.environ["PRELOADED"], mode=ctypes.RTLD_GLOBAL)
import libcrochet
libcrochet.setup()
print(libcrochet.library_path())
print(libcrochet.wait_for(5)(lambda: "ok")())
print(len({line.split()[-1] for line in open("/proc/self/maps") if "libcrochet.so" in line}))
""", env=env)
    check(done)
    assert done.stdout.split() == [path, "ok", "1"]


def test_library_beside_the_package(tmp_path):
    """A copy in libcrochet/_lib/ is used when CROCHET_LIBRARY is not set."""
    package = tmp_path / "libcrochet"
    shutil.copytree(os.path.join(PACKAGE_ROOT, "libcrochet"), package,
                    ignore=shutil.ignore_patterns("__pycache__", "_lib"))
    (package / "_lib").mkdir()
    shutil.copy(libcrochet.library_path(), package / "_lib" / "libcrochet.so")
    env = _without_library_env()
    env["PYTHONPATH"] = str(tmp_path)
    done = run_python("""
import libcrochet
libcrochet.setup()
print(libcrochet.library_path())
print(libcrochet.wait_for(5)(lambda: "ok")())
""", env=env)
    check(done)
    assert done.stdout.split() == [str(package / "_lib" / "libcrochet.so"), "ok"]
