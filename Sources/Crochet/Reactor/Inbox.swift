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

    @inline(__always) package var isClosed: Bool { head.load(ordering: .acquiring) & Inbox.closedBit != 0 }

    /// Takes every item, oldest first, as the start of a linked list whose
    /// references the caller now owns. Also says whether the inbox is closed.
    package func takeAll() -> (first: UnsafeMutableRawPointer?, closed: Bool) {
        var old = head.load(ordering: .relaxed)
        while true {
            let (exchanged, current) = head.compareExchange(
                expected: old, desired: old & Inbox.closedBit, ordering: .sequentiallyConsistent)
            if exchanged { break }
            old = current
        }
        // Reverse the stack into arrival order.
        var node = UnsafeMutableRawPointer(bitPattern: old & ~Inbox.closedBit)
        var reversed: UnsafeMutableRawPointer? = nil
        while let current = node {
            let item = Unmanaged<InboxItem>.fromOpaque(current).takeUnretainedValue()
            node = item.link
            item.link = reversed
            reversed = current
        }
        return (reversed, old & Inbox.closedBit != 0)
    }

    /// Closes the inbox; returns whether this call closed it.
    @discardableResult
    package func close() -> Bool {
        head.bitwiseOr(Inbox.closedBit, ordering: .sequentiallyConsistent).oldValue & Inbox.closedBit == 0
    }
}
