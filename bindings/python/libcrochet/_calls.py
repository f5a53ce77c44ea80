"""Submitting calls: Python functions through a trampoline, ctypes foreign
functions natively through libffi; and the run_in_reactor / wait_for
decorators."""

import ctypes
import functools
import inspect
import numbers
import operator

from . import _native, _runtime
from ._deferred import Deferred, c_message, describe, failure_code
from ._errors import TimeoutError
from ._native import lib
from ._results import EventualResult
from ._runtime import error_for_status, new_token, pending

# ---------------------------------------------------------------------------
# Python functions
# ---------------------------------------------------------------------------


class PythonCall:
    """A Python function and its arguments until it runs on the reactor
    thread; then what it returned or raised."""

    __slots__ = ("function", "args", "kwargs", "_value", "_exc", "_tb", "_tb_text", "_deferred")

    def __init__(self, function, args, kwargs):
        self.function, self.args, self.kwargs = function, args, kwargs
        self._value = self._exc = self._tb = self._tb_text = self._deferred = None

    def run(self):
        """Reactor thread (the trampoline): calls the function; returns the
        crochet_deferred * its result follows, or None after crochet_raise."""
        function, args, kwargs = self.function, self.args, self.kwargs
        self.function = self.args = self.kwargs = None
        try:
            result = function(*args, **kwargs)
        except BaseException as e:
            tb = e.__traceback__
            if tb is not None and tb.tb_frame.f_code is PythonCall.run.__code__:
                tb = tb.tb_next   # not our own frame
            self._exc, self._tb, self._tb_text = e, tb, describe(e, tb)
            lib.crochet_raise(failure_code(e), c_message(self._tb_text))
            return None
        finally:
            del function, args, kwargs
        if isinstance(result, Deferred):
            self._deferred = result
            return result._retained_handle()
        self._value = result
        d = ctypes.c_void_p()
        status = lib.crochet_deferred_new(ctypes.byref(d), _native.NO_CANCELLER, None)
        if status == _native.OK:
            status = lib.crochet_deferred_callback(d.value, _NULL_POINTER)
        if status != _native.OK:
            lib.crochet_deferred_release(d.value)
            lib.crochet_raise(status, b"libcrochet: cannot make the call's deferred: " +
                              _native.strerror(status).encode())
            return None
        return d.value

    def value(self):
        if self._deferred is not None:
            return self._deferred._result
        return self._value

    def failure(self):
        """(exception, traceback, traceback text) if the function raised, or
        the Deferred it returned failed with an exception; else None."""
        if self._exc is not None:
            return self._exc, self._tb, self._tb_text
        d = self._deferred
        if d is not None and d._exc is not None:
            return d._exc, d._tb, d._tb_text
        return None


_NULL_POINTER = _native.Value(type=_native.TYPE_POINTER)


def _trampoline(token):
    """The C function every Python call is submitted as:
    crochet_deferred *trampoline(void *token)."""
    try:
        call = pending.pop(token, None)
        if not isinstance(call, PythonCall):
            lib.crochet_raise(_native.ECANCELLED, b"the call was dropped before it started")
            return None
        return call.run()
    except BaseException:
        try:
            _runtime.logger.exception("libcrochet: internal error in the trampoline")
            lib.crochet_raise(_native.EFAILED, b"libcrochet: internal error in the trampoline")
        except BaseException:
            pass
        return None


_TRAMPOLINE = _native.CALL_FN(_trampoline)
_TRAMPOLINE_ADDRESS = _native.fn_address(_TRAMPOLINE)
try:
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(_TRAMPOLINE))
except (AttributeError, OSError):  # pragma: no cover - not CPython
    pass


def submit_python(function, args, kwargs, what):
    call = PythonCall(function, args, kwargs)
    token = new_token()
    pending[token] = call
    arg = _native.Value(type=_native.TYPE_POINTER)
    arg.u.ptr = token
    handle = ctypes.c_void_p()
    status = lib.crochet_submit(ctypes.byref(handle), _TRAMPOLINE_ADDRESS,
                                _native.TYPE_DEFERRED, ctypes.byref(arg), 1)
    if status != _native.OK:
        pending.pop(token, None)
        raise error_for_status(status, what)
    return EventualResult(handle.value, call=call, token=token)


# ---------------------------------------------------------------------------
# ctypes foreign functions
# ---------------------------------------------------------------------------

_INT_CODES = {"b": True, "B": False, "h": True, "H": False, "i": True, "I": False,
              "l": True, "L": False, "q": True, "Q": False}
_INT_TAGS = {(1, True): _native.TYPE_INT8, (1, False): _native.TYPE_UINT8,
             (2, True): _native.TYPE_INT16, (2, False): _native.TYPE_UINT16,
             (4, True): _native.TYPE_INT32, (4, False): _native.TYPE_UINT32,
             (8, True): _native.TYPE_INT64, (8, False): _native.TYPE_UINT64}


class _Kind:
    """How one ctypes type crosses into a crochet_value and back."""

    def __init__(self, ctype, kind, tag, field, low=0, high=0):
        self.ctype, self.kind, self.tag, self.field = ctype, kind, tag, field
        self.low, self.high = low, high
        self.name = getattr(ctype, "__name__", repr(ctype))


def _kind_of(ctype, where):
    """The _Kind of a ctypes type, or TypeError naming `where`."""
    if ctype is None:
        return _Kind(None, "void", _native.TYPE_VOID, None)
    if isinstance(ctype, type):
        if issubclass(ctype, ctypes._SimpleCData):
            code = ctype._type_
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
        elif issubclass(ctype, (ctypes._Pointer, ctypes._CFuncPtr, ctypes.Array)):
            return _Kind(ctype, "pointer", _native.TYPE_POINTER, "ptr")
        elif issubclass(ctype, (ctypes.Structure, ctypes.Union)):
            raise TypeError("%s: %s is passed by value, which libcrochet cannot do (pass a "
                            "pointer, or wrap the call in a Python function)"
                            % (where, ctype.__name__))
    raise TypeError("%s: unsupported type %s (libcrochet passes integers up to 64 bits, "
                    "c_bool, c_char, c_float, c_double and pointers)"
                    % (where, getattr(ctype, "__name__", repr(ctype))))


def _address(obj):
    return ctypes.cast(obj, ctypes.c_void_p).value or 0


def _convert_arg(kind, a, position):
    """(payload, object to keep alive or None) for argument `a`."""
    where = "argument %d" % position
    if kind.kind == "int":
        if isinstance(a, ctypes._SimpleCData) and a._type_ in _INT_CODES:
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


def _convert_result(kind, v):
    if kind.kind == "void":
        return None
    if v.type != kind.tag:  # pragma: no cover - the library keeps the type
        from ._results import plain_value
        return plain_value(v)
    raw = getattr(v.u, kind.field)
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
    def __init__(self, function):
        name = getattr(function, "__name__", "the foreign function")
        argtypes = function.argtypes
        if argtypes is None:
            raise TypeError("%s: set its argtypes (and restype) before running it on the "
                            "reactor (argtypes = [] for no arguments)" % name)
        self.key = (tuple(argtypes), function.restype)
        if len(argtypes) > _native.MAX_ARGS:
            raise TypeError("%s: libcrochet calls take at most %d arguments, not %d"
                            % (name, _native.MAX_ARGS, len(argtypes)))
        self.params = [_kind_of(t, "%s argument %d" % (name, i)) for i, t in enumerate(argtypes)]
        self.ret = _kind_of(function.restype, "%s return type" % name)


class NativeCall:
    """What a native call's EventualResult needs to give back its value."""

    __slots__ = ("function", "args", "ret")

    def __init__(self, function, args, ret):
        self.function, self.args, self.ret = function, args, ret

    def result(self, value):
        r = _convert_result(self.ret, value)
        errcheck = getattr(self.function, "errcheck", None)
        if errcheck is not None:
            r = errcheck(r, self.function, self.args)
        return r


class NativeFunction:
    """A ctypes foreign function, called natively on the reactor thread."""

    def __init__(self, function):
        if type(function)._flags_ & ctypes._FUNCFLAG_PYTHONAPI:
            raise TypeError("%s is a Python C API function (PyDLL): it needs the GIL, so "
                            "wrap it in a Python function" % getattr(function, "__name__", function))
        self.function = function
        self.name = getattr(function, "__name__", None) or repr(function)
        self.signature = _Signature(function)
        self.address = _native.fn_address(function)

    def current_signature(self):
        f = self.function
        argtypes = f.argtypes
        if argtypes is None or (tuple(argtypes), f.restype) != self.signature.key:
            self.signature = _Signature(f)   # changed since: look again
        return self.signature

    def submit(self, args, kwargs, what):
        if kwargs:
            raise TypeError("%s() takes no keyword arguments (it is a native function)" % self.name)
        sig = self.current_signature()
        n = len(sig.params)
        if len(args) != n:
            raise TypeError("%s() takes %d argument%s (%d given)"
                            % (self.name, n, "" if n == 1 else "s", len(args)))
        values = (_native.Value * max(n, 1))()
        keep = []
        for i, (kind, a) in enumerate(zip(sig.params, args)):
            payload, alive = _convert_arg(kind, a, i + 1)
            values[i].type = kind.tag
            setattr(values[i].u, kind.field, payload)
            if alive is not None:
                keep.append(alive)
        token = None
        if keep:
            token = new_token()
            pending[token] = keep
        handle = ctypes.c_void_p()
        status = lib.crochet_submit(ctypes.byref(handle), self.address, sig.ret.tag, values, n)
        if status != _native.OK:
            if token is not None:
                pending.pop(token, None)
            raise error_for_status(status, what)
        return EventualResult(handle.value, native=NativeCall(self.function, args, sig.ret),
                              token=token)

    def python_signature(self):
        params = [inspect.Parameter("arg%d" % (i + 1), inspect.Parameter.POSITIONAL_ONLY,
                                    annotation=k.ctype)
                  for i, k in enumerate(self.signature.params)]
        ret = self.signature.ret.ctype
        return inspect.Signature(params, return_annotation=inspect.Signature.empty
                                 if ret is None else ret)


# ---------------------------------------------------------------------------
# The decorators
# ---------------------------------------------------------------------------

def _submitter(function, decorator):
    """(submit(args, kwargs, what), NativeFunction or None) for `function`."""
    if isinstance(function, ctypes._CFuncPtr):
        native = NativeFunction(function)
        return native.submit, native
    if not callable(function):
        raise TypeError("%s needs a callable (a function, or a ctypes foreign function with "
                        "argtypes and restype set), not %s" % (decorator, type(function).__name__))
    return (lambda args, kwargs, what: submit_python(function, args, kwargs, what)), None


def _wraps(wrapper, function, native):
    functools.update_wrapper(wrapper, function)
    wrapper.wrapped_function = function   # crochet's name for __wrapped__
    if native is not None:
        wrapper.__signature__ = native.python_signature()
    return wrapper


def run_in_reactor(function):
    """Decorator: calling the decorated function runs it on the reactor thread
    and returns an EventualResult at once.

    `function` is a Python callable (it may return a libcrochet.Deferred to
    finish later), or a ctypes foreign function whose argtypes and restype are
    set, which the reactor thread then calls natively (no Python code runs
    there)."""
    submit, native = _submitter(function, "run_in_reactor()")
    what = "%s()" % getattr(function, "__name__", "function")

    def wrapper(*args, **kwargs):
        return submit(args, kwargs, what)

    return _wraps(wrapper, function, native)


def wait_for(timeout):
    """Decorator factory: calling the decorated function runs it on the
    reactor thread and waits up to `timeout` seconds for its result, which it
    returns (or raises its exception). On timeout the call (or the Deferred it
    returned) is cancelled and TimeoutError raised. RuntimeError when called
    on the reactor thread. Accepts the same functions as run_in_reactor."""
    if callable(timeout) and not isinstance(timeout, numbers.Real):
        raise TypeError("wait_for() takes a timeout in seconds: use @wait_for(timeout=...)")
    t = _runtime.seconds(timeout, "timeout", allow_none=False)

    def decorator(function):
        submit, native = _submitter(function, "wait_for()")
        what = "%s()" % getattr(function, "__name__", "function")

        def wrapper(*args, **kwargs):
            if _runtime.in_reactor_thread():
                raise error_for_status(_native.EREACTORTHREAD, what)
            result = submit(args, kwargs, what)
            try:
                return result.wait(t)
            except (TimeoutError, KeyboardInterrupt):
                result.cancel()
                raise

        return _wraps(wrapper, function, native)

    return decorator
