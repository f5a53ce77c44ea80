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
  getaddrinfo runs there.

Once installed, a function run by run_in_reactor or wait_for may return a
Twisted Deferred (the EventualResult follows it; cancel() and wait_for's
timeout cancel it) or a coroutine (async def: run with ensureDeferred).
Twisted's log goes to logging.getLogger("twisted"), as with crochet.

Not supported: spawnProcess (it needs SIGCHLD handling), signal handlers
(reactor.run() installs none), iterate().
"""

import inspect
import threading

from twisted.internet import defer, error
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

    def __init__(self):
        self._readers = {}     # selectable -> fd watched natively
        self._writers = {}
        self._fdReaders = {}   # fd -> the selectable its native reader is for
        self._fdWriters = {}
        self._timer = None     # the native timer (libcrochet.DelayedCall)
        self._timerAt = None   # its deadline, in self.seconds()
        self._nativeStarted = False
        self._shutdownDone = threading.Event()
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
        self.startRunning(installSignalHandlers=False)   # the IO thread: this one
        self.runUntilCurrent()   # callFromThread calls made before
        self._reschedule()

    def run(self, installSignalHandlers=True):
        """Runs libcrochet's reactor on this thread until it stops
        (libcrochet.no_setup() and libcrochet.run()). No signal handlers are
        installed. ReactorAlreadyRunning after libcrochet.setup()."""
        if _lifecycle.mode() == "setup":
            raise error.ReactorAlreadyRunning(
                "libcrochet.setup() runs the reactor on its own thread")
        if self._startedBefore:
            raise error.ReactorNotRestartable()
        if _lifecycle.mode() is None:
            _lifecycle.no_setup()
        _lifecycle.run()

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
