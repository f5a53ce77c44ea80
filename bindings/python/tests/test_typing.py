"""Types (issue 13, point 6): the package ships py.typed, and plain `mypy
--strict` passes on examples/python/*.py and tests/typing/usage.py (and on
tests/typing/usage_twisted.py when Twisted is installed), where the
decorators keep the decorated functions' parameters (run_in_reactor:
Callable[P, T] -> Callable[P, EventualResult[T]]; wait_for(t): Callable[P, T]
-> Callable[P, T]), a Deferred[T]'s chain is typed as Twisted's, and the
reactor services check their functions' arguments; tests/typing/errors.py
gets exactly the errors marked in it; the package's modules pass `mypy
--strict` themselves. mypy is installed with pip if missing; the tests are
skipped only if it cannot be."""

import os
import re
import subprocess
import sys

import pytest

from helpers import PACKAGE_ROOT, run_python

HERE = os.path.dirname(os.path.abspath(__file__))
TYPING = os.path.join(HERE, "typing")
REPOSITORY = os.path.dirname(os.path.dirname(PACKAGE_ROOT))
EXAMPLES = os.path.join(REPOSITORY, "examples", "python")

# The package's modules that are not checked: libcrochet.twistedreactor, a
# Twisted reactor class over Twisted's own (mostly unannotated) reactor
# base classes, is not annotated. Every other module passes mypy --strict.
NOT_CHECKED = ["libcrochet.twistedreactor"]

# Plain --strict: libcrochet's modules that the files import are checked too.
CONFIG = """\
[mypy]
strict = True
"""


def package_modules():
    """The package's modules that mypy --strict checks: all but NOT_CHECKED."""
    names = sorted(name[:-3] for name in os.listdir(os.path.join(PACKAGE_ROOT, "libcrochet"))
                   if name.endswith(".py"))
    modules = ["libcrochet" if name == "__init__" else "libcrochet." + name for name in names]
    return [module for module in modules if module not in NOT_CHECKED]


def twisted_installed():
    return subprocess.run([sys.executable, "-c", "import twisted.internet.defer"],
                          capture_output=True, timeout=120).returncode == 0


@pytest.fixture(scope="module")
def mypy():
    """Runs mypy (installed with pip if missing) with the configuration
    above; returns run(*files) -> CompletedProcess."""
    probe = [sys.executable, "-m", "mypy", "--version"]
    if subprocess.run(probe, capture_output=True, timeout=120).returncode != 0:
        install = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "mypy"],
                                 capture_output=True, text=True, timeout=600)
        if subprocess.run(probe, capture_output=True, timeout=120).returncode != 0:
            pytest.skip("mypy is not installed and pip could not install it: %s"
                        % (install.stderr.strip().splitlines() or ["?"])[-1])
    work = os.path.join(os.environ.get("TMPDIR", "/tmp"), "libcrochet-mypy-%d" % os.getuid())
    os.makedirs(work, exist_ok=True)
    config = os.path.join(work, "mypy.ini")
    with open(config, "w") as f:
        f.write(CONFIG)
    env = dict(os.environ, MYPYPATH=PACKAGE_ROOT)

    def run(*files, config=config):
        return subprocess.run([sys.executable, "-m", "mypy", "--config-file", config,
                               "--cache-dir", os.path.join(work, "cache"), "--no-color-output",
                               *files], capture_output=True, text=True, timeout=600, env=env,
                              cwd=work)
    run.work = work
    return run


def test_py_typed_is_shipped():
    """The package has a py.typed marker (PEP 561), listed in the package
    data, and the wheel build copies it (build-wheel.sh checks the wheel
    carries it)."""
    assert os.path.isfile(os.path.join(PACKAGE_ROOT, "libcrochet", "py.typed"))
    with open(os.path.join(PACKAGE_ROOT, "pyproject.toml")) as f:
        assert re.search(r'^libcrochet = \[.*"py\.typed".*\]$', f.read(), re.M)
    with open(os.path.join(PACKAGE_ROOT, "build-wheel.sh")) as f:
        text = f.read()
    assert '"$here"/libcrochet/py.typed' in text and "libcrochet/py.typed" in text.split("EOF")[1]


def test_strict_passes_on_examples_and_typed_usage(mypy):
    """mypy --strict finds nothing to report in the examples and in
    tests/typing/usage.py (which states, with assert_type, what the
    decorated functions, EventualResult[T].wait(), retrieve_result(),
    info() and stats() give; what a Deferred[T]'s chain, succeed, fail,
    maybeDeferred, DeferredList, gatherResults, ensureDeferred,
    defer_to_thread, call_later, add_reader and `await` in an async def
    under run_in_reactor give; what a Failure's attributes and methods
    give), nor in tests/typing/usage_twisted.py (Twisted's Deferreds where
    libcrochet takes a Deferred) when Twisted is installed."""
    files = [os.path.join(TYPING, "usage.py")]
    if twisted_installed():
        files.append(os.path.join(TYPING, "usage_twisted.py"))
    if os.path.isdir(EXAMPLES):
        files += sorted(os.path.join(EXAMPLES, name) for name in os.listdir(EXAMPLES)
                        if name.endswith(".py"))
    done = mypy(*files)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found in %d source files" % len(files) in done.stdout


def test_strict_reports_each_misuse(mypy):
    """Each misuse in tests/typing/errors.py is reported, with the error code
    marked on its line, and nothing else: wrong argument types and names
    for decorated functions (their parameters are kept), a wait() result or
    a wait_for call used as another type, bad timeouts and ids; an awaited
    Deferred's result used as another type; callbacks that do not take the
    chain's result or the extra arguments given, a chain's result used as
    another type, firing with the wrong type or with nothing; wrong
    arguments for call_later, call_from_thread, add_reader, add_writer,
    defer_to_thread, a canceller, Failure.trap and getTraceback; check()'s
    result used without a test for None."""
    path = os.path.join(TYPING, "errors.py")
    with open(path) as f:
        expected = {(number, code) for number, line in enumerate(f, 1)
                    for code in re.findall(r"# E: ([\w-]+)", line)}
    assert len(expected) == 29
    done = mypy(path)
    got = {(int(line), code) for line, code in
           re.findall(r"^[^:\n]*errors\.py:(\d+): error: .*\[([\w-]+)\]$", done.stdout, re.M)}
    assert got == expected, done.stdout


def test_typed_usage_runs():
    """tests/typing/usage.py runs: the types it states are what the calls
    give at run time."""
    with open(os.path.join(TYPING, "usage.py")) as f:
        code = f.read()
    done = run_python(code, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "ok"


def test_package_passes_strict(mypy):
    """The package's modules pass mypy --strict themselves (all but
    NOT_CHECKED, which are read for their types only)."""
    config = os.path.join(mypy.work, "package.ini")
    with open(config, "w") as f:
        f.write("[mypy]\nstrict = True\n[mypy-%s]\nfollow_imports = silent\n"
                % ",".join(NOT_CHECKED))
    modules = package_modules()
    assert "libcrochet._deferred" in modules and "libcrochet" in modules
    args = []
    for module in modules:
        args += ["-m", module]
    done = mypy(*args, config=config)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found in %d source files" % len(modules) in done.stdout
