"""Operability: EventualResult.info(), the diagnosis in TimeoutError (from
wait() and wait_for), stats(), the stall warning, the bounds on queued calls
(TryAgain) and on the result store (size and age), and the interned names of
Python calls. Times come from the library's coarse clock (a few ms): the
tests compare against tens of milliseconds."""

import functools
import gc
import logging
import math
import os
import threading
import time
import weakref

import pytest

import libcrochet
from libcrochet import _calls, _foreign, _held, _native, _operability
from libcrochet._status import error_for_status
from helpers import LIMIT, Blocker, deferred_call, run_python, sync

MODULE = __name__   # how this module's functions are named


@pytest.fixture
def debug_records(log_capture):
    """log_capture with the "libcrochet" logger letting DEBUG through."""
    logger = libcrochet._logging.logger
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        yield log_capture
    finally:
        logger.setLevel(level)


@pytest.fixture
def bounded_queue():
    """set_max_queued(n) for the test, unbounded afterwards."""
    try:
        yield libcrochet.set_max_queued
    finally:
        libcrochet.set_max_queued(0)


@pytest.fixture
def stash_limit():
    try:
        yield libcrochet.set_stash_limit
    finally:
        libcrochet.set_stash_limit(0, 0)


@pytest.fixture
def stall_warning():
    try:
        yield libcrochet.set_stall_warning
    finally:
        libcrochet.set_stall_warning(1.0)


def count_records(capture, needle):
    return sum(needle in m for m in capture.messages())


@libcrochet.run_in_reactor
def add(a, b):
    return a + b


# ---------------------------------------------------------------------------
# info()
# ---------------------------------------------------------------------------

def test_info_of_a_call_blocking_the_reactor_and_one_queued_behind_it():
    """The blocking call is running, with a growing running time; a call
    behind it is queued, with a growing queued time; both are named by their
    module.__qualname__; once over both are done and keep their times."""
    with Blocker() as blocker:
        behind = add(1, 2)
        time.sleep(0.06)
        b, q = blocker.result.info(), behind.info()
        assert b.state == "running"
        assert b.running_seconds >= 0.04
        assert b.function == "helpers.Blocker.__enter__.<locals>.block"
        assert q.state == "queued"
        assert q.queued_seconds >= 0.04
        assert q.running_seconds == 0
        assert q.function == MODULE + ".add"
        assert str(q).startswith("`%s.add` has not started: queued for " % MODULE)
        assert str(q).endswith(" behind other work on the reactor thread")
        assert "has been running for" in str(b) and "on the reactor thread (queued" in str(b)
    assert behind.wait(LIMIT) == 3
    q = behind.info()
    assert q.state == "done"
    assert q.queued_seconds >= 0.04   # kept once done
    assert blocker.result.info().state == "done"
    assert blocker.result.info().running_seconds >= 0.04
    assert str(q).startswith("`%s.add` is done (queued " % MODULE)
    assert isinstance(q, libcrochet.ResultInfo)
    assert "done" in repr(q)


def test_info_of_a_deferred_that_never_fires():
    """A call that returned a Deferred that has not fired is waiting."""
    result, d = deferred_call()
    time.sleep(0.05)
    info = result.info()
    assert info.state == "waiting"
    assert info.running_seconds >= 0.03
    assert info.function == "helpers._deferred_call"
    assert "returned a deferred that has not fired for" in str(info)
    libcrochet.call_from_thread(d.callback, 1)
    assert result.wait(LIMIT) == 1
    assert result.info().state == "done"


def test_info_of_a_native_call(native):
    """A ctypes foreign function is named by its symbol (dladdr)."""
    result = libcrochet.run_in_reactor(native.add_i32)(2, 3)
    assert result.wait(LIMIT) == 5
    assert result.info().function == "add_i32"
    assert result.info().state == "done"


def test_format_seconds():
    f = _operability.format_seconds
    assert f(2.0) == "2.00 s"
    assert f(1.234) == "1.23 s"
    assert f(0.035) == "35 ms"
    assert f(0.003) == "less than 4 ms"
    assert f(0) == "less than 4 ms"


# ---------------------------------------------------------------------------
# TimeoutError carries the diagnosis
# ---------------------------------------------------------------------------

def test_wait_timeout_says_the_call_is_running_and_does_not_log(log_capture):
    """wait()'s TimeoutError names the blocking call and says it is running
    on the reactor thread; wait() logs nothing (the caller may retry)."""
    with Blocker() as blocker:
        with pytest.raises(libcrochet.TimeoutError) as e:
            blocker.result.wait(0.05)
        message = str(e.value)
        assert message.startswith("no result within 0.05 seconds: "
                                  "`helpers.Blocker.__enter__.<locals>.block` has been running for ")
        assert "on the reactor thread (queued " in message
        assert e.value.info.state == "running"
    assert libcrochet._logging.flush(5.0)
    assert count_records(log_capture, "timed out") == 0


def test_wait_timeout_says_a_deferred_has_not_fired():
    result, d = deferred_call()
    with pytest.raises(libcrochet.TimeoutError) as e:
        result.wait(0.05)
    assert "`helpers._deferred_call` returned a deferred that has not fired for " in str(e.value)
    assert e.value.info.state == "waiting"
    libcrochet.call_from_thread(d.callback, None)
    assert result.wait(LIMIT) is None


def test_wait_for_timeout_on_a_deferred_that_never_fires(log_capture):
    """wait_for's TimeoutError says the function returned a Deferred that has
    not fired, and one WARNING with the same words is logged; the call is
    cancelled."""
    cancelled = []

    @libcrochet.wait_for(timeout=0.05)
    def fetch_page():
        return libcrochet.Deferred(lambda d: cancelled.append(True))

    with pytest.raises(libcrochet.TimeoutError) as e:
        fetch_page()
    name = MODULE + ".test_wait_for_timeout_on_a_deferred_that_never_fires.<locals>.fetch_page"
    expected = ("wait_for(%s, 0.05 s) timed out: `%s` returned a deferred that has not fired for "
                % (name, name))
    assert str(e.value).startswith(expected)
    assert e.value.info.state == "waiting"
    assert e.value.__cause__ is None and e.value.__suppress_context__
    assert libcrochet._logging.flush(5.0)
    warnings = [r for r in log_capture.records if r.getMessage().startswith(expected)]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    sync()
    assert cancelled == [True]


def test_wait_for_timeout_queued_and_running(log_capture):
    """wait_for's diagnosis when the call never started (queued behind a
    blocking call), and when it is the blocking call."""
    release = threading.Event()

    @libcrochet.wait_for(timeout=0.05)
    def quick():
        return 1

    @libcrochet.wait_for(timeout=0.1)
    def slow():
        release.wait(LIMIT)

    with Blocker():
        with pytest.raises(libcrochet.TimeoutError) as e:
            quick()
        assert "has not started: queued for " in str(e.value)
        assert e.value.info.state == "queued"
    threading.Timer(0.5, release.set).start()
    with pytest.raises(libcrochet.TimeoutError) as e:
        slow()
    assert "test_wait_for_timeout_queued_and_running.<locals>.slow` has been running for " \
        in str(e.value)
    assert e.value.info.state == "running"
    sync()
    assert libcrochet._logging.flush(5.0)
    assert count_records(log_capture, "<locals>.quick` has not started: queued for") == 1
    assert count_records(log_capture, "<locals>.slow` has been running for") == 1


def test_wait_for_timeout_on_a_native_function(native, pipe, log_capture):
    """A native function blocked on the reactor thread is named by its symbol."""
    r, w = pipe
    block = libcrochet.wait_for(timeout=0.05)(native.block_on)
    with pytest.raises(libcrochet.TimeoutError) as e:
        block(r)
    assert str(e.value).startswith("wait_for(block_on, 0.05 s) timed out: `block_on` has been "
                                   "running for ")
    os.write(w, b"x")
    sync()


# ---------------------------------------------------------------------------
# Names: crochet_submit_closure_named, interned once
# ---------------------------------------------------------------------------

class Callable:
    def __call__(self):
        return "called"

    def method(self):
        return "method"


def plain():
    return "plain"


def test_names_of_callables():
    dn = _operability.display_name
    assert dn(plain) == MODULE + ".plain"
    assert dn(Callable().method) == MODULE + ".Callable.method"
    assert dn(Callable()) == MODULE + ".Callable"
    assert dn(functools.partial(plain)) == MODULE + ".plain"
    assert dn(len) == "len"
    assert libcrochet.run_in_reactor(Callable())().wait(LIMIT) == "called"
    result = libcrochet.run_in_reactor(Callable().method)()
    assert result.wait(LIMIT) == "method"
    assert result.info().function == MODULE + ".Callable.method"


def test_names_are_interned_once():
    """A decorated function's name is interned when it is decorated: calls
    add nothing to the table and pass the very same bytes object."""
    seen = []
    real = _native.lib.crochet_submit_closure_named

    @libcrochet.run_in_reactor
    def named_once():
        return None

    before = len(_operability._interned)
    names = set()

    def spy(*args):
        names.add(id(args[-1]))
        seen.append(args[-1])
        return real(*args)

    _calls.lib = type("Spy", (), {"crochet_submit_closure_named": staticmethod(spy),
                                  "__getattr__": lambda self, n: getattr(_native.lib, n)})()
    try:
        results = [named_once() for _ in range(100)]
    finally:
        _calls.lib = _native.lib
    for r in results:
        r.wait(LIMIT)
    assert len(_operability._interned) == before
    assert len(names) == 1 and seen[0] == (MODULE + ".test_names_are_interned_once.<locals>."
                                           "named_once").encode()
    assert _operability.intern_name("x.y") is _operability.intern_name("x" + ".y")


# ---------------------------------------------------------------------------
# stats()
# ---------------------------------------------------------------------------

def _await_counts(s, ok):
    """s, or later stats(), until ok(stats) or LIMIT: the library publishes
    its counts once a loop turn."""
    deadline = time.monotonic() + LIMIT
    while not ok(s) and time.monotonic() < deadline:
        time.sleep(0.005)
        s = libcrochet.stats()
    return s


def test_stats_follow_a_scripted_workload():
    """Each counter moves as the workload says."""
    sync()
    libcrochet.stats()   # a new window for the maxima
    before = libcrochet.stats()
    assert isinstance(before, libcrochet.Stats)
    assert set(before._fields) == {
        "calls_submitted", "calls_completed", "queued", "waiting", "timers", "readers",
        "writers", "workers", "workers_busy", "worker_queue", "stashed",
        "max_queue_delay_seconds", "max_callback_seconds"}
    with Blocker() as blocker:
        behind = [add(i, 1) for i in range(5)]
        time.sleep(0.06)
        s = libcrochet.stats()
        assert s.calls_submitted - before.calls_submitted == 6
        assert s.queued == 5
    for r in behind:
        r.wait(LIMIT)
    result, d = deferred_call()              # (its call, and sync's)
    delayed = libcrochet.call_later(60, lambda: None)
    stashed_id = behind[0].stash()
    sync()                                   # the callbacks before it have returned
    s = libcrochet.stats()
    assert s.max_callback_seconds >= 0.04     # the blocking call
    assert s.max_queue_delay_seconds >= 0.04  # the calls behind it
    # The counts are published once a loop turn: awaited after the maxima
    # are checked (a stats() call starts a new window), as in the C++ and
    # Swift tests.
    s = _await_counts(s, lambda s: (
        s.queued == 0 and s.calls_submitted - before.calls_submitted == 6 + 3
        and s.calls_completed - before.calls_completed == 6 + 2 and s.waiting - before.waiting == 1
        and s.timers - before.timers == 1 and s.stashed - before.stashed == 1))
    assert s.queued == 0
    assert s.calls_submitted - before.calls_submitted == 6 + 3   # the call, two syncs
    assert s.calls_completed - before.calls_completed == 6 + 2   # its result not yet
    assert s.waiting - before.waiting == 1
    assert s.timers - before.timers == 1
    assert s.stashed - before.stashed == 1
    libcrochet.call_from_thread(d.callback, 7)
    delayed.cancel()
    assert libcrochet.retrieve_result(stashed_id) is behind[0]
    assert result.wait(LIMIT) == 7
    sync()
    s = libcrochet.stats()                    # a new window
    assert s.max_callback_seconds < 0.04
    s = _await_counts(s, lambda s: (
        (s.waiting, s.timers, s.stashed, s.calls_completed)
        == (before.waiting, before.timers, before.stashed, before.calls_completed + 6 + 2 + 2)))
    assert s.waiting == before.waiting
    assert s.timers == before.timers
    assert s.stashed == before.stashed
    assert s.calls_completed - before.calls_completed == 6 + 2 + 2
    assert blocker.result.wait(LIMIT) is True


def test_stats_before_setup():
    done = run_python("""
        import libcrochet
        try:
            libcrochet.stats()
        except RuntimeError as e:
            print("RuntimeError", e)
    """)
    assert done.returncode == 0, done.stderr
    assert "RuntimeError stats(): libcrochet is not set up" in done.stdout


# ---------------------------------------------------------------------------
# The stall warning
# ---------------------------------------------------------------------------

def test_stall_warning_once_per_stall(debug_records, stall_warning):
    """A call holding the reactor longer than the threshold gets one WARNING
    naming it, with the calls queued behind it, and a DEBUG record when the
    loop is free again."""
    stall_warning(0.1)
    with Blocker():
        behind = [add(i, i) for i in range(3)]
        debug_records.wait_for("the reactor thread is stalled")
        time.sleep(0.4)   # more looks by the watchdog: still one warning
    for r in behind:
        r.wait(LIMIT)
    debug_records.wait_for("the reactor is free again")
    assert libcrochet._logging.flush(5.0)
    stalled = [r for r in debug_records.records if "stalled" in r.getMessage()]
    assert len(stalled) == 1
    assert stalled[0].levelno == logging.WARNING
    assert stalled[0].getMessage().startswith(
        "the reactor thread is stalled: `helpers.Blocker.__enter__.<locals>.block` has been "
        "running for ")
    assert "3 calls are queued behind it" in stalled[0].getMessage()
    free = [r for r in debug_records.records if "free again" in r.getMessage()]
    assert len(free) == 1 and free[0].levelno == logging.DEBUG


def test_stall_warning_off(log_capture, stall_warning):
    stall_warning(0)
    with Blocker():
        time.sleep(0.3)
    assert libcrochet._logging.flush(5.0)
    assert count_records(log_capture, "stalled") == 0


@pytest.mark.parametrize("bad,error", [(-1, ValueError), (math.nan, ValueError),
                                       (math.inf, ValueError), ("1", TypeError),
                                       (None, TypeError), (True, TypeError)])
def test_stall_warning_bad_values(bad, error):
    with pytest.raises(error):
        libcrochet.set_stall_warning(bad)


# ---------------------------------------------------------------------------
# TryAgain: the bound on queued calls
# ---------------------------------------------------------------------------

def test_try_again_is_the_mapping_of_eagain():
    e = error_for_status(_native.EAGAIN, "f()")
    assert isinstance(e, libcrochet.TryAgain) and isinstance(e, libcrochet.CrochetError)
    assert str(e).startswith("f(): ")


class Arg:
    pass


def test_max_queued_try_again_and_nothing_leaked(bounded_queue, native):
    """At the bound, run_in_reactor, wait_for, call_from_thread and native
    calls raise TryAgain, queue nothing and keep nothing (the engine
    destroyed what it was given, the arguments are gone); once the queue
    drains, calls work again."""
    ran = []

    @libcrochet.run_in_reactor
    def record(arg):
        ran.append(arg)

    @libcrochet.wait_for(timeout=LIMIT)
    def waited(arg):
        ran.append(arg)

    with Blocker():
        bounded_queue(3)
        queued = [add(i, 1) for i in range(3)]
        held = _held.count()
        arg = Arg()
        gone = weakref.ref(arg)
        with pytest.raises(libcrochet.TryAgain):
            record(arg)
        with pytest.raises(libcrochet.TryAgain):
            waited(arg)
        with pytest.raises(libcrochet.TryAgain):
            libcrochet.call_from_thread(ran.append, arg)
        with pytest.raises(libcrochet.TryAgain):
            libcrochet.run_in_reactor(native.add_i32)(1, 2)
        assert _held.count() == held
        assert libcrochet.stats().queued == 3
        del arg
        gc.collect()
        assert gone() is None
    assert [r.wait(LIMIT) for r in queued] == [1, 2, 3]
    assert record("after").wait(LIMIT) is None
    assert ran == ["after"]
    bounded_queue(0)
    sync()
    assert libcrochet.stats().queued == 0


def test_max_queued_native_call_with_pointer_arguments_at_the_last_place(bounded_queue, native):
    """A native call with pointer arguments that takes the last place keeps
    what they point into without waiting (its keep-alive no-op is refused)."""
    length = libcrochet.run_in_reactor(native.length)
    with Blocker():
        bounded_queue(1)
        t0 = time.monotonic()
        result = length(b"four")
        assert time.monotonic() - t0 < 1.0
        assert len(_foreign._kept_past_bound) == 1
        with pytest.raises(libcrochet.TryAgain):
            length(b"xx")
    assert result.wait(LIMIT) == 4
    bounded_queue(0)
    assert length(b"abc").wait(LIMIT) == 3   # looks at the kept ones: done
    assert _foreign._kept_past_bound == []


@pytest.mark.parametrize("bad,error", [(-1, ValueError), (1.5, TypeError), ("2", TypeError),
                                       (2 ** 64, OverflowError)])
def test_max_queued_bad_values(bad, error):
    with pytest.raises(error):
        libcrochet.set_max_queued(bad)


def test_max_queued_many_rejections_leak_nothing(bounded_queue):
    """10,000 rejected calls keep nothing alive."""
    live = weakref.WeakSet()

    @libcrochet.run_in_reactor
    def call(a):
        pass

    with Blocker():
        bounded_queue(1)
        first = call(Arg())
        held = _held.count()
        for _ in range(10_000):
            a = Arg()
            live.add(a)
            with pytest.raises(libcrochet.TryAgain):
                call(a)
        del a
        gc.collect()
        assert len(live) == 0
        assert _held.count() == held
    assert first.wait(LIMIT) is None


# ---------------------------------------------------------------------------
# The stash's bounds
# ---------------------------------------------------------------------------

def test_stash_size_bound(stash_limit):
    result = add(1, 1)
    assert result.wait(LIMIT) == 2
    stash_limit(2, 0)
    before = libcrochet.stats().stashed
    held = []
    try:
        while libcrochet.stats().stashed < 2:   # (the store may hold others' already)
            held.append(result.stash())
        with pytest.raises(libcrochet.TryAgain):
            result.stash()
        if held:
            libcrochet.retrieve_result(held.pop())
            held.append(result.stash())        # room again
    finally:
        stash_limit(0, 0)
        for i in held:
            libcrochet.retrieve_result(i)
    assert libcrochet.stats().stashed == before


def test_stash_age_bound(stash_limit, log_capture):
    """A result stashed longer than the age bound is dropped with a WARNING;
    its failure nobody looked at is logged; retrieve_result is KeyError."""
    @libcrochet.run_in_reactor
    def fails():
        raise ValueError("expired-failure")

    ok, bad = add(2, 2), fails()
    assert ok.wait(LIMIT) == 4
    with pytest.raises(ValueError):
        bad.wait(LIMIT)          # (observed here; the C result below is not)
    stash_limit(0, 0.2)
    ok_id = ok.stash()
    unobserved = fails()
    sync()
    unobserved_id = unobserved.stash()
    del unobserved               # only the store holds it now
    gc.collect()
    log_capture.wait_for("was not retrieved within the stash's age bound")
    log_capture.wait_for("expired-failure")
    with pytest.raises(KeyError):
        libcrochet.retrieve_result(ok_id)
    with pytest.raises(KeyError):
        libcrochet.retrieve_result(unobserved_id)
    unhandled = [m for m in log_capture.messages()
                 if "Unhandled error in EventualResult" in m and "expired-failure" in m]
    assert len(unhandled) == 1   # the unobserved one; the observed one is not logged
    record = log_capture.wait_for("was not retrieved within the stash's age bound")
    assert record.levelno == logging.WARNING


@pytest.mark.parametrize("args,error", [((-1, 0), ValueError), ((1, -1), ValueError),
                                        ((1, math.nan), ValueError), (("1", 0), TypeError),
                                        ((1, "0"), TypeError)])
def test_stash_limit_bad_values(args, error):
    with pytest.raises(error):
        libcrochet.set_stash_limit(*args)
