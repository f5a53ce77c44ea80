"""The engine owns what a call holds (0.2: destroy): 100,000 calls cancelled
before they start, rejected at stop, or completed leave no Python object
behind. Counted three ways: live instances of a sentinel type (one per
call, as an argument or the value), the reference count of one object
passed to every call, and the binding's cells held for the engine."""

import gc
import json
import sys
import time
import weakref

import libcrochet
from libcrochet import _held
from helpers import LIMIT, Blocker, run_python, sync

N = 100_000
live = weakref.WeakSet()


class Sentinel:
    def __init__(self):
        live.add(self)


def settled(marker, base, held, timeout=LIMIT):
    """(live sentinels, marker references over base, cells over held), once
    all three are 0 or the timeout passed."""
    deadline = time.monotonic() + timeout
    while True:
        gc.collect()
        # (- 1: this frame's own reference, which base did not count)
        counts = (len(live), sys.getrefcount(marker) - 1 - base, _held.count() - held)
        if counts == (0, 0, 0) or time.monotonic() > deadline:
            return counts
        time.sleep(0.01)


def test_cancelled_before_start_leave_nothing():
    """100,000 calls cancelled while queued never run, and everything they
    held goes (the engine destroys their ctx)."""
    marker = object()
    base, held = sys.getrefcount(marker), _held.count()
    ran = []

    @libcrochet.run_in_reactor
    def call(m, s):
        ran.append(s)

    with Blocker():
        for _ in range(N):
            result = call(marker, Sentinel())
            result.cancel()
        assert len(live) == N   # queued: the engine holds them
        del result
    sync()
    assert settled(marker, base, held) == (0, 0, 0)
    assert ran == []


def test_completed_leave_nothing():
    """100,000 calls that returned a value, raised, or returned a Deferred
    fired with a value or an exception: once their results are gone, nothing
    of them is left (values were owned by the engine's results)."""
    marker = object()
    base, held = sys.getrefcount(marker), _held.count()

    @libcrochet.run_in_reactor
    def call(m, s, how):
        if how == 0:
            return s
        if how == 1:
            raise ValueError(s)
        d = libcrochet.Deferred()
        if how == 2:
            d.callback(s)
        else:
            d.errback(KeyError(s))
        return d

    for start in range(0, N, 10_000):
        results = [(call(marker, Sentinel(), i % 4), i % 4) for i in range(start, start + 10_000)]
        for result, how in results:
            if how in (0, 2):
                assert isinstance(result.wait(LIMIT), Sentinel)
            else:
                try:
                    result.wait(LIMIT)
                except (ValueError, KeyError) as e:
                    assert isinstance(e.args[0], Sentinel)
                else:
                    raise AssertionError("no exception")
        del results, result
    assert settled(marker, base, held) == (0, 0, 0)


def test_rejected_at_stop_leave_nothing():
    """100,000 calls still queued when the reactor stops are rejected
    (ReactorStopped), and everything they held goes."""
    done = run_python("""
        import gc, json, sys, threading, time, weakref
        import libcrochet
        from libcrochet import _held
        libcrochet.setup()
        live = weakref.WeakSet()

        class Sentinel:
            def __init__(self):
                live.add(self)

        libcrochet.wait_for(10)(lambda: None)()   # setup's own first call has run
        marker = object()
        base, held = sys.getrefcount(marker), _held.count()
        started, release = threading.Event(), threading.Event()

        @libcrochet.run_in_reactor
        def block():
            started.set()
            release.wait(30)

        @libcrochet.run_in_reactor
        def call(m, s):
            raise AssertionError("ran after stop")

        blocker = block()
        assert started.wait(10)
        results = [call(marker, Sentinel()) for _ in range(%d)]
        queued = len(live)
        libcrochet.stop()
        release.set()
        stopped = 0
        for r in results:
            try:
                r.wait(30)
            except libcrochet.ReactorStopped:
                stopped += 1
        del results, r, blocker
        deadline = time.monotonic() + 30
        while True:
            gc.collect()
            counts = [len(live), sys.getrefcount(marker) - base, _held.count() - held]
            if counts == [0, 0, 0] or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        print(json.dumps({"queued": queued, "stopped": stopped, "left": counts}))
    """ % N, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"queued": N, "stopped": N, "left": [0, 0, 0]}, report
