"""pytest configuration: libcrochet from this source tree, its reactor set up
once for the in-process tests, and a small native library built with cc."""

import ctypes
import os
import shutil
import subprocess
import sys
from ctypes import (POINTER, c_bool, c_char, c_char_p, c_double, c_float,
                    c_int8, c_int16, c_int32, c_int64, c_size_t, c_uint8, c_uint16, c_uint32,
                    c_uint64, c_void_p)

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))   # bindings/python: the package under test
sys.path.insert(0, HERE)                    # helpers

import libcrochet  # noqa: E402
from helpers import INT_CALLBACK, LogCapture  # noqa: E402

libcrochet.setup()

# Every destroy the engine calls must be for a ctx the binding holds
# ("exactly once"): libcrochet._held logs an error otherwise.
_all_records = LogCapture()
libcrochet._logging.logger.addHandler(_all_records)


@pytest.fixture(autouse=True)
def destroy_exactly_once():
    yield
    bad = [m for m in _all_records.messages() if "for a ctx that is not held" in m]
    assert not bad, bad


@pytest.fixture
def log_capture():
    capture = LogCapture()
    logger = libcrochet._logging.logger
    logger.addHandler(capture)
    try:
        yield capture
    finally:
        logger.removeHandler(capture)


def _pkg_config(*args):
    if shutil.which("pkg-config") is None:
        pytest.fail("pkg-config is needed to build the native test library")
    done = subprocess.run(["pkg-config", *args, "crochet"], capture_output=True, text=True,
                          timeout=60)
    if done.returncode != 0:
        pytest.fail("pkg-config %s crochet failed (set PKG_CONFIG_PATH to build/stage/lib/"
                    "pkgconfig): %s" % (" ".join(args), done.stderr))
    return done.stdout.split()


@pytest.fixture(scope="session")
def native(tmp_path_factory):
    """libtestnative.so (tests/native/testlib.c) built against libcrochet,
    with argtypes and restypes declared."""
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        pytest.fail("a C compiler (%s) is needed to build the native test library" % cc)
    out = tmp_path_factory.mktemp("native") / "libtestnative.so"
    libdir = _pkg_config("--variable=libdir")[0]
    cmd = [cc, "-shared", "-fPIC", "-O1", "-g", "-Wall", "-Wextra", "-Werror",
           os.path.join(HERE, "native", "testlib.c"), "-o", str(out),
           *_pkg_config("--cflags", "--libs"), "-Wl,-rpath," + libdir]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, "cannot build the native test library:\n%s\n%s" % (
        " ".join(cmd), done.stderr)
    lib = ctypes.CDLL(str(out))

    def declare(name, restype, *argtypes):
        f = getattr(lib, name)
        f.restype = restype
        f.argtypes = list(argtypes)

    declare("add_i32", c_int32, c_int32, c_int32)
    declare("add_i64", c_int64, c_int64, c_int64)
    declare("negate_i8", c_int8, c_int8)
    declare("echo_u8", c_uint8, c_uint8)
    declare("echo_i16", c_int16, c_int16)
    declare("echo_u16", c_uint16, c_uint16)
    declare("echo_u32", c_uint32, c_uint32)
    declare("echo_u64", c_uint64, c_uint64)
    declare("scale", c_double, c_double, c_double)
    declare("halve", c_float, c_float)
    declare("is_positive", c_bool, c_int32)
    declare("next_char", c_char, c_char)
    declare("on_reactor_thread", c_int32)
    declare("fill_i32", None, POINTER(c_int32), c_int32, c_int32)
    declare("sum_doubles", c_double, POINTER(c_double), c_int32)
    declare("length", c_size_t, c_char_p)
    declare("greeting", c_char_p)
    declare("second_of", POINTER(c_int32), POINTER(c_int32))
    declare("null_pointer", c_void_p)
    declare("apply", c_int32, INT_CALLBACK, c_int32)
    declare("fail_with", c_int32, c_int32)
    declare("block_on", c_int32, c_int32)
    declare("set_flag", None, POINTER(c_int32), c_int32)
    declare("sum32", c_int64, *([c_int32] * 32))
    declare("submit_and_stash", c_uint64, c_int32)
    declare("owned_destroyed", c_int32)
    declare("owned_greeting", libcrochet.deferred_of(c_char_p))
    declare("owned_greeting_later", libcrochet.deferred_of(c_char_p))
    declare("c_wait_for_owned_greeting", c_void_p)
    declare("free_string", None, c_void_p)
    lib.path = str(out)
    return lib


@pytest.fixture
def pipe():
    """A pipe (read fd, write fd), closed afterwards."""
    r, w = os.pipe()
    yield r, w
    for fd in (r, w):
        try:
            os.close(fd)
        except OSError:
            pass



