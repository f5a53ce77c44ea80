import CoreMetrics
import Crochet
import Synchronization

/// Publishes `Crochet.Stats` as swift-metrics gauges, refreshed on an
/// interval, so a Swift server's metrics backend (a Prometheus exporter, say)
/// picks them up.
///
/// ```swift
/// import CrochetObservability
///
/// MetricsSystem.bootstrap(prometheusFactory)        // your backend
/// let metrics = CrochetMetrics(interval: .seconds(10))
/// metrics.start()                                   // or: try await metrics.run() in a task group
/// ...
/// metrics.stop()
/// ```
///
/// One gauge per field of `Crochet.Stats`, labelled `<prefix>_<field>`:
/// `crochet_calls_submitted`, `crochet_calls_completed`, `crochet_queued`,
/// `crochet_waiting`, `crochet_timers`, `crochet_readers`, `crochet_writers`,
/// `crochet_workers`, `crochet_workers_busy`, `crochet_worker_queue`,
/// `crochet_stashed`, `crochet_max_queue_delay_seconds` and
/// `crochet_max_callback_seconds`. The two counts of calls only grow; the two
/// maxima cover the time since the previous snapshot (the interval), so keep
/// one `CrochetMetrics` per process and take no other `Crochet.stats`
/// snapshots meanwhile. Before `Crochet.setup()` nothing is recorded.
public final class CrochetMetrics: Sendable {
    /// The labels of the gauges, in the order of `Crochet.Stats`' fields.
    public static let fields = [
        "calls_submitted", "calls_completed", "queued", "waiting", "timers", "readers", "writers",
        "workers", "workers_busy", "worker_queue", "stashed", "max_queue_delay_seconds", "max_callback_seconds",
    ]

    /// How often ``start()`` and ``run()`` refresh the gauges.
    public let interval: Duration
    private let gauges: [Gauge]
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// Creates the gauges (nothing is recorded until ``update()``, ``start()``
    /// or ``run()``). `prefix` starts every label; `dimensions` are added to
    /// every gauge; `factory` is the metrics backend (by default the one
    /// bootstrapped in `MetricsSystem`).
    public init(prefix: String = "crochet", dimensions: [(String, String)] = [], interval: Duration = .seconds(10),
                factory: any MetricsFactory = MetricsSystem.factory) {
        self.interval = interval
        gauges = Self.fields.map { Gauge(label: "\(prefix)_\($0)", dimensions: dimensions, factory: factory) }
    }

    deinit { task.withLock { $0?.cancel() } }

    /// Takes one snapshot (`Crochet.stats`) and records it in the gauges now.
    /// Throws `.wrongState` before setup (nothing is recorded).
    @discardableResult
    public func update() throws(CrochetError) -> Crochet.Stats {
        let s = try Crochet.stats
        let values: [Double] = [
            Double(s.callsSubmitted), Double(s.callsCompleted), Double(s.queued), Double(s.waiting),
            Double(s.timers), Double(s.readers), Double(s.writers), Double(s.workers), Double(s.workersBusy),
            Double(s.workerQueue), Double(s.stashed), s.maxQueueDelaySeconds, s.maxCallbackSeconds,
        ]
        for (gauge, value) in zip(gauges, values) { gauge.record(value) }
        return s
    }

    /// Refreshes the gauges every ``interval`` until the calling task is
    /// cancelled (a swift-service-lifecycle service's `run()` shape). A
    /// snapshot before setup is skipped.
    public func run() async {
        while !Task.isCancelled {
            _ = try? update()
            do {
                try await Task.sleep(for: interval)
            } catch {
                return   // cancelled
            }
        }
    }

    /// Starts ``run()`` in a task of its own (once; a second call does
    /// nothing while it runs). ``stop()`` cancels it.
    public func start() {
        task.withLock { task in
            guard task == nil else { return }
            let interval = self.interval
            task = Task { [weak self] in
                // Holds the object only while updating: dropping it ends the loop.
                while !Task.isCancelled, self?.refresh() != nil {
                    do {
                        try await Task.sleep(for: interval)
                    } catch {
                        return
                    }
                }
            }
        }
    }

    private func refresh() { _ = try? update() }

    /// Stops the refreshing started by ``start()`` (the gauges keep their
    /// last values).
    public func stop() {
        let running = task.withLock { task in
            defer { task = nil }
            return task
        }
        running?.cancel()
    }
}
