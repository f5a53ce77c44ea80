"""Coroutines on the reactor thread: ensureDeferred, and what run_in_reactor
and wait_for do with an `async def` function without Twisted; and
maybeDeferred, which makes a Deferred of whatever a function gives.

The coroutine runs on the reactor thread until it awaits a Deferred that
has not fired (a libcrochet Deferred, or a Twisted one); it resumes there
when that Deferred fires, with its result sent in or its failure's
exception thrown in. Each step runs in the coroutine's own copy of the
context (contextvars), as Twisted's ensureDeferred does. The Deferred
returned fires with what the coroutine returns, or fails with what it
raises. Cancelling it cancels the Deferred being awaited: the coroutine gets
that Deferred's failure (CancelledError) thrown in, and the cancelled
Deferred's result is whatever the coroutine makes of it (as Twisted's).
"""

from __future__ import annotations

import contextvars
import inspect
from typing import TYPE_CHECKING, Any, Callable, Coroutine, Optional, TypeVar, Union, overload

from ._deferred import Deferred, _is_twisted, caught, fail, from_twisted, succeed
from ._errors import Failure

if TYPE_CHECKING:
    from typing_extensions import ParamSpec

    from ._deferred import DeferredLike

    _P = ParamSpec("_P")

_T = TypeVar("_T")


class _Driver:
    """Runs one coroutine; `deferred` fires with its outcome."""

    __slots__ = ("coro", "context", "deferred", "target", "waiting_on")

    def __init__(self, coro: Coroutine[Any, Any, Any]) -> None:
        self.coro: Optional[Coroutine[Any, Any, Any]] = coro
        self.context = contextvars.copy_context()
        self.deferred: Deferred[Any]
        self.target: Deferred[Any]
        self.deferred = self.target = Deferred(self._cancel)
        self.waiting_on: Optional[DeferredLike[Any]] = None   # the Deferred the coroutine awaits

    def step(self, result: Any) -> None:
        """Runs the coroutine from result (sent in; a Failure is thrown in)
        until it awaits a Deferred that has not fired, or ends."""
        coro: Coroutine[Any, Any, Any]   # (self.coro is None only once it has ended)
        coro, run = self.coro, self.context.run  # type: ignore[assignment]
        while True:
            try:
                if isinstance(result, Failure):
                    awaited = run(result.throwExceptionIntoGenerator, coro)
                else:
                    awaited = run(coro.send, result)
            except StopIteration as e:
                self.coro = None
                self.target.callback(e.value)
                return
            except BaseException:
                self.coro = None
                self.target.errback(caught(_STEP_CODE))
                return
            if not (isinstance(awaited, Deferred) or _is_twisted(awaited)):
                result = Failure(TypeError(
                    "a coroutine run by libcrochet can only await Deferreds (libcrochet's or "
                    "Twisted's) and coroutines that await them, not %r" % (awaited,)))
                continue
            resume = _Resume(self)
            awaited.addBoth(resume)
            if resume.waiting:   # not fired: resume() steps on later
                resume.waiting = False
                self.waiting_on = awaited
                return
            result = from_twisted(resume.result)

    def _cancel(self, d: Deferred[Any]) -> None:
        """The Deferred's canceller: cancels what the coroutine awaits; the
        coroutine's outcome becomes the Deferred's."""
        awaited = self.waiting_on
        if awaited is None:
            return   # not started or running: plain cancel
        self.target = Deferred(self._cancel)   # (so cancelling again works the same)
        d._take_result_of(self.target)
        awaited.cancel()


_STEP_CODE = _Driver.step.__code__


class _Resume:
    """The callback added to an awaited Deferred: gives the result back to
    the loop in step() if it fired at once, else steps on. Takes the result
    (returns None), as awaiting does in Twisted."""

    __slots__ = ("driver", "waiting", "result")

    def __init__(self, driver: _Driver) -> None:
        self.driver, self.waiting, self.result = driver, True, None

    def __call__(self, result: Any) -> None:
        if self.waiting:
            self.waiting, self.result = False, result
        else:
            driver = self.driver
            driver.waiting_on = None
            driver.step(from_twisted(result))
        return None


def ensureDeferred(coro: Union[Coroutine[Any, Any, _T], Deferred[_T]]  # noqa: N802 - Twisted's
                   ) -> Deferred[_T]:
    """Runs a coroutine (the object an `async def` function returns) on the
    reactor thread and returns a Deferred for its outcome (Twisted's
    ensureDeferred). A Deferred is returned as it is. Reactor thread only;
    TypeError for anything else."""
    if isinstance(coro, Deferred):
        return coro
    if not inspect.iscoroutine(coro):
        raise TypeError("ensureDeferred() needs a coroutine or a Deferred, not %s"
                        % type(coro).__name__)
    driver = _Driver(coro)
    driver.step(None)
    return driver.deferred


@overload
def maybeDeferred(f: Callable[_P, DeferredLike[_T]],  # noqa: N802 - Twisted's name
                  *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_T]: ...


@overload
def maybeDeferred(f: Callable[_P, Coroutine[Any, Any, _T]],  # noqa: N802
                  *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_T]: ...


@overload
def maybeDeferred(f: Callable[_P, _T],  # noqa: N802
                  *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_T]: ...


def maybeDeferred(f: Callable[_P, Any], *args: _P.args,  # noqa: N802
                  **kwargs: _P.kwargs) -> Deferred[Any]:
    """Calls f(*args, **kwargs) and returns a Deferred for the outcome, as
    Twisted's maybeDeferred: a Deferred f returns as it is, a coroutine run
    with ensureDeferred, a Failure as a failed Deferred, any other value as
    a fired one; an exception f raises as a failed one. Reactor thread
    only."""
    try:
        result = f(*args, **kwargs)
    except BaseException:
        return fail(caught(_MAYBE_CODE))
    if isinstance(result, Deferred):
        return result
    if isinstance(result, Failure):
        return fail(result)
    if inspect.iscoroutine(result):
        return ensureDeferred(result)
    if _is_twisted(result):
        d: Deferred[Any] = Deferred()
        d._take_result_of(result)
        return d
    return succeed(result)


_MAYBE_CODE = maybeDeferred.__code__
