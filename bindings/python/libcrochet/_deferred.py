"""Deferred: Twisted's Deferred for Python code on the reactor thread, with
its callback chain (addCallbacks and the rest), run in Python.

The chain is Twisted's: each callback gets the result the previous one
returned; a callback that raises (or returns a Failure) moves the chain to
the errbacks, an errback that returns a value moves it back; a callback that
returns a Deferred pauses the chain until that one fires, then the chain
goes on with its result. A failure left at the end of the chain when the
Deferred is garbage collected is logged as "Unhandled error in Deferred".

The engine (an EventualResult) follows a Deferred only when a function run
by run_in_reactor or wait_for returns it: _followed.py then adds the
crochet_deferred for it, fired by the chain's last callback. So a Deferred
costs no native call until the engine needs one.

Every method, and the constructor, is for the reactor thread; callback(),
errback(), cancel() and the constructor check it (RuntimeError elsewhere).

Types: Deferred[T] fires with a T, as Twisted's Deferred[T]; the chain
methods are typed as Twisted types them (a callback's result type is the
next Deferred's, its extra arguments are checked against its parameters).
"""

from __future__ import annotations

import sys
from typing import (TYPE_CHECKING, Any, Callable, Generator, Generic, Iterable, List, Mapping,
                    Optional, Tuple, Type, TypeVar, Union, overload)

from ._errors import AlreadyCalledError, CancelledError, Failure
from ._logging import logger
from ._native import lib
from . import _native
from ._status import error_for_status

if TYPE_CHECKING:
    from types import CodeType

    from typing_extensions import Concatenate, ParamSpec, Protocol

    from ._followed import Link

    _P = ParamSpec("_P")
    _T_co = TypeVar("_T_co", covariant=True)

    class DeferredLike(Protocol[_T_co]):
        """A Deferred that fires with a _T_co: libcrochet's or Twisted's
        (what a function run by run_in_reactor or wait_for, or a callback,
        may return; what a coroutine may await)."""

        def addBoth(self, callback: Any, *args: Any, **kwargs: Any) -> Any: ...  # noqa: N802

        def cancel(self) -> None: ...

        def __await__(self) -> Generator[Any, Any, _T_co]: ...

    class ForeignFailure(Protocol):
        """Twisted's Failure, as errback() takes it: its exception, and its
        traceback text."""

        @property
        def value(self) -> BaseException: ...

        def getTraceback(self) -> str: ...  # noqa: N802

    # What errback() and fail() take: a Failure (libcrochet's or Twisted's),
    # an exception instance or class, or None for the exception being handled.
    FailureLike = Union[Failure, ForeignFailure, BaseException, Type[BaseException], None]

    # One entry of the chain: (callable, args, kwargs).
    _Entry = Tuple[Any, Tuple[Any, ...], Mapping[str, Any]]

_T = TypeVar("_T")
_N = TypeVar("_N")   # the next Deferred's result: what a callback returns
_U = TypeVar("_U")

_NO_RESULT = object()   # the result before the Deferred fired
_CONTINUE = object()    # marks the entry through which a Deferred passes its result on
_NO_KWARGS: Mapping[str, Any] = {}


def _check_thread(what: str) -> None:
    if not lib.crochet_in_reactor_thread():
        raise error_for_status(_native.ENOTREACTOR, what)


def _twisted_deferred() -> Optional[Type[Any]]:
    """Twisted's Deferred class once twisted.internet.defer is imported, else
    None: a callback may return one, and a coroutine may await one."""
    defer = sys.modules.get("twisted.internet.defer")
    return getattr(defer, "Deferred", None)


def caught(frame_code: CodeType) -> Failure:
    """A Failure for the exception being handled, its traceback without the
    first frame when that frame runs frame_code (the chain's own frame)."""
    _, value, tb = sys.exc_info()
    if tb is not None and tb.tb_frame.f_code is frame_code:
        tb = tb.tb_next
    return Failure(value, exc_tb=tb)


def as_failure(fail: FailureLike) -> Failure:
    """What errback() takes, as a Failure: a Failure (libcrochet's, or
    Twisted's, converted), an exception instance or class, or None for the
    exception being handled."""
    if isinstance(fail, Failure):
        return fail
    if fail is None:
        if sys.exc_info()[1] is None:
            raise TypeError("errback() needs an exception, or must be called while one is "
                            "being handled")
        return Failure()
    if isinstance(fail, BaseException) or (isinstance(fail, type)
                                           and issubclass(fail, BaseException)):
        return Failure(fail)
    value = getattr(fail, "value", None)   # Twisted's Failure
    if isinstance(value, BaseException) and hasattr(fail, "getTraceback"):
        return Failure(value, exc_tb=getattr(fail, "tb", None))
    raise TypeError("errback() needs an exception, not %s" % type(fail).__name__)


class Deferred(Generic[_T]):
    """Twisted's Deferred, for the reactor thread: a result that is not
    there yet. Fire it once with callback(value) or errback(exception); the
    callbacks added with addCallbacks, addCallback, addErrback and addBoth
    run in order, each with the result of the one before (see the module's
    docstring for the chain's rules). A function run by run_in_reactor or
    wait_for may return one to finish later: its EventualResult gets the
    result at the end of the chain. `await d` in a coroutine run by
    run_in_reactor, wait_for or ensureDeferred waits for it.

    cancel() (also reached through EventualResult.cancel() and wait_for's
    timeout) runs the canceller, canceller(d); if that does not fire the
    Deferred, it fails with CancelledError. Firing a cancelled Deferred later
    is silently ignored.

    The constructor, callback(), errback() and cancel() raise RuntimeError
    off the reactor thread (from another thread use
    libcrochet.call_from_thread); the other methods are for the reactor
    thread too."""

    called: bool = False
    paused: int = 0
    # The result at this point of the chain: a _T or a Failure once fired
    # (the chain's callbacks change it as they run).
    result: Any
    _running: bool = False      # running callbacks: no reentrant run
    _cancelled: bool = False    # later firings are ignored
    _chained_to: Optional[DeferredLike[Any]] = None   # the Deferred whose result this one waits for
    _unhandled: Optional[Failure] = None   # the Failure at the end of the chain, until handled
    _link: Optional[Link] = None           # _followed.Link, once the engine follows it

    def __init__(self, canceller: Optional[Callable[[Deferred[Any]], object]] = None) -> None:
        if canceller is not None and not callable(canceller):
            raise TypeError("canceller must be callable or None, not %s"
                            % type(canceller).__name__)
        _check_thread("Deferred()")
        self._callbacks: List[Tuple[_Entry, _Entry]] = []
        self._canceller = canceller
        self.result = _NO_RESULT

    # -- the chain ---------------------------------------------------------

    def addCallbacks(  # noqa: N802
            self,
            callback: Callable[..., Union[_N, DeferredLike[_N], Failure]],
            errback: Optional[Callable[..., Union[_N, DeferredLike[_N], Failure]]] = None,
            callbackArgs: Optional[Iterable[Any]] = (),  # noqa: N803
            callbackKeywords: Optional[Mapping[str, Any]] = _NO_KWARGS,  # noqa: N803
            errbackArgs: Optional[Iterable[Any]] = (),  # noqa: N803
            errbackKeywords: Optional[Mapping[str, Any]] = _NO_KWARGS,  # noqa: N803
    ) -> Deferred[_N]:
        """Adds a pair: callback(result, *callbackArgs, **callbackKeywords)
        if the chain has a value at this point, errback(failure,
        *errbackArgs, **errbackKeywords) if it has a Failure (errback None:
        the failure passes on). Runs at once if the Deferred has fired.
        Returns self."""
        if not callable(callback):
            raise TypeError("callback must be callable, not %s" % type(callback).__name__)
        if errback is None:
            errback = _pass
        elif not callable(errback):
            raise TypeError("errback must be callable, not %s" % type(errback).__name__)
        self._callbacks.append(((callback, tuple(callbackArgs or ()), callbackKeywords or {}),
                                (errback, tuple(errbackArgs or ()), errbackKeywords or {})))
        if self.called:
            self._run_callbacks()
        return self  # type: ignore[return-value]   # the same object, its result typed anew

    # As Twisted's: overloads, not one Union of the callback's results (with
    # _N unbound, mypy would ask a callback to return that union). A callback
    # that returns a Failure fails the chain; one that returns a Deferred
    # (libcrochet's or Twisted's) gives the chain that Deferred's result.

    @overload
    def addCallback(self, callback: Callable[Concatenate[_T, _P], Failure],  # noqa: N802
                    *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_N]: ...

    @overload
    def addCallback(self, callback: Callable[Concatenate[_T, _P],  # noqa: N802
                                             Union[Failure, DeferredLike[_N]]],
                    *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_N]: ...

    @overload
    def addCallback(self, callback: Callable[Concatenate[_T, _P], Union[Failure, _N]],  # noqa: N802
                    *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_N]: ...

    @overload
    def addCallback(self, callback: Callable[Concatenate[_T, _P], DeferredLike[_N]],  # noqa: N802
                    *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_N]: ...

    @overload
    def addCallback(self, callback: Callable[Concatenate[_T, _P],  # noqa: N802
                                             Union[DeferredLike[_N], _N]],
                    *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_N]: ...

    @overload
    def addCallback(self, callback: Callable[Concatenate[_T, _P], _N],  # noqa: N802
                    *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_N]: ...

    def addCallback(self, callback: Any, *args: Any, **kwargs: Any) -> Deferred[Any]:  # noqa: N802
        """callback(result, *args, **kwargs) when the chain has a value;
        failures pass it by. Returns self."""
        return self.addCallbacks(callback, _pass, args, kwargs)

    @overload
    def addErrback(self, errback: Callable[Concatenate[Failure, _P],  # noqa: N802
                                           DeferredLike[_N]],
                   *args: _P.args, **kwargs: _P.kwargs) -> Deferred[Union[_T, _N]]: ...

    @overload
    def addErrback(self, errback: Callable[Concatenate[Failure, _P], Failure],  # noqa: N802
                   *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_T]: ...

    @overload
    def addErrback(self, errback: Callable[Concatenate[Failure, _P], _N],  # noqa: N802
                   *args: _P.args, **kwargs: _P.kwargs) -> Deferred[Union[_T, _N]]: ...

    def addErrback(self, errback: Any, *args: Any, **kwargs: Any) -> Deferred[Any]:  # noqa: N802
        """errback(failure, *args, **kwargs) when the chain has a Failure
        (return a value to recover, raise or return a Failure to go on
        failing); values pass it by. Returns self."""
        return self.addCallbacks(_pass, errback, (), _NO_KWARGS, args, kwargs)

    @overload
    def addBoth(self, callback: Callable[Concatenate[Union[_T, Failure], _P],  # noqa: N802
                                         Failure],
                *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_N]: ...

    @overload
    def addBoth(self, callback: Callable[Concatenate[Union[_T, Failure], _P],  # noqa: N802
                                         Union[Failure, DeferredLike[_N]]],
                *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_N]: ...

    @overload
    def addBoth(self, callback: Callable[Concatenate[Union[_T, Failure], _P],  # noqa: N802
                                         Union[Failure, _N]],
                *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_N]: ...

    @overload
    def addBoth(self, callback: Callable[Concatenate[Union[_T, Failure], _P],  # noqa: N802
                                         DeferredLike[_N]],
                *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_N]: ...

    @overload
    def addBoth(self, callback: Callable[Concatenate[Union[_T, Failure], _P],  # noqa: N802
                                         Union[DeferredLike[_N], _N]],
                *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_N]: ...

    @overload
    def addBoth(self, callback: Callable[Concatenate[Union[_T, Failure], _P], _N],  # noqa: N802
                *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_N]: ...

    @overload
    def addBoth(self, callback: Callable[Concatenate[_U, _P], _U],  # noqa: N802
                *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_T]: ...

    def addBoth(self, callback: Any, *args: Any, **kwargs: Any) -> Deferred[Any]:  # noqa: N802
        """callback(result, *args, **kwargs) for a value or a Failure alike.
        Returns self."""
        return self.addCallbacks(callback, callback, args, kwargs, args, kwargs)

    def chainDeferred(self, d: Deferred[_T]) -> Deferred[None]:  # noqa: N802
        """Fires d with this Deferred's result at this point of the chain
        (d.callback / d.errback); the chain goes on with None. Returns self."""
        return self.addCallbacks(d.callback, d.errback)

    # -- firing ------------------------------------------------------------

    @overload
    def callback(self: Deferred[None]) -> None: ...

    @overload
    def callback(self, result: Union[_T, Failure]) -> None: ...

    def callback(self, result: Any = None) -> None:
        """Fires the Deferred with a value (a Failure: as errback()).
        AlreadyCalledError if it fired already; silently ignored after
        cancel()."""
        _check_thread("Deferred.callback()")
        if isinstance(result, Deferred) or _is_twisted(result):
            raise TypeError("a Deferred cannot be fired with another Deferred")
        self._start(result)

    def errback(self, fail: FailureLike = None) -> None:
        """Fires the Deferred with a failure: an exception instance, an
        exception class, a Failure, or None for the exception being handled
        (TypeError if there is none). AlreadyCalledError if it fired already;
        silently ignored after cancel()."""
        _check_thread("Deferred.errback()")
        self._start(as_failure(fail))

    def _start(self, result: Any) -> None:
        if self.called:
            if self._cancelled:
                return
            raise AlreadyCalledError("the Deferred has already fired")
        self.called = True
        self._canceller = None   # never needed again (and it may refer to us)
        self.result = result
        self._run_callbacks()

    def cancel(self) -> None:
        """Cancels the Deferred if it has not fired: its canceller runs (an
        exception from it is logged), and if that did not fire it, it fails
        with CancelledError. If it waits for another Deferred (a callback
        returned one), that one is cancelled instead. Otherwise nothing."""
        _check_thread("Deferred.cancel()")
        if not self.called:
            self._cancelled = True
            canceller = self._canceller
            if canceller is not None:
                try:
                    canceller(self)
                except BaseException:
                    logger.exception("Unhandled error in a Deferred canceller")
            if not self.called:
                self._start(Failure(CancelledError("the Deferred was cancelled")))
        elif self._chained_to is not None:
            self._chained_to.cancel()

    def pause(self) -> None:
        """Stops running callbacks until unpause() (counted)."""
        self.paused += 1

    def unpause(self) -> None:
        """Undoes one pause(); the chain goes on when none is left."""
        self.paused -= 1
        if not self.paused and self.called:
            self._run_callbacks()

    def _take_result_of(self, other: DeferredLike[Any]) -> None:
        """(internal) This Deferred counts as fired, and its result is
        other's once other fires: a coroutine's Deferred when it is
        cancelled, as Twisted's inlineCallbacks does."""
        self.called = True
        self._canceller = None
        self.result = None
        self._pause_on(other)
        if not self.paused:   # a Twisted Deferred that had fired
            self._run_callbacks()

    def _pause_on(self, other: DeferredLike[Any]) -> None:
        """The chain waits for other (one of ours, or Twisted's)."""
        self.paused += 1
        self._chained_to = other
        if isinstance(other, Deferred):
            # (other has no result to give now: it runs this entry when it has)
            other._callbacks.append(((_CONTINUE, (self,), _NO_KWARGS),) * 2)
        else:
            # Twisted's: runs at once if it has fired, giving us its result
            # (_running keeps that from running our chain from inside).
            running, self._running = self._running, True
            try:
                other.addBoth(_ForeignResult(self).arrived)
            finally:
                self._running = running

    def _run_callbacks(self) -> None:
        """Runs what can run of the chain, and of the Deferreds waiting for
        this one, in a loop (not recursively), as Twisted does."""
        if self._running:
            return
        chain: List[Deferred[Any]] = [self]
        while chain:
            current = chain[-1]
            if current.paused:
                return
            finished = True
            current._chained_to = None
            callbacks = current._callbacks
            while callbacks:
                result = current.result
                f, args, kwargs = callbacks.pop(0)[1 if isinstance(result, Failure) else 0]
                if f is _CONTINUE:   # a Deferred waits for this result
                    waiter = args[0]
                    waiter.result = result
                    current.result = None
                    waiter.paused -= 1
                    chain.append(waiter)
                    finished = False
                    break
                current._running = True
                try:
                    result = f(result, *args, **kwargs)
                    if result is current:
                        raise TypeError("a callback returned the Deferred it was added to")
                except BaseException as e:
                    if isinstance(current.result, Failure) and e is current.result.value:
                        result = current.result   # trap() or a re-raise: the same failure
                    else:
                        result = caught(_RUN_CODE)
                finally:
                    current._running = False
                current.result = result
                if isinstance(result, Deferred):
                    if result.called and not result.paused and result._chained_to is None:
                        current.result = result.result   # take its result now
                        result.result = None
                        result._unhandled = None
                    else:
                        current._pause_on(result)
                        break
                elif _is_twisted(result):
                    current.result = None
                    current._pause_on(result)
                    if current.paused:
                        break
                    # Twisted's had fired: its result is current's now; go on.
            if finished:
                current._unhandled = current.result if isinstance(current.result, Failure) \
                    else None
                chain.pop()

    # -- awaiting ----------------------------------------------------------

    def __await__(self) -> Generator[Any, Any, _T]:
        """`await d` in a coroutine run on the reactor (run_in_reactor,
        wait_for, ensureDeferred; or Twisted's ensureDeferred once
        libcrochet.twistedreactor is installed): its result, or its failure's
        exception raised. A Deferred that has fired gives its result and
        keeps it; otherwise awaiting takes the result (the chain goes on
        with None)."""
        if self.called and not self.paused and self._chained_to is None:
            result = self.result
            if isinstance(result, Failure):
                self._unhandled = None
                result.raiseException()
            return result  # type: ignore[no-any-return]   # a _T: the chain's result
        twisted = _twisted_deferred()
        # A driver sends the result in (or throws the failure's exception);
        # Twisted's waits only for its own Deferreds.
        return (yield self if twisted is None  # type: ignore[no-any-return]   # what is sent in
                else _as_twisted(self, twisted))

    # -- the rest ----------------------------------------------------------

    def __repr__(self) -> str:
        if self._chained_to is not None:
            state = "waiting on %r" % (self._chained_to,)
        elif not self.called:
            state = "pending"
        else:
            state = "current result: %r" % (self.result,)
        return "<libcrochet.Deferred at %#x %s>" % (id(self), state)

    def __del__(self) -> None:
        failure = self._unhandled
        if failure is not None:
            self._unhandled = None
            try:
                _report_unhandled(failure)
            except BaseException:
                pass


def _report_unhandled(failure: Failure) -> None:
    """One ERROR record, as the binding reports an EventualResult's failure
    nobody looked at: with the exception (logging formats its traceback if a
    handler shows it), or with the text of a failure that has only text (a
    native one, forwarded from an EventualResult)."""
    if failure.tb is None and failure._traceback_text is not None:
        logger.error("%s:\n%s", _UNHANDLED, failure.getTraceback().rstrip("\n"))
    else:
        logger.error("%s", _UNHANDLED, exc_info=(failure.type, failure.value, failure.tb))


_UNHANDLED = "Unhandled error in Deferred"


_RUN_CODE = Deferred._run_callbacks.__code__


def _pass(result: _U, *_args: Any, **_kwargs: Any) -> _U:
    return result


def _is_twisted(obj: object) -> bool:
    twisted = _twisted_deferred()
    return twisted is not None and isinstance(obj, twisted)


class _ForeignResult:
    """A Twisted Deferred that a callback returned (or a coroutine awaits):
    its result, as a libcrochet result, for the Deferred waiting for it."""

    __slots__ = ("waiter",)

    def __init__(self, waiter: Deferred[Any]) -> None:
        self.waiter = waiter

    def arrived(self, result: Any) -> None:
        waiter = self.waiter
        waiter.result = from_twisted(result)
        waiter.paused -= 1
        waiter._chained_to = None
        if not waiter._running:
            waiter._run_callbacks()
        return None   # taken, as a Deferred waiting for another takes its result


def from_twisted(result: Any) -> Any:
    """A Twisted result as ours: a Twisted Failure becomes a Failure."""
    value = getattr(result, "value", None)
    if isinstance(value, BaseException) and hasattr(result, "trap") \
            and not isinstance(result, Failure):
        return Failure(value, exc_tb=getattr(result, "tb", None))
    return result


def _as_twisted(d: Deferred[Any], twisted: Type[Any]) -> Any:
    """A Twisted Deferred that fires with d's result (taking it) and cancels
    d when cancelled: what `await d` gives a Twisted-aware driver."""
    mirror = twisted(lambda _mirror: d.cancel())

    def forward(result: Any) -> None:
        if not mirror.called:
            if isinstance(result, Failure):
                from twisted.python.failure import (  # type: ignore[import-not-found,unused-ignore]
                    Failure as TwistedFailure)
                mirror.errback(TwistedFailure(  # type: ignore[no-untyped-call,unused-ignore]
                    result.value, result.type, result.tb))
            else:
                mirror.callback(result)
        return None

    d.addBoth(forward)
    return mirror


def succeed(result: _T) -> Deferred[_T]:
    """A Deferred that has fired with result (Twisted's succeed)."""
    d: Deferred[_T] = Deferred()
    d.callback(result)
    return d


def fail(result: FailureLike = None) -> Deferred[Any]:
    """A Deferred that has failed with result, an exception or a Failure
    (None: the exception being handled), as Twisted's fail."""
    d: Deferred[Any] = Deferred()
    d.errback(result)
    return d
