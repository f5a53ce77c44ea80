import CLinux
import Glibc
import Synchronization

/// The process-wide lifecycle: crochet's `setup` / `no_setup`, running and
/// stopping the reactor, the exit handler and fork handling.
package enum Engine {
    package enum Mode { case none, setUp, noSetUp }

    private struct State {
        package var mode: Mode = .none
        package var reactor: Reactor?
        package var thread: UInt64 = 0
        package var running = false       // a thread is inside runLoop
        package var ranOnce = false       // the loop ran (or the reactor stopped without running)
    }

    private static let lock = ForkSafeLock()
    nonisolated(unsafe) private static var state = State()
    nonisolated(unsafe) private static var processHandlersRegistered = false
    nonisolated(unsafe) private static var exitHandlerRegistered = false
    nonisolated(unsafe) private static var exited = false

    /// The fork generation: bumped in every child, so results inherited from
    /// the parent can tell they will never complete by themselves.
    package static let epoch = Atomic<UInt32>(1)
    /// The thread that called `exit()` (0 before): stopping never waits for it.
    package static let exitingThread = Atomic<UInt64>(0)
    /// How long exit lets the calls queued before it run (crochet's drain).
    package static let exitDrainNanoseconds: Int64 = 5_000_000_000
    /// How long exit waits for workers still running jobs.
    package static let exitWorkerJoinNanoseconds: Int64 = 1_000_000_000

    /// The current reactor, unretained (reactors are never freed), for the
    /// lock-free submit path. 0 before setup and in a fresh fork child.
    private static let currentReactor = Atomic<UInt>(0)

    /// The reactor that submissions go to, unretained (reactors live
    /// forever): using it costs no reference counting. Nil before setup.
    @inline(__always)
    package static var unmanagedReactor: Unmanaged<Reactor>? {
        let raw = currentReactor.load(ordering: .acquiring)
        guard raw != 0 else { return nil }
        return Unmanaged<Reactor>.fromOpaque(UnsafeRawPointer(bitPattern: raw)!)
    }

    /// The reactor that submissions go to, or nil before setup.
    @inline(__always)
    package static var reactor: Reactor? {
        let raw = currentReactor.load(ordering: .acquiring)
        guard raw != 0 else { return nil }
        return Unmanaged<Reactor>.fromOpaque(UnsafeRawPointer(bitPattern: raw)!).takeUnretainedValue()
    }

    private static func install(_ reactor: Reactor) {
        _ = Unmanaged.passRetained(reactor)   // lives for the rest of the process
        currentReactor.store(UInt(bitPattern: Unmanaged.passUnretained(reactor).toOpaque()), ordering: .releasing)
    }

    private static func registerProcessHandlers() {
        if processHandlersRegistered { return }
        processHandlersRegistered = true
        _ = cl_atfork({ Engine.prepareFork() }, { Engine.afterForkInParent() }, { Engine.afterForkInChild() })
    }

    // MARK: setup / no_setup / run / stop

    /// crochet's `setup()`: starts the reactor on a library-owned thread and
    /// registers the exit handler. Idempotent; no effect after `noSetup()`.
    package static func setup() -> Status {
        let (status, started) = startOwnThread()
        if started { warnAboutOtherCopies() }
        return status
    }

    /// A second copy of the library in one process has its own reactor, its
    /// own stash and its own exit handler: say so, naming both.
    private static func warnAboutOtherCopies() {
        var me = [CChar](repeating: 0, count: 4096)
        var other = [CChar](repeating: 0, count: 4096)
        guard cl_find_other_copy(&me, me.count, &other, other.count) != 0 else { return }
        let mine = String(decoding: me.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let theirs = String(decoding: other.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        Log.emit(.warning, "two copies of libcrochet are loaded in this process: \(mine) (setting up now) and "
                 + "\(theirs); each runs its own reactor, stash and exit handler. Load one copy "
                 + "(the Python package uses a copy already loaded before its bundled one)")
    }

    /// `setup()`'s work: the status, and whether this call started the reactor.
    private static func startOwnThread() -> (Status, Bool) {
        lock.withLock { () -> (Status, Bool) in
            switch state.mode {
            case .setUp, .noSetUp: return (.ok, false)
            case .none: break
            }
            registerProcessHandlers()
            guard let r = Reactor(epoch: epoch.load(ordering: .relaxed)) else { return (.outOfMemory, false) }
            WarmUp.run(on: r)
            var tid: UInt64 = 0
            let rc = cl_thread_start(&tid, { raw in
                let reactor = Unmanaged<Reactor>.fromOpaque(raw!).takeRetainedValue()
                reactor.runLoop()
                return nil
            }, Unmanaged.passRetained(r).toOpaque())
            if rc != 0 {
                Unmanaged.passUnretained(r).release()
                return (.outOfMemory, false)
            }
            state.mode = .setUp
            state.reactor = r
            state.thread = tid
            state.running = true
            state.ranOnce = true
            install(r)
            if !exitHandlerRegistered {
                exitHandlerRegistered = true
                _ = cl_atexit { Engine.atExit() }
            }
            return (.ok, true)
        }
    }

    /// crochet's `no_setup()`: initializes with no side effects; the
    /// application runs the reactor itself with `run()`.
    /// `.wrongState` after `setup()` or a second `noSetup()`.
    package static func noSetup() -> Status {
        lock.withLock {
            guard state.mode == .none else { return .wrongState }
            registerProcessHandlers()
            guard let r = Reactor(epoch: epoch.load(ordering: .relaxed)) else { return .outOfMemory }
            WarmUp.run(on: r)
            state.mode = .noSetUp
            state.reactor = r
            install(r)
            return .ok
        }
    }

    /// After `noSetup()`, runs the reactor on the calling thread until
    /// `stop()`. `.wrongState` otherwise, or if it runs or ran already.
    package static func run() -> Status {
        let r: Reactor? = lock.withLock {
            guard state.mode == .noSetUp, !state.running, !state.ranOnce, let r = state.reactor else { return nil }
            state.running = true
            state.ranOnce = true
            return r
        }
        guard let r else { return .wrongState }
        r.runLoop()
        lock.withLock { state.running = false }
        return .ok
    }

    /// Stops the reactor (any thread); returns at once. Every pending result
    /// completes with `ESTOPPED`. `.wrongState` before setup. Idempotent.
    package static func stop() -> Status {
        enum Action { case none, request(Reactor), inline(Reactor) }
        let action: Action = lock.withLock {
            guard let r = state.reactor else { return .none }
            if !state.ranOnce {
                // Never run (no_setup without run): stop here, on this thread.
                state.ranOnce = true
                return .inline(r)
            }
            return .request(r)
        }
        switch action {
        case .none:
            return .wrongState
        case .request(let r):
            r.requestStop()
        case .inline(let r):
            r.requestStop()
            let previous = cl_tls_reactor()
            cl_tls_set_reactor(Unmanaged.passUnretained(r).toOpaque())
            r.shutDown(pending: r.takePending())
            cl_tls_set_reactor(previous)
        }
        return .ok
    }

    /// Whether the calling thread is running a reactor's loop.
    package static var inReactorThread: Bool { cl_tls_reactor() != nil }

    // MARK: Exit and fork

    /// The exit handler. When exit begins on another thread, the calls
    /// queued before it run first (for at most `exitDrainNanoseconds`), then
    /// the reactor stops; on the reactor thread (exit inside a callback)
    /// nothing more runs and everything pending completes as stopped here.
    /// Then failures still stashed are logged and every log record is
    /// delivered. No wait is unbounded.
    package static func atExit() {
        let first: Bool = lock.withLock {
            defer { exited = true }
            return !exited
        }
        guard first else { return }
        exitingThread.store(cl_thread_self(), ordering: .releasing)
        let (r, thread, mode, ranOnce) = lock.withLock { (state.reactor, state.thread, state.mode, state.ranOnce) }
        if let r, r.epoch == epoch.load(ordering: .relaxed) {
            if r.isCurrentThread {
                r.stopInsideCallback(workerJoinTimeout: exitWorkerJoinNanoseconds)
            } else if mode == .noSetUp && !ranOnce {
                _ = stop()   // never ran: stops here, on this thread
            } else {
                let deadline = cl_now_ns() + exitDrainNanoseconds
                _ = r.requestStopAfterQueued()
                if !waitFinished(r, thread: mode == .setUp ? thread : nil, deadline: deadline) {
                    // The drain ran out of time: stop now, and wait a little more.
                    r.requestStop()
                    _ = waitFinished(r, thread: mode == .setUp ? thread : nil,
                                     deadline: cl_now_ns() + exitWorkerJoinNanoseconds)
                }
            }
        }
        ResultStore.logStashedFailures()
        Log.flushAtExit()
    }

    /// Waits until the reactor finished stopping (joining its thread when
    /// the library owns it), or `deadline` passed. Returns whether it did.
    private static func waitFinished(_ r: Reactor, thread: UInt64?, deadline: Int64) -> Bool {
        if let thread {
            return cl_thread_join(thread, max(0, deadline - cl_now_ns())) == 0
        }
        while !r.finished.load(ordering: .acquiring) && cl_now_ns() < deadline { usleep(1_000) }
        return r.finished.load(ordering: .acquiring)
    }

    private static func prepareFork() {
        lock.lock()
        CallInterface.lock.lock()
        ResultStore.lock.lock()
        AsyncWaiters.lock.lock()
        Stats.lockForFork()
        SymbolNames.lockForFork()
        Failure.backtraceLock.lock()
        Log.lockForFork()
    }

    private static func afterForkInParent() {
        Log.unlockAfterFork()
        Failure.backtraceLock.unlock()
        SymbolNames.unlockAfterFork()
        Stats.unlockAfterFork()
        AsyncWaiters.lock.unlock()
        ResultStore.lock.unlock()
        CallInterface.lock.unlock()
        lock.unlock()
    }

    private static func afterForkInChild() {
        Log.resetAfterFork()
        Failure.backtraceLock.reinitialize()
        SymbolNames.reinitializeAfterFork()
        Stats.reinitializeAfterFork()
        AsyncWaiters.lock.reinitialize()
        ResultStore.lock.reinitialize()
        CallInterface.lock.reinitialize()
        lock.reinitialize()
        // The reactor thread does not exist here: forget it. Inherited results
        // complete as stopped when looked at; setup() starts a fresh reactor.
        epoch.add(1, ordering: .relaxed)
        // If this thread is the reactor's (a callback forked), its loop must
        // not go on here when the callback returns.
        state.reactor?.markForkedAway()
        currentReactor.store(0, ordering: .releasing)
        state = State()
        cl_tls_set_reactor(nil)
    }
}
