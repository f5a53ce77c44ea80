import CLinux
import Glibc
import Testing
@testable import Crochet

// The public Swift API against the process's one global reactor. Every test
// calls `Crochet.setup()` (idempotent) first and none stops the reactor.

/// Occupies the global reactor thread until the returned event is signalled
/// (or the patience runs out), so that calls submitted meanwhile stay queued.
private func blockReactor() throws -> Event {
    try Crochet.setup()
    let started = Event(), release = Event()
    try Crochet.runInReactor { started.signal(); release.wait() }
    try #require(started.wait(), "the reactor did not start the blocking call")
    return release
}

/// Submits a call returning a pending deferred (kept in the returned box, for
/// the test to fire from the reactor thread), and waits until the reactor
/// has made it.
private func pendingDeferredCall<T: Sendable>(_ type: T.Type = T.self, canceller: (@ReactorActor (Deferred<T>) -> Void)? = nil)
    throws -> (EventualResult<T>, Locked<Deferred<T>?>) {
    try Crochet.setup()
    let box = Locked<Deferred<T>?>(nil)
    let result = try Crochet.runInReactor { () -> Deferred<T> in
        let d = Deferred<T>(canceller: canceller)
        box.value = d
        return d
    }
    try #require(spinUntil { box.value != nil }, "the reactor did not run the call")
    return (result, box)
}

/// Spins (yielding the task) until `condition` holds or the patience runs out.
private func yieldUntil(_ condition: () -> Bool) async -> Bool {
    let deadline = cl_now_ns() + Int64(patienceSeconds * 1e9)
    while !condition() {
        if cl_now_ns() > deadline { return false }
        await Task.yield()
    }
    return true
}

private struct Point: Equatable, Sendable {
    var x: Int
    var y: Double
    var label: String
}

private final class Reference: @unchecked Sendable {}

@Suite("Lifecycle in the shared process")
struct SharedLifecycleTests {
    @Test("setup is idempotent")
    func setupTwice() throws {
        try Crochet.setup()
        try Crochet.setup()
        #expect(Engine.reactor != nil)
    }

    @Test("noSetup after setup is .wrongState")
    func noSetupAfterSetup() throws {
        try Crochet.setup()
        #expect(crochetError { try Crochet.noSetup() }?.status == .wrongState)
    }

    @Test("runReactor after setup is .wrongState (the library owns the reactor thread)")
    func runAfterSetup() throws {
        try Crochet.setup()
        #expect(crochetError { try Crochet.run() }?.status == .wrongState)
    }

    @Test("Crochet.inReactorThread is false on a test thread and true inside a call")
    func inReactorThreadFlag() throws {
        try Crochet.setup()
        #expect(!Crochet.inReactorThread)
        #expect(try Crochet.runInReactor { Crochet.inReactorThread }.wait(timeout: patience))
    }
}

@Suite("runInReactor")
struct RunInReactorTests {
    @Test("an Int comes back")
    func int() throws {
        try Crochet.setup()
        #expect(try Crochet.runInReactor { 6 * 7 }.wait(timeout: patience) == 42)
    }

    @Test("a String comes back")
    func string() throws {
        try Crochet.setup()
        #expect(try Crochet.runInReactor { "héllo " + String(repeating: "x", count: 1000) }.wait(timeout: patience)
                == "héllo " + String(repeating: "x", count: 1000))
    }

    @Test("a struct comes back")
    func structValue() throws {
        try Crochet.setup()
        let p = Point(x: -3, y: 2.5, label: "p")
        #expect(try Crochet.runInReactor { p }.wait(timeout: patience) == p)
    }

    @Test("an array and a dictionary come back")
    func collections() throws {
        try Crochet.setup()
        #expect(try Crochet.runInReactor { Array(0..<1000) }.wait(timeout: patience) == Array(0..<1000))
        #expect(try Crochet.runInReactor { ["a": 1, "b": 2] }.wait(timeout: patience) == ["a": 1, "b": 2])
    }

    @Test("a class instance comes back as the same object")
    func classIdentity() throws {
        try Crochet.setup()
        let object = Reference()
        #expect(try Crochet.runInReactor { object }.wait(timeout: patience) === object)
    }

    @Test("a Void closure completes with ()")
    func void() throws {
        try Crochet.setup()
        let ran = Counter()
        try Crochet.runInReactor { ran.increment(); return () }.wait(timeout: patience)
        #expect(ran.value == 1)
    }

    @Test("an Optional that is nil comes back as nil, one that is not as its value")
    func optionals() throws {
        try Crochet.setup()
        let none: Int? = try Crochet.runInReactor { Int?.none }.wait(timeout: patience)
        #expect(none == nil)
        let some: Int? = try Crochet.runInReactor { Int?.some(5) }.wait(timeout: patience)
        #expect(some == 5)
    }

    @Test("a thrown error comes back as .failed carrying the original error")
    func thrownError() throws {
        try Crochet.setup()
        let r = try Crochet.runInReactor { () throws -> Int in throw TestError.code(31) }
        let error = crochetError { try r.wait(timeout: patience) }
        guard case .failed(let failure)? = error else {
            Issue.record("expected .failed, got \(String(describing: error))")
            return
        }
        #expect(failure.error as? TestError == .code(31))
        #expect(failure.code == Status.failed.rawValue)
        #expect(failure.message == "\(TestError.code(31))")
        #expect(!failure.traceback.isEmpty)
        #expect(r.originalFailure === failure)
    }

    @Test("a closure returning a deferred that throws instead comes back as .failed")
    func deferredClosureThrows() throws {
        try Crochet.setup()
        let r = try Crochet.runInReactor { () throws -> Deferred<Int> in throw TestError.boom }
        #expect(crochetError { try r.wait(timeout: patience) }?.failure?.error as? TestError == .boom)
    }

    @Test("calls from one thread run in submission order")
    func submissionOrder() throws {
        try Crochet.setup()
        let log = Locked<[Int]>([])
        let results = try (0..<1000).map { i in try Crochet.runInReactor { log.withLock { $0.append(i) } } }
        for r in results { try r.wait(timeout: patience) }
        #expect(log.value == Array(0..<1000))
    }

    @Test("4 threads x 1,000 calls all complete with their own values")
    func manyThreads() throws {
        try Crochet.setup()
        let wrong = Counter()
        let joined = runThreads(4) { t in
            var results: [(EventualResult<Int>, Int)] = []
            for i in 0..<1000 {
                let n = t * 10_000 + i
                if let r = try? Crochet.runInReactor({ n * 2 }) { results.append((r, n * 2)) } else { wrong.increment() }
            }
            for (r, expected) in results where (try? r.wait(timeout: patience)) != expected { wrong.increment() }
        }
        #expect(joined)
        #expect(wrong.value == 0)
    }

    @Test("the engine lets go of a returned object and of the closure once the result is gone")
    func noLeaks() throws {
        try Crochet.setup()
        weak var weakValue: Reference?
        weak var weakCaptured: Reference?
        do {
            let captured = Reference()
            weakCaptured = captured
            let r = try Crochet.runInReactor { () -> Reference in
                _ = captured
                let made = Reference()
                return made
            }
            let value = try r.wait(timeout: patience)
            weakValue = value
        }
        // The reactor may still be finishing the item when the wait returns.
        #expect(spinUntil { weakValue == nil }, "the returned object leaked")
        #expect(spinUntil { weakCaptured == nil }, "the closure's captures leaked")
    }

    @Test("a call can submit another call from the reactor thread without blocking")
    func nestedSubmit() throws {
        try Crochet.setup()
        let inner = try Crochet.runInReactor { try Crochet.runInReactor { 9 } }.wait(timeout: patience)
        #expect(try inner.wait(timeout: patience) == 9)
    }
}

@Suite("EventualResult")
struct EventualResultTests {
    @Test("a wait that times out throws .timedOut; a later wait returns the value")
    func timeoutThenSuccess() throws {
        let (r, box) = try pendingDeferredCall(Int.self)
        #expect(crochetError { try r.wait(timeout: .milliseconds(20)) }?.status == .timedOut)
        #expect(!r.isDone)
        try Crochet.callFromThread { try? box.value?.callback(5) }
        #expect(try r.wait(timeout: patience) == 5)
        #expect(r.isDone)
        // Every later wait returns the same value.
        #expect(try r.wait(timeout: .zero) == 5)
        #expect(try r.wait() == 5)
    }

    @Test("a zero timeout polls: .timedOut at once while pending")
    func poll() throws {
        let (r, box) = try pendingDeferredCall(Int.self)
        let start = cl_now_ns()
        #expect(crochetError { try r.wait(timeout: .zero) }?.status == .timedOut)
        #expect(cl_now_ns() - start < 1_000_000_000)
        try Crochet.callFromThread { try? box.value?.callback(1) }
        #expect(try r.wait(timeout: patience) == 1)
    }

    @Test("a negative timeout is .invalidArgument, even on a finished result")
    func negativeTimeout() throws {
        try Crochet.setup()
        let r = try Crochet.runInReactor { 1 }
        _ = try r.wait(timeout: patience)
        #expect(crochetError { try r.wait(timeout: .milliseconds(-1)) }?.status == .invalidArgument)
    }

    @Test("a wait without timeout returns once the value exists")
    func noTimeout() throws {
        let (r, box) = try pendingDeferredCall(String.self)
        let firer = TestThread { _ = try? Crochet.callLater(.milliseconds(5)) { try? box.value?.callback("late") } }
        #expect(try r.wait() == "late")
        #expect(firer.join())
    }

    @Test("a deferred fired later by callLater completes the result")
    func deferredFiredByCallLater() throws {
        try Crochet.setup()
        let r = try Crochet.runInReactor { () -> Deferred<Point> in
            let d = Deferred<Point>()
            try Crochet.callLater(.milliseconds(10)) { try? d.callback(Point(x: 1, y: 2, label: "later")) }
            return d
        }
        #expect(try r.wait(timeout: patience) == Point(x: 1, y: 2, label: "later"))
    }

    @Test("a deferred that errbacks fails the result with the original error")
    func deferredErrback() throws {
        try Crochet.setup()
        let r = try Crochet.runInReactor { () -> Deferred<Int> in
            let d = Deferred<Int>()
            try Crochet.callLater(.zero) { try? d.errback(TestError.code(8)) }
            return d
        }
        let error = crochetError { try r.wait(timeout: patience) }
        #expect(error?.status == .failed)
        #expect(error?.failure?.error as? TestError == .code(8))
    }

    @Test("many threads waiting on one result all get its value")
    func manyWaiters() throws {
        let (r, box) = try pendingDeferredCall(Int.self)
        let got = Locked<[Int]>([])
        let threads = (0..<8).map { _ in TestThread { if let v = try? r.wait(timeout: patience) { got.withLock { $0.append(v) } } } }
        try Crochet.callFromThread { try? box.value?.callback(11) }
        for t in threads { #expect(t.join()) }
        #expect(got.value == Array(repeating: 11, count: 8))
    }

    @Test("waiting on the reactor thread throws .onReactorThread at once")
    func waitOnReactorThread() throws {
        let (other, box) = try pendingDeferredCall(Int.self)
        let error = try Crochet.runInReactor { crochetError { try other.wait(timeout: .seconds(5)) } }.wait(timeout: patience)
        #expect(error?.status == .onReactorThread)
        try Crochet.callFromThread { try? box.value?.callback(0) }
        _ = try other.wait(timeout: patience)
    }

    @Test("originalFailure is nil while pending and on success, the failure after a failure")
    func originalFailure() throws {
        let (pending, box) = try pendingDeferredCall(Int.self)
        #expect(pending.originalFailure == nil)
        try Crochet.callFromThread { try? box.value?.callback(3) }
        _ = try pending.wait(timeout: patience)
        #expect(pending.originalFailure == nil)

        let failing = try Crochet.runInReactor { () throws -> Int in throw TestError.boom }
        #expect(spinUntil { failing.isDone })
        let f = try #require(failing.originalFailure)
        #expect(f.error as? TestError == .boom)
        #expect(failing.originalFailure === f)
    }

    @Test("waiting for a different type than the call returned is .invalidArgument")
    func wrongType() throws {
        try Crochet.setup()
        let id = try Crochet.runInReactor { 5 }.stash()
        let r = try Crochet.retrieveResult(id, as: String.self)
        #expect(crochetError { try r.wait(timeout: patience) }?.status == .invalidArgument)
    }
}

@Suite("Cancellation")
struct CancellationTests {
    @Test("cancelling a call that returned a pending deferred fails it with .cancelled")
    func cancelPendingDeferred() throws {
        let (r, _) = try pendingDeferredCall(Int.self)
        r.cancel()
        let error = crochetError { try r.wait(timeout: patience) }
        #expect(error?.status == .cancelled)
        #expect(error?.failure?.code == Status.cancelled.rawValue)
    }

    @Test("cancelling runs the deferred's canceller on the reactor thread")
    func cancellerRuns() throws {
        let onReactor = Locked<Bool?>(nil)
        let (r, box) = try pendingDeferredCall(Int.self) { _ in onReactor.value = Crochet.inReactorThread }
        r.cancel()
        #expect(crochetError { try r.wait(timeout: patience) }?.status == .cancelled)
        #expect(onReactor.value == true)
        _ = box
    }

    @Test("a canceller that fires the deferred decides the outcome")
    func cancellerFires() throws {
        let (r, box) = try pendingDeferredCall(Int.self) { d in try? d.callback(-1) }
        r.cancel()
        #expect(try r.wait(timeout: patience) == -1)
        _ = box
    }

    @Test("a call cancelled before it starts never runs and completes as .cancelled")
    func cancelBeforeStart() throws {
        let release = try blockReactor()
        let ran = Counter()
        let r = try Crochet.runInReactor { ran.increment() }
        r.cancel()
        release.signal()
        #expect(crochetError { try r.wait(timeout: patience) }?.status == .cancelled)
        // A call queued after it runs, so the cancelled one had its turn.
        try Crochet.runInReactor {}.wait(timeout: patience)
        #expect(ran.value == 0)
    }

    @Test("cancelling a finished result leaves it unchanged")
    func cancelAfterDone() throws {
        try Crochet.setup()
        let r = try Crochet.runInReactor { 12 }
        #expect(try r.wait(timeout: patience) == 12)
        r.cancel()
        #expect(try r.wait(timeout: patience) == 12)
        #expect(r.originalFailure == nil)
    }

    @Test("cancelling twice has no further effect")
    func cancelTwice() throws {
        let calls = Counter()
        let (r, box) = try pendingDeferredCall(Int.self) { _ in calls.increment() }
        r.cancel()
        r.cancel()
        #expect(crochetError { try r.wait(timeout: patience) }?.status == .cancelled)
        r.cancel()
        try Crochet.runInReactor {}.wait(timeout: patience)
        #expect(calls.value == 1)
        _ = box
    }

    @Test("a running plain call cannot be cancelled: it completes with its value")
    func cancelRunningCall() throws {
        try Crochet.setup()
        let started = Event(), release = Event()
        let r = try Crochet.runInReactor { () -> Int in started.signal(); release.wait(); return 4 }
        #expect(started.wait())
        r.cancel()
        release.signal()
        #expect(try r.wait(timeout: patience) == 4)
    }
}

@Suite("stash and retrieveResult")
struct StashTests {
    @Test("a stashed result is retrieved once with its value; a second retrieve is .notFound")
    func retrieveOnce() throws {
        try Crochet.setup()
        let id = try Crochet.runInReactor { "kept" }.stash()
        #expect(id != 0)
        #expect(try Crochet.retrieveResult(id, as: String.self).wait(timeout: patience) == "kept")
        #expect(crochetError { try Crochet.retrieveResult(id, as: String.self) }?.status == .notFound)
    }

    @Test("a pending result can be stashed and completes after retrieval")
    func stashPending() throws {
        let (r, box) = try pendingDeferredCall(Int.self)
        let id = try r.stash()
        let again = try Crochet.retrieveResult(id, as: Int.self)
        try Crochet.callFromThread { try? box.value?.callback(21) }
        #expect(try again.wait(timeout: patience) == 21)
    }

    @Test("an id never handed out is .notFound")
    func unknownId() {
        #expect(crochetError { try Crochet.retrieveResult(0, as: Int.self) }?.status == .notFound)
    }
}

@Suite("waitFor")
struct WaitForTests {
    @Test("waitFor returns the closure's value")
    func value() throws {
        try Crochet.setup()
        #expect(try Crochet.waitFor(timeout: patience) { 3 + 4 } == 7)
    }

    @Test("waitFor throws .failed with the closure's error")
    func failure() throws {
        try Crochet.setup()
        let error = crochetError { try Crochet.waitFor(timeout: patience) { () throws -> Int in throw TestError.code(2) } }
        #expect(error?.failure?.error as? TestError == .code(2))
    }

    @Test("waitFor follows a returned deferred")
    func deferred() throws {
        try Crochet.setup()
        let v = try Crochet.waitFor(timeout: patience) { () -> Deferred<String> in
            let d = Deferred<String>()
            try Crochet.callLater(.milliseconds(1)) { try? d.callback("done") }
            return d
        }
        #expect(v == "done")
    }

    @Test("waitFor that times out throws .timedOut and cancels the call")
    func timeoutCancels() throws {
        try Crochet.setup()
        let cancelled = Event()
        let ran = Event()
        let box = Locked<Deferred<Int>?>(nil)   // keeps the deferred alive
        let error = crochetError {
            try Crochet.waitFor(timeout: .milliseconds(20)) { () -> Deferred<Int> in
                ran.signal()
                let d = Deferred<Int>(canceller: { _ in cancelled.signal() })
                box.value = d
                return d
            }
        }
        #expect(error?.status == .timedOut)
        try Crochet.runInReactor {}.wait(timeout: patience)   // the cancellation has reached the reactor
        if ran.isSignalled {
            #expect(cancelled.wait(), "the call ran, but the deferred it returned was not cancelled")
        } else {
            // A loaded machine: the reactor had not started the call within
            // 20 ms, and a call cancelled before it starts never starts.
            try Crochet.runInReactor {}.wait(timeout: patience)
            #expect(!ran.isSignalled, "a call cancelled before it started ran")
        }
    }

    @Test("waitFor on the reactor thread throws .onReactorThread without running the closure")
    func onReactorThread() throws {
        try Crochet.setup()
        let ran = Counter()
        let error = try Crochet.runInReactor { crochetError { try Crochet.waitFor(timeout: .seconds(1)) { ran.increment() } } }
            .wait(timeout: patience)
        #expect(error?.status == .onReactorThread)
        try Crochet.runInReactor {}.wait(timeout: patience)
        #expect(ran.value == 0)
    }
}

@Suite("async value")
struct AsyncValueTests {
    @Test("awaiting a result gives its value", .timeLimit(.minutes(1)))
    func awaitValue() async throws {
        try Crochet.setup()
        #expect(try await Crochet.runInReactor { "async" }.value == "async")
    }

    @Test("awaiting a finished result returns at once", .timeLimit(.minutes(1)))
    func awaitDone() async throws {
        try Crochet.setup()
        let r = try Crochet.runInReactor { 8 }
        _ = try r.wait(timeout: patience)
        #expect(try await r.value == 8)
        #expect(try await r.value == 8)
    }

    @Test("awaiting a failed result throws .failed with the original error", .timeLimit(.minutes(1)))
    func awaitFailure() async throws {
        try Crochet.setup()
        let r = try Crochet.runInReactor { () throws -> Int in throw TestError.code(5) }
        do {
            _ = try await r.value
            Issue.record("no error thrown")
        } catch let error as CrochetError {
            #expect(error.failure?.error as? TestError == .code(5))
        }
    }

    @Test("100 tasks awaiting one pending result all get its value", .timeLimit(.minutes(1)))
    func manyTasksOneResult() async throws {
        let (r, box) = try pendingDeferredCall(Int.self)
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<100 { group.addTask { try await r.value } }
            // Fire once some task is parked on the result.
            #expect(await yieldUntil { r.core.state.load(ordering: .relaxed) & ResultCore.Bit.asyncWaiters != 0 })
            try Crochet.callFromThread { try? box.value?.callback(77) }
            var count = 0
            for try await v in group {
                #expect(v == 77)
                count += 1
            }
            #expect(count == 100)
        }
    }

    @Test("1,000 tasks each awaiting their own result get their own values", .timeLimit(.minutes(1)))
    func manyTasksManyResults() async throws {
        try Crochet.setup()
        try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for i in 0..<1000 {
                group.addTask { (i, try await Crochet.runInReactor { i * 3 }.value) }
            }
            var count = 0
            for try await (i, v) in group {
                #expect(v == i * 3)
                count += 1
            }
            #expect(count == 1000)
        }
    }

    @Test("cancelling the awaiting task cancels the call", .timeLimit(.minutes(1)))
    func taskCancellation() async throws {
        let cancelled = Event()
        let (r, box) = try pendingDeferredCall(Int.self) { _ in cancelled.signal() }
        let task = Task { try await r.value }
        #expect(await yieldUntil { r.core.state.load(ordering: .relaxed) & ResultCore.Bit.asyncWaiters != 0 })
        task.cancel()
        do {
            let v = try await task.value
            Issue.record("the task returned \(v)")
        } catch let error as CrochetError {
            #expect(error.status == .cancelled)
        }
        #expect(cancelled.wait(), "the deferred's canceller did not run")
        #expect(r.isDone)
        _ = box
    }

    @Test("a task already cancelled when it starts awaiting cancels the call at once", .timeLimit(.minutes(1)))
    func alreadyCancelledTask() async throws {
        // (A call not yet started is covered by the synchronous cancel test:
        // holding the reactor while a task needs a pool thread can starve the
        // pool, which other tests block while they wait on the reactor.)
        let cancelled = Event()
        let (r, box) = try pendingDeferredCall(Int.self) { _ in cancelled.signal() }
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await r.value
        }
        let outcome = await task.result
        if case .failure(let error as CrochetError) = outcome {
            #expect(error.status == .cancelled)
        } else {
            Issue.record("expected .cancelled, got \(outcome)")
        }
        #expect(cancelled.wait(), "the deferred's canceller did not run")
        _ = box
    }
}

@Suite("Deferred (Swift)")
struct DeferredTests {
    /// Runs `body` on the reactor thread and returns its value.
    private func onReactor<T: Sendable>(_ body: @escaping @ReactorActor () throws -> T) throws -> T {
        try Crochet.setup()
        return try Crochet.runInReactor(body).wait(timeout: patience)
    }

    @Test("firing twice throws .alreadyFired")
    func fireTwice() throws {
        let errors = try onReactor { () -> [Status?] in
            let d = Deferred<Int>()
            try d.callback(1)
            return [crochetError { try d.callback(2) }?.status, crochetError { try d.errback(TestError.boom) }?.status]
        }
        #expect(errors == [.already, .already])
    }

    @Test("firing a cancelled deferred is silently accepted")
    func fireAfterCancel() throws {
        let errors = try onReactor { () -> [Status?] in
            let d = Deferred<Int>()
            try d.cancel()
            return [crochetError { try d.callback(2) }?.status, crochetError { try d.errback(TestError.boom) }?.status]
        }
        #expect(errors == [nil, nil])
    }

    @Test("cancelling twice, or after firing, throws .alreadyFired")
    func cancelTwice() throws {
        let errors = try onReactor { () -> [Status?] in
            let a = Deferred<Int>()
            try a.cancel()
            let b = Deferred<Int>()
            try b.callback(0)
            return [crochetError { try a.cancel() }?.status, crochetError { try b.cancel() }?.status]
        }
        #expect(errors == [.already, .already])
    }

    @Test("callbacks added before firing run when it fires; after firing, at once")
    func addCallbacks() throws {
        let log = try onReactor { () -> [String] in
            var log: [String] = []
            let d = Deferred<String>()
            d.addCallbacks(onValue: { log.append("before: \($0)") }, onFailure: { _ in log.append("failure") })
            log.append("fire")
            try d.callback("v")
            d.addCallbacks(onValue: { log.append("after: \($0)") }, onFailure: { _ in log.append("failure") })
            return log
        }
        #expect(log == ["fire", "before: v", "after: v"])
    }

    @Test("onFailure sees the errback's error")
    func addCallbacksFailure() throws {
        let seen = try onReactor { () -> TestError? in
            var seen: TestError?
            let d = Deferred<Int>()
            d.addCallbacks(onValue: { _ in }, onFailure: { seen = $0.error as? TestError })
            try d.errback(TestError.code(4))
            return seen
        }
        #expect(seen == .code(4))
    }

    @Test("a canceller that does not fire still fails the deferred with .cancelled")
    func cancelWithoutFiring() throws {
        let code = try onReactor { () -> Int32? in
            var code: Int32?
            let d = Deferred<Int>(canceller: { _ in })
            d.addCallbacks(onValue: { _ in }, onFailure: { code = $0.code })
            try d.cancel()
            return code
        }
        #expect(code == Status.cancelled.rawValue)
    }
}

@Suite("callLater and callFromThread")
struct ReactorCallTests {
    @Test("callFromThread runs on the reactor thread, in submission order")
    func callFromThreadOrder() throws {
        try Crochet.setup()
        let log = Locked<[Int]>([])
        let onReactor = Counter()
        for i in 0..<500 {
            try Crochet.callFromThread {
                if Crochet.inReactorThread { onReactor.increment() }
                log.withLock { $0.append(i) }
            }
        }
        try Crochet.runInReactor {}.wait(timeout: patience)
        #expect(log.value == Array(0..<500))
        #expect(onReactor.value == 500)
    }

    @Test("callLater runs its closure on the reactor thread, no earlier than the delay")
    func callLaterDelay() throws {
        try Crochet.setup()
        let ran = Event()
        let onReactor = Locked<Bool?>(nil)
        let start = cl_now_ns()
        let ranAt = Locked<Int64>(0)
        try Crochet.callLater(.milliseconds(30)) {
            ranAt.value = cl_now_ns()
            onReactor.value = Crochet.inReactorThread
            ran.signal()
        }
        #expect(ran.wait())
        #expect(ranAt.value - start >= 30_000_000)
        #expect(onReactor.value == true)
    }

    @Test("delayed calls run in deadline order, first-scheduled first among equal delays")
    func callLaterOrder() throws {
        try Crochet.setup()
        let log = Locked<[String]>([])
        let done = Counter()
        for (name, ms) in [("c", 30), ("a", 10), ("b", 20), ("a2", 10)] {
            try Crochet.callLater(.milliseconds(ms)) {
                log.withLock { $0.append(name) }
                done.increment()
            }
        }
        #expect(done.wait(for: 4))
        // "a2" was scheduled after "a" with the same delay: its deadline is later.
        #expect(log.value == ["a", "a2", "b", "c"])
    }

    @Test("a cancelled delayed call never runs; cancelling again throws .alreadyFired")
    func callLaterCancel() throws {
        try Crochet.setup()
        let ran = Counter()
        let call = try Crochet.callLater(.milliseconds(10)) { ran.increment() }
        #expect(call.isPending)
        try call.cancel()
        #expect(!call.isPending)
        #expect(crochetError { try call.cancel() }?.status == .already)
        // A later call runs after the cancelled one's deadline has passed.
        let later = Event()
        try Crochet.callLater(.milliseconds(40)) { later.signal() }
        #expect(later.wait())
        #expect(ran.value == 0)
    }

    @Test("cancelling a delayed call that ran throws .alreadyFired")
    func callLaterCancelAfterRun() throws {
        try Crochet.setup()
        let ran = Event()
        let call = try Crochet.callLater(.zero) { ran.signal() }
        #expect(ran.wait())
        #expect(spinUntil { !call.isPending })
        #expect(crochetError { try call.cancel() }?.status == .already)
    }

    @Test("callLater from the reactor thread schedules directly and can be cancelled there")
    func callLaterOnReactor() throws {
        try Crochet.setup()
        let ran = Event()
        let cancelledRan = Counter()
        try Crochet.runInReactor {
            let doomed = try Crochet.callLater(.milliseconds(1)) { cancelledRan.increment() }
            try doomed.cancel()
            try Crochet.callLater(.milliseconds(5)) { ran.signal() }
        }.wait(timeout: patience)
        #expect(ran.wait())
        #expect(cancelledRan.value == 0)
    }

    @Test("a delay too large for the clock is accepted (it never comes) and can be cancelled")
    func hugeDelay() throws {
        try Crochet.setup()
        let call = try Crochet.callLater(.seconds(Int64.max)) { Issue.record("ran") }
        #expect(call.isPending)
        try call.cancel()
        // The reactor is still fine.
        try Crochet.runInReactor {}.wait(timeout: patience)
    }

    @Test("a negative delay is .invalidArgument")
    func negativeDelay() throws {
        try Crochet.setup()
        #expect(crochetError { try Crochet.callLater(.milliseconds(-1)) {} }?.status == .invalidArgument)
    }

    @Test("cancel racing the call's own firing: a successful cancel means it never runs, a failed one that it ran")
    func cancelRacingFire() throws {
        try Crochet.setup()
        var outcomes: [(cancelled: Bool, ran: Counter)] = []
        for i in 0..<300 {
            let ran = Counter()
            let call = try Crochet.callLater(.nanoseconds(i % 3 == 0 ? 0 : 20_000)) { ran.increment() }
            if i % 2 == 0 { sched_yield() }
            outcomes.append(((try? call.cancel()) != nil, ran))
        }
        // Every call has had its deadline and its turn once this runs.
        let barrier = Event()
        try Crochet.callLater(.milliseconds(5)) { barrier.signal() }
        #expect(barrier.wait())
        try Crochet.runInReactor {}.wait(timeout: patience)
        let wrong = outcomes.enumerated().filter { $0.element.cancelled == ($0.element.ran.value != 0) }.map(\.offset)
        #expect(wrong.isEmpty, "calls whose cancel result and run count disagree: \(wrong.prefix(10))")
        #expect(outcomes.allSatisfy { $0.ran.value <= 1 })
    }

    @Test("cancelling a delayed call from many threads at once succeeds exactly once")
    func racingCancels() throws {
        try Crochet.setup()
        for _ in 0..<50 {
            let call = try Crochet.callLater(.seconds(60)) {}
            let wins = Counter()
            runThreads(4) { _ in if (try? call.cancel()) != nil { wins.increment() } }
            #expect(wins.value == 1)
        }
    }
}

@Suite("Reactor services")
struct ServicesTests {
    private func pipePair() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        return (fds[0], fds[1])
    }

    @Test("a reader runs while its fd stays readable (level-triggered) and stops when removed")
    func levelTriggeredReader() throws {
        try Crochet.setup()
        let (r, w) = try pipePair()
        defer { close(r); close(w) }
        let calls = Counter()
        let drained = Event()
        try Crochet.runInReactor {
            try Crochet.addReader(r) { fd in
                var byte: UInt8 = 0
                _ = read(fd, &byte, 1)    // one byte per call: the fd stays readable
                if calls.increment() == 3 {
                    try? Crochet.removeReader(fd)
                    drained.signal()
                }
            }
        }.wait(timeout: patience)
        #expect(write(w, "abc", 3) == 3)
        #expect(drained.wait())
        // More data after removal calls nothing.
        #expect(write(w, "d", 1) == 1)
        for _ in 0..<3 { try Crochet.runInReactor {}.wait(timeout: patience) }
        #expect(calls.value == 3)
    }

    @Test("a writer runs when its fd is writable")
    func writer() throws {
        try Crochet.setup()
        let (r, w) = try pipePair()
        defer { close(r); close(w) }
        let ran = Event()
        try Crochet.runInReactor {
            try Crochet.addWriter(w) { fd in
                try? Crochet.removeWriter(fd)
                ran.signal()
            }
        }.wait(timeout: patience)
        #expect(ran.wait())
    }

    @Test("a second addReader for an fd replaces the first callback")
    func replaceReader() throws {
        try Crochet.setup()
        let (r, w) = try pipePair()
        defer { close(r); close(w) }
        let first = Counter(), second = Event()
        try Crochet.runInReactor {
            try Crochet.addReader(r) { _ in first.increment() }
            try Crochet.addReader(r) { fd in
                try? Crochet.removeReader(fd)
                second.signal()
            }
        }.wait(timeout: patience)
        #expect(write(w, "x", 1) == 1)
        #expect(second.wait())
        #expect(first.value == 0)
    }

    @Test("addReader of a closed or negative fd is .invalidArgument")
    func badFd() throws {
        try Crochet.setup()
        // An fd number no file can have (tests run in parallel in this
        // process: a number just closed may be reused by another test).
        let r = Int32.max - 1
        let statuses = try Crochet.runInReactor { () -> [Status?] in
            [crochetError { try Crochet.addReader(r) { _ in } }?.status, crochetError { try Crochet.addReader(-1) { _ in } }?.status]
        }.wait(timeout: patience)
        #expect(statuses == [.invalidArgument, .invalidArgument])
    }

    @Test("a watcher on an fd number that now names a different file still works (stale registration)")
    func reusedFdNumber() throws {
        try Crochet.setup()
        let (oldRead, oldWrite) = try pipePair()
        let (newRead, newWrite) = try pipePair()
        defer { close(oldRead); close(newWrite) }
        let oldCalls = Counter()
        let newCalled = Event()
        try Crochet.runInReactor {
            try Crochet.addReader(oldRead) { _ in oldCalls.increment() }
            // Make `oldRead` name the new pipe: the old file is released,
            // and with it the kernel's epoll registration for it.
            _ = dup2(newRead, oldRead)
            close(newRead)
            close(oldWrite)
            try Crochet.addReader(oldRead) { fd in
                try? Crochet.removeReader(fd)
                newCalled.signal()
            }
        }.wait(timeout: patience)
        #expect(write(newWrite, "n", 1) == 1)
        #expect(newCalled.wait(), "the reader of the reused fd number was not called")
        #expect(oldCalls.value == 0)
    }

    @Test("deferToThread runs the body off the reactor thread and fires with its value")
    func deferToThreadValue() throws {
        try Crochet.setup()
        let onReactor = try Crochet.runInReactor { try Crochet.deferToThread { Crochet.inReactorThread } }.wait(timeout: patience)
        #expect(onReactor == false)
        #expect(try Crochet.runInReactor { try Crochet.deferToThread { "worker" } }.wait(timeout: patience) == "worker")
    }

    @Test("deferToThread fails with the body's error")
    func deferToThreadError() throws {
        try Crochet.setup()
        let r = try Crochet.runInReactor { try Crochet.deferToThread { () throws -> Int in throw TestError.code(9) } }
        #expect(crochetError { try r.wait(timeout: patience) }?.failure?.error as? TestError == .code(9))
    }

    @Test("many deferToThread jobs at once all complete with their values")
    func deferToThreadMany() throws {
        try Crochet.setup()
        let results = try (0..<200).map { i in try Crochet.runInReactor { try Crochet.deferToThread { i * i } } }
        for (i, r) in results.enumerated() { #expect(try r.wait(timeout: patience) == i * i) }
    }
}
