import Glibc
import Testing
@testable import Crochet

// Behaviour that needs a fresh process (no setup yet, noSetup, stopping the
// reactor, the exit handler) runs in exit tests: each body runs in a child
// process of its own, and expectations recorded there fail the test here.

@Suite("Lifecycle in a fresh process")
struct LifecycleTests {
    @Test("before setup, submitting, stopping and running are .wrongState")
    func beforeSetup() async {
        await #expect(processExitsWith: .success) {
            #expect(crochetError { try Crochet.runInReactor { 1 } }?.status == .wrongState, "runInReactor")
            #expect(crochetError { try Crochet.callFromThread {} }?.status == .wrongState, "callFromThread")
            #expect(crochetError { try Crochet.callLater(.zero) {} }?.status == .wrongState, "callLater")
            #expect(crochetError { try Crochet.stop() }?.status == .wrongState, "stopReactor")
            #expect(crochetError { try Crochet.run() }?.status == .wrongState, "runReactor")
            #expect(crochetError { try Crochet.addShutdownTrigger {} }?.status == .wrongState, "addShutdownTrigger")
            #expect(crochetError { try Crochet.waitFor(timeout: .seconds(1)) { 1 } }?.status == .wrongState, "waitFor")
        }
    }

    @Test("noSetup, then runReactor on an application thread runs calls until stopReactor")
    func noSetupRunStop() async {
        await #expect(processExitsWith: .success) {
            try Crochet.noSetup()
            #expect(Engine.reactor != nil)
            // Submitted before the loop runs: queued until it does.
            let early = try Crochet.runInReactor { Crochet.inReactorThread }
            #expect(crochetError { try early.wait(timeout: .milliseconds(20)) }?.status == .timedOut, "ran before runReactor")
            let loopResult = Locked<CrochetError?>(nil)
            let loop = TestThread { loopResult.value = crochetError { try Crochet.run() } }
            #expect(try early.wait(timeout: .seconds(20)) == true, "the call did not run on the loop's thread")
            #expect(crochetError { try Crochet.run() }?.status == .wrongState, "a second runReactor while running")
            try Crochet.stop()
            #expect(loop.join(), "runReactor did not return after stopReactor")
            #expect(loopResult.value == nil, "runReactor threw \(String(describing: loopResult.value))")
            #expect(crochetError { try Crochet.runInReactor { 1 } }?.status == .stopped, "submit after stop")
            #expect(crochetError { try Crochet.run() }?.status == .wrongState, "runReactor after stop")
            try Crochet.stop()     // idempotent
        }
    }

    @Test("noSetup twice is .wrongState, and setup after noSetup does nothing")
    func noSetupTwice() async {
        await #expect(processExitsWith: .success) {
            try Crochet.noSetup()
            #expect(crochetError { try Crochet.noSetup() }?.status == .wrongState, "second noSetup")
            try Crochet.setup()
            // No thread was started: a call stays queued.
            let r = try Crochet.runInReactor { 1 }
            #expect(crochetError { try r.wait(timeout: .milliseconds(50)) }?.status == .timedOut, "setup started a reactor")
            // Stopping a reactor that never ran completes the queued call as stopped.
            try Crochet.stop()
            let error = crochetError { try r.wait(timeout: .seconds(20)) }
            #expect(error?.status == .stopped, "queued call after stop: \(String(describing: error))")
        }
    }

    @Test("stopping completes pending results as .stopped, waking blocked waiters and awaiting tasks")
    func stopCompletesPending() async {
        await #expect(processExitsWith: .success) {
            try Crochet.setup()
            let box = Locked<Deferred<Int>?>(nil)
            let pending = try Crochet.runInReactor { () -> Deferred<Int> in
                let d = Deferred<Int>()
                box.value = d
                return d
            }
            #expect(spinUntil { box.value != nil })
            // Hold the loop inside a call, so that `queued` is still in the inbox
            // (not in a batch already taken) when the reactor stops.
            let started = Event(), release = Event()
            let blocker = try Crochet.runInReactor { started.signal(); return release.wait(seconds: 20) }
            #expect(started.wait(), "the blocking call did not start")
            let queued = try Crochet.runInReactor { 5 }
            let waiterError = Locked<CrochetError?>(nil)
            let waiter = TestThread { waiterError.value = crochetError { try pending.wait() } }
            let awaiting = Task { try await pending.value }
            #expect(spinUntil { pending.core.state.load(ordering: .relaxed) & ResultCore.Bit.asyncWaiters != 0 })
            try Crochet.stop()
            release.signal()
            #expect(waiter.join(), "a blocked waiter did not return")
            #expect(waiterError.value?.status == .stopped, "waiter: \(String(describing: waiterError.value))")
            #expect(crochetError { try queued.wait(timeout: .seconds(20)) }?.status == .stopped, "queued call")
            #expect(try blocker.wait(timeout: .seconds(20)) == true, "the running call finished normally")
            do {
                _ = try await awaiting.value
                Issue.record("the awaiting task got a value")
            } catch let error as CrochetError {
                #expect(error.status == .stopped)
            }
        }
    }

    @Test("once stopped the reactor stays stopped: setup does not restart it")
    func stoppedStaysStopped() async {
        await #expect(processExitsWith: .success) {
            try Crochet.setup()
            try Crochet.runInReactor {}.wait(timeout: .seconds(20))
            try Crochet.stop()
            try Crochet.setup()
            #expect(crochetError { try Crochet.runInReactor { 1 } }?.status == .stopped, "runInReactor")
            #expect(crochetError { try Crochet.callFromThread {} }?.status == .stopped, "callFromThread")
            #expect(crochetError { try Crochet.callLater(.zero) {} }?.status == .stopped, "callLater")
            #expect(crochetError { try Crochet.addShutdownTrigger {} }?.status == .stopped, "addShutdownTrigger")
        }
    }

    @Test("shutdown triggers run on the reactor thread, in reverse order, before pending results fail")
    func shutdownTriggers() async {
        await #expect(processExitsWith: .success) {
            try Crochet.setup()
            let box = Locked<Deferred<Int>?>(nil)
            let pending = try Crochet.runInReactor { () -> Deferred<Int> in
                let d = Deferred<Int>()
                box.value = d
                return d
            }
            #expect(spinUntil { box.value != nil })
            let log = Locked<[String]>([])
            for name in ["first", "second"] {
                try Crochet.addShutdownTrigger {
                    log.withLock { $0.append("\(name): reactor \(Crochet.inReactorThread), pending done \(pending.isDone)") }
                }
            }
            try Crochet.stop()
            _ = crochetError { try pending.wait(timeout: .seconds(20)) }
            #expect(log.value == ["second: reactor true, pending done false", "first: reactor true, pending done false"],
                    "\(log.value)")
        }
    }

    @Test("a trigger may fire a pending deferred, and its result gets that value instead of .stopped")
    func triggerFiresDeferred() async {
        await #expect(processExitsWith: .success) {
            try Crochet.setup()
            let box = Locked<Deferred<Int>?>(nil)
            let pending = try Crochet.runInReactor { () -> Deferred<Int> in
                let d = Deferred<Int>()
                box.value = d
                return d
            }
            #expect(spinUntil { box.value != nil })
            try Crochet.addShutdownTrigger { try? box.value?.callback(99) }
            try Crochet.stop()
            #expect((try? pending.wait(timeout: .seconds(20))) == 99)
        }
    }
}

@Suite("Misuse and unhandled errors in a fresh process")
struct MisuseTests {
    @Test("reactor-isolated code forced onto another thread traps with a BUG DETECTED message")
    func reactorIsolationOffReactor() async throws {
        // Making a Deferred (or adding a reader) off the reactor thread does
        // not compile; ReactorActor.assumeIsolated is the one way to try, and
        // it checks at run time.
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            try Crochet.setup()
            ReactorActor.assumeIsolated { _ = Deferred<Int>() }
        }
        let stderr = String(decoding: try #require(result).standardErrorContent, as: UTF8.self)
        #expect(stderr.contains("BUG DETECTED: reactor-isolated code (@ReactorActor) ran off the reactor thread"))
    }

    @Test("a canceller still runs when only the engine holds the deferred it belongs to")
    func cancellerOutlivesWrapper() async {
        // The Deferred object itself is dropped once the closure returns; the
        // engine keeps its core and the canceller, which must still work.
        await #expect(processExitsWith: .success) {
            try Crochet.setup()
            let r = try Crochet.runInReactor { Deferred<Int>(canceller: { d in try? d.callback(5) }) }
            #expect(spinUntil { r.core.state.load(ordering: .relaxed) & ResultCore.Bit.started != 0 })
            try Crochet.runInReactor {}.wait(timeout: .seconds(20))     // the call has been made
            r.cancel()
            #expect((try? r.wait(timeout: .seconds(20))) == 5)
        }
    }

    @Test("a failed result released without its failure being looked at is logged as unhandled")
    func unhandledFailureLogged() async throws {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            try Crochet.setup()
            do {
                let r = try Crochet.runInReactor { () throws -> Int in throw TestError.code(31337) }
                #expect(spinUntil { r.isDone })
            }
            _ = Log.flush(deadline: .never)
        }
        let stderr = String(decoding: try #require(result).standardErrorContent, as: UTF8.self)
        #expect(stderr.contains("Unhandled error in EventualResult: CROCHET_EFAILED (-3): code(31337)"), "\(stderr)")
        #expect(stderr.contains("Traceback:"))
    }

    @Test("observed failures, requested cancellations and stops are not logged as unhandled")
    func handledFailuresNotLogged() async throws {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            try Crochet.setup()
            do {
                let waited = try Crochet.runInReactor { () throws -> Int in throw TestError.code(1) }
                _ = crochetError { try waited.wait(timeout: .seconds(20)) }
                let inspected = try Crochet.runInReactor { () throws -> Int in throw TestError.code(2) }
                #expect(spinUntil { inspected.isDone })
                _ = inspected.originalFailure
                let box = Locked<Deferred<Int>?>(nil)
                let cancelled = try Crochet.runInReactor { () -> Deferred<Int> in
                    let d = Deferred<Int>()
                    box.value = d
                    return d
                }
                #expect(spinUntil { box.value != nil })
                cancelled.cancel()
                #expect(spinUntil { cancelled.isDone })
                let timedOut = crochetError {
                    try Crochet.waitFor(timeout: .milliseconds(10)) { () -> Deferred<Int> in Deferred<Int>() }
                }
                #expect(timedOut?.status == .timedOut)
                try Crochet.runInReactor {}.wait(timeout: .seconds(20))
                let stopped = try Crochet.runInReactor { () -> Deferred<Int> in Deferred<Int>() }
                try Crochet.stop()
                #expect(spinUntil { stopped.isDone })
            }
            Log.emit(.info, "sentinel")
            _ = Log.flush(deadline: .never)
        }
        let stderr = String(decoding: try #require(result).standardErrorContent, as: UTF8.self)
        #expect(stderr.contains("sentinel"))
        #expect(!stderr.contains("Unhandled error"), "\(stderr)")
    }

    @Test("a cancellation nobody asked for (the reactor code cancelled the deferred) is logged")
    func unrequestedCancellationLogged() async throws {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            try Crochet.setup()
            do {
                let r = try Crochet.runInReactor { () -> Deferred<Int> in
                    let d = Deferred<Int>()
                    try Crochet.callLater(.zero) { try? d.cancel() }
                    return d
                }
                #expect(spinUntil { r.isDone })
            }
            _ = Log.flush(deadline: .never)
        }
        let stderr = String(decoding: try #require(result).standardErrorContent, as: UTF8.self)
        #expect(stderr.contains("Unhandled error in EventualResult: CROCHET_ECANCELLED (-4)"), "\(stderr)")
    }

    @Test("at exit, failures of results still stashed are logged")
    func stashedFailuresLoggedAtExit() async throws {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            try Crochet.setup()
            let r = try Crochet.runInReactor { () throws -> Int in throw TestError.code(4242) }
            #expect(spinUntil { r.isDone })
            _ = try r.stash()
            exit(0)
        }
        let stderr = String(decoding: try #require(result).standardErrorContent, as: UTF8.self)
        #expect(stderr.contains("Unhandled error in stashed EventualResult at exit: CROCHET_EFAILED (-3): code(4242)"),
                "\(stderr)")
    }

    @Test("a log handler gets records in order, never on the reactor thread")
    func logHandler() async {
        await #expect(processExitsWith: .success) {
            try Crochet.setup()
            let records = Locked<[(Int32, String, Bool)]>([])
            let got = Counter()
            Log.setHandler { level, message in
                records.withLock { $0.append((level, message, Crochet.inReactorThread)) }
                got.increment()
            }
            try Crochet.runInReactor {
                for i in 0..<20 { Log.emit(.warning, "from reactor \(i)") }
            }.wait(timeout: .seconds(20))
            #expect(got.wait(for: 20))
            let value = records.value
            #expect(value.map(\.1) == (0..<20).map { "from reactor \($0)" })
            #expect(value.allSatisfy { $0.0 == LogLevel.warning.rawValue && !$0.2 })
            Log.setHandler(nil)
        }
    }

    @Test("the exit handler stops the reactor, so a waiter blocked with no timeout returns .stopped")
    func exitWakesWaiters() async {
        await #expect(processExitsWith: .success) {
            try Crochet.setup()
            let pending = try Crochet.runInReactor { () -> Deferred<Int> in Deferred<Int>() }
            let waiterError = Locked<CrochetError?>(nil)
            let waiter = TestThread { waiterError.value = crochetError { try pending.wait() } }
            try Crochet.runInReactor {}.wait(timeout: .seconds(20))
            // What the exit handler registered by Crochet.setup() runs.
            Engine.atExit()
            let ok = waiter.join() && waiterError.value?.status == .stopped
            // Leave without running the exit handler a second time (it would
            // join the reactor thread again); the exit code is the verdict.
            _exit(ok ? 0 : 1)
        }
    }
}
