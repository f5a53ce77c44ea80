"""One Python thread state for the reactor thread (issue 13, point 3): the
callbacks of setup()'s reactor thread all run in the state its first call
kept, so a threading.local or a context variable set in one is seen in the
next, and no callback makes and deletes a thread state of its own."""

import contextvars
import ctypes
import os
import sys
import threading

import pytest

import libcrochet
from libcrochet import _threadstate
from helpers import LIMIT, on_reactor, run_python, sync

local = threading.local()
variable = contextvars.ContextVar("variable", default="unset")


def state_id():
    """The id of the calling thread's Python thread state (unique over the
    interpreter's life, unlike its address, which a new state may reuse)."""
    api = ctypes.pythonapi
    api.PyThreadState_Get.restype = ctypes.c_void_p
    api.PyThreadState_GetID.argtypes = [ctypes.c_void_p]
    api.PyThreadState_GetID.restype = ctypes.c_uint64
    return api.PyThreadState_GetID(api.PyThreadState_Get())


def test_the_reactor_thread_keeps_its_state():
    assert _threadstate.kept()


def test_threading_local_and_context_variable_persist_across_callbacks():
    def put():
        local.value = "set in an earlier callback"
        variable.set("set in an earlier callback")

    def get():
        return getattr(local, "value", None), variable.get()

    on_reactor(put)
    assert on_reactor(get) == ("set in an earlier callback",) * 2
    # Through each kind of callback: call_from_thread, call_later, an fd
    # watcher, a Deferred fired by a later callback.
    seen = []
    done = threading.Event()
    r, w = os.pipe()

    def readable(fd):
        libcrochet.remove_reader(fd)
        seen.append(("reader", get()))
        d = libcrochet.Deferred()
        d.addCallback(lambda _: seen.append(("deferred", get())))
        libcrochet.call_later(0.01, d.callback, None)
        libcrochet.call_later(0.02, done.set)

    def watch():
        seen.append(("call_from_thread", get()))
        libcrochet.add_reader(r, readable)

    try:
        libcrochet.call_from_thread(watch)
        sync()
        os.write(w, b"x")
        assert done.wait(LIMIT)
    finally:
        os.close(r)
        os.close(w)
    assert seen == [(kind, ("set in an earlier callback",) * 2)
                    for kind in ("call_from_thread", "reader", "deferred")], seen


@pytest.mark.skipif(sys.version_info < (3, 9), reason="PyThreadState_GetID is 3.9+")
def test_no_thread_state_is_made_per_callback():
    """200 callbacks of every kind run in one thread state (with a fresh
    state per callback each would have a new id)."""
    ids = set()
    results = [libcrochet.run_in_reactor(lambda: ids.add(state_id()))() for _ in range(100)]
    for result in results:
        result.wait(LIMIT)
    done = threading.Event()
    for i in range(100):
        libcrochet.call_from_thread(ids.add, on_reactor(state_id))
    libcrochet.call_from_thread(done.set)
    assert done.wait(LIMIT)
    assert len(ids) == 1, ids
    assert state_id() not in ids   # (this thread's is another)


def test_given_back_at_stop_and_taken_again_in_a_fork_child():
    """At stop the state is given back on the reactor thread, after the
    shutdown triggers registered later ran in it; exit is clean. A fork
    child's reactor keeps a state of its own."""
    done = run_python("""
        import os, sys, threading
        import libcrochet
        from libcrochet import _services, _threadstate
        libcrochet.setup()
        local = threading.local()

        @libcrochet.wait_for(10)
        def put(value):
            local.value = value

        @libcrochet.wait_for(10)
        def get():
            return getattr(local, "value", None)

        put("parent")
        assert get() == "parent" and _threadstate.kept()
        pid = os.fork()
        if pid == 0:
            try:
                libcrochet.setup()
                put("child")
                assert get() == "child" and _threadstate.kept()
                libcrochet.stop()
            except BaseException as e:
                print("child:", repr(e), flush=True)
                os._exit(1)
            os._exit(0)
        assert os.waitpid(pid, 0)[1] == 0
        assert get() == "parent"
        seen = []
        stopped = threading.Event()
        libcrochet.wait_for(10)(_services.add_shutdown_trigger)(
            lambda: (seen.append(getattr(local, "value", None)), stopped.set()))
        pending = libcrochet.run_in_reactor(libcrochet.Deferred)()
        libcrochet.stop()
        assert stopped.wait(10)
        assert seen == ["parent"], seen
        try:   # failed once every shutdown trigger ran, the state's own last
            pending.wait(10)
        except libcrochet.ReactorStopped:
            pass
        assert not _threadstate.kept()
        print("OK")
    """, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split() == ["OK"], done.stdout + done.stderr
    assert done.stderr == "", done.stderr


def test_no_setup_uses_the_run_threads_own_state():
    """With no_setup(), callbacks run in the state of the thread that
    called run(): nothing is kept."""
    done = run_python("""
        import threading
        import libcrochet
        from libcrochet import _threadstate
        libcrochet.no_setup()
        local = threading.local()

        def reactor():
            local.value = "the run() thread's"
            libcrochet.run()

        thread = threading.Thread(target=reactor)
        thread.start()
        assert libcrochet.wait_for(10)(lambda: getattr(local, "value", None))() == \\
            "the run() thread's"
        assert not _threadstate.kept()
        libcrochet.stop()
        thread.join(10)
        print("OK")
    """, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split() == ["OK"], done.stdout + done.stderr
