"""The library's log records, sent to logging.getLogger("libcrochet").

The library calls the handler on its logging thread, never on the reactor
thread. At exit (before Python finalizes, _exit.py) the handler is put back to
the library's default, stderr, after crochet_log_flush waited until the
records made before were handed to Python: after that the library never
calls it.
"""

import logging

from . import _native
from ._native import lib

logger = logging.getLogger("libcrochet")


def _on_log(level, message, _ctx):
    try:
        logger.log(level, "%s", message.decode("utf-8", "replace") if message else "")
    except BaseException:
        pass


# Never freed: the logging thread may call it until the handler is replaced.
_LOG_THUNK = _native.LOG_FN(_on_log)
_installed = False


def install():
    global _installed
    if not _installed:
        lib.crochet_set_log_handler(_LOG_THUNK, None, _native.NO_CTX_FN)
        _installed = True


def flush(timeout=1.0):
    """Waits (up to timeout seconds) until the records logged so far reached
    logging. True if they did, False on timeout or on the reactor thread."""
    return lib.crochet_log_flush(timeout) == _native.OK


def close(timeout=1.0):
    """Back to the library's default handler, once every record made so far
    was handed to logging."""
    global _installed
    if _installed:
        lib.crochet_log_flush(timeout)   # records queued now go to the new handler
        lib.crochet_set_log_handler(_native.NO_LOG_HANDLER, None, _native.NO_CTX_FN)
        lib.crochet_log_flush(timeout)   # the one in flight, if any
        _installed = False
