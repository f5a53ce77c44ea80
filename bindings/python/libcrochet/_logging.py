"""The library's log records, sent to logging.getLogger("libcrochet").

The library calls the handler on its logging thread, never on the reactor
thread. At exit (before Python finalizes, _exit.py) the handler is put back to
the library's default, stderr, after crochet_log_flush waited until the
records made before were handed to Python: after that the library never
calls it.

A failure nobody looked at is reported by the library as "Unhandled error in
EventualResult: CROCHET_EFAILED (-3): <message>\nTraceback:\n<frames>", the
frames being those of the thread that raised it. For a Python exception the
message is its traceback text, or its last line when the text was never
needed (_calls.py), and those frames are Python's and ctypes' own on the
reactor thread: the record shows what crochet's does, the Python traceback
(or the exception) alone.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Optional

from . import _native
from ._native import lib

logger = logging.getLogger("libcrochet")


def log_exception(message: str) -> None:
    """In an except block of a callback the library calls: logs the
    exception being handled; never raises (a failing handler must not
    unwind into the library's C frames)."""
    try:
        logger.exception(message)
    except BaseException:
        pass

# The library's report of a failure: what, status, message, native frames
# (last: the message may hold anything).
_UNHANDLED = re.compile(
    r"(?P<what>Unhandled error in (?:stashed )?EventualResult(?: at exit)?): "
    r"(?P<status>[A-Z_]+ \(-?\d+\)|code -?\d+): (?P<message>.*)"
    r"\nTraceback:\n(?P<frames>(?:#[^\n]*\n?|\([^\n]*\)\n?)*)\Z", re.S)
# A frame of the interpreter, or of ctypes calling the library from Python.
_PYTHON_FRAME = re.compile(r"_PyEval_|PyObject_|_ctypes|libpython")
_PYTHON_TRACEBACK = "Traceback (most recent call last):\n"


def raised_in_python(message: str, frames: str) -> bool:
    """Whether a failure (its message and the library's native frames) was
    raised by Python code: its message is a Python traceback, or the frames
    run through the interpreter."""
    return message.startswith(_PYTHON_TRACEBACK) or _PYTHON_FRAME.search(frames) is not None


def python_record(message: str) -> Optional[str]:
    """The library's report of a failure raised by Python code as crochet
    gives it (what happened, then the Python traceback or the exception),
    or None for any other record."""
    if not message.startswith("Unhandled error in "):
        return None
    match = _UNHANDLED.match(message)
    if match is None or not raised_in_python(match.group("message"), match.group("frames")):
        return None
    return "%s\n%s" % (match.group("what"), match.group("message").rstrip("\n"))


def _on_log(level: int, message: Optional[bytes], _ctx: Any) -> None:
    try:
        text = message.decode("utf-8", "replace") if message else ""
        logger.log(level, "%s", python_record(text) or text)
    except BaseException:
        pass


# Never freed: the logging thread may call it until the handler is replaced.
_LOG_THUNK = _native.LOG_FN(_on_log)
_installed = False


def install() -> None:
    global _installed
    if not _installed:
        lib.crochet_set_log_handler(_LOG_THUNK, None, _native.NO_CTX_FN)
        _installed = True


def flush(timeout: float = 1.0) -> bool:
    """Waits (up to timeout seconds) until the records logged so far reached
    logging. True if they did, False on timeout or on the reactor thread."""
    return bool(lib.crochet_log_flush(timeout) == _native.OK)


def close(timeout: float = 1.0) -> None:
    """Back to the library's default handler, once every record made so far
    was handed to logging."""
    global _installed
    if _installed:
        lib.crochet_log_flush(timeout)   # records queued now go to the new handler
        lib.crochet_set_log_handler(_native.NO_LOG_HANDLER, None, _native.NO_CTX_FN)
        lib.crochet_log_flush(timeout)   # the one in flight, if any
        _installed = False
