"""Interpreter exit (issue 13, point 3), each case in a fresh interpreter with
a time limit: the calls queued before exit all run, and exit takes at most
the 5 s budget (plus a little) whatever a function still running on the
reactor thread does."""

import os
import subprocess
import sys
import threading
import time

import pytest

from helpers import PACKAGE_ROOT, run_python, start_python

from libcrochet import _exit

BUDGET = _exit.EXIT_TIMEOUT
# What exit may take beyond the budget on a busy 2-core machine: the stop
# grace, Python's finalization, the process's end.
SLACK = 2.0


def check(done, code=0):
    assert done.returncode == code, "exit %d, stdout:\n%s\nstderr:\n%s" % (
        done.returncode, done.stdout, done.stderr)


FIRE_AND_FORGET = """
import os, sys, threading
import libcrochet
libcrochet.setup()
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)

@libcrochet.run_in_reactor
def record(i):
    os.write(fd, b"x")
    if FAIL:
        raise ValueError("dropped-%d" % i)

def submit(n):
    for i in range(n):
        record(i)   # fire and forget: the EventualResult is dropped at once

if THREADS:
    threads = [threading.Thread(target=submit, args=(1000 // THREADS,)) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
else:
    submit(1000)
# exit now, with the calls queued
"""


@pytest.mark.parametrize("threads, fail", [(0, False), (4, False), (0, True)],
                         ids=["main-thread", "four-threads", "failing"])
def test_fire_and_forget_calls_before_exit_all_run(tmp_path, threads, fail):
    """1,000 fire-and-forget run_in_reactor calls made just before the
    interpreter exits all run (crochet: 3,000 of 3,000 in three runs), in
    each of three runs; failing ones are each reported once, through
    logging, with their Python traceback."""
    for run in range(3):
        out = tmp_path / ("calls-%d" % run)
        out.write_bytes(b"")
        code = ("import logging, sys\n"
                "logging.basicConfig(stream=sys.stdout, format='%(name)s|%(message)s')\n"
                + "THREADS, FAIL = %d, %r\n" % (threads, fail) + FIRE_AND_FORGET)
        done = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True,
                              text=True, timeout=60, env=_child_env())
        check(done)
        assert len(out.read_bytes()) == 1000, "run %d: %d of 1000 calls ran" % (
            run, len(out.read_bytes()))
        if fail:
            assert done.stdout.count("libcrochet|Unhandled error in EventualResult\n") == 1000
            assert done.stdout.count("ValueError: dropped-") == 1000
            assert "libffi" not in done.stdout and "#0 " not in done.stdout
        assert done.stderr == "", done.stderr


def _child_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = PACKAGE_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


# A function that is still running on the reactor thread when the main
# thread ends, and what it does meanwhile.
RUNNING = {
    "native-sleep": "time.sleep(30)",                        # in C, without the GIL
    "lock-wait": "threading.Event().wait(30)",               # in C, without the GIL
    "python-loop": "while True: pass",                       # Python code, never blocks
    "short-sleeps": "while True: time.sleep(0.01)",          # takes the GIL back often
    # Ends just after the budget, and then wants the GIL to return its value:
    # a non-daemon thread that waits (without a timeout) for a call queued
    # behind it gets ReactorStopped then, and Python joins it.
    "ends-after-budget": "time.sleep(%r); return object()" % (BUDGET + 0.3),
}

RUNNING_PROGRAM = """
import ctypes, sys, threading, time
import libcrochet
libcrochet.setup()
started = threading.Event()

@libcrochet.run_in_reactor
def running():
    started.set()
    {body}

@libcrochet.run_in_reactor
def never():
    return libcrochet.Deferred()

def waiter(result):
    try:
        result.wait()   # no timeout: the stop at exit ends it
    except libcrochet.ReactorStopped:
        print("waiter: ReactorStopped", flush=True)

running()
assert started.wait(10)
if {waiter}:
    threading.Thread(target=waiter, args=(never(),)).start()   # non-daemon: joined at exit
print("main exits %r" % time.monotonic(), flush=True)
print("unflushed Python output")
libc = ctypes.CDLL(None)
libc.printf(b"unflushed C output\\n")
sys.exit(7)
"""


def test_exit_is_bounded_whatever_the_running_function_does():
    """With a Python function still running on the reactor thread (asleep in
    C, waiting on a lock, looping in Python, taking the GIL back often, or
    ending after the budget and wanting the GIL as Python finalizes), exit
    takes the 5 s budget and no more (the function is given it, as the
    queued calls are); the exit status and buffered Python and C output are
    kept. The children run at once."""
    children = {}
    ended = {}

    def reap(kind, proc):
        try:
            proc.wait(60)
        finally:
            ended[kind] = time.monotonic()

    reapers = []
    try:
        for kind, body in RUNNING.items():
            code = (RUNNING_PROGRAM.replace("{body}", body.replace("; ", "\n    "))
                    .replace("{waiter}", repr(kind == "ends-after-budget")))
            children[kind] = proc = start_python(code)
            t = threading.Thread(target=reap, args=(kind, proc))
            t.start()
            reapers.append(t)
        for t in reapers:
            t.join(90)
        for kind, proc in children.items():
            if proc.poll() is None:
                proc.kill()
            out, err = proc.communicate(timeout=10)
            assert proc.returncode == 7, "%s: exit %s\n%s\n%s" % (kind, proc.returncode, out, err)
            lines = out.splitlines()
            assert lines[0].startswith("main exits "), (kind, out, err)
            took = ended[kind] - float(lines[0].split()[2])
            assert BUDGET - 0.5 < took < BUDGET + SLACK, "%s: exit took %.2f s" % (kind, took)
            assert "unflushed Python output" in lines and "unflushed C output" in lines, (kind, out)
            if kind == "ends-after-budget":
                assert "waiter: ReactorStopped" in lines, (kind, out)
            assert "Fatal Python error" not in err and "Traceback" not in err, (kind, err)
    finally:
        for proc in children.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def test_function_that_ends_within_budget_completes_then_queued_calls_run():
    """A function that ends within the budget is waited for, the calls queued
    behind it run next, and exit follows at once (not at the budget's end)."""
    done = run_python("""
import sys, threading, time
import libcrochet
libcrochet.setup()
started = threading.Event()

@libcrochet.run_in_reactor
def slow():
    started.set()
    time.sleep(1.5)
    print("slow finished", flush=True)

@libcrochet.run_in_reactor
def queued(i):
    print("queued", i, flush=True)

slow()
assert started.wait(10)
for i in range(3):
    queued(i)
print("main exits %r" % time.monotonic(), flush=True)
""", timeout=30)
    ended = time.monotonic()
    check(done)
    lines = done.stdout.splitlines()
    assert lines[1:] == ["slow finished", "queued 0", "queued 1", "queued 2"], done.stdout
    took = ended - float(lines[0].split()[2])
    assert 1.0 < took < BUDGET - 1.0, "exit took %.2f s" % took


def test_queued_calls_share_the_budget():
    """Queued calls that together take longer than the budget run until it
    is spent; the rest complete with ReactorStopped; exit stays within the
    budget (one budget for the drain and the stop, not one each)."""
    done = run_python("""
import time
import libcrochet
libcrochet.setup()

@libcrochet.run_in_reactor
def step(i):
    time.sleep(0.1)
    print("ran", i, flush=True)

results = [step(i) for i in range(100)]   # 10 s of work
print("main exits %r" % time.monotonic(), flush=True)
""", timeout=30)
    ended = time.monotonic()
    check(done)
    lines = done.stdout.splitlines()
    ran = [line for line in lines if line.startswith("ran ")]
    assert ran == ["ran %d" % i for i in range(len(ran))]   # in order
    assert 30 <= len(ran) <= 55, len(ran)
    took = ended - float(lines[0].split()[2])
    assert BUDGET - 0.5 < took < BUDGET + SLACK, "exit took %.2f s" % took
