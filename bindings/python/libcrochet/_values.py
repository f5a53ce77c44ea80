"""How a Python value travels through the engine, and back.

None, an int that fits in 64 bits and a float travel as plain crochet_values
(VOID, INT64, DOUBLE), which native code can read too. Any other object
travels as a pointer that the engine's result owns: the deferred the result
follows is fired with crochet_deferred_callback_owned(d, key, DROP), where key
holds the object (_held). The object then lives exactly as long as the result
(also in the result store, across stash and retrieve, with no Python object
of ours around), and the engine says when it goes by calling DROP. A waiter
maps the pointer back with _held.get while it holds the result.
"""

from __future__ import annotations

import ctypes
from typing import Any, Optional

from . import _held, _native
from ._native import lib
from ._status import error_for_status

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def _plain(obj: Any) -> Optional[_native.Value]:
    """obj as a plain crochet_value, or None when it travels held."""
    t = type(obj)
    if obj is None:
        return _native.Value(_native.TYPE_VOID)
    v = _native.Value()
    if t is int and _INT64_MIN <= obj <= _INT64_MAX:
        v.type, v.u.i64 = _native.TYPE_INT64, obj
    elif t is float:
        v.type, v.u.f64 = _native.TYPE_DOUBLE, obj
    else:
        return None
    return v


def fire(d: Optional[int], obj: Any) -> int:
    """Fires the deferred d with obj; returns the library's status."""
    v = _plain(obj)
    if v is not None:
        plain: int = lib.crochet_deferred_callback(d, v)
        return plain
    key = _held.hold(obj)
    status: int = lib.crochet_deferred_callback_owned(d, key, _held.DROP)
    if status != _native.OK:
        _held.drop(key)   # refused: the contract leaves the pointer ours
    return status


def returned(obj: Any) -> _native.Value:
    """The crochet_value a closure returns for obj (reactor thread): plain, or a
    deferred fired with obj owned, whose reference goes to the engine."""
    v = _plain(obj)
    if v is not None:
        return v
    d = ctypes.c_void_p()
    status = lib.crochet_deferred_new(ctypes.byref(d), _native.NO_CANCELLER, None,
                                      _native.NO_CTX_FN)
    if status == _native.OK:
        status = fire(d.value or 0, obj)
        if status != _native.OK:
            lib.crochet_deferred_release(d.value)
    if status != _native.OK:
        raise error_for_status(status, "returning a value from the reactor")
    v = _native.Value(_native.TYPE_DEFERRED)
    v.u.ptr = d.value
    return v


def decode(v: _native.Value) -> Any:
    """A crochet_value (of a result the caller holds) as a Python value: a
    held object for its pointer, else the payload its type tag names."""
    if v.type == _native.TYPE_VOID:
        return None
    if v.type == _native.TYPE_POINTER:
        return _held.get(v.u.ptr, v.u.ptr)
    field = _native.FIELD_OF_TYPE.get(v.type)
    if field is None:
        raise ValueError("unknown crochet_type tag %d" % v.type)
    return getattr(v.u, field)
