import CLinux
import Synchronization

/// A call scheduled with `callLater`. Scheduled through the inbox (the
/// object is its own inbox item), then kept in the reactor's timer heap.
/// Its body (and what it captures, such as a C context) is dropped on the
/// reactor thread as soon as it can never run: after it ran, when it is
/// cancelled, or at stop.
package final class DelayedCall: InboxItem, @unchecked Sendable {
    package enum Phase: UInt8 { case pending = 0, ran = 1, cancelled = 2 }

    package let deadline: Int64
    /// Reactor thread only (after init).
    private var body: (() -> Void)?
    private let phase = Atomic<UInt8>(Phase.pending.rawValue)
    /// Reactor thread only: FIFO order among equal deadlines, heap position.
    package var sequence: UInt64 = 0
    package var heapIndex = -1
    package let reactor: Reactor

    package init(deadline: Int64, reactor: Reactor, body: @escaping () -> Void) {
        self.deadline = deadline
        self.body = body
        self.reactor = reactor
        super.init()
    }

    /// The monotonic deadline `nanoseconds` from now, saturating: a delay
    /// past the clock's range simply never comes.
    package static func deadline(afterNanoseconds nanoseconds: Int64) -> Int64 {
        let (deadline, overflow) = cl_now_ns().addingReportingOverflow(max(0, nanoseconds))
        return overflow ? Int64.max : deadline
    }

    /// `deadline(afterNanoseconds:)` for a finite, non-negative delay in seconds.
    package static func deadline(afterSeconds seconds: Double) -> Int64 {
        let nanoseconds = seconds * 1e9
        return nanoseconds >= 9.2e18 ? Int64.max : deadline(afterNanoseconds: Int64(nanoseconds))
    }

    /// Reactor thread: the scheduling item arrives; into the heap unless
    /// cancelled meanwhile.
    package override func run(on reactor: Reactor) {
        if phase.load(ordering: .acquiring) == Phase.pending.rawValue {
            reactor.timers.insert(self)
        } else {
            dropBody()
        }
    }

    /// Reactor thread: the reactor stopped before the call was scheduled.
    package override func reject(on reactor: Reactor) { dropBody() }

    /// Reactor thread: runs the call unless it was cancelled first.
    package func fire() {
        let (won, _) = phase.compareExchange(expected: Phase.pending.rawValue, desired: Phase.ran.rawValue,
                                             ordering: .acquiringAndReleasing)
        guard won, let body else { return }
        self.body = nil
        body()
    }

    /// Reactor thread: the call will never run; release what it captured.
    package func dropBody() { body = nil }

    /// Any thread. Returns `.already` if the call ran (or is running) or was
    /// cancelled before.
    package func cancel() -> Status {
        let (won, _) = phase.compareExchange(expected: Phase.pending.rawValue, desired: Phase.cancelled.rawValue,
                                             ordering: .acquiringAndReleasing)
        if !won { return .already }
        if reactor.isCurrentThread {
            reactor.timers.remove(self)
            dropBody()
        } else {
            // If the reactor has stopped, stopping already dropped the body.
            _ = reactor.enqueue(TimerRemoval(self))
        }
        return .ok
    }

    /// Whether the call is still waiting to run.
    package var isPending: Bool { phase.load(ordering: .acquiring) == Phase.pending.rawValue }
}

/// Carries a timer cancellation to the reactor thread, to take it off the heap.
package final class TimerRemoval: InboxItem, @unchecked Sendable {
    package let call: DelayedCall
    package init(_ call: DelayedCall) {
        self.call = call
        super.init()
    }
    package override func run(on reactor: Reactor) {
        reactor.timers.remove(call)
        call.dropBody()
    }
    package override func reject(on reactor: Reactor) { call.dropBody() }
}

/// A binary min-heap of timers by (deadline, sequence), so timers fire in
/// deadline order and first-scheduled first among equal deadlines. Each timer
/// knows its index, so removal is O(log n). Reactor thread only.
package struct TimerHeap {
    private var heap: [Unmanaged<DelayedCall>] = []
    private var nextSequence: UInt64 = 0

    package var count: Int { heap.count }

    /// The earliest deadline, if any.
    package var nextDeadline: Int64? { heap.first?.takeUnretainedValue().deadline }

    @inline(__always)
    private func less(_ a: Int, _ b: Int) -> Bool {
        let x = heap[a].takeUnretainedValue(), y = heap[b].takeUnretainedValue()
        return x.deadline < y.deadline || (x.deadline == y.deadline && x.sequence < y.sequence)
    }

    @inline(__always)
    private mutating func swapAt(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        heap[a].takeUnretainedValue().heapIndex = a
        heap[b].takeUnretainedValue().heapIndex = b
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            if !less(i, parent) { break }
            swapAt(i, parent)
            i = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        let n = heap.count
        while true {
            let left = 2 * i + 1
            if left >= n { break }
            var smallest = left
            if left + 1 < n && less(left + 1, left) { smallest = left + 1 }
            if !less(smallest, i) { break }
            swapAt(i, smallest)
            i = smallest
        }
    }

    package mutating func insert(_ call: DelayedCall) {
        call.sequence = nextSequence
        nextSequence &+= 1
        call.heapIndex = heap.count
        heap.append(Unmanaged.passRetained(call))
        siftUp(heap.count - 1)
    }

    package mutating func remove(_ call: DelayedCall) {
        let i = call.heapIndex
        guard i >= 0, i < heap.count, heap[i].takeUnretainedValue() === call else { return }
        let last = heap.count - 1
        if i != last { swapAt(i, last) }
        let removed = heap.removeLast()
        call.heapIndex = -1
        if i != last {
            siftDown(i)
            siftUp(i)
        }
        removed.release()
    }

    /// Removes and returns the earliest timer if its deadline is at or before `now`.
    package mutating func popDue(now: Int64) -> DelayedCall? {
        guard let first = heap.first, first.takeUnretainedValue().deadline <= now else { return nil }
        let call = first.takeUnretainedValue()
        let last = heap.count - 1
        if last > 0 { swapAt(0, last) }
        let removed = heap.removeLast()
        call.heapIndex = -1
        if !heap.isEmpty { siftDown(0) }
        return removed.takeRetainedValue()
    }

    /// Drops every timer (at stop: they never run, and their bodies go).
    package mutating func removeAll() {
        let entries = heap
        heap.removeAll()
        for entry in entries {
            let call = entry.takeUnretainedValue()
            call.heapIndex = -1
            call.dropBody()
            entry.release()
        }
    }
}
