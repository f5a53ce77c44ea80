"""Twisted on libcrochet's reactor thread.

    from libcrochet import twistedreactor
    twistedreactor.install()          # before anything imports twisted.internet.reactor
    import libcrochet
    libcrochet.setup()                # Twisted's reactor now runs on the reactor thread

    @libcrochet.wait_for(timeout=10)
    def fetch(url):                   # may return a Twisted Deferred, or be async def
        return treq.get(url).addCallback(treq.content)

install() makes a Twisted reactor (twisted.internet.reactor) driven by the
library's native loop, as Twisted's own foreign-loop reactors are
(asyncioreactor, gireactor):

- readers and writers are the library's fd watchers (crochet_add_reader /
  crochet_add_writer: its epoll; regular files, which epoll refuses, are
  polled on every loop turn, as Twisted's asyncio reactor does);
- timed calls stay in Twisted's own list (reactor.callLater, DelayedCall,
  getDelayedCalls), run from one native timer (crochet_call_later) kept at
  the earliest deadline;
- callFromThread is crochet_call_from_thread (in order with the calls a
  thread submits);
- the reactor is running (startup triggers, callWhenRunning, isInIOThread()
  on the reactor thread) once libcrochet's reactor runs: libcrochet.setup(),
  or libcrochet.run() after no_setup(), or reactor.run(), which is
  no_setup() and run() on the calling thread;
- reactor.stop() runs Twisted's shutdown (before triggers may return
  Deferreds; the loop keeps turning for them), then stops libcrochet's
  reactor; at interpreter exit the binding does the same (within its 5 s);
  when libcrochet's reactor is stopped otherwise (libcrochet.stop()),
  Twisted's shutdown triggers run from the library's shutdown trigger, at
  once (Deferreds returned by "before" triggers are not waited for);
- Twisted's thread pool (callInThread, deferToThread) is its own;
  getaddrinfo runs there;
- spawnProcess: the end of a child is noticed by a pidfd the loop watches
  (or, without pidfd_open, a thread per child waiting in waitid without
  reaping it), not by SIGCHLD, so it works whatever thread runs the
  reactor and takes nothing process-wide; Twisted then reaps the child.
  Children start without SIGPIPE blocked (the library's threads block it);
- signal handlers: reactor.run() on the main thread installs Twisted's
  (SIGINT, SIGTERM stop the reactor; SIGCHLD with the wakeup fd, which also
  makes Python run its handlers while the loop waits in native code), and
  gives back SIGCHLD and the wakeup fd when the reactor stops; with
  libcrochet.setup() (or reactor.run() on another thread, or
  installSignalHandlers=False) none are installed, and Ctrl-C stays the
  application's (KeyboardInterrupt in the main thread's waits).

Once installed, a function run by run_in_reactor or wait_for may return a
Twisted Deferred (the EventualResult follows it; cancel() and wait_for's
timeout cancel it) or a coroutine (async def: run with ensureDeferred).
Twisted's log goes to logging.getLogger("twisted"), as with crochet.

Not supported: iterate() (the loop is the library's, turned by its own
thread; it cannot be turned once from the outside).
"""

import errno
import inspect
import os
import signal
import threading

from twisted.internet import defer, error, process
from twisted.internet.interfaces import IReactorFDSet
from twisted.internet.posixbase import _NO_FILEDESC, PosixReactorBase, _ContinuousPolling
from twisted.python.log import callWithLogger
from zope.interface import implementer

from . import _calls, _errors, _exit, _lifecycle, _services
from ._deferred import Deferred
from ._errors import AlreadyCalledError, Failure, ReactorStopped
from ._logging import logger
from ._lifecycle import in_reactor_thread

__all__ = ["CancelledError", "LibcrochetReactor", "install"]


@implementer(IReactorFDSet)
class LibcrochetReactor(PosixReactorBase):
    """A Twisted reactor run by libcrochet's reactor thread. Use install()."""

    # How the end of a child process (spawnProcess) is noticed: "pidfd", a
    # pidfd (Linux 5.3, Python 3.9) that the loop watches, readable once
    # the child has ended; or "thread", a thread per child blocked in
    # waitid(WNOWAIT), which leaves the child to be reaped here.
    _childWatch = "pidfd" if hasattr(os, "pidfd_open") else "thread"

    def __init__(self):
        self._readers = {}     # selectable -> fd watched natively
        self._writers = {}
        self._fdReaders = {}   # fd -> the selectable its native reader is for
        self._fdWriters = {}
        self._timer = None     # the native timer (libcrochet.DelayedCall)
        self._timerAt = None   # its deadline, in self.seconds()
        self._nativeStarted = False
        self._shutdownDone = threading.Event()
        self._signalsWanted = False   # reactor.run(installSignalHandlers=True)
        self._childFds = {}    # pidfd watched -> the Process it is for
        super().__init__()
        self._continuousPolling = _ContinuousPolling(self)
        self.addSystemEventTrigger("after", "shutdown", self._afterShutdown)

    def installWaker(self):
        """No waker: the native loop wakes itself for calls, timers and fds."""
        self.waker = None

    # -- starting and stopping ---------------------------------------------

    def _nativeSetUp(self):
        """(any thread) libcrochet is set up: Twisted starts on its reactor
        thread, before the calls queued after this."""
        _services.call_from_thread(self._start)

    def _start(self):
        """(reactor thread) The reactor starts running."""
        if self._nativeStarted or self._startedBefore:
            return
        self._nativeStarted = True
        try:
            _services.add_shutdown_trigger(self._nativeShutdown)
        except ReactorStopped:
            return
        # Signal handlers only for reactor.run() on the main thread (Python
        # runs them there only); never when libcrochet runs the reactor.
        self.startRunning(installSignalHandlers=self._signalsWanted
                          and threading.current_thread() is threading.main_thread())
        self.runUntilCurrent()   # callFromThread calls made before
        self._reschedule()

    def run(self, installSignalHandlers=True):
        """Runs libcrochet's reactor on this thread until it stops
        (libcrochet.no_setup() and libcrochet.run()). On the main thread,
        with installSignalHandlers (the default), Twisted's signal handling
        is installed as its own reactors install it: SIGINT (unless a
        handler other than Python's default is set) and SIGTERM stop the
        reactor, and SIGCHLD wakes the loop (set_wakeup_fd) to reap
        children; the wakeup fd is what makes Python run its handlers while
        this thread waits in the native loop. ReactorAlreadyRunning after
        libcrochet.setup()."""
        if _lifecycle.mode() == "setup":
            raise error.ReactorAlreadyRunning(
                "libcrochet.setup() runs the reactor on its own thread")
        if self._startedBefore:
            raise error.ReactorNotRestartable()
        self._signalsWanted = bool(installSignalHandlers)
        if _lifecycle.mode() is None:
            _lifecycle.no_setup()
        try:
            _lifecycle.run()
        finally:
            self._signals.uninstall()   # (done already if the loop stopped normally)

    def stop(self):
        super().stop()
        self.callLater(0, lambda: None)   # runUntilCurrent fires "shutdown"

    def crash(self):
        stopping = self._stopped   # False: crash() called on its own
        super().crash()
        if not stopping:
            self._stopNative()

    def _afterShutdown(self):
        self._shutdownDone.set()
        self._stopNative()

    def _stopNative(self):
        try:
            _lifecycle.stop()
        except RuntimeError:   # never set up
            pass

    def _nativeShutdown(self):
        """(reactor thread) libcrochet's reactor stops: if Twisted did not
        stop it, Twisted's shutdown triggers run now."""
        try:
            if self._started and not self._stopped:
                super().stop()
            if self._justStopped:
                self._justStopped = False
                self.fireSystemEvent("shutdown")
        finally:
            self._shutdownDone.set()
            self._unwatchChildren()
            self._signals.uninstall()   # (on the reactor thread: the main one, if installed)

    def _stopAtExit(self, timeout):
        """(exit, before libcrochet's reactor stops) Twisted's shutdown, in
        loop turns, for at most timeout seconds."""
        if not self._nativeStarted or self._shutdownDone.is_set():
            return

        def begin():
            if self._started and not self._stopped:
                self.stop()

        try:
            _services.call_from_thread(begin)
        except (ReactorStopped, RuntimeError):
            return
        self._shutdownDone.wait(timeout)

    # -- calls from other threads ------------------------------------------

    def callFromThread(self, f, *args, **kwargs):
        assert callable(f), "%s is not callable" % (f,)
        try:
            _services.call_from_thread(self._threadCall, f, args, kwargs)
        except RuntimeError:   # not set up yet: runs when the reactor starts
            self.threadCallQueue.append((f, args, kwargs))
        except ReactorStopped:
            pass

    @staticmethod
    def _threadCall(f, args, kwargs):
        try:
            f(*args, **kwargs)
        except BaseException:
            from twisted.python import log
            log.err(None, "Unhandled error in a callFromThread call")

    def wakeUp(self):
        pass

    # -- timed calls: Twisted's list, one native timer ----------------------

    def callLater(self, delay, callable, *args, **kw):
        dc = super().callLater(delay, callable, *args, **kw)
        if in_reactor_thread():
            if self._timerAt is None or dc.getTime() < self._timerAt:
                self._reschedule()
        elif self._nativeStarted:   # (Twisted wants the reactor thread)
            self._later(self._reschedule)
        return dc

    def _moveCallLaterSooner(self, delayedCall):
        super()._moveCallLaterSooner(delayedCall)
        if in_reactor_thread():
            if self._timerAt is None or delayedCall.getTime() < self._timerAt:
                self._reschedule()
        elif self._nativeStarted:
            self._later(self._reschedule)

    def _later(self, f):
        try:
            _services.call_from_thread(f)
        except (ReactorStopped, RuntimeError):
            pass

    def _reschedule(self):
        """(reactor thread) The native timer at the earliest deadline."""
        if self._timer is not None:
            try:
                self._timer.cancel()
            except AlreadyCalledError:
                pass
            self._timer = self._timerAt = None
        timeout = self.timeout()
        if timeout is None or not self._nativeStarted:
            return
        try:
            self._timer = _services.call_later(timeout, self._onTimer)
        except (ReactorStopped, RuntimeError):
            return
        self._timerAt = self.seconds() + timeout

    def _onTimer(self):
        self._timer = self._timerAt = None
        try:
            self.runUntilCurrent()
        finally:
            self._reschedule()

    # -- child processes -----------------------------------------------------

    def spawnProcess(self, processProtocol, executable, args=(), env={}, path=None,
                     uid=None, gid=None, usePTY=0, childFDs=None):
        """Twisted's spawnProcess. The child's end is noticed by the loop
        (a pidfd it watches, or a thread waiting in waitid without reaping),
        not by SIGCHLD: the reactor thread may be any thread and takes no
        process-wide signal handling. Then Twisted reaps it (processExited,
        and processEnded once its pipes are closed too). The child starts
        without SIGPIPE blocked, even from the library's reactor thread,
        which blocks it (a child inherits the mask of the thread that spawns
        it, and Twisted spawns with posix_spawn, which no atfork handler
        sees)."""
        unblock = _lifecycle.mode() == "setup" and in_reactor_thread()
        if unblock:
            mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGPIPE})
        try:
            transport = super().spawnProcess(processProtocol, executable, args, env, path,
                                             uid, gid, usePTY, childFDs)
        finally:
            if unblock:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        self._watchChild(transport)
        return transport

    def _watchChild(self, transport):
        pid = transport.pid
        if pid is None or process.reapProcessHandlers.get(pid) is not transport:
            return   # reaped already, as it was registered
        if self._childWatch == "pidfd":
            try:
                fd = os.pidfd_open(pid)
            except OSError as e:
                if e.errno == errno.ESRCH:   # reaped by someone else: nothing to wait for
                    self._onReactorThread(self._childEnded, transport)
                    return
                self._childWatch = "thread"  # ENOSYS, EPERM (seccomp): a thread per child
            else:
                self._onReactorThread(self._watchPidfd, fd, transport)
                return
        threading.Thread(target=self._waitChild, args=(pid, transport), daemon=True,
                         name="libcrochet child %d" % pid).start()

    def _onReactorThread(self, f, *args):
        if in_reactor_thread():
            f(*args)
            return
        try:
            _services.call_from_thread(f, *args)
        except RuntimeError:   # not set up yet: when the reactor starts
            self.threadCallQueue.append((f, args, {}))
        except ReactorStopped:
            if f == self._watchPidfd:
                os.close(args[0])

    def _watchPidfd(self, fd, transport):
        """(reactor thread)"""
        try:
            _services.add_reader(fd, lambda _fd: self._pidfdReadable(fd))
        except (RuntimeError, ValueError):   # the loop has stopped
            os.close(fd)
            return
        self._childFds[fd] = transport

    def _pidfdReadable(self, fd):
        """(reactor thread) The child has ended."""
        transport = self._childFds.pop(fd, None)
        if transport is None:   # (let go of already)
            return
        try:
            _services.remove_reader(fd)
        finally:
            os.close(fd)
        self._childEnded(transport)

    def _waitChild(self, pid, transport):
        """(a thread of its own) Waits until the child has ended, leaving
        it to be reaped on the reactor thread."""
        try:
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        except ChildProcessError:   # reaped already (its pipes closed after it ended)
            return
        except OSError:
            pass
        self.callFromThread(self._childEnded, transport)

    @staticmethod
    def _childEnded(transport):
        """(reactor thread) Reaps the child, unless it was already."""
        pid = transport.pid
        if pid is not None and process.reapProcessHandlers.get(pid) is transport:
            transport.reapProcess()

    def _unwatchChildren(self):
        """(reactor thread, stopping) Closes the pidfds of children still
        running."""
        while self._childFds:
            fd, _transport = self._childFds.popitem()
            try:
                _services.remove_reader(fd)
            except RuntimeError:
                pass
            finally:
                os.close(fd)

    def iterate(self, delay=0):
        raise NotImplementedError("the libcrochet reactor runs on its own loop")

    def doIteration(self, delay):
        raise NotImplementedError("the libcrochet reactor runs on its own loop")

    # -- readers and writers: native fd watchers ----------------------------

    def _readOrWrite(self, selectable, read):
        if selectable.fileno() == -1:
            self._disconnectSelectable(selectable, _NO_FILEDESC, read)
            return
        try:
            why = selectable.doRead() if read else selectable.doWrite()
        except Exception as e:
            why = e
            from twisted.python import log
            log.err(None, "Unhandled error in a reader or writer")
        if why:
            self._disconnectSelectable(selectable, why, read)

    def _watch(self, selectable, read):
        polling = self._continuousPolling
        if read:
            watched, byFd, polled = self._readers, self._fdReaders, polling._readers
        else:
            watched, byFd, polled = self._writers, self._fdWriters, polling._writers
        if selectable in watched or selectable in polled:
            return
        if not in_reactor_thread():
            self.callFromThread(self._watch, selectable, read)
            return
        fd = selectable.fileno()

        def ready(_fd, _selectable=selectable, _read=read):
            callWithLogger(_selectable, self._readOrWrite, _selectable, _read)

        try:
            (_services.add_reader if read else _services.add_writer)(fd, ready)
        except ValueError:   # epoll refuses it (a regular file): poll it continuously
            (polling.addReader if read else polling.addWriter)(selectable)
            return
        watched[selectable] = fd
        byFd[fd] = selectable

    def _unwatch(self, selectable, read):
        watched, byFd = (self._readers, self._fdReaders) if read else (self._writers,
                                                                         self._fdWriters)
        polling = self._continuousPolling
        if read and polling.isReading(selectable):
            polling.removeReader(selectable)
            return
        if not read and polling.isWriting(selectable):
            polling.removeWriter(selectable)
            return
        if selectable not in watched:
            return
        if not in_reactor_thread():
            self.callFromThread(self._unwatch, selectable, read)
            return
        fd = watched.pop(selectable)
        if byFd.get(fd) is selectable:   # not a later selectable with the same fd
            del byFd[fd]
            try:
                (_services.remove_reader if read else _services.remove_writer)(fd)
            except RuntimeError:   # the loop has stopped
                pass

    def addReader(self, reader):
        self._watch(reader, True)

    def addWriter(self, writer):
        self._watch(writer, False)

    def removeReader(self, reader):
        self._unwatch(reader, True)

    def removeWriter(self, writer):
        self._unwatch(writer, False)

    def removeAll(self):
        return (self._removeAll(list(self._readers), list(self._writers))
                + self._continuousPolling.removeAll())

    def getReaders(self):
        return list(self._readers) + self._continuousPolling.getReaders()

    def getWriters(self):
        return list(self._writers) + self._continuousPolling.getWriters()


# ---------------------------------------------------------------------------
# What a function run on the reactor returns
# ---------------------------------------------------------------------------

class CancelledError(_errors.CancelledError, defer.CancelledError):
    """A cancelled Twisted Deferred that a function returned: the
    EventualResult is cancelled (libcrochet.CancelledError), and crochet
    code that catches twisted.internet.defer.CancelledError catches it."""


def _follow(result):
    """A libcrochet Deferred that follows a Twisted Deferred or a coroutine
    (through ensureDeferred) the function returned; anything else as is.
    Cancelling it cancels the Twisted Deferred."""
    if isinstance(result, defer.Deferred):
        twisted_deferred = result
    elif inspect.iscoroutine(result):
        twisted_deferred = defer.ensureDeferred(result)
    else:
        return result
    cancelled = []

    def cancel(_d):
        cancelled.append(True)
        twisted_deferred.cancel()

    d = Deferred(canceller=cancel)

    def succeeded(value):
        d.callback(value)

    def failed(f):
        value = f.value
        tb = f.tb if f.tb is not None else value.__traceback__
        if (cancelled or isinstance(value, defer.CancelledError)) and not isinstance(
                value, CancelledError):
            # What the cancel made of it (Agent: ResponseNeverReceived) is a
            # cancelled result, of both kinds of CancelledError.
            cause = value
            value = CancelledError(*value.args) if isinstance(
                value, defer.CancelledError) else CancelledError(f.getErrorMessage())
            value.__cause__ = cause
        d.errback(Failure(value, f.getTraceback(), None, None, tb))

    twisted_deferred.addCallbacks(succeeded, failed)
    return d


def _log_to_logging():
    """Twisted's log to logging.getLogger("twisted"), as crochet's setup()
    does, unless a log observer was chosen already."""
    from twisted.logger import STDLibLogObserver, globalLogBeginner
    if getattr(globalLogBeginner, "_temporaryObserver", None) is None:
        return   # logging has begun elsewhere
    globalLogBeginner.beginLoggingTo([STDLibLogObserver(name="twisted")],
                                     redirectStandardIO=False)


def install():
    """Installs the libcrochet reactor as twisted.internet.reactor and returns
    it. Call it before anything imports twisted.internet.reactor
    (ReactorAlreadyInstalledError otherwise). The reactor runs once
    libcrochet's does (libcrochet.setup(), before or after install())."""
    from twisted.internet.main import installReactor
    reactor = LibcrochetReactor()
    installReactor(reactor)
    _log_to_logging()
    _calls.adapt_result = _follow
    _exit.before_stop.append(reactor._stopAtExit)
    _lifecycle.when_started(reactor._nativeSetUp)
    return reactor
