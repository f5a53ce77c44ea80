"""ctypes foreign functions called natively on the reactor thread."""

import ctypes
import gc
import inspect
import os
import weakref
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_int, c_int32,
                    c_long, c_longdouble, c_void_p)

import pytest

import libcrochet
from libcrochet import _held
from helpers import INT_CALLBACK, LIMIT, sync


def call(f, *args):
    return libcrochet.run_in_reactor(f)(*args).wait(LIMIT)


def test_runs_on_reactor_thread(native):
    """The function is called on the reactor thread."""
    assert call(native.on_reactor_thread) == 1
    assert native.on_reactor_thread() == 0


def test_libc_function():
    """A libc function with argtypes and restype set is called natively."""
    libc = ctypes.CDLL(None)
    labs = libc.labs
    labs.argtypes = [c_long]
    labs.restype = c_long
    assert call(labs, -5) == 5
    assert libcrochet.wait_for(timeout=LIMIT)(labs)(-(2 ** 40)) == 2 ** 40


@pytest.mark.parametrize("name, args, expected", [
    ("add_i32", (20, 22), 42),
    ("add_i32", (-(2 ** 31), 0), -(2 ** 31)),
    ("add_i64", (2 ** 40, 2 ** 41), 3 * 2 ** 40),
    ("add_i64", (-(2 ** 63), 0), -(2 ** 63)),
    ("negate_i8", (-127,), 127),
    ("negate_i8", (5,), -5),
    ("echo_u8", (255,), 255),
    ("echo_i16", (-32768,), -32768),
    ("echo_u16", (65535,), 65535),
    ("echo_u32", (2 ** 32 - 1,), 2 ** 32 - 1),
    ("echo_u64", (2 ** 64 - 1,), 2 ** 64 - 1),
])
def test_integers(native, name, args, expected):
    """Integers of every width and signedness go in and come back exactly."""
    assert call(getattr(native, name), *args) == expected


def test_ctypes_instances_as_arguments(native):
    """ctypes instances are accepted where their values are."""
    assert call(native.add_i32, c_int32(1), ctypes.c_int64(2)) == 3
    assert call(native.scale, c_double(1.5), ctypes.c_float(2.0)) == 3.0


def test_doubles_and_floats(native):
    """Doubles and floats go in and come back; ints are accepted for them."""
    assert call(native.scale, 1.5, 2.0) == 3.0
    assert call(native.scale, 3, 0.5) == 1.5
    assert call(native.halve, 3.0) == 1.5
    assert isinstance(call(native.halve, 1), float)


def test_bool_and_char(native):
    """c_bool comes back as bool, c_char as one byte."""
    assert call(native.is_positive, 5) is True
    assert call(native.is_positive, -5) is False
    assert call(native.next_char, b"a") == b"b"
    assert call(native.next_char, ord("x")) == b"y"


def test_pointer_to_array(native):
    """An array passed for a POINTER argument is written by the function."""
    out = (c_int32 * 5)()
    assert call(native.fill_i32, out, 5, 10) is None
    assert list(out) == [10, 11, 12, 13, 14]
    xs = (c_double * 3)(1.5, 2.5, 3.0)
    assert call(native.sum_doubles, xs, 3) == 7.0


def test_byref_and_pointer(native):
    """byref() and pointer() arguments work like with ctypes."""
    flag = c_int32(0)
    call(native.set_flag, ctypes.byref(flag), 7)
    assert flag.value == 7
    call(native.set_flag, ctypes.pointer(flag), 8)
    assert flag.value == 8


def test_strings(native):
    """bytes go to a c_char_p argument; a c_char_p result comes back as bytes;
    None is NULL."""
    assert call(native.length, b"hello") == 5
    assert call(native.length, None) == 2 ** 64 - 1   # (size_t)-1 for NULL
    assert call(native.greeting) == b"hello from C"
    assert call(native.length, ctypes.create_string_buffer(b"buffer")) == 6


def test_pointer_results(native):
    """A POINTER result is a ctypes pointer; a NULL c_void_p is None."""
    xs = (c_int32 * 3)(7, 8, 9)
    p = call(native.second_of, xs)
    assert isinstance(p, POINTER(c_int32))
    assert p.contents.value == 8 and p[1] == 9
    assert call(native.null_pointer) is None


def test_callback_argument(native):
    """A ctypes callback passed as a function pointer is called (on the
    reactor thread, in Python)."""
    seen = []

    @INT_CALLBACK
    def plus_one(x):
        seen.append(libcrochet.in_reactor_thread())
        return x + 1

    assert call(native.apply, plus_one, 41) == 42
    assert seen == [True]


def test_max_arguments(native):
    """32 arguments (CROCHET_MAX_ARGS) work."""
    assert call(native.sum32, *range(32)) == sum(range(32))


def test_native_failure(native):
    """crochet_raise in the native function raises CallFailed with its code,
    message and the native traceback."""
    result = libcrochet.run_in_reactor(native.fail_with)(42)
    with pytest.raises(libcrochet.CallFailed) as info:
        result.wait(LIMIT)
    error = info.value
    assert error.code == 42
    assert error.message == "native failure"
    assert "fail_with" in error.traceback
    assert "42" in str(error) and "native failure" in str(error)
    failure = result.original_failure()
    assert failure.value is error
    assert failure.getTraceback() == error.traceback
    with pytest.raises(libcrochet.CallFailed) as again:
        result.wait(LIMIT)
    assert again.value is error


def test_native_failure_wait_for(native):
    """wait_for raises a native failure too."""
    with pytest.raises(libcrochet.CallFailed) as info:
        libcrochet.wait_for(timeout=LIMIT)(native.fail_with)(7)
    assert info.value.code == 7


def test_native_cancelled_code(native):
    """crochet_raise(CROCHET_ECANCELLED, ...) is a CancelledError."""
    with pytest.raises(libcrochet.CancelledError, match="native failure"):
        call(native.fail_with, -4)


def test_cancel_queued_native_call(native, pipe):
    """A native call cancelled while queued never runs."""
    read_fd, write_fd = pipe
    flag = c_int32(0)
    blocked = libcrochet.run_in_reactor(native.block_on)(read_fd)
    result = libcrochet.run_in_reactor(native.set_flag)(ctypes.byref(flag), 1)
    result.cancel()
    os.write(write_fd, b"\x05")
    assert blocked.wait(LIMIT) == 5
    with pytest.raises(libcrochet.CancelledError):
        result.wait(LIMIT)
    sync()
    assert flag.value == 0


def test_pointer_arguments_kept_alive(native, pipe):
    """Objects a queued call's pointer arguments point into stay alive until
    the call has run, even when the caller dropped them and the result."""
    read_fd, write_fd = pipe
    before = _held.count()
    blocked = libcrochet.run_in_reactor(native.block_on)(read_fd)
    buffer = ctypes.create_string_buffer(b"still here")
    ref = weakref.ref(buffer)
    result = libcrochet.run_in_reactor(native.length)(buffer)
    del buffer, result
    gc.collect()
    assert ref() is not None
    os.write(write_fd, b"\x01")
    assert blocked.wait(LIMIT) == 1
    sync()
    sync()
    gc.collect()
    assert ref() is None
    assert _held.count() == before


def test_arguments_released_after_the_call(native):
    """Once the call had its turn, the engine lets its pointer arguments go
    (0.2: through destroy, right after the call, not when a waiter looks:
    hence the round trip before counting)."""
    before = _held.count()
    buffer = ctypes.create_string_buffer(b"abc")
    ref = weakref.ref(buffer)
    result = libcrochet.run_in_reactor(native.length)(buffer)
    del buffer
    assert result.wait(LIMIT) == 3
    del result   # (it keeps the arguments for errcheck)
    sync()
    gc.collect()   # (ctypes' from_param leaves the buffer in a cycle)
    assert ref() is None
    assert _held.count() == before


def test_errcheck(native):
    """A foreign function's errcheck is applied to the result."""
    f = CFUNCTYPE(c_int32, c_int32, c_int32)(("add_i32", native))
    f.errcheck = lambda result, func, args: (result, args)
    assert call(f, 1, 2) == (3, (1, 2))


def test_wrapper_metadata(native):
    """The wrapper keeps the function's name, has a signature from argtypes,
    and __wrapped__."""
    wrapper = libcrochet.run_in_reactor(native.add_i32)
    assert wrapper.__name__ == "add_i32"
    assert wrapper.__wrapped__ is native.add_i32
    sig = inspect.signature(wrapper)
    assert len(sig.parameters) == 2
    assert sig.return_annotation is c_int32


def test_argtypes_changed_later(native):
    """argtypes and restype set after decorating are used."""
    f = CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(("add_i64", native))
    wrapper = libcrochet.run_in_reactor(f)
    with pytest.raises(TypeError):
        wrapper(2, 3)
    f.argtypes = [ctypes.c_int64, ctypes.c_int64]
    with pytest.raises(TypeError):
        wrapper(2)
    assert wrapper(2, 3).wait(LIMIT) == 5


def test_wrong_argument_count(native):
    """Too few or too many arguments is a TypeError before anything is
    submitted; so are keyword arguments."""
    wrapper = libcrochet.run_in_reactor(native.add_i32)
    with pytest.raises(TypeError, match="2 arguments"):
        wrapper(1)
    with pytest.raises(TypeError, match="2 arguments"):
        wrapper(1, 2, 3)
    with pytest.raises(TypeError, match="keyword"):
        wrapper(1, b=2)
    with pytest.raises(TypeError):
        libcrochet.wait_for(LIMIT)(native.add_i32)()


@pytest.mark.parametrize("name, args, error", [
    ("add_i32", (1.5, 2), TypeError),
    ("add_i32", ("1", 2), TypeError),
    ("add_i32", (2 ** 31, 0), OverflowError),
    ("echo_u8", (256,), OverflowError),
    ("echo_u8", (-1,), OverflowError),
    ("echo_u64", (2 ** 64,), OverflowError),
    ("scale", ("1.0", 2.0), TypeError),
    ("length", ("text",), TypeError),
    ("length", (5,), TypeError),
    ("fill_i32", ((c_double * 2)(), 2, 0), TypeError),
    ("next_char", (b"ab",), TypeError),
])
def test_bad_arguments(native, name, args, error):
    """Arguments ctypes would not take (or that do not fit) raise before
    anything is submitted."""
    with pytest.raises(error):
        libcrochet.run_in_reactor(getattr(native, name))(*args)


def test_unsupported_types(native):
    """Unsupported argument or return types are a TypeError when decorating."""
    class Pair(Structure):
        _fields_ = [("a", c_int), ("b", c_int)]

    cases = [([c_longdouble], c_int), ([Pair], c_int), ([c_int], Pair),
             ([ctypes.py_object], c_int), ([c_int], c_longdouble), ([ctypes.c_wchar], c_int)]
    for argtypes, restype in cases:
        f = CFUNCTYPE(restype, *argtypes)(("add_i32", native))
        with pytest.raises(TypeError):
            libcrochet.run_in_reactor(f)
        with pytest.raises(TypeError):
            libcrochet.wait_for(LIMIT)(f)


def test_argtypes_required():
    """A foreign function without argtypes is a TypeError that says so."""
    libc = ctypes.CDLL(None)
    f = libc.abs
    f.argtypes = None
    with pytest.raises(TypeError, match="argtypes"):
        libcrochet.run_in_reactor(f)


def test_too_many_arguments(native):
    """More than 32 arguments is a TypeError."""
    f = CFUNCTYPE(c_int, *([c_int32] * 33))(("sum32", native))
    with pytest.raises(TypeError, match="32"):
        libcrochet.run_in_reactor(f)


def test_python_api_function_refused():
    """Functions of ctypes.pythonapi (they need the GIL) are refused."""
    f = ctypes.pythonapi.Py_GetVersion
    f.argtypes = []
    f.restype = c_char_p
    with pytest.raises(TypeError, match="GIL"):
        libcrochet.run_in_reactor(f)


def test_void_pointer_arguments(native):
    """c_void_p takes integers (addresses), bytes and ctypes objects."""
    f = CFUNCTYPE(ctypes.c_size_t, c_void_p)(("length", native))
    buffer = ctypes.create_string_buffer(b"four")
    assert call(f, ctypes.addressof(buffer)) == 4
    assert call(f, b"three") == 5
    assert call(f, buffer) == 4
    with pytest.raises(OverflowError):
        libcrochet.run_in_reactor(f)(-1)


@pytest.mark.parametrize("name, text", [("owned_greeting", b"hello, owned"),
                                        ("owned_greeting_later", b"hello, later")])
def test_wait_for_owned_string(native, name, text):
    """wait_for on a native function whose deferred fires with an owned
    strdup string (crochet_deferred_callback_owned) returns the string; the
    result owned it, so the library frees it once, when the result goes."""
    f = getattr(native, name)
    before = native.owned_destroyed()
    assert libcrochet.wait_for(timeout=LIMIT)(f)() == text
    gc.collect()
    assert native.owned_destroyed() == before + 1


def test_run_in_reactor_owned_string(native):
    """The owned string stays the result's while the EventualResult lives:
    every wait() gives it; it is freed once, when the result goes."""
    before = native.owned_destroyed()
    result = libcrochet.run_in_reactor(native.owned_greeting_later)()
    assert result.wait(LIMIT) == b"hello, later"
    assert result.wait(LIMIT) == b"hello, later"
    assert native.owned_destroyed() == before
    uid = result.stash()
    del result
    assert native.owned_destroyed() == before   # the store holds it
    retrieved = libcrochet.retrieve_result(uid)
    # A new EventualResult: the restype went with the old one, so the value
    # is read by its type tag (the pointer), still owned by the result.
    assert ctypes.string_at(retrieved.wait(LIMIT)) == b"hello, later"
    del retrieved
    assert native.owned_destroyed() == before + 1


def test_c_wait_for_hands_owned_string_over(native):
    """crochet_wait_for, from C, hands the owned string to its caller: the
    library does not free it (the caller does)."""
    before = native.owned_destroyed()
    p = native.c_wait_for_owned_greeting()
    assert p, "crochet_wait_for failed"
    try:
        assert ctypes.string_at(p) == b"hello, later"
        sync()
        assert native.owned_destroyed() == before
    finally:
        native.free_string(p)
