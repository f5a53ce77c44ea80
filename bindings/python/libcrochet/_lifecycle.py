"""setup, no_setup, run, stop.

What the binding adds to the library's lifecycle is per process: the log
handler and the exit handler (_exit.py). In a child made by fork() the
library completes the results inherited from the parent with
CROCHET_ESTOPPED, never destroys what the parent's callbacks hold (the
parent owns it), and setup() starts a fresh reactor; so the binding only has
to notice that it runs in a new process, by its pid. It needs no fork handler.
"""

from __future__ import annotations

import os
import threading
from typing import Callable, List, Optional, Tuple

from . import _exit, _logging
from ._native import lib
from ._status import check, error_for_status
from . import _native

_lock = threading.RLock()
_mode: Optional[Tuple[str, int]] = None   # (mode, pid): "setup" or "no_setup", in process pid
_start_hooks: List[Callable[[], None]] = []   # when_started(hook)


def mode() -> Optional[str]:
    """"setup", "no_setup" or None, for this process."""
    return _mode[0] if _mode is not None and _mode[1] == os.getpid() else None


def _started(how: str) -> None:
    global _mode
    _mode = (how, os.getpid())
    _logging.install()
    _exit.register()
    for hook in list(_start_hooks):
        hook()


def when_started(hook: Callable[[], None]) -> None:
    """Calls hook() (in the calling thread) whenever the library is
    initialized in a process, by setup() or no_setup(), and now if it
    already is (twistedreactor starts Twisted's reactor this way)."""
    with _lock:
        _start_hooks.append(hook)
        if mode() is not None:
            hook()


def setup() -> None:
    """Starts the reactor on a thread the library owns, routes the library's
    logs to logging.getLogger("libcrochet"), and stops the reactor at exit.
    May be called any number of times; no effect after no_setup()."""
    with _lock:
        check(lib.crochet_setup(), "setup()")
        if mode() is None:
            _started("setup")
            _exit.watch_reactor_thread()


def no_setup() -> None:
    """Initializes libcrochet without starting a reactor thread: the
    application runs the reactor itself with run() (on a thread of its own)
    and stops it with stop(). Later setup() calls have no effect.
    RuntimeError after setup()."""
    with _lock:
        current = mode()
        if current == "no_setup":
            return
        if current == "setup":
            raise RuntimeError("no_setup() was called after setup()")
        status = lib.crochet_no_setup()
        if status == _native.ESTATE:
            raise RuntimeError("no_setup() was called after setup(): libcrochet is already "
                               "initialized in this process")
        check(status, "no_setup()")
        _started("no_setup")


def run() -> None:
    """After no_setup(), runs the reactor on the calling thread until stop().
    A reactor runs once. The calling thread is the reactor thread meanwhile."""
    status = lib.crochet_run()
    if status == _native.ESTATE:
        raise RuntimeError("run() needs no_setup() first, and a reactor runs only once")
    check(status, "run()")


def stop() -> None:
    """Stops the reactor: every pending result completes with ReactorStopped
    and later calls raise ReactorStopped. Returns at once. Idempotent."""
    status = lib.crochet_stop()
    if status != _native.OK:
        raise error_for_status(status, "stop()")


def in_reactor_thread() -> bool:
    """True on the reactor thread (while it runs the reactor)."""
    return bool(lib.crochet_in_reactor_thread() != 0)
