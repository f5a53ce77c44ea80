import Testing
@testable import Crochet

/// DeferredCore has no thread checks of its own (the public wrappers add
/// them), so its semantics are tested here on the test's thread.
@Suite("DeferredCore")
struct DeferredCoreTests {
    private func newResult() -> ResultCore { ResultCore(epoch: Engine.epoch.load(ordering: .relaxed)) }

    @Test("a deferred fires once: a second firing is .already and changes nothing")
    func firesOnce() {
        let d = DeferredCore()
        #expect(!d.hasFired)
        #expect(d.phase == .pending)
        #expect(d.succeed(.int32(1)) == .ok)
        #expect(d.hasFired)
        #expect(d.succeed(.int32(2)) == .already)
        #expect(d.fail(Failure(code: 9, message: "late")) == .already)
        #expect(d.phase == .succeeded)
        #expect(d.value == .int32(1))
        #expect(d.failure == nil)
    }

    @Test("a deferred that failed keeps its failure; firing it again is .already")
    func failsOnce() {
        let d = DeferredCore()
        let f = Failure(code: 42, message: "first")
        #expect(d.fail(f) == .ok)
        #expect(d.phase == .failed)
        #expect(d.failure === f)
        #expect(d.succeed(.int32(1)) == .already)
        #expect(d.fail(Failure(code: 43, message: "second")) == .already)
        #expect(d.failure === f)
    }

    @Test("an owned value's owner is kept as the outcome")
    func ownerKept() {
        let d = DeferredCore()
        let owner = OwnedValue(swiftValue: "payload")
        d.succeed(.pointer(nil), owner: owner)
        #expect(d.outcome === owner)
        #expect(d.failure == nil)
    }

    @Test("cancelling without a canceller fails the deferred with the cancelled code")
    func cancelWithoutCanceller() throws {
        let d = DeferredCore()
        #expect(d.cancel() == .ok)
        #expect(d.wasCancelled)
        #expect(d.phase == .failed)
        #expect(try #require(d.failure).code == Status.cancelled.rawValue)
    }

    @Test("firing a cancelled deferred is silently accepted and changes nothing")
    func silentAcceptAfterCancel() throws {
        let d = DeferredCore()
        d.cancel()
        let failure = try #require(d.failure)
        #expect(d.succeed(.int32(5)) == .ok)
        #expect(d.fail(Failure(code: 1, message: "late")) == .ok)
        #expect(d.failure === failure)
        #expect(d.value == .void)
    }

    @Test("a second cancel is .already and does not run the canceller again")
    func cancelTwice() {
        let runs = Counter()
        let d = DeferredCore { _ in runs.increment() }
        #expect(d.cancel() == .ok)
        #expect(d.cancel() == .already)
        #expect(runs.value == 1)
    }

    @Test("cancelling a deferred that fired is .already and does not run the canceller")
    func cancelAfterFire() {
        let runs = Counter()
        let d = DeferredCore { _ in runs.increment() }
        d.succeed(.int32(3))
        #expect(d.cancel() == .already)
        #expect(runs.value == 0)
        #expect(!d.wasCancelled)
        #expect(d.value == .int32(3))
    }

    @Test("a canceller that fires the deferred decides its outcome")
    func cancellerFires() {
        let d = DeferredCore { d in d.succeed(.int32(77)) }
        #expect(d.cancel() == .ok)
        #expect(d.phase == .succeeded)
        #expect(d.value == .int32(77))
    }

    @Test("a canceller that does not fire the deferred leaves it failed as cancelled")
    func cancellerDoesNotFire() throws {
        let ran = Counter()
        let d = DeferredCore()
        d.setCanceller { _ in ran.increment() }
        d.cancel()
        #expect(ran.value == 1)
        #expect(try #require(d.failure).code == Status.cancelled.rawValue)
    }

    @Test("a canceller that fails the deferred with its own failure keeps that failure")
    func cancellerFails() {
        let own = Failure(code: 12, message: "canceller's")
        let d = DeferredCore { d in d.fail(own) }
        d.cancel()
        #expect(d.failure === own)
    }

    @Test("callbacks run in the order added, only when the deferred fires")
    func callbacksInOrder() {
        let d = DeferredCore()
        let log = Locked<[Int]>([])
        for i in 0..<10 { d.addCallback(.closure { _ in log.withLock { $0.append(i) } }) }
        #expect(log.value.isEmpty)
        d.succeed(.int32(1))
        #expect(log.value == Array(0..<10))
    }

    @Test("callbacks see the outcome the deferred fired with")
    func callbacksSeeOutcome() {
        let d = DeferredCore()
        let seen = Locked<Value?>(nil)
        d.addCallback(.closure { d in seen.value = d.value })
        d.succeed(.int64(-5))
        #expect(seen.value == .int64(-5))
    }

    @Test("a callback added after firing runs at once")
    func callbackAfterFire() {
        let d = DeferredCore()
        d.fail(Failure(code: 4, message: "x"))
        let ran = Counter()
        d.addCallback(.closure { d in
            #expect(d.failure?.code == 4)
            ran.increment()
        })
        #expect(ran.value == 1)
    }

    @Test("a callback added by a callback while firing joins the end of the chain, as in Twisted")
    func callbackAddedWhileFiring() {
        let d = DeferredCore()
        let log = Locked<[String]>([])
        d.addCallback(.closure { d in
            log.withLock { $0.append("first") }
            d.addCallback(.closure { d in
                log.withLock { $0.append("added") }
                d.addCallback(.closure { _ in log.withLock { $0.append("added by added") } })
            })
        })
        d.addCallback(.closure { _ in log.withLock { $0.append("second") } })
        d.succeed(.void)
        #expect(log.value == ["first", "second", "added", "added by added"])
        // Once the chain has run, a new callback runs at once again.
        d.addCallback(.closure { _ in log.withLock { $0.append("after") } })
        #expect(log.value.last == "after")
    }

    @Test("callbacks run when the deferred is cancelled")
    func callbacksRunOnCancel() {
        let d = DeferredCore()
        let code = Locked<Int32?>(nil)
        d.addCallback(.closure { d in code.value = d.failure?.code })
        d.cancel()
        #expect(code.value == Status.cancelled.rawValue)
    }

    @Test("a result following a deferred completes with its value when it fires")
    func resultFollowsValue() {
        let d = DeferredCore()
        let r = newResult()
        d.addCallback(.result(r))
        #expect(!r.isDone)
        d.succeed(.double(2.5))
        #expect(r.isDone)
        #expect(status(of: r) == .ok)
        #expect(r.value == .double(2.5))
    }

    @Test("a result following a deferred gets the owner of an owned value")
    func resultFollowsOwner() {
        let d = DeferredCore()
        let r = newResult()
        d.addCallback(.result(r))
        let owner = OwnedValue(swiftValue: [1, 2, 3])
        d.succeed(.pointer(nil), owner: owner)
        #expect(r.outcome === owner)
    }

    @Test("a result following a failed deferred fails with the same failure")
    func resultFollowsFailure() {
        let d = DeferredCore()
        let r = newResult()
        d.addCallback(.result(r))
        let f = Failure(code: 99, message: "nope")
        d.fail(f)
        #expect(status(of: r) == .failed)
        #expect(r.observedFailure() === f)
    }

    @Test("a result following a cancelled deferred completes as cancelled")
    func resultFollowsCancel() {
        let d = DeferredCore()
        let r = newResult()
        d.addCallback(.result(r))
        d.cancel()
        #expect(status(of: r) == .cancelled)
        _ = r.observedFailure()
    }

    @Test("a result added to a deferred that already fired completes at once")
    func resultAfterFire() {
        let d = DeferredCore()
        d.succeed(.int32(8))
        let r = newResult()
        d.addCallback(.result(r))
        #expect(r.isDone)
        #expect(r.value == .int32(8))
    }

    @Test("a deferred's canceller and callbacks are released once it fires")
    func releasesClosures() {
        final class Token {}
        weak var weakCanceller: Token?
        weak var weakCallback: Token?
        let d: DeferredCore
        do {
            let a = Token(), b = Token()
            weakCanceller = a
            weakCallback = b
            d = DeferredCore { _ in _ = a }
            d.addCallback(.closure { _ in _ = b })
        }
        #expect(weakCanceller != nil && weakCallback != nil)
        d.succeed(.void)
        #expect(weakCanceller == nil)
        #expect(weakCallback == nil)
    }
}
