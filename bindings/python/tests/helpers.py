"""Shared helpers for the libcrochet tests."""

import ctypes
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
import traceback

import libcrochet

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# int32_t (*)(int32_t), for native functions that take a callback.
INT_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_int32)

# Every wait in the tests is bounded by this (a hang fails the test instead).
LIMIT = 10.0


def run_python(code, timeout=60, env=None, **kwargs):
    """Runs `code` in a fresh interpreter that imports libcrochet from this
    source tree; returns the CompletedProcess (text mode)."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = PACKAGE_ROOT + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env["PYTHONFAULTHANDLER"] = "1"
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, env=full_env, **kwargs)


def start_python(code, env=None, **kwargs):
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = PACKAGE_ROOT + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env["PYTHONFAULTHANDLER"] = "1"
    if env:
        full_env.update(env)
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=full_env, **kwargs)


@libcrochet.wait_for(timeout=LIMIT)
def sync():
    """A round trip through the reactor: when it returns, everything this
    thread queued before has run (calls run in the order they were queued)."""


@libcrochet.wait_for(timeout=LIMIT)
def on_reactor(f, *args, **kwargs):
    """Runs f on the reactor thread and returns what it returned."""
    return f(*args, **kwargs)


@libcrochet.run_in_reactor
def _deferred_call(box, canceller):
    d = libcrochet.Deferred(canceller)
    box.append(d)
    return d


def deferred_call(canceller=None):
    """(EventualResult, Deferred): a call that returned the Deferred, which
    has not fired."""
    box = []
    result = _deferred_call(box, canceller)
    sync()
    assert len(box) == 1, "the call did not run"
    return result, box[0]


class Blocker:
    """Holds the reactor thread in a Python call until release(), so that
    calls made meanwhile stay queued."""

    def __enter__(self):
        self.started = threading.Event()
        self.release_event = threading.Event()

        @libcrochet.run_in_reactor
        def block():
            self.started.set()
            return self.release_event.wait(LIMIT)

        self.result = block()
        assert self.started.wait(LIMIT), "the reactor did not run the blocking call"
        return self

    def release(self):
        self.release_event.set()

    def __exit__(self, *exc):
        self.release()
        assert self.result.wait(LIMIT) is True


class LogCapture(logging.Handler):
    """Collects the records of the "libcrochet" logger."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []
        self.condition = threading.Condition()

    def emit(self, record):
        with self.condition:
            self.records.append(record)
            self.condition.notify_all()

    @staticmethod
    def text(record):
        """The record's message and the traceback of its exception, if any."""
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        return text

    def messages(self):
        with self.condition:
            return [self.text(r) for r in self.records]

    def wait_for(self, needle, timeout=LIMIT):
        """The first record whose message contains needle (bounded wait)."""
        deadline = time.monotonic() + timeout
        with self.condition:
            while True:
                for r in self.records:
                    if needle in self.text(r):
                        return r
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no libcrochet log record containing %r within %s s; got %r"
                                         % (needle, timeout, [r.getMessage()[:80] for r in self.records]))
                self.condition.wait(left)
