"""Python functions run on the reactor thread (crochet_submit_closure_named),
and the run_in_reactor / wait_for decorators.

A Python call is the closure's ctx: the engine holds it (_held) from the
submission until destroy, which it calls after the function returned, or when
the call was cancelled before it started or dropped at stop. The closure
returns the function's value as _values.py says (owned by the result), or
the Deferred it returned, whose reference goes to the engine; an exception is
crochet_raise(code, traceback text), and the call keeps the exception object
for the EventualResult, which holds the call.

Each call is named for diagnostics (EventualResult.info(), stall warnings,
timeouts) by its callable's module.__qualname__, interned once for the
process (_operability.name_of): a decorated function's name is looked up
when it is decorated, so calls cost nothing for it.

Types: run_in_reactor turns a Callable[P, T] into a Callable[P,
EventualResult[T]], wait_for(timeout) turns it into a Callable[P, T]: the
decorated function keeps its parameters (the overloads below). A coroutine
function's T is what it returns; a function that returns a Deferred[T]
(libcrochet's or Twisted's) gives a T; a ctypes foreign function gives Any.
"""

from __future__ import annotations

import ctypes
import functools
import numbers
import types
from typing import (TYPE_CHECKING, Any, Callable, Coroutine, Dict, Optional, Tuple, TypeVar,
                    overload)

from . import _closure, _coroutine, _followed, _foreign, _held, _native, _operability, _values
from ._args import wait_seconds
from ._deferred import Deferred
from ._errors import PythonFailure, TimeoutError
from ._lifecycle import in_reactor_thread
from ._logging import logger
from ._native import lib
from ._results import EventualResult
from ._status import error_for_status

if TYPE_CHECKING:
    from typing_extensions import ParamSpec, Protocol

    from ._deferred import DeferredLike

    _P = ParamSpec("_P")
    _C = TypeVar("_C")

    # submit(args, kwargs, what): submits a call, returns its EventualResult.
    _Submit = Callable[[Tuple[Any, ...], Dict[str, Any], str], EventualResult[Any]]

_T = TypeVar("_T")

_VOID = _native.Value(_native.TYPE_VOID)
_COROUTINE = types.CoroutineType

# Set by twistedreactor.install(): maps what a function returned to a
# Deferred that follows it (a Twisted Deferred, a coroutine) or returns it.
# Without it a coroutine runs with _coroutine.ensureDeferred.
adapt_result: Optional[Callable[[Any], Any]] = None


class PythonCall:
    """A Python function and its arguments until it runs on the reactor
    thread; then the exception it raised, or the Deferred it returned."""

    __slots__ = ("function", "args", "kwargs", "raised", "deferred", "needs_text")

    function: Optional[Callable[..., Any]]
    args: Optional[Tuple[Any, ...]]
    kwargs: Optional[Dict[str, Any]]
    raised: Optional[PythonFailure]
    deferred: Optional[Deferred[Any]]

    def __init__(self, function: Callable[..., Any], args: Tuple[Any, ...],
                 kwargs: Dict[str, Any]) -> None:
        self.function, self.args, self.kwargs = function, args, kwargs
        self.raised = self.deferred = None
        # Set when the failure may be read without the exception object (its
        # EventualResult is gone, or stashed): the engine then gets the
        # traceback text, else only the exception's last line (_results.py).
        self.needs_text = False

    def run(self) -> _native.Value:
        """Reactor thread: calls the function; returns the closure's value."""
        function: Callable[..., Any]   # (set until it runs, which is once)
        args: Tuple[Any, ...]
        kwargs: Dict[str, Any]
        function, args, kwargs = self.function, self.args, self.kwargs  # type: ignore[assignment]
        self.function = self.args = self.kwargs = None
        try:
            result = function(*args, **kwargs)
            if not isinstance(result, Deferred):
                if adapt_result is not None:
                    result = adapt_result(result)
                elif type(result) is _COROUTINE:
                    result = _coroutine.ensureDeferred(result)
        except BaseException as e:
            tb = e.__traceback__
            if tb is not None and tb.tb_frame.f_code is PythonCall.run.__code__:
                tb = tb.tb_next   # not our own frame
            failure = self.raised = PythonFailure(e, tb)
            if self.needs_text:   # read after `raised` is set (see _results.py)
                failure.format()
            lib.crochet_raise(failure.code, failure.message)
            return _VOID
        finally:
            del function, args, kwargs
        if isinstance(result, Deferred):
            self.deferred = result
            v = _native.Value(_native.TYPE_DEFERRED)
            v.u.ptr = _followed.engine_handle(result)
            return v
        return _values.returned(result)

    def failure(self, code: int, message: bytes) -> Optional[PythonFailure]:
        """The PythonFailure behind the engine's failure (code, message), if
        the function raised it or the Deferred it returned failed with it."""
        for failure in (self.raised, self.deferred and _followed.failure_of(self.deferred)):
            if failure and failure.matches(code, message):
                return failure
        return None


def _run(ctx: Optional[int]) -> _native.Value:
    """The closure (reactor thread): crochet_value run(void *ctx)."""
    try:
        return _held.get(ctx).run()  # type: ignore[no-any-return]   # a PythonCall's
    except BaseException as e:
        try:
            logger.exception("libcrochet: internal error running a call")
            lib.crochet_raise(_native.EFAILED, ("libcrochet: %r" % (e,)).encode())
        except BaseException:
            pass
        return _VOID


_RUN = _closure.closure_fn(_run)


def submit_python(function: Callable[..., Any], args: Tuple[Any, ...], kwargs: Dict[str, Any],
                  what: str, name: Optional[bytes] = None) -> EventualResult[Any]:
    """Submits function(*args, **kwargs); name: its interned name (bytes
    from _operability.name_of), looked up here when not given."""
    call = PythonCall(function, args, kwargs)
    handle = ctypes.c_void_p()
    if name is None:
        name = _operability.name_of(function)
    status = lib.crochet_submit_closure_named(ctypes.byref(handle), _RUN, _held.hold(call),
                                              _held.DROP, name)
    if status != _native.OK:
        raise error_for_status(status, what)   # the engine has destroyed the ctx
    return EventualResult(handle.value, call=call)


# ---------------------------------------------------------------------------
# The decorators
# ---------------------------------------------------------------------------

def _submitter(function: Any, decorator: str
               ) -> Tuple[_Submit, Optional[_foreign.NativeFunction], str]:
    """(submit(args, kwargs, what), NativeFunction or None, the name
    diagnostics give it) for `function`."""
    if isinstance(function, ctypes._CFuncPtr):  # type: ignore[attr-defined]
        native = _foreign.NativeFunction(function)
        return native.submit, native, native.name
    if not callable(function):
        raise TypeError("%s needs a callable (a function, or a ctypes foreign function with "
                        "argtypes and restype set), not %s" % (decorator, type(function).__name__))
    name = _operability.name_of(function)   # once: interned for the process
    return ((lambda args, kwargs, what: submit_python(function, args, kwargs, what, name)), None,
            name.decode("utf-8", "replace"))


def _wraps(wrapper: Callable[..., Any], function: Any,
           native: Optional[_foreign.NativeFunction]) -> Callable[..., Any]:
    functools.update_wrapper(wrapper, function)
    wrapper.wrapped_function = function  # type: ignore[attr-defined]   # crochet's __wrapped__
    if native is not None:
        wrapper.__signature__ = native.python_signature()  # type: ignore[attr-defined]
    return wrapper


def _method_descriptor(function: Any, decorate: Callable[[Any], Any]) -> Any:
    """For a classmethod or staticmethod: the same kind of descriptor around
    the decorated function (so the decorators stack either way round, as
    crochet's do); else None."""
    if isinstance(function, (classmethod, staticmethod)):
        return type(function)(decorate(function.__func__))
    return None


@overload
def run_in_reactor(function: staticmethod[_P, _T]) -> staticmethod[_P, EventualResult[_T]]: ...


@overload
def run_in_reactor(function: classmethod[_C, _P, _T]) -> classmethod[_C, _P, EventualResult[_T]]: ...


@overload
def run_in_reactor(  # type: ignore[overload-overlap,unused-ignore]
        function: Callable[_P, Coroutine[Any, Any, _T]]) -> Callable[_P, EventualResult[_T]]: ...


@overload
def run_in_reactor(function: Callable[_P, DeferredLike[_T]]) -> Callable[_P, EventualResult[_T]]: ...


@overload
def run_in_reactor(function: Callable[_P, _T]) -> Callable[_P, EventualResult[_T]]: ...


def run_in_reactor(function: Any) -> Any:
    """Decorator: calling the decorated function runs it on the reactor thread
    and returns an EventualResult at once.

    `function` is a Python callable (it may return a libcrochet.Deferred to
    finish later, or be an `async def` function, whose coroutine then runs
    on the reactor thread), or a ctypes foreign function whose argtypes and
    restype are set, which the reactor thread then calls natively (no Python
    code runs there). It may be applied to a method, and above or below
    @classmethod and @staticmethod."""
    descriptor = _method_descriptor(function, run_in_reactor)
    if descriptor is not None:
        return descriptor
    submit, native, _name = _submitter(function, "run_in_reactor()")
    what = "%s()" % getattr(function, "__name__", "function")

    def wrapper(*args: Any, **kwargs: Any) -> EventualResult[Any]:
        return submit(args, kwargs, what)

    return _wraps(wrapper, function, native)


if TYPE_CHECKING:
    class _WaitFor(Protocol):
        """What wait_for(timeout) returns: the decorator."""

        @overload
        def __call__(self, function: staticmethod[_P, _T], /) -> staticmethod[_P, _T]: ...

        @overload
        def __call__(self, function: classmethod[_C, _P, _T], /) -> classmethod[_C, _P, _T]: ...

        @overload
        def __call__(  # type: ignore[overload-overlap,unused-ignore]
                self, function: Callable[_P, Coroutine[Any, Any, _T]], /) -> Callable[_P, _T]: ...

        @overload
        def __call__(self, function: Callable[_P, DeferredLike[_T]], /) -> Callable[_P, _T]: ...

        @overload
        def __call__(self, function: Callable[_P, _T], /) -> Callable[_P, _T]: ...


def wait_for(timeout: float) -> _WaitFor:
    """Decorator factory: calling the decorated function runs it on the
    reactor thread and waits up to `timeout` seconds for its result, which it
    returns (or raises its exception). On timeout the call (or the Deferred it
    returned) is cancelled and TimeoutError raised; its message says where the
    call was (not started, running, waiting on a Deferred) and one WARNING
    with the same words goes to the "libcrochet" logger (as the library's
    crochet_wait_for does). RuntimeError when called on the reactor thread.
    Accepts the same functions as run_in_reactor (and stacks with
    @classmethod and @staticmethod the same way)."""
    if callable(timeout) and not isinstance(timeout, numbers.Real):
        raise TypeError("wait_for() takes a timeout in seconds: use @wait_for(timeout=...)")
    t = wait_seconds(timeout, allow_none=False)   # negative: polls, as crochet

    def decorator(function: Any) -> Any:
        descriptor = _method_descriptor(function, decorator)
        if descriptor is not None:
            return descriptor
        submit, native, name = _submitter(function, "wait_for()")
        what = "%s()" % getattr(function, "__name__", "function")
        waited = "wait_for(%s, %s s)" % (name, "%g" % t)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if in_reactor_thread():
                raise error_for_status(_native.EREACTORTHREAD, what)
            result = submit(args, kwargs, what)
            try:
                return result.wait(t)
            except TimeoutError as e:
                info = e.info   # the facts when the wait gave up, before the cancel
                result.cancel()
                error = TimeoutError("%s timed out: %s" % (waited, info) if info is not None
                                     else "%s timed out" % waited)
                error.info = info
                logger.warning("%s", error)
                raise error from None
            except KeyboardInterrupt:
                result.cancel()
                raise

        return _wraps(wrapper, function, native)

    return decorator
