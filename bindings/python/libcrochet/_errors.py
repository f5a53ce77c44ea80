"""Exceptions, the Failure returned by EventualResult.original_failure(), and
how a Python exception becomes a C failure (crochet_raise's code and message)."""

from __future__ import annotations

import sys as _sys
import traceback as _traceback
from typing import (TYPE_CHECKING, Any, Coroutine, Generator, List, NoReturn, Optional, Type,
                    TypeVar, Union, overload)

if TYPE_CHECKING:
    from types import TracebackType

    from _typeshed import SupportsWrite

    from ._operability import ResultInfo

_E = TypeVar("_E", bound=BaseException)
_Y = TypeVar("_Y")


class CrochetError(Exception):
    """Base class of libcrochet's own exceptions."""


class TimeoutError(CrochetError):  # noqa: A001 - crochet.TimeoutError's name
    """A timeout has been hit: no result within the time given to wait().

    Its message says why, from the call's facts at that moment: "`f` has not
    started: queued for ... behind other work on the reactor thread", "`f`
    has been running for 2.00 s on the reactor thread (queued 3 ms)" or "`f`
    returned a deferred that has not fired for ...". `info` is that
    ResultInfo (EventualResult.info()), or None."""

    info: Optional[ResultInfo] = None


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

    def __init__(self, code: int, message: str, traceback: str = "") -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.traceback = traceback

    def __str__(self) -> str:
        return "native call failed with code %d: %s" % (self.code, self.message)


class Failure:
    """Why something failed, as Twisted's Failure: an exception and where it
    was raised. EventualResult.original_failure() gives one (crochet's
    original_failure()), and a Deferred's errbacks are called with one.

    Failure(exc_value=None, exc_type=None, exc_tb=None), as Twisted's: the
    exception being handled when exc_value is None (TypeError if there is
    none), else exc_value (an exception, or an exception class, which is
    instantiated) with exc_tb, or its __traceback__.

    `value` is the exception, `type` its class, `tb` its traceback (None for
    a failure that came from native code). getTraceback() is the traceback
    text: for a failed EventualResult, the text from the reactor side (the
    Python traceback for a Python exception, the native frames for a native
    failure). `code` and `message` are the C failure's (crochet_failure_code
    and crochet_failure_message) for a Failure from an EventualResult, None
    for one made in Python."""

    @overload
    def __init__(self, exc_value: Union[BaseException, Type[BaseException], None] = None,
                 exc_type: Optional[Type[BaseException]] = None,
                 exc_tb: Optional[TracebackType] = None) -> None: ...

    @overload
    def __init__(self, exc_value: BaseException, exc_type: str, exc_tb: Optional[int],
                 message: Optional[str], tb: Optional[TracebackType]) -> None: ...

    def __init__(self, exc_value: Any = None, exc_type: Any = None, exc_tb: Any = None,
                 message: Optional[str] = None, tb: Optional[TracebackType] = None) -> None:
        code: Optional[int] = None
        text: Optional[str] = None
        if isinstance(exc_type, str):
            # The binding's own form, Failure(value, traceback_text, code,
            # message, tb): a failure whose text comes from the reactor side.
            text, code, exc_type, exc_tb = exc_type, exc_tb, None, tb
        elif message is not None or tb is not None:
            raise TypeError("Failure() takes exc_value, exc_type and exc_tb")
        if exc_value is None:
            exc_type, exc_value, exc_tb = _sys.exc_info()
            if exc_value is None:
                raise TypeError("Failure() needs an exception, or must be made while one is "
                                "being handled")
        elif isinstance(exc_value, type) and issubclass(exc_value, BaseException):
            exc_value = exc_value()
        elif not isinstance(exc_value, BaseException):
            raise TypeError("Failure() needs an exception, not %s" % type(exc_value).__name__)
        if exc_tb is None and text is None:
            exc_tb = exc_value.__traceback__
        self.value: BaseException = exc_value
        self.type: Type[BaseException] = exc_type if exc_type is not None else type(exc_value)
        self.tb: Optional[TracebackType] = exc_tb
        self.code: Optional[int] = code
        self.message: Optional[str] = message
        self._traceback_text: Optional[str] = text

    @property
    def parents(self) -> List[str]:
        """The qualified names of the exception's class and its bases
        (Twisted's Failure.parents), which check() also matches."""
        return ["%s.%s" % (c.__module__, c.__qualname__) for c in self.type.__mro__]

    @overload
    def check(self, *errorTypes: Type[_E]) -> Optional[Type[_E]]: ...  # noqa: N802,N803

    @overload
    def check(self, *errorTypes: Union[str, Type[BaseException]]  # noqa: N803
              ) -> Union[str, Type[BaseException], None]: ...

    def check(self, *errorTypes: Union[str, Type[BaseException]]  # noqa: N802,N803 - Twisted's
              ) -> Union[str, Type[BaseException], None]:
        """The first of errorTypes (exception classes, or their qualified
        names as strings) that the exception is an instance of; None if it
        is none of them."""
        for error in errorTypes:
            if isinstance(error, str):
                if error in self.parents:
                    return error
            elif isinstance(error, type) and issubclass(self.type, error):
                return error
        return None

    @overload
    def trap(self, *errorTypes: Type[_E]) -> Type[_E]: ...  # noqa: N803

    @overload
    def trap(self, *errorTypes: Union[str, Type[BaseException]]  # noqa: N803
             ) -> Union[str, Type[BaseException]]: ...

    def trap(self, *errorTypes: Union[str, Type[BaseException]]  # noqa: N803
             ) -> Union[str, Type[BaseException]]:
        """In an errback: returns the matching error type (as check()), or
        raises the exception again, so that the failure goes on down the
        errback chain, unchanged, when it is none of errorTypes."""
        error = self.check(*errorTypes)
        if error is None:
            self.raiseException()
        return error

    def getErrorMessage(self) -> str:  # noqa: N802
        """The exception's message: str(value)."""
        try:
            return str(self.value)
        except BaseException:
            return "<%s instance: str() failed>" % self.type.__name__

    def getTraceback(self, elideFrameworkCode: int = False,  # noqa: N802,N803
                     detail: str = "default") -> str:
        """The traceback as text, as Python prints it (detail "default" or
        "verbose"), or in brief: one line for the exception and one per
        frame (detail "brief"). ValueError for another detail."""
        if detail == "brief":
            return self._brief()
        if detail not in ("default", "verbose"):
            raise ValueError("detail must be 'default', 'brief' or 'verbose', not %r" % (detail,))
        if self._traceback_text is None:
            self._traceback_text = describe(self.value, self.tb)
        return self._traceback_text

    def _brief(self) -> str:
        lines = ["Traceback: %s: %s\n" % (self.type.__name__, self.getErrorMessage())]
        for frame in _traceback.extract_tb(self.tb) if self.tb is not None else ():
            lines.append("%s:%s:%s\n" % (frame.filename, frame.lineno, frame.name))
        return "".join(lines)

    def printTraceback(self, file: Optional[SupportsWrite[str]] = None,  # noqa: N802
                       elideFrameworkCode: int = False,  # noqa: N803
                       detail: str = "default") -> None:
        """Writes getTraceback(detail=detail) to file (sys.stderr if None)."""
        (file if file is not None else _sys.stderr).write(
            self.getTraceback(elideFrameworkCode, detail))

    def printBriefTraceback(self, file: Optional[SupportsWrite[str]] = None,  # noqa: N802
                            elideFrameworkCode: int = False) -> None:  # noqa: N803
        """printTraceback(file, detail="brief")."""
        self.printTraceback(file, elideFrameworkCode, detail="brief")

    def getTracebackObject(self) -> Optional[TracebackType]:  # noqa: N802
        """The traceback object (None for a native failure)."""
        return self.tb

    def raiseException(self) -> NoReturn:  # noqa: N802
        """Raises the exception, with its traceback."""
        raise self.value.with_traceback(self.tb)

    def throwExceptionIntoGenerator(  # noqa: N802
            self, g: Union[Generator[_Y, Any, Any], Coroutine[_Y, Any, Any]]) -> _Y:
        """Throws the exception into a generator or coroutine g (g.throw) and
        returns what g yields next."""
        return g.throw(self.value.with_traceback(self.tb))

    def __repr__(self) -> str:
        return "<libcrochet.Failure %s: %s>" % (self.type.__name__, self.value)

    def __str__(self) -> str:
        return "[Failure instance: %s]" % self.getTraceback(detail="brief").rstrip("\n")


def describe(exc: BaseException, tb: Optional[TracebackType] = None) -> str:
    """The traceback text of an exception, as Python prints it."""
    if tb is None:
        tb = exc.__traceback__
    return "".join(_traceback.format_exception(type(exc), exc, tb))


def failure_code(exc: BaseException) -> int:
    """The C failure code of a Python exception: CancelledError keeps its
    meaning (CROCHET_ECANCELLED), anything else is CROCHET_EFAILED."""
    from ._native import ECANCELLED, EFAILED
    return ECANCELLED if isinstance(exc, CancelledError) else EFAILED


def c_message(text: str) -> bytes:
    """A failure message as the C API takes it (NUL-free UTF-8)."""
    return text.replace("\0", "\\0").encode("utf-8", "replace")


def last_line(exc: BaseException) -> str:
    """The last line of an exception's traceback text, as Python prints it
    ("ValueError: bad"), without formatting the traceback."""
    kind = type(exc)
    name = kind.__qualname__
    if kind.__module__ not in ("builtins", "__main__"):
        name = "%s.%s" % (kind.__module__, name)
    try:
        text = str(exc)
    except BaseException:
        text = "<exception str() failed>"
    return "%s: %s" % (name, text) if text else name


class PythonFailure:
    """A Python exception that failed a call, kept by whatever the waiter can
    reach (the call, or the Deferred it fired): (exception, traceback, text),
    and the code and message the engine was given, to recognise it.

    Without `text`, the traceback is formatted only when it is read, and the
    engine's message is the exception's last line ("ValueError: bad"); a
    failure whose engine message must carry the traceback calls format()
    before it is given to the engine."""

    __slots__ = ("value", "tb", "_text", "code", "message")

    def __init__(self, value: BaseException, tb: Optional[TracebackType],
                 text: Optional[str] = None) -> None:
        self.value, self.tb, self._text = value, tb, text
        self.code = failure_code(value)
        self.message = c_message(text if text is not None else last_line(value))

    @property
    def text(self) -> str:
        """The traceback text, as Python prints it (formatted once, now)."""
        if self._text is None:
            self._text = describe(self.value, self.tb)
        return self._text

    def format(self) -> None:
        """Formats the traceback now, and makes it the engine's message."""
        self.message = c_message(self.text)

    def matches(self, code: int, message: bytes) -> bool:
        """Whether the engine's failure (code, message bytes) is this one."""
        return code == self.code and message == self.message
