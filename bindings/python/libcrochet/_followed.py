"""A Deferred that the engine follows: the crochet_deferred behind the
EventualResult of a function that returned the Deferred.

As crochet's EventualResult does with addBoth, the link is the last callback
of the Deferred's chain at the moment the function returned it: it fires the
crochet_deferred with the chain's result (a value travels as _values.py
says; a Failure becomes crochet_deferred_errback's code and message, and
the link keeps the exception for the EventualResult), and returns None, so
that the failure is the EventualResult's to report, not the Deferred's.

The crochet_deferred's canceller cancels the Deferred (the engine runs it
for EventualResult.cancel() and wait_for's timeout). Its ctx refers to the
Deferred weakly: the engine must not keep it alive; while the function's
EventualResult lives, its call keeps it (_calls.PythonCall.deferred).
"""

from __future__ import annotations

import ctypes
import weakref
from typing import TYPE_CHECKING, Any, Optional

from . import _held, _native, _values
from ._errors import Failure, PythonFailure
from ._logging import log_exception, logger
from ._native import lib
from ._status import check, error_for_status

if TYPE_CHECKING:
    from ._deferred import Deferred


class Link:
    """The crochet_deferred (one reference, ours) fired by a Deferred's chain."""

    __slots__ = ("handle", "failure")

    def __init__(self, handle: Optional[int]) -> None:
        self.handle = handle
        self.failure: Optional[PythonFailure] = None   # the PythonFailure it was failed with

    def fire(self, result: Any) -> None:
        """The chain's last callback (reactor thread)."""
        if isinstance(result, Failure):
            failure = PythonFailure(result.value, result.tb, result.getTraceback())
            self.failure = failure   # set before firing: waiters wake while the engine fires
            status = lib.crochet_deferred_errback(self.handle, failure.code, failure.message)
        else:
            status = _values.fire(self.handle, result)
        if status != _native.OK:   # (firing one the engine cancelled is OK)
            logger.error("libcrochet: a Deferred's result could not reach its EventualResult: %s",
                         error_for_status(status, "crochet_deferred_callback()"))
        return None

    def __del__(self, _release: Any = lib.crochet_deferred_release) -> None:
        try:
            if self.handle:
                _release(self.handle)
                self.handle = None
        except BaseException:
            pass


def _run_canceller(_handle: Optional[int], ctx: Optional[int]) -> None:
    """crochet_canceller (reactor thread): cancels the Deferred, if it lives."""
    try:
        ref = _held.get(ctx)
        d = ref() if ref is not None else None
        if d is not None:
            d.cancel()
    except BaseException:
        log_exception("Unhandled error cancelling a Deferred")


_CANCELLER = _native.CANCELLER_FN(_run_canceller)   # never freed


def engine_handle(d: Deferred[Any]) -> int:
    """(reactor thread) A new reference to the crochet_deferred that follows
    d, for the engine: made, and its link added to d's chain, the first
    time."""
    link = d._link
    if link is None:
        handle = ctypes.c_void_p()
        check(lib.crochet_deferred_new(ctypes.byref(handle), _CANCELLER,
                                       _held.hold(weakref.ref(d)), _held.DROP),
              "returning a Deferred")
        link = d._link = Link(handle.value)
        d.addBoth(link.fire)
    return lib.crochet_deferred_retain(link.handle)  # type: ignore[no-any-return]


def failure_of(d: Deferred[Any]) -> Optional[PythonFailure]:
    """The PythonFailure that d's link failed the crochet_deferred with."""
    link = d._link
    return link.failure if link is not None else None
