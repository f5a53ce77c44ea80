"""wait_for (crochet's WaitForTests)."""

import inspect
import math
import threading
import time

import pytest

import libcrochet
from helpers import LIMIT, Blocker, on_reactor, sync


def decorated(f, timeout=LIMIT):
    return libcrochet.wait_for(timeout=timeout)(f)


def passthrough(argument):
    if isinstance(argument, BaseException):
        raise argument
    return argument


def test_name_signature_and_wrapped():
    """The decorated function keeps its name, signature and __wrapped__."""
    def some_name(argument, *rest):
        """Doc."""

    wrapper = decorated(some_name)
    assert wrapper.__name__ == "some_name"
    assert wrapper.__doc__ == "Doc."
    assert wrapper.__wrapped__ is some_name
    assert wrapper.wrapped_function is some_name
    assert inspect.signature(wrapper) == inspect.signature(some_name)


def test_reactor_thread_disallowed():
    """Called on the reactor thread it raises RuntimeError, without running
    the function."""
    ran = []
    f = decorated(lambda: ran.append(True))
    error = on_reactor(lambda: _catch(f))
    assert isinstance(error, RuntimeError)
    assert ran == []


def _catch(f, *args):
    try:
        f(*args)
    except BaseException as e:
        return e
    return None


def test_runs_in_reactor_thread():
    """The function runs on the reactor thread."""
    assert decorated(libcrochet.in_reactor_thread)() is True


def test_arguments():
    """All arguments reach the function."""
    calls = []

    @libcrochet.wait_for(timeout=LIMIT)
    def func(a, b, c):
        calls.append((a, b, c))

    func(1, 2, c=3)
    assert calls == [(1, 2, 3)]


def test_regular_result():
    """The function's return value is returned."""
    assert decorated(passthrough)(123) == 123


def test_exception_result():
    """The function's exception is raised: the same object."""
    exc = ZeroDivisionError("wait_for")
    with pytest.raises(ZeroDivisionError) as info:
        decorated(passthrough)(exc)
    assert info.value is exc


def test_deferred_success_result():
    """A Deferred the function returns is waited for: its value is returned."""
    @libcrochet.wait_for(timeout=LIMIT)
    def later():
        d = libcrochet.Deferred()
        libcrochet.call_later(0.01, d.callback, 123)
        return d

    assert later() == 123


def test_deferred_failure_result():
    """A Deferred that fails makes the call raise its exception."""
    @libcrochet.wait_for(timeout=LIMIT)
    def later():
        d = libcrochet.Deferred()
        libcrochet.call_later(0.01, d.errback, ZeroDivisionError("late"))
        return d

    with pytest.raises(ZeroDivisionError, match="late"):
        later()


def test_timeout_raises():
    """When the timeout passes, TimeoutError is raised (after the timeout)."""
    @libcrochet.wait_for(timeout=0.2)
    def times_out():
        return libcrochet.Deferred()

    start = time.monotonic()
    with pytest.raises(libcrochet.TimeoutError):
        times_out()
    elapsed = time.monotonic() - start
    assert 0.2 <= elapsed < 0.2 + 1.0


def test_timeout_cancels():
    """When the timeout passes, the Deferred the function returned is
    cancelled (its canceller runs on the reactor thread)."""
    cancelled = threading.Event()
    where = []

    def canceller(d):
        where.append(libcrochet.in_reactor_thread())
        cancelled.set()

    @libcrochet.wait_for(timeout=0.1)
    def times_out():
        return libcrochet.Deferred(canceller)

    with pytest.raises(libcrochet.TimeoutError):
        times_out()
    assert cancelled.wait(LIMIT)
    assert where == [True]


def test_infinite_timeout():
    """An infinite timeout waits without limit."""
    assert libcrochet.wait_for(timeout=math.inf)(passthrough)("inf") == "inf"


@pytest.mark.parametrize("bad, error", [("1", TypeError), (None, TypeError), (True, TypeError),
                                        (math.nan, ValueError)])
def test_bad_timeout(bad, error):
    """wait_for rejects a timeout that is not a number or is NaN. (A negative
    one polls, as crochet's does: test_crochet_behaviours.py.)"""
    with pytest.raises(error):
        libcrochet.wait_for(bad)


def test_used_without_timeout():
    """@wait_for without a timeout (the function passed as the timeout) is a
    TypeError that says how to use it."""
    with pytest.raises(TypeError, match="timeout"):
        @libcrochet.wait_for
        def f():
            pass


@pytest.mark.parametrize("bad", [None, 3, "x"])
def test_not_callable(bad):
    """Decorating something that is not callable raises TypeError."""
    with pytest.raises(TypeError, match="callable"):
        libcrochet.wait_for(1)(bad)


def test_keyboard_interrupt_raised_on_reactor_is_returned():
    """A KeyboardInterrupt raised by the function on the reactor thread is
    the call's outcome, raised by the caller."""
    with pytest.raises(KeyboardInterrupt):
        decorated(passthrough)(KeyboardInterrupt())


def test_zero_timeout_cancels_before_start():
    """With a zero timeout the call is cancelled before it gets to run, and
    then never runs."""
    ran = []

    @libcrochet.wait_for(timeout=0)
    def never_runs():
        ran.append(True)

    with Blocker():
        with pytest.raises(libcrochet.TimeoutError):
            never_runs()
    sync()
    assert ran == []
