"""Behaviours of crochet's that the binding keeps (issue 13, point 4): a
negative timeout polls; a result still pending in the store at exit is not
an error; the reports of failures nobody looked at go through Python
logging, once each, never to stderr."""

import math
import time

import pytest

import libcrochet
from helpers import LIMIT, Blocker, run_python, sync


@libcrochet.run_in_reactor
def passthrough(x):
    return x


@libcrochet.run_in_reactor
def never():
    return libcrochet.Deferred()


@pytest.mark.parametrize("timeout", [-1, -0.5, -1e300, -math.inf, -(10 ** 400)])
def test_negative_wait_polls(timeout):
    """wait() with a negative timeout polls, as wait(0) does (crochet waits on
    a threading.Event, which takes a negative timeout as 0): TimeoutError at
    once while there is no result, the value once there is one."""
    pending = never()
    start = time.monotonic()
    with pytest.raises(libcrochet.TimeoutError):
        pending.wait(timeout)
    assert time.monotonic() - start < 1.0
    pending.cancel()
    done = passthrough("here")
    assert done.wait(LIMIT) == "here"
    assert done.wait(timeout) == "here"


def test_wait_for_negative_timeout_polls():
    """wait_for(-1) is accepted, as crochet's is, and polls like wait_for(0):
    a call that has not run by then times out and is cancelled (it never
    runs)."""
    ran = []

    @libcrochet.wait_for(timeout=-1)
    def record():
        ran.append(True)

    with Blocker():   # the call stays queued until after the poll
        with pytest.raises(libcrochet.TimeoutError, match=r"wait_for\(.*record, 0 s\) timed out"):
            record()
    sync()
    assert ran == []


@pytest.mark.parametrize("decorate", [lambda t: libcrochet.wait_for(t),
                                      lambda t: passthrough(1).wait(t)])
def test_nan_timeout_is_still_an_error(decorate):
    """A NaN timeout is a ValueError (crochet would poll): NaN comes from a
    computation gone wrong, which polling would hide (the C API's EINVAL)."""
    with pytest.raises(ValueError):
        decorate(math.nan)


def test_pending_stashed_result_at_exit_is_silent():
    """A result still pending in the store at exit is not reported (crochet
    logs the failures of stashed results before the reactor stops, so a
    pending one has none): nothing on stdout (logging) or stderr."""
    done = run_python("""
        import logging, sys
        logging.basicConfig(stream=sys.stdout, level=logging.DEBUG, format="%(name)s|%(message)s")
        import libcrochet
        libcrochet.setup()

        @libcrochet.run_in_reactor
        def never():
            return libcrochet.Deferred()

        kept = never()
        kept.stash()
        never().stash()
        libcrochet.wait_for(10)(lambda: None)()
        print("exiting")
    """, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "exiting\n", done.stdout
    assert done.stderr == "", done.stderr


def test_unobserved_failures_reported_once_through_logging():
    """Every way a failure can go unobserved is reported once, through
    logging (the "libcrochet" logger), with the Python traceback and no
    native frames, and nothing is written to stderr: a result dropped after
    it failed, one dropped before (fire and forget), one whose Deferred
    failed after it was dropped, one alive in a module global at exit, one
    still stashed at exit (stashed before it failed: its EventualResult is
    gone, so the library's failure carries the traceback text)."""
    done = run_python("""
        import gc, logging, sys, threading
        logging.basicConfig(stream=sys.stdout, level=logging.DEBUG, format="%(name)s|%(message)s")
        import libcrochet
        libcrochet.setup()

        @libcrochet.run_in_reactor
        def fail(tag):
            raise ValueError(tag)

        deferreds = []

        @libcrochet.run_in_reactor
        def later():
            deferreds.append(libcrochet.Deferred())
            return deferreds[-1]

        sync = libcrochet.wait_for(10)(lambda: None)

        dropped = fail("dropped-after")
        sync()
        del dropped
        gc.collect()
        fail("fire-and-forget")
        later()
        in_global = fail("in-global")
        release = threading.Event()
        libcrochet.run_in_reactor(release.wait)(10)   # holds the reactor thread:
        fail("kept-in-store").stash()                 # stashed before it runs
        release.set()
        sync()
        libcrochet.wait_for(10)(lambda: deferreds[0].errback(KeyError("deferred-failed")))()
        print("exiting")
    """, timeout=60)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for tag in ("dropped-after", "fire-and-forget", "deferred-failed", "in-global", "kept-in-store"):
        assert out.count(tag) == 1, (tag, out)
    assert out.count("libcrochet|Unhandled error in EventualResult\n") == 4, out
    assert out.count("libcrochet|Unhandled error in stashed EventualResult at exit\n") == 1, out
    assert out.count("Traceback (most recent call last):") == 4, out
    # An exception never raised has no traceback (errback(KeyError(...))):
    assert "EventualResult\nKeyError: 'deferred-failed'\n" in out, out
    assert "libffi" not in out and "#0 " not in out and "(libcrochet)" not in out, out
    assert done.stderr == "", done.stderr


def test_fork_child_does_not_report_parent_stashed_failures():
    """A child made by fork() that exits through Python's exit sequence does
    not report the failures its parent stashed (they are the parent's, which
    reports them once at its own exit)."""
    done = run_python("""
        import logging, os, sys
        logging.basicConfig(stream=sys.stdout, level=logging.DEBUG, format="%(name)s|%(message)s")
        import libcrochet
        libcrochet.setup()

        @libcrochet.run_in_reactor
        def fail(tag):
            raise ValueError(tag)

        kept = fail("parents-failure")
        kept.stash()
        libcrochet.wait_for(10)(lambda: None)()
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            sys.exit(0)   # the child's exit: atexit handlers run
        _, status = os.waitpid(pid, 0)
        print("child exited", os.waitstatus_to_exitcode(status), flush=True)
    """, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "child exited 0", done.stdout
    assert done.stdout.count("ValueError: parents-failure") == 1, done.stdout
    assert done.stderr == "", done.stderr
