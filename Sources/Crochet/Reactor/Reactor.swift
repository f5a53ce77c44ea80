import CLinux
import Glibc
import Synchronization

/// The event loop. One thread runs it (`runLoop`); every other thread talks
/// to it through the lock-free `Inbox`. Each turn drains the inbox in one
/// batch, runs due timers and dispatches fd events; when idle it spins
/// briefly (a caller doing round trips is usually back within microseconds),
/// then sleeps in epoll until a timer is due, an fd is ready or a producer
/// wakes it through the eventfd, which it does only if the reactor sleeps.
package final class Reactor: @unchecked Sendable {
    package let inbox = Inbox()
    /// Why the loop must leave its normal course: `Halt.stop` once
    /// `requestStop` ran, `Halt.forked` in a fork child of the reactor thread.
    /// One word, so the per-item check in a batch is one load; on a cache
    /// line of its own (not the object's header, whose reference count other
    /// threads touch), so that check stays a cache hit.
    private enum Halt {
        static let stop: UInt32 = 1
        static let forked: UInt32 = 2
    }
    private let halt: UnsafeMutablePointer<UInt32> = {
        let p = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64).bindMemory(to: UInt32.self, capacity: 16)
        p.initialize(repeating: 0, count: 16)
        return p
    }()
    /// True while the loop sleeps (or is about to) in epoll_wait.
    private let sleeping = Atomic<Bool>(false)
    private let epollFD: Int32
    private let wakeFD: Int32
    /// The fork generation this reactor belongs to.
    package let epoch: UInt32

    // Reactor-thread state.
    @exclusivity(unchecked) package var timers = TimerHeap()
    @exclusivity(unchecked) package var registry = Registry()
    @exclusivity(unchecked) package var watchers: Watchers
    private let raiseSlot = RaiseSlot()
    /// `raiseSlot` without reference counting, for the per-call hot path.
    package let raiseSlotReference: Unmanaged<RaiseSlot>
    package private(set) lazy var workers = WorkerPool(reactor: self)
    private var workersStarted = false
    /// `workersStarted`, for other threads (stats).
    package let workersStartedFlag = Atomic<Bool>(false)
    /// What the loop publishes for the watchdog and stats.
    package let loopStatus = LoopStatus()
    /// The longest queue delay and callback since the last stats snapshot.
    package let maxQueueDelayMs = Atomic<UInt32>(0)
    package let maxCallbackMs = Atomic<UInt32>(0)
    private var batch = Inbox.Batch()
    /// How long the idle loop spins before it sleeps (adapts).
    private var idleSpin = IdleSpin()
    /// While a batch runs, the index of the running item: the items below it
    /// have not run yet (an `exit()` inside the running one must reject them).
    private var batchCursor = -1
    private let eventCapacity = 256
    private let eventFlags: UnsafeMutablePointer<UInt32>
    private let eventData: UnsafeMutablePointer<UInt64>

    private struct Triggers {
        package var stopping = false
        package var list: [() -> Void] = []
    }
    private let triggersLock = ForkSafeLock()
    nonisolated(unsafe) private var triggers = Triggers()

    /// Set once the loop has finished stopping (every result completed).
    package let finished = Atomic<Bool>(false)

    /// The most PAUSEs between two looks at the inbox while spinning.
    package static let maximumSpinPauses = 8

    package init?(epoch: UInt32) {
        let ep = cl_epoll_create()
        if ep < 0 { return nil }
        let wake = cl_eventfd_create()
        if wake < 0 {
            close(ep)
            return nil
        }
        if cl_epoll_ctl(ep, EPOLL_CTL_ADD, wake, UInt32(EPOLLIN.rawValue), Watchers.packed(fd: wake, registration: 0)) != 0 {
            close(ep)
            close(wake)
            return nil
        }
        epollFD = ep
        wakeFD = wake
        self.epoch = epoch
        watchers = Watchers(epollFD: ep)
        raiseSlotReference = Unmanaged.passUnretained(raiseSlot)
        eventFlags = .allocate(capacity: eventCapacity)
        eventData = .allocate(capacity: eventCapacity)
    }

    // MARK: Thread identity

    /// The reactor whose loop runs on this thread, if any.
    package static var current: Reactor? {
        guard let raw = cl_tls_reactor() else { return nil }
        return Unmanaged<Reactor>.fromOpaque(raw).takeUnretainedValue()
    }

    @inline(__always) package var isCurrentThread: Bool {
        cl_tls_reactor() == Unmanaged.passUnretained(self).toOpaque()
    }

    // MARK: Any thread

    /// Hands an item to the reactor thread; false once the reactor stopped.
    @inline(__always)
    package func enqueue(_ item: InboxItem) -> Bool {
        switch inbox.push(item) {
        case .closed:
            return false
        case .pushedOntoEmpty:
            wakeIfSleeping()
            return true
        case .pushed:
            // Not only the push onto an empty inbox looks: if that producer
            // was preempted between its push and its wake-up, the next one
            // wakes the reactor instead (a load of a line the reactor rarely
            // writes: cheap).
            wakeIfSleeping()
            return true
        }
    }

    /// Dekker pair with the loop going to sleep: the producer pushed (seq_cst
    /// RMW) and now reads `sleeping` (seq_cst); the loop stores `sleeping`
    /// (seq_cst) and then reads the inbox (seq_cst). Sequentially consistent
    /// on both sides, so on weakly ordered CPUs (AArch64) too, at least one
    /// side sees the other: no wake-up is lost.
    @inline(__always)
    private func wakeIfSleeping() {
        if sleeping.load(ordering: .sequentiallyConsistent),
           sleeping.exchange(false, ordering: .sequentiallyConsistent) {
            cl_eventfd_signal(wakeFD)
            // The reply is a wake-up away: this thread's next wait need not spin.
            cl_tls_set_woke_reactor(1)
        }
    }

    /// Schedules a timer: straight into the heap on the reactor thread,
    /// through the inbox elsewhere. False once the reactor stopped.
    package func schedule(_ call: DelayedCall) -> Bool {
        if isCurrentThread {
            timers.insert(call)
            return true
        }
        return enqueue(call)
    }

    /// Closes the inbox and wakes the loop, which then stops: calls not yet
    /// run, even those already taken into the loop's batch, complete as
    /// stopped. Idempotent.
    package func requestStop() {
        _ = cl_atomic_fetch_or_u32(halt, Halt.stop)
        if inbox.close() { cl_eventfd_signal(wakeFD) }
    }

    /// In a fork child made by the reactor thread (inside a callback): the
    /// loop must not go on there. It abandons everything it holds (the
    /// parent owns all of it) and touches neither the epoll fd nor the
    /// eventfd, which the parent's reactor shares.
    package func markForkedAway() { _ = cl_atomic_fetch_or_u32(halt, Halt.forked) }

    private var forkedAway: Bool { cl_atomic_load_u32(halt) & Halt.forked != 0 }

    /// Asks the loop to run what is queued now and then stop (the exit
    /// drain): a marker goes through the inbox behind those calls. False if
    /// the reactor is already stopping.
    package func requestStopAfterQueued() -> Bool { enqueue(StopMarker()) }

    package var isStopping: Bool { inbox.isClosed }

    /// Registers a callback for the reactor thread to run when stopping, in
    /// reverse order of registration. `.stopped` once stopping has begun.
    package func addShutdownTrigger(_ body: @escaping () -> Void) -> Status {
        triggersLock.withLock {
            if triggers.stopping || inbox.isClosed { return .stopped }
            triggers.list.append(body)
            return .ok
        }
    }

    // MARK: The loop

    /// Runs the loop on the calling thread until stopped, then completes
    /// everything pending with `ESTOPPED`.
    package func runLoop() {
        Watchdog.start(watching: self)
        cl_tls_set_reactor(Unmanaged.passUnretained(self).toOpaque())
        defer { cl_tls_set_reactor(nil) }
        while true {
            let (count, closed) = inbox.takeAll(into: &batch)
            if closed {
                shutDown(pending: count)
                return
            }
            var worked = count > 0
            runBatch(count)
            if forkedAway { return }
            if timers.count > 0 && runDueTimers() { worked = true }
            if forkedAway { return }
            if worked { publishCounts() }   // once a turn: stats see the turn's effects
            if worked {
                // Under constant load, still look at fds every turn.
                if watchers.count > 0 { poll(timeout: 0) }
                if forkedAway { return }
                continue
            }
            if idleSpin.shouldSpin && !Contention.isRecent {
                let caught = spinForWork(window: idleSpin.window)
                idleSpin.spun(caughtWork: caught)
                if caught { continue }
            }
            if forkedAway { return }
            sleeping.store(true, ordering: .sequentiallyConsistent)
            if inbox.hasPendingWork {   // seq_cst: the other half of `wakeIfSleeping`
                sleeping.store(false, ordering: .relaxed)
                continue
            }
            var timeout: Int64 = -1
            let now = cl_now_ns()
            if let deadline = timers.nextDeadline { timeout = max(0, deadline - now) }
            idleSpin.goingToSleep(at: now)
            poll(timeout: timeout)
            sleeping.store(false, ordering: .relaxed)
            idleSpin.wokeUp(at: cl_now_ns())
            if forkedAway { return }
        }
    }

    /// Takes what waits in the inbox into the batch (to stop without the loop).
    package func takePending() -> Int { inbox.takeAll(into: &batch).count }

    /// Runs the batch's items in arrival order (the batch is newest first),
    /// prefetching a few items ahead: a big batch no longer fits in cache.
    private func runBatch(_ count: Int) {
        let items = batch.items
        var i = count - 1
        var now = count > 0 ? cl_coarse_ms() : 0
        while i >= 0 {
            if i >= 4 { cl_prefetch(items[i - 4]) }
            let halted = cl_atomic_load_u32(halt)
            if halted & Halt.forked != 0 { return }   // the parent's items: leave them be
            batchCursor = i
            let item = Unmanaged<InboxItem>.fromOpaque(items[i]).takeRetainedValue()
            if halted != 0 {
                item.reject(on: self)
            } else {
                now = timedCallback(item.diagnosticSymbol, now: now) { item.run(on: self) }
            }
            i -= 1
        }
        batchCursor = -1
    }

    /// Rejects the items of the current batch that have not run (below the
    /// running one); for an exit inside a callback, which never returns to
    /// the batch.
    private func rejectRestOfBatch() {
        guard batchCursor > 0 else { return }
        let items = batch.items
        for i in stride(from: batchCursor - 1, through: 0, by: -1) {
            Unmanaged<InboxItem>.fromOpaque(items[i]).takeRetainedValue().reject(on: self)
        }
        batchCursor = -1
    }

    private func runDueTimers() -> Bool {
        let now = cl_now_ns()
        var ran = false
        // A timer still pending at stop never runs, even one due in this turn.
        var started = cl_coarse_ms()
        while cl_atomic_load_u32(halt) == 0, let call = timers.popDue(now: now) {
            started = timedCallback(CallbackSymbol(kind: .timer, bits: 0), now: started) { call.fire() }
            ran = true
        }
        return ran
    }

    /// Spins until work arrives or the idle budget runs out; returns whether
    /// work arrived. Looks at fds too (a non-blocking epoll_wait) now and
    /// then, and yields often, so that a caller sharing this core gets it.
    private func spinForWork(window: Int64) -> Bool {
        let start = cl_now_ns()
        var i = 0
        var pauses = 1
        while true {
            if inbox.hasWork { return true }
            // Back off between looks: every look pulls the inbox's cache line
            // away from producers that are pushing onto it.
            for _ in 0..<pauses { cl_cpu_relax() }
            if pauses < Reactor.maximumSpinPauses { pauses <<= 1 }
            i += 1
            if i & 7 == 0 {
                // A yield that took a time slice: CPU-bound threads want the
                // core, and spinning fights them: stay out for a while. A
                // shorter slow one let our own callers run: their calls may
                // be here; if not, sleep.
                let away = Contention.timedYield()
                if away > Contention.timeSliceNanoseconds { Contention.markContended() } else { Contention.markQuiet() }
                if inbox.hasWork { return true }
                if away > Contention.slowYieldNanoseconds { return false }
                let now = cl_now_ns()
                if let deadline = timers.nextDeadline, deadline <= now { return true }
                if watchers.count > 0 && i & 31 == 0 && poll(timeout: 0) { return true }
                if now - start > window { return false }
            }
        }
    }

    /// Waits up to `timeout` ns (-1: no limit) for fd events and dispatches
    /// them; returns whether any callback ran.
    @discardableResult
    private func poll(timeout: Int64) -> Bool {
        let n = cl_epoll_wait(epollFD, eventFlags, eventData, Int32(eventCapacity), timeout)
        guard n > 0 else { return false }
        var dispatched = false
        let readMask = UInt32(EPOLLIN.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue | EPOLLRDHUP.rawValue)
        let writeMask = UInt32(EPOLLOUT.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue)
        for i in 0..<Int(n) {
            if forkedAway { return dispatched }
            let data = eventData[i]
            let flags = eventFlags[i]
            let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: data))
            let registration = UInt32(truncatingIfNeeded: data >> 32)
            if registration == 0 {
                cl_eventfd_drain(wakeFD)
                continue
            }
            if flags & readMask != 0, let reader = watchers.reader(fd: fd, registration: registration) {
                _ = timedCallback(CallbackSymbol(kind: .reader, bits: UInt64(fd)), now: cl_coarse_ms()) { reader(fd) }
                dispatched = true
            }
            if flags & writeMask != 0, let writer = watchers.writer(fd: fd, registration: registration) {
                _ = timedCallback(CallbackSymbol(kind: .writer, bits: UInt64(fd)), now: cl_coarse_ms()) { writer(fd) }
                dispatched = true
            }
        }
        return dispatched
    }

    // MARK: Worker pool (reactor thread)

    /// Runs `job` on the worker pool; false once stopping.
    package func runOnWorker(_ job: ThreadJob) -> Bool {
        if !workersStarted {
            workersStarted = true
            _ = workers   // made here, on the reactor thread, before others may look
            workersStartedFlag.store(true, ordering: .releasing)
        }
        return workers.submit(job)
    }

    // MARK: Stopping (reactor thread)

    /// Stops from inside a callback that will never return to the loop
    /// (`exit()` called in it): what the current batch still holds, what
    /// is queued, timers and results following deferreds all complete as
    /// stopped, now, on this thread.
    package func stopInsideCallback(workerJoinTimeout: Int64) {
        requestStop()
        if finished.load(ordering: .acquiring) { return }
        rejectRestOfBatch()
        shutDown(pending: takePending(), workerJoinTimeout: workerJoinTimeout)
        // The loop will never resume: this thread no longer runs a reactor
        // (later exit handlers on it may wait like any other thread).
        cl_tls_set_reactor(nil)
    }

    /// Runs the shutdown triggers, completes every pending result with
    /// `ESTOPPED`, drops timers and watchers, and joins the workers (within
    /// `workerJoinTimeout` ns in all, < 0: no bound).
    package func shutDown(pending count: Int, workerJoinTimeout: Int64 = -1) {
        let list: [() -> Void] = triggersLock.withLock {
            triggers.stopping = true
            let list = triggers.list
            triggers.list = []
            return list
        }
        for trigger in list.reversed() { trigger() }
        // Whatever arrived before the inbox closed is rejected: calls
        // complete as stopped. (Pushes fail once it is closed.)
        var pending = count
        while pending > 0 {
            let items = batch.items
            for i in stride(from: pending - 1, through: 0, by: -1) {
                Unmanaged<InboxItem>.fromOpaque(items[i]).takeRetainedValue().reject(on: self)
            }
            pending = inbox.takeAll(into: &batch).count
        }
        // Jobs not started never start: dropped before any waiter is woken
        // (a woken waiter could otherwise free a worker that takes one).
        if workersStarted { workers.dropQueued() }
        for result in registry.removeAll() {
            result.awaitedDeferred = nil
            result.fail(Failure.stopped)
        }
        timers.removeAll()
        watchers.removeAll()
        if workersStarted { workers.stop(joinTimeout: workerJoinTimeout) }
        publishCounts()
        finished.store(true, ordering: .releasing)
    }
}

/// Sent through the inbox behind the calls queued at exit: when the reactor
/// reaches it, they have run, and it stops.
package final class StopMarker: InboxItem, @unchecked Sendable {
    package override func run(on reactor: Reactor) { reactor.requestStop() }
}
