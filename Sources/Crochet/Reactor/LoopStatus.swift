import CLinux
import Synchronization

/// What the loop publishes for other threads (the stall watchdog, stats):
/// words on a cache line of their own, written by the reactor thread only.
/// The callback counter is odd while a callback runs; the watchdog sees a
/// stall as an odd count that does not move.
package struct LoopStatus: @unchecked Sendable {
    private let words: UnsafeMutablePointer<UInt64>
    private enum Word: Int { case callbacks = 0, symbolBits, symbolKind, startMs, dequeued, waiting, timers, readers }

    package init() {
        words = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64).bindMemory(to: UInt64.self, capacity: 8)
        words.initialize(repeating: 0, count: 8)
    }

    @inline(__always) private func load(_ w: Word) -> UInt64 { cl_atomic_load_u64(words + w.rawValue) }
    @inline(__always) private func store(_ w: Word, _ v: UInt64) { cl_atomic_store_u64(words + w.rawValue, v) }

    /// Reactor thread: a callback starts at `startMs` (the symbol first,
    /// then the count).
    @inline(__always) package func begin(_ symbol: CallbackSymbol, startMs: UInt32) {
        store(.symbolBits, symbol.bits)
        store(.symbolKind, symbol.kind.rawValue)
        store(.startMs, UInt64(startMs))
        store(.callbacks, load(.callbacks) &+ 1)
    }

    /// Reactor thread: the callback returned.
    @inline(__always) package func end() { store(.callbacks, load(.callbacks) &+ 1) }

    /// Reactor thread: one more call left the queue (started or rejected).
    @inline(__always) package func countDequeued() { store(.dequeued, load(.dequeued) &+ 1) }

    /// Reactor thread: the sizes of what the loop holds.
    @inline(__always) package func publish(waiting: Int, timers: Int, readers: Int, writers: Int) {
        store(.waiting, UInt64(waiting))
        store(.timers, UInt64(timers))
        // Readers and writers share a word (32 bits each): the line has 8.
        store(.readers, UInt64(UInt32(truncatingIfNeeded: readers)) << 32 | UInt64(UInt32(truncatingIfNeeded: writers)))
    }

    // Any thread.
    package var callbacks: UInt64 { load(.callbacks) }
    package var symbol: CallbackSymbol {
        CallbackSymbol(kind: CallbackSymbol.Kind(rawValue: load(.symbolKind)) ?? .none, bits: load(.symbolBits))
    }
    /// When the current (or last) callback started, coarse ms.
    package var startMs: UInt32 { UInt32(truncatingIfNeeded: load(.startMs)) }
    package var dequeued: UInt64 { load(.dequeued) }
    package var counts: (waiting: UInt64, timers: UInt64, readers: UInt64, writers: UInt64) {
        let fds = load(.readers)
        return (load(.waiting), load(.timers), fds >> 32, fds & 0xFFFF_FFFF)
    }
}
