"""Twisted on libcrochet's reactor (libcrochet.twistedreactor), tried as a
crochet user would: each scenario is a small program run in a child process
(the reactor is installed once per process), from plain threads, with a
time limit."""

import os
import signal
import textwrap
import time

import pytest

pytest.importorskip("twisted")

from helpers import run_python, start_python  # noqa: E402

# Every scenario starts so: Twisted on libcrochet, a web server on localhost.
PRELUDE = """
import ctypes, sys, threading, time
from libcrochet import twistedreactor
twistedreactor.install()
import libcrochet
libcrochet.setup()
from twisted.internet import defer, endpoints, protocol, reactor, task
from twisted.python import threadable
from twisted.web import resource, server
from twisted.web.client import Agent, HTTPConnectionPool, readBody

class Page(resource.Resource):
    isLeaf = True
    def __init__(self):
        super().__init__()
        self.lost = []        # requests whose connection went away unfinished
        self.hanging = defer.Deferred()
    def render_GET(self, request):
        if request.path == b"/hang":
            request.notifyFinish().addErrback(lambda f: (self.lost.append(request.path),
                                                         self.hanging.callback(None)))
            return server.NOT_DONE_YET
        return b"page " + request.path + b" " + str(threadable.isInIOThread()).encode()

page = Page()

@libcrochet.wait_for(10)
def listen():
    site = server.Site(page)
    return endpoints.TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(site)

port = listen()
URL = "http://127.0.0.1:%d" % port.getHost().port
"""


def run(body, timeout=60, limit=None):
    """Runs PRELUDE + body in a child process; it must print OK and log
    no unhandled error. limit: the most seconds the whole run may take."""
    started = time.monotonic()
    done = run_python(PRELUDE + textwrap.dedent(body), timeout=timeout)
    elapsed = time.monotonic() - started
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "OK" in done.stdout.split(), out
    for bad in ("Unhandled", "Traceback", "Exception ignored"):
        assert bad not in done.stderr, out
    if limit is not None:
        assert elapsed < limit, "took %.1f s:\n%s" % (elapsed, out)
    return done


def test_web_server_and_agent_from_threads():
    run("""
        agent = Agent(reactor)

        @libcrochet.wait_for(10)
        def fetch(path):
            assert threadable.isInIOThread() and libcrochet.in_reactor_thread()
            return agent.request(b"GET", (URL + path).encode()).addCallback(readBody)

        @libcrochet.wait_for(10)
        def state():
            return reactor.running, threadable.isInIOThread()

        assert state() == (True, True)
        assert not threadable.isInIOThread()   # the main thread is not the reactor's
        assert fetch("/a") == b"page /a True"
        got = {}
        def worker(i):
            got[i] = fetch("/t%d" % i)
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for t in threads: t.start()
        for t in threads: t.join(10)
        assert got == {i: b"page /t%d True" % i for i in range(4)}, got
        # A host name (getaddrinfo in Twisted's thread pool), and Twisted's
        # own way in from a thread.
        localhost = URL.replace("127.0.0.1", "localhost")
        @libcrochet.wait_for(10)
        def fetch_url(url):
            return agent.request(b"GET", url.encode()).addCallback(readBody)
        assert fetch_url(localhost + "/named") == b"page /named True"
        from twisted.internet import threads
        assert threads.blockingCallFromThread(
            reactor, lambda: agent.request(b"GET", (URL + "/b").encode()).addCallback(
                readBody)) == b"page /b True"
        print("OK")
    """, limit=30)


def test_async_def_fetch():
    run("""
        @libcrochet.wait_for(10)
        async def fetch(path):
            agent = Agent(reactor)
            response = await agent.request(b"GET", (URL + path).encode())
            body = await readBody(response)
            await task.deferLater(reactor, 0.01, lambda: None)
            return response.code, body

        assert fetch("/async") == (200, b"page /async True")

        @libcrochet.wait_for(10)
        async def failing():
            await task.deferLater(reactor, 0.01, lambda: None)
            raise KeyError("from a coroutine")

        try:
            failing()
        except KeyError as e:
            assert e.args == ("from a coroutine",)
        else:
            raise AssertionError("no exception")

        result = libcrochet.run_in_reactor(failing.__wrapped__)()
        try:
            result.wait(10)
        except KeyError:
            assert "from a coroutine" in result.original_failure().getTraceback()
        else:
            raise AssertionError("no exception")
        print("OK")
    """, limit=30)


def test_one_mib_echo_over_tcp_endpoints():
    run("""
        class Echo(protocol.Protocol):
            def dataReceived(self, data):
                self.transport.write(data)

        class Collect(protocol.Protocol):
            def __init__(self, expected):
                self.expected, self.chunks, self.size = expected, [], 0
                self.done = defer.Deferred()
            def dataReceived(self, data):
                self.chunks.append(data)
                self.size += len(data)
                if self.size >= self.expected:
                    self.transport.loseConnection()
                    self.done.callback(b"".join(self.chunks))

        @libcrochet.wait_for(10)
        def listen_echo():
            return endpoints.TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(
                protocol.Factory.forProtocol(Echo))

        echo_port = listen_echo().getHost().port
        payload = bytes(range(256)) * 4096   # 1 MiB

        @libcrochet.wait_for(30)
        async def echo(data):
            client = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", echo_port)
            proto = await endpoints.connectProtocol(client, Collect(len(data)))
            proto.transport.write(data)
            return await proto.done

        assert len(payload) == 1 << 20
        assert echo(payload) == payload
        assert echo(payload[:1000]) == payload[:1000]
        print("OK")
    """, limit=60)


def test_many_threads_fetching_at_once():
    run("""
        pool = HTTPConnectionPool(reactor, persistent=True)
        pool.maxPersistentPerHost = 8
        agent = Agent(reactor, pool=pool)

        @libcrochet.wait_for(30)
        def fetch(path):
            return agent.request(b"GET", (URL + path).encode()).addCallback(readBody)

        errors, got = [], {}
        barrier = threading.Barrier(16)
        def worker(i):
            try:
                barrier.wait(10)
                got[i] = [fetch("/%d/%d" % (i, j)) for j in range(20)]
            except BaseException as e:
                errors.append(e)
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
        for t in threads: t.start()
        for t in threads: t.join(60)
        assert not errors, errors
        for i in range(16):
            assert got[i] == [b"page /%d/%d True" % (i, j) for j in range(20)], got[i]
        print("OK")
    """, timeout=120, limit=90)


def test_timeout_cancels_the_deferred():
    run("""
        agent = Agent(reactor)

        @libcrochet.wait_for(0.5)
        def fetch_hanging():
            return agent.request(b"GET", (URL + "/hang").encode()).addCallback(readBody)

        started = time.monotonic()
        try:
            fetch_hanging()
        except libcrochet.TimeoutError as e:
            assert "wait_for(" in str(e), e
        else:
            raise AssertionError("no timeout")
        assert time.monotonic() - started < 5

        @libcrochet.wait_for(10)
        def server_saw_it_go():     # the cancel closed the connection
            return page.hanging.addCallback(lambda _: list(page.lost))

        assert server_saw_it_go() == [b"/hang"]

        # cancel() of a run_in_reactor call: the Twisted Deferred is cancelled.
        cancelled = []
        @libcrochet.run_in_reactor
        def pending():
            return defer.Deferred(lambda d: cancelled.append(True))
        result = pending()
        libcrochet.wait_for(10)(lambda: None)()
        result.cancel()
        try:
            result.wait(10)
        except defer.CancelledError as e:      # crochet's exception ...
            assert isinstance(e, libcrochet.CancelledError)   # ... and ours
        assert cancelled == [True]
        assert result.info().state == "done"
        print("OK")
    """, limit=30)


def test_ctypes_native_call_on_the_same_reactor():
    run("""
        libc = ctypes.CDLL(None)
        libc.labs.argtypes, libc.labs.restype = [ctypes.c_long], ctypes.c_long
        libc.pthread_self.argtypes, libc.pthread_self.restype = [], ctypes.c_ulong

        native_thread = libcrochet.run_in_reactor(libc.pthread_self)().wait(10)
        assert libcrochet.wait_for(10)(libc.labs)(-42) == 42

        @libcrochet.wait_for(10)
        def twisted_thread():     # the IO thread Twisted registered, and this one
            return threadable.ioThread, threading.get_ident()

        assert twisted_thread() == (native_thread, native_thread)

        # Interleaved: native calls between Twisted timers and fetches.
        agent = Agent(reactor)
        @libcrochet.run_in_reactor
        def fetch(path):
            return agent.request(b"GET", (URL + path).encode()).addCallback(readBody)

        fetches = [fetch("/n%d" % i) for i in range(5)]
        natives = [libcrochet.run_in_reactor(libc.labs)(-i) for i in range(100)]
        assert [r.wait(10) for r in natives] == list(range(100))
        assert [r.wait(10) for r in fetches] == [b"page /n%d True" % i for i in range(5)]
        print("OK")
    """, limit=30)


def test_shutdown_triggers_and_stop():
    """reactor.stop() runs Twisted's shutdown (a "before" trigger's Deferred
    is waited for), then libcrochet's reactor stops."""
    done = run("""
        def before():
            print("before")
            return task.deferLater(reactor, 0.1, lambda: print("before done"))
        reactor.addSystemEventTrigger("before", "shutdown", before)
        reactor.addSystemEventTrigger("after", "shutdown", lambda: print("after"))

        @libcrochet.run_in_reactor
        def hang():
            return defer.Deferred()
        pending = hang()
        reactor.callFromThread(reactor.stop)
        try:
            pending.wait(10)
        except libcrochet.ReactorStopped:
            pass
        sys.stdout.flush()
        try:
            libcrochet.run_in_reactor(lambda: None)().wait(10)
        except libcrochet.ReactorStopped:
            print("OK")
    """, limit=20)
    assert done.stdout.split() == ["before", "before", "done", "after", "OK"], done.stdout


def test_libcrochet_stop_runs_twisted_shutdown_and_exit_is_prompt():
    done = run("""
        reactor.addSystemEventTrigger("before", "shutdown", lambda: print("before"))
        reactor.addSystemEventTrigger("during", "shutdown", lambda: print("during"))
        libcrochet.wait_for(10)(lambda: reactor.callInThread(time.sleep, 0.01))()
        libcrochet.stop()
        time.sleep(0.5)
        print("OK")
    """, limit=15)
    assert done.stdout.split() == ["before", "during", "OK"], done.stdout
    # At exit, with a listening port, open connections and the thread pool
    # started: Twisted shuts down in the binding's exit, quickly.
    done = run("""
        pool = HTTPConnectionPool(reactor, persistent=True)
        agent = Agent(reactor, pool=pool)
        @libcrochet.wait_for(10)
        def fetch(path):
            reactor.addSystemEventTrigger("after", "shutdown", lambda: print("shut down"))
            reactor.callInThread(time.sleep, 0.01)
            return agent.request(b"GET", (URL + path).encode()).addCallback(readBody)
        assert fetch("/x") == b"page /x True"
        print("OK")
        sys.stdout.flush()
    """, limit=15)
    assert done.stdout.split() == ["OK", "shut", "down"], done.stdout


def test_reactor_run_on_the_main_thread():
    """A plain Twisted program: reactor.run() runs libcrochet's reactor on
    the calling thread (no_setup() and run()); other threads call in."""
    done = run_python("""
        import threading
        from libcrochet import twistedreactor
        twistedreactor.install()
        import libcrochet
        from twisted.internet import reactor, task
        from twisted.python import threadable
        from twisted.web import resource, server
        from twisted.web.client import Agent, readBody

        class Page(resource.Resource):
            isLeaf = True
            def render_GET(self, request):
                return b"ok"

        # Before run(), as plain Twisted programs do.
        port = reactor.listenTCP(0, server.Site(Page()), interface="127.0.0.1")
        url = b"http://127.0.0.1:%d/" % port.getHost().port

        @libcrochet.wait_for(10)
        def later():
            return task.deferLater(reactor, 0.05, lambda: threadable.isInIOThread())

        @libcrochet.wait_for(10)
        def fetch():
            return Agent(reactor).request(b"GET", url).addCallback(readBody)

        results = []
        def client():
            try:
                results.append(later())
                results.append(fetch())
            finally:
                reactor.callFromThread(reactor.stop)
        reactor.callWhenRunning(threading.Thread(target=client).start)
        reactor.callLater(0.01, results.append, "timer")
        reactor.run()
        assert results == ["timer", True, b"ok"], results
        assert threadable.isInIOThread()   # this thread ran it
        print("OK")
    """, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "OK", done.stdout + done.stderr


def test_install_after_setup_and_plain_functions_unchanged():
    done = run_python("""
        import libcrochet
        libcrochet.setup()
        from libcrochet import twistedreactor
        twistedreactor.install()
        from twisted.internet import reactor, task

        @libcrochet.wait_for(10)
        def sleep():
            return task.deferLater(reactor, 0.05, lambda: "slept")

        assert sleep() == "slept"
        assert libcrochet.wait_for(10)(lambda: 41 + 1)() == 42
        try:
            twistedreactor.install()
        except Exception as e:
            assert type(e).__name__ == "ReactorAlreadyInstalledError", e
        print("OK")
    """, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "OK", done.stdout + done.stderr


def test_regular_file_reader_is_polled():
    """epoll refuses a regular file: it is polled (as Twisted's asyncio
    reactor does), and removed again."""
    run("""
        import os
        from twisted.internet import abstract

        class FileReader(abstract.FileDescriptor):
            def __init__(self, fd):
                super().__init__(reactor)
                self.fd, self.data, self.done = fd, b"", defer.Deferred()
            def fileno(self):
                return self.fd
            def doRead(self):
                chunk = os.read(self.fd, 100)
                if not chunk:
                    self.stopReading()
                    self.done.callback(self.data)
                self.data += chunk

        @libcrochet.wait_for(10)
        def read_file(path):
            reader = FileReader(os.open(path, os.O_RDONLY))
            reader.startReading()
            assert reader in reactor.getReaders()
            return reader.done.addCallback(lambda data: (data, reader in reactor.getReaders()))

        import tempfile
        expected = bytes(range(256)) * 40
        with tempfile.NamedTemporaryFile() as f:
            f.write(expected)
            f.flush()
            data, still_reading = read_file(f.name)
        assert data == expected and not still_reading
        print("OK")
    """, limit=30)


# A ProcessProtocol that collects what a child writes and how it ended, and
# a wait_for function that spawns one from a plain thread.
SPAWN = """
import os, signal
from twisted.internet import error, process, utils

class Child(protocol.ProcessProtocol):
    def __init__(self, stdin=None):
        self.stdin, self.out, self.exited = stdin, b"", None
        self.started, self.ended = defer.Deferred(), defer.Deferred()
    def connectionMade(self):
        if self.stdin is not None:
            self.transport.write(self.stdin)
            self.transport.closeStdin()
    def outReceived(self, data):
        self.out += data
        if not self.started.called:
            self.started.callback(self.transport.pid)
    def processExited(self, reason):
        self.exited = type(reason.value).__name__
    def processEnded(self, reason):
        assert threadable.isInIOThread()
        v = reason.value
        self.ended.callback((self.out, type(v).__name__, v.exitCode, v.signal, self.exited))

@libcrochet.wait_for(20)
def spawn(script, childFDs=None, stdin=None):
    child = Child(stdin)
    reactor.spawnProcess(child, "/bin/sh", ["sh", "-c", script], env=None,
                         childFDs=childFDs)
    return child.ended

def no_child_left():
    # Every child reaped: none is left to wait for, nothing registered.
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        pass
    else:
        raise AssertionError("a child is left unreaped")
    assert libcrochet.wait_for(10)(lambda: (dict(process.reapProcessHandlers),
                                            dict(reactor._childFds)))() == ({}, {})
"""


@pytest.mark.parametrize("watch", ["pidfd", "thread"])
def test_spawn_process_from_threads(watch):
    """spawnProcess from plain threads through wait_for: output, exit
    status, children that close their pipes before they end or have none
    (only the watch on the child's end can tell), signals, stdin, many at
    once; every child reaped. With "pidfd" the loop watches a pidfd per
    child; with "thread" a thread waits in waitid without reaping. Nothing
    process-wide (SIGCHLD, the wakeup fd) is taken."""
    if watch == "pidfd" and not hasattr(os, "pidfd_open"):
        pytest.skip("os.pidfd_open is Python 3.9+")
    run(SPAWN + textwrap.dedent("""
        if %r == "thread":
            reactor._childWatch = "thread"
        else:
            assert reactor._childWatch == "pidfd"
        assert spawn("echo hello; echo err >&2") == (b"hello\\n", "ProcessDone", 0, None,
                                                      "ProcessDone")
        assert spawn("echo out; exit 3") == (b"out\\n", "ProcessTerminated", 3, None,
                                             "ProcessTerminated")
        # All its pipes closed first: Twisted's reap on the last close finds
        # it still running.
        assert spawn("exec >&- 2>&- <&-; sleep 0.2; exit 4")[1:3] == ("ProcessTerminated", 4)
        assert spawn("exit 5", childFDs={})[1:3] == ("ProcessTerminated", 5)
        assert spawn("cat", stdin=b"to stdin")[:3] == (b"to stdin", "ProcessDone", 0)
        # No signal blocked in the child (the reactor thread blocks them all).
        assert spawn("exec grep SigBlk /proc/self/status")[0].split() == [
            b"SigBlk:", b"0000000000000000"]

        # Killed: by signalProcess, and from a plain thread by os.kill.
        sleepers = []

        @libcrochet.wait_for(20)
        def sleeper():
            child = Child()
            sleepers.append((child, reactor.spawnProcess(
                child, "/bin/sh", ["sh", "-c", "echo ready; exec sleep 30"], env=None)))
            return child.started   # its pid, once it wrote

        ended = libcrochet.wait_for(20)(lambda child: child.ended)
        sleeper()
        libcrochet.wait_for(10)(lambda: sleepers[0][1].signalProcess("KILL"))()
        assert ended(sleepers[0][0]) == (b"ready\\n", "ProcessTerminated", None, 9,
                                         "ProcessTerminated")
        os.kill(sleeper(), signal.SIGTERM)
        assert ended(sleepers[1][0])[1:4] == ("ProcessTerminated", None, 15)

        # Many at once, from four threads.
        got, errors = {}, []
        def worker(t):
            try:
                for i in range(6):
                    n = t * 6 + i
                    got[n] = spawn("echo %%d; exit %%d" %% (n, n %% 4))
            except BaseException as e:
                errors.append(e)
        threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
        for t in threads: t.start()
        for t in threads: t.join(60)
        assert not errors, errors
        assert got == {n: (b"%%d\\n" %% n, "ProcessTerminated" if n %% 4 else "ProcessDone",
                           n %% 4, None, "ProcessTerminated" if n %% 4 else "ProcessDone")
                       for n in range(24)}, got

        # Twisted's helpers, which spawn through the reactor.
        @libcrochet.wait_for(20)
        def output():
            return utils.getProcessOutputAndValue("/bin/sh", ["-c", "echo a; echo b >&2; exit 2"])
        assert output() == (b"a\\n", b"b\\n", 2)

        no_child_left()
        assert signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL
        assert signal.set_wakeup_fd(-1) == -1
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        print("OK")
    """ % watch), timeout=120, limit=90)


def communicate(proc, timeout=30):
    try:
        return proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


# A plain Twisted program: shutdown triggers that print, reactor.run() on
# the main thread; it says which handlers are set once running, and what is
# left when run() returned.
REACTOR_RUN = """
import os, signal, sys, threading
from libcrochet import twistedreactor
twistedreactor.install()
import libcrochet
from twisted.internet import reactor, task

def before():
    print("before", flush=True)
    return task.deferLater(reactor, 0.05, lambda: print("before-done", flush=True))
reactor.addSystemEventTrigger("before", "shutdown", before)
reactor.addSystemEventTrigger("during", "shutdown", lambda: print("during", flush=True))
reactor.addSystemEventTrigger("after", "shutdown", lambda: print("after", flush=True))

def handlers():
    return (signal.getsignal(signal.SIGINT) == reactor.sigInt,
            signal.getsignal(signal.SIGTERM) == reactor.sigTerm,
            signal.getsignal(signal.SIGCHLD) != signal.SIG_DFL)

def running():
    print("running", *handlers(), flush=True)
reactor.callWhenRunning(running)
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_reactor_run(signum):
    """reactor.run() on the main thread installs Twisted's handlers: SIGINT
    or SIGTERM, sent while the main thread waits in the native loop, stops
    the reactor as Twisted's do (shutdown triggers, a "before" trigger's
    Deferred waited for); run() returns, the SIGCHLD handler and the wakeup
    fd are given back, and the program exits normally."""
    proc = start_python(REACTOR_RUN + """
reactor.run()
print("returned", reactor._exitSignal, signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL,
      signal.set_wakeup_fd(-1), flush=True)
""")
    try:
        assert proc.stdout.readline().split() == ["running", "True", "True", "True"]
        proc.send_signal(signum)
        out, err = communicate(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert out.split("\n") == ["before", "before-done", "during", "after",
                               "returned %d True -1" % signum, ""], out + err
    assert "Traceback" not in err and "Unhandled" not in err, err


def test_reactor_run_without_signal_handlers_or_off_the_main_thread():
    """installSignalHandlers=False installs nothing (SIGTERM then ends the
    process, as with Twisted); reactor.run() on another thread installs
    nothing either (Python runs handlers on the main thread only) and
    raises nothing."""
    proc = start_python(REACTOR_RUN + """
reactor.run(installSignalHandlers=False)
""")
    try:
        assert proc.stdout.readline().split() == ["running", "False", "False", "False"]
        proc.send_signal(signal.SIGTERM)
        out, err = communicate(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGTERM, out + err
    done = run_python(REACTOR_RUN + """
reactor.callWhenRunning(reactor.stop)
thread = threading.Thread(target=reactor.run)
thread.start()
thread.join(20)
assert not thread.is_alive()
assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
print("OK")
""", timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split() == ["running", "False", "False", "False", "before",
                                   "before-done", "during", "after", "OK"], done.stdout
    assert "Traceback" not in done.stderr, done.stderr


def test_spawn_process_before_reactor_run():
    """Children spawned before reactor.run() (Twisted's SIGCHLD handler is
    installed once it runs, as well as the pidfd watch) are reaped with
    their status."""
    done = run_python(REACTOR_RUN + """
from twisted.internet import defer, process, protocol

class Child(protocol.ProcessProtocol):
    def __init__(self):
        self.out, self.ended = b"", defer.Deferred()
    def outReceived(self, data):
        self.out += data
    def processEnded(self, reason):
        self.ended.callback((self.out, reason.value.exitCode, reason.value.signal))

children = [Child() for _ in range(3)]
reactor.spawnProcess(children[0], "/bin/sh", ["sh", "-c", "echo early; exit 6"], env=None)
reactor.spawnProcess(children[1], "/bin/sh", ["sh", "-c", "exit 7"], env=None, childFDs={})
t = reactor.spawnProcess(children[2], "/bin/sh", ["sh", "-c", "exec sleep 30"], env=None)
reactor.callWhenRunning(t.signalProcess, "TERM")
results = []
d = defer.gatherResults([c.ended for c in children])
d.addCallback(results.extend).addBoth(lambda _: reactor.stop())
reactor.run()
assert results == [(b"early\\n", 6, None), (b"", 7, None), (b"", None, 15)], results
assert process.reapProcessHandlers == {}
try:
    os.waitpid(-1, os.WNOHANG)
except ChildProcessError:
    print("OK")
""", timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split()[-1] == "OK", done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr


def test_setup_leaves_signals_to_the_application():
    """With libcrochet.setup(), Twisted on the reactor thread installs no
    signal handler (and takes no wakeup fd): Ctrl-C still interrupts the
    main thread's wait_for call with KeyboardInterrupt."""
    proc = start_python("""
import signal, sys, threading, time
from libcrochet import twistedreactor
twistedreactor.install()
import libcrochet
libcrochet.setup()
from twisted.internet import defer, reactor

@libcrochet.wait_for(10)
def handlers():
    return (signal.getsignal(signal.SIGINT) is signal.default_int_handler,
            signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
            signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL, reactor.running)

def main_thread_waiting():
    frame = sys._current_frames().get(threading.main_thread().ident)
    while frame is not None:
        if frame.f_code.co_name == "_wait_status":
            return True
        frame = frame.f_back
    return False

def announce():
    deadline = time.monotonic() + 10
    while not main_thread_waiting() and time.monotonic() < deadline:
        time.sleep(0.005)
    print("waiting", flush=True)

print(*handlers(), signal.set_wakeup_fd(-1), flush=True)
threading.Thread(target=announce, daemon=True).start()
try:
    libcrochet.wait_for(60)(defer.Deferred)()
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(23)
""")
    try:
        assert proc.stdout.readline().split() == ["True", "True", "True", "True", "-1"]
        assert proc.stdout.readline().strip() == "waiting"
        proc.send_signal(signal.SIGINT)
        out, err = communicate(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 23, err
    assert out.split() == ["interrupted"], out + err


@pytest.mark.parametrize("watch", ["pidfd", "thread"])
def test_exit_with_a_child_still_running(watch):
    """At exit, a child still running does not hold the process: Twisted's
    shutdown closes its pipes (this one then ends: its stdin is closed),
    and what watched it is let go of."""
    done = run(SPAWN + textwrap.dedent("""
        reactor._childWatch = %r
        waiting = []

        @libcrochet.wait_for(20)
        def reader():
            child = Child()
            reactor.spawnProcess(child, "/bin/sh", ["sh", "-c", "echo ready; read x"], env=None)
            waiting.append(child)
            return child.started

        assert reader() > 0
        assert libcrochet.wait_for(10)(lambda: len(process.reapProcessHandlers))() == 1
        print("OK")
    """ % watch), timeout=60, limit=15)
    assert done.stdout.split() == ["OK"], done.stdout
