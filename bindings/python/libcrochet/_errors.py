"""Exceptions, the Failure returned by EventualResult.original_failure(), and
how a Python exception becomes a C failure (crochet_raise's code and message)."""

import traceback as _traceback


class CrochetError(Exception):
    """Base class of libcrochet's own exceptions."""


class TimeoutError(CrochetError):  # noqa: A001 - crochet.TimeoutError's name
    """A timeout has been hit: no result within the time given to wait().

    Its message says why, from the call's facts at that moment: "`f` has not
    started: queued for ... behind other work on the reactor thread", "`f`
    has been running for 2.00 s on the reactor thread (queued 3 ms)" or "`f`
    returned a deferred that has not fired for ...". `info` is that
    ResultInfo (EventualResult.info()), or None."""

    info = None


class ReactorStopped(CrochetError):
    """The reactor has stopped, and therefore no result will ever become
    available from this EventualResult."""


class CancelledError(CrochetError):
    """The call was cancelled (Twisted's CancelledError)."""


class AlreadyCalledError(CrochetError):
    """A Deferred fired twice, or a delayed call was cancelled after it ran
    or was cancelled."""


class TryAgain(CrochetError):
    """A configured bound is reached (CROCHET_EAGAIN: too many queued calls,
    or the result store is full): retry later."""


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


def describe(exc, tb=None):
    """The traceback text of an exception, as Python prints it."""
    if tb is None:
        tb = exc.__traceback__
    return "".join(_traceback.format_exception(type(exc), exc, tb))


def failure_code(exc):
    """The C failure code of a Python exception: CancelledError keeps its
    meaning (CROCHET_ECANCELLED), anything else is CROCHET_EFAILED."""
    from ._native import ECANCELLED, EFAILED
    return ECANCELLED if isinstance(exc, CancelledError) else EFAILED


def c_message(text):
    """A failure message as the C API takes it (NUL-free UTF-8)."""
    return text.replace("\0", "\\0").encode("utf-8", "replace")


class PythonFailure:
    """A Python exception that failed a call, kept by whatever the waiter can
    reach (the call, or the Deferred it fired): (exception, traceback, text),
    and the code and message the engine was given, to recognise it."""

    __slots__ = ("value", "tb", "text", "code", "message")

    def __init__(self, value, tb, text):
        self.value, self.tb, self.text = value, tb, text
        self.code = failure_code(value)
        self.message = c_message(text)

    def matches(self, code, message):
        """Whether the engine's failure (code, message bytes) is this one."""
        return code == self.code and message == self.message
