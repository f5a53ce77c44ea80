"""`async def` functions under run_in_reactor and wait_for, run as
coroutines on the reactor thread without Twisted (and, in child processes,
with Twisted imported or libcrochet.twistedreactor installed)."""

import contextvars
import gc
import threading
import time
import types
import weakref

import pytest

import libcrochet
from libcrochet import Deferred, _held
from helpers import LIMIT, on_reactor, run_python, sync


def _later(delay, value):
    d = Deferred()
    libcrochet.call_later(delay, d.callback, value)
    return d


def test_async_def_runs_on_the_reactor_thread():
    """An async def function's coroutine runs on the reactor thread, before
    and after it awaits a Deferred that fires later; the result is what it
    returns."""
    @libcrochet.run_in_reactor
    async def steps(x):
        before = libcrochet.in_reactor_thread(), threading.get_ident()
        value = await _later(0.01, x)
        after = libcrochet.in_reactor_thread(), threading.get_ident()
        return before, value, after

    before, value, after = steps("v").wait(LIMIT)
    assert before == after and before[0] is True
    assert before[1] != threading.get_ident()
    assert value == "v"


def test_wait_for_async_def():
    """wait_for runs an async def function the same way and returns its
    value."""
    @libcrochet.wait_for(timeout=LIMIT)
    async def add_later(a, b):
        return await _later(0.01, a) + await _later(0, b)

    assert add_later(40, 2) == 42


def test_awaiting_fired_deferreds_and_coroutines():
    """Awaiting a Deferred that has fired gives its result at once (it keeps
    it); awaiting another coroutine, and a chain, works."""
    @libcrochet.wait_for(timeout=LIMIT)
    async def nested():
        fired = libcrochet.succeed(5)

        async def inner(v):
            return await _later(0, v) * 2

        first = await fired
        second = await inner(first)
        third = await _later(0, 1).addCallback(lambda r: r + 100)
        return first, second, third, fired.result

    assert nested() == (5, 10, 101, 5)


def test_awaited_deferred_result_is_taken():
    """Awaiting a Deferred that has not fired takes its result: callbacks
    added to it afterwards get None (as in Twisted)."""
    @libcrochet.wait_for(timeout=LIMIT)
    async def takes():
        d = _later(0.01, "taken")
        seen = []
        value = await d
        await _later(0, None)   # (out of d's callbacks, which run the coroutine)
        d.addCallback(seen.append)
        return value, list(seen)

    assert takes() == ("taken", [None])


def test_exception_from_a_coroutine():
    """An exception a coroutine raises (after awaiting) is what wait()
    raises, the same object, and the traceback shows the coroutine."""
    exc = KeyError("from a coroutine")

    @libcrochet.run_in_reactor
    async def failing():
        await _later(0.01, None)
        raise exc

    result = failing()
    with pytest.raises(KeyError) as info:
        result.wait(LIMIT)
    assert info.value is exc
    text = result.original_failure().getTraceback()
    assert "in failing" in text and "from a coroutine" in text


def test_failed_deferred_raises_in_the_coroutine():
    """A Deferred that fails raises its exception at the await, where the
    coroutine may catch it (it fails later, or at once)."""
    @libcrochet.wait_for(timeout=LIMIT)
    async def catches():
        caught = []
        later = Deferred()
        libcrochet.call_later(0.01, later.errback, ValueError("later"))
        for d in (libcrochet.fail(OSError("now")), later):
            try:
                await d
            except (OSError, ValueError) as e:
                caught.append(str(e))
        return caught

    assert catches() == ["now", "later"]


def test_cancel_cancels_the_awaited_deferred():
    """EventualResult.cancel() cancels the Deferred the coroutine awaits
    (its canceller runs) and the coroutine gets CancelledError thrown in;
    not catching it, its result is cancelled."""
    seen = []
    awaiting = threading.Event()

    @libcrochet.run_in_reactor
    async def waits():
        d = Deferred(lambda d: seen.append("canceller"))
        awaiting.set()
        try:
            await d
        except libcrochet.CancelledError:
            seen.append("CancelledError in the coroutine")
            raise

    result = waits()
    assert awaiting.wait(LIMIT)
    result.cancel()
    with pytest.raises(libcrochet.CancelledError):
        result.wait(LIMIT)
    assert seen == ["canceller", "CancelledError in the coroutine"]


def test_coroutine_may_handle_its_cancellation():
    """A coroutine that catches the CancelledError and goes on decides its
    Deferred's result, as with Twisted; a second cancel() cancels what it
    awaits then. Its EventualResult, though, is cancelled at once (the
    library completes a cancelled result unless the canceller fired it):
    the coroutine carries on, and what it returns is dropped."""
    finished = threading.Event()

    @libcrochet.run_in_reactor
    async def carries_on():
        try:
            await Deferred()
        except libcrochet.CancelledError:
            pass
        value = await _later(0.01, "carried on")
        finished.set()
        return value

    result = carries_on()
    sync()
    result.cancel()
    with pytest.raises(libcrochet.CancelledError):
        result.wait(LIMIT)
    assert finished.wait(LIMIT)

    def recovers():
        later = Deferred()

        async def coro():
            try:
                await Deferred()
            except libcrochet.CancelledError:
                return "recovered: " + await later

        d = libcrochet.ensureDeferred(coro())
        d.cancel()
        pending = d.called and d.paused
        later.callback("value")
        return pending, d.result

    assert on_reactor(recovers) == (1, "recovered: value")

    def cancel_twice():
        seen = []

        async def twice():
            try:
                await Deferred()
            except libcrochet.CancelledError:
                seen.append(1)
            try:
                await Deferred()
            except libcrochet.CancelledError:
                seen.append(2)
                raise

        d = libcrochet.ensureDeferred(twice())
        d.cancel()
        first = d.called and d.paused
        d.cancel()
        kinds = []
        d.addErrback(lambda f: kinds.append(f.type))
        return seen, first, kinds

    assert on_reactor(cancel_twice) == ([1, 2], 1, [libcrochet.CancelledError])


def test_wait_for_timeout_cancels_the_awaited_deferred():
    """wait_for's timeout cancels the Deferred the coroutine awaits."""
    seen = []
    done = threading.Event()

    @libcrochet.wait_for(timeout=0.05)
    async def too_slow():
        try:
            await Deferred(lambda d: seen.append("canceller"))
        except libcrochet.CancelledError:
            seen.append("cancelled")
            done.set()
            raise

    with pytest.raises(libcrochet.TimeoutError):
        too_slow()
    assert done.wait(LIMIT)
    assert seen == ["canceller", "cancelled"]


def test_awaiting_something_else_is_a_type_error():
    """Awaiting something other than a Deferred (an asyncio future, a bare
    yield) throws TypeError into the coroutine."""
    class Foreign:
        def __await__(self):
            return (yield "not a Deferred")

    @libcrochet.run_in_reactor
    async def awaits_foreign():
        await Foreign()

    @libcrochet.wait_for(timeout=LIMIT)
    async def catches_it():
        try:
            await Foreign()
        except TypeError as e:
            return str(e)

    with pytest.raises(TypeError, match="can only await Deferreds"):
        awaits_foreign().wait(LIMIT)
    assert "not a Deferred" in catches_it()


def test_context_variables_survive_awaits():
    """A context variable set in a coroutine is seen after it resumes (each
    callback otherwise runs in a fresh thread state), and is not seen by
    other calls."""
    var = contextvars.ContextVar("var", default="unset")

    @libcrochet.wait_for(timeout=LIMIT)
    async def sets_and_waits(value):
        var.set(value)
        await _later(0.01, None)
        return var.get()

    @libcrochet.wait_for(timeout=LIMIT)
    def reads():
        return var.get()

    assert sets_and_waits("mine") == "mine"
    assert reads() == "unset"


def test_coroutine_returning_a_value_of_any_kind():
    """A coroutine's value travels like a function's (objects, None, ints,
    floats); one that returns without awaiting finishes at once."""
    marker = object()

    @libcrochet.wait_for(timeout=LIMIT)
    async def returns(v):
        return v

    for v in (marker, None, 2 ** 70, -3, 1.5, "s"):
        assert returns(v) is v or returns(v) == v


def test_ensure_deferred():
    """ensureDeferred runs a coroutine on the reactor thread and returns its
    Deferred; a Deferred is returned as is; anything else is a TypeError;
    off the reactor thread it is a RuntimeError."""
    def on():
        d = Deferred()

        async def coro():
            return await d

        out = libcrochet.ensureDeferred(coro())
        pending = out.called
        d.callback("done")
        return pending, out.result, libcrochet.ensureDeferred(d) is d

    assert on_reactor(on) == (False, "done", True)

    def bad():
        try:
            libcrochet.ensureDeferred(lambda: None)
        except TypeError as e:
            return str(e)

    assert "needs a coroutine" in on_reactor(bad)

    async def never():
        pass

    coro = never()
    with pytest.raises(RuntimeError, match="reactor thread"):
        libcrochet.ensureDeferred(coro)
    coro.close()


def test_wrapper_is_not_a_coroutine_function():
    """The decorated async def function returns an EventualResult (or the
    value, for wait_for), not a coroutine."""
    @libcrochet.run_in_reactor
    async def f():
        return 1

    result = f()
    assert isinstance(result, libcrochet.EventualResult)
    assert not isinstance(result, types.CoroutineType)
    assert result.wait(LIMIT) == 1


# ---------------------------------------------------------------------------
# With Twisted (child processes: the main test process never imports it)
# ---------------------------------------------------------------------------

def _run_child(code):
    done = run_python(code, timeout=60)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "OK" in done.stdout.split(), out
    for bad in ("Unhandled", "Traceback", "Exception ignored"):
        assert bad not in done.stderr, out


def test_twisted_imported_our_driver_awaits_both():
    """With Twisted imported but not installed, a coroutine run by
    run_in_reactor awaits libcrochet Deferreds and Twisted Deferreds (fired
    on the reactor thread), and a callback may return a Twisted Deferred."""
    pytest.importorskip("twisted")
    _run_child("""
        import libcrochet
        libcrochet.setup()
        from twisted.internet import defer

        @libcrochet.wait_for(10)
        async def both():
            ours = libcrochet.Deferred()
            libcrochet.call_later(0.01, ours.callback, "ours")
            theirs = defer.Deferred()
            libcrochet.call_later(0.01, theirs.callback, "theirs")
            failing = defer.Deferred()
            libcrochet.call_later(0.01, failing.errback, KeyError("twisted failure"))
            try:
                await failing
            except KeyError as e:
                caught = e.args[0]
            return await ours, await theirs, await defer.succeed("fired"), caught

        assert both() == ("ours", "theirs", "fired", "twisted failure"), both()

        @libcrochet.wait_for(10)
        def chained():
            theirs = defer.Deferred()
            libcrochet.call_later(0.01, theirs.callback, 41)
            return libcrochet.succeed(None).addCallback(lambda _: theirs).addCallback(
                lambda r: r + 1)

        assert chained() == 42
        print("OK")
    """)


def test_twisted_reactor_awaits_libcrochet_deferreds():
    """With libcrochet.twistedreactor installed (coroutines run by Twisted's
    ensureDeferred), a coroutine awaits libcrochet Deferreds and Twisted's;
    wait_for's timeout cancels the libcrochet Deferred it awaits; a
    libcrochet Deferred returned keeps working."""
    pytest.importorskip("twisted")
    _run_child("""
        from libcrochet import twistedreactor
        twistedreactor.install()
        import libcrochet
        libcrochet.setup()
        from twisted.internet import reactor, task

        @libcrochet.wait_for(10)
        async def both():
            ours = libcrochet.Deferred()
            libcrochet.call_later(0.01, ours.callback, "ours")
            failing = libcrochet.Deferred()
            libcrochet.call_later(0.01, failing.errback, KeyError("ours failed"))
            try:
                await failing
            except KeyError as e:
                caught = e.args[0]
            theirs = await task.deferLater(reactor, 0.01, lambda: "theirs")
            return await ours, theirs, await libcrochet.succeed("fired"), caught

        assert both() == ("ours", "theirs", "fired", "ours failed"), both()

        seen = []
        @libcrochet.wait_for(0.1)
        async def too_slow():
            try:
                await libcrochet.Deferred(lambda d: seen.append("canceller"))
            except libcrochet.CancelledError:
                seen.append("cancelled")
                raise
        try:
            too_slow()
        except libcrochet.TimeoutError:
            pass
        else:
            raise AssertionError("no timeout")
        libcrochet.wait_for(10)(lambda: None)()
        assert seen == ["canceller", "cancelled"], seen

        @libcrochet.wait_for(10)
        def returns_ours():
            d = libcrochet.Deferred()
            reactor.callLater(0.01, d.callback, 1)
            return d.addCallback(lambda r: r + 1)

        assert returns_ours() == 2
        print("OK")
    """)


def test_coroutines_leave_nothing():
    """Coroutines that return, raise, or are cancelled while awaiting (with
    defer_to_thread, gatherResults and maybeDeferred on the way) leave no
    object behind once their results are gone, and nothing held."""
    live = weakref.WeakSet()

    class Sentinel:
        def __init__(self):
            live.add(self)

    @libcrochet.run_in_reactor
    async def coro(s, how):
        v = await _later(0, s)
        if how == 1:
            raise KeyError(v)
        if how == 2:
            await Deferred()   # until cancelled
        r = await libcrochet.defer_to_thread(lambda: v)
        return await libcrochet.gatherResults([libcrochet.succeed(r),
                                               libcrochet.maybeDeferred(lambda: r)])

    sync()
    held = _held.count()
    results = [(coro(Sentinel(), i % 3), i % 3) for i in range(600)]
    value = None
    for result, how in results:
        if how == 2:
            sync()   # (it awaits by now: calls run in order)
            result.cancel()
        try:
            value = result.wait(LIMIT)
            assert how == 0 and isinstance(value[0], Sentinel) and value[0] is value[1]
        except KeyError as e:
            assert how == 1 and isinstance(e.args[0], Sentinel)
        except libcrochet.CancelledError:
            assert how == 2
    del results, result, value
    deadline = time.monotonic() + LIMIT
    while (len(live), _held.count()) != (0, held) and time.monotonic() < deadline:
        gc.collect()
        sync()
    assert (len(live), _held.count()) == (0, held)
