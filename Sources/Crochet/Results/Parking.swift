import CLinux
import Synchronization

/// Where blocked waiters sleep: a fixed table of futex words shared by all
/// results (like WebKit's ParkingLot), so a result needs no futex word of its
/// own. A waiter reads its slot's sequence, marks the result as having parked
/// waiters, re-checks the result, and sleeps only if the sequence is
/// unchanged; a completer that sees the mark bumps the sequence and wakes the
/// slot. Results sharing a slot only cause harmless extra wake-ups.
package enum Parking {
    private static let slotCount = 64
    private static let stride = 16   // UInt32s: one 64-byte cache line per slot
    nonisolated(unsafe) private static let slots: UnsafeMutablePointer<UInt32> = {
        let p = UnsafeMutablePointer<UInt32>.allocate(capacity: slotCount * stride)
        p.initialize(repeating: 0, count: slotCount * stride)
        return p
    }()

    /// Makes the table (a `swift_once`) before the library's threads exist.
    package static func warmUp() { _ = slots }

    @inline(__always)
    package static func slot(for object: AnyObject) -> UnsafeMutablePointer<UInt32> {
        let address = UInt(bitPattern: ObjectIdentifier(object).hashValue)
        let index = Int((address >> 4) ^ (address >> 10)) & (slotCount - 1)
        return slots + index * stride
    }

    /// The slot's current sequence; read before the final re-check.
    @inline(__always)
    package static func sequence(_ slot: UnsafeMutablePointer<UInt32>) -> UInt32 {
        cl_atomic_load_u32(slot)
    }

    /// Sleeps until the slot's sequence moves on or the deadline passes.
    /// Returns false on timeout.
    package static func park(_ slot: UnsafeMutablePointer<UInt32>, sequence: UInt32, deadline: Deadline) -> Bool {
        cl_futex_wait(slot, sequence, deadline.shimValue) != -1
    }

    /// Wakes every waiter parked on the object's slot.
    package static func unparkAll(for object: AnyObject) {
        let s = slot(for: object)
        _ = cl_atomic_fetch_add_u32(s, 1)
        cl_futex_wake(s, Int32.max)
    }
}
