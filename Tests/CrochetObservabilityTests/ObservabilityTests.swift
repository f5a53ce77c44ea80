// The optional CrochetObservability product: the swift-log bridge and the
// swift-metrics gauges. The log handler is process-wide, so the bridge is
// tested in a child process (an exit test); the gauges use a factory of
// their own (MetricsTestKit), not the global MetricsSystem.
import Crochet
import CrochetObservability
import Glibc
import Logging
import MetricsTestKit
import Synchronization
import Testing

/// A swift-log handler that keeps what it is given.
struct CapturingLogHandler: Logging.LogHandler {
    final class Store: Sendable {
        let records = Mutex<[(level: Logger.Level, message: String, metadata: Logger.Metadata?, source: String)]>([])
    }
    let store: Store
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        store.records.withLock { $0.append((level, message.description, metadata, source)) }
    }
}

@Suite("CrochetObservability")
struct ObservabilityTests {
    @Test("the log bridge routes the library's records into a Logger, levels mapped, filtered by logLevel")
    func logBridge() async {
        await #expect(processExitsWith: .success) {
            let store = CapturingLogHandler.Store()
            var logger = Logger(label: "crochet-test") { _ in CapturingLogHandler(store: store) }
            logger.logLevel = .info   // the stall watchdog's DEBUG record is filtered out
            CrochetLogging.bootstrap(logger)
            try Crochet.setup()
            // A waitFor that times out logs one WARNING with the diagnosis.
            let error = Result { () throws(CrochetError) in
                try Crochet.waitFor(timeout: .milliseconds(200), name: "neverFires") { Deferred<Int>() }
            }
            #expect(error.failureStatus == .timedOut)
            // A failure nobody observes is logged as an ERROR.
            _ = try Crochet.runInReactor { () throws -> Int in throw CancellationError() }
            try Crochet.runInReactor {}.wait(timeout: .seconds(20))
            var deadline = 2000
            while deadline > 0 && !store.records.withLock({ $0.contains { $0.level == .error } }) {
                usleep(10_000)
                deadline -= 1
            }
            try Crochet.flushLog(timeout: .seconds(20))
            let records = store.records.withLock { $0 }
            let warning = records.first { $0.message.contains("timed out") }
            #expect(warning?.level == .warning)
            #expect(warning?.message.contains("`neverFires` returned a deferred that has not fired") == true)
            #expect(warning?.source == "crochet")
            #expect(warning?.metadata?["crochet.level"] == "WARNING")
            #expect(records.contains { $0.level == .error && $0.message.contains("Unhandled error") })
            #expect(!records.contains { $0.level == .debug })
            CrochetLogging.reset()
        }
    }

    @Test("the level mapping")
    func levels() {
        #expect(LogLevel.debug.swiftLogLevel == .debug)
        #expect(LogLevel.info.swiftLogLevel == .info)
        #expect(LogLevel.warning.swiftLogLevel == .warning)
        #expect(LogLevel.error.swiftLogLevel == .error)
    }

    @Test("update() records every field of Crochet.stats in its gauge, with the dimensions")
    func gaugesUpdate() throws {
        try Crochet.setup()
        let factory = TestMetrics()
        let metrics = CrochetMetrics(prefix: "crochet", dimensions: [("app", "test")], factory: factory)
        for i in 0..<3 { _ = try Crochet.runInReactor { i }.wait(timeout: .seconds(20)) }
        let s = try metrics.update()
        #expect(CrochetMetrics.fields.count == 13)
        for field in CrochetMetrics.fields {
            #expect(try factory.expectGauge("crochet_\(field)", [("app", "test")]).lastValue != nil, "\(field)")
        }
        #expect(try factory.expectGauge("crochet_calls_submitted", [("app", "test")]).lastValue
                    == Double(s.callsSubmitted))
        #expect(try factory.expectGauge("crochet_calls_submitted", [("app", "test")]).lastValue ?? 0 >= 3)
        #expect(try factory.expectGauge("crochet_stashed", [("app", "test")]).lastValue == Double(s.stashed))
    }

    @Test("start() refreshes the gauges on its interval until stop(); the values move")
    func gaugesRefresh() async throws {
        try Crochet.setup()
        let factory = TestMetrics()
        let metrics = CrochetMetrics(prefix: "app_crochet", interval: .milliseconds(20), factory: factory)
        metrics.start()
        metrics.start()   // a second start does nothing
        let gauge = { try factory.expectGauge("app_crochet_calls_submitted") }
        var waited = 0
        while (try? gauge())?.values.count ?? 0 < 2, waited < 1000 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        let first = try gauge().lastValue ?? 0
        for i in 0..<5 { _ = try Crochet.runInReactor { i }.wait(timeout: .seconds(20)) }
        waited = 0
        while try gauge().lastValue ?? 0 < first + 5, waited < 1000 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        #expect(try gauge().lastValue ?? 0 >= first + 5)
        metrics.stop()
        try await Task.sleep(for: .milliseconds(60))   // a loop iteration in flight may still record
        let count = try gauge().values.count
        try await Task.sleep(for: .milliseconds(100))
        #expect(try gauge().values.count == count, "the gauges were refreshed after stop()")
    }

    @Test("run() refreshes until its task is cancelled")
    func runUntilCancelled() async throws {
        try Crochet.setup()
        let factory = TestMetrics()
        let metrics = CrochetMetrics(interval: .milliseconds(10), factory: factory)
        let task = Task { await metrics.run() }
        var waited = 0
        while (try? factory.expectGauge("crochet_queued"))?.values.count ?? 0 < 3, waited < 1000 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        #expect(try factory.expectGauge("crochet_queued").values.count >= 3)
        task.cancel()
        await task.value   // returns: the loop ended
    }
}

extension Result where Failure == CrochetError {
    var failureStatus: Status? {
        if case .failure(let e) = self { return e.status }
        return nil
    }
}
