"""Lifecycle (setup, no_setup, run, stop), logging, exit and fork handling, and
the registries that keep Python objects alive while native code refers to them
by an integer token.

Native code never holds a Python object: it holds a token (passed as the
`void *ctx` or pointer argument) that indexes `pending` or `callbacks` here.

At interpreter exit nothing may call into Python once finalization begins, so
the exit handlers stop the reactor and wait until its thread has run our
shutdown trigger (after which it calls no Python code), then restore the
library's default log handler.
"""

import atexit
import ctypes
import itertools
import logging
import math
import numbers
import os
import threading

from . import _native
from ._errors import (AlreadyCalledError, CancelledError, CrochetError, ReactorStopped,
                      TimeoutError)
from ._native import lib

logger = logging.getLogger("libcrochet")

# Tokens: never 0 (a NULL pointer), never reused in this process.
_tokens = itertools.count(1)


def new_token():
    return next(_tokens)


# token -> what a queued call needs until its turn on the reactor has passed:
# a Python call (_calls.PythonCall), or the objects a native call's pointer
# arguments point into. Removed by the trampoline, by a waiter that saw the
# result complete, by a reaper queued behind the call, or at stop.
pending = {}
# token -> (function, args, kwargs) for call_later / call_from_thread.
callbacks = {}
# Objects that native code may still be using while the reactor stops, and
# which therefore are never freed.
graveyard = []

# How long exit waits for the reactor thread to finish (a Python function
# still running there delays exit up to this long).
EXIT_TIMEOUT = 5.0
# Waits are done in slices so that Ctrl-C reaches the main thread.
WAIT_SLICE = 0.1


class _State:
    def __init__(self):
        self.mode = None             # None, "setup" or "no_setup"
        self.trigger = False         # our shutdown trigger is registered
        self.reactor_done = threading.Event()
        self.lock = threading.RLock()


_state = _State()
_exit_registered = False
_log_installed = False
_log_closed = False
_flush_markers = {}
_MARKER = "libcrochet-python-log-flush-"


# ---------------------------------------------------------------------------
# Statuses and arguments
# ---------------------------------------------------------------------------

def error_for_status(status, what):
    """The exception for a CROCHET_E* status returned by `what`."""
    text = _native.strerror(status)
    if status == _native.ESTATE:
        return RuntimeError("%s: libcrochet is not set up (call libcrochet.setup() first): %s"
                            % (what, text))
    if status == _native.ESTOPPED:
        return ReactorStopped("%s: the reactor has stopped" % what)
    if status == _native.EREACTORTHREAD:
        return RuntimeError("%s must not be called on the reactor thread: it would block "
                            "the reactor" % what)
    if status == _native.ENOTREACTOR:
        return RuntimeError("%s may only be called on the reactor thread (use "
                            "libcrochet.call_from_thread)" % what)
    if status == _native.EINVAL:
        return ValueError("%s: %s" % (what, text))
    if status == _native.ENOMEM:
        return MemoryError("%s: %s" % (what, text))
    if status == _native.EALREADY:
        return AlreadyCalledError("%s: %s" % (what, text))
    if status == _native.ETIMEDOUT:
        return TimeoutError("%s: %s" % (what, text))
    if status == _native.ECANCELLED:
        return CancelledError("%s: %s" % (what, text))
    if status == _native.ENOTFOUND:
        return KeyError(what)
    return CrochetError("%s: %s (status %d)" % (what, text, status))


def check(status, what):
    if status != _native.OK:
        raise error_for_status(status, what)


def seconds(value, what="timeout", allow_none=True):
    """A timeout or delay as float seconds (None: no limit, as inf).
    TypeError for a non-number, ValueError for a negative or NaN one."""
    if value is None and allow_none:
        return math.inf
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError("%s must be a number of seconds%s, not %s"
                        % (what, " or None" if allow_none else "", type(value).__name__))
    try:
        t = float(value)
    except OverflowError:
        t = math.inf if value > 0 else -math.inf
    if math.isnan(t) or t < 0:
        raise ValueError("%s must be a non-negative number of seconds, not %r" % (what, value))
    return t


def in_reactor_thread():
    """True on the reactor thread (while it runs the reactor)."""
    return lib.crochet_in_reactor_thread() != 0


# ---------------------------------------------------------------------------
# Callbacks from native code. Each catches everything: an exception must
# never propagate into the library.
# ---------------------------------------------------------------------------

def _run_callback(token):
    """call_later / call_from_thread: runs the function on the reactor thread."""
    try:
        entry = callbacks.pop(token, None)
        if entry is None:
            return
        f, args, kwargs = entry
        f(*args, **kwargs)
    except BaseException:
        try:
            logger.exception("Unhandled error in a function called on the reactor thread")
        except BaseException:
            pass


def _reap(token):
    """Queued behind a call whose EventualResult went away: when this runs, the
    call has run or never will, so what it needed can go."""
    pending.pop(token, None)


shutdown_hooks = []   # run by the shutdown trigger


def _on_shutdown(_ctx):
    """Shutdown trigger (reactor thread, as the reactor stops): calls not yet
    started never will, timers never fire, deferreds are never cancelled.
    After this returns the reactor thread runs no Python code."""
    try:
        pending.clear()
        callbacks.clear()
        for hook in shutdown_hooks:
            hook()
    except BaseException:
        pass
    finally:
        _state.reactor_done.set()


def _on_log(level, message, _ctx):
    """Log handler (the library's logging thread)."""
    try:
        text = message.decode("utf-8", "replace") if message else ""
        if _flush_markers and _MARKER in text:
            for marker, event in list(_flush_markers.items()):
                if marker in text:
                    event.set()
                    return
        logger.log(level, "%s", text)
    except BaseException:
        pass


CALLBACK_THUNK = _native.CTX_FN(_run_callback)
REAPER_THUNK = _native.CTX_FN(_reap)
_TRIGGER_THUNK = _native.CTX_FN(_on_shutdown)
_LOG_THUNK = _native.LOG_FN(_on_log)
# The thunks are never freed, not even when the module is torn down at exit:
# a native thread might still be about to call one.
_immortal = (CALLBACK_THUNK, REAPER_THUNK, _TRIGGER_THUNK, _LOG_THUNK)
try:
    for _thunk in _immortal:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(_thunk))
except (AttributeError, OSError):  # pragma: no cover - not CPython
    pass


def call_from_thread(f, *args, **kwargs):
    """Runs f(*args, **kwargs) on the reactor thread soon (Twisted's
    reactor.callFromThread). Any thread. Exceptions are logged."""
    if not callable(f):
        raise TypeError("call_from_thread() needs a callable, not %s" % type(f).__name__)
    token = new_token()
    callbacks[token] = (f, args, kwargs)
    status = lib.crochet_call_from_thread(CALLBACK_THUNK, token)
    if status != _native.OK:
        callbacks.pop(token, None)
        raise error_for_status(status, "call_from_thread()")


def queue_reaper(token):
    """Frees pending[token] once the call's turn on the reactor has passed
    (calls and callbacks run in the order they were queued)."""
    if token not in pending:
        return
    status = lib.crochet_call_from_thread(REAPER_THUNK, token)
    if status != _native.OK:
        # Stopping: the call will not start. A Python call can go (its
        # trampoline copes with a missing token), but a native call might be
        # running right now with pointers into a keepalive list: keep those.
        entry = pending.pop(token, None)
        if isinstance(entry, list):
            graveyard.append(entry)


# ---------------------------------------------------------------------------
# Lifecycle
# ---------------------------------------------------------------------------

def _install_log_handler():
    global _log_installed, _log_closed
    if not _log_installed:
        lib.crochet_set_log_handler(_LOG_THUNK, None)
        _log_installed = True
        _log_closed = False


def _add_trigger():
    if _state.trigger:
        return
    status = lib.crochet_add_shutdown_trigger(_TRIGGER_THUNK, None)
    if status == _native.OK:
        _state.trigger = True
    elif status == _native.ESTOPPED:
        _state.reactor_done.set()


def _register_exit():
    global _exit_registered
    if _exit_registered:
        return
    _exit_registered = True
    # Before non-daemon threads are joined, so that their waits end with
    # ReactorStopped instead of hanging the exit (crochet's watchdog does this).
    register_early = getattr(threading, "_register_atexit", None)
    if register_early is not None:
        try:
            register_early(_stop_at_exit)
        except RuntimeError:  # already shutting down
            pass
    atexit.register(_exit)


def setup():
    """Starts the reactor on a thread the library owns, routes the library's
    logs to logging.getLogger("libcrochet"), and stops the reactor at exit.
    May be called any number of times; no effect after no_setup()."""
    with _state.lock:
        check(lib.crochet_setup(), "setup()")
        if _state.mode is None:
            _state.mode = "setup"
            _install_log_handler()
            _add_trigger()
            _register_exit()


def no_setup():
    """Initializes libcrochet without starting a reactor thread: the
    application runs the reactor itself with run() (on a thread of its own)
    and stops it with stop(). Later setup() calls have no effect.
    RuntimeError after setup()."""
    with _state.lock:
        if _state.mode == "no_setup":
            return
        if _state.mode == "setup":
            raise RuntimeError("no_setup() was called after setup()")
        status = lib.crochet_no_setup()
        if status == _native.ESTATE:
            raise RuntimeError("no_setup() was called after setup(): libcrochet is already "
                               "initialized in this process")
        check(status, "no_setup()")
        _state.mode = "no_setup"
        _install_log_handler()
        _add_trigger()
        _register_exit()


def run():
    """After no_setup(), runs the reactor on the calling thread until stop().
    A reactor runs once. The calling thread is the reactor thread meanwhile."""
    status = lib.crochet_run()
    if status == _native.ESTATE:
        raise RuntimeError("run() needs no_setup() first, and a reactor runs only once")
    check(status, "run()")


def stop():
    """Stops the reactor: every pending result completes with ReactorStopped
    and later calls raise ReactorStopped. Returns at once. Idempotent."""
    check(lib.crochet_stop(), "stop()")


def _stop_and_wait():
    if _state.mode is None:
        return
    if _state.mode == "setup":
        lib.crochet_stop()
    if _state.trigger and not in_reactor_thread():
        # Until the reactor thread is done with Python (a function still
        # running there delays this, up to the limit).
        _state.reactor_done.wait(EXIT_TIMEOUT if _state.mode == "setup" else 0)


def _stop_at_exit():
    try:
        _stop_and_wait()
    except BaseException:  # pragma: no cover - never let exit fail
        pass


exit_hooks = []   # run by _exit before the log handler goes


def _exit():
    global _log_closed
    try:
        _stop_and_wait()
        for hook in exit_hooks:
            try:
                hook()
            except Exception:
                logger.exception("libcrochet: error at exit")
        if _log_installed and not _log_closed:
            flush_log()
            # From here on records go to stderr: Python is about to finalize.
            lib.crochet_set_log_handler(_native.NO_LOG_HANDLER, None)
            _log_closed = True
    except BaseException:  # pragma: no cover - never let exit fail
        pass


def flush_log(timeout=1.0):
    """Waits (bounded) until the records logged so far were handed to
    logging. crochet_set_log_handler does not say when the previous handler
    was called for the last time, so this sends a marker through the log (the
    warning crochet_raise logs outside a call) and waits for it to arrive."""
    if not _log_installed or _log_closed:
        return False
    marker = "%s%d-%d" % (_MARKER, os.getpid(), new_token())
    event = threading.Event()
    _flush_markers[marker] = event
    try:
        lib.crochet_raise(0, marker.encode())
        return event.wait(timeout)
    finally:
        _flush_markers.pop(marker, None)


def _after_fork_in_child():
    # The child has no reactor thread: calls queued in the parent never run
    # here, and setup() starts a fresh reactor.
    global _state
    pending.clear()
    callbacks.clear()
    for hook in shutdown_hooks:
        hook()
    _state = _State()


os.register_at_fork(after_in_child=_after_fork_in_child)
