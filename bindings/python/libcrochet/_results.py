"""EventualResult, and the result store (stash / retrieve_result).

An EventualResult is a reference to the engine's result and nothing more
that lives longer: the value is the engine's (_values.py), the store is the
engine's (crochet_stash / crochet_retrieve). What it adds is the Python side
of a failure: the exception object a Python call raised, reached through the
call it made (see _failure_facts).

A Python failure costs no text unless someone reads it: wait() raises the
exception object itself, original_failure() formats the traceback when it
is asked for, and a failure nobody looked at is logged with the exception
(so the traceback is formatted by `logging`, if a handler shows it):

- when the EventualResult goes while its call's failure is there but was
  never looked at, it reports it here, through `logging`, and marks it
  observed so that the library does not report it again;
- when the EventualResult went before the call failed (fire and forget),
  the call formats its traceback at once (_calls.PythonCall.needs_text),
  and the library's report of it comes through _logging, which shows that
  Python traceback instead of the native frames of the thread that raised.

Stashed results are the store's: their failures are reported at exit
(report_stashed_at_exit), through `logging` as well.
"""

from __future__ import annotations

import ctypes
import numbers
import os
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Dict, Generic, Optional, Tuple, TypeVar

from . import _native, _operability, _values
from ._args import wait_seconds
from ._errors import CallFailed, CancelledError, Failure, ReactorStopped, TimeoutError
from ._logging import logger, raised_in_python
from ._native import lib
from ._status import error_for_status

if TYPE_CHECKING:
    from types import TracebackType

    from ._operability import ResultInfo

T = TypeVar("T")

# The main thread's waits are done in slices of at most this, so that Ctrl-C
# (a signal, handled between slices) reaches it. Other threads receive no
# signals: they wait in one native wait.
WAIT_SLICE = 0.1

_failure_lock = threading.Lock()
# stash id -> the EventualResult stashed under it, while that object lives, so
# that retrieve_result gives back the same object (as crochet does). Weak: it
# keeps nothing alive; the engine's store holds the result itself.
_stashed: "weakref.WeakValueDictionary[int, EventualResult[Any]]" = weakref.WeakValueDictionary()
# Every id stashed from Python and not retrieved -> the process that stashed
# it (ints: keeps nothing alive), for the report at exit. A fork child does
# not report its parent's.
_stash_ids: Dict[int, int] = {}

_UNHANDLED = "Unhandled error in EventualResult"
_UNHANDLED_STASHED = "Unhandled error in stashed EventualResult at exit"


class _Facts:
    """A failed result as read once from the engine: the exception wait()
    raises (with its traceback), the call's PythonFailure if there is one,
    and the engine's code, message and failure (borrowed from the result)."""

    __slots__ = ("value", "tb", "python", "code", "message", "failure")

    def __init__(self, value: BaseException, tb: Optional[TracebackType], python: Any,
                 code: int, message: bytes, failure: int) -> None:
        self.value, self.tb, self.python = value, tb, python
        self.code, self.message, self.failure = code, message, failure

    def text(self) -> str:
        """The traceback text from the reactor side: the Python traceback of
        a Python exception (formatted now; for one whose object is gone, the
        text it left, or its last line), else the native frames."""
        if self.python is not None:
            return str(self.python.text)
        message = self.message.decode("utf-8", "replace")
        raw = lib.crochet_failure_traceback(self.failure)
        frames = raw.decode("utf-8", "replace") if raw else ""
        return message if raised_in_python(message, frames) else frames


def _read_facts(failure: int, call: Any) -> _Facts:
    """The _Facts of the engine's failure (a crochet_failure *); call: the
    PythonCall that made the result, if known."""
    code = lib.crochet_failure_code(failure)
    raw = lib.crochet_failure_message(failure) or b""
    python = call.failure(code, raw) if call is not None else None
    if python is not None:
        return _Facts(python.value, python.tb, python, code, raw, failure)
    message = raw.decode("utf-8", "replace")
    value: BaseException
    if code == _native.ESTOPPED:
        value = ReactorStopped(message)
    elif code == _native.ECANCELLED:
        value = CancelledError(message)
    else:
        native_tb = lib.crochet_failure_traceback(failure)
        value = CallFailed(code, message,
                           native_tb.decode("utf-8", "replace") if native_tb else "")
    return _Facts(value, None, None, code, raw, failure)


def _report(facts: _Facts, what: str, cancel_requested: bool) -> None:
    """Logs a failure nobody looked at, as the library would (nothing for a
    stop, or for a cancellation the caller asked for), but with the Python
    exception and its traceback when there is one."""
    if facts.code == _native.ESTOPPED:
        return
    if facts.code == _native.ECANCELLED and cancel_requested:
        return
    if facts.python is not None:
        value = facts.python.value
        logger.error("%s", what, exc_info=(type(value), value, facts.python.tb))
        return
    message = facts.message.decode("utf-8", "replace")
    text = facts.text()
    if text is message or text == message:
        # A Python exception whose object is gone: its text (or last line) is
        # the message; the native frames are the interpreter's, not the user's.
        logger.error("%s\n%s", what, message.rstrip("\n"))
    else:
        logger.error("%s: %s (%d): %s\nTraceback:\n%s", what,
                     _native.STATUS_NAME.get(facts.code, "code"), facts.code, message, text)


class EventualResult(Generic[T]):
    """The eventual outcome of a call run on the reactor thread (crochet's
    EventualResult). Made by functions decorated with run_in_reactor; do not
    create it yourself."""

    def __init__(self, handle: Optional[int], call: Any = None, native: Any = None) -> None:
        self._handle: Optional[int] = handle   # one reference to the engine's result, ours
        self._call = call        # the _calls.PythonCall, for a Python function
        self._native = native    # the _foreign.NativeCall, for a ctypes function
        self._facts: Optional[_Facts] = None      # the failure, once read
        self._failure: Optional[Failure] = None   # original_failure(), once made
        self._seen = False       # a value was returned, or the failure reported
        self._cancel_requested = False
        self._stashes = 0        # references the store holds for this object

    # -- waiting -----------------------------------------------------------

    def _wait_status(self, timeout: float) -> Tuple[int, _native.Value]:
        """crochet_wait; returns (status, value). In the main thread, in
        slices of at most WAIT_SLICE seconds, so that a KeyboardInterrupt
        reaches it; in any other thread, in one wait."""
        value = _native.Value()
        ref = ctypes.byref(value)
        if threading.get_ident() != threading.main_thread().ident:
            return lib.crochet_wait(self._handle, timeout, ref), value
        finite = timeout != float("inf")
        deadline = time.monotonic() + timeout if finite else 0.0
        while True:
            if finite:
                remaining = max(0.0, deadline - time.monotonic())
                piece = min(remaining, WAIT_SLICE)
            else:
                remaining, piece = float("inf"), WAIT_SLICE
            status = lib.crochet_wait(self._handle, piece, ref)
            if status != _native.ETIMEDOUT or remaining <= piece:
                return status, value

    def wait(self, timeout: Optional[float] = None) -> T:
        """Returns the result, or raises the exception if the call failed.

        timeout is in seconds (None: no limit; a negative timeout polls, as
        0 does). TimeoutError if no result came within it; a later wait()
        still waits and returns the result once it exists. Once there is a
        result, every wait() returns (or raises) the same. RuntimeError on
        the reactor thread. ReactorStopped if the reactor stopped first;
        CancelledError if the call was cancelled."""
        t = wait_seconds(timeout)
        if lib.crochet_in_reactor_thread():
            raise error_for_status(_native.EREACTORTHREAD, "EventualResult.wait()")
        status, value = self._wait_status(t)
        if status == _native.OK:
            self._seen = True
            if self._native is not None:
                return self._native.result(value)  # type: ignore[no-any-return]
            return _values.decode(value)  # type: ignore[no-any-return]
        if status == _native.ETIMEDOUT:
            raise self._timeout_error("no result within %r seconds" % (timeout,))
        if status in (_native.EFAILED, _native.ECANCELLED, _native.ESTOPPED):
            facts = self._failure_facts()
            if facts is not None:
                raise facts.value.with_traceback(facts.tb)
        raise error_for_status(status, "EventualResult.wait()")

    def _timeout_error(self, what: str) -> TimeoutError:
        """A TimeoutError that says what (the wait) and, from info(), why:
        what: `f` has been running for 2.00 s on the reactor thread (...)."""
        info: Optional[ResultInfo]
        try:
            info = self.info()
        except Exception:   # pragma: no cover - the facts are a bonus
            info = None
        error = TimeoutError("%s: %s" % (what, info) if info is not None else what)
        error.info = info
        return error

    def info(self) -> ResultInfo:
        """Where the call is now (never blocks; any thread): a ResultInfo
        with .state ("queued", "running", "waiting" on a Deferred it
        returned, "done"), .queued_seconds, .running_seconds and .function
        (a Python callable's module.__qualname__, a native function's
        symbol); str(info) is the diagnosis a TimeoutError carries."""
        return _operability.result_info(self._handle)

    # -- failures ----------------------------------------------------------

    def _failure_facts(self) -> Optional[_Facts]:
        """The failure (read once; this observes it), or None if there is no
        result yet or it succeeded. Its value is the Python exception that
        caused it when this object can reach it (the call's, or the one a
        Deferred the call returned failed with), else an exception made from
        the code."""
        with _failure_lock:
            if self._facts is None:
                failure = lib.crochet_original_failure(self._handle)
                if not failure:
                    return None
                self._facts = _read_facts(failure, self._call)
                self._seen = True
            return self._facts

    def original_failure(self) -> Optional[Failure]:
        """The Failure (with .value, the exception, and .getTraceback(), the
        reactor-side traceback) if the result is an error; None if there is no
        result yet or it succeeded."""
        facts = self._failure_facts()
        if facts is None:
            return None
        with _failure_lock:
            if self._failure is None:
                message = facts.message.decode("utf-8", "replace")
                if facts.python is not None:   # its traceback is formatted when asked for
                    failure = Failure(facts.value, type(facts.value), facts.tb)
                    failure.code, failure.message = facts.code, message
                else:
                    failure = Failure(facts.value, facts.text(), facts.code, message, facts.tb)
                self._failure = failure
            return self._failure

    # -- cancel, stash -----------------------------------------------------

    def cancel(self) -> None:
        """Asks for the call to be cancelled; returns at once. A call not yet
        started never starts; a Deferred it returned is cancelled on the
        reactor thread. A result that already exists is unchanged. Either way
        the result does complete. Later calls have no further effect."""
        self._cancel_requested = True
        lib.crochet_cancel(self._handle)

    def stash(self) -> int:
        """Stores this EventualResult in the process-wide store and returns an
        integer id; retrieve_result(id) gives it back (once). Results still
        stashed at exit have their failures logged."""
        if self._call is not None:
            # The store's result may be read with this object gone: a failure
            # from now on carries its traceback text.
            self._call.needs_text = True
        rid = ctypes.c_uint64()
        status = lib.crochet_stash(self._handle, ctypes.byref(rid))
        if status != _native.OK:
            raise error_for_status(status, "EventualResult.stash()")
        self._stashes += 1
        _stashed[rid.value] = self
        _stash_ids[rid.value] = os.getpid()
        return rid.value

    def __repr__(self) -> str:
        return "<libcrochet.EventualResult at %#x>" % id(self)

    def __del__(self, _release: Any = lib.crochet_result_release) -> None:
        try:
            handle = self._handle
            if not handle:
                return
            self._handle = None
        except BaseException:   # __init__ did not run
            return
        try:
            call = self._call
            if call is not None and not self._seen and not self._stashes:
                self._report_if_failed(handle, call)
        except BaseException:   # pragma: no cover - never let __del__ fail
            pass
        finally:
            try:
                _release(handle)
            except BaseException:
                pass

    def _report_if_failed(self, handle: int, call: Any) -> None:
        """This object goes, and with it the last way to look at the call's
        outcome: a failure that is there is reported here, with its Python
        exception; one that comes later carries its traceback text (the
        call formats it: needs_text), for the library's own report.

        The call's `raised` is written before `needs_text` is read on the
        reactor thread, and here `needs_text` is written before `raised` is
        read: under the GIL at least one side sees the other's write, so
        every failure is reported once, one way or the other."""
        call.needs_text = True
        if call.raised is None and call.deferred is None:
            return   # no failure yet (a later one formats its text), or a value
        if call.raised is not None and not lib.crochet_in_reactor_thread():
            # It raised: the engine completes the result as soon as the
            # function returns (reactor thread), which is a moment away.
            lib.crochet_wait(handle, 1.0, None)
        failure = lib.crochet_original_failure(handle)   # observes it: ours to report now
        if failure:
            _report(_read_facts(failure, call), _UNHANDLED, self._cancel_requested)


def retrieve_result(result_id: int) -> EventualResult[Any]:
    """Returns the EventualResult stashed under result_id and removes it from
    the store. KeyError for an id never stashed or already retrieved."""
    if isinstance(result_id, bool) or not isinstance(result_id, numbers.Integral):
        raise TypeError("result id must be an integer, not %s" % type(result_id).__name__)
    rid = int(result_id)
    if not 0 < rid < 2 ** 64:
        raise KeyError(result_id)
    handle = ctypes.c_void_p()
    status = lib.crochet_retrieve(ctypes.byref(handle), rid)
    if status == _native.ENOTFOUND:
        _stash_ids.pop(rid, None)
        raise KeyError(result_id)
    if status != _native.OK:
        raise error_for_status(status, "retrieve_result()")
    _stash_ids.pop(rid, None)
    result = _stashed.pop(rid, None)
    if result is None:
        # Its EventualResult is gone (or native code stashed it): the value
        # is read from the engine's result (_values.decode).
        return EventualResult(handle.value)
    lib.crochet_result_release(handle.value)
    result._stashes -= 1
    return result


def report_stashed_at_exit() -> None:
    """At exit, before Python finalizes (the reactor has stopped): takes the
    results stashed from Python out of the store and logs their failures
    through `logging`, as crochet does at exit, with the Python exception
    where it is known. A result still pending when the reactor stopped
    (ReactorStopped) is not an error, as with crochet. Taken out of the
    store, they are not reported again by the library's own exit handler
    (which runs after Python has finalized, when only stderr is left). In a
    fork child, the parent's stashed results are taken out unreported."""
    pid = os.getpid()
    for rid, stasher in sorted(_stash_ids.copy().items()):
        _stash_ids.pop(rid, None)
        handle = ctypes.c_void_p()
        if lib.crochet_retrieve(ctypes.byref(handle), rid) != _native.OK:
            continue
        if stasher != pid:
            # A fork child: the parent's result, which the parent reports. Out
            # of this process's copy of the store, and kept (nothing inherited
            # is let go of in a child), the library does not report it here.
            continue
        result = _stashed.pop(rid, None)
        try:
            failure = lib.crochet_original_failure(handle.value)
            if failure:
                call = result._call if result is not None else None
                _report(_read_facts(failure, call), _UNHANDLED_STASHED, False)
                if result is not None:
                    result._seen = True   # reported: not again when it goes
        finally:
            lib.crochet_result_release(handle.value)
            if result is not None:
                result._stashes -= 1
