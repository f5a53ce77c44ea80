"""Types (issue 13, point 6): the package ships py.typed, and `mypy --strict`
passes on examples/python/*.py and tests/typing/usage.py, where the
decorators keep the decorated functions' parameters (run_in_reactor:
Callable[P, T] -> Callable[P, EventualResult[T]]; wait_for(t): Callable[P, T]
-> Callable[P, T]); tests/typing/errors.py gets exactly the errors marked in
it. mypy is installed with pip if missing; the tests are skipped only if it
cannot be."""

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

# Modules of the public API whose functions are not annotated yet: calls
# into them are not errors under --strict (each comes off this list once it
# is annotated).
NOT_YET_ANNOTATED = ["libcrochet._deferred", "libcrochet._services", "libcrochet._errors"]
# The package's modules that pass mypy --strict themselves.
ANNOTATED = ["libcrochet", "libcrochet._args", "libcrochet._exit", "libcrochet._held",
             "libcrochet._lifecycle", "libcrochet._logging", "libcrochet._native",
             "libcrochet._operability", "libcrochet._results", "libcrochet._status",
             "libcrochet._values", "libcrochet._version"]

CONFIG = """\
[mypy]
strict = True
untyped_calls_exclude = %s
# libcrochet as a user gets it: its types are read, its own code is not
# checked here.
[mypy-libcrochet.*]
follow_imports = silent
""" % ", ".join(NOT_YET_ANNOTATED)


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
    info() and stats() give)."""
    files = [os.path.join(TYPING, "usage.py")]
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
    a wait_for call used as another type, bad timeouts and ids."""
    path = os.path.join(TYPING, "errors.py")
    with open(path) as f:
        expected = {(number, code) for number, line in enumerate(f, 1)
                    for code in re.findall(r"# E: ([\w-]+)", line)}
    assert len(expected) == 10
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


def test_annotated_modules_pass_strict(mypy):
    """The annotated modules of the package (its public surface in
    __init__.py, EventualResult, the lifecycle, exit, logging, operability,
    values, statuses) pass mypy --strict themselves; the others are read for
    their types only."""
    config = os.path.join(mypy.work, "package.ini")
    with open(config, "w") as f:
        f.write("[mypy]\nstrict = True\n[mypy-%s]\nfollow_imports = silent\n" % ",".join(
            "libcrochet.%s" % name[:-3] for name in sorted(os.listdir(
                os.path.join(PACKAGE_ROOT, "libcrochet")))
            if name.endswith(".py") and "libcrochet.%s" % name[:-3] not in ANNOTATED
            and name != "__init__.py"))
    args = []
    for module in ANNOTATED:
        args += ["-m", module]
    done = mypy(*args, config=config)
    assert done.returncode == 0, done.stdout + done.stderr
