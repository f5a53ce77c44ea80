"""EventualResult, and the result store (stash / retrieve_result).

An EventualResult is a reference to the engine's result and nothing more
that lives longer: the value is the engine's (_values.py), the store is the
engine's (crochet_stash / crochet_retrieve). What it adds is the Python side
of a failure: the exception object a Python call raised, reached through the
call it made (see _get_failure).
"""

import ctypes
import numbers
import threading
import time
import weakref

from . import _lifecycle, _native, _operability, _values
from ._errors import CallFailed, CancelledError, Failure, ReactorStopped, TimeoutError
from ._args import seconds
from ._native import lib
from ._status import error_for_status

# Waits are done in slices so that Ctrl-C reaches the main thread.
WAIT_SLICE = 0.1

_failure_lock = threading.Lock()
# stash id -> the EventualResult stashed under it, while that object lives, so
# that retrieve_result gives back the same object (as crochet does). Weak: it
# keeps nothing alive; the engine's store holds the result itself.
_stashed = weakref.WeakValueDictionary()


class EventualResult:
    """The eventual outcome of a call run on the reactor thread (crochet's
    EventualResult). Made by functions decorated with run_in_reactor; do not
    create it yourself."""

    def __init__(self, handle, call=None, native=None):
        self._handle = handle    # one reference to the engine's result, ours
        self._call = call        # the _calls.PythonCall, for a Python function
        self._native = native    # the _foreign.NativeCall, for a ctypes function
        self._failure = None

    # -- waiting -----------------------------------------------------------

    def _wait_status(self, timeout):
        """crochet_wait in slices of at most WAIT_SLICE seconds, so that a
        KeyboardInterrupt reaches the main thread; returns (status, value)."""
        value = _native.Value()
        ref = ctypes.byref(value)
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

    def wait(self, timeout=None):
        """Returns the result, or raises the exception if the call failed.

        timeout is in seconds (None: no limit). TimeoutError if no result came
        within it; a later wait() still waits and returns the result once it
        exists. Once there is a result, every wait() returns (or raises) the
        same. RuntimeError on the reactor thread. ReactorStopped if the reactor
        stopped first; CancelledError if the call was cancelled."""
        t = seconds(timeout)
        if _lifecycle.in_reactor_thread():
            raise error_for_status(_native.EREACTORTHREAD, "EventualResult.wait()")
        status, value = self._wait_status(t)
        if status == _native.OK:
            if self._native is not None:
                return self._native.result(value)
            return _values.decode(value)
        if status == _native.ETIMEDOUT:
            raise self._timeout_error("no result within %r seconds" % (timeout,))
        if status in (_native.EFAILED, _native.ECANCELLED, _native.ESTOPPED):
            failure = self._get_failure()
            raise failure.value.with_traceback(failure.tb)
        raise error_for_status(status, "EventualResult.wait()")

    def _timeout_error(self, what):
        """A TimeoutError that says what (the wait) and, from info(), why:
        what: `f` has been running for 2.00 s on the reactor thread (...)."""
        try:
            info = self.info()
        except Exception:   # pragma: no cover - the facts are a bonus
            info = None
        error = TimeoutError("%s: %s" % (what, info) if info is not None else what)
        error.info = info
        return error

    def info(self):
        """Where the call is now (never blocks; any thread): a ResultInfo
        with .state ("queued", "running", "waiting" on a Deferred it
        returned, "done"), .queued_seconds, .running_seconds and .function
        (a Python callable's module.__qualname__, a native function's
        symbol); str(info) is the diagnosis a TimeoutError carries."""
        return _operability.result_info(self._handle)

    # -- failures ----------------------------------------------------------

    def _get_failure(self):
        """The Failure: the engine's code, message and traceback; its value is
        the Python exception that caused it when this object can reach it
        (the call's, or the one a Deferred the call returned failed with),
        else an exception made from the code."""
        with _failure_lock:
            if self._failure is not None:
                return self._failure
            f = lib.crochet_original_failure(self._handle)
            if not f:
                return None
            code = lib.crochet_failure_code(f)
            raw = lib.crochet_failure_message(f)
            message = raw.decode("utf-8", "replace")
            native_tb = lib.crochet_failure_traceback(f).decode("utf-8", "replace")
            python = self._call.failure(code, raw) if self._call is not None else None
            if python is not None:
                value, tb, text = python.value, python.tb, python.text
            else:
                tb, text = None, native_tb
                if code == _native.ESTOPPED:
                    value = ReactorStopped(message)
                elif code == _native.ECANCELLED:
                    value = CancelledError(message)
                else:
                    value = CallFailed(code, message, native_tb)
            self._failure = Failure(value, text, code, message, tb)
            return self._failure

    def original_failure(self):
        """The Failure (with .value, the exception, and .getTraceback(), the
        reactor-side traceback) if the result is an error; None if there is no
        result yet or it succeeded."""
        return self._get_failure()

    # -- cancel, stash -----------------------------------------------------

    def cancel(self):
        """Asks for the call to be cancelled; returns at once. A call not yet
        started never starts; a Deferred it returned is cancelled on the
        reactor thread. A result that already exists is unchanged. Either way
        the result does complete. Later calls have no further effect."""
        lib.crochet_cancel(self._handle)

    def stash(self):
        """Stores this EventualResult in the process-wide store and returns an
        integer id; retrieve_result(id) gives it back (once). Results still
        stashed at exit have their failures logged."""
        rid = ctypes.c_uint64()
        status = lib.crochet_stash(self._handle, ctypes.byref(rid))
        if status != _native.OK:
            raise error_for_status(status, "EventualResult.stash()")
        _stashed[rid.value] = self
        return rid.value

    def __repr__(self):
        return "<libcrochet.EventualResult at %#x>" % id(self)

    def __del__(self, _release=lib.crochet_result_release):
        try:
            if self._handle:
                _release(self._handle)
                self._handle = None
        except BaseException:
            pass


def retrieve_result(result_id):
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
        raise KeyError(result_id)
    if status != _native.OK:
        raise error_for_status(status, "retrieve_result()")
    result = _stashed.pop(rid, None)
    if result is None:
        # Its EventualResult is gone (or native code stashed it): the value
        # is read from the engine's result (_values.decode).
        return EventualResult(handle.value)
    lib.crochet_result_release(handle.value)
    return result
