"""Reactor services: call_from_thread, call_later and its DelayedCall.

The function and its arguments are the callback's ctx (_held): the engine
drops them, through destroy, after the call ran, when it is cancelled, or at
stop."""

import ctypes

from . import _held, _native
from ._args import seconds
from ._errors import AlreadyCalledError
from ._logging import logger
from ._native import lib
from ._status import check, error_for_status


class _Scheduled:
    __slots__ = ("f", "args", "kwargs", "done")

    def __init__(self, f, args, kwargs):
        self.f, self.args, self.kwargs, self.done = f, args, kwargs, False


def _run(ctx):
    """The callback (reactor thread): runs the function once; logs errors."""
    try:
        s = _held.get(ctx)
        f, args, kwargs = s.f, s.args, s.kwargs
        s.done = True
        s.f = s.args = s.kwargs = None
        f(*args, **kwargs)
    except BaseException:
        try:
            logger.exception("Unhandled error in a function called on the reactor thread")
        except BaseException:
            pass


_RUN = _native.CTX_FN(_run)   # never freed


def _check_callable(f, what):
    if not callable(f):
        raise TypeError("%s needs a callable, not %s" % (what, type(f).__name__))


def call_from_thread(f, *args, **kwargs):
    """Runs f(*args, **kwargs) on the reactor thread soon (Twisted's
    reactor.callFromThread). Any thread. Exceptions are logged."""
    _check_callable(f, "call_from_thread()")
    check(lib.crochet_call_from_thread(_RUN, _held.hold(_Scheduled(f, args, kwargs)), _held.DROP),
          "call_from_thread()")


class DelayedCall:
    """A call scheduled by call_later()."""

    def __init__(self, handle, scheduled):
        self._handle = handle
        self._scheduled = scheduled

    def active(self):
        """Whether it is still due to run."""
        return not self._scheduled.done

    def cancel(self):
        """Cancels it so that it never runs. AlreadyCalledError if it already
        ran (or started running) or was cancelled."""
        status = lib.crochet_delayed_call_cancel(self._handle)
        if status == _native.EALREADY:
            raise AlreadyCalledError("the delayed call already ran or was cancelled")
        if status != _native.OK:
            raise error_for_status(status, "DelayedCall.cancel()")
        self._scheduled.done = True

    def __repr__(self):
        return "<libcrochet.DelayedCall %s>" % ("active" if self.active() else "done")

    def __del__(self, _release=lib.crochet_delayed_call_release):
        try:
            if self._handle:
                _release(self._handle)
                self._handle = None
        except BaseException:
            pass


def call_later(delay, f, *args, **kwargs):
    """Runs f(*args, **kwargs) on the reactor thread after `delay` seconds
    (Twisted's reactor.callLater). Any thread. Returns a DelayedCall.
    Exceptions f raises are logged."""
    d = seconds(delay, "delay", allow_none=False)
    if d == float("inf"):
        raise ValueError("delay must be finite")
    _check_callable(f, "call_later()")
    scheduled = _Scheduled(f, args, kwargs)
    handle = ctypes.c_void_p()
    check(lib.crochet_call_later(ctypes.byref(handle), d, _RUN, _held.hold(scheduled), _held.DROP),
          "call_later()")
    return DelayedCall(handle.value, scheduled)


_NOOP = _native.CTX_FN(lambda _ctx: None)   # never freed


def keep_until_run(objects):
    """Keeps objects alive until the call this thread submitted last has had
    its turn on the reactor: calls run in the order one thread queued them,
    so when a no-op queued behind it has run (or was dropped at stop), the
    engine destroys its ctx. Returns the status: not OK if the reactor
    refused the no-op (stopping; or CROCHET_EAGAIN, the call took the last
    place under set_max_queued), and then the objects are not kept."""
    return lib.crochet_call_from_thread(_NOOP, _held.hold(objects), _held.DROP)
