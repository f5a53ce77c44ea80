import Testing
@testable import Crochet

/// A reactor that never runs: `DelayedCall` needs one to belong to. Deadlines
/// in these tests are explicit numbers, so no real time passes.
private let idleReactor: Reactor = Reactor(epoch: Engine.epoch.load(ordering: .relaxed))!

private func call(_ deadline: Int64, _ body: @escaping () -> Void = {}) -> DelayedCall {
    DelayedCall(deadline: deadline, reactor: idleReactor, body: body)
}

/// Pops every call due at `now`.
private func popAll(_ heap: inout TimerHeap, now: Int64 = .max) -> [DelayedCall] {
    var out: [DelayedCall] = []
    while let c = heap.popDue(now: now) { out.append(c) }
    return out
}

/// A small deterministic generator (SplitMix64), so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("TimerHeap")
struct TimerHeapTests {
    @Test("timers come out in deadline order whatever the insertion order")
    func deadlineOrder() {
        var heap = TimerHeap()
        var rng = SplitMix64(seed: 1)
        let deadlines = (0..<500).map { _ in Int64(rng.next() % 1_000_000) }
        for d in deadlines { heap.insert(call(d)) }
        #expect(heap.count == 500)
        #expect(heap.nextDeadline == deadlines.min())
        #expect(popAll(&heap).map(\.deadline) == deadlines.sorted())
        #expect(heap.count == 0)
        #expect(heap.nextDeadline == nil)
    }

    @Test("timers with equal deadlines come out first-scheduled first")
    func fifoAmongEqualDeadlines() {
        var heap = TimerHeap()
        var ids: [ObjectIdentifier: Int] = [:]
        // Interleave three deadlines so ties are split across the heap.
        for i in 0..<300 {
            let c = call(Int64(i % 3) * 10)
            ids[ObjectIdentifier(c)] = i
            heap.insert(c)
        }
        let order = popAll(&heap).map { ids[ObjectIdentifier($0)]! }
        let expected = (0..<3).flatMap { d in (0..<300).filter { $0 % 3 == d } }
        #expect(order == expected)
    }

    @Test("popDue returns nothing before the earliest deadline and each due timer once")
    func popDueRespectsNow() {
        var heap = TimerHeap()
        for d: Int64 in [30, 10, 20] { heap.insert(call(d)) }
        #expect(heap.popDue(now: 9) == nil)
        #expect(heap.count == 3)
        #expect(heap.popDue(now: 10)?.deadline == 10)
        #expect(heap.popDue(now: 10) == nil)
        #expect(heap.nextDeadline == 20)
        #expect(popAll(&heap, now: 25).map(\.deadline) == [20])
        #expect(heap.nextDeadline == 30)
        #expect(popAll(&heap, now: 30).map(\.deadline) == [30])
        #expect(heap.popDue(now: .max) == nil)
    }

    @Test("removing timers from the middle keeps the rest in deadline order")
    func removeFromMiddle() {
        var heap = TimerHeap()
        var rng = SplitMix64(seed: 2)
        let calls = (0..<200).map { _ in call(Int64(rng.next() % 1000)) }
        for c in calls { heap.insert(c) }
        var kept: [DelayedCall] = []
        for (i, c) in calls.enumerated() {
            if i % 3 == 1 {
                heap.remove(c)
                #expect(c.heapIndex == -1)
            } else {
                kept.append(c)
            }
        }
        #expect(heap.count == kept.count)
        let popped = popAll(&heap)
        #expect(popped.map(\.deadline) == kept.map(\.deadline).sorted())
        #expect(Set(popped.map(ObjectIdentifier.init)) == Set(kept.map(ObjectIdentifier.init)))
    }

    @Test("removing a timer that is not in the heap changes nothing")
    func removeAbsent() {
        var heap = TimerHeap()
        let a = call(5), b = call(6), stranger = call(1)
        heap.insert(a)
        heap.insert(b)
        heap.remove(stranger)              // never inserted
        #expect(heap.count == 2)
        heap.remove(a)
        heap.remove(a)                     // removed twice
        #expect(heap.count == 1)
        let popped = heap.popDue(now: 100)
        #expect(popped === b)
        heap.remove(b)                     // already popped
        #expect(heap.count == 0)
    }

    @Test("a timer in another heap at the same index is not removed from this one")
    func removeBelongingElsewhere() {
        var one = TimerHeap(), two = TimerHeap()
        let a = call(1), b = call(2)
        one.insert(a)
        two.insert(b)                      // both have heapIndex 0
        one.remove(b)
        #expect(one.count == 1)
        #expect(one.popDue(now: 10) === a)
        #expect(two.popDue(now: 10) === b)
    }

    @Test("the heap keeps each timer alive until it is popped, removed or dropped")
    func ownership() {
        var heap = TimerHeap()
        weak var popped: DelayedCall?
        weak var removed: DelayedCall?
        weak var dropped: DelayedCall?
        var toRemove: DelayedCall?
        do {
            let a = call(1), b = call(2), c = call(3)
            popped = a; removed = b; dropped = c
            toRemove = b
            heap.insert(a); heap.insert(b); heap.insert(c)
        }
        #expect(popped != nil && removed != nil && dropped != nil)
        do { _ = heap.popDue(now: 1) }
        #expect(popped == nil)
        heap.remove(toRemove!)
        toRemove = nil
        #expect(removed == nil)
        #expect(dropped != nil)
        heap.removeAll()
        #expect(dropped == nil)
        #expect(heap.count == 0)
        #expect(heap.nextDeadline == nil)
    }

    @Test("100,000 random inserts, removes and pops agree with a sorted model")
    func randomOperations() {
        struct Entry { let deadline: Int64; let order: Int; let call: DelayedCall }
        var heap = TimerHeap()
        var model: [Entry] = []               // sorted by (deadline, order)
        var live: [DelayedCall] = []          // for picking one to remove
        var livePosition: [ObjectIdentifier: Int] = [:]
        var orderOf: [ObjectIdentifier: Int] = [:]
        var rng = SplitMix64(seed: 0xC0FFEE)
        var nextOrder = 0
        var mismatches = 0

        func modelIndex(_ deadline: Int64, _ order: Int) -> Int {
            var lo = 0, hi = model.count
            while lo < hi {
                let mid = (lo + hi) / 2
                let e = model[mid]
                if e.deadline < deadline || (e.deadline == deadline && e.order < order) { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
        func forget(_ c: DelayedCall) {
            let id = ObjectIdentifier(c)
            let p = livePosition.removeValue(forKey: id)!
            let last = live.removeLast()
            if p < live.count {
                live[p] = last
                livePosition[ObjectIdentifier(last)] = p
            }
            orderOf[id] = nil
        }

        for step in 0..<100_000 {
            let r = rng.next() % 100
            if r < 60 || live.isEmpty {
                // Few distinct deadlines, so ties are common.
                let c = call(Int64(rng.next() % 2_000))
                let order = nextOrder
                nextOrder += 1
                heap.insert(c)
                model.insert(Entry(deadline: c.deadline, order: order, call: c), at: modelIndex(c.deadline, order + 1))
                livePosition[ObjectIdentifier(c)] = live.count
                live.append(c)
                orderOf[ObjectIdentifier(c)] = order
            } else if r < 75 {
                let c = live[Int(rng.next() % UInt64(live.count))]
                let i = modelIndex(c.deadline, orderOf[ObjectIdentifier(c)]!)
                model.remove(at: i)
                heap.remove(c)
                if c.heapIndex != -1 { mismatches += 1 }
                forget(c)
            } else {
                let now = Int64(rng.next() % 2_000)
                let got = heap.popDue(now: now)
                let expected: DelayedCall? = model.first.flatMap { $0.deadline <= now ? $0.call : nil }
                if got !== expected {
                    mismatches += 1
                    Issue.record("step \(step): popDue(now: \(now)) gave \(got?.deadline as Any), expected \(expected?.deadline as Any)")
                    break
                }
                if let got {
                    model.removeFirst()
                    forget(got)
                }
            }
            if heap.count != model.count || heap.nextDeadline != model.first?.deadline {
                Issue.record("step \(step): count \(heap.count) vs \(model.count), next \(heap.nextDeadline as Any) vs \(model.first?.deadline as Any)")
                mismatches += 1
                break
            }
            if step % 10_000 == 0 {
                // Every live timer knows a distinct, valid position.
                let indices = live.map(\.heapIndex)
                #expect(indices.allSatisfy { $0 >= 0 && $0 < heap.count })
                #expect(Set(indices).count == indices.count)
            }
        }
        #expect(mismatches == 0)
        // Whatever is left drains in model order.
        let rest = popAll(&heap)
        #expect(rest.map(ObjectIdentifier.init) == model.map { ObjectIdentifier($0.call) })
    }
}

@Suite("DelayedCall")
struct DelayedCallTests {
    @Test("fire runs the body once; later fires do nothing")
    func firesOnce() {
        let runs = Counter()
        let c = call(0) { runs.increment() }
        #expect(c.isPending)
        c.fire()
        c.fire()
        #expect(runs.value == 1)
        #expect(!c.isPending)
    }

    @Test("a cancelled call never runs, and a second cancel is .already")
    func cancelBeforeFire() {
        let runs = Counter()
        let c = call(0) { runs.increment() }
        #expect(c.cancel() == .ok)
        #expect(!c.isPending)
        #expect(c.cancel() == .already)
        c.fire()
        #expect(runs.value == 0)
    }

    @Test("cancelling a call that ran is .already")
    func cancelAfterFire() {
        let c = call(0) {}
        c.fire()
        #expect(c.cancel() == .already)
    }

    @Test("a call coming out of the inbox is scheduled, unless it was cancelled first")
    func cancelledNotScheduled() throws {
        let reactor = try #require(Reactor(epoch: Engine.epoch.load(ordering: .relaxed)))
        let kept = DelayedCall(deadline: 5, reactor: reactor) {}
        let cancelled = DelayedCall(deadline: 1, reactor: reactor) {}
        #expect(cancelled.cancel() == .ok)
        // `run(on:)` is what the reactor thread does with a call it receives.
        kept.run(on: reactor)
        cancelled.run(on: reactor)
        #expect(reactor.timers.count == 1)
        #expect(reactor.timers.nextDeadline == 5)
        reactor.timers.removeAll()
    }
}
