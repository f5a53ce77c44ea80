"""A C function `crochet_value fn(void *ctx)` that runs a Python function.

crochet_closure_fn returns a crochet_value (16 bytes) by value, and ctypes
callbacks may only return simple types ("invalid result type for callback
function"). So the function is made with libffi, which ctypes itself is built
on: a libffi closure with that C signature whose generic handler, a ctypes
callback with pointer arguments only, writes the value where libffi returns
it from. One closure is made per Python function, once, and never freed.
"""

from __future__ import annotations

import ctypes
import os
from ctypes import CFUNCTYPE, POINTER, Structure, byref, c_int, c_size_t, c_uint, c_ushort, c_void_p
from typing import Any, Callable, List, Optional, Tuple

from ._native import Value

FFI_OK = 0
FFI_TYPE_STRUCT = 13
# FFI_DEFAULT_ABI of ffitarget.h, per machine.
_DEFAULT_ABI = {"x86_64": 2, "amd64": 2, "aarch64": 1, "arm64": 1}


class _FFIType(Structure):
    _fields_ = [("size", c_size_t), ("alignment", c_ushort), ("type", c_ushort),
                ("elements", POINTER(c_void_p))]


def _open_libffi(name: str) -> Optional[ctypes.CDLL]:
    try:
        lib = ctypes.CDLL(name)
        lib.ffi_prep_closure_loc
        return lib
    except (OSError, AttributeError):
        return None


def _libffi() -> ctypes.CDLL:
    """ctypes' own libffi: the one _ctypes is linked against (a handle's
    lookups search its dependencies), else one by soname; find_library, which
    starts processes (ldconfig, cc), only as the last resort."""
    import _ctypes
    for name in (getattr(_ctypes, "__file__", None), "libffi.so.8", "libffi.so.7", "libffi.so.6"):
        lib = name and _open_libffi(name)
        if lib:
            return lib
    from ctypes.util import find_library
    lib = _open_libffi(find_library("ffi") or "libffi.so")
    if lib is None:
        raise ImportError("libcrochet: libffi (which ctypes uses) cannot be loaded")
    return lib


_ffi = _libffi()
_ffi.ffi_prep_cif.restype = c_int
_ffi.ffi_prep_cif.argtypes = [c_void_p, c_int, c_uint, c_void_p, c_void_p]
_ffi.ffi_closure_alloc.restype = c_void_p
_ffi.ffi_closure_alloc.argtypes = [c_size_t, POINTER(c_void_p)]
_ffi.ffi_prep_closure_loc.restype = c_int
_ffi.ffi_prep_closure_loc.argtypes = [c_void_p, c_void_p, c_void_p, c_void_p, c_void_p]

_MACHINE = os.uname().machine
_abi = _DEFAULT_ABI.get(_MACHINE.lower())
if _abi is None:  # pragma: no cover
    raise ImportError("libcrochet: unsupported machine %s (FFI_DEFAULT_ABI unknown)"
                      % _MACHINE)


def _builtin(name: str) -> int:
    return ctypes.addressof(_FFIType.in_dll(_ffi, name))


# crochet_value as libffi sees it: { int type; union { ... 8 bytes } u; }.
# The union holds integers (and pointers) as well as floats, so every ABI
# classifies its 8 bytes as INTEGER: a uint64 member is the same layout.
_elements = (c_void_p * 3)(_builtin("ffi_type_sint32"), _builtin("ffi_type_uint64"), None)
_value_type = _FFIType(0, 0, FFI_TYPE_STRUCT, ctypes.cast(_elements, POINTER(c_void_p)))
_arg_types = (c_void_p * 1)(_builtin("ffi_type_pointer"))
_cif = ctypes.create_string_buffer(256)   # an ffi_cif: opaque, and smaller than this
if _ffi.ffi_prep_cif(_cif, _abi, 1, ctypes.addressof(_value_type), _arg_types) != FFI_OK:
    raise ImportError("libcrochet: ffi_prep_cif failed for crochet_closure_fn")
assert _value_type.size == ctypes.sizeof(Value), "crochet_value layout"

_HANDLER = CFUNCTYPE(None, c_void_p, c_void_p, POINTER(c_void_p), c_void_p)
_VALUE_SIZE = ctypes.sizeof(Value)
_keep: List[Tuple[Any, int]] = []   # handlers and closures live as long as the process


def closure_fn(function: Callable[[Optional[int]], Value]) -> Optional[int]:
    """The address of a C function `crochet_value f(void *ctx)` that returns
    function(ctx), a _native.Value. function must not raise."""
    def handler(_cif: Optional[int], ret: Optional[int], args: Any, _user_data: Optional[int],
                _memmove: Any = ctypes.memmove, _addressof: Any = ctypes.addressof) -> None:
        value = function(ctypes.cast(args[0], POINTER(c_void_p))[0])
        _memmove(ret, _addressof(value), _VALUE_SIZE)   # (value alive meanwhile)

    thunk = _HANDLER(handler)
    code = c_void_p()
    closure = _ffi.ffi_closure_alloc(512, byref(code))
    if not closure:
        raise MemoryError("ffi_closure_alloc failed")
    if _ffi.ffi_prep_closure_loc(closure, _cif, ctypes.cast(thunk, c_void_p), None, code) != FFI_OK:
        raise ImportError("libcrochet: ffi_prep_closure_loc failed")
    _keep.append((thunk, closure))
    return code.value
