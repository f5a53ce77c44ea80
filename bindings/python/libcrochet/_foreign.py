"""ctypes foreign functions, called natively on the reactor thread through
the engine's libffi (crochet_submit): how ctypes types map to crochet_types,
arguments in and results out.

ctypes types are dynamic (a restype is a class, or None, or a
deferred_of() class; a ctypes instance's _type_ is a code letter), so they
are Any here."""

from __future__ import annotations

import ctypes
import numbers
import operator
import threading
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from . import _native, _values
from ._native import lib
from ._results import EventualResult
from ._services import keep_until_run
from ._status import error_for_status

if TYPE_CHECKING:
    import inspect

_INT_CODES = {"b": True, "B": False, "h": True, "H": False, "i": True, "I": False,
              "l": True, "L": False, "q": True, "Q": False}
_INT_TAGS = {(1, True): _native.TYPE_INT8, (1, False): _native.TYPE_UINT8,
             (2, True): _native.TYPE_INT16, (2, False): _native.TYPE_UINT16,
             (4, True): _native.TYPE_INT32, (4, False): _native.TYPE_UINT32,
             (8, True): _native.TYPE_INT64, (8, False): _native.TYPE_UINT64}


class _Kind:
    """How one ctypes type crosses into a crochet_value and back."""

    # a deferred_of() type's: how the value it fires with crosses back
    fires: Optional[_Kind]

    def __init__(self, ctype: Any, kind: str, tag: int, field: Optional[str], low: int = 0,
                 high: int = 0) -> None:
        self.ctype, self.kind, self.tag, self.field = ctype, kind, tag, field
        self.low, self.high = low, high
        self.name: str = getattr(ctype, "__name__", repr(ctype))


def _kind_of(ctype: Any, where: str) -> _Kind:
    """The _Kind of a ctypes type, or TypeError naming `where`."""
    if ctype is None:
        return _Kind(None, "void", _native.TYPE_VOID, None)
    if isinstance(ctype, type) and "_crochet_fires_" in ctype.__dict__:
        kind = _Kind(ctype, "deferred", _native.TYPE_DEFERRED, None)
        fires = ctype._crochet_fires_  # type: ignore[attr-defined]   # (deferred_of's)
        kind.fires = None if fires is None else _kind_of(fires, where)
        return kind
    if isinstance(ctype, type):
        if issubclass(ctype, ctypes._SimpleCData):
            code = ctype._type_  # type: ignore[attr-defined]   # (every simple type has one)
            if code in _INT_CODES:
                size, signed = ctypes.sizeof(ctype), _INT_CODES[code]
                tag = _INT_TAGS[(size, signed)]
                bits = 8 * size
                low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
                return _Kind(ctype, "int", tag, _native.FIELD_OF_TYPE[tag], low, high)
            if code == "?":
                return _Kind(ctype, "bool", _native.TYPE_UINT8, "u8")
            if code == "c":
                return _Kind(ctype, "char", _native.TYPE_INT8, "u8")
            if code == "f":
                return _Kind(ctype, "float", _native.TYPE_FLOAT, "f32")
            if code == "d":
                return _Kind(ctype, "float", _native.TYPE_DOUBLE, "f64")
            if code in ("P", "z", "Z"):
                return _Kind(ctype, "pointer", _native.TYPE_POINTER, "ptr")
        elif issubclass(ctype, (ctypes._Pointer, ctypes._CFuncPtr,  # type: ignore[attr-defined]
                                ctypes.Array)):
            return _Kind(ctype, "pointer", _native.TYPE_POINTER, "ptr")
        elif issubclass(ctype, (ctypes.Structure, ctypes.Union)):
            raise TypeError("%s: %s is passed by value, which libcrochet cannot do (pass a "
                            "pointer, or wrap the call in a Python function)"
                            % (where, ctype.__name__))
    raise TypeError("%s: unsupported type %s (libcrochet passes integers up to 64 bits, "
                    "c_bool, c_char, c_float, c_double and pointers)"
                    % (where, getattr(ctype, "__name__", repr(ctype))))


def _address(obj: Any) -> int:
    return ctypes.cast(obj, ctypes.c_void_p).value or 0


def _convert_arg(kind: _Kind, a: Any, position: int) -> Tuple[Any, Any]:
    """(payload, object to keep alive or None) for argument `a`."""
    where = "argument %d" % position
    if kind.kind == "int":
        if isinstance(a, ctypes._SimpleCData) and a._type_ in _INT_CODES:  # type: ignore[attr-defined]
            a = a.value
        if isinstance(a, float) or not hasattr(type(a), "__index__"):
            raise TypeError("%s: %s needs an integer, not %s" % (where, kind.name, type(a).__name__))
        v = operator.index(a)
        if not kind.low <= v <= kind.high:
            raise OverflowError("%s: %d does not fit in %s" % (where, v, kind.name))
        return v, None
    if kind.kind == "bool":
        if isinstance(a, ctypes._SimpleCData):
            a = a.value
        return (1 if a else 0), None
    if kind.kind == "char":
        if isinstance(a, ctypes.c_char):
            a = a.value
        if isinstance(a, (bytes, bytearray)) and len(a) == 1:
            return a[0], None
        if isinstance(a, int) and not isinstance(a, bool) and 0 <= a <= 255:
            return a, None
        raise TypeError("%s: c_char needs one byte, not %r" % (where, a))
    if kind.kind == "float":
        if isinstance(a, (ctypes.c_float, ctypes.c_double)):
            a = a.value
        if isinstance(a, bool) or not isinstance(a, numbers.Real):
            raise TypeError("%s: %s needs a number, not %s" % (where, kind.name, type(a).__name__))
        return float(a), None
    # Pointers: what ctypes itself would accept for the type, kept alive
    # until the call has run.
    if a is None:
        return None, None
    t = kind.ctype
    inst: Any
    if isinstance(a, bytes) and t in (ctypes.c_char_p, ctypes.c_void_p):
        inst = ctypes.c_char_p(a)
        return _address(inst), inst
    if isinstance(a, str) and t is ctypes.c_wchar_p:
        inst = ctypes.c_wchar_p(a)
        return _address(inst), inst
    if t is ctypes.c_void_p and isinstance(a, int) and not isinstance(a, bool):
        if not 0 <= a < 1 << (8 * ctypes.sizeof(ctypes.c_void_p)):
            raise OverflowError("%s: %d is not an address" % (where, a))
        return a, None
    try:
        param = t.from_param(a)
        return _address(param), (a, param)
    except (TypeError, ctypes.ArgumentError, ValueError) as e:
        raise TypeError("%s: %s cannot take %s (%s)" % (where, kind.name, type(a).__name__, e)) \
            from None


def _convert_result(kind: _Kind, v: _native.Value) -> Any:
    if kind.kind == "deferred":
        return _values.decode(v) if kind.fires is None else _convert_result(kind.fires, v)
    if kind.kind == "void":
        return None
    if v.type != kind.tag:   # a deferred fired with another type
        return _values.decode(v)
    raw = getattr(v.u, kind.field)  # type: ignore[arg-type]   # (a field for every other kind)
    t = kind.ctype
    if kind.kind == "int" or kind.kind == "float":
        return raw if ctypes._SimpleCData in t.__bases__ else t(raw)
    if kind.kind == "bool":
        return bool(raw)
    if kind.kind == "char":
        return bytes([raw])
    # Pointers, as ctypes returns them.
    if t is ctypes.c_void_p:
        return raw
    if t is ctypes.c_char_p:
        return ctypes.string_at(raw) if raw else None
    if t is ctypes.c_wchar_p:
        return ctypes.wstring_at(raw) if raw else None
    return ctypes.cast(ctypes.c_void_p(raw), t)


class _Signature:
    def __init__(self, function: Any) -> None:
        name = getattr(function, "__name__", "the foreign function")
        argtypes = function.argtypes
        if argtypes is None:
            raise TypeError("%s: set its argtypes (and restype) before running it on the "
                            "reactor (argtypes = [] for no arguments)" % name)
        self.key: Tuple[Tuple[Any, ...], Any] = (tuple(argtypes), function.restype)
        if len(argtypes) > _native.MAX_ARGS:
            raise TypeError("%s: libcrochet calls take at most %d arguments, not %d"
                            % (name, _native.MAX_ARGS, len(argtypes)))
        self.params = [_kind_of(t, "%s argument %d" % (name, i)) for i, t in enumerate(argtypes)]
        self.ret = _kind_of(function.restype, "%s return type" % name)


class NativeCall:
    """What a native call's EventualResult needs to give back its value."""

    __slots__ = ("function", "args", "ret")

    def __init__(self, function: Any, args: Tuple[Any, ...], ret: _Kind) -> None:
        self.function, self.args, self.ret = function, args, ret

    def result(self, value: _native.Value) -> Any:
        r = _convert_result(self.ret, value)
        errcheck = getattr(self.function, "errcheck", None)
        if errcheck is not None:
            r = errcheck(r, self.function, self.args)
        return r


# (retained result handle, objects its pointer arguments point into) for
# calls whose keep-alive no-op the queue bound refused: kept until the
# function has returned (state waiting or done).
_kept_past_bound: List[Tuple[int, List[Any]]] = []
_kept_lock = threading.Lock()


def _prune_kept() -> None:
    from ._operability import result_info
    with _kept_lock:
        still = []
        for handle, keep in _kept_past_bound:
            if result_info(handle).state in ("queued", "running"):
                still.append((handle, keep))
            else:
                lib.crochet_result_release(handle)
        _kept_past_bound[:] = still


class NativeFunction:
    """A ctypes foreign function, called natively on the reactor thread."""

    def __init__(self, function: Any) -> None:
        if type(function)._flags_ & ctypes._FUNCFLAG_PYTHONAPI:  # type: ignore[attr-defined]
            raise TypeError("%s is a Python C API function (PyDLL): it needs the GIL, so "
                            "wrap it in a Python function" % getattr(function, "__name__", function))
        self.function = function
        self.name: str = getattr(function, "__name__", None) or repr(function)
        self.signature = _Signature(function)
        self.address = _native.fn_address(function)

    def current_signature(self) -> _Signature:
        f = self.function
        argtypes = f.argtypes
        if argtypes is None or (tuple(argtypes), f.restype) != self.signature.key:
            self.signature = _Signature(f)   # changed since: look again
        return self.signature

    def submit(self, args: Tuple[Any, ...], kwargs: Dict[str, Any],
               what: str) -> EventualResult[Any]:
        if kwargs:
            raise TypeError("%s() takes no keyword arguments (it is a native function)" % self.name)
        sig = self.current_signature()
        n = len(sig.params)
        if len(args) != n:
            raise TypeError("%s() takes %d argument%s (%d given)"
                            % (self.name, n, "" if n == 1 else "s", len(args)))
        values = (_native.Value * max(n, 1))()
        keep: List[Any] = []
        for i, (kind, a) in enumerate(zip(sig.params, args)):
            payload, alive = _convert_arg(kind, a, i + 1)
            values[i].type = kind.tag
            setattr(values[i].u, kind.field, payload)  # type: ignore[arg-type]   # (not void)
            if alive is not None:
                keep.append(alive)
        handle = ctypes.c_void_p()
        status = lib.crochet_submit(ctypes.byref(handle), self.address, sig.ret.tag, values, n)
        if status != _native.OK:
            raise error_for_status(status, what)
        result: EventualResult[Any] = EventualResult(handle.value, native=NativeCall(self.function, args, sig.ret))
        # crochet_submit copies the values but has no destroy for what pointer
        # values point into: keep it until the call had its turn.
        if _kept_past_bound:
            _prune_kept()
        if keep:
            status = keep_until_run(keep)
            if status == _native.EAGAIN:
                # The call took the last place under set_max_queued: keep
                # the objects with a reference to the result until its
                # function has returned (looked at on the next native call).
                with _kept_lock:
                    _kept_past_bound.append((lib.crochet_result_retain(handle.value), keep))
            elif status != _native.OK:
                # Stopping: the call never starts, or it runs now; either way it
                # is over once its result exists (keep is alive until then).
                result._wait_status(5.0)
        return result

    def python_signature(self) -> inspect.Signature:
        import inspect   # here, not at import: importing it takes several ms
        params = [inspect.Parameter("arg%d" % (i + 1), inspect.Parameter.POSITIONAL_ONLY,
                                    annotation=k.ctype)
                  for i, k in enumerate(self.signature.params)]
        ret = self.signature.ret.ctype
        return inspect.Signature(params, return_annotation=inspect.Signature.empty
                                 if ret is None else ret)


_fires_types: Dict[Any, type] = {}


def deferred_of(ctype: Any = None) -> type:
    """A restype for a foreign function that returns a crochet_deferred *
    (CROCHET_TYPE_DEFERRED): its result is the value the deferred fires with,
    converted as for restype `ctype` (c_char_p: bytes, copied while the result
    holds the pointer, which it frees as the deferred's owner said), or by its
    type tag when ctype is None."""
    t = _fires_types.get(ctype)
    if t is None:
        if ctype is not None:
            _kind_of(ctype, "deferred_of()")
        name = "deferred_of_%s" % getattr(ctype, "__name__", "value")
        t = _fires_types[ctype] = type(name, (ctypes.c_void_p,), {"_crochet_fires_": ctype})
    return t
