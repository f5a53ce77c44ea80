import Synchronization

/// The reactor's inbox: a lock-free multi-producer stack of intrusively linked
/// items (push is one CAS), taken whole by the reactor and reversed into
/// arrival order. Bit 0 of the head marks it closed: pushes fail from then on,
/// while the items already in it stay for the reactor to reject.
package final class Inbox: @unchecked Sendable {
    private static let closedBit: UInt = 1
    private let head = Atomic<UInt>(0)

    package enum PushOutcome { case pushedOntoEmpty, pushed, closed }

    /// Hands `item` (retained) to the reactor, unless closed.
    @inline(__always)
    package func push(_ item: InboxItem) -> PushOutcome {
        let raw = Unmanaged.passRetained(item).toOpaque()
        let bits = UInt(bitPattern: raw)
        var old = head.load(ordering: .relaxed)
        while true {
            if old & Inbox.closedBit != 0 {
                Unmanaged<InboxItem>.fromOpaque(raw).release()
                return .closed
            }
            item.link = UnsafeMutableRawPointer(bitPattern: old)
            let (exchanged, current) = head.compareExchange(
                expected: old, desired: bits, ordering: .sequentiallyConsistent)
            if exchanged { return old == 0 ? .pushedOntoEmpty : .pushed }
            old = current
        }
    }

    /// Whether anything waits, or the inbox was closed (cheap; for spinning).
    @inline(__always) package var hasWork: Bool { head.load(ordering: .relaxed) != 0 }

    /// `hasWork` with a sequentially consistent load: for the loop's last
    /// look before it sleeps (see `Reactor.wakeIfSleeping`).
    @inline(__always) package var hasPendingWork: Bool { head.load(ordering: .sequentiallyConsistent) != 0 }

    @inline(__always) package var isClosed: Bool { head.load(ordering: .acquiring) & Inbox.closedBit != 0 }

    /// Takes every item into `batch` (growing it as needed), newest first:
    /// the caller runs them from the end for arrival order, and owns their
    /// references. Reads each item once and writes none. Also says whether
    /// the inbox is closed.
    func takeAll(into batch: inout Batch) -> (count: Int, closed: Bool) {
        var old = head.load(ordering: .relaxed)
        // Nothing to take: no exchange, which would take the line exclusively
        // from the producers about to push onto it.
        if old & ~Inbox.closedBit == 0 {
            if old == 0 { return (0, false) }
            old = head.load(ordering: .acquiring)   // closed: order the items' rejection after it
        }
        while true {
            let (exchanged, current) = head.compareExchange(
                expected: old, desired: old & Inbox.closedBit, ordering: .sequentiallyConsistent)
            if exchanged { break }
            old = current
        }
        var count = 0
        var node = UnsafeMutableRawPointer(bitPattern: old & ~Inbox.closedBit)
        while let current = node {
            batch.append(current, at: count)
            count += 1
            node = Unmanaged<InboxItem>.fromOpaque(current)._withUnsafeGuaranteedRef { $0.link }
        }
        return (count, old & Inbox.closedBit != 0)
    }

    /// A reusable array of item pointers, owned by the reactor thread.
    struct Batch {
        private(set) var items: UnsafeMutablePointer<UnsafeMutableRawPointer> = .allocate(capacity: 1024)
        private var capacity = 1024

        @inline(__always)
        mutating func append(_ item: UnsafeMutableRawPointer, at index: Int) {
            if index == capacity {
                let grown = UnsafeMutablePointer<UnsafeMutableRawPointer>.allocate(capacity: capacity * 2)
                grown.moveInitialize(from: items, count: capacity)
                items.deallocate()
                items = grown
                capacity *= 2
            }
            items[index] = item
        }
    }

    /// Closes the inbox; returns whether this call closed it.
    @discardableResult
    package func close() -> Bool {
        head.bitwiseOr(Inbox.closedBit, ordering: .sequentiallyConsistent).oldValue & Inbox.closedBit == 0
    }
}
