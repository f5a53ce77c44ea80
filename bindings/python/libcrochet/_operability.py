"""Operability: where a call is (EventualResult.info(), the diagnosis a
TimeoutError carries), the library's counters (stats()), the stall warning
and the bounds on queued calls and on the result store; and the names that
Python calls are known by (crochet_submit_closure_named).

Names: the engine keeps the `const char *` it is given for the life of the
process and never copies it, so each distinct name is interned once, as
bytes, in a dict that is never emptied; a decorated function's name is
looked up once, when it is decorated, so a call costs nothing for it.
"""

from __future__ import annotations

import ctypes
import functools
import math
import numbers
import threading
from typing import Any, Dict, NamedTuple, Optional
from ctypes import POINTER, Structure, c_char_p, c_double, c_int, c_size_t, c_uint64, c_void_p

from . import _native
from ._args import seconds
from ._native import lib
from ._status import check

# crochet_call_state, as the strings info().state gives.
STATES = ("queued", "running", "waiting", "done")


class _ResultInfo(Structure):
    """crochet_result_info."""
    _fields_ = [("size", c_size_t), ("state", c_int), ("queued_seconds", c_double),
                ("running_seconds", c_double), ("function", c_char_p)]


_STATS_FIELDS = ("calls_submitted", "calls_completed", "queued", "waiting", "timers", "readers",
                 "writers", "workers", "workers_busy", "worker_queue", "stashed")


class _Stats(Structure):
    """crochet_stats."""
    _fields_ = ([("size", c_size_t)] + [(f, c_uint64) for f in _STATS_FIELDS]
                + [("max_queue_delay_seconds", c_double), ("max_callback_seconds", c_double)])


def _declare() -> None:
    def fn(name: str, restype: Any, *argtypes: Any) -> None:
        f = getattr(lib, name)
        f.restype = restype
        f.argtypes = list(argtypes)

    fn("crochet_result_get_info", c_int, c_void_p, POINTER(_ResultInfo))
    fn("crochet_submit_closure_named", c_int, POINTER(c_void_p), c_void_p, c_void_p,
       _native.CTX_FN, c_char_p)
    fn("crochet_get_stats", c_int, POINTER(_Stats))
    fn("crochet_set_stall_warning", c_int, c_double)
    fn("crochet_set_max_queued", c_int, c_size_t)
    fn("crochet_set_stash_limit", c_int, c_size_t, c_double)


_declare()

# -- names -------------------------------------------------------------------

_interned: Dict[str, bytes] = {}   # name -> its bytes, for the life of the process (the engine keeps the pointer)
_intern_lock = threading.Lock()


def intern_name(name: str) -> bytes:
    """The process-lifetime bytes for name (a str), made once per distinct
    name: what crochet_submit_closure_named is given."""
    b = _interned.get(name)
    if b is None:
        with _intern_lock:
            b = _interned.get(name)
            if b is None:
                b = _interned[name] = name.replace("\0", "\\0").encode("utf-8", "replace")
    return b


def display_name(function: Any) -> str:
    """How a Python callable is named in diagnostics: module.__qualname__
    (a functools.partial by the function it wraps, a callable object by its
    class)."""
    while isinstance(function, functools.partial):
        function = function.func
    qualname = getattr(function, "__qualname__", None)
    if not isinstance(qualname, str):
        qualname = getattr(function, "__name__", None)
        if not isinstance(qualname, str):
            function = type(function)
            qualname = function.__qualname__
    module = getattr(function, "__module__", None)
    if isinstance(module, str) and module not in ("builtins", "__main__"):
        return "%s.%s" % (module, qualname)
    return qualname


def name_of(function: Any) -> bytes:
    """The interned name of a Python callable (see display_name)."""
    return intern_name(display_name(function))


# -- per-result facts ----------------------------------------------------------

def format_seconds(s: float) -> str:
    """Seconds as people read them, at the coarse clock's resolution:
    "2.00 s", "35 ms", "less than 4 ms" (as the library says them)."""
    if s >= 1:
        return "%.2f s" % s
    ms = int(s * 1000)
    return "less than 4 ms" if ms < 4 else "%d ms" % ms


class ResultInfo:
    """Where a call is, as EventualResult.info() gives it.

    state: "queued" (submitted, not started), "running" (its function runs on
    the reactor thread), "waiting" (it returned a Deferred that has not
    fired) or "done"; queued_seconds: submit to start (so far, while queued);
    running_seconds: start to done (so far, while running or waiting);
    function: what it runs (a Python callable's module.__qualname__, a native
    function's symbol). Times come from a coarse clock (a few ms).
    str(info) is the diagnosis a TimeoutError carries."""

    __slots__ = ("state", "queued_seconds", "running_seconds", "function")

    def __init__(self, state: str, queued_seconds: float, running_seconds: float,
                 function: str) -> None:
        self.state = state
        self.queued_seconds = queued_seconds
        self.running_seconds = running_seconds
        self.function = function

    @property
    def diagnosis(self) -> str:
        what = "`%s`" % self.function
        q, r = format_seconds(self.queued_seconds), format_seconds(self.running_seconds)
        if self.state == "queued":
            return "%s has not started: queued for %s behind other work on the reactor thread" % (what, q)
        if self.state == "running":
            return "%s has been running for %s on the reactor thread (queued %s)" % (what, r, q)
        if self.state == "waiting":
            return "%s returned a deferred that has not fired for %s (queued %s)" % (what, r, q)
        return "%s is done (queued %s, ran %s)" % (what, q, r)

    def __str__(self) -> str:
        return self.diagnosis

    def __repr__(self) -> str:
        return ("<libcrochet.ResultInfo %s %r queued=%.3f running=%.3f>"
                % (self.state, self.function, self.queued_seconds, self.running_seconds))


def result_info(handle: Optional[int]) -> ResultInfo:
    """The ResultInfo of the engine's result `handle` (crochet_result_get_info)."""
    info = _ResultInfo()
    info.size = ctypes.sizeof(_ResultInfo)
    check(lib.crochet_result_get_info(handle, ctypes.byref(info)), "EventualResult.info()")
    state = STATES[info.state] if 0 <= info.state < len(STATES) else "state %d" % info.state
    function = (info.function or b"").decode("utf-8", "replace")
    return ResultInfo(state, info.queued_seconds, info.running_seconds, function)


# -- stats -----------------------------------------------------------------------

class Stats(NamedTuple):
    """The library's counters (crochet_get_stats), cheap enough to read every
    second: calls_submitted, calls_completed (with a value, a failure,
    cancelled or stopped), queued (calls not yet started), waiting (results
    following a Deferred), timers, readers, writers, workers, workers_busy,
    worker_queue, stashed; max_queue_delay_seconds and max_callback_seconds
    are the longest submit-to-start delay and the longest single callback on
    the reactor thread since the previous stats() call."""

    calls_submitted: int
    calls_completed: int
    queued: int
    waiting: int
    timers: int
    readers: int
    writers: int
    workers: int
    workers_busy: int
    worker_queue: int
    stashed: int
    max_queue_delay_seconds: float
    max_callback_seconds: float


def stats() -> Stats:
    """The library's counters now, as a Stats named tuple (crochet_get_stats).
    RuntimeError before setup() / no_setup()."""
    s = _Stats()
    s.size = ctypes.sizeof(_Stats)
    check(lib.crochet_get_stats(ctypes.byref(s)), "stats()")
    return Stats(*(getattr(s, f) for f in Stats._fields))


# -- settings --------------------------------------------------------------------

def set_stall_warning(seconds_: float) -> None:
    """Warns (one WARNING on the "libcrochet" logger, from a thread other than
    the reactor's) when one callback on the reactor thread has run longer than
    `seconds`, naming it, how long so far and how many calls are queued
    behind it; a DEBUG record says when the loop is free again. 0 turns it
    off; the default is 1 s. Any thread."""
    t = seconds(seconds_, "stall warning", allow_none=False)
    if math.isinf(t):
        raise ValueError("stall warning must be finite (0 turns it off)")
    check(lib.crochet_set_stall_warning(t), "set_stall_warning()")


def _count(n: Optional[int], what: str) -> int:
    if n is None:
        return 0
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError("%s must be an integer, not %s" % (what, type(n).__name__))
    if n < 0:
        raise ValueError("%s must be 0 (no bound) or more, not %d" % (what, n))
    if n >= 2 ** (8 * ctypes.sizeof(c_size_t)):
        raise OverflowError("%s is too large: %d" % (what, n))
    return int(n)


def set_max_queued(n: Optional[int]) -> None:
    """With n > 0, calls (run_in_reactor, wait_for, call_from_thread, native
    functions) raise TryAgain while n calls are queued (submitted, not
    started): nothing is queued then. 0 or None: no bound (the default).
    Any thread."""
    check(lib.crochet_set_max_queued(_count(n, "max_queued")), "set_max_queued()")


def set_stash_limit(max_results: Optional[int] = 0,
                    max_age_seconds: Optional[float] = 0) -> None:
    """Bounds the result store: with max_results > 0, stash() raises TryAgain
    while the store holds that many; with max_age_seconds > 0, a result
    stashed longer is dropped with a WARNING (its failure, if nobody looked
    at it, is logged as usual) and retrieve_result() of its id is KeyError
    (checked about once a second). 0 (or None): no bound (the default)."""
    age = seconds(max_age_seconds, "max_age_seconds", allow_none=True)
    if math.isinf(age):
        age = 0.0
    check(lib.crochet_set_stash_limit(_count(max_results, "max_results"), age),
          "set_stash_limit()")
