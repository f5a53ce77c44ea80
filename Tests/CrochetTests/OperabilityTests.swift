// Operability from Swift: EventualResult.info, the diagnosis in .timedOut,
// Crochet.stats, and the settings (stall warning, bounds). Settings and exact
// counts are process-wide, and Swift Testing runs tests in parallel in one
// process: tests that change a setting or count exactly run in a child
// process (exit tests); the others only block the reactor briefly.
import Glibc
import Testing
@testable import Crochet

/// Submits a call named `name` that holds the reactor until `release` is
/// signalled, and waits until it runs.
private func blockReactor(_ release: Event, name: StaticString = "blocker") throws -> EventualResult<Bool> {
    let entered = Event()
    let r = try Crochet.runInReactor(name: name) { () -> Bool in
        entered.signal()
        return release.wait()
    }
    try #require(entered.wait(), "the reactor did not run the blocker")
    return r
}

@Suite("Operability: info and timeout diagnoses")
struct OperabilityInfoTests {
    @Test("info: a blocking call is running, one behind it queued, both named; then both done")
    func queuedRunningDone() throws {
        try Crochet.setup()
        let release = Event()
        let blocker = try blockReactor(release, name: "holdTheReactor")
        let behind = try Crochet.runInReactor(name: "behindTheBlocker") { 5 }
        usleep(60_000)
        let b = blocker.info, q = behind.info
        #expect(b.state == .running)
        #expect(b.runningSeconds >= 0.04)
        #expect(b.function == "holdTheReactor")
        #expect(q.state == .queued)
        #expect(q.queuedSeconds >= 0.04)
        #expect(q.runningSeconds == 0)
        #expect(q.function == "behindTheBlocker")
        #expect(q.description.contains("`behindTheBlocker` has not started: queued for"))
        release.signal()
        #expect(try behind.wait(timeout: patience) == 5)
        #expect(try blocker.wait(timeout: patience))
        #expect(behind.info.state == .done)
        #expect(behind.info.queuedSeconds >= 0.04)   // kept once done
        #expect(blocker.info.state == .done)
    }

    @Test("info names a call by its calling function when no name is given")
    func defaultName() throws {
        try Crochet.setup()
        let r = try Crochet.runInReactor { 1 }
        #expect(try r.wait(timeout: patience) == 1)
        #expect(r.info.function == "defaultName()")
    }

    @Test("a wait on a call whose deferred never fires: .timedOut's diagnosis says so; info says .waiting")
    func deferredNeverFires() throws {
        try Crochet.setup()
        let box = Locked<Deferred<Int>?>(nil)
        let r = try Crochet.runInReactor(name: "neverFires") { () -> Deferred<Int> in
            let d = Deferred<Int>()
            box.value = d
            return d
        }
        #expect(spinUntil { r.info.state == .waiting }, "the call did not run")
        let error = crochetError { try r.wait(timeout: .milliseconds(50)) }
        guard case .timedOut(let diagnosis?) = error else {
            Issue.record("expected .timedOut with a diagnosis, got \(String(describing: error))")
            return
        }
        #expect(diagnosis.contains("`neverFires` returned a deferred that has not fired for"))
        #expect(error?.description.contains("neverFires") == true)
        #expect(r.info.state == .waiting)
        #expect(r.info.runningSeconds >= 0.03)
        r.cancel()
        #expect(crochetError { try r.wait(timeout: patience) }?.status == .cancelled)
        #expect(r.info.state == .done)
    }

    @Test("waitFor's .timedOut says the call never started (queued behind a blocker)")
    func waitForQueued() throws {
        try Crochet.setup()
        let release = Event()
        let blocker = try blockReactor(release)
        let error = crochetError { try Crochet.waitFor(timeout: .milliseconds(50), name: "fetchPage") { 1 } }
        release.signal()
        #expect(try blocker.wait(timeout: patience))
        guard case .timedOut(let diagnosis?) = error else {
            Issue.record("expected .timedOut with a diagnosis, got \(String(describing: error))")
            return
        }
        #expect(diagnosis.contains("timed out: `fetchPage` has not started: queued for"))
    }

    @Test("waitFor's .timedOut says the call has been running on the reactor thread")
    func waitForRunning() throws {
        try Crochet.setup()
        // Other tests may hold the reactor for a while: try until the call
        // was running at the timeout (it then holds the reactor until released).
        var diagnosis: String?
        for _ in 0..<5 {
            let release = Event()
            let error = crochetError {
                try Crochet.waitFor(timeout: .milliseconds(200), name: "slowCall") { () -> Bool in release.wait() }
            }
            release.signal()
            guard case .timedOut(let d?) = error else {
                Issue.record("expected .timedOut with a diagnosis, got \(String(describing: error))")
                return
            }
            if !d.contains("has not started") {
                diagnosis = d
                break
            }
        }
        #expect(diagnosis?.contains("`slowCall` has been running for") == true, "\(String(describing: diagnosis))")
        #expect(diagnosis?.contains("on the reactor thread (queued") == true)
        try Crochet.runInReactor {}.wait(timeout: patience)   // the slow call has returned
    }
}

@Suite("Operability: stats and settings")
struct OperabilityStatsTests {
    @Test("stats move: submitted and completed grow; the snapshot is taken on any thread")
    func statsMove() throws {
        try Crochet.setup()
        let before = try Crochet.stats
        for i in 0..<5 { _ = try Crochet.runInReactor { i }.wait(timeout: patience) }
        let after = try Crochet.stats
        #expect(after.callsSubmitted >= before.callsSubmitted + 5)
        #expect(after.callsCompleted >= before.callsCompleted + 5)
        #expect(after.description.contains("submitted \(after.callsSubmitted)"))
    }

    @Test("stats before setup is .wrongState")
    func statsBeforeSetup() async {
        await #expect(processExitsWith: .success) {
            #expect(crochetError { try Crochet.stats }?.status == .wrongState)
        }
    }

    @Test("stats follow a scripted workload: queued behind a blocker, waiting, timers, stashed, the maxima")
    func statsFollowWorkload() async {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            try Crochet.setup()
            _ = try Crochet.stats   // a new window for the maxima
            let before = try Crochet.stats
            let release = Event()
            let blocker = try blockReactor(release)
            let queued = try (0..<3).map { i in try Crochet.runInReactor { i } }
            usleep(150_000)
            var s = try Crochet.stats
            #expect(s.callsSubmitted - before.callsSubmitted == 4)
            #expect(s.queued == 3)
            release.signal()
            for q in queued { _ = try q.wait(timeout: patience) }
            _ = try blocker.wait(timeout: patience)
            let box = Locked<Deferred<Int>?>(nil)
            let waiting = try Crochet.runInReactor { () -> Deferred<Int> in
                let d = Deferred<Int>()
                box.value = d
                return d
            }
            let timer = try Crochet.callLater(.seconds(60)) {}
            try Crochet.runInReactor {}.wait(timeout: patience)   // a round trip: counts published
            let id = try queued[0].stash()
            s = try Crochet.stats
            #expect(s.maxCallbackSeconds >= 0.1)       // the blocker
            #expect(s.maxQueueDelaySeconds >= 0.1)     // the calls behind it
            s = try Crochet.stats                      // a new window
            #expect(s.maxCallbackSeconds < 0.1)
            // Counts are published once a loop turn (after the round trip's
            // own callback returned): wait until they show the workload.
            let settled = spinUntil {
                guard let t = try? Crochet.stats else { return false }
                s = t
                return t.queued == 0 && t.waiting == before.waiting + 1 && t.timers == before.timers + 1
                    && t.callsCompleted - before.callsCompleted == 5
            }
            #expect(settled, "\(s)")
            #expect(s.stashed == before.stashed + 1)
            _ = try Crochet.retrieveResult(id, as: Int.self)
            try timer.cancel()
            waiting.cancel()
        }
        if let result, result.exitStatus != .exitCode(EXIT_SUCCESS) {
            Issue.record("the child's output: \(String(decoding: result.standardErrorContent, as: UTF8.self))")
        }
    }

    @Test("setMaxQueued: at the bound runInReactor, waitFor and callFromThread throw .again; room again once drained")
    func maxQueued() async {
        await #expect(processExitsWith: .success) {
            try Crochet.setup()
            let release = Event()
            let blocker = try blockReactor(release)
            try Crochet.setMaxQueued(2)
            let a = try Crochet.runInReactor { 1 }
            let b = try Crochet.runInReactor { 2 }
            #expect(crochetError { try Crochet.runInReactor { 3 } }?.status == .again)
            #expect(crochetError { try Crochet.waitFor(timeout: .seconds(1)) { 4 } }?.status == .again)
            #expect(crochetError { try Crochet.callFromThread {} }?.status == .again)
            release.signal()
            #expect(try a.wait(timeout: patience) == 1)
            #expect(try b.wait(timeout: patience) == 2)
            #expect(try Crochet.runInReactor { 5 }.wait(timeout: patience) == 5)
            try Crochet.setMaxQueued(0)
            _ = try blocker.wait(timeout: patience)
            #expect(crochetError { try Crochet.setMaxQueued(-1) }?.status == .invalidArgument)
        }
    }

    @Test("setStashLimit: stash throws .again at the size bound; a result past the age bound is dropped")
    func stashLimit() async {
        await #expect(processExitsWith: .success) {
            try Crochet.setup()
            try Crochet.setStashLimit(results: 1)
            let r = try Crochet.runInReactor { 42 }
            _ = try r.wait(timeout: patience)
            let id = try r.stash()
            #expect(crochetError { try r.stash() }?.status == .again)
            #expect(try Crochet.retrieveResult(id, as: Int.self).wait(timeout: patience) == 42)
            try Crochet.setStashLimit(results: 0, maxAge: .milliseconds(200))
            let old = try r.stash()
            #expect(spinUntil { (try? Crochet.stats.stashed) == 0 }, "the stashed result was not dropped")
            #expect(crochetError { try Crochet.retrieveResult(old, as: Int.self) }?.status == .notFound)
            try Crochet.setStashLimit()
            #expect(crochetError { try Crochet.setStashLimit(results: -1) }?.status == .invalidArgument)
            #expect(crochetError { try Crochet.setStashLimit(maxAge: .seconds(-1)) }?.status == .invalidArgument)
        }
    }

    @Test("setStallWarning: a call blocking the reactor past the threshold gets one WARNING naming it")
    func stallWarning() async {
        await #expect(processExitsWith: .success) {
            let records = Locked<[(LogLevel, String)]>([])
            Crochet.setLogHandler { level, message in records.withLock { $0.append((level, message)) } }
            try Crochet.setStallWarning(.milliseconds(100))
            try Crochet.setup()
            let release = Event()
            let blocker = try blockReactor(release, name: "stuckCall")
            let behind = try Crochet.runInReactor { 1 }
            #expect(spinUntil { records.value.contains { $0.1.contains("stalled") } }, "no stall warning")
            usleep(300_000)   // more looks by the watchdog: still one warning
            release.signal()
            _ = try blocker.wait(timeout: patience)
            _ = try behind.wait(timeout: patience)
            #expect(spinUntil { records.value.contains { $0.1.contains("free again") } }, "no DEBUG record")
            let stalls = records.value.filter { $0.1.contains("stalled") }
            #expect(stalls.count == 1)
            #expect(stalls.first?.0 == .warning)
            #expect(stalls.first?.1.contains("the reactor thread is stalled: `stuckCall` has been running for") == true)
            #expect(stalls.first?.1.contains("1 call is queued behind it") == true)
            try Crochet.setStallWarning(.zero)
            #expect(crochetError { try Crochet.setStallWarning(.seconds(-1)) }?.status == .invalidArgument)
        }
    }
}
