"""Waiting for several Deferreds: DeferredList and gatherResults, as
Twisted's."""

from ._deferred import Deferred
from ._errors import CrochetError, Failure
from ._logging import logger

SUCCESS = True
FAILURE = False


class FirstError(CrochetError):
    """The first failure of a DeferredList with fireOnOneErrback (and so of
    gatherResults): `subFailure` is that Deferred's Failure, `index` its
    place in the list (Twisted's FirstError)."""

    def __init__(self, failure, index):
        super().__init__(failure, index)
        self.subFailure = failure  # noqa: N815 - Twisted's name
        self.index = index

    def __repr__(self):
        return "FirstError[#%d, %r]" % (self.index, self.subFailure.value)

    def __str__(self):
        return "FirstError[#%d, %s]" % (self.index, self.subFailure)


class DeferredList(Deferred):
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

    fireOnOneCallback = False  # noqa: N815 - Twisted's names
    fireOnOneErrback = False  # noqa: N815

    def __init__(self, deferredList, fireOnOneCallback=False,  # noqa: N803
                 fireOnOneErrback=False, consumeErrors=False):  # noqa: N803
        self._deferredList = list(deferredList)
        for d in self._deferredList:
            if not isinstance(d, Deferred):
                raise TypeError("DeferredList needs libcrochet Deferreds, not %s"
                                % type(d).__name__)
        self.resultList = [None] * len(self._deferredList)  # noqa: N815
        super().__init__()
        if not self._deferredList and not fireOnOneCallback:
            self.callback([])
        self.fireOnOneCallback = fireOnOneCallback
        self.fireOnOneErrback = fireOnOneErrback
        self.consumeErrors = consumeErrors  # noqa: N815
        self.finishedCount = 0  # noqa: N815
        for index, d in enumerate(self._deferredList):
            d.addCallbacks(self._one_fired, self._one_fired, (index, SUCCESS), None,
                           (index, FAILURE), None)

    def _one_fired(self, result, index, succeeded):
        self.resultList[index] = (succeeded, result)
        self.finishedCount += 1
        if not self.called:
            if succeeded and self.fireOnOneCallback:
                self.callback((result, index))
            elif not succeeded and self.fireOnOneErrback:
                self.errback(Failure(FirstError(result, index)))
            elif self.finishedCount == len(self.resultList):
                self.callback(self.resultList)
        if not succeeded and self.consumeErrors:
            return None
        return result

    def cancel(self):
        """Before the list fired: cancels every Deferred in it (an exception
        from one is logged). After: nothing."""
        if not self.called:
            for d in self._deferredList:
                try:
                    d.cancel()
                except BaseException:
                    logger.exception("Unhandled error cancelling a Deferred of a DeferredList")


def _values(result_list):
    return [result for _, result in result_list]


def gatherResults(deferredList, consumeErrors=False):  # noqa: N802,N803 - Twisted's names
    """A Deferred that fires with the list of the results of deferredList,
    in order, once all have fired; or fails with FirstError(failure, index)
    at the first failure (Twisted's gatherResults). consumeErrors as for
    DeferredList. Cancelling it cancels them all. Reactor thread only."""
    return DeferredList(deferredList, fireOnOneErrback=True,
                        consumeErrors=consumeErrors).addCallback(_values)
