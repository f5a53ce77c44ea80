import Synchronization

/// The bound on queued calls (`crochet_set_max_queued`): with a bound set,
/// a submit that would make more calls queued than it allows is refused
/// (`CROCHET_EAGAIN`). Without one, nothing is counted: the hot path pays one
/// relaxed load.
package enum Bounds {
    /// The bound; 0: none.
    package static let maxQueued = Atomic<Int>(0)
    /// Calls counted against the bound and not yet started (or rejected).
    private static let queued = Atomic<Int>(0)

    package enum Admission { case unbounded, counted, refused }

    /// Makes both counters (`swift_once` globals in unoptimised builds)
    /// before the library's threads exist.
    package static func warmUp() {
        _ = maxQueued.load(ordering: .relaxed)
        _ = queued.load(ordering: .relaxed)
    }

    /// Takes a place in the queue, if a bound is set.
    @inline(__always) package static func admit() -> Admission {
        let bound = maxQueued.load(ordering: .relaxed)
        if bound == 0 { return .unbounded }
        if queued.add(1, ordering: .relaxed).newValue > bound {
            queued.subtract(1, ordering: .relaxed)
            return .refused
        }
        return .counted
    }

    /// Gives a place back: the counted call started, was rejected, or its
    /// submit failed.
    @inline(__always) package static func release() { queued.subtract(1, ordering: .relaxed) }
}
