"""Interpreter exit.

The library's own exit handler runs from the C runtime's atexit, after
Python has finalized: too late for a reactor that calls Python functions
(and their destroy callbacks). So before Python finalizes, the binding does
what that handler does (include/crochet.h, "At exit"): the calls already
queued run first, for at most EXIT_TIMEOUT in all; then the reactor stops,
which completes every pending result with ReactorStopped (waiters in
non-daemon threads return, so exit does not hang joining them) and runs
every destroy; and the binding waits until the reactor thread is gone, after
which it calls no Python code. Last (atexit), log records go back to stderr.

The library has no call that waits until the reactor thread has finished
stopping (crochet_stop returns at once), so the binding notes that thread's
id at setup() and watches /proc/self/task/<id> (Linux) until it is gone.
"""

import atexit
import os
import threading
import time

EXIT_TIMEOUT = 5.0
_registered = False
# hook(seconds left) for each, after the drain and before the reactor stops
# (twistedreactor: Twisted's own shutdown, which may take loop turns).
before_stop = []


def register():
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


_reactor_thread = None   # (pid, native thread id) of the library's reactor thread


def _note_reactor_thread():
    global _reactor_thread
    _reactor_thread = (os.getpid(), threading.get_native_id())


def watch_reactor_thread():
    """After setup(): the first call the new reactor runs notes its thread."""
    from ._calls import submit_python
    submit_python(_note_reactor_thread, (), {}, "setup()")


def _drain(timeout):
    """Lets the calls queued so far run, up to timeout."""
    from ._calls import submit_python
    from ._errors import CrochetError
    try:
        submit_python(lambda: None, (), {}, "exit").wait(timeout)
    except (CrochetError, RuntimeError):
        pass


def _stop_reactor():
    from . import _lifecycle
    from ._native import lib
    try:
        mode = _lifecycle.mode()
        if mode is None or _lifecycle.in_reactor_thread():
            return
        if mode == "no_setup":   # the application's own thread runs the reactor
            lib.crochet_stop()
            return
        deadline = time.monotonic() + EXIT_TIMEOUT
        _drain(EXIT_TIMEOUT)
        for hook in list(before_stop):
            hook(max(0.0, deadline - time.monotonic()))
        lib.crochet_stop()
        pid, tid = _reactor_thread or (None, None)
        task = "/proc/self/task/%d" % tid if pid == os.getpid() else None
        while task and os.path.exists(task) and time.monotonic() < deadline:
            time.sleep(0.001)
    except BaseException:  # pragma: no cover - never let exit fail
        pass


def _at_exit():
    from . import _logging
    try:
        _stop_reactor()   # if threading's hook did not run
        _logging.close()
    except BaseException:  # pragma: no cover
        pass
