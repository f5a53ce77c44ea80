"""Finding libcrochet and declaring the C API of include/crochet.h to ctypes.

Nothing here calls into the library beyond loading it and reading its status
table; the rest of the package uses `lib` and the constants below.
"""

from __future__ import annotations

import ctypes
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, Union, c_char_p, c_double, c_float, c_int,
                    c_int8, c_int16, c_int32, c_int64, c_size_t, c_uint, c_uint8, c_uint16,
                    c_uint32, c_uint64, c_void_p)

from typing import Any, Dict, Iterator, Optional, Tuple

from ._version import __version__

# crochet_type tags (ABI values; tests/test_header.py checks them against the header).
TYPE_VOID = 0
TYPE_INT8, TYPE_UINT8 = 1, 2
TYPE_INT16, TYPE_UINT16 = 3, 4
TYPE_INT32, TYPE_UINT32 = 5, 6
TYPE_INT64, TYPE_UINT64 = 7, 8
TYPE_FLOAT, TYPE_DOUBLE = 9, 10
TYPE_POINTER = 11
TYPE_DEFERRED = 12

MAX_ARGS = 32

LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERROR = 10, 20, 30, 40


class ValueUnion(Union):
    _fields_ = [("i8", c_int8), ("u8", c_uint8), ("i16", c_int16), ("u16", c_uint16),
                ("i32", c_int32), ("u32", c_uint32), ("i64", c_int64), ("u64", c_uint64),
                ("f32", c_float), ("f64", c_double), ("ptr", c_void_p)]


class Value(Structure):
    """crochet_value: a type tag and a payload."""
    _fields_ = [("type", c_int), ("u", ValueUnion)]


# The union member that holds each tag's payload.
FIELD_OF_TYPE = {
    TYPE_INT8: "i8", TYPE_UINT8: "u8", TYPE_INT16: "i16", TYPE_UINT16: "u16",
    TYPE_INT32: "i32", TYPE_UINT32: "u32", TYPE_INT64: "i64", TYPE_UINT64: "u64",
    TYPE_FLOAT: "f32", TYPE_DOUBLE: "f64", TYPE_POINTER: "ptr",
}

# Callback types of the C API (crochet_closure_fn, which returns a
# crochet_value by value, is made in _closure.py: ctypes cannot).
CTX_FN = CFUNCTYPE(None, c_void_p)                   # void (*)(void *ctx), also destroy
CANCELLER_FN = CFUNCTYPE(None, c_void_p, c_void_p)   # crochet_canceller
LOG_FN = CFUNCTYPE(None, c_int, c_char_p, c_void_p)  # crochet_log_fn
FD_FN = CFUNCTYPE(None, c_int, c_void_p)             # void (*)(int fd, void *ctx)
NO_CTX_FN = CTX_FN()                                 # NULL
NO_CANCELLER = CANCELLER_FN()                        # NULL
NO_LOG_HANDLER = LOG_FN()                            # NULL: the library's default

LIBRARY_NAME = "libcrochet.so"
ENV_VARIABLE = "CROCHET_LIBRARY"
# The ABI changes with MAJOR.MINOR before 1.0 (MAJOR after): the library
# must have the binding's, and its soname says which it has.
_MAJOR, _MINOR = (int(x) for x in __version__.split(".")[:2])
SONAME = "libcrochet.so.%d.%d" % (_MAJOR, _MINOR) if _MAJOR == 0 else "libcrochet.so.%d" % _MAJOR
# The copy a wheel carries (make wheel), then one copied by hand.
BUNDLED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_lib")
BUNDLED_NAMES = (SONAME, LIBRARY_NAME)

# Ways to load: dlopen of a path, of a soname through the dynamic linker's
# search, or of a soname only if some copy is already in the process.
_BY_PATH, _BY_SONAME, _IF_LOADED = "path", "soname", "loaded"


def _candidates() -> Iterator[Tuple[str, Optional[str], Optional[str], Optional[str]]]:
    """(how, target, kind, why-not) for each place to look, in order. Only
    the last (pkg-config) starts a process, and only when reached."""
    how = "the %s environment variable" % ENV_VARIABLE
    env = os.environ.get(ENV_VARIABLE)
    if env:
        path = env
        if os.path.isdir(env):
            path = os.path.join(env, LIBRARY_NAME)
            if not os.path.exists(path) and os.path.exists(os.path.join(env, SONAME)):
                path = os.path.join(env, SONAME)
        yield (how, path, _BY_PATH, None)
    else:
        yield (how, None, None, "not set")

    # A C extension or C library linked against libcrochet (or anything else)
    # may have loaded it already: the engine is per process, so use that copy
    # rather than start a second reactor with another one.
    yield ("a copy already loaded in this process (%s)" % SONAME, SONAME, _IF_LOADED, None)

    how = "a copy installed with the package"
    for name in BUNDLED_NAMES:
        path = os.path.join(BUNDLED_DIR, name)
        if os.path.exists(path):
            yield (how, path, _BY_PATH, None)
            break
    else:
        yield (how, None, None, "no %s in %s" % (" or ".join(BUNDLED_NAMES), BUNDLED_DIR))

    yield ("the dynamic linker (%s: LD_LIBRARY_PATH, ld.so.cache, /lib, /usr/lib)" % SONAME,
           SONAME, _BY_SONAME, None)

    how = "pkg-config (pkg-config --variable=libdir crochet)"
    import shutil
    if shutil.which("pkg-config") is None:
        yield (how, None, None, "pkg-config is not installed")
        return
    import subprocess
    try:
        done = subprocess.run(["pkg-config", "--print-errors", "--variable=libdir", "crochet"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        yield (how, None, None, "pkg-config failed: %s" % e)
        return
    libdir = done.stdout.strip()
    if done.returncode != 0 or not libdir:
        why = done.stderr.strip().splitlines()[0] if done.stderr.strip() else "no libdir variable"
        yield (how, None, None, "%s (PKG_CONFIG_PATH=%s)" % (why, os.environ.get("PKG_CONFIG_PATH", "")))
        return
    yield (how, os.path.join(libdir, LIBRARY_NAME), _BY_PATH, None)


class _DlInfo(Structure):
    _fields_ = [("dli_fname", c_char_p), ("dli_fbase", c_void_p),
                ("dli_sname", c_char_p), ("dli_saddr", c_void_p)]


def _path_of(lib: ctypes.CDLL, default: str) -> str:
    """The file the dynamic linker mapped lib from (dladdr), else default."""
    try:
        dladdr = ctypes.CDLL(None).dladdr
    except (AttributeError, OSError):  # pragma: no cover - dladdr in libdl only
        return default
    dladdr.argtypes = [c_void_p, POINTER(_DlInfo)]
    dladdr.restype = c_int
    info = _DlInfo()
    address = ctypes.cast(lib.crochet_version, c_void_p)
    if dladdr(address, ctypes.byref(info)) and info.dli_fname:
        return os.fsdecode(info.dli_fname)
    return default


def _compatible(lib: ctypes.CDLL) -> Optional[str]:
    """None if lib is a libcrochet with the binding's MAJOR.MINOR, else why not."""
    try:
        lib.crochet_version.restype = c_char_p
        version = lib.crochet_version().decode()
    except AttributeError:
        return "not a libcrochet (no crochet_version)"
    if not hasattr(lib, "crochet_version_number"):
        return "libcrochet %s is older than 0.2 (this binding needs %d.%d)" % (
            version, _MAJOR, _MINOR)
    lib.crochet_version_number.restype = c_uint
    number = lib.crochet_version_number()
    if (number // 10000, number // 100 % 100) != (_MAJOR, _MINOR):
        return "libcrochet %s has another ABI (this binding needs %d.%d)" % (
            version, _MAJOR, _MINOR)
    return None


def load() -> Tuple[ctypes.CDLL, str]:
    """Loads libcrochet from the first place that works, or raises ImportError
    naming every place tried and why each failed. Returns (lib, path)."""
    tried = []
    for how, target, kind, why in _candidates():
        if target is None:
            tried.append("  - %s: %s" % (how, why))
            continue
        try:
            if kind == _IF_LOADED:
                lib = ctypes.CDLL(target, mode=os.RTLD_NOLOAD | os.RTLD_GLOBAL)
            else:
                lib = ctypes.CDLL(target)
        except OSError as e:
            if kind == _IF_LOADED:
                tried.append("  - %s: none" % how)
            else:
                tried.append("  - %s: cannot load %s: %s" % (how, target, e))
            continue
        path = target if kind == _BY_PATH else _path_of(lib, target)
        why = _compatible(lib)
        if why is not None:
            tried.append("  - %s: %s: %s" % (how, path, why))
            continue
        if tried and tried[0].startswith("  - the %s" % ENV_VARIABLE) and os.environ.get(ENV_VARIABLE):
            import warnings
            warnings.warn("libcrochet: %s; using %s instead" % (tried[0].strip(" -"), path),
                          RuntimeWarning, stacklevel=3)
        return lib, path
    raise ImportError(
        "libcrochet: cannot find %s. Looked, in order, at:\n" % SONAME + "\n".join(tried) +
        "\nInstall the wheel (make wheel: it carries the library), set %s to the "
        "library's path, put its directory on LD_LIBRARY_PATH or install it (make install), "
        "or make `pkg-config --variable=libdir crochet` name its directory (e.g. "
        "PKG_CONFIG_PATH=<libcrochet>/build/stage/lib/pkgconfig after `make stage`)."
        % ENV_VARIABLE)


def _declare(lib: ctypes.CDLL) -> None:
    def fn(name: str, restype: Any, *argtypes: Any) -> None:
        f = getattr(lib, name)
        f.restype = restype
        f.argtypes = list(argtypes)

    vp = c_void_p
    out = POINTER(c_void_p)
    fn("crochet_strerror", c_char_p, c_int)
    fn("crochet_status_name", c_char_p, c_int)
    fn("crochet_version", c_char_p)
    fn("crochet_version_number", c_uint)
    fn("crochet_setup", c_int)
    fn("crochet_no_setup", c_int)
    fn("crochet_run", c_int)
    fn("crochet_stop", c_int)
    fn("crochet_in_reactor_thread", c_int)
    fn("crochet_submit", c_int, out, vp, c_int, POINTER(Value), c_size_t)
    fn("crochet_submit_closure", c_int, out, vp, vp, CTX_FN)
    fn("crochet_raise", None, c_int, c_char_p)
    fn("crochet_wait", c_int, vp, c_double, POINTER(Value))
    fn("crochet_cancel", c_int, vp)
    fn("crochet_original_failure", vp, vp)
    fn("crochet_stash", c_int, vp, POINTER(c_uint64))
    fn("crochet_retrieve", c_int, out, c_uint64)
    fn("crochet_result_release", None, vp)
    fn("crochet_result_retain", vp, vp)
    fn("crochet_failure_code", c_int, vp)
    fn("crochet_failure_message", c_char_p, vp)
    fn("crochet_failure_traceback", c_char_p, vp)
    fn("crochet_deferred_new", c_int, out, CANCELLER_FN, vp, CTX_FN)
    fn("crochet_deferred_callback", c_int, vp, Value)
    fn("crochet_deferred_callback_owned", c_int, vp, vp, CTX_FN)
    fn("crochet_deferred_errback", c_int, vp, c_int, c_char_p)
    fn("crochet_deferred_cancel", c_int, vp)
    fn("crochet_deferred_retain", vp, vp)
    fn("crochet_deferred_release", None, vp)
    fn("crochet_call_from_thread", c_int, CTX_FN, vp, CTX_FN)
    fn("crochet_call_later", c_int, out, c_double, CTX_FN, vp, CTX_FN)
    fn("crochet_delayed_call_cancel", c_int, vp)
    fn("crochet_delayed_call_release", None, vp)
    fn("crochet_add_reader", c_int, c_int, FD_FN, vp, CTX_FN)
    fn("crochet_remove_reader", c_int, c_int)
    fn("crochet_add_writer", c_int, c_int, FD_FN, vp, CTX_FN)
    fn("crochet_remove_writer", c_int, c_int)
    fn("crochet_add_shutdown_trigger", c_int, CTX_FN, vp, CTX_FN)
    fn("crochet_set_log_handler", c_int, LOG_FN, vp, CTX_FN)
    fn("crochet_log_flush", c_int, c_double)


lib, library_path = load()
_declare(lib)


def _status_table() -> Dict[str, int]:
    """name -> value of every status, from the library's own table
    (crochet_status_name), so that no value is copied here."""
    table = {}
    for value in range(0, -256, -1):
        name = lib.crochet_status_name(value).decode()
        if name != "CROCHET_EUNKNOWN":
            table[name] = value
    return table


STATUS = _status_table()
STATUS_NAME = {value: name for name, value in STATUS.items()}
try:
    OK = STATUS["CROCHET_OK"]
    ETIMEDOUT = STATUS["CROCHET_ETIMEDOUT"]
    ESTOPPED = STATUS["CROCHET_ESTOPPED"]
    EFAILED = STATUS["CROCHET_EFAILED"]
    ECANCELLED = STATUS["CROCHET_ECANCELLED"]
    EINVAL = STATUS["CROCHET_EINVAL"]
    ESTATE = STATUS["CROCHET_ESTATE"]
    EREACTORTHREAD = STATUS["CROCHET_EREACTORTHREAD"]
    ENOTFOUND = STATUS["CROCHET_ENOTFOUND"]
    ENOMEM = STATUS["CROCHET_ENOMEM"]
    EALREADY = STATUS["CROCHET_EALREADY"]
    ENOTREACTOR = STATUS["CROCHET_ENOTREACTOR"]
    EAGAIN = STATUS["CROCHET_EAGAIN"]
except KeyError as e:  # pragma: no cover - an incomplete library
    raise ImportError("libcrochet at %s does not name status %s" % (library_path, e)) from None


def strerror(status: int) -> str:
    text: bytes = lib.crochet_strerror(status)
    return text.decode("utf-8", "replace")


def fn_address(f: Any) -> Optional[int]:
    """The address of a ctypes function object (foreign function or callback)."""
    return ctypes.cast(f, c_void_p).value
