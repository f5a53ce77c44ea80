"""Costs (issue 13, point 5): a Python failure does no work it does not need
(no traceback is formatted unless someone reads it), and threads other than
the main one wait in one native wait (no wakeups while idle).

Run as a script, it measures what a call costs through run_in_reactor and
wait(), returning and raising:

    PYTHONPATH=bindings/python python3 bindings/python/tests/test_costs.py
"""

import traceback

import pytest

import libcrochet
from libcrochet import _errors
from helpers import LIMIT, Blocker, run_python, sync


@libcrochet.run_in_reactor
def raiser(exc):
    raise exc


@pytest.fixture
def formatting(monkeypatch):
    """Counts the tracebacks formatted (traceback.format_exception, which
    the binding's describe() uses, and TracebackException.format)."""
    calls = []
    real_format = traceback.format_exception
    real_te_format = traceback.TracebackException.format

    def format_exception(*args, **kwargs):
        calls.append("format_exception")
        return real_format(*args, **kwargs)

    def te_format(self, *args, **kwargs):
        calls.append("TracebackException.format")
        return real_te_format(self, *args, **kwargs)

    monkeypatch.setattr(traceback, "format_exception", format_exception)
    monkeypatch.setattr(traceback.TracebackException, "format", te_format)
    return calls


def test_waited_failure_formats_no_traceback(formatting):
    """A failure that wait() raises is the exception object itself, and no
    traceback is formatted for it, neither on the reactor thread nor in the
    waiting thread, nor by original_failure(); its getTraceback() formats
    it when asked (the Python traceback)."""
    exc = ValueError("not formatted")
    result = raiser(exc)
    with pytest.raises(ValueError) as info:
        result.wait(LIMIT)
    assert info.value is exc
    assert formatting == []
    failure = result.original_failure()
    assert failure.value is exc and failure.message == "ValueError: not formatted"
    assert formatting == []
    text = failure.getTraceback()
    assert formatting != []
    assert "in raiser" in text and text.endswith("ValueError: not formatted\n")


def test_library_failure_carries_last_line_unless_text_is_needed():
    """The library's failure (what C code and the library's own report see)
    carries the exception's last line while its EventualResult can give the
    exception object; the whole traceback text when the result was stashed
    before it failed (it may be read with that object gone)."""
    result = raiser(KeyError("short"))
    sync()
    assert result.original_failure().message == "KeyError: 'short'"

    class Custom(Exception):
        pass

    result = raiser(Custom("qualified"))
    sync()
    assert result.original_failure().message == (
        "test_costs.test_library_failure_carries_last_line_unless_text_is_needed.<locals>."
        "Custom: qualified")

    with Blocker():
        stashed = raiser(KeyError("long"))
        uid = stashed.stash()
    sync()
    message = stashed.original_failure().message
    assert message.startswith("Traceback (most recent call last):\n"), message
    assert "in raiser" in message and message.endswith("KeyError: 'long'\n")
    del stashed
    with pytest.raises(libcrochet.CallFailed) as info:   # read with the object gone
        libcrochet.retrieve_result(uid).wait(LIMIT)
    assert "in raiser" in info.value.message


def test_fire_and_forget_failure_reported_with_python_traceback(log_capture):
    """The library's report of a failure whose EventualResult was dropped
    before the call ran shows the Python traceback, not the native frames of
    the reactor thread (ctypes, libffi, the interpreter)."""
    with Blocker():
        raiser(ZeroDivisionError("forgotten"))   # dropped at once
    sync()
    record = log_capture.wait_for("forgotten")
    text = record.getMessage()
    assert text.startswith("Unhandled error in EventualResult\nTraceback (most recent call last):\n")
    assert "in raiser" in text and text.endswith("ZeroDivisionError: forgotten")
    assert "libffi" not in text and "#0 " not in text and "_ctypes" not in text


def test_native_failure_report_keeps_native_frames(native, log_capture):
    """A failure raised by native code (crochet_raise in a ctypes function)
    is reported with its native frames, which are the only traceback it
    has."""
    with Blocker():
        libcrochet.run_in_reactor(native.fail_with)(7)   # dropped at once
    sync()
    record = log_capture.wait_for("code 7: native failure")
    assert "\nTraceback:\n#0 " in record.getMessage() and "in fail_with" in record.getMessage()


WAITERS = """
import glob, sys, threading, time
import libcrochet
libcrochet.setup()

@libcrochet.run_in_reactor
def never():
    return libcrochet.Deferred()

def switches():
    total = 0
    for path in glob.glob("/proc/self/task/*/status"):
        try:
            with open(path) as f:
                total += sum(int(line.split()[1]) for line in f
                             if line.startswith("voluntary_ctxt_switches"))
        except OSError:   # a thread that ended
            pass
    return total

def in_native_wait(thread):
    frame = sys._current_frames().get(thread.ident)
    return frame is not None and frame.f_code.co_name == "_wait_status"

def wait(result):
    try:
        result.wait()
    except libcrochet.ReactorStopped:
        pass

threads = [threading.Thread(target=wait, args=(never(),)) for _ in range(50)]
for t in threads:
    t.start()
deadline = time.monotonic() + 10
while not all(in_native_wait(t) for t in threads):
    assert time.monotonic() < deadline, "the threads did not all wait"
    time.sleep(0.01)
before, start = switches(), time.monotonic()
time.sleep(2)
rate = (switches() - before) / (time.monotonic() - start)
libcrochet.stop()
for t in threads:
    t.join(10)
print("%.1f" % rate)
"""


def test_idle_waits_outside_main_thread_do_not_wake():
    """50 threads idle in wait() with no timeout make (almost) no context
    switches: each blocks in one native wait (crochet: 20 a second in all;
    in slices of 0.1 s they made 500 a second). Only the main thread's
    waits are sliced, for Ctrl-C. The whole process is counted
    (/proc/self/task/*/status)."""
    done = run_python(WAITERS, timeout=60)
    assert done.returncode == 0, done.stderr
    rate = float(done.stdout.split()[-1])
    assert rate < 60, "%.1f voluntary context switches a second" % rate


def measure(n=10000):
    """Microseconds per call through run_in_reactor + wait(): (returning,
    raising)."""
    import time

    @libcrochet.run_in_reactor
    def ok(i):
        return i

    @libcrochet.run_in_reactor
    def bad(i):
        raise ValueError(i)

    def per_call(f):
        start = time.perf_counter()
        for i in range(n):
            try:
                f(i).wait(LIMIT)
            except ValueError:
                pass
        return (time.perf_counter() - start) / n * 1e6

    return per_call(ok), per_call(bad)


if __name__ == "__main__":
    libcrochet.setup()
    for _ in range(3):
        print("returning %.1f us, raising %.1f us" % measure())
