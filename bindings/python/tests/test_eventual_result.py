"""EventualResult: wait, timeouts, cancel, stash, original_failure, logging of
unobserved failures (crochet's EventualResultTests)."""

import gc
import math
import threading
import time
import uuid

import pytest

import libcrochet
from libcrochet import _held, _logging
from helpers import LIMIT, Blocker, deferred_call, on_reactor, sync


@libcrochet.run_in_reactor
def passthrough(value):
    return value


@libcrochet.run_in_reactor
def raiser(exc):
    raise exc


def test_success_result():
    """wait() returns the value the function returned."""
    assert passthrough(123).wait(LIMIT) == 123


def test_later_success_result():
    """wait() returns the value a Deferred fired with after wait() began."""
    result, d = deferred_call()
    got = []
    waiter = threading.Thread(target=lambda: got.append(result.wait(LIMIT)))
    waiter.start()
    libcrochet.call_from_thread(d.callback, 345)
    waiter.join(LIMIT)
    assert got == [345]


def test_success_result_twice():
    """A second wait() returns the same value as the first."""
    value = object()
    result = passthrough(value)
    assert result.wait(LIMIT) is value
    assert result.wait(LIMIT) is value


def test_failure_result():
    """wait() raises the exception the function raised: the same object."""
    exc = RuntimeError("failure")
    with pytest.raises(RuntimeError) as info:
        raiser(exc).wait(LIMIT)
    assert info.value is exc


def test_later_failure_result():
    """wait() raises the exception a Deferred failed with after wait() began."""
    result, d = deferred_call()
    got = []

    def wait():
        try:
            result.wait(LIMIT)
        except Exception as e:
            got.append(e)

    waiter = threading.Thread(target=wait)
    waiter.start()
    exc = RuntimeError("later")
    libcrochet.call_from_thread(d.errback, exc)
    waiter.join(LIMIT)
    assert got == [exc] and got[0] is exc


def test_failure_result_twice():
    """A second wait() raises the same exception as the first."""
    result = raiser(ZeroDivisionError("twice"))
    with pytest.raises(ZeroDivisionError) as first:
        result.wait(LIMIT)
    with pytest.raises(ZeroDivisionError) as second:
        result.wait(LIMIT)
    assert first.value is second.value


def test_failure_keeps_reactor_side_traceback():
    """The re-raised exception's traceback includes the reactor-side frames of
    the function that raised it, every time."""
    @libcrochet.run_in_reactor
    def deep_failure():
        return {}["missing"]

    result = deep_failure()
    for _ in range(2):
        with pytest.raises(KeyError) as info:
            result.wait(LIMIT)
        names = [frame.name for frame in info.traceback]
        assert "deep_failure" in names
        assert names.count("deep_failure") == 1


def test_timeout():
    """With no result, wait(timeout) raises TimeoutError after the timeout."""
    result, _ = deferred_call()
    start = time.monotonic()
    with pytest.raises(libcrochet.TimeoutError):
        result.wait(timeout=0.03)
    elapsed = time.monotonic() - start
    assert 0.03 <= elapsed < 0.03 + 1.0


def test_timeout_longer_than_a_wait_slice():
    """A timeout longer than one wait slice (0.1 s) is honoured as a whole."""
    result, _ = deferred_call()
    start = time.monotonic()
    with pytest.raises(libcrochet.TimeoutError):
        result.wait(timeout=0.25)
    elapsed = time.monotonic() - start
    assert 0.25 <= elapsed < 0.25 + 1.0


def test_timeout_twice():
    """A second wait(timeout) with still no result also raises TimeoutError."""
    result, _ = deferred_call()
    with pytest.raises(libcrochet.TimeoutError):
        result.wait(timeout=0.01)
    with pytest.raises(libcrochet.TimeoutError):
        result.wait(timeout=0.01)


def test_zero_timeout_polls():
    """wait(0) returns an existing result and times out on a missing one."""
    assert passthrough(5).wait(LIMIT) == 5
    done = passthrough(6)
    sync()
    assert done.wait(0) == 6
    result, _ = deferred_call()
    with pytest.raises(libcrochet.TimeoutError):
        result.wait(0)


def test_timeout_then_result():
    """If a result comes after a timeout, a later wait() returns it."""
    result, d = deferred_call()
    with pytest.raises(libcrochet.TimeoutError):
        result.wait(timeout=0.01)
    libcrochet.call_from_thread(d.callback, "value")
    assert result.wait(LIMIT) == "value"
    assert result.wait(LIMIT) == "value"


def test_no_timeout_waits():
    """wait() and wait(None) and wait(inf) wait without limit."""
    for timeout in (None, math.inf):
        result, d = deferred_call()
        libcrochet.call_from_thread(d.callback, timeout)
        assert result.wait(timeout) == timeout
    assert passthrough(7).wait() == 7


def test_many_waiters():
    """Any number of threads may wait on one result; all get the value."""
    result, d = deferred_call()
    got = []
    lock = threading.Lock()

    def wait():
        value = result.wait(LIMIT)
        with lock:
            got.append(value)

    threads = [threading.Thread(target=wait) for _ in range(8)]
    for t in threads:
        t.start()
    libcrochet.call_from_thread(d.callback, "all")
    for t in threads:
        t.join(LIMIT)
    assert got == ["all"] * 8


def test_reactor_thread_disallowed():
    """wait() raises RuntimeError on the reactor thread."""
    result, d = deferred_call()

    def wait_on_reactor():
        try:
            result.wait(0)
        except RuntimeError as e:
            return e
        return None

    assert isinstance(on_reactor(wait_on_reactor), RuntimeError)
    done = passthrough(1)
    sync()
    assert isinstance(on_reactor(lambda: _catch(done.wait, 0)), RuntimeError)


def _catch(f, *args):
    try:
        f(*args)
    except BaseException as e:
        return e
    return None


@pytest.mark.parametrize("bad, error", [("1", TypeError), (object(), TypeError), (True, TypeError),
                                        (math.nan, ValueError)])
def test_bad_timeout(bad, error):
    """wait() rejects a timeout that is not a number (TypeError) or is NaN
    (ValueError), and the result stays usable. (A negative timeout polls, as
    crochet's does: test_crochet_behaviours.py.)"""
    result = passthrough(9)
    with pytest.raises(error):
        result.wait(bad)
    assert result.wait(LIMIT) == 9


def test_cancel():
    """cancel() cancels the Deferred the call returned, running its canceller on
    the reactor thread; the result fails with CancelledError."""
    seen = []
    result, d = deferred_call(canceller=lambda d: seen.append(libcrochet.in_reactor_thread()))
    result.cancel()
    with pytest.raises(libcrochet.CancelledError):
        result.wait(LIMIT)
    assert seen == [True]
    assert d.called


def test_cancel_canceller_may_fire():
    """A canceller that fires the Deferred decides the result."""
    result, _ = deferred_call(canceller=lambda d: d.callback("chosen"))
    result.cancel()
    assert result.wait(LIMIT) == "chosen"


def test_cancel_canceller_may_fail():
    """A canceller that fails the Deferred with its own exception gives it."""
    exc = ValueError("canceller's")
    result, _ = deferred_call(canceller=lambda d: d.errback(exc))
    result.cancel()
    with pytest.raises(ValueError) as info:
        result.wait(LIMIT)
    assert info.value is exc


def test_immediate_cancel():
    """Cancelling right after the call still cancels (the call never starts,
    or its Deferred is cancelled)."""
    @libcrochet.run_in_reactor
    def run():
        return libcrochet.Deferred()

    result = run()
    result.cancel()
    with pytest.raises(libcrochet.CancelledError):
        result.wait(LIMIT)


def test_cancel_queued_call_never_runs():
    """A call cancelled before its turn never runs and fails with CancelledError."""
    ran = []

    @libcrochet.run_in_reactor
    def record():
        ran.append(True)

    with Blocker():
        result = record()
        result.cancel()
    with pytest.raises(libcrochet.CancelledError):
        result.wait(LIMIT)
    sync()
    assert ran == []


def test_cancel_after_result_changes_nothing():
    """cancel() on a result that exists leaves it as it is; repeated cancels too."""
    result = passthrough(11)
    assert result.wait(LIMIT) == 11
    result.cancel()
    result.cancel()
    assert result.wait(LIMIT) == 11


def test_stash():
    """stash() stores the object: retrieve_result gives back the same one."""
    result, _ = deferred_call()
    uid = result.stash()
    assert libcrochet.retrieve_result(uid) is result


def test_original_failure():
    """original_failure() gives the exception the call raised and its
    reactor-side traceback; the same Failure every time."""
    exc = ZeroDivisionError("original")

    @libcrochet.run_in_reactor
    def divide():
        raise exc

    result = divide()
    sync()
    failure = result.original_failure()
    assert failure is not None
    assert failure.value is exc
    assert failure.type is ZeroDivisionError
    text = failure.getTraceback()
    assert "in divide" in text and "ZeroDivisionError: original" in text
    assert failure.code == -3   # CROCHET_EFAILED
    assert result.original_failure() is failure
    with pytest.raises(ZeroDivisionError) as info:
        result.wait(LIMIT)
    assert info.value is exc


def test_original_failure_no_result():
    """With no result yet, original_failure() is None."""
    result, _ = deferred_call()
    assert result.original_failure() is None


def test_original_failure_not_error():
    """When the call succeeded, original_failure() is None."""
    result = passthrough(3)
    assert result.wait(LIMIT) == 3
    assert result.original_failure() is None


def test_original_failure_cancelled():
    """A cancelled call's failure is a CancelledError."""
    result, _ = deferred_call()
    result.cancel()
    with pytest.raises(libcrochet.CancelledError):
        result.wait(LIMIT)
    failure = result.original_failure()
    assert isinstance(failure.value, libcrochet.CancelledError)
    assert failure.code == -4   # CROCHET_ECANCELLED


def test_error_logged_no_wait(log_capture):
    """A failure nobody waited for is logged to the "libcrochet" logger once
    the EventualResult is garbage-collected."""
    tag = uuid.uuid4().hex
    result = raiser(ZeroDivisionError(tag))
    sync()
    del result
    gc.collect()
    record = log_capture.wait_for(tag)
    assert record.levelname == "ERROR"
    assert record.getMessage() == "Unhandled error in EventualResult"
    assert record.exc_info[0] is ZeroDivisionError   # the exception itself, as crochet's err()
    text = log_capture.text(record)
    assert "ZeroDivisionError: %s" % tag in text and "in raiser" in text
    assert "libffi" not in text and "#0 " not in text   # no native frames
    assert _logging.flush()
    assert sum(tag in m for m in log_capture.messages()) == 1


def test_error_logged_wait_timeout(log_capture):
    """A failure that came after a wait() timed out is still logged when the
    EventualResult goes."""
    tag = uuid.uuid4().hex
    result, d = deferred_call()
    with pytest.raises(libcrochet.TimeoutError):
        result.wait(0)
    libcrochet.call_from_thread(d.errback, ZeroDivisionError(tag))
    sync()
    del result, d
    gc.collect()
    log_capture.wait_for(tag)


def test_error_after_gc_logged(log_capture):
    """A failure that happens after every reference to the EventualResult is
    gone is still logged."""
    tag = uuid.uuid4().hex
    result, d = deferred_call()
    del result
    gc.collect()
    libcrochet.call_from_thread(d.errback, ZeroDivisionError(tag))
    log_capture.wait_for(tag)


def test_observed_failures_not_logged(log_capture):
    """Failures seen through wait() or original_failure(), and cancellations
    asked for, are not logged."""
    tag = uuid.uuid4().hex
    waited = raiser(ZeroDivisionError(tag + "-waited"))
    with pytest.raises(ZeroDivisionError):
        waited.wait(LIMIT)
    looked = raiser(ZeroDivisionError(tag + "-looked"))
    sync()
    assert looked.original_failure() is not None
    cancelled, _ = deferred_call()
    cancelled.cancel()
    sync()
    del waited, looked, cancelled
    gc.collect()
    assert _logging.flush()
    assert [m for m in log_capture.messages() if tag in m or "CANCELLED" in m] == []


def test_dropped_result_frees_the_call():
    """A call whose EventualResult was dropped while it was queued still runs,
    and afterwards nothing of it is kept."""
    ran = threading.Event()
    before = _held.count()
    with Blocker():
        result = run_later(ran.set)
        del result
        gc.collect()
    sync()
    assert ran.is_set()
    assert _held.count() == before


@libcrochet.run_in_reactor
def run_later(f):
    f()


def test_dropped_cancelled_result_frees_the_call():
    """A call cancelled and dropped before its turn never runs, and nothing of
    it is kept (its arguments are released)."""
    import weakref

    class Argument:
        pass

    argument = Argument()
    ref = weakref.ref(argument)
    ran = []
    before = _held.count()
    with Blocker():
        result = run_later(lambda a=argument: ran.append(a))
        result.cancel()
        del result, argument
        gc.collect()
        assert ref() is not None   # the queued call still holds it
    sync()
    sync()
    gc.collect()
    assert ran == []
    assert ref() is None
    assert _held.count() == before
