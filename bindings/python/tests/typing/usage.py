"""Typed use of libcrochet's public API: `mypy --strict` passes on this file
(tests/test_typing.py), and each assert_type states what a type checker
sees. It also runs (test_typing.py runs it in a child process): what the
types say is what the calls give."""

from __future__ import annotations

import ctypes
import sys
from typing import Any, List, Optional

import libcrochet
from libcrochet import EventualResult, Failure, ResultInfo, Stats

if sys.version_info >= (3, 11):
    from typing import assert_type
else:  # pragma: no cover
    from typing_extensions import assert_type


@libcrochet.run_in_reactor
def add(a: int, b: int = 1) -> int:
    return a + b


@libcrochet.wait_for(timeout=1.0)
def greet(name: str, *, punctuation: str = "!") -> str:
    return "hello " + name + punctuation


@libcrochet.run_in_reactor
async def repeat(data: bytes, times: int) -> bytes:
    return data * times


@libcrochet.wait_for(timeout=1)
async def repeat_now(data: bytes, times: int) -> bytes:
    return data * times


@libcrochet.run_in_reactor
def later(value: str) -> libcrochet.Deferred:
    d = libcrochet.Deferred()
    libcrochet.call_later(0.01, d.callback, value)
    return d


@libcrochet.wait_for(timeout=1)
def later_now(value: str) -> libcrochet.Deferred:
    d = libcrochet.Deferred()
    libcrochet.call_later(0.01, d.callback, value)
    return d


class Counter:
    def __init__(self) -> None:
        self.count = 0

    @libcrochet.run_in_reactor
    def bump(self, by: int) -> int:
        self.count += by
        return self.count

    @libcrochet.wait_for(timeout=1)
    def read(self) -> int:
        return self.count


def main() -> None:
    libcrochet.setup()
    version: str = libcrochet.library_version()
    path: str = libcrochet.library_path()
    assert version == libcrochet.__version__ and path
    assert_type(libcrochet.in_reactor_thread(), bool)

    result = add(1, b=2)
    assert_type(result, EventualResult[int])
    assert_type(result.wait(1.0), int)
    assert_type(result.wait(), int)
    assert result.wait(None) == 3 and result.wait(-1) == 3   # a negative timeout polls

    assert assert_type(greet("you"), str) == "hello you!"
    assert greet("you", punctuation="?") == "hello you?"

    repeated = repeat(b"ab", 2)
    assert_type(repeated, EventualResult[bytes])
    assert repeated.wait(1) == b"abab"
    assert assert_type(repeat_now(b"ab", 3), bytes) == b"ababab"

    followed = later("x")
    assert_type(followed, EventualResult[Any])
    assert followed.wait(1) == "x"
    assert later_now("y") == "y"

    counter = Counter()
    bumped = counter.bump(2)
    assert_type(bumped, EventualResult[int])
    assert bumped.wait(1) == 2
    assert assert_type(counter.read(), int) == 2

    uid = add(5).stash()
    assert_type(uid, int)
    retrieved = libcrochet.retrieve_result(uid)
    assert_type(retrieved, EventualResult[Any])
    assert retrieved.wait(1) == 6

    info = retrieved.info()
    assert_type(info, ResultInfo)
    state: str = info.state
    seconds: float = info.queued_seconds + info.running_seconds
    assert state == "done" and seconds >= 0 and info.function.endswith("add")

    failure: Optional[Failure] = result.original_failure()
    assert failure is None
    try:
        add(None).wait(1)   # type: ignore[arg-type]
    except TypeError:
        pass

    timeouts: List[libcrochet.TimeoutError] = []
    try:
        later("slow").wait(0)
    except libcrochet.TimeoutError as e:
        timeouts.append(e)
    assert timeouts

    stats = libcrochet.stats()
    assert_type(stats, Stats)
    submitted: int = stats.calls_submitted
    longest: float = stats.max_callback_seconds
    assert submitted > 0 and longest >= 0

    libcrochet.set_stall_warning(1.0)
    libcrochet.set_max_queued(None)
    libcrochet.set_stash_limit(0, 0)

    libc = ctypes.CDLL(None)
    labs = libc.labs
    labs.argtypes, labs.restype = [ctypes.c_long], ctypes.c_long
    native = libcrochet.run_in_reactor(labs)(-5)
    assert_type(native, EventualResult[Any])
    assert native.wait(1) == 5
    assert libcrochet.wait_for(timeout=1)(labs)(-7) == 7
    print("ok")


if __name__ == "__main__":
    main()
