"""Deferred: a view of the engine's crochet_deferred for Python code on the
reactor thread. The engine keeps its state (fired, cancelled, the value it
fired with); the view keeps the Python exception it failed with, so that a
waiter that can reach the view gets the very exception object."""

import ctypes
import sys
import weakref

from . import _held, _native, _values
from ._errors import Failure, PythonFailure, describe
from ._logging import logger
from ._native import lib
from ._status import check, error_for_status


def _run_canceller(handle, ctx):
    """crochet_canceller (reactor thread): ctx holds (weak view, canceller)."""
    try:
        ref, canceller = _held.get(ctx)
        d = ref() or Deferred._view(handle)
        d.called = True
        if canceller is not None:
            canceller(d)
    except BaseException:
        try:
            logger.exception("Unhandled error in a Deferred canceller")
        except BaseException:
            pass


_CANCELLER_THUNK = _native.CANCELLER_FN(_run_canceller)   # never freed


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
        self.called = False     # fired or cancelled
        self._failure = None    # the PythonFailure it was failed with
        handle = ctypes.c_void_p()
        # The canceller's ctx refers to this view weakly: the engine holding
        # it must not keep the view (which holds the deferred) alive.
        ctx = _held.hold((weakref.ref(self), canceller))
        check(lib.crochet_deferred_new(ctypes.byref(handle), _CANCELLER_THUNK, ctx, _held.DROP),
              "Deferred()")
        self._handle = handle.value

    @classmethod
    def _view(cls, handle):
        """Another view of a deferred (for a canceller whose view is gone)."""
        d = cls.__new__(cls)
        d._handle = lib.crochet_deferred_retain(handle)
        d.called, d._failure = False, None
        return d

    def callback(self, result=None):
        """Fires the Deferred with a value. Silently ignored after cancel()."""
        if isinstance(result, Deferred):
            raise TypeError("a Deferred cannot be fired with another Deferred")
        check(_values.fire(self._handle, result), "Deferred.callback()")
        self.called = True

    def errback(self, fail=None):
        """Fires the Deferred with an exception (an instance, a class, a
        Failure, or None for the exception being handled). Silently ignored
        after cancel()."""
        if fail is None:
            fail = sys.exc_info()[1]
            if fail is None:
                raise TypeError("errback() needs an exception, or must be called while "
                                "one is being handled")
        if isinstance(fail, type) and issubclass(fail, BaseException):
            fail = fail()
        if isinstance(fail, Failure):
            failure = PythonFailure(fail.value, fail.tb, fail.getTraceback())
        elif isinstance(fail, BaseException):
            failure = PythonFailure(fail, fail.__traceback__, describe(fail))
        else:
            raise TypeError("errback() needs an exception, not %s" % type(fail).__name__)
        # Set before firing: waiters wake while the engine fires.
        previous, self._failure = self._failure, failure
        status = lib.crochet_deferred_errback(self._handle, failure.code, failure.message)
        if status != _native.OK:
            self._failure = previous
            raise error_for_status(status, "Deferred.errback()")
        self.called = True

    def cancel(self):
        """Cancels the Deferred if it has not fired: its canceller runs, and if
        that does not fire it, it fails with CancelledError. Otherwise nothing."""
        status = lib.crochet_deferred_cancel(self._handle)
        if status not in (_native.OK, _native.EALREADY):
            raise error_for_status(status, "Deferred.cancel()")
        self.called = True

    def _retained_handle(self):
        """A reference for the engine (a call that returned this Deferred)."""
        return lib.crochet_deferred_retain(self._handle)

    def __repr__(self):
        return "<libcrochet.Deferred %s>" % ("called" if self.called else "pending")

    def __del__(self, _release=lib.crochet_deferred_release):
        try:
            if self._handle:
                _release(self._handle)
                self._handle = None
        except BaseException:
            pass
