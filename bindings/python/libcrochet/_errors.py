"""Exceptions and the Failure returned by EventualResult.original_failure()."""


class CrochetError(Exception):
    """Base class of libcrochet's own exceptions."""


class TimeoutError(CrochetError):  # noqa: A001 - crochet.TimeoutError's name
    """A timeout has been hit: no result within the time given to wait()."""


class ReactorStopped(CrochetError):
    """The reactor has stopped, and therefore no result will ever become
    available from this EventualResult."""


class CancelledError(CrochetError):
    """The call was cancelled (Twisted's CancelledError)."""


class AlreadyCalledError(CrochetError):
    """A Deferred fired twice, or a delayed call was cancelled after it ran
    or was cancelled."""


class CallFailed(CrochetError):
    """A native function failed: it called crochet_raise(code, message), or a
    native deferred it returned failed. `traceback` holds the native frames
    where the failure was raised (crochet_failure_traceback)."""

    def __init__(self, code, message, traceback=""):
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.traceback = traceback

    def __str__(self):
        return "native call failed with code %d: %s" % (self.code, self.message)


class Failure:
    """Why a result failed, as crochet's original_failure() gives it: `value`
    is the exception wait() raises, getTraceback() the traceback text from the
    reactor side (the Python traceback for a Python exception, the native
    frames for a native failure). `code` and `message` are the C failure's."""

    def __init__(self, value, traceback_text, code, message, tb=None):
        self.value = value
        self.type = type(value)
        self.code = code
        self.message = message
        self.tb = tb
        self._traceback_text = traceback_text

    def getTraceback(self):  # noqa: N802 - Twisted's name
        return self._traceback_text

    def raiseException(self):  # noqa: N802 - Twisted's name
        raise self.value.with_traceback(self.tb)

    def __repr__(self):
        return "<libcrochet.Failure %s: %s>" % (self.type.__name__, self.value)
