"""Python objects that the engine holds through a `void *` (a callback's ctx,
an owned result value): the one mechanism that keeps them alive.

hold(obj) returns a key, the address of a fresh cell [obj]; the engine is
given the key and DROP as its destroy function. The engine calls
destroy(ctx) exactly once, when it will never use ctx again (include/crochet.h,
"Callbacks own their ctx through destroy"), and DROP is the one place where
the cell goes. Nothing here decides when: the engine does.

The key is the address of a live Python object, so no native pointer can be
mistaken for one while it is held; `get` maps a pointer back to the object.
"""

from __future__ import annotations

import ctypes
from typing import Any, Dict, List, Optional

from . import _native

_cells: Dict[int, List[Any]] = {}   # key -> [obj], until the engine's destroy(key)


def hold(obj: Any) -> int:
    """A new key for obj, valid until DROP(key) (or drop(key))."""
    cell = [obj]
    key = id(cell)
    _cells[key] = cell
    return key


def get(key: Optional[int], default: Any = None) -> Any:
    """The object held under key (a pointer from the engine), or default."""
    cell = _cells.get(key) if key is not None else None
    return default if cell is None else cell[0]


def drop(key: Optional[int], _pop: Any = _cells.pop) -> None:
    """Lets go of key. Only for a registration the engine refused and that
    the contract says stays ours (crochet_deferred_callback_owned)."""
    _pop(key, None)


def count() -> int:
    """How many objects the engine holds (for tests)."""
    return len(_cells)


def _destroy(ctx: Optional[int], _pop: Any = _cells.pop) -> None:
    if _pop(ctx, None) is None:
        try:   # the engine broke "exactly once"
            from ._logging import logger
            logger.error("libcrochet: destroy(%#x) for a ctx that is not held", ctx or 0)
        except BaseException:
            pass


# destroy(ctx) for everything hold() made. Never freed: the engine may call
# it until the process ends, also while Python clears this module at exit
# (an object freed then, such as a Deferred in a reference cycle, releases
# what the engine holds for it), so one reference to it is nobody's. It
# keeps _destroy, and so _cells and what is held, alive.
DROP = _native.CTX_FN(_destroy)
ctypes.pythonapi.Py_IncRef(ctypes.py_object(DROP))
