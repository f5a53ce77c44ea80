"""The Deferred's callback chain (Twisted's), succeed / fail / maybeDeferred,
DeferredList / gatherResults, Failure's API, and how a chain reaches the
EventualResult of the function that returned it."""

import gc
import io
import threading
import uuid

import pytest

import libcrochet
from libcrochet import Deferred, Failure
from helpers import LIMIT, deferred_call, on_reactor, run_python, sync


def _error_of(f, *args, **kwargs):
    try:
        f(*args, **kwargs)
    except BaseException as e:
        return e
    return None


# ---------------------------------------------------------------------------
# The chain
# ---------------------------------------------------------------------------

def test_callbacks_chain_return_values():
    """Each callback gets what the one before returned, with its extra
    positional and keyword arguments."""
    def chain():
        seen = []
        d = Deferred()
        d.addCallback(lambda r: r + 1)
        d.addCallback(lambda r, k, m=0: (seen.append((r, k, m)), r * k + m)[1], 10, m=5)
        d.callback(1)
        d.addCallback(seen.append)   # added after firing: runs at once
        return seen, d.result

    seen, result = on_reactor(chain)
    assert seen == [(2, 10, 5), 25]
    assert result is None


def test_errbacks_get_a_failure_and_may_recover():
    """A callback that raises sends the chain to the errbacks, with a
    Failure of that exception; an errback that returns a value sends it back
    to the callbacks; callbacks are skipped on the way, errbacks likewise."""
    def chain():
        seen = []
        exc = KeyError("k")

        def boom(_):
            raise exc

        d = Deferred()
        d.addCallback(boom)
        d.addCallback(lambda r: seen.append("skipped callback"))
        d.addErrback(lambda f: (seen.append((type(f), f.value is exc)), "recovered")[1])
        d.addErrback(lambda f: seen.append("skipped errback"))
        d.addCallback(lambda r: seen.append(r))
        d.callback("start")
        return seen

    assert on_reactor(chain) == [(Failure, True), "recovered"]


def test_returning_a_failure_fails_the_chain():
    """A callback that returns a Failure (rather than raising) moves the
    chain to the errbacks with that very Failure."""
    def chain():
        failure = Failure(ValueError("returned"))
        got = []
        d = Deferred()
        d.addCallback(lambda _: failure)
        d.addErrback(got.append)
        d.callback(None)
        return got[0] is failure

    assert on_reactor(chain) is True


def test_add_both_and_add_callbacks_forms():
    """addBoth gets values and failures alike; addCallbacks takes
    callbackArgs/callbackKeywords and errbackArgs/errbackKeywords, and an
    errback of None lets the failure pass."""
    def chain():
        seen = []
        d = Deferred()
        d.addBoth(lambda r, tag: (seen.append((tag, r)), r)[1], "both")
        d.addCallbacks(lambda r, a, b=None: seen.append(("cb", r, a, b)),
                       lambda f, a, b=None: seen.append(("eb", a, b)),
                       callbackArgs=(1,), callbackKeywords={"b": 2},
                       errbackArgs=(3,), errbackKeywords={"b": 4})
        d.callback("v")

        e = Deferred()
        e.addCallbacks(lambda r: seen.append("not called"))   # errback None: passes
        e.addBoth(lambda f: seen.append(("both", f.type)))
        e.addCallbacks(lambda r, a, b=None: seen.append(("cb", r, a, b)),
                       lambda f, a, b=None: seen.append(("eb", a, b)),
                       callbackArgs=(1,), callbackKeywords={"b": 2},
                       errbackArgs=(3,), errbackKeywords={"b": 4})
        e.errback(IndexError("x"))
        return seen

    assert on_reactor(chain) == [("both", "v"), ("cb", "v", 1, 2), ("both", IndexError),
                                 ("cb", None, 1, 2)]


def test_callback_returning_a_deferred_pauses_the_chain():
    """A callback that returns a Deferred that has not fired pauses the
    chain until it fires; the chain goes on with its result (a failure
    too), and the inner Deferred is left with None."""
    def chain():
        seen = []
        inner = Deferred()
        outer = Deferred()
        outer.addCallback(lambda r: inner)
        outer.addCallback(lambda r: seen.append(("after", r)) or r)
        outer.callback("first")
        paused = (list(seen), outer.paused, "waiting on" in repr(outer))
        inner.callback("inner value")
        inner_after = inner.result

        other = Deferred()
        failing = Deferred()
        other.addCallback(lambda r: failing)
        other.addErrback(lambda f: seen.append(("failed", f.getErrorMessage())))
        other.callback(None)
        failing.errback(OSError("inner failure"))
        return paused, seen, inner_after

    paused, seen, inner_after = on_reactor(chain)
    assert paused == ([], 1, True)
    assert seen == [("after", "inner value"), ("failed", "inner failure")]
    assert inner_after is None


def test_callback_returning_a_fired_deferred_takes_its_result():
    """A callback returning a Deferred that has fired: the chain takes its
    result at once (the inner Deferred is left with None)."""
    def chain():
        inner = libcrochet.succeed(7)
        d = libcrochet.succeed(1)
        d.addCallback(lambda r: inner)
        d.addCallback(lambda r: r * 6)
        return d.result, inner.result

    assert on_reactor(chain) == (42, None)


def test_nested_chains_of_waiting_deferreds():
    """A chain of Deferreds each waiting for the next fires in order once
    the last one fires (without recursion: 2000 deep)."""
    def chain():
        ds = [Deferred() for _ in range(2000)]
        for d, following in zip(ds, ds[1:]):
            d.addCallback(lambda r, following=following: following)
        for d in ds[:-1]:
            d.callback(None)
        waiting = all(d.paused == 1 for d in ds[:-1])
        ds[-1].callback("deep")
        return waiting, ds[0].result, ds[-1].result

    assert on_reactor(chain) == (True, "deep", None)


def test_callback_returning_its_own_deferred_fails():
    """A callback that returns the Deferred it was added to fails the chain
    with TypeError (it would wait for itself forever)."""
    def chain():
        d = Deferred()
        d.addCallback(lambda r: d)
        d.callback(None)
        error = d.result
        d.addErrback(lambda f: None)
        return error.type, error.getErrorMessage()

    kind, message = on_reactor(chain)
    assert kind is TypeError and "returned the Deferred" in message


def test_pause_and_unpause():
    """pause() holds the callbacks (counted) until as many unpause()."""
    def chain():
        seen = []
        d = Deferred()
        d.pause()
        d.pause()
        d.addCallback(seen.append)
        d.callback(1)
        held = list(seen)
        d.unpause()
        still = list(seen)
        d.unpause()
        return held, still, seen

    assert on_reactor(chain) == ([], [], [1])


def test_chain_deferred():
    """chainDeferred fires another Deferred with the result at that point."""
    def chain():
        a, b = Deferred(), Deferred()
        a.chainDeferred(b)
        a.callback("passed on")
        e, f = Deferred(), Deferred()
        e.chainDeferred(f)
        e.errback(ValueError("failed on"))
        out = []
        f.addErrback(lambda fl: out.append(fl.getErrorMessage()))
        return b.result, a.result, out

    assert on_reactor(chain) == ("passed on", None, ["failed on"])


def test_callback_with_a_failure_runs_errbacks():
    """callback(Failure) is errback(Failure), as in Twisted."""
    def chain():
        got = []
        d = Deferred()
        d.addErrback(lambda f: got.append(f.type))
        d.callback(Failure(LookupError()))
        return got

    assert on_reactor(chain) == [LookupError]


def test_bad_callbacks_are_type_errors():
    """addCallbacks needs callables."""
    def chain():
        d = Deferred()
        return (_error_of(d.addCallback, 5), _error_of(d.addErrback, "x"),
                _error_of(d.addCallbacks, len, 3), _error_of(d.addBoth, None))

    assert all(isinstance(e, TypeError) for e in on_reactor(chain))


def test_fire_twice_and_after_cancel():
    """A second callback/errback raises AlreadyCalledError; after cancel()
    any firing is ignored; cancel() of a fired Deferred does nothing."""
    def chain():
        d = libcrochet.succeed(1)
        second = _error_of(d.callback, 2)
        third = _error_of(d.errback, ValueError())
        d.cancel()
        c = Deferred()
        c.cancel()
        c.callback(1)
        c.errback(ValueError())
        c.addErrback(lambda f: None)
        return type(second), type(third), d.result, c.result

    assert on_reactor(chain) == (libcrochet.AlreadyCalledError, libcrochet.AlreadyCalledError,
                                 1, None)


def test_canceller_may_fire_and_cancel_forwards_to_the_inner_deferred():
    """A canceller that fires the Deferred decides its result; cancelling a
    Deferred whose chain waits for another cancels that other one."""
    def chain():
        seen = []
        d = Deferred(lambda d: d.callback("from canceller"))
        d.cancel()
        inner = Deferred(lambda i: seen.append("inner cancelled"))
        outer = libcrochet.succeed(None)
        outer.addCallback(lambda r: inner)
        outer.addErrback(lambda f: seen.append(f.type))
        outer.cancel()
        return d.result, seen

    assert on_reactor(chain) == ("from canceller", ["inner cancelled",
                                                    libcrochet.CancelledError])


def test_canceller_error_is_logged_and_the_deferred_cancelled(log_capture):
    """An exception from a canceller called through Deferred.cancel() is
    logged; the Deferred fails with CancelledError."""
    tag = uuid.uuid4().hex

    def canceller(d):
        raise RuntimeError(tag)

    def chain():
        d = Deferred(canceller)
        d.cancel()
        got = []
        d.addErrback(lambda f: got.append(f.type))
        return got

    assert on_reactor(chain) == [libcrochet.CancelledError]
    log_capture.wait_for(tag)


# ---------------------------------------------------------------------------
# Failure
# ---------------------------------------------------------------------------

class _Mine(ValueError):
    pass


def test_failure_check_and_trap():
    """check() gives the first matching class (or qualified name) or None;
    trap() returns it, or raises so the same failure goes down the chain."""
    f = Failure(_Mine("m"))
    assert f.check(KeyError, ValueError) is ValueError
    assert f.check(KeyError) is None
    assert f.check("builtins.ValueError") == "builtins.ValueError"
    assert f.check("%s._Mine" % __name__) == "%s._Mine" % __name__
    assert "builtins.Exception" in f.parents
    assert f.trap(KeyError, _Mine) is _Mine
    with pytest.raises(_Mine) as info:
        f.trap(KeyError)
    assert info.value is f.value

    def chain():
        got = []
        d = Deferred()
        d.addErrback(lambda fl: fl.trap(KeyError))
        d.addErrback(got.append)
        d.errback(f)
        return got[0] is f

    assert on_reactor(chain) is True


def test_failure_messages_and_tracebacks():
    """getErrorMessage is str(value); getTraceback the traceback as Python
    prints it (brief: one line per frame); printTraceback writes it."""
    def raiser():
        raise _Mine("the message")

    try:
        raiser()
    except _Mine:
        f = Failure()
    assert f.type is _Mine and isinstance(f.value, _Mine)
    assert f.getErrorMessage() == "the message"
    text = f.getTraceback()
    assert text.startswith("Traceback (most recent call last):")
    assert "in raiser" in text and "_Mine: the message" in text
    brief = f.getTraceback(detail="brief")
    assert brief.startswith("Traceback: _Mine: the message\n") and ":raiser\n" in brief
    assert f.getTraceback(detail="verbose") == text
    with pytest.raises(ValueError):
        f.getTraceback(detail="loud")
    out = io.StringIO()
    f.printTraceback(out)
    assert out.getvalue() == text
    out = io.StringIO()
    f.printBriefTraceback(file=out)
    assert out.getvalue() == brief
    assert f.getTracebackObject() is f.tb
    assert "_Mine" in str(f) and "_Mine" in repr(f)
    with pytest.raises(_Mine) as info:
        f.raiseException()
    assert info.value is f.value


def test_failure_construction():
    """Failure() takes the exception being handled (TypeError if none), an
    exception, an exception class, or Twisted's (value, type, tb)."""
    with pytest.raises(TypeError):
        Failure()
    with pytest.raises(TypeError):
        Failure("not an exception")
    assert isinstance(Failure(KeyError).value, KeyError)
    e = OSError("x")
    f = Failure(e, OSError, None)
    assert f.value is e and f.type is OSError and f.tb is None
    assert f.code is None and f.message is None
    assert f.getTraceback() == "OSError: x\n"


def test_failure_from_a_callback_has_its_frame():
    """A Failure made from a raising callback has the callback's frame in its
    traceback (and not the chain's own machinery first)."""
    def chain():
        def failing_callback(_):
            raise ValueError("in callback")

        d = libcrochet.succeed(None).addCallback(failing_callback)
        f = d.result
        d.addErrback(lambda _: None)
        return f.getTraceback()

    text = on_reactor(chain)
    assert "in failing_callback" in text
    assert "_run_callbacks" not in text


# ---------------------------------------------------------------------------
# succeed, fail, maybeDeferred
# ---------------------------------------------------------------------------

def test_succeed_and_fail():
    """succeed and fail give fired Deferreds; fail takes an exception, a
    Failure, or the exception being handled."""
    def chain():
        s = libcrochet.succeed("ok")
        f = libcrochet.fail(KeyError("k"))
        failure = Failure(IndexError())
        g = libcrochet.fail(failure)
        try:
            raise OSError("handled")
        except OSError:
            h = libcrochet.fail()
        none = _error_of(libcrochet.fail)
        out = (s.called, s.result, f.result.type, g.result is failure, h.result.type, type(none))
        for d in (f, g, h):
            d.addErrback(lambda _: None)
        return out

    assert on_reactor(chain) == (True, "ok", KeyError, True, OSError, TypeError)


def test_maybe_deferred():
    """maybeDeferred: a value fired, an exception failed, a Deferred as is,
    a Failure failed, a coroutine run."""
    def chain():
        d = Deferred()

        async def coro():
            return "from coroutine"

        def raises():
            raise KeyError("raised")

        failure = Failure(IndexError())
        results = [libcrochet.maybeDeferred(lambda a, b=0: a + b, 1, b=2),
                   libcrochet.maybeDeferred(raises),
                   libcrochet.maybeDeferred(lambda: d),
                   libcrochet.maybeDeferred(lambda: failure),
                   libcrochet.maybeDeferred(coro)]
        out = (results[0].result, results[1].result.type, results[2] is d,
               results[3].result is failure, results[4].result)
        assert "in raises" in results[1].result.getTraceback()
        for r in results[1], results[3]:
            r.addErrback(lambda _: None)
        return out

    assert on_reactor(chain) == (3, KeyError, True, True, "from coroutine")


# ---------------------------------------------------------------------------
# DeferredList and gatherResults
# ---------------------------------------------------------------------------

def test_deferred_list_waits_for_all():
    """A DeferredList fires once all have fired, with (success, result)
    pairs in list order."""
    def chain():
        a, b, c = Deferred(), Deferred(), Deferred()
        dl = libcrochet.DeferredList([a, b, c])
        c.callback("c")
        a.errback(KeyError("a"))
        before = dl.called
        b.callback("b")
        (ok_a, fa), second, third = dl.result
        a.addErrback(lambda _: None)
        return before, (ok_a, fa.type), second, third, dl.finishedCount

    assert on_reactor(chain) == (False, (False, KeyError), (True, "b"), (True, "c"), 3)


def test_deferred_list_fire_on_one():
    """fireOnOneCallback fires with (result, index) at the first success;
    fireOnOneErrback fails with FirstError(failure, index) at the first
    failure."""
    def chain():
        a, b = Deferred(), Deferred()
        on_one = libcrochet.DeferredList([a, b], fireOnOneCallback=True)
        b.callback("b first")
        a.callback("a")
        c, e = Deferred(), Deferred()
        on_error = libcrochet.DeferredList([c, e], fireOnOneErrback=True)
        c.callback("fine")
        failure = Failure(OSError("bad"))
        e.errback(failure)
        first = on_error.result
        on_error.addErrback(lambda _: None)
        e.addErrback(lambda _: None)
        return (on_one.result, first.type, first.value.index, first.value.subFailure is failure,
                repr(first.value))

    result, kind, index, same, text = on_reactor(chain)
    assert result == ("b first", 1)
    assert kind is libcrochet.FirstError and index == 1 and same
    assert text == "FirstError[#1, OSError('bad')]"


def test_deferred_list_consume_errors(log_capture):
    """consumeErrors: the failure is the list's alone; the Deferred's own
    chain goes on with None, and nothing is logged as unhandled. Without
    it, the failure stays in the Deferred's chain (and is logged when the
    Deferred goes)."""
    tag = uuid.uuid4().hex

    def chain():
        consumed = Deferred()
        libcrochet.DeferredList([consumed], consumeErrors=True)
        consumed.errback(KeyError(tag + "-consumed"))
        kept = Deferred()
        libcrochet.DeferredList([kept])
        kept.errback(KeyError(tag + "-kept"))
        return consumed.result, kept.result.type

    assert on_reactor(chain) == (None, KeyError)
    on_reactor(gc.collect)
    log_capture.wait_for(tag + "-kept")
    assert not [m for m in log_capture.messages() if tag + "-consumed" in m]


def test_deferred_list_empty_and_bad_input():
    """An empty DeferredList fires with [] (not with fireOnOneCallback);
    anything but Deferreds in the list is a TypeError."""
    def chain():
        return (libcrochet.DeferredList([]).result,
                libcrochet.DeferredList([], fireOnOneCallback=True).called,
                type(_error_of(libcrochet.DeferredList, [1])))

    assert on_reactor(chain) == ([], False, TypeError)


def test_deferred_list_cancel():
    """Cancelling a DeferredList cancels each Deferred in it; the list then
    has their CancelledErrors. Cancelling it after it fired does nothing."""
    def chain():
        seen = []
        a = Deferred(lambda d: seen.append("a"))
        b = Deferred(lambda d: seen.append("b"))
        dl = libcrochet.DeferredList([a, b], consumeErrors=True)
        dl.cancel()
        kinds = [(ok, f.type) for ok, f in dl.result]
        done = libcrochet.DeferredList([libcrochet.succeed(1)])
        done.cancel()
        return seen, kinds, done.result

    seen, kinds, result = on_reactor(chain)
    assert seen == ["a", "b"]
    assert kinds == [(False, libcrochet.CancelledError)] * 2
    assert result == [(True, 1)]


def test_gather_results():
    """gatherResults: the list of values in order, or FirstError at the
    first failure; consumeErrors as DeferredList's; cancel cancels all."""
    def chain():
        a, b = Deferred(), Deferred()
        gathered = libcrochet.gatherResults([a, b])
        b.callback(2)
        a.callback(1)
        c, e = Deferred(), Deferred()
        failed = libcrochet.gatherResults([c, e], consumeErrors=True)
        e.errback(KeyError("e"))
        first = failed.result
        failed.addErrback(lambda _: None)
        x, y = Deferred(), Deferred()
        cancelled = libcrochet.gatherResults([x, y], consumeErrors=True)
        cancelled.cancel()
        cancelled_first = cancelled.result
        cancelled.addErrback(lambda _: None)
        return (gathered.result, first.type, first.value.index, first.value.subFailure.type,
                e.result, cancelled_first.value.subFailure.type, x.called, y.called)

    assert on_reactor(chain) == ([1, 2], libcrochet.FirstError, 1, KeyError, None,
                                 libcrochet.CancelledError, True, True)


def test_gather_results_through_run_in_reactor():
    """A function returning gatherResults gives the list (a Deferred fired
    later included); a failure gives the FirstError."""
    @libcrochet.run_in_reactor
    def gathered(fail):
        later = Deferred()
        libcrochet.call_later(0.01, later.callback, "later")
        ds = [libcrochet.succeed("now"), later]
        if fail:
            ds.append(libcrochet.fail(OSError("one failed")))
        return libcrochet.gatherResults(ds, consumeErrors=True)

    assert gathered(False).wait(LIMIT) == ["now", "later"]
    with pytest.raises(libcrochet.FirstError) as info:
        gathered(True).wait(LIMIT)
    assert info.value.index == 2 and info.value.subFailure.type is OSError


# ---------------------------------------------------------------------------
# The chain and the EventualResult
# ---------------------------------------------------------------------------

def test_run_in_reactor_gives_the_result_of_the_whole_chain():
    """A function returning a Deferred with callbacks added gives the result
    at the end of the chain, also when the Deferred fires later and a
    callback waits for another Deferred."""
    @libcrochet.run_in_reactor
    def chained():
        d = Deferred()
        d.addCallback(lambda r: r + 1)
        d.addCallback(lambda r: libcrochet.succeed(r * 10))

        def later(r):
            inner = Deferred()
            libcrochet.call_later(0.01, inner.callback, r + 2)
            return inner

        d.addCallback(later)
        libcrochet.call_later(0.01, d.callback, 1)
        return d

    assert chained().wait(LIMIT) == 22


def test_chain_failure_and_recovery_reach_the_result():
    """A chain that ends in a failure makes wait() raise that exception (the
    same object, with the callback's frame); one that recovers gives the
    errback's value."""
    exc = ZeroDivisionError("in the chain")

    def failing_step(_):
        raise exc

    @libcrochet.run_in_reactor
    def failing():
        return libcrochet.succeed(None).addCallback(failing_step)

    @libcrochet.run_in_reactor
    def recovering():
        return libcrochet.fail(exc).addErrback(lambda f: "recovered from %s" % f.type.__name__)

    result = failing()
    with pytest.raises(ZeroDivisionError) as info:
        result.wait(LIMIT)
    assert info.value is exc
    assert "in failing_step" in result.original_failure().getTraceback()
    assert recovering().wait(LIMIT) == "recovered from ZeroDivisionError"


def test_cancel_reaches_a_deferred_the_chain_waits_for():
    """EventualResult.cancel() of a function whose Deferred's chain waits
    for another Deferred cancels that one (its canceller runs); the result
    is cancelled."""
    cancelled = threading.Event()

    @libcrochet.run_in_reactor
    def waiting():
        inner = Deferred(lambda d: cancelled.set())
        return libcrochet.succeed(None).addCallback(lambda _: inner)

    result = waiting()
    sync()
    result.cancel()
    with pytest.raises(libcrochet.CancelledError):
        result.wait(LIMIT)
    assert cancelled.is_set()


def test_callbacks_added_after_returning_see_none():
    """As with crochet, the EventualResult takes the result at the point
    where the function returned the Deferred: callbacks added later get
    None."""
    seen = []

    def add_later(d):
        d.addCallback(seen.append)

    result, d = deferred_call()
    on_reactor(add_later, d)
    libcrochet.call_from_thread(d.callback, "value")
    assert result.wait(LIMIT) == "value"
    sync()
    assert seen == [None]


# ---------------------------------------------------------------------------
# Unhandled errors
# ---------------------------------------------------------------------------

def _unhandled(log_capture, tag):
    libcrochet._logging.flush()
    return [m for m in log_capture.messages() if "Unhandled error" in m and tag in m]


def test_unhandled_error_in_deferred_is_logged_once(log_capture):
    """A failure left at the end of a chain is logged once, as "Unhandled
    error in Deferred" with its traceback, when the Deferred is garbage
    collected (here in a reference cycle)."""
    tag = uuid.uuid4().hex

    def drop():
        def failing_here(_):
            raise ValueError(tag)

        d = libcrochet.succeed(None).addCallback(failing_here)
        d.cycle = d   # collected by gc, not by reference counting
        del d

    on_reactor(drop)
    assert _unhandled(log_capture, tag) == []
    on_reactor(gc.collect)
    record = log_capture.wait_for(tag)
    assert record.levelname == "ERROR"
    assert record.getMessage() == "Unhandled error in Deferred"
    assert isinstance(record.exc_info[1], ValueError) and record.exc_info[1].args == (tag,)
    assert "in failing_here" in log_capture.text(record)
    on_reactor(gc.collect)
    assert len(_unhandled(log_capture, tag)) == 1


def test_unhandled_failure_with_only_text_is_logged_with_it(log_capture):
    """A failure that has a traceback text but no traceback (a native
    failure forwarded from an EventualResult) is logged with that text."""
    tag = uuid.uuid4().hex

    def drop():
        text = "native frames of %s\n" % tag
        libcrochet.fail(Failure(libcrochet.CallFailed(-3, "m"), text, -3, "m", None))

    on_reactor(drop)
    on_reactor(gc.collect)
    record = log_capture.wait_for(tag)
    assert record.getMessage() == "Unhandled error in Deferred:\nnative frames of %s" % tag
    assert record.exc_info is None


def test_handled_errors_are_not_logged(log_capture):
    """A failure an errback handled, one awaited, and one handed to an
    EventualResult that was waited for, are not logged."""
    tag = uuid.uuid4().hex

    def drop():
        libcrochet.fail(KeyError(tag)).addErrback(lambda f: None)

        async def awaits(d):
            try:
                await d
            except KeyError:
                return "caught"

        d = Deferred()
        coro = libcrochet.ensureDeferred(awaits(d))
        d.errback(KeyError(tag))
        fired = libcrochet.fail(KeyError(tag))
        caught = libcrochet.ensureDeferred(awaits(fired))
        return coro.result, caught.result

    assert on_reactor(drop) == ("caught", "caught")

    @libcrochet.run_in_reactor
    def returns_failure():
        return libcrochet.fail(KeyError(tag))

    with pytest.raises(KeyError):
        returns_failure().wait(LIMIT)
    on_reactor(gc.collect)
    assert _unhandled(log_capture, tag) == []


def test_failure_handed_to_an_unobserved_result_is_logged_once(log_capture):
    """A failed chain handed to an EventualResult nobody looks at is logged
    once, by the EventualResult, not again by the Deferred."""
    tag = uuid.uuid4().hex

    @libcrochet.run_in_reactor
    def returns_failure():
        return libcrochet.fail(KeyError(tag))

    result = returns_failure()
    sync()
    del result
    on_reactor(gc.collect)
    record = log_capture.wait_for(tag)
    assert "Unhandled error in EventualResult" in record.getMessage()
    assert len(_unhandled(log_capture, tag)) == 1


# ---------------------------------------------------------------------------
# Against Twisted's own Deferred
# ---------------------------------------------------------------------------

def test_same_chains_as_twisteds_deferred():
    """1000 random chains (callbacks that compute, raise, recover, return
    fired, failed and pending Deferreds, Deferreds returned by another's
    callback, firings interleaved with additions) run the same callbacks
    with the same results on this Deferred as on Twisted's (in a child
    process: the test process never imports Twisted)."""
    pytest.importorskip("twisted")
    done = run_python('''
        import random
        import libcrochet
        libcrochet.setup()
        from twisted.internet import defer
        from twisted.python.failure import Failure as TwistedFailure

        def scenario(seed, make, succeed, fail, is_failure):
            rnd = random.Random(seed)
            log, pending = [], []
            ds = [make() for _ in range(3)]
            for i in range(rnd.randint(1, 8)):
                target = rnd.choice(ds)
                kind = rnd.choice("cebx")
                action = rnd.choice(["inc", "raise", "fired", "pending", "failed", "recover"])

                def f(r, action=action, i=i):
                    log.append((i, "F" if is_failure(r) else r))
                    if action == "inc":
                        return r + 1 if isinstance(r, int) else 0
                    if action == "raise":
                        raise KeyError(i)
                    if action == "fired":
                        return succeed(100 + i)
                    if action == "failed":
                        return fail(KeyError(i))
                    if action == "recover":
                        return 7
                    p = make()
                    pending.append(p)
                    return p

                if kind == "c":
                    target.addCallback(f)
                elif kind == "e":
                    target.addErrback(f)
                elif kind == "b":
                    target.addBoth(f)
                else:
                    other = rnd.choice(ds)
                    if other is not target:
                        target.addCallback(lambda r, o=other: o)
                if rnd.random() < 0.3:
                    d = rnd.choice(ds)
                    if not d.called:
                        d.callback(i) if rnd.random() < 0.6 else d.errback(KeyError("e%d" % i))
            for d in ds:
                if not d.called:
                    d.callback(50)
            for k in range(20):
                if not pending:
                    break
                p = pending.pop(0)
                if not p.called:
                    p.callback(200 + k)
            out = []
            for d in ds:
                r = getattr(d, "result", None)
                out.append(("F", r.value.args) if is_failure(r) else ("paused",) if d.paused
                           else r)
                d.addErrback(lambda f: None)
            return log, out

        @libcrochet.wait_for(60)
        def ours(seeds):
            return [scenario(s, libcrochet.Deferred, libcrochet.succeed, libcrochet.fail,
                             lambda r: isinstance(r, libcrochet.Failure)) for s in seeds]

        seeds = range(1000)
        theirs = [scenario(s, defer.Deferred, defer.succeed, defer.fail,
                           lambda r: isinstance(r, TwistedFailure)) for s in seeds]
        mine = ours(seeds)
        differ = [s for s in seeds if theirs[s] != mine[s]]
        assert not differ, (differ[:5], theirs[differ[0]], mine[differ[0]])
        print("OK", sum(len(log) for log, _ in mine))
    ''', timeout=120)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert done.stdout.startswith("OK "), out
    assert int(done.stdout.split()[1]) > 2000, out   # callbacks did run
    assert "Unhandled" not in done.stderr, out
