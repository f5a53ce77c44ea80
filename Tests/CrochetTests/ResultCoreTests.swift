import CLinux
import Testing
@testable import Crochet

private func newResult() -> ResultCore { ResultCore(epoch: Engine.epoch.load(ordering: .relaxed)) }

/// A reactor that never runs, for calling `run(on:)` / `reject(on:)` directly.
private let idleReactor: Reactor = Reactor(epoch: Engine.epoch.load(ordering: .relaxed))!

@Suite("ResultCore")
struct ResultCoreTests {
    @Test("a result completes once: later completions are ignored and report so")
    func completesOnce() {
        let r = newResult()
        #expect(!r.isDone)
        #expect(r.complete(status: 0, value: .int32(1), outcome: nil))
        #expect(r.isDone)
        #expect(!r.complete(status: 0, value: .int32(2), outcome: nil))
        #expect(!r.complete(status: Status.failed.rawValue, value: .void, outcome: Failure(code: 1, message: "x")))
        var v = Value.void
        #expect(r.wait(deadline: .never, value: &v) == 0)
        #expect(v == .int32(1))
        #expect(r.outcome == nil)
    }

    @Test("every wait on a finished result returns the same outcome and value")
    func repeatedWaits() {
        let r = newResult()
        r.succeed(.double(1.5))
        for deadline: Deadline in [.never, .poll, deadline(in: 1)] {
            var v = Value.void
            #expect(r.wait(deadline: deadline, value: &v) == 0)
            #expect(v == .double(1.5))
        }
    }

    @Test("a wait with a deadline 0 polls: it times out at once on a pending result")
    func pollTimesOut() {
        let r = newResult()
        var v = Value.void
        let start = cl_now_ns()
        #expect(r.wait(deadline: .poll, value: &v) == Status.timedOut.rawValue)
        #expect(cl_now_ns() - start < 1_000_000_000)
        #expect(v == .void)
    }

    @Test("a wait times out no earlier than its deadline, and a later wait gets the result")
    func timeoutThenResult() {
        let r = newResult()
        var v = Value.void
        let start = cl_now_ns()
        #expect(r.wait(deadline: deadline(in: 0.03), value: &v) == Status.timedOut.rawValue)
        #expect(cl_now_ns() - start >= 30_000_000)
        let completer = TestThread { r.succeed(.int64(99)) }
        #expect(r.wait(deadline: deadline(in: patienceSeconds), value: &v) == 0)
        #expect(v == .int64(99))
        #expect(completer.join())
    }

    @Test("many threads blocked on one result all wake with its value")
    func manyWaiters() {
        let r = newResult()
        let waiters = 16
        let statuses = Locked<[Int32]>([])
        let values = Locked<[Value]>([])
        let threads = (0..<waiters).map { _ in
            TestThread {
                var v = Value.void
                let s = r.wait(deadline: deadline(in: patienceSeconds), value: &v)
                statuses.withLock { $0.append(s) }
                values.withLock { $0.append(v) }
            }
        }
        // Complete only once some waiter has gone to sleep, so the parking
        // path (not only the spin) is exercised.
        #expect(spinUntil { r.state.load(ordering: .relaxed) & ResultCore.Bit.parked != 0 })
        r.succeed(.int32(-7))
        for t in threads { #expect(t.join()) }
        #expect(statuses.value == Array(repeating: 0, count: waiters))
        #expect(values.value == Array(repeating: .int32(-7), count: waiters))
    }

    @Test("no wake-up is lost: 4 waiters on each of 3,000 results completed back to back")
    func noLostWakeups() {
        let count = 3_000
        let results = (0..<count).map { _ in newResult() }
        let timeouts = Counter()
        let wrong = Counter()
        let waiters = (0..<4).map { _ in
            TestThread {
                for (i, r) in results.enumerated() {
                    var v = Value.void
                    let s = r.wait(deadline: deadline(in: 10), value: &v)
                    if s == Status.timedOut.rawValue { timeouts.increment() }
                    else if v != .int64(Int64(i)) { wrong.increment() }
                }
            }
        }
        let completer = TestThread {
            for (i, r) in results.enumerated() { r.succeed(.int64(Int64(i))) }
        }
        #expect(completer.join())
        for w in waiters { #expect(w.join(seconds: 60)) }
        #expect(timeouts.value == 0)
        #expect(wrong.value == 0)
    }

    @Test("threads racing to look at an inherited (forked) result all see one stopped outcome")
    func racingInheritedCompletion() {
        // Inherited results are the one case where any thread may complete a
        // result, so the completion must be claimed atomically.
        for _ in 0..<200 {
            let r = ResultCore(epoch: Engine.epoch.load(ordering: .relaxed) &+ 1000)
            let outcomes = Locked<[Int32]>([])
            let failures = Locked<[ObjectIdentifier?]>([])
            runThreads(4) { i in
                var v = Value.void
                let s = r.wait(deadline: deadline(in: patienceSeconds), value: &v)
                outcomes.withLock { $0.append(s) }
                failures.withLock { $0.append(r.observedFailure().map(ObjectIdentifier.init)) }
            }
            #expect(outcomes.value == Array(repeating: Status.stopped.rawValue, count: 4))
            #expect(failures.value.allSatisfy { $0 == ObjectIdentifier(Failure.forked) })
        }
    }

    @Test("failures map to statuses: cancelled and stopped keep their code, any other code is failed",
          arguments: [(Int32(-4), Int32(-4)), (-2, -2), (-3, -3), (42, -3), (-5, -3), (0, -3), (-1, -3)])
    func statusForFailure(code: Int32, expected: Int32) {
        #expect(ResultCore.status(for: Failure(code: code, message: "")) == expected)
        let r = newResult()
        r.fail(Failure(code: code, message: ""))
        #expect(r.status == expected)
        _ = r.observedFailure()
    }

    @Test("observedFailure is nil while pending and on success, the failure otherwise")
    func observedFailure() {
        let pending = newResult()
        #expect(pending.observedFailure() == nil)
        let ok = newResult()
        ok.succeed(.int32(1))
        #expect(ok.observedFailure() == nil)
        #expect(ok.state.load(ordering: .relaxed) & ResultCore.Bit.observed == 0)
        let failed = newResult()
        let f = Failure(code: 5, message: "five")
        failed.fail(f)
        #expect(failed.state.load(ordering: .relaxed) & ResultCore.Bit.observed == 0)
        #expect(failed.observedFailure() === f)
        #expect(failed.state.load(ordering: .relaxed) & ResultCore.Bit.observed != 0)
    }

    @Test("waiting on a failed result marks its failure observed")
    func waitObserves() {
        let r = newResult()
        r.fail(Failure(code: 5, message: "five"))
        var v = Value.void
        #expect(r.wait(deadline: .poll, value: &v) == Status.failed.rawValue)
        #expect(r.state.load(ordering: .relaxed) & ResultCore.Bit.observed != 0)
    }

    @Test("a call cancelled before it starts never runs and completes as cancelled")
    func cancelBeforeStart() throws {
        let ran = Counter()
        let call = ClosureCall(epoch: Engine.epoch.load(ordering: .relaxed)) { call, _ in
            ran.increment()
            call.succeed(.int32(1))
        }
        call.requestCancel()
        call.requestCancel()     // repeated: no further effect
        #expect(call.cancelWasRequested)
        #expect(!call.isDone)
        call.run(on: idleReactor)
        #expect(ran.value == 0)
        #expect(status(of: call) == .cancelled)
        #expect(call.observedFailure() === Failure.cancelledBeforeStart)
    }

    @Test("cancelling a finished result leaves it unchanged")
    func cancelAfterDone() {
        let r = newResult()
        r.succeed(.int32(4))
        r.requestCancel()
        var v = Value.void
        #expect(r.wait(deadline: .poll, value: &v) == 0)
        #expect(v == .int32(4))
    }

    @Test("a call the stopping reactor rejects completes as stopped and drops its closure")
    func rejectedCall() {
        final class Token {}
        weak var weakToken: Token?
        let call: ClosureCall
        do {
            let token = Token()
            weakToken = token
            call = ClosureCall(epoch: Engine.epoch.load(ordering: .relaxed)) { _, _ in _ = token }
        }
        #expect(weakToken != nil)
        call.reject(on: idleReactor)
        #expect(weakToken == nil)
        #expect(status(of: call) == .stopped)
        #expect(call.observedFailure() === Failure.stopped)
    }

    @Test("a result of another fork generation completes as stopped when waited on")
    func inheritedResultStops() {
        let r = ResultCore(epoch: Engine.epoch.load(ordering: .relaxed) &+ 1000)
        var v = Value.void
        #expect(r.wait(deadline: deadline(in: patienceSeconds), value: &v) == Status.stopped.rawValue)
        #expect(r.observedFailure() === Failure.forked)
    }

    @Test("a result of another fork generation reports the fork failure when its failure is asked for")
    func inheritedResultFailure() {
        let r = ResultCore(epoch: Engine.epoch.load(ordering: .relaxed) &+ 1000)
        #expect(r.observedFailure() === Failure.forked)
        #expect(status(of: r) == .stopped)
    }
}

/// Counts `OwnedValue` destructions (a C-convention destroy function cannot
/// capture state).
private let ownedDestroyed = Counter()
private let countDestroy: @convention(c) (UnsafeMutableRawPointer?) -> Void = { p in
    ownedDestroyed.increment()
    p?.deallocate()
}

@Suite("OwnedValue")
struct OwnedValueTests {
    @Test("an owned value is destroyed exactly once, when its last holder lets go")
    func destroyedOnce() {
        let before = ownedDestroyed.value
        let target = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 8)
        var result: ResultCore? = newResult()
        do {
            let d = DeferredCore()
            d.addCallback(.result(result!))
            d.succeed(.pointer(target), owner: OwnedValue(pointer: target, destroy: countDestroy))
            #expect(result!.value.pointer == target)
        }
        // The deferred is gone; the result still holds the value.
        #expect(ownedDestroyed.value == before)
        result = nil
        #expect(ownedDestroyed.value == before + 1)
    }

    @Test("an owned value with no destroy function is simply dropped")
    func noDestroy() {
        var owner: OwnedValue? = OwnedValue(pointer: nil, destroy: nil)
        owner = nil
        #expect(owner == nil)
    }
}

@Suite("AsyncWaiters")
struct AsyncWaitersTests {
    @Test("a resume added to a pending result runs once, when it completes")
    func resumeOnCompletion() {
        let r = newResult()
        let runs = Counter()
        AsyncWaiters.add(r) { runs.increment() }
        AsyncWaiters.add(r) { runs.increment() }
        #expect(runs.value == 0)
        r.succeed(.void)
        #expect(runs.value == 2)
        r.succeed(.void)      // ignored: no second resume
        #expect(runs.value == 2)
    }

    @Test("a resume added to a finished result runs at once")
    func resumeWhenDone() {
        let r = newResult()
        r.succeed(.void)
        let runs = Counter()
        AsyncWaiters.add(r) { runs.increment() }
        #expect(runs.value == 1)
    }

    @Test("racing add and complete: every resume runs exactly once")
    func racingAddAndComplete() {
        let count = 2_000
        let results = (0..<count).map { _ in newResult() }
        let runs = (0..<count).map { _ in Counter() }
        let joined = runThreads(2) { t in
            for i in 0..<count {
                if t == 0 { AsyncWaiters.add(results[i]) { runs[i].increment() } }
                else { results[i].succeed(.void) }
            }
        }
        #expect(joined)
        let wrong = runs.enumerated().filter { $0.element.value != 1 }.map(\.offset)
        #expect(wrong.isEmpty, "results whose resume did not run exactly once: \(wrong.prefix(10))")
    }
}
