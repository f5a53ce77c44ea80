"""Typed use of libcrochet with Twisted's Deferred (tests/test_typing.py runs
`mypy --strict` on this file when Twisted is installed; it is not run): a
Twisted Deferred[T] counts as a libcrochet Deferred[T] where one is
returned or awaited (the decorated function's result, a callback's result,
maybeDeferred), and a coroutine run by libcrochet may await either."""

from __future__ import annotations

import sys

from twisted.internet import defer

import libcrochet
from libcrochet import Deferred, EventualResult

if sys.version_info >= (3, 11):
    from typing import assert_type
else:  # pragma: no cover
    from typing_extensions import assert_type


@libcrochet.run_in_reactor
def fetch(n: int) -> defer.Deferred[str]:
    return defer.succeed(str(n))


@libcrochet.wait_for(timeout=1)
def fetch_now(n: int) -> defer.Deferred[bytes]:
    return defer.succeed(b"x" * n)


def halve(n: int) -> defer.Deferred[float]:
    return defer.succeed(n / 2)


@libcrochet.run_in_reactor
async def both(n: int) -> str:
    ours = await libcrochet.succeed(n)
    theirs = await halve(n)
    return "%d %s" % (ours, theirs)


def check(d: Deferred[int]) -> None:
    assert_type(fetch(1), EventualResult[str])
    assert_type(fetch_now(1), bytes)
    assert_type(d.addCallback(halve), Deferred[float])
    assert_type(libcrochet.maybeDeferred(halve, 1), Deferred[float])
    assert_type(both(1), EventualResult[str])
