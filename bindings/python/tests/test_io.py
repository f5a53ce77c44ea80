"""I/O on the reactor: add_reader / add_writer / remove_reader /
remove_writer over the library's fd watchers, and defer_to_thread over its
worker pool."""

import gc
import os
import socket
import tempfile
import threading
import time
import uuid
import weakref

import pytest

import libcrochet
from libcrochet import _held
from helpers import LIMIT, on_reactor, sync


def _held_settles_to(count):
    """Whether the binding's held objects come back to count (the engine
    destroys a ctx on the reactor thread, a moment after what it waited for):
    reactor round trips until they do, for at most LIMIT seconds."""
    deadline = time.monotonic() + LIMIT
    while _held.count() != count:
        if time.monotonic() > deadline:
            return False
        sync()
    return True


def _error_of(f, *args):
    try:
        f(*args)
    except BaseException as e:
        return e
    return None


# ---------------------------------------------------------------------------
# Readers and writers
# ---------------------------------------------------------------------------

def test_reader_runs_on_the_reactor_thread(pipe):
    """add_reader calls f(fd) on the reactor thread once the fd is readable;
    after remove_reader it is not called, even with data waiting."""
    r, w = pipe
    got = []
    ready = threading.Event()

    def on_readable(fd):
        got.append((fd, os.read(fd, 100), libcrochet.in_reactor_thread()))
        libcrochet.remove_reader(fd)
        ready.set()

    on_reactor(libcrochet.add_reader, r, on_readable)
    os.write(w, b"hello")
    assert ready.wait(LIMIT)
    assert got == [(r, b"hello", True)]
    os.write(w, b"more")
    sync()
    sync()
    assert len(got) == 1
    assert os.read(r, 100) == b"more"


def test_reader_is_level_triggered(pipe):
    """A reader that does not read is called again while data waits."""
    r, w = pipe
    calls = []
    done = threading.Event()

    def peek(fd):
        calls.append(fd)
        if len(calls) == 3:
            libcrochet.remove_reader(fd)
            done.set()

    on_reactor(libcrochet.add_reader, r, peek)
    os.write(w, b"x")
    assert done.wait(LIMIT)
    sync()
    assert calls == [r, r, r]


def test_writer_and_objects_with_fileno(pipe):
    """add_writer calls f(fd) while the fd is writable; an object with
    fileno() may be given for the fd."""
    _r, w = pipe
    called = threading.Event()

    class File:
        def fileno(self):
            return w

    def writable(fd):
        libcrochet.remove_writer(File())
        os.write(fd, b"written on the reactor")
        called.set()

    on_reactor(libcrochet.add_writer, File(), writable)
    assert called.wait(LIMIT)
    assert os.read(pipe[0], 100) == b"written on the reactor"


def test_echo_over_a_socket_pair_with_nonblocking_io():
    """A small protocol done with readers and writers on the reactor
    thread: non-blocking sockets, 256 KiB echoed back in full."""
    a, b = socket.socketpair()
    payload = os.urandom(256 * 1024)
    received = bytearray()
    finished = threading.Event()
    for s in (a, b):
        s.setblocking(False)

    def start():
        pending = [memoryview(payload)]

        def echo(_fd):   # b: what it reads, it sends back (blocking briefly is fine here)
            try:
                data = b.recv(65536)
            except BlockingIOError:
                return
            view = memoryview(data)
            while view:
                try:
                    view = view[b.send(view):]
                except BlockingIOError:
                    pass

        def send(_fd):
            try:
                pending[0] = pending[0][a.send(pending[0]):]
            except BlockingIOError:
                return
            if not pending[0]:
                libcrochet.remove_writer(a)

        def receive(_fd):
            try:
                received.extend(a.recv(65536))
            except BlockingIOError:
                return
            if len(received) == len(payload):
                libcrochet.remove_reader(a)
                libcrochet.remove_reader(b)
                finished.set()

        libcrochet.add_reader(b, echo)
        libcrochet.add_reader(a, receive)
        libcrochet.add_writer(a, send)

    try:
        on_reactor(start)
        assert finished.wait(LIMIT)
        assert bytes(received) == payload
    finally:
        a.close()
        b.close()


def test_replaced_and_removed_callbacks_are_let_go(pipe):
    """A second add_reader replaces the callback; the library lets go of the
    old one, and of the last one at remove_reader (nothing held is left)."""
    r, w = pipe
    sync()
    held_before = _held.count()
    seen = []
    ready = threading.Event()

    class Callback:
        def __init__(self, name):
            self.name = name

        def __call__(self, fd):
            seen.append(self.name)
            os.read(fd, 1)
            ready.set()

    first, second = Callback("first"), Callback("second")
    refs = [weakref.ref(first), weakref.ref(second)]
    on_reactor(libcrochet.add_reader, r, first)
    on_reactor(libcrochet.add_reader, r, second)
    del first, second
    gc.collect()
    assert refs[0]() is None and refs[1]() is not None
    os.write(w, b"x")
    assert ready.wait(LIMIT)
    on_reactor(libcrochet.remove_reader, r)
    gc.collect()
    assert refs[1]() is None
    assert seen == ["second"]
    assert _held_settles_to(held_before)


def test_reader_and_writer_on_one_fd_are_independent():
    """A reader and a writer on one socket are separate watchers: removing
    one leaves the other."""
    a, b = socket.socketpair()
    readable, wrote = threading.Event(), threading.Event()
    writable = []

    def on_write(fd):
        writable.append(fd)
        libcrochet.remove_writer(fd)
        wrote.set()

    def on_read(fd):
        a.recv(10)
        libcrochet.remove_reader(fd)
        readable.set()

    try:
        on_reactor(lambda: (libcrochet.add_reader(a, on_read), libcrochet.add_writer(a, on_write)))
        assert wrote.wait(LIMIT)
        b.send(b"ping")
        assert readable.wait(LIMIT)
        sync()
        assert writable == [a.fileno()]   # once: removed, while still writable
    finally:
        a.close()
        b.close()


def test_error_in_a_callback_is_logged(pipe, log_capture):
    """An exception an fd callback raises is logged (the reactor goes on)."""
    r, w = pipe
    tag = uuid.uuid4().hex

    def fails(fd):
        libcrochet.remove_reader(fd)
        raise ValueError(tag)

    on_reactor(libcrochet.add_reader, r, fails)
    os.write(w, b"x")
    record = log_capture.wait_for(tag)
    assert "file descriptor callback" in record.getMessage()
    assert on_reactor(lambda: 1) == 1


def test_bad_file_descriptors(pipe):
    """A negative fd, one too large, a closed one and a regular file are
    ValueErrors; a non-int without fileno(), a bool and a non-callable are
    TypeErrors. Removing an fd never watched is fine."""
    r, w = pipe
    closed_r, closed_w = os.pipe()
    os.close(closed_r)
    os.close(closed_w)

    def errors():
        with tempfile.TemporaryFile() as regular:
            out = []
            for add in (libcrochet.add_reader, libcrochet.add_writer):
                out.append([type(_error_of(add, fd, print))
                            for fd in (-1, 2 ** 40, closed_r, regular, "3", True, 1.0)])
                out.append(type(_error_of(add, r, "not callable")))
            for remove in (libcrochet.remove_reader, libcrochet.remove_writer):
                out.append((_error_of(remove, r), type(_error_of(remove, -1)),
                            type(_error_of(remove, "x"))))
            return out

    reader, reader_f, writer, writer_f, remove_r, remove_w = on_reactor(errors)
    expected = [ValueError, ValueError, ValueError, ValueError, TypeError, TypeError, TypeError]
    assert reader == expected and writer == expected
    assert reader_f is TypeError and writer_f is TypeError
    assert remove_r == (None, ValueError, TypeError) and remove_w == remove_r


def test_fd_functions_only_on_the_reactor_thread(pipe):
    """add_reader and the rest are RuntimeErrors off the reactor thread."""
    r, w = pipe
    for f, args in ((libcrochet.add_reader, (r, print)), (libcrochet.add_writer, (w, print)),
                    (libcrochet.remove_reader, (r,)), (libcrochet.remove_writer, (w,))):
        with pytest.raises(RuntimeError, match="only be called on the reactor thread"):
            f(*args)


# ---------------------------------------------------------------------------
# defer_to_thread
# ---------------------------------------------------------------------------

def test_defer_to_thread_runs_off_the_reactor():
    """defer_to_thread runs f(*args, **kwargs) on a worker thread (not the
    reactor's, not the caller's) and the Deferred fires on the reactor
    thread with its value."""
    def work(a, b=0):
        return a + b, libcrochet.in_reactor_thread(), threading.get_ident()

    @libcrochet.wait_for(timeout=LIMIT)
    def run():
        reactor_ident = threading.get_ident()
        return libcrochet.defer_to_thread(work, 40, b=2).addCallback(
            lambda r: (r, libcrochet.in_reactor_thread(), reactor_ident))

    (value, in_reactor, worker), fired_in_reactor, reactor_ident = run()
    assert value == 42 and in_reactor is False and fired_in_reactor is True
    assert worker not in (reactor_ident, threading.get_ident())


def test_defer_to_thread_failure():
    """An exception f raises fails the Deferred with it (the same object,
    its traceback showing f)."""
    exc = OSError("blocking call failed")

    def fails():
        raise exc

    @libcrochet.run_in_reactor
    def run():
        return libcrochet.defer_to_thread(fails)

    result = run()
    with pytest.raises(OSError) as info:
        result.wait(LIMIT)
    assert info.value is exc
    assert "in fails" in result.original_failure().getTraceback()


def test_defer_to_thread_awaited_and_in_parallel():
    """A coroutine awaits defer_to_thread; two works run at once on two
    workers (they meet at a barrier)."""
    barrier = threading.Barrier(2, timeout=LIMIT)

    def meet(n):
        barrier.wait()
        return n

    @libcrochet.wait_for(timeout=LIMIT)
    async def both():
        return await libcrochet.gatherResults([libcrochet.defer_to_thread(meet, 1),
                                               libcrochet.defer_to_thread(meet, 2)])

    assert both() == [1, 2]


def test_defer_to_thread_cancel():
    """Cancelling the Deferred fails it with CancelledError at once; work no
    worker has taken never runs (of 64 blocked works, most wait for one of
    the pool's few workers), work that started runs to its end."""
    release = threading.Event()
    started, ran = [], []
    count = 64
    sync()
    held_before = _held.count()

    one_started = threading.Event()

    def blocked(i):
        started.append(i)
        one_started.set()
        release.wait(LIMIT)
        ran.append(i)
        return i

    def start_and_cancel():
        ds = [libcrochet.defer_to_thread(blocked, i) for i in range(count)]
        assert one_started.wait(LIMIT)   # (a worker needs nothing from the reactor)
        kinds = []
        for d in ds:
            d.cancel()
            d.addErrback(lambda f: kinds.append(f.type))
        return kinds

    try:
        kinds = on_reactor(start_and_cancel)
    finally:
        release.set()
    assert kinds == [libcrochet.CancelledError] * count
    assert _held_settles_to(held_before)   # every work ran or was dropped
    assert 0 < len(ran) < count
    assert sorted(ran) == sorted(started)


def test_defer_to_thread_errors():
    """Off the reactor thread defer_to_thread is a RuntimeError; a
    non-callable is a TypeError; a function returning a Deferred fails it
    with TypeError."""
    with pytest.raises(RuntimeError, match="only be called on the reactor thread"):
        libcrochet.defer_to_thread(print)

    def not_callable():
        try:
            libcrochet.defer_to_thread(42)
        except TypeError as e:
            return str(e)

    assert "needs a callable" in on_reactor(not_callable)

    @libcrochet.wait_for(timeout=LIMIT)
    def returns_deferred():
        d = libcrochet.succeed(1)
        return libcrochet.defer_to_thread(lambda: d)

    with pytest.raises(TypeError, match="returned a Deferred"):
        returns_deferred()


def test_defer_to_thread_leaves_nothing_held():
    """After works ran, failed or were cancelled, the binding holds nothing
    for them."""
    sync()
    before = _held.count()

    def fails():
        raise ValueError()

    @libcrochet.wait_for(timeout=LIMIT)
    def many():
        ds = [libcrochet.defer_to_thread(lambda i=i: i) for i in range(100)]
        ds += [libcrochet.defer_to_thread(fails) for _ in range(10)]
        for d in ds[-5:]:
            d.cancel()
        return libcrochet.DeferredList(ds, consumeErrors=True).addCallback(len)

    assert many() == 110
    assert _held_settles_to(before)   # the cancelled ones that had started included
