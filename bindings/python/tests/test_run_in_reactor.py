"""run_in_reactor with Python functions (crochet's RunInReactorTests)."""

import inspect
import threading

import pytest

import libcrochet
from helpers import LIMIT, Blocker, on_reactor, sync


def test_name_signature_and_wrapped():
    """The decorated function keeps its name, docstring, signature and
    __wrapped__ (and crochet's wrapped_function)."""
    def some_name(a, b=2, *, c):
        """Docstring."""

    wrapper = libcrochet.run_in_reactor(some_name)
    assert wrapper.__name__ == "some_name"
    assert wrapper.__doc__ == "Docstring."
    assert wrapper.__wrapped__ is some_name
    assert wrapper.wrapped_function is some_name
    assert inspect.signature(wrapper) == inspect.signature(some_name)


def test_runs_in_reactor_thread():
    """The function runs on the reactor thread, not the caller's."""
    @libcrochet.run_in_reactor
    def where():
        return libcrochet.in_reactor_thread(), threading.get_ident()

    in_reactor, ident = where().wait(LIMIT)
    assert in_reactor is True
    assert ident != threading.get_ident()
    assert libcrochet.in_reactor_thread() is False


def test_arguments():
    """Positional and keyword arguments reach the function."""
    calls = []

    @libcrochet.run_in_reactor
    def func(a, b, c):
        calls.append((a, b, c))

    func(1, 2, c=3).wait(LIMIT)
    assert calls == [(1, 2, 3)]


def test_wrong_arguments_fail_the_call():
    """Arguments that do not match the signature fail the call with the
    TypeError Python raises (as calling the function would)."""
    @libcrochet.run_in_reactor
    def one(a):
        return a

    with pytest.raises(TypeError):
        one(1, 2).wait(LIMIT)


def test_regular_result():
    """A plain return value becomes the EventualResult's value."""
    @libcrochet.run_in_reactor
    def passthrough(argument):
        return argument

    result = passthrough(123)
    assert isinstance(result, libcrochet.EventualResult)
    assert result.wait(LIMIT) == 123


def test_none_result():
    """A function returning nothing gives None."""
    @libcrochet.run_in_reactor
    def nothing():
        pass

    assert nothing().wait(LIMIT) is None


def test_exception_result():
    """An exception the function raises is raised by wait()."""
    @libcrochet.run_in_reactor
    def raiser():
        1 / 0

    result = raiser()
    assert isinstance(result, libcrochet.EventualResult)
    with pytest.raises(ZeroDivisionError):
        result.wait(LIMIT)


def test_base_exception_result():
    """Even a BaseException (SystemExit) raised on the reactor reaches wait()
    and does not stop the reactor."""
    @libcrochet.run_in_reactor
    def exits():
        raise SystemExit(3)

    with pytest.raises(SystemExit) as info:
        exits().wait(LIMIT)
    assert info.value.code == 3
    sync()


def test_deferred_success_result():
    """A Deferred the function returns, already fired, gives its value."""
    @libcrochet.run_in_reactor
    def fired():
        d = libcrochet.Deferred()
        d.callback(123)
        return d

    assert fired().wait(LIMIT) == 123


def test_deferred_later_result():
    """A Deferred fired later, by call_later, gives its value then."""
    @libcrochet.run_in_reactor
    def later():
        d = libcrochet.Deferred()
        libcrochet.call_later(0.01, d.callback, "later")
        return d

    assert later().wait(LIMIT) == "later"


def test_deferred_failure_result():
    """A Deferred that fails makes wait() raise its exception."""
    exc = ZeroDivisionError("deferred")

    @libcrochet.run_in_reactor
    def failed():
        d = libcrochet.Deferred()
        d.errback(exc)
        return d

    with pytest.raises(ZeroDivisionError) as info:
        failed().wait(LIMIT)
    assert info.value is exc


def test_deferred_cancelled_error():
    """A function that raises libcrochet.CancelledError gives a cancelled
    result (as raising Twisted's CancelledError does)."""
    @libcrochet.run_in_reactor
    def cancels():
        raise libcrochet.CancelledError("mine")

    result = cancels()
    with pytest.raises(libcrochet.CancelledError, match="mine"):
        result.wait(LIMIT)
    assert result.original_failure().code == -4


def test_calls_run_in_order():
    """Calls from one thread run in the order they were made."""
    seen = []

    @libcrochet.run_in_reactor
    def append(i):
        seen.append(i)

    results = [append(i) for i in range(200)]
    results[-1].wait(LIMIT)
    assert seen == list(range(200))


def test_method():
    """Decorating a method works: self is passed."""
    class Counter:
        def __init__(self):
            self.n = 0

        @libcrochet.run_in_reactor
        def bump(self, by):
            self.n += by
            return self.n

    c = Counter()
    assert c.bump(2).wait(LIMIT) == 2
    assert c.bump(3).wait(LIMIT) == 5


def test_callable_object():
    """Any callable can be decorated."""
    class Adder:
        def __call__(self, a, b):
            return a + b

    assert libcrochet.run_in_reactor(Adder())(2, 3).wait(LIMIT) == 5


def test_call_on_reactor_thread_queues():
    """Called on the reactor thread, the function is queued and its result
    arrives once the current call returns."""
    @libcrochet.run_in_reactor
    def inner():
        return "inner"

    @libcrochet.run_in_reactor
    def outer():
        return inner()

    nested = outer().wait(LIMIT)
    assert isinstance(nested, libcrochet.EventualResult)
    assert nested.wait(LIMIT) == "inner"


@pytest.mark.parametrize("bad", [None, 5, "text", [1]])
def test_not_callable(bad):
    """Decorating something that is not callable raises TypeError."""
    with pytest.raises(TypeError, match="callable"):
        libcrochet.run_in_reactor(bad)


def test_many_threads():
    """Many threads calling at once each get their own result."""
    @libcrochet.run_in_reactor
    def double(x):
        return 2 * x

    got = {}

    def worker(n):
        got[n] = [double(n * 100 + i).wait(LIMIT) for i in range(50)]

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(LIMIT)
    assert got == {n: [2 * (n * 100 + i) for i in range(50)] for n in range(4)}


def test_queued_behind_a_blocked_reactor():
    """A call made while the reactor is busy waits its turn, then runs."""
    @libcrochet.run_in_reactor
    def value():
        return "after"

    with Blocker():
        result = value()
        with pytest.raises(libcrochet.TimeoutError):
            result.wait(0.05)
    assert result.wait(LIMIT) == "after"


def test_on_reactor_helper_sanity():
    """(Helper check) on_reactor runs functions on the reactor thread."""
    assert on_reactor(libcrochet.in_reactor_thread) is True
