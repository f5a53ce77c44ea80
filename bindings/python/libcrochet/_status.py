"""CROCHET_E* statuses as Python exceptions. The statuses are the library's
own table (_native.STATUS, read through crochet_status_name); this maps
their names to exception types."""

from __future__ import annotations

from typing import Callable, Dict, Type

from . import _native
from ._errors import (AlreadyCalledError, CancelledError, CrochetError, ReactorStopped,
                      TimeoutError, TryAgain)


# Makes the exception for (what was called, the status's text).
_Maker = Callable[[str, str], BaseException]


def _not_set_up(what: str, text: str) -> BaseException:
    return RuntimeError("%s: libcrochet is not set up (call libcrochet.setup() first): %s"
                        % (what, text))


def _on_reactor(what: str, _text: str) -> BaseException:
    return RuntimeError("%s must not be called on the reactor thread: it would block "
                        "the reactor" % what)


def _off_reactor(what: str, _text: str) -> BaseException:
    return RuntimeError("%s may only be called on the reactor thread (use "
                        "libcrochet.call_from_thread)" % what)


def _typed(kind: Type[BaseException]) -> _Maker:
    return lambda what, text: kind("%s: %s" % (what, text))


_BY_NAME: Dict[str, _Maker] = {
    "CROCHET_ETIMEDOUT": _typed(TimeoutError),
    "CROCHET_ESTOPPED": lambda what, _text: ReactorStopped("%s: the reactor has stopped" % what),
    "CROCHET_ECANCELLED": _typed(CancelledError),
    "CROCHET_EINVAL": _typed(ValueError),
    "CROCHET_ESTATE": _not_set_up,
    "CROCHET_EREACTORTHREAD": _on_reactor,
    "CROCHET_ENOTFOUND": lambda what, _text: KeyError(what),
    "CROCHET_ENOMEM": _typed(MemoryError),
    "CROCHET_EALREADY": _typed(AlreadyCalledError),
    "CROCHET_ENOTREACTOR": _off_reactor,
    "CROCHET_EAGAIN": _typed(TryAgain),
}


def error_for_status(status: int, what: str) -> BaseException:
    """The exception for a CROCHET_E* status returned by `what`."""
    text = _native.strerror(status)
    make = _BY_NAME.get(_native.STATUS_NAME.get(status, ""))
    if make is None:
        return CrochetError("%s: %s (status %d, %s)" % (what, text, status,
                                                        _native.lib.crochet_status_name(status).decode()))
    return make(what, text)


def check(status: int, what: str) -> None:
    if status != _native.OK:
        raise error_for_status(status, what)
