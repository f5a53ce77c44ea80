"""Reactor services: call_from_thread, call_later and its DelayedCall, file
descriptor watchers (add_reader, add_writer, remove_reader, remove_writer)
and shutdown triggers.

The function and its arguments are the callback's ctx (_held): the engine
drops them, through destroy, after the call ran, when it is cancelled, or at
stop."""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Tuple

from . import _held, _native
from ._args import seconds
from ._errors import AlreadyCalledError
from ._logging import log_exception
from ._native import lib
from ._status import check, error_for_status

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike
    from typing_extensions import ParamSpec

    _P = ParamSpec("_P")


class _Scheduled:
    __slots__ = ("f", "args", "kwargs", "done")

    def __init__(self, f: Optional[Callable[..., object]], args: Optional[Tuple[Any, ...]],
                 kwargs: Optional[Dict[str, Any]]) -> None:
        self.f, self.args, self.kwargs, self.done = f, args, kwargs, False


def _run(ctx: Optional[int]) -> None:
    """The callback (reactor thread): runs the function once; logs errors."""
    try:
        s = _held.get(ctx)
        f, args, kwargs = s.f, s.args, s.kwargs
        s.done = True
        s.f = s.args = s.kwargs = None
        f(*args, **kwargs)
    except BaseException:
        log_exception("Unhandled error in a function called on the reactor thread")


_RUN = _native.CTX_FN(_run)   # never freed


def _check_callable(f: object, what: str) -> None:
    if not callable(f):
        raise TypeError("%s needs a callable, not %s" % (what, type(f).__name__))


def call_from_thread(f: Callable[_P, object], *args: _P.args, **kwargs: _P.kwargs) -> None:
    """Runs f(*args, **kwargs) on the reactor thread soon (Twisted's
    reactor.callFromThread). Any thread. Exceptions are logged."""
    _check_callable(f, "call_from_thread()")
    check(lib.crochet_call_from_thread(_RUN, _held.hold(_Scheduled(f, args, kwargs)), _held.DROP),
          "call_from_thread()")


class DelayedCall:
    """A call scheduled by call_later()."""

    def __init__(self, handle: Optional[int], scheduled: _Scheduled) -> None:
        self._handle = handle
        self._scheduled = scheduled

    def active(self) -> bool:
        """Whether it is still due to run."""
        return not self._scheduled.done

    def cancel(self) -> None:
        """Cancels it so that it never runs. AlreadyCalledError if it already
        ran (or started running) or was cancelled."""
        status = lib.crochet_delayed_call_cancel(self._handle)
        if status == _native.EALREADY:
            raise AlreadyCalledError("the delayed call already ran or was cancelled")
        if status != _native.OK:
            raise error_for_status(status, "DelayedCall.cancel()")
        self._scheduled.done = True

    def __repr__(self) -> str:
        return "<libcrochet.DelayedCall %s>" % ("active" if self.active() else "done")

    def __del__(self, _release: Any = lib.crochet_delayed_call_release) -> None:
        try:
            if self._handle:
                _release(self._handle)
                self._handle = None
        except BaseException:
            pass


def call_later(delay: float, f: Callable[_P, object], *args: _P.args,
               **kwargs: _P.kwargs) -> DelayedCall:
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


def keep_until_run(objects: object) -> int:
    """Keeps objects alive until the call this thread submitted last has had
    its turn on the reactor: calls run in the order one thread queued them,
    so when a no-op queued behind it has run (or was dropped at stop), the
    engine destroys its ctx. Returns the status: not OK if the reactor
    refused the no-op (stopping; or CROCHET_EAGAIN, the call took the last
    place under set_max_queued), and then the objects are not kept."""
    return lib.crochet_call_from_thread(  # type: ignore[no-any-return]
        _NOOP, _held.hold(objects), _held.DROP)


# ---------------------------------------------------------------------------
# File descriptors and shutdown triggers
# ---------------------------------------------------------------------------

def _run_fd(fd: int, ctx: Optional[int]) -> None:
    """The watcher callback (reactor thread): f(fd); logs errors."""
    try:
        f = _held.get(ctx)
        if f is not None:
            f(fd)
    except BaseException:
        log_exception("Unhandled error in a file descriptor callback")


_RUN_FD = _native.FD_FN(_run_fd)   # never freed


def _fd(fd: FileDescriptorLike, what: str) -> int:
    """fd as a C int: an int, or what fileno() returns; TypeError for
    anything else, ValueError for a number no fd can have."""
    if not isinstance(fd, int):
        fileno = getattr(fd, "fileno", None)
        if fileno is None:
            raise TypeError("%s needs a file descriptor (an int or an object with fileno()), "
                            "not %s" % (what, type(fd).__name__))
        fd = fileno()
    if isinstance(fd, bool) or not isinstance(fd, int):
        raise TypeError("%s needs a file descriptor (an int or an object with fileno())" % what)
    if not 0 <= fd < 2 ** 31:
        raise ValueError("%s: %d is not a file descriptor" % (what, fd))
    return fd


def add_reader(fd: FileDescriptorLike, f: Callable[[int], object]) -> None:
    """Reactor thread only. Calls f(fd) on the reactor thread while fd (an
    int, or an object with fileno()) is readable or has an error or hang-up,
    level-triggered like Twisted's addReader, until remove_reader(fd). A
    second add_reader for fd replaces f. Exceptions f raises are logged.
    ValueError for a negative fd, one that is not open or cannot be polled
    (a regular file); TypeError for a non-callable f; RuntimeError off the
    reactor thread. The library holds f until the reader is removed or
    replaced, or the reactor stops."""
    fd = _fd(fd, "add_reader()")
    _check_callable(f, "add_reader()")
    check(lib.crochet_add_reader(fd, _RUN_FD, _held.hold(f), _held.DROP), "add_reader()")


def add_writer(fd: FileDescriptorLike, f: Callable[[int], object]) -> None:
    """Reactor thread only. As add_reader, for writability (and error or
    hang-up); a reader and a writer on one fd are independent."""
    fd = _fd(fd, "add_writer()")
    _check_callable(f, "add_writer()")
    check(lib.crochet_add_writer(fd, _RUN_FD, _held.hold(f), _held.DROP), "add_writer()")


def remove_reader(fd: FileDescriptorLike) -> None:
    """Reactor thread only. Stops watching fd for reading (no callback runs
    for it afterwards, even one already due in this loop turn; safe inside
    any callback). Nothing happens for an fd not watched. Close the fd only
    after removing its reader and writer."""
    check(lib.crochet_remove_reader(_fd(fd, "remove_reader()")), "remove_reader()")


def remove_writer(fd: FileDescriptorLike) -> None:
    """Reactor thread only. As remove_reader, for the writer."""
    check(lib.crochet_remove_writer(_fd(fd, "remove_writer()")), "remove_writer()")


def add_shutdown_trigger(f: Callable[_P, object], *args: _P.args, **kwargs: _P.kwargs) -> None:
    """Any thread. Runs f(*args, **kwargs) on the reactor thread when the
    reactor stops, before pending results fail with ReactorStopped (the
    latest registered runs first). ReactorStopped once stopping has begun."""
    _check_callable(f, "add_shutdown_trigger()")
    check(lib.crochet_add_shutdown_trigger(_RUN, _held.hold(_Scheduled(f, args, kwargs)),
                                           _held.DROP), "add_shutdown_trigger()")
