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

A native function that returns a crochet_deferred * declares
restype = libcrochet.deferred_of(c_char_p) (or another ctypes type): its
result is the value the deferred fires with.

When something is slow: EventualResult.info() says where a call is (queued,
running, waiting on a Deferred, done; for how long; what it runs), a
TimeoutError's message says the same, stats() gives the library's counters,
set_stall_warning(seconds) warns about a callback that holds the reactor
thread, and set_max_queued(n) / set_stash_limit(n, age) bound what can pile
up (TryAgain at the bound).

The library is found through $CROCHET_LIBRARY, a copy already loaded in the
process (one reactor per process), the copy in libcrochet/_lib/ (a wheel
carries one), the dynamic linker (the soname), or `pkg-config --variable=libdir
crochet`; its MAJOR.MINOR must be this package's (__version__, which is
CROCHET_VERSION_STRING of include/crochet.h).
"""

from ._version import __version__
from ._native import library_path as _library_path, lib as _lib
from ._errors import (AlreadyCalledError, CallFailed, CancelledError, CrochetError, Failure,
                      ReactorStopped, TimeoutError, TryAgain)
from ._lifecycle import in_reactor_thread, no_setup, run, setup, stop
from . import _threadstate  # noqa: F401  (the reactor thread keeps one thread state)
from ._results import EventualResult, retrieve_result
from ._deferred import Deferred, fail, succeed
from ._deferredlist import DeferredList, FirstError, gatherResults
from ._coroutine import ensureDeferred, maybeDeferred
from ._services import (DelayedCall, add_reader, add_writer, call_from_thread, call_later,
                        remove_reader, remove_writer)
from ._threads import defer_to_thread
from ._foreign import deferred_of
from ._calls import run_in_reactor, wait_for
from ._operability import (ResultInfo, Stats, set_max_queued, set_stall_warning,
                           set_stash_limit, stats)


def library_version() -> str:
    """The loaded libcrochet's version string (crochet_version())."""
    version: bytes = _lib.crochet_version()
    return version.decode()


def library_path() -> str:
    """The path libcrochet was loaded from."""
    return _library_path


__all__ = [
    "setup", "no_setup", "run", "stop", "in_reactor_thread",
    "run_in_reactor", "wait_for", "retrieve_result",
    "EventualResult", "Failure", "Deferred", "DelayedCall", "call_later", "call_from_thread",
    "deferred_of", "TimeoutError", "ReactorStopped", "CancelledError", "CallFailed",
    "AlreadyCalledError", "TryAgain", "CrochetError", "library_version", "library_path",
    "ResultInfo", "Stats", "stats", "set_stall_warning", "set_max_queued", "set_stash_limit",
    "succeed", "fail", "maybeDeferred", "gatherResults", "DeferredList", "FirstError",
    "ensureDeferred", "add_reader", "add_writer", "remove_reader", "remove_writer",
    "defer_to_thread",
    "__version__",
]
