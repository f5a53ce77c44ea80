"""Deferred (results produced later on the reactor thread) and call_later."""

import ctypes
import sys
import traceback
import weakref

from . import _native, _runtime
from ._errors import AlreadyCalledError, CancelledError, Failure
from ._native import lib
from ._runtime import callbacks, error_for_status, logger, new_token

# token -> the Deferred whose canceller ctx it is, until it fires or is
# cancelled: a weak reference while only Python holds the Deferred, the
# Deferred itself once a call returned it (the library, which may cancel it
# any time, then holds it too).
_deferreds = {}
_runtime.shutdown_hooks.append(_deferreds.clear)


def _run_canceller(_handle, token):
    """crochet_canceller (reactor thread): the deferred is being cancelled."""
    try:
        entry = _deferreds.pop(token, None)
        d = entry() if isinstance(entry, weakref.ref) else entry
        if d is not None:
            d._engine_cancelled()
    except BaseException:
        try:
            logger.exception("Unhandled error while cancelling a Deferred")
        except BaseException:
            pass


_CANCELLER_THUNK = _native.CANCELLER_FN(_run_canceller)
try:
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(_CANCELLER_THUNK))
except (AttributeError, OSError):  # pragma: no cover - not CPython
    pass

_NULL_POINTER = _native.Value(type=_native.TYPE_POINTER)


def describe(exc, tb=None):
    """The traceback text of an exception, as Python prints it."""
    if tb is None:
        tb = exc.__traceback__
    return "".join(traceback.format_exception(type(exc), exc, tb))


def failure_code(exc):
    return _native.ECANCELLED if isinstance(exc, CancelledError) else _native.EFAILED


def c_message(text):
    return text.replace("\0", "\\0").encode("utf-8", "replace")


class Deferred:
    """Twisted's Deferred for the reactor thread: a result that a function run
    by run_in_reactor or wait_for returns to finish later. Fire it once with
    callback(value) or errback(exception). cancel() (also reached through
    EventualResult.cancel() and wait_for's timeout) runs the canceller, which
    may fire it; if it does not, it fails with CancelledError.

    Every method, and the constructor, may only be called on the reactor
    thread (from another thread use libcrochet.call_from_thread)."""

    def __init__(self, canceller=None):
        if canceller is not None and not callable(canceller):
            raise TypeError("canceller must be callable or None, not %s"
                            % type(canceller).__name__)
        self._handle = None
        self._canceller = canceller
        self._state = "pending"     # pending, succeeded, failed, cancelled
        self._result = None
        self._exc = None
        self._tb = None
        self._tb_text = None
        token = new_token()
        handle = ctypes.c_void_p()
        _deferreds[token] = weakref.ref(self)
        status = lib.crochet_deferred_new(ctypes.byref(handle), _CANCELLER_THUNK, token)
        if status != _native.OK:
            _deferreds.pop(token, None)
            raise error_for_status(status, "Deferred()")
        self._token = token
        self._handle = handle.value

    @property
    def called(self):
        """Whether it fired (or was cancelled)."""
        return self._state != "pending"

    def _check_thread(self, what):
        if not _runtime.in_reactor_thread():
            raise error_for_status(_native.ENOTREACTOR, "Deferred.%s()" % what)

    def _check_unfired(self):
        if self._state != "pending":
            raise AlreadyCalledError("the Deferred has already fired")

    def callback(self, result=None):
        """Fires the Deferred with a value. Silently ignored after cancel()."""
        self._check_thread("callback")
        if isinstance(result, Deferred):
            raise TypeError("a Deferred cannot be fired with another Deferred")
        if self._state == "cancelled":
            return
        self._check_unfired()
        self._result = result
        self._state = "succeeded"
        _deferreds.pop(self._token, None)
        status = lib.crochet_deferred_callback(self._handle, _NULL_POINTER)
        if status != _native.OK:
            raise error_for_status(status, "Deferred.callback()")

    def errback(self, fail=None):
        """Fires the Deferred with an exception (an instance, a class, a
        Failure, or None for the exception being handled). Silently ignored
        after cancel()."""
        self._check_thread("errback")
        if fail is None:
            fail = sys.exc_info()[1]
            if fail is None:
                raise TypeError("errback() needs an exception, or must be called while "
                                "one is being handled")
        if isinstance(fail, type) and issubclass(fail, BaseException):
            fail = fail()
        if isinstance(fail, Failure):
            exc, tb, text = fail.value, fail.tb, fail.getTraceback()
        elif isinstance(fail, BaseException):
            exc, tb = fail, fail.__traceback__
            text = describe(exc, tb)
        else:
            raise TypeError("errback() needs an exception, not %s" % type(fail).__name__)
        if self._state == "cancelled":
            return
        self._check_unfired()
        self._exc, self._tb, self._tb_text = exc, tb, text
        self._state = "failed"
        _deferreds.pop(self._token, None)
        status = lib.crochet_deferred_errback(self._handle, failure_code(exc), c_message(text))
        if status != _native.OK:
            raise error_for_status(status, "Deferred.errback()")

    def cancel(self):
        """Cancels the Deferred if it has not fired: its canceller runs, and if
        that does not fire it, it fails with CancelledError. Otherwise nothing."""
        self._check_thread("cancel")
        lib.crochet_deferred_cancel(self._handle)

    def _engine_cancelled(self):
        canceller, self._canceller = self._canceller, None
        if canceller is not None:
            try:
                canceller(self)
            except BaseException:
                logger.exception("Unhandled error in a Deferred canceller")
        if self._state == "pending":
            self._state = "cancelled"   # the library fails it with ECANCELLED

    def _retained_handle(self):
        """A reference for the engine (a call that returned this Deferred)."""
        if self._token in _deferreds:
            _deferreds[self._token] = self   # its canceller may run any time now
        return lib.crochet_deferred_retain(self._handle)

    def __repr__(self):
        return "<libcrochet.Deferred %s>" % self._state

    def __del__(self, _release=lib.crochet_deferred_release, _registry=_deferreds):
        try:
            token = getattr(self, "_token", None)
            if isinstance(_registry.get(token), weakref.ref):
                del _registry[token]
            if self._handle:
                _release(self._handle)
                self._handle = None
        except BaseException:
            pass


class DelayedCall:
    """A call scheduled by call_later()."""

    def __init__(self, handle, token):
        self._handle = handle
        self._token = token

    def active(self):
        """Whether it is still due to run."""
        return self._token in callbacks

    def cancel(self):
        """Cancels it so that it never runs. AlreadyCalledError if it already
        ran (or started running) or was cancelled."""
        status = lib.crochet_delayed_call_cancel(self._handle)
        if status == _native.EALREADY:
            raise AlreadyCalledError("the delayed call already ran or was cancelled")
        if status != _native.OK:
            raise error_for_status(status, "DelayedCall.cancel()")
        callbacks.pop(self._token, None)

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
    d = _runtime.seconds(delay, "delay", allow_none=False)
    if d == float("inf"):
        raise ValueError("delay must be finite")
    if not callable(f):
        raise TypeError("call_later() needs a callable, not %s" % type(f).__name__)
    token = new_token()
    callbacks[token] = (f, args, kwargs)
    handle = ctypes.c_void_p()
    status = lib.crochet_call_later(ctypes.byref(handle), d, _runtime.CALLBACK_THUNK, token)
    if status != _native.OK:
        callbacks.pop(token, None)
        raise error_for_status(status, "call_later()")
    return DelayedCall(handle.value, token)
