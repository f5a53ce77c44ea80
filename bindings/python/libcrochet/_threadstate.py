"""One Python thread state for the reactor thread of setup().

The reactor thread of setup() is the library's, not Python's: each ctypes
callback it makes takes the GIL with PyGILState_Ensure, which, on a thread
with no Python thread state, makes one for the call, and PyGILState_Release
deletes it when the call returns. So every callback ran in a new thread
state: a threading.local or a context variable set in one callback was gone
in the next, and making and deleting the state was most of what a callback
cost (a call_from_thread callback: 22 us, 5 us with one state kept).

So the first call the new reactor runs takes one more PyGILState_Ensure
(the callback holds the GIL: the state is only counted once more), and
every later callback finds that state and uses it. It is given back on the
reactor thread itself, by the last shutdown trigger to run (registered
first) when the reactor stops, so the callback that runs it deletes the
state as it returns; the destroys the library runs after that get fresh
states again. The binding's exit stops the reactor and waits for its
thread to be gone before Python finalizes (_exit.py), so a kept state is
never left to a finalized interpreter by an idle reactor thread; a thread
still in a callback then holds a state anyway, kept or not.

With no_setup(), the thread that calls run() is a Python thread with its
own state, which its callbacks use already: nothing is done. A fork child's
setup() starts a new reactor thread, which takes its own (the parent's
record is for the parent's pid).
"""

from __future__ import annotations

import ctypes
import os
import threading
from typing import Optional, Tuple

from . import _lifecycle, _native, _services

_ensure = ctypes.pythonapi.PyGILState_Ensure
_ensure.argtypes = []
_ensure.restype = ctypes.c_int
_release = ctypes.pythonapi.PyGILState_Release
_release.argtypes = [ctypes.c_int]
_release.restype = None

# (pid, thread ident, PyGILState_STATE) while the reactor thread keeps a state.
_kept: Optional[Tuple[int, int, int]] = None


def kept() -> bool:
    """Whether this process's reactor thread keeps its thread state."""
    return _kept is not None and _kept[0] == os.getpid()


def _keep() -> None:
    """(reactor thread, in a callback) One more count on this thread state,
    so that it outlives the callback; given back at stop."""
    global _kept
    if kept() or not _lifecycle.in_reactor_thread():
        return
    _kept = (os.getpid(), threading.get_ident(), _ensure())
    # (No ctx: nothing is held for it.)
    if _native.lib.crochet_add_shutdown_trigger(_GIVE_BACK, None, _native.NO_CTX_FN) != \
            _native.OK:   # already stopping: give it back now
        _give_back()


def _give_back(_ctx: Optional[int] = None) -> None:
    """(reactor thread, in a callback) The count _keep() took: the state
    goes when this callback returns."""
    global _kept
    record = _kept
    if record is None or record[0] != os.getpid() or record[1] != threading.get_ident():
        return
    _kept = None
    _release(record[2])


# The shutdown trigger. Never freed, also not while Python clears this
# module at exit (as _held.DROP).
_GIVE_BACK = _native.CTX_FN(_give_back)
ctypes.pythonapi.Py_IncRef(ctypes.py_object(_GIVE_BACK))


def _started() -> None:
    """(setup(), the calling thread) The first call the new reactor runs
    keeps its thread state."""
    if _lifecycle.mode() != "setup":
        return
    try:
        _services.call_from_thread(_keep)
    except BaseException:   # stopped already, or refused: callbacks make their own
        pass


_lifecycle.when_started(_started)
