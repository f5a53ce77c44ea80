"""Misuses a type checker must report (tests/test_typing.py runs mypy
--strict on this file and expects exactly the errors marked `# E: <code>`):
the decorators keep the decorated functions' parameters and types."""

from __future__ import annotations

import libcrochet


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
