/// The engine's counters (module scope: inside `Crochet`, `Stats` is the
/// public snapshot type).
private typealias EngineStats = Stats

extension Crochet {
    // MARK: Operability

    /// A snapshot of the reactor's counters (``Crochet/stats``): the fields of
    /// the C API's `crochet_stats`. Cheap enough to take every second from a
    /// metrics scraper (the optional `CrochetObservability` product publishes
    /// them as swift-metrics gauges).
    public struct Stats: Sendable, Equatable, CustomStringConvertible {
        /// Calls submitted since the process started (every language).
        public var callsSubmitted: UInt64
        /// Results completed: with a value, a failure, cancelled or stopped.
        public var callsCompleted: UInt64
        /// Calls submitted and not yet started.
        public var queued: UInt64
        /// Results following a deferred that has not fired.
        public var waiting: UInt64
        /// Pending timers (`callLater`).
        public var timers: UInt64
        /// Registered readers.
        public var readers: UInt64
        /// Registered writers.
        public var writers: UInt64
        /// Threads in the worker pool (`deferToThread`).
        public var workers: UInt64
        /// Workers running a job now.
        public var workersBusy: UInt64
        /// Jobs waiting for a worker.
        public var workerQueue: UInt64
        /// Results in the process-wide stash.
        public var stashed: UInt64
        /// The longest time a call waited from submit to start since the
        /// previous snapshot (coarse clock: a few milliseconds of resolution).
        public var maxQueueDelaySeconds: Double
        /// The longest single callback on the reactor thread since the
        /// previous snapshot.
        public var maxCallbackSeconds: Double

        fileprivate init(_ s: EngineStats.Snapshot) {
            callsSubmitted = s.callsSubmitted
            callsCompleted = s.callsCompleted
            queued = s.queued
            waiting = s.waiting
            timers = s.timers
            readers = s.readers
            writers = s.writers
            workers = s.workers
            workersBusy = s.workersBusy
            workerQueue = s.workerQueue
            stashed = s.stashed
            maxQueueDelaySeconds = s.maxQueueDelaySeconds
            maxCallbackSeconds = s.maxCallbackSeconds
        }

        public var description: String {
            "submitted \(callsSubmitted), completed \(callsCompleted), queued \(queued), waiting \(waiting), "
                + "timers \(timers), readers \(readers), writers \(writers), workers \(workersBusy)/\(workers) busy "
                + "(\(workerQueue) queued), stashed \(stashed), max queue delay \(maxQueueDelaySeconds) s, "
                + "max callback \(maxCallbackSeconds) s"
        }
    }

    /// The reactor's counters now (`crochet_get_stats`). The two maxima cover
    /// the time since the previous snapshot, taken by anyone in the process
    /// (Swift, C, C++ or Python): one scraper per process gives them their
    /// meaning. Any thread. Throws `.wrongState` before ``setup()`` or
    /// ``noSetup()``.
    public static var stats: Stats {
        get throws(CrochetError) {
            guard let reactor = Engine.reactor else { throw CrochetError.wrongState }
            return Stats(EngineStats.snapshot(of: reactor))
        }
    }

    /// When one callback has run on the reactor thread longer than
    /// `threshold`, a thread other than the reactor logs one WARNING naming
    /// it, how long so far and how many calls are queued behind it; a DEBUG
    /// record says when the loop is free again (`crochet_set_stall_warning`).
    /// `.zero` turns the warning off; the default is 1 s. Resolution: 1 ms.
    /// Throws `.invalidArgument` for a negative threshold.
    public static func setStallWarning(_ threshold: Duration) throws(CrochetError) {
        let ns = threshold.nanoseconds
        if ns < 0 { throw CrochetError.invalidArgument("negative stall threshold") }
        let ms = ns == 0 ? 0 : UInt32(clamping: max(1, (ns + 999_999) / 1_000_000))
        Watchdog.thresholdMs.store(ms, ordering: .relaxed)
    }

    /// Bounds the calls queued (submitted, not started) at `n`
    /// (`crochet_set_max_queued`): at the bound, `runInReactor`,
    /// `waitFor`, ``callFromThread(_:)`` (and the
    /// other languages' submits) throw `.again` without queueing anything.
    /// 0: unbounded (the default). Throws `.invalidArgument` for a negative n.
    public static func setMaxQueued(_ n: Int) throws(CrochetError) {
        if n < 0 { throw CrochetError.invalidArgument("negative bound on queued calls") }
        Bounds.maxQueued.store(n, ordering: .relaxed)
    }

    /// Bounds the process-wide stash (`crochet_set_stash_limit`): with
    /// `results` > 0, ``EventualResult/stash()`` throws `.again` while the
    /// store holds that many; with a `maxAge`, a result stashed longer is
    /// dropped with a WARNING (its failure, if unobserved, is logged as
    /// usual) and a later retrieve throws `.notFound` (checked about once a
    /// second). 0 and nil (or `.zero`): no bound (the defaults).
    public static func setStashLimit(results: Int = 0, maxAge: Duration? = nil) throws(CrochetError) {
        if results < 0 { throw CrochetError.invalidArgument("negative bound on stashed results") }
        let ns = maxAge?.nanoseconds ?? 0
        if ns < 0 { throw CrochetError.invalidArgument("negative stash age bound") }
        let ms = ns == 0 ? 0 : UInt32(clamping: max(1, ns / 1_000_000))
        ResultStore.setLimit(results: results, ageMs: ms)
    }
}
