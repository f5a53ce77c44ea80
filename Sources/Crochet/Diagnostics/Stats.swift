import CLinux
import Synchronization

/// The engine's counters for `crochet_get_stats`: cheap to keep (each is
/// written by one thread, or rarely), cheap to read every second.
package enum Stats {
    /// Per-thread counters of submitted calls and of completed results: each
    /// thread increments its own (no cache line shared between threads, no
    /// atomic read-modify-write); a snapshot sums them. Slot 0 of a thread's
    /// pair counts submits, slot 1 completions.
    private static let slotsLock = ForkSafeLock()
    nonisolated(unsafe) private static var slots: [UnsafeMutablePointer<UInt64>] = []

    /// Counts one submitted call on the calling thread.
    @inline(__always) package static func countSubmit() { bump(0) }

    /// Counts one completed result on the calling thread.
    @inline(__always) package static func countCompleted() { bump(1) }

    @inline(__always) private static func bump(_ index: Int) {
        let slot = cl_tls_submit_slot() ?? makeSlots()
        cl_atomic_store_u64(slot + index, slot[index] &+ 1)
    }

    private static func makeSlots() -> UnsafeMutablePointer<UInt64> {
        // A cache line of its own: two threads' pairs in one line (16-byte
        // allocations sit side by side) would bounce it between the caller's
        // core and the reactor's on every call.
        let pair = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
            .bindMemory(to: UInt64.self, capacity: 8)
        pair.initialize(repeating: 0, count: 8)   // kept for the process: a thread's counts outlive it
        slotsLock.withLock { slots.append(pair) }
        cl_tls_set_submit_slot(pair)
        return pair
    }

    /// Takes back completions this thread counted that were not the user's
    /// (the warm-up's own results).
    package static func forgetCompletions(_ n: UInt64) {
        let slot = cl_tls_submit_slot() ?? makeSlots()
        cl_atomic_store_u64(slot + 1, slot[1] &- n)
    }

    /// Calls submitted so far, all threads.
    package static var submitted: UInt64 { total(0) }

    /// Results completed so far, all threads.
    package static var completed: UInt64 { total(1) }

    private static func total(_ index: Int) -> UInt64 {
        slotsLock.withLock { slots.reduce(0) { $0 &+ cl_atomic_load_u64($1 + index) } }
    }

    package static func lockForFork() { slotsLock.lock() }
    package static func unlockAfterFork() { slotsLock.unlock() }
    package static func reinitializeAfterFork() { slotsLock.reinitialize() }

    /// One snapshot, the fields of `crochet_stats`.
    package struct Snapshot: Sendable {
        package var callsSubmitted: UInt64 = 0
        package var callsCompleted: UInt64 = 0
        package var queued: UInt64 = 0
        package var waiting: UInt64 = 0
        package var timers: UInt64 = 0
        package var readers: UInt64 = 0
        package var writers: UInt64 = 0
        package var workers: UInt64 = 0
        package var workersBusy: UInt64 = 0
        package var workerQueue: UInt64 = 0
        package var stashed: UInt64 = 0
        package var maxQueueDelaySeconds: Double = 0
        package var maxCallbackSeconds: Double = 0
    }

    /// The counters now; the two maxima cover the time since the previous
    /// snapshot (and restart).
    package static func snapshot(of reactor: Reactor) -> Snapshot {
        var s = Snapshot()
        s.callsSubmitted = submitted
        s.callsCompleted = completed
        s.queued = reactor.queuedCalls(submitted: s.callsSubmitted)
        let loop = reactor.loopCounts
        s.waiting = loop.waiting
        s.timers = loop.timers
        s.readers = loop.readers
        s.writers = loop.writers
        let pool = reactor.workerCounts
        s.workers = pool.workers
        s.workersBusy = pool.busy
        s.workerQueue = pool.queued
        s.stashed = UInt64(ResultStore.count)
        let (queueDelay, callback) = reactor.takeMaxima()
        s.maxQueueDelaySeconds = Double(queueDelay) / 1000
        s.maxCallbackSeconds = Double(callback) / 1000
        return s
    }
}
