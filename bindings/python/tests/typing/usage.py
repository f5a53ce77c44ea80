"""Typed use of libcrochet's public API: `mypy --strict` passes on this file
(tests/test_typing.py), and each assert_type states what a type checker
sees. It also runs (test_typing.py runs it in a child process): what the
types say is what the calls give."""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from types import TracebackType
from typing import Any, List, Optional, Tuple, Type, Union

import libcrochet
from libcrochet import Deferred, DelayedCall, EventualResult, Failure, ResultInfo, Stats

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
def later(value: str) -> Deferred[str]:
    d: Deferred[str] = libcrochet.Deferred()
    libcrochet.call_later(0.01, d.callback, value)
    return d


@libcrochet.wait_for(timeout=1)
def later_now(value: str) -> Deferred[str]:
    d: Deferred[str] = libcrochet.Deferred()
    libcrochet.call_later(0.01, d.callback, value)
    return d


# -- Deferred chains (reactor thread) ---------------------------------------

def parse(text: str, base: int = 10) -> int:
    return int(text, base)


def recover(failure: Failure, default: int) -> int:
    assert_type(failure.trap(ValueError), Type[ValueError])
    return default


def describe(result: Union[int, Failure]) -> str:
    return "failed" if isinstance(result, Failure) else "got %d" % result


def keep(result: Union[float, Failure]) -> Union[float, Failure]:
    return result


def halve_later(n: int) -> Deferred[float]:
    return libcrochet.succeed(n / 2)


def square(n: int) -> int:
    return n * n


@libcrochet.wait_for(timeout=1)
def chain(text: str) -> Deferred[Tuple[str, float]]:
    d: Deferred[str] = libcrochet.Deferred()
    parsed = d.addCallback(parse, base=16)
    assert_type(parsed, Deferred[int])
    recovered = parsed.addErrback(recover, -1)
    assert_type(recovered, Deferred[int])
    halved = recovered.addCallback(halve_later)   # a Deferred's result joins the chain
    assert_type(halved, Deferred[float])
    both = halved.addBoth(keep)
    assert_type(both, Deferred[float])
    paired = both.addCallback(lambda half: (text, half))
    assert_type(paired, Deferred[Tuple[str, float]])
    delayed = libcrochet.call_later(0, d.callback, text)
    assert_type(delayed, DelayedCall)
    assert_type(delayed.active(), bool)
    return paired


@libcrochet.wait_for(timeout=1)
def described(text: str) -> str:
    d = libcrochet.succeed(text).addCallback(parse).addBoth(describe)
    assert_type(d, Deferred[str])
    failed: Deferred[int] = libcrochet.fail(ValueError("no"))
    failed.addErrback(lambda failure: None)
    assert d.called
    return str(d.result)


@libcrochet.wait_for(timeout=1)
def gathered() -> Deferred[List[int]]:
    threaded = libcrochet.defer_to_thread(square, 3)
    assert_type(threaded, Deferred[int])
    maybe = libcrochet.maybeDeferred(parse, "7")
    assert_type(maybe, Deferred[int])
    listed = libcrochet.DeferredList([libcrochet.succeed(1), libcrochet.succeed(2)])
    assert_type(listed, libcrochet.DeferredList[List[Tuple[bool, Union[int, Failure]]]])
    first = libcrochet.DeferredList([libcrochet.succeed("a")], fireOnOneCallback=True)
    assert_type(first, libcrochet.DeferredList[Tuple[str, int]])
    return libcrochet.gatherResults([threaded, maybe])


@libcrochet.run_in_reactor
async def awaiting(n: int) -> str:
    squared = await libcrochet.defer_to_thread(square, n)
    assert_type(squared, int)
    parsed = await libcrochet.succeed("12").addCallback(parse)
    assert_type(parsed, int)
    inner = await libcrochet.ensureDeferred(repeat_inner(b"z", 2))
    assert_type(inner, bytes)
    return "%d %d %s" % (squared, parsed, inner.decode())


async def repeat_inner(data: bytes, times: int) -> bytes:
    return data * times


@libcrochet.wait_for(timeout=1)
def read_pipe() -> Deferred[bytes]:
    r, w = os.pipe()
    d: Deferred[bytes] = libcrochet.Deferred()

    def readable(fd: int) -> None:
        libcrochet.remove_reader(fd)
        os.close(fd)
        d.callback(data)

    data = b"ping"
    os.write(w, data)
    os.close(w)
    libcrochet.add_reader(r, readable)
    return d


def failure_methods(failure: Failure) -> None:
    assert_type(failure.value, BaseException)
    assert_type(failure.type, Type[BaseException])
    assert_type(failure.tb, Optional[TracebackType])
    assert_type(failure.check(KeyError, ValueError), Optional[Type[Exception]])
    assert_type(failure.check("builtins.ValueError", KeyError),
                Union[str, Type[BaseException], None])
    assert_type(failure.getErrorMessage(), str)
    assert_type(failure.getTraceback(detail="brief"), str)
    assert_type(failure.parents, List[str])
    assert_type(failure.code, Optional[int])
    assert_type(failure.message, Optional[str])


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
    assert_type(followed, EventualResult[str])
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
    bad = add(None)   # type: ignore[arg-type]
    try:
        bad.wait(1)
    except TypeError:
        pass

    assert assert_type(chain("1f"), Tuple[str, float]) == ("1f", 15.5)
    assert chain("x") == ("x", -0.5)
    assert assert_type(described("2"), str) == "got 2"
    assert described("z") == "failed"
    assert assert_type(gathered(), List[int]) == [9, 7]
    assert assert_type(awaiting(4), EventualResult[str]).wait(1) == "16 12 zz"
    assert assert_type(read_pipe(), bytes) == b"ping"
    ran = threading.Event()
    libcrochet.call_from_thread(ran.set)
    assert ran.wait(1)

    failed = bad.original_failure()
    assert failed is not None
    failure_methods(failed)
    assert failed.check(KeyError, TypeError) is TypeError and failed.code is not None
    made = Failure(ValueError("made"))
    assert made.check("builtins.ValueError") == "builtins.ValueError"
    assert made.getErrorMessage() == "made" and made.message is None

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
