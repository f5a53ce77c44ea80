import CLinux
import Glibc
import Synchronization

/// Whether other threads have been competing for the cores lately. A
/// `sched_yield` that takes longer than `slowYieldNanoseconds` gave the core
/// to real work for a time slice; then every spin with a yield in it (the
/// reactor's idle spin, a waiter's) costs a time slice of latency and takes
/// CPU from that work. So for a quiet period after the reactor's slow yield
/// the reactor does not spin: it sleeps in epoll, as libuv's does (a waiter
/// stops its own spin at its first slow yield).
/// The period starts at 100 ms and doubles (up to 5 s) while the next probe
/// finds the cores still contended; a quick yield resets it.
package enum Contention {
    package static let slowYieldNanoseconds: Int64 = 20_000
    /// A yield this long was a time slice of a thread that does not yield:
    /// CPU-bound work, not our own callers (who yield within microseconds).
    package static let timeSliceNanoseconds: Int64 = 1_000_000
    package static let shortestQuietMs: UInt32 = 100
    package static let longestQuietMs: UInt32 = 5_000
    private static let lastSlowYieldMs = Atomic<UInt32>(0)
    private static let quietMs = Atomic<UInt32>(0)   // 0: never contended

    /// Makes the two words (`swift_once` globals in unoptimised builds)
    /// before the library's threads exist.
    package static func warmUp() {
        _ = quietMs.load(ordering: .relaxed)
        _ = lastSlowYieldMs.load(ordering: .relaxed)
    }

    /// Whether spinning is pointless now (within the quiet period).
    @inline(__always) package static var isRecent: Bool {
        let quiet = quietMs.load(ordering: .relaxed)
        return quiet != 0 && cl_coarse_ms() &- lastSlowYieldMs.load(ordering: .relaxed) < quiet
    }

    /// Yields; returns whether the yield was quick (nobody else wanted the core).
    @inline(__always) package static func yieldWasQuick() -> Bool { timedYield() <= slowYieldNanoseconds }

    /// Yields; returns how long the core was away, in ns.
    @inline(__always) package static func timedYield() -> Int64 {
        let before = cl_now_ns()
        sched_yield()
        return cl_now_ns() - before
    }

    /// The reactor lost the core for a time slice: CPU-bound threads want
    /// it. Starts (or lengthens) the quiet period. (A yield of tens of
    /// microseconds only let our own callers run: not contention to stay
    /// out of.)
    package static func markContended() {
        let quiet = quietMs.load(ordering: .relaxed)
        quietMs.store(quiet == 0 ? shortestQuietMs : min(longestQuietMs, quiet * 2), ordering: .relaxed)
        lastSlowYieldMs.store(cl_coarse_ms(), ordering: .relaxed)
    }

    /// The reactor saw a quick yield: the quiet period shrinks back.
    package static func markQuiet() {
        if quietMs.load(ordering: .relaxed) > shortestQuietMs { quietMs.store(shortestQuietMs, ordering: .relaxed) }
    }
}
