"""Interpreter exit.

The library's own exit handler runs from the C runtime's atexit, after
Python has finalized: too late for a reactor that calls Python functions
(and their destroy callbacks). So before Python finalizes, the binding does
what that handler does (include/crochet.h, "At exit"), within one budget of
EXIT_TIMEOUT seconds from the moment exit began:

1. before non-daemon threads are joined (threading's own exit hook, as
   crochet's watchdog does it): the calls already queued run first; then
   the reactor stops, which completes every pending result with
   ReactorStopped (waiters in non-daemon threads return, so exit does not
   hang joining them) and runs every destroy; and the binding waits until
   the reactor thread is gone, after which it calls no Python code;
2. at atexit: the failures of results still stashed are logged through
   `logging` (_results.report_stashed_at_exit), and log records go back to
   stderr once every record made so far reached `logging`.

A function still running on the reactor thread when the budget is spent is
not waited for: Python finalizes around it (a thread that wants the GIL
after that is ended by Python), and the process then ends as soon as its
C-level exit begins, with the status Python chose (on_exit(_exit)), so that
the library's own exit handler, which would wait up to 6 s more for the
reactor thread, does not run. Nothing else is skipped: by then Python has
flushed its own files, and C stdio buffers are flushed first.

The library has no call that waits until the reactor thread has finished
stopping (crochet_stop returns at once), so the binding notes that thread's
id at setup() and watches /proc/self/task/<id> (Linux) until it is gone.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import threading
import time
from typing import Any, Callable, List, Optional, Tuple

EXIT_TIMEOUT = 5.0
# After the budget, what a reactor thread told to stop may still take to end
# (the callback it was in just returned): then it is not waited for.
STOP_GRACE = 0.25
_registered = False
_deadline: Optional[float] = None   # when the budget ends, once exit began
# hook(seconds left) for each, after the drain and before the reactor stops
# (twistedreactor: Twisted's own shutdown, which may take loop turns).
before_stop: List[Callable[[float], None]] = []


def register() -> None:
    global _registered
    if _registered:
        return
    _registered = True
    # Before non-daemon threads are joined (crochet's watchdog does this).
    register_early = getattr(threading, "_register_atexit", None)
    if register_early is not None:
        try:
            register_early(_stop_reactor)
        except RuntimeError:  # already shutting down
            pass
    atexit.register(_at_exit)


_reactor_thread: Optional[Tuple[int, int]] = None   # (pid, native thread id)


def _note_reactor_thread() -> None:
    global _reactor_thread
    _reactor_thread = (os.getpid(), threading.get_native_id())


def _submit(function: Callable[[], None], what: str) -> Any:
    """run_in_reactor(function)() (an EventualResult)."""
    from . import _calls
    submit: Any = _calls.submit_python
    return submit(function, (), {}, what)


def watch_reactor_thread() -> None:
    """After setup(): the first call the new reactor runs notes its thread."""
    _submit(_note_reactor_thread, "setup()")


def _reactor_task() -> Optional[str]:
    """/proc/self/task/<id> of this process's reactor thread, if noted."""
    if _reactor_thread is None or _reactor_thread[0] != os.getpid():
        return None
    return "/proc/self/task/%d" % _reactor_thread[1]


def reactor_thread_alive() -> bool:
    """Whether the library's reactor thread (of setup()) still exists."""
    task = _reactor_task()
    return task is not None and os.path.exists(task)


def _wait_reactor_thread_gone(until: float) -> bool:
    """Waits until the reactor thread is gone, or until `until`
    (time.monotonic()); returns whether it is gone."""
    task = _reactor_task()
    pause = 0.0005
    while task is not None and os.path.exists(task):
        left = until - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(pause, left))
        pause = min(pause * 2, 0.01)
    return True


def _left() -> float:
    return max(0.0, (_deadline or 0.0) - time.monotonic())


def _drain(timeout: float) -> None:
    """Lets the calls queued so far run, up to timeout."""
    from ._errors import CrochetError
    try:
        _submit(lambda: None, "exit").wait(timeout)
    except (CrochetError, RuntimeError):
        pass


def _stop_reactor() -> None:
    """Step 1 (once, whichever exit hook comes first)."""
    global _deadline
    if _deadline is not None:
        return
    _deadline = time.monotonic() + EXIT_TIMEOUT
    from . import _lifecycle
    from ._native import lib
    try:
        mode = _lifecycle.mode()
        if mode is None or _lifecycle.in_reactor_thread():
            return
        if mode == "no_setup":   # the application's own thread runs the reactor
            lib.crochet_stop()
            return
        _drain(_left())
        for hook in list(before_stop):
            hook(_left())
        lib.crochet_stop()
        _wait_reactor_thread_gone(_deadline)
    except BaseException:  # pragma: no cover - never let exit fail
        pass


def _end_at_c_exit() -> bool:
    """Makes the process end as soon as its C-level exit begins, with the
    exit status (glibc's on_exit runs the handlers registered last first,
    with the status exit() was given: this one is _exit(status)). C stdio
    buffers are flushed first. False where there is no on_exit."""
    try:
        libc = ctypes.CDLL(None)
        on_exit = libc.on_exit
        end = libc._exit
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return False
    libc.fflush(None)
    on_exit.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    on_exit.restype = ctypes.c_int
    return bool(on_exit(ctypes.cast(end, ctypes.c_void_p), None) == 0)


def _at_exit() -> None:
    """Step 2."""
    from . import _lifecycle, _logging, _results
    try:
        _stop_reactor()   # if threading's hook did not run
        try:
            _results.report_stashed_at_exit()
        finally:
            _logging.close(min(1.0, max(0.25, _left())))
        if _lifecycle.mode() == "setup" and not _wait_reactor_thread_gone(
                max(_deadline or 0.0, time.monotonic()) + STOP_GRACE):
            _end_at_c_exit()
    except BaseException:  # pragma: no cover
        pass
