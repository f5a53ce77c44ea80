"""Misuses a type checker must report (tests/test_typing.py runs mypy
--strict on this file and expects exactly the errors marked `# E: <code>`):
the decorators keep the decorated functions' parameters and types; a
Deferred[T]'s chain passes a T to its first callback, checks the extra
arguments, and has the type of what the last callback returns; the reactor
services check their functions' arguments."""

from __future__ import annotations

import libcrochet
from libcrochet import Deferred, Failure


@libcrochet.run_in_reactor
def add(a: int, b: int = 1) -> int:
    return a + b


@libcrochet.wait_for(timeout=1)
def greet(name: str) -> str:
    return "hello " + name


@libcrochet.run_in_reactor
async def fetch(n: int) -> bytes:
    return b"x" * n


def misuse() -> None:
    add("1")  # E: arg-type
    add(1, c=2)  # E: call-arg
    text: str = add(1).wait()  # E: assignment
    number: int = greet("you")  # E: assignment
    greet(name=1)  # E: arg-type
    data: str = fetch(1).wait()  # E: assignment
    libcrochet.wait_for("1")  # E: arg-type
    libcrochet.retrieve_result("1")  # E: arg-type
    add(1).wait("soon")  # E: arg-type
    libcrochet.stats().calls_started  # E: attr-defined


def parse(text: str, base: int = 10) -> int:
    return int(text, base)


def square(n: int) -> int:
    return n * n


@libcrochet.run_in_reactor
async def awaits() -> None:
    text: str = await libcrochet.succeed(1)  # E: arg-type
    number: str = await libcrochet.defer_to_thread(square, 2)  # E: arg-type


@libcrochet.wait_for(timeout=1)
def chain_misuse(d: Deferred[bytes]) -> Deferred[str]:
    d.addCallback(parse)  # E: call-overload
    libcrochet.succeed("1").addCallback(parse, base="16")  # E: call-overload
    parsed = libcrochet.succeed("1").addCallback(parse)
    text: Deferred[str] = parsed  # E: assignment
    d.callback("text")  # E: arg-type
    libcrochet.succeed(1).callback()  # E: call-arg
    d.addErrback(square)  # E: call-overload
    libcrochet.call_later(0.1, parse, 16)  # E: arg-type
    libcrochet.call_later("soon", parse, "16")  # E: arg-type
    libcrochet.call_from_thread(square, n="2")  # E: arg-type
    libcrochet.add_reader(0, parse)  # E: arg-type
    libcrochet.add_writer("0", square)  # E: arg-type
    libcrochet.defer_to_thread(square, 1, 2)  # E: call-arg
    libcrochet.Deferred(canceller=1)  # E: arg-type
    return libcrochet.gatherResults([libcrochet.succeed("a")])  # E: return-value


def failure_misuse(failure: Failure) -> None:
    failure.trap(1)  # E: call-overload
    failure.getTraceback(detail=None)  # E: arg-type
    failure.check(ValueError).__name__  # E: union-attr
