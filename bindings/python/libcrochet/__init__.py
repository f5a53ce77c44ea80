"""libcrochet for Python: crochet's API ("use Twisted anywhere") over the
libcrochet C library, through ctypes.

    import libcrochet
    libcrochet.setup()                        # start the reactor thread

    @libcrochet.run_in_reactor
    def add(a, b):                            # runs on the reactor thread
        return a + b

    add(1, 2).wait(timeout=1)                 # 3

    @libcrochet.wait_for(timeout=1)
    def later():
        d = libcrochet.Deferred()
        libcrochet.call_later(0.01, d.callback, "done")
        return d                              # finishes when d fires

    later()                                   # "done"

ctypes foreign functions with argtypes and restype set are called natively on
the reactor thread: run_in_reactor(libc.labs)(-5).wait(1) == 5.

The library is found through $CROCHET_LIBRARY, a copy in libcrochet/_lib/,
or `pkg-config --variable=libdir crochet`.
"""

from ._native import library_path as _library_path, lib as _lib
from ._errors import (AlreadyCalledError, CallFailed, CancelledError, CrochetError, Failure,
                      ReactorStopped, TimeoutError)
from ._runtime import (call_from_thread, in_reactor_thread, no_setup, run, setup, stop)
from ._results import EventualResult, retrieve_result
from ._deferred import Deferred, DelayedCall, call_later
from ._calls import run_in_reactor, wait_for

__version__ = "0.1.0"


def library_version():
    """The loaded libcrochet's version string (crochet_version())."""
    return _lib.crochet_version().decode()


def library_path():
    """The path libcrochet.so was loaded from."""
    return _library_path


__all__ = [
    "setup", "no_setup", "run", "stop", "in_reactor_thread",
    "run_in_reactor", "wait_for", "retrieve_result",
    "EventualResult", "Failure", "Deferred", "DelayedCall", "call_later", "call_from_thread",
    "TimeoutError", "ReactorStopped", "CancelledError", "CallFailed", "AlreadyCalledError",
    "CrochetError", "library_version", "library_path",
]
