"""Deferred, call_later and call_from_thread."""

import math
import threading
import time
import uuid

import pytest

import libcrochet
from helpers import LIMIT, deferred_call, on_reactor, sync


def _catch(f, *args):
    try:
        f(*args)
    except BaseException as e:
        return e
    return None


def test_deferred_only_on_reactor_thread():
    """Making a Deferred off the reactor thread is a RuntimeError."""
    with pytest.raises(RuntimeError, match="reactor thread"):
        libcrochet.Deferred()


def test_fire_only_on_reactor_thread():
    """callback, errback and cancel off the reactor thread are RuntimeErrors,
    and leave the Deferred unfired."""
    result, d = deferred_call()
    for f, args in ((d.callback, (1,)), (d.errback, (ValueError(),)), (d.cancel, ())):
        with pytest.raises(RuntimeError, match="reactor thread"):
            f(*args)
    assert not d.called
    libcrochet.call_from_thread(d.callback, "fine")
    assert result.wait(LIMIT) == "fine"


def test_callback_twice():
    """Firing twice raises AlreadyCalledError; the first value stays."""
    errors = []

    @libcrochet.run_in_reactor
    def fire_twice():
        d = libcrochet.Deferred()
        d.callback(1)
        errors.extend([_catch(d.callback, 2), _catch(d.errback, ValueError())])
        return d   # the result follows d: its value is the one d kept

    assert fire_twice().wait(LIMIT) == 1
    second, third = errors
    assert isinstance(second, libcrochet.AlreadyCalledError)
    assert isinstance(third, libcrochet.AlreadyCalledError)


def test_fire_after_cancel_is_ignored():
    """Firing a cancelled Deferred is silently accepted (as in Twisted)."""
    def cancel_then_fire():
        d = libcrochet.Deferred()
        d.cancel()
        d.callback("ignored")
        d.errback(ValueError("ignored"))
        d.cancel()
        return d.called

    assert on_reactor(cancel_then_fire) is True


def test_callback_with_deferred():
    """A Deferred cannot be fired with another Deferred."""
    def chain():
        d = libcrochet.Deferred()
        return _catch(d.callback, libcrochet.Deferred())

    assert isinstance(on_reactor(chain), TypeError)


def test_errback_forms():
    """errback takes an exception instance, a class, or (inside an except
    block) nothing; anything else is a TypeError."""
    @libcrochet.run_in_reactor
    def with_class():
        d = libcrochet.Deferred()
        d.errback(KeyError)
        return d

    with pytest.raises(KeyError):
        with_class().wait(LIMIT)

    @libcrochet.run_in_reactor
    def current():
        d = libcrochet.Deferred()
        try:
            raise IndexError("current")
        except IndexError:
            d.errback()
        return d

    result = current()
    with pytest.raises(IndexError, match="current"):
        result.wait(LIMIT)
    assert "in current" in result.original_failure().getTraceback()

    def bad():
        d = libcrochet.Deferred()
        return _catch(d.errback, "not an exception"), _catch(d.errback), d.called

    not_exc, nothing, called = on_reactor(bad)
    assert isinstance(not_exc, TypeError) and isinstance(nothing, TypeError)
    assert called is False


def test_errback_with_failure():
    """errback takes the Failure of another result, keeping its exception."""
    @libcrochet.run_in_reactor
    def fail():
        raise LookupError("original")

    first = fail()
    with pytest.raises(LookupError):
        first.wait(LIMIT)
    failure = first.original_failure()

    @libcrochet.run_in_reactor
    def forward():
        d = libcrochet.Deferred()
        d.errback(failure)
        return d

    with pytest.raises(LookupError) as info:
        forward().wait(LIMIT)
    assert info.value is failure.value


def test_canceller_not_callable():
    """A canceller that is not callable is a TypeError."""
    assert isinstance(on_reactor(lambda: _catch(libcrochet.Deferred, 5)), TypeError)


def test_canceller_error_is_logged(log_capture):
    """An exception raised by a canceller is logged; the Deferred still fails
    with CancelledError."""
    tag = uuid.uuid4().hex

    def canceller(d):
        raise ValueError(tag)

    result, _ = deferred_call(canceller)
    result.cancel()
    with pytest.raises(libcrochet.CancelledError):
        result.wait(LIMIT)
    record = log_capture.wait_for(tag)
    assert "canceller" in record.getMessage()


def test_deferred_cancel_on_reactor():
    """Deferred.cancel() on the reactor thread runs the canceller at once."""
    def cancel():
        seen = []
        d = libcrochet.Deferred(lambda d: seen.append("cancelled"))
        d.cancel()
        return seen, d.called

    assert on_reactor(cancel) == (["cancelled"], True)


def test_call_later():
    """call_later runs the function with its arguments on the reactor thread
    after the delay."""
    done = threading.Event()
    seen = []

    def record(a, b=None):
        seen.append((a, b, libcrochet.in_reactor_thread()))
        done.set()

    start = time.monotonic()
    call = libcrochet.call_later(0.05, record, 1, b=2)
    assert call.active()
    assert done.wait(LIMIT)
    assert time.monotonic() - start >= 0.05
    assert seen == [(1, 2, True)]
    assert not call.active()


def test_call_later_order():
    """Timers run in deadline order."""
    seen = []
    done = threading.Event()
    libcrochet.call_later(0.06, lambda: (seen.append(2), done.set()))
    libcrochet.call_later(0.03, seen.append, 1)
    libcrochet.call_later(0, seen.append, 0)
    assert done.wait(LIMIT)
    assert seen == [0, 1, 2]


def test_call_later_cancel():
    """A cancelled delayed call never runs; cancelling again is an
    AlreadyCalledError, as is cancelling one that ran."""
    ran = []
    done = threading.Event()
    call = libcrochet.call_later(0.02, ran.append, "cancelled one")
    call.cancel()
    assert not call.active()
    with pytest.raises(libcrochet.AlreadyCalledError):
        call.cancel()
    later = libcrochet.call_later(0.05, done.set)
    assert done.wait(LIMIT)
    assert ran == []
    with pytest.raises(libcrochet.AlreadyCalledError):
        later.cancel()


def test_call_later_error_is_logged(log_capture):
    """An exception raised by a delayed call is logged."""
    tag = uuid.uuid4().hex

    def fail():
        raise ValueError(tag)

    libcrochet.call_later(0, fail)
    record = log_capture.wait_for(tag)
    assert record.levelname == "ERROR"


@pytest.mark.parametrize("delay, error", [("1", TypeError), (None, TypeError),
                                          (-1, ValueError), (math.nan, ValueError),
                                          (math.inf, ValueError)])
def test_call_later_bad_delay(delay, error):
    """call_later rejects a bad delay."""
    with pytest.raises(error):
        libcrochet.call_later(delay, lambda: None)


def test_call_later_not_callable():
    """call_later and call_from_thread need a callable."""
    with pytest.raises(TypeError):
        libcrochet.call_later(0, 5)
    with pytest.raises(TypeError):
        libcrochet.call_from_thread("x")


def test_call_from_thread():
    """call_from_thread runs functions on the reactor thread in order."""
    seen = []
    for i in range(50):
        libcrochet.call_from_thread(seen.append, (i, libcrochet.in_reactor_thread))
    sync()
    assert [i for i, _ in seen] == list(range(50))


def test_call_later_from_reactor_thread():
    """call_later works from the reactor thread too."""
    done = threading.Event()
    on_reactor(libcrochet.call_later, 0.01, done.set)
    assert done.wait(LIMIT)
