"""EventualResult, the result store (stash / retrieve_result)."""

import ctypes
import numbers
import threading
import time

from . import _native, _runtime
from ._errors import CallFailed, CancelledError, Failure, ReactorStopped, TimeoutError
from ._native import lib
from ._runtime import error_for_status, logger, pending

_failure_lock = threading.Lock()
_stash_lock = threading.Lock()
# id -> the EventualResult stashed under it, so retrieve_result returns the
# very object that was stashed (the native store holds its own reference).
_stash = {}


def plain_value(v):
    """A crochet_value as a Python value, from its type tag alone."""
    if v.type == _native.TYPE_VOID:
        return None
    field = _native.FIELD_OF_TYPE.get(v.type)
    if field is None:
        raise ValueError("unknown crochet_type tag %d" % v.type)
    return getattr(v.u, field)


class EventualResult:
    """The eventual outcome of a call run on the reactor thread (crochet's
    EventualResult). Made by functions decorated with run_in_reactor; do not
    create it yourself."""

    def __init__(self, handle, call=None, native=None, token=None):
        # One reference to the native result, ours.
        self._handle = handle
        self._call = call        # a _calls.PythonCall, for Python functions
        self._native = native    # a _calls.NativeCall, for ctypes functions
        self._token = token      # its key in _runtime.pending, if any
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
                piece = min(remaining, _runtime.WAIT_SLICE)
            else:
                remaining, piece = float("inf"), _runtime.WAIT_SLICE
            status = lib.crochet_wait(self._handle, piece, ref)
            if status != _native.ETIMEDOUT or remaining <= piece:
                break
        if status != _native.ETIMEDOUT and self._token is not None:
            # The call has run (or never will): what it needed can go.
            pending.pop(self._token, None)
        return status, value

    def wait(self, timeout=None):
        """Returns the result, or raises the exception if the call failed.

        timeout is in seconds (None: no limit). TimeoutError if no result came
        within it; a later wait() still waits and returns the result once it
        exists. Once there is a result, every wait() returns (or raises) the
        same. RuntimeError on the reactor thread. ReactorStopped if the reactor
        stopped first; CancelledError if the call was cancelled."""
        t = _runtime.seconds(timeout)
        if _runtime.in_reactor_thread():
            raise error_for_status(_native.EREACTORTHREAD, "EventualResult.wait()")
        status, value = self._wait_status(t)
        if status == _native.OK:
            if self._call is not None:
                return self._call.value()
            if self._native is not None:
                return self._native.result(value)
            return plain_value(value)
        if status == _native.ETIMEDOUT:
            raise TimeoutError("no result within %r seconds" % (timeout,))
        if status in (_native.EFAILED, _native.ECANCELLED, _native.ESTOPPED):
            failure = self._get_failure()
            raise failure.value.with_traceback(failure.tb)
        raise error_for_status(status, "EventualResult.wait()")

    # -- failures ----------------------------------------------------------

    def _get_failure(self):
        with _failure_lock:
            if self._failure is not None:
                return self._failure
            f = lib.crochet_original_failure(self._handle)
            if not f:
                return None
            code = lib.crochet_failure_code(f)
            message = lib.crochet_failure_message(f).decode("utf-8", "replace")
            native_tb = lib.crochet_failure_traceback(f).decode("utf-8", "replace")
            raised = self._call.failure() if self._call is not None else None
            if raised is not None:
                value, tb, text = raised
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
        with _stash_lock:
            rid = ctypes.c_uint64()
            status = lib.crochet_stash(self._handle, ctypes.byref(rid))
            if status != _native.OK:
                raise error_for_status(status, "EventualResult.stash()")
            _stash[rid.value] = self
        return rid.value

    def __repr__(self):
        return "<libcrochet.EventualResult at %#x>" % id(self)

    def __del__(self, _release=lib.crochet_result_release):
        try:
            token = self._token
            if token is not None and token in pending:
                _runtime.queue_reaper(token)
        except BaseException:
            pass
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
    with _stash_lock:
        status = lib.crochet_retrieve(ctypes.byref(handle), rid)
        if status == _native.ENOTFOUND:
            raise KeyError(result_id)
        if status != _native.OK:
            raise error_for_status(status, "retrieve_result()")
        result = _stash.pop(rid, None)
    if result is None:
        # Stashed by native code: its values are read from their type tags.
        return EventualResult(handle.value)
    lib.crochet_result_release(handle.value)
    return result


def _log_stashed_failures():
    """At exit: logs the failures of results still stashed (as crochet does),
    and takes them out of the native store so the library does not log them
    again after logging has gone."""
    with _stash_lock:
        items = list(_stash.items())
    for rid, result in items:
        failure = result._get_failure()
        if failure is None:
            continue
        logger.error("Unhandled error in stashed EventualResult at exit: %r\n%s",
                     failure.value, failure.getTraceback())
        handle = ctypes.c_void_p()
        with _stash_lock:
            if lib.crochet_retrieve(ctypes.byref(handle), rid) == _native.OK:
                lib.crochet_result_release(handle.value)
                _stash.pop(rid, None)


_runtime.exit_hooks.append(_log_stashed_failures)
