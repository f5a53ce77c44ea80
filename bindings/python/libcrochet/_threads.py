"""defer_to_thread: a blocking Python function on the library's worker
pool (crochet_defer_to_thread_closure), its outcome back on the reactor
thread as a Deferred.

The work (function, arguments, and then its outcome) is the closure's ctx.
A worker runs the function and keeps the value or the exception in the
work, returning nothing to the engine; the engine then calls destroy(ctx)
on the reactor thread (after the function returned, or when the work was
cancelled before a worker took it, or dropped at stop), and that is where
the Deferred fires. The crochet_deferred the engine returns is kept only to
cancel the work.
"""

from __future__ import annotations

import ctypes
from ctypes import POINTER, c_int, c_void_p
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Tuple, TypeVar

from . import _closure, _held, _native
from ._deferred import Deferred, caught
from ._errors import CancelledError, Failure
from ._lifecycle import in_reactor_thread
from ._logging import log_exception
from ._native import lib
from ._status import error_for_status

if TYPE_CHECKING:
    from typing_extensions import ParamSpec

    _P = ParamSpec("_P")

_T = TypeVar("_T")

lib.crochet_defer_to_thread_closure.restype = c_int
lib.crochet_defer_to_thread_closure.argtypes = [POINTER(c_void_p), c_void_p, c_void_p,
                                                _native.CTX_FN]

_VOID = _native.Value(_native.TYPE_VOID)


class _Work:
    """One function for a worker, and then its outcome."""

    __slots__ = ("f", "args", "kwargs", "outcome", "deferred", "handle", "cancelled")

    def __init__(self, f: Optional[Callable[..., Any]], args: Optional[Tuple[Any, ...]],
                 kwargs: Optional[Dict[str, Any]]) -> None:
        self.f, self.args, self.kwargs = f, args, kwargs
        # ("value", v) or ("failure", Failure), from the worker
        self.outcome: Optional[Tuple[str, Any]] = None
        self.deferred: Optional[Deferred[Any]] = None
        self.handle: Optional[int] = None   # the engine's crochet_deferred, to cancel the work
        self.cancelled = False

    def cancel(self, d: Deferred[Any]) -> None:
        """The Deferred's canceller: work not yet taken by a worker never
        runs; d fails with CancelledError at once either way."""
        self.cancelled = True
        handle, self.handle = self.handle, None
        if handle:
            lib.crochet_deferred_cancel(handle)
            lib.crochet_deferred_release(handle)

    def done(self) -> None:
        """(reactor thread, from destroy) Fires the Deferred with the outcome."""
        d, self.deferred = self.deferred, None
        handle, self.handle = self.handle, None
        if handle:
            lib.crochet_deferred_release(handle)
        outcome, self.outcome = self.outcome, None
        if d is None or d.called:
            return
        if outcome is None:
            if self.cancelled:   # never started
                d.errback(Failure(CancelledError("defer_to_thread() was cancelled")))
            return   # dropped at stop: the reactor is gone, nothing fires
        kind, result = outcome
        if kind == "failure":
            d.errback(result)
        elif isinstance(result, Deferred):
            d.errback(TypeError("a function run by defer_to_thread() returned a Deferred"))
        else:
            d.callback(result)


def _run(ctx: Optional[int]) -> _native.Value:
    """The closure (a worker thread): runs the function, keeps its outcome."""
    try:
        work = _held.get(ctx)
        f, args, kwargs = work.f, work.args, work.kwargs
        work.f = work.args = work.kwargs = None
        try:
            work.outcome = ("value", f(*args, **kwargs))
        except BaseException:
            work.outcome = ("failure", caught(_RUN_CODE))
    except BaseException:
        log_exception("libcrochet: internal error running a defer_to_thread() function")
    return _VOID


_RUN_CODE = _run.__code__
_RUN = _closure.closure_fn(_run)


def _done(ctx: Optional[int]) -> None:
    """destroy(ctx) (reactor thread): the work is over; fire its Deferred."""
    try:
        work = _held.get(ctx)
        _held.drop(ctx)
        if work is not None:
            work.done()
    except BaseException:
        log_exception("Unhandled error firing a defer_to_thread() Deferred")


_DONE = _native.CTX_FN(_done)   # never freed


def defer_to_thread(f: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_T]:
    """Runs f(*args, **kwargs) on the library's pool of worker threads (for
    blocking work that must not hold the reactor) and returns a Deferred
    that fires on the reactor thread with its value, or fails with its
    exception (Twisted's deferToThread). Cancelling the Deferred before a
    worker has taken the work means f never runs; either way it fails with
    CancelledError at once. Reactor thread only: RuntimeError elsewhere.
    TypeError if f is not callable; ReactorStopped once the reactor stops."""
    if not callable(f):
        raise TypeError("defer_to_thread() needs a callable, not %s" % type(f).__name__)
    if not in_reactor_thread():
        raise error_for_status(_native.ENOTREACTOR, "defer_to_thread()")
    work = _Work(f, args, kwargs)
    d: Deferred[_T]
    d = work.deferred = Deferred(work.cancel)
    handle = ctypes.c_void_p()
    status = lib.crochet_defer_to_thread_closure(ctypes.byref(handle), _RUN, _held.hold(work),
                                                 _DONE)
    if status != _native.OK:   # (the engine has called destroy: work.done() did nothing)
        raise error_for_status(status, "defer_to_thread()")
    work.handle = handle.value
    return d
