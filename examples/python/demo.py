"""A short tour of libcrochet from Python: crochet's API over the C library.

    PKG_CONFIG_PATH=build/stage/lib/pkgconfig PYTHONPATH=bindings/python python3 examples/python/demo.py
"""

import ctypes
import ctypes.util
import threading
from typing import Dict, Tuple

import libcrochet

libcrochet.setup()   # starts the reactor thread; at exit queued calls run, then it stops
print("libcrochet", libcrochet.__version__, "(library %s)" % libcrochet.library_version())


@libcrochet.run_in_reactor
def add(a: int, b: int) -> int:
    """Runs on the reactor thread; the caller gets an EventualResult."""
    return a + b


print("add(20, 22) =", add(20, 22).wait(timeout=1))


@libcrochet.run_in_reactor
def hello_later(delay: float) -> libcrochet.Deferred[str]:
    """Finishes later: returns a Deferred that a timer fires."""
    d: libcrochet.Deferred[str] = libcrochet.Deferred()
    libcrochet.call_later(delay, d.callback, "hello")
    return d


result = hello_later(0.3)
try:
    result.wait(timeout=0.01)
except libcrochet.TimeoutError:
    print("not ready after 0.01 s: TimeoutError")
print("a later wait:", result.wait(timeout=5))


@libcrochet.wait_for(timeout=1)
def where() -> Tuple[bool, bool]:
    """wait_for: call it like a plain function; it runs on the reactor thread."""
    return threading.current_thread() is not threading.main_thread(), libcrochet.in_reactor_thread()


print("wait_for ran off the main thread, on the reactor:", where())


@libcrochet.run_in_reactor
def divide(a: float, b: float) -> float:
    return a / b


failed = divide(1, 0)
try:
    failed.wait(timeout=1)
except ZeroDivisionError as e:
    print("the reactor's exception comes back:", repr(e))
failure = failed.original_failure()
assert failure is not None
print(failure.getTraceback().strip().splitlines()[-1])

uid = add(1, 2).stash()
print("stash and retrieve_result:", libcrochet.retrieve_result(uid).wait(timeout=1))


@libcrochet.run_in_reactor
def make_config() -> Dict[str, int]:
    return {"answer": 42}


# The engine's result owns the dict: it survives in the result store with no
# Python reference to the EventualResult, and comes back as the same object.
uid = make_config().stash()
config = libcrochet.retrieve_result(uid).wait(timeout=1)
print("a value kept by the library's store:", config)

# A ctypes foreign function is called natively on the reactor thread.
libc = ctypes.CDLL(ctypes.util.find_library("c"))
labs = libc.labs
labs.argtypes = [ctypes.c_long]
labs.restype = ctypes.c_long
strlen = libc.strlen
strlen.argtypes = [ctypes.c_char_p]
strlen.restype = ctypes.c_size_t
print("labs(-42) =", libcrochet.wait_for(timeout=1)(labs)(-42))
print("strlen(b'libcrochet') =", libcrochet.run_in_reactor(strlen)(b"libcrochet").wait(timeout=1))
