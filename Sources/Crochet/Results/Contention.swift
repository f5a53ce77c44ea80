import CLinux
import Glibc
import Synchronization

/// Whether other threads have been competing for the cores lately. A
/// `sched_yield` that takes longer than `slowYieldNanoseconds` gave the core
/// to real work for a time slice; then every spin with a yield in it (the
/// reactor's idle spin, a waiter's) costs a time slice of latency and takes
/// CPU from that work. So for a quiet period after a slow yield nobody
/// spins: the loop sleeps in epoll and waiters park at once, as libuv's do.
/// The period starts at 100 ms and doubles (up to 5 s) while the next probe
/// finds the cores still contended; a quick yield resets it.
package enum Contention {
    package static let slowYieldNanoseconds: Int64 = 20_000
    package static let shortestQuietMs: UInt32 = 100
    package static let longestQuietMs: UInt32 = 5_000
    private static let lastSlowYieldMs = Atomic<UInt32>(0)
    private static let quietMs = Atomic<UInt32>(0)   // 0: never contended

    /// Whether spinning is pointless now (within the quiet period).
    @inline(__always) package static var isRecent: Bool {
        let quiet = quietMs.load(ordering: .relaxed)
        return quiet != 0 && cl_coarse_ms() &- lastSlowYieldMs.load(ordering: .relaxed) < quiet
    }

    /// Yields; returns false (and starts or lengthens the quiet period) if
    /// the yield was slow.
    @inline(__always) package static func yieldWasQuick() -> Bool {
        let before = cl_now_ns()
        sched_yield()
        if cl_now_ns() - before <= slowYieldNanoseconds {
            if quietMs.load(ordering: .relaxed) > shortestQuietMs { quietMs.store(shortestQuietMs, ordering: .relaxed) }
            return true
        }
        let quiet = quietMs.load(ordering: .relaxed)
        quietMs.store(quiet == 0 ? shortestQuietMs : min(longestQuietMs, quiet * 2), ordering: .relaxed)
        lastSlowYieldMs.store(cl_coarse_ms(), ordering: .relaxed)
        return false
    }
}
