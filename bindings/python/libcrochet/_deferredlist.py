"""Waiting for several Deferreds: DeferredList and gatherResults, as
Twisted's.

Types: DeferredList(ds) with Deferreds that fire with a T is a
Deferred[List[Tuple[bool, Union[T, Failure]]]] (a Deferred[Tuple[T, int]]
with fireOnOneCallback=True), gatherResults(ds) a Deferred[List[T]].
"""

from __future__ import annotations

from typing import (TYPE_CHECKING, Any, Iterable, List, Optional, Tuple, TypeVar, Union,
                    overload)

from ._deferred import Deferred
from ._errors import CrochetError, Failure
from ._logging import logger

if TYPE_CHECKING:
    from typing_extensions import Literal

_T = TypeVar("_T")
_R = TypeVar("_R")   # the list's result

SUCCESS = True
FAILURE = False


class FirstError(CrochetError):
    """The first failure of a DeferredList with fireOnOneErrback (and so of
    gatherResults): `subFailure` is that Deferred's Failure, `index` its
    place in the list (Twisted's FirstError)."""

    def __init__(self, failure: Failure, index: int) -> None:
        super().__init__(failure, index)
        self.subFailure = failure  # noqa: N815 - Twisted's name
        self.index = index

    def __repr__(self) -> str:
        return "FirstError[#%d, %r]" % (self.index, self.subFailure.value)

    def __str__(self) -> str:
        return "FirstError[#%d, %s]" % (self.index, self.subFailure)


class DeferredList(Deferred[_R]):
    """A Deferred that fires once every Deferred in deferredList has, with a
    list of (success, result) pairs in their order (success: True for a
    value, False for a Failure), as Twisted's DeferredList.

    fireOnOneCallback: fire with (result, index) as soon as one succeeds.
    fireOnOneErrback: fail with FirstError(failure, index) as soon as one
    fails. consumeErrors: a failure of one of them is taken by the list (its
    own chain goes on with None), so it is not logged as unhandled; the
    list still reports it. An empty list fires at once with [] (unless
    fireOnOneCallback). cancel() before it fired cancels each of them.
    Reactor thread only."""

    fireOnOneCallback: bool = False  # noqa: N815 - Twisted's names
    fireOnOneErrback: bool = False  # noqa: N815

    @overload
    def __init__(self: DeferredList[Tuple[_T, int]],
                 deferredList: Iterable[Deferred[_T]],  # noqa: N803
                 fireOnOneCallback: Literal[True],  # noqa: N803
                 fireOnOneErrback: bool = False, consumeErrors: bool = False) -> None: ...  # noqa: N803

    @overload
    def __init__(self: DeferredList[List[Tuple[bool, Union[_T, Failure]]]],
                 deferredList: Iterable[Deferred[_T]],  # noqa: N803
                 fireOnOneCallback: Literal[False] = False,  # noqa: N803
                 fireOnOneErrback: bool = False, consumeErrors: bool = False) -> None: ...  # noqa: N803

    @overload
    def __init__(self: DeferredList[Union[Tuple[_T, int], List[Tuple[bool, Union[_T, Failure]]]]],
                 deferredList: Iterable[Deferred[_T]],  # noqa: N803
                 fireOnOneCallback: bool = False,  # noqa: N803
                 fireOnOneErrback: bool = False, consumeErrors: bool = False) -> None: ...  # noqa: N803

    def __init__(self, deferredList: Iterable[Deferred[Any]],  # noqa: N803
                 fireOnOneCallback: bool = False,  # noqa: N803
                 fireOnOneErrback: bool = False, consumeErrors: bool = False) -> None:  # noqa: N803
        self._deferredList = list(deferredList)
        for d in self._deferredList:
            if not isinstance(d, Deferred):
                raise TypeError("DeferredList needs libcrochet Deferreds, not %s"
                                % type(d).__name__)
        self.resultList: List[Optional[Tuple[bool, Any]]] = [  # noqa: N815
            None] * len(self._deferredList)
        super().__init__()
        if not self._deferredList and not fireOnOneCallback:
            self.callback([])  # type: ignore[arg-type]   # _R: as __init__'s overloads say
        self.fireOnOneCallback = fireOnOneCallback
        self.fireOnOneErrback = fireOnOneErrback
        self.consumeErrors = consumeErrors  # noqa: N815
        self.finishedCount = 0  # noqa: N815
        for index, d in enumerate(self._deferredList):
            d.addCallbacks(self._one_fired, self._one_fired, (index, SUCCESS), None,
                           (index, FAILURE), None)

    def _one_fired(self, result: Any, index: int, succeeded: bool) -> Any:
        self.resultList[index] = (succeeded, result)
        self.finishedCount += 1
        if not self.called:
            if succeeded and self.fireOnOneCallback:
                self.callback((result, index))  # type: ignore[arg-type]
            elif not succeeded and self.fireOnOneErrback:
                self.errback(Failure(FirstError(result, index)))
            elif self.finishedCount == len(self.resultList):
                self.callback(self.resultList)  # type: ignore[arg-type]
        if not succeeded and self.consumeErrors:
            return None
        return result

    def cancel(self) -> None:
        """Before the list fired: cancels every Deferred in it (an exception
        from one is logged). After: nothing."""
        if not self.called:
            for d in self._deferredList:
                try:
                    d.cancel()
                except BaseException:
                    logger.exception("Unhandled error cancelling a Deferred of a DeferredList")


def _values(result_list: List[Tuple[bool, Any]]) -> List[Any]:
    # (gatherResults: every entry is a value; a failure fails the list first)
    return [result for _, result in result_list]


def gatherResults(deferredList: Iterable[Deferred[_T]],  # noqa: N802,N803 - Twisted's names
                  consumeErrors: bool = False) -> Deferred[List[_T]]:  # noqa: N803
    """A Deferred that fires with the list of the results of deferredList,
    in order, once all have fired; or fails with FirstError(failure, index)
    at the first failure (Twisted's gatherResults). consumeErrors as for
    DeferredList. Cancelling it cancels them all. Reactor thread only."""
    return DeferredList(deferredList, fireOnOneErrback=True,
                        consumeErrors=consumeErrors).addCallback(_values)
