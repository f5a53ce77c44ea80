import CLinux
import Synchronization

/// The loop's side of diagnostics: per-callback bookkeeping (one coarse
/// clock read per callback: the next callback's start is this one's end),
/// maxima since the last stats snapshot, and published sizes.
extension Reactor {
    /// Reactor thread: records a call that left the queue, and how long it
    /// had been queued (nil for one rejected at stop).
    @inline(__always) package func noteCallDequeued(queuedMs: UInt32?) {
        loopStatus.countDequeued()
        if let queuedMs, queuedMs > maxQueueDelayMs.load(ordering: .relaxed) {
            maxQueueDelayMs.store(queuedMs, ordering: .relaxed)
        }
    }

    /// Reactor thread: runs one callback with the bookkeeping around it.
    /// `now` is its start; returns its end (the next callback's start).
    @inline(__always) package func timedCallback(_ symbol: CallbackSymbol, now: UInt32, _ body: () -> Void) -> UInt32 {
        loopStatus.begin(symbol, startMs: now)
        body()
        loopStatus.end()
        let end = cl_coarse_ms()
        let took = end &- now
        if took > maxCallbackMs.load(ordering: .relaxed) { maxCallbackMs.store(took, ordering: .relaxed) }
        return end
    }

    /// Reactor thread: when the current callback started (coarse ms).
    @inline(__always) package var turnStartMs: UInt32 { loopStatus.startMs }

    /// Reactor thread: publishes the sizes of what the loop holds.
    @inline(__always) package func publishCounts() {
        loopStatus.publish(waiting: registry.count, timers: timers.count,
                           readers: watchers.readerCount, writers: watchers.writerCount)
    }

    /// Calls submitted and not yet started, given the submitted count.
    package func queuedCalls(submitted: UInt64) -> UInt64 {
        let dequeued = loopStatus.dequeued
        return submitted > dequeued ? submitted - dequeued : 0
    }

    package var loopCounts: (waiting: UInt64, timers: UInt64, readers: UInt64, writers: UInt64) { loopStatus.counts }

    /// The worker pool's size, busy workers and queued jobs (zero if it never started).
    package var workerCounts: (workers: UInt64, busy: UInt64, queued: UInt64) {
        workersStartedFlag.load(ordering: .acquiring) ? workers.counts : (0, 0, 0)
    }

    /// The maxima since the last call, in ms; restarts them.
    package func takeMaxima() -> (queueDelay: UInt32, callback: UInt32) {
        (maxQueueDelayMs.exchange(0, ordering: .relaxed), maxCallbackMs.exchange(0, ordering: .relaxed))
    }
}
