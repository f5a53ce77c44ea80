import CLinux
import Glibc
import Testing
@testable import Crochet

// Reactor instances are independent of the global engine: these tests run
// private reactors on threads they start, and stop them, which the shared
// global reactor must never be.

private func newCall(_ ran: Counter) -> ClosureCall {
    ClosureCall(epoch: Engine.epoch.load(ordering: .relaxed)) { call, _ in
        ran.increment()
        call.succeed(.int32(1))
    }
}

@Suite("Reactor (private instances)")
struct ReactorTests {
    @Test("items run on the reactor's own thread, in the order they were enqueued")
    func fifoOnReactorThread() throws {
        let p = try PrivateReactor()
        p.start()
        defer { p.stop() }
        let log = Locked<[String]>([])
        for i in 0..<1000 { #expect(p.reactor.enqueue(RecordingItem(i, log: log))) }
        let identity = try p.sync { r in (r.isCurrentThread, Reactor.current === r, Engine.inReactorThread) }
        #expect(identity == (true, true, true))
        #expect(log.value == (0..<1000).map { "run \($0)" })
        #expect(!p.reactor.isCurrentThread)
    }

    @Test("an idle reactor asleep in epoll wakes up for new work")
    func wakesFromSleep() throws {
        let p = try PrivateReactor()
        p.start()
        defer { p.stop() }
        _ = try p.sync { _ in 0 }
        for _ in 0..<5 {
            // No event says "the loop is asleep" (the flag is private): give it
            // well over its 50 µs idle spin to get there.
            usleep(5_000)
            #expect(try p.sync { _ in 1 } == 1)
        }
    }

    @Test("producers on many threads wake an idle reactor without losing work")
    func manyProducers() throws {
        let p = try PrivateReactor()
        p.start()
        defer { p.stop() }
        let ran = Counter()
        let joined = runThreads(4) { _ in
            for i in 0..<5_000 {
                _ = p.async { _ in ran.increment() }
                if i % 1000 == 0 { usleep(200) }    // let the loop go idle now and then
            }
        }
        #expect(joined)
        #expect(ran.wait(for: 20_000))
    }

    @Test("delayed calls handed through the inbox fire in deadline order")
    func timersInDeadlineOrder() throws {
        let p = try PrivateReactor()
        p.start()
        defer { p.stop() }
        let log = Locked<[Int]>([])
        let done = Counter()
        let now = cl_now_ns()
        for ms in [30, 10, 20, -5] {
            let call = DelayedCall(deadline: now + Int64(ms) * 1_000_000, reactor: p.reactor) {
                log.withLock { $0.append(ms) }
                done.increment()
            }
            #expect(p.reactor.enqueue(call))
        }
        #expect(done.wait(for: 4))
        #expect(log.value == [-5, 10, 20, 30])
        #expect(cl_now_ns() - now >= 30_000_000)
    }

    @Test("a delayed call cancelled from another thread is taken off the heap and never runs")
    func timerCancelledFromAnotherThread() throws {
        let p = try PrivateReactor()
        p.start()
        defer { p.stop() }
        let ran = Counter()
        let call = DelayedCall(deadline: cl_now_ns() + 60_000_000_000, reactor: p.reactor) { ran.increment() }
        #expect(p.reactor.enqueue(call))
        #expect(try p.sync { r in r.timers.count } == 1)
        #expect(call.cancel() == .ok)
        #expect(try p.sync { r in r.timers.count } == 0)
        #expect(ran.value == 0)
    }

    @Test("stopping runs shutdown triggers in reverse order on the reactor thread, then rejects queued calls")
    func stopSequence() throws {
        let p = try PrivateReactor()
        p.start()
        let log = Locked<[String]>([])
        for name in ["first", "second"] {
            let r = p.reactor
            #expect(p.reactor.addShutdownTrigger { log.withLock { $0.append("\(name) on reactor: \(r.isCurrentThread)") } } == .ok)
        }
        // Hold the loop inside one item so the next ones are still queued when it stops.
        let started = Event(), release = Event()
        p.async { _ in started.signal(); release.wait() }
        #expect(started.wait())
        let ran = Counter()
        let queuedCall = newCall(ran)
        #expect(p.reactor.enqueue(queuedCall))
        #expect(p.reactor.enqueue(RecordingItem(1, log: log)))
        p.reactor.requestStop()
        #expect(p.reactor.isStopping)
        release.signal()
        #expect(p.stop())
        #expect(log.value == ["second on reactor: true", "first on reactor: true", "reject 1"])
        #expect(ran.value == 0)
        #expect(status(of: queuedCall) == .stopped)
        #expect(queuedCall.observedFailure() === Failure.stopped)
        let finished = p.reactor.finished.load(ordering: .acquiring)
        #expect(finished)
    }

    @Test("after stopping, enqueue and addShutdownTrigger refuse")
    func refusesAfterStop() throws {
        let p = try PrivateReactor()
        p.start()
        #expect(p.stop())
        let ran = Counter()
        #expect(!p.reactor.enqueue(newCall(ran)))
        #expect(p.reactor.addShutdownTrigger {} == .stopped)
        p.reactor.requestStop()      // idempotent
        #expect(ran.value == 0)
    }

    @Test("stopping completes results still following unfired deferreds with stopped, and drops timers")
    func stopCompletesPending() throws {
        let p = try PrivateReactor()
        p.start()
        let timerRan = Counter()
        let result = try p.sync { r -> ResultCore in
            let d = DeferredCore()
            let result = ResultCore(following: d, on: r)
            r.timers.insert(DelayedCall(deadline: cl_now_ns() + 60_000_000_000, reactor: r) { timerRan.increment() })
            return result
        }
        #expect(try p.sync { r in r.registry.count } == 1)
        #expect(!result.isDone)
        let waiter = TestThread {
            var v = Value.void
            _ = result.wait(deadline: .never, value: &v)   // must return when the reactor stops
        }
        #expect(p.stop())
        #expect(waiter.join())
        #expect(status(of: result) == .stopped)
        #expect(result.observedFailure() === Failure.stopped)
        #expect(p.reactor.registry.count == 0)
        #expect(p.reactor.timers.count == 0)
        #expect(timerRan.value == 0)
    }

    @Test("a result following a deferred leaves the pending registry when the deferred fires")
    func registryFollowsDeferred() throws {
        let p = try PrivateReactor()
        p.start()
        defer { p.stop() }
        let (d, result) = try p.sync { r -> (DeferredCore, ResultCore) in
            let d = DeferredCore()
            return (d, ResultCore(following: d, on: r))
        }
        #expect(try p.sync { r in r.registry.count } == 1)
        _ = try p.sync { _ in d.succeed(.int64(3)) }
        #expect(try p.sync { r in r.registry.count } == 0)
        var v = Value.void
        #expect(result.wait(deadline: deadline(in: patienceSeconds), value: &v) == 0)
        #expect(v == .int64(3))
    }

    @Test("a result made for a deferred that already fired completes at once, outside the registry")
    func followFiredDeferred() throws {
        let p = try PrivateReactor()
        p.start()
        defer { p.stop() }
        let (done, count) = try p.sync { r -> (Bool, Int) in
            let d = DeferredCore()
            d.succeed(.int32(1))
            let result = ResultCore(following: d, on: r)
            return (result.isDone, r.registry.count)
        }
        #expect(done)
        #expect(count == 0)
    }

    @Test("deferToThread runs work on a worker and fires the deferred on the reactor thread")
    func deferToThreadOnWorker() throws {
        let p = try PrivateReactor()
        p.start()
        defer { p.stop() }
        let workerOnReactor = Locked<Bool?>(nil)
        let firedOnReactor = Locked<Bool?>(nil)
        let fired = Event()
        let status = try p.sync { r -> Status in
            let (d, status) = r.deferToThread { _ in
                workerOnReactor.value = Engine.inReactorThread
                return .value(.int32(41), owner: nil)
            }
            d?.addCallback(.closure { d in
                firedOnReactor.value = r.isCurrentThread && d.value == .int32(41)
                fired.signal()
            })
            return status
        }
        #expect(status == .ok)
        #expect(fired.wait())
        #expect(workerOnReactor.value == false)
        #expect(firedOnReactor.value == true)
    }

    @Test("a raise inside deferToThread work fails the deferred with that code")
    func deferToThreadRaise() throws {
        let p = try PrivateReactor()
        p.start()
        defer { p.stop() }
        let code = Locked<Int32?>(nil)
        let fired = Event()
        _ = try p.sync { r -> Bool in
            let (d, _) = r.deferToThread { _ in
                _ = "worker raised".withCString { RaiseSlot.raise(code: 55, message: $0) }
                return .value(.int32(0), owner: nil)
            }
            d?.addCallback(.closure { d in
                code.value = d.failure?.code
                fired.signal()
            })
            return d != nil
        }
        #expect(fired.wait())
        #expect(code.value == 55)
    }

    @Test("a job whose deferred is cancelled before a worker takes it never runs")
    func cancelQueuedJob() throws {
        let p = try PrivateReactor()
        p.start()
        defer { p.stop() }
        let release = Event()
        let busy = Counter()
        let queuedRan = Counter()
        let cancelledCode = Locked<Int32?>(nil)
        let maximum = try p.sync { r in r.workers.maximumThreads }
        // Occupy every worker, then queue one more job and cancel its deferred.
        _ = try p.sync { r -> Bool in
            for _ in 0..<maximum {
                _ = r.deferToThread { _ in
                    busy.increment()
                    release.wait()
                    return .value(.void, owner: nil)
                }
            }
            return true
        }
        #expect(busy.wait(for: maximum), "not every worker started")
        _ = try p.sync { r -> Bool in
            let (d, _) = r.deferToThread { _ in
                queuedRan.increment()
                return .value(.void, owner: nil)
            }
            d?.addCallback(.closure { d in cancelledCode.value = d.failure?.code })
            return d?.cancel() == .ok
        }
        #expect(cancelledCode.value == Status.cancelled.rawValue)
        release.signal()
        // A job queued after it runs once the workers are free.
        let after = Event()
        _ = try p.sync { r -> Bool in
            let (d, _) = r.deferToThread { _ in .value(.void, owner: nil) }
            d?.addCallback(.closure { _ in after.signal() })
            return true
        }
        #expect(after.wait())
        #expect(queuedRan.value == 0)
    }

    @Test("stopping a reactor joins its worker threads")
    func stopJoinsWorkers() throws {
        let p = try PrivateReactor()
        p.start()
        let finishedWork = Counter()
        _ = try p.sync { r -> Bool in
            for _ in 0..<4 {
                _ = r.deferToThread { _ in
                    usleep(20_000)          // blocking work, the point of the pool
                    finishedWork.increment()
                    return .value(.void, owner: nil)
                }
            }
            return true
        }
        #expect(p.stop())
        // Jobs a worker had started finished before stop returned; none runs later.
        let atStop = finishedWork.value
        usleep(50_000)
        #expect(finishedWork.value == atStop)
    }
}

@Suite("ThreadJob")
struct ThreadJobTests {
    @Test("a job claimed for cancellation is never run by a worker")
    func claimBeforeRun() throws {
        let reactor = try #require(Reactor(epoch: Engine.epoch.load(ordering: .relaxed)))
        let ran = Counter()
        let job = ThreadJob(deferred: DeferredCore()) { _ in
            ran.increment()
            return .value(.void, owner: nil)
        }
        #expect(job.claim())
        #expect(!job.claim())   // so no worker performs it
        job.dispose()
        #expect(ran.value == 0)
        #expect(!reactor.inbox.hasWork)
    }

    @Test("a job a worker started cannot be claimed for cancellation")
    func runBeforeClaim() throws {
        let reactor = try #require(Reactor(epoch: Engine.epoch.load(ordering: .relaxed)))
        let ran = Counter()
        let job = ThreadJob(deferred: DeferredCore()) { _ in
            ran.increment()
            return .value(.int32(2), owner: nil)
        }
        #expect(job.claim())   // what a worker does before performing it
        #expect(job.perform(on: RaiseSlot(), reactor: reactor))
        #expect(ran.value == 1)
        #expect(!job.claim())
        #expect(reactor.inbox.hasWork)      // on its way back to the reactor
        var batch = Inbox.Batch()
        let (count, _) = reactor.inbox.takeAll(into: &batch)
        #expect(count == 1)
        for i in 0..<count { Unmanaged<InboxItem>.fromOpaque(batch.items[i]).release() }
        batch.items.deallocate()
    }
}

@Suite("Registry")
struct RegistryTests {
    private func results(_ n: Int) -> [ResultCore] {
        (0..<n).map { _ in ResultCore(epoch: Engine.epoch.load(ordering: .relaxed)) }
    }

    @Test("removing from the head, middle and tail keeps the others")
    func removeAnywhere() {
        var registry = Registry()
        let all = results(6)
        for r in all { registry.insert(r) }
        #expect(registry.count == 6)
        registry.remove(all[5])    // head (last inserted)
        registry.remove(all[2])    // middle
        registry.remove(all[0])    // tail
        #expect(registry.count == 3)
        let left = registry.removeAll()
        #expect(Set(left.map(ObjectIdentifier.init)) == Set([all[1], all[3], all[4]].map(ObjectIdentifier.init)))
        #expect(registry.count == 0)
        #expect(registry.removeAll().isEmpty)
    }

    @Test("removeAll unlinks every result so it can be inserted again")
    func reinsertAfterRemoveAll() {
        var registry = Registry()
        let all = results(3)
        for r in all { registry.insert(r) }
        _ = registry.removeAll()
        #expect(all.allSatisfy { $0.link == nil })
        for r in all { registry.insert(r) }
        registry.remove(all[1])
        #expect(registry.removeAll().count == 2)
    }

    @Test("removing a result twice, or one never inserted, changes nothing")
    func removeIsIdempotent() {
        var registry = Registry()
        let all = results(3)
        for r in all { registry.insert(r) }
        registry.remove(all[0])
        registry.remove(all[0])
        registry.remove(results(1)[0])
        #expect(registry.count == 2)
        #expect(Set(registry.removeAll().map(ObjectIdentifier.init)) == Set([all[1], all[2]].map(ObjectIdentifier.init)))
    }

    @Test("10,000 followers inserted and removed in random order: the registry agrees with a model")
    func randomInsertRemove() {
        var registry = Registry()
        let all = results(10_000)
        var model = Set<ObjectIdentifier>()
        var generator = SystemRandomNumberGenerator()
        for r in all { registry.insert(r); model.insert(ObjectIdentifier(r)) }
        for r in all.shuffled(using: &generator).prefix(9_990) {
            registry.remove(r)
            model.remove(ObjectIdentifier(r))
            #expect(registry.count == model.count)
        }
        #expect(Set(registry.removeAll().map(ObjectIdentifier.init)) == model)
    }
}
