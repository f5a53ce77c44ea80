import CLinux
import Glibc
import Synchronization

/// The event loop. One thread runs it (`runLoop`); every other thread talks
/// to it through the lock-free `Inbox`. Each turn drains the inbox in one
/// batch, runs due timers and dispatches fd events; when idle it spins
/// briefly (a caller doing round trips is usually back within microseconds),
/// then sleeps in epoll until a timer is due, an fd is ready or a producer
/// wakes it through the eventfd, which it does only if the reactor sleeps.
public final class Reactor: @unchecked Sendable {
    package let inbox = Inbox()
    /// Nonzero once `requestStop` ran. On a cache line of its own (not the
    /// object's header, whose reference count other threads touch), so the
    /// per-item check in a batch stays a cache hit.
    private let stopRequested: UnsafeMutablePointer<UInt32> = {
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
    private var batch = Inbox.Batch()
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

    /// How long an idle loop spins before it sleeps.
    package static let idleSpinNanoseconds: Int64 = 50_000
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
            // Only the push that made the inbox non-empty may need to wake it.
            if sleeping.load(ordering: .sequentiallyConsistent),
               sleeping.exchange(false, ordering: .sequentiallyConsistent) {
                cl_eventfd_signal(wakeFD)
            }
            return true
        case .pushed:
            return true
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
        cl_atomic_store_u32(stopRequested, 1)
        if inbox.close() { cl_eventfd_signal(wakeFD) }
    }

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
            if timers.count > 0 && runDueTimers() { worked = true }
            if worked {
                // Under constant load, still look at fds every turn.
                if watchers.count > 0 { poll(timeout: 0) }
                continue
            }
            if spinForWork() { continue }
            sleeping.store(true, ordering: .sequentiallyConsistent)
            if inbox.hasWork {
                sleeping.store(false, ordering: .relaxed)
                continue
            }
            var timeout: Int64 = -1
            if let deadline = timers.nextDeadline { timeout = max(0, deadline - cl_now_ns()) }
            poll(timeout: timeout)
            sleeping.store(false, ordering: .relaxed)
        }
    }

    /// Takes what waits in the inbox into the batch (to stop without the loop).
    package func takePending() -> Int { inbox.takeAll(into: &batch).count }

    /// Runs the batch's items in arrival order (the batch is newest first),
    /// prefetching a few items ahead: a big batch no longer fits in cache.
    private func runBatch(_ count: Int) {
        let items = batch.items
        var i = count - 1
        while i >= 0 {
            if i >= 4 { cl_prefetch(items[i - 4]) }
            let item = Unmanaged<InboxItem>.fromOpaque(items[i]).takeRetainedValue()
            if cl_atomic_load_u32(stopRequested) != 0 {
                item.reject(on: self)
            } else {
                item.run(on: self)
            }
            i -= 1
        }
    }

    private func runDueTimers() -> Bool {
        let now = cl_now_ns()
        var ran = false
        // A timer still pending at stop never runs, even one due in this turn.
        while cl_atomic_load_u32(stopRequested) == 0, let call = timers.popDue(now: now) {
            call.fire()
            ran = true
        }
        return ran
    }

    /// Spins until work arrives or the idle budget runs out; returns whether
    /// work arrived. Looks at fds too (a non-blocking epoll_wait) now and
    /// then, and yields often, so that a caller sharing this core gets it.
    private func spinForWork() -> Bool {
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
                sched_yield()
                if inbox.hasWork { return true }
                let now = cl_now_ns()
                if let deadline = timers.nextDeadline, deadline <= now { return true }
                if watchers.count > 0 && i & 31 == 0 && poll(timeout: 0) { return true }
                if now - start > Reactor.idleSpinNanoseconds { return false }
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
            let data = eventData[i]
            let flags = eventFlags[i]
            let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: data))
            let registration = UInt32(truncatingIfNeeded: data >> 32)
            if registration == 0 {
                cl_eventfd_drain(wakeFD)
                continue
            }
            if flags & readMask != 0, let reader = watchers.reader(fd: fd, registration: registration) {
                reader(fd)
                dispatched = true
            }
            if flags & writeMask != 0, let writer = watchers.writer(fd: fd, registration: registration) {
                writer(fd)
                dispatched = true
            }
        }
        return dispatched
    }

    // MARK: Worker pool (reactor thread)

    /// Runs `job` on the worker pool; false once stopping.
    package func runOnWorker(_ job: ThreadJob) -> Bool {
        workersStarted = true
        return workers.submit(job)
    }

    // MARK: Stopping (reactor thread)

    /// Runs the shutdown triggers, completes every pending result with
    /// `ESTOPPED`, drops timers and watchers, and joins the workers.
    package func shutDown(pending count: Int) {
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
        for result in registry.removeAll() {
            result.awaitedDeferred = nil
            result.fail(Failure.stopped)
        }
        timers.removeAll()
        watchers.removeAll()
        if workersStarted { workers.stop() }
        finished.store(true, ordering: .releasing)
    }
}
