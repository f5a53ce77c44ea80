import Testing
@testable import Crochet

private func newResult() -> ResultCore { ResultCore(epoch: Engine.epoch.load(ordering: .relaxed)) }

@Suite("ResultStore")
struct ResultStoreTests {
    @Test("stash returns a nonzero id, and retrieve gives back the same result once")
    func retrieveOnce() throws {
        let r = newResult()
        let id = try ResultStore.stash(r).get()
        #expect(id != 0)
        #expect(ResultStore.retrieve(id) === r)
        #expect(ResultStore.retrieve(id) == nil)
    }

    @Test("an id that was never handed out is not found", arguments: [UInt64(0), 1, 2, UInt64.max])
    func unknownId(id: UInt64) {
        // With a keyed permutation these fixed values are (overwhelmingly
        // likely) not ids of this run; either way nothing may be found twice.
        if let found = ResultStore.retrieve(id) {
            Issue.record("id \(id) was found: \(found)")
        }
    }

    @Test("the store keeps a stashed result alive until it is retrieved")
    func keepsAlive() throws {
        weak var weakResult: ResultCore?
        var id: UInt64 = 0
        do {
            let r = newResult()
            weakResult = r
            id = try ResultStore.stash(r).get()
        }
        #expect(weakResult != nil)
        do { _ = ResultStore.retrieve(id) }
        #expect(weakResult == nil)
    }

    @Test("stashing the same result twice gives two ids, each retrievable once")
    func stashTwice() throws {
        let r = newResult()
        let a = try ResultStore.stash(r).get()
        let b = try ResultStore.stash(r).get()
        #expect(a != b)
        #expect(ResultStore.retrieve(a) === r)
        #expect(ResultStore.retrieve(b) === r)
    }

    @Test("ids from many threads are nonzero and distinct, and each retrieves its own result")
    func concurrentIds() {
        let threads = 4, perThread = 5_000
        let stashed = Locked<[(UInt64, ResultCore)]>([])
        let joined = runThreads(threads) { _ in
            var mine: [(UInt64, ResultCore)] = []
            for _ in 0..<perThread {
                let r = newResult()
                if case .success(let id) = ResultStore.stash(r) { mine.append((id, r)) }
            }
            stashed.withLock { $0 += mine }
        }
        #expect(joined)
        let all = stashed.value
        #expect(all.count == threads * perThread)
        #expect(!all.contains { $0.0 == 0 })
        #expect(Set(all.map(\.0)).count == all.count)
        var mismatched = 0
        for (id, r) in all where ResultStore.retrieve(id) !== r { mismatched += 1 }
        #expect(mismatched == 0)
    }

    @Test("ids are not a visible sequence: consecutive ids differ in about half their bits")
    func unpredictable() throws {
        var ids: [UInt64] = []
        for _ in 0..<1_000 {
            let id = try ResultStore.stash(newResult()).get()
            ids.append(id)
            _ = ResultStore.retrieve(id)
        }
        // A counter (or a counter plus a secret offset) changes a few low bits
        // per step; a keyed permutation flips about 32 of 64 on average.
        let flips = zip(ids, ids.dropFirst()).map { ($0 ^ $1).nonzeroBitCount }
        let mean = Double(flips.reduce(0, +)) / Double(flips.count)
        #expect(mean > 24 && mean < 40, "mean bits flipped between consecutive ids: \(mean)")
        // Not monotonic either way.
        let increasing = zip(ids, ids.dropFirst()).filter { $0 < $1 }.count
        #expect(increasing > 350 && increasing < 650, "increasing steps: \(increasing) of 999")
        // Both halves of the id vary.
        #expect(Set(ids.map { $0 >> 32 }).count > 900)
        #expect(Set(ids.map { $0 & 0xFFFF_FFFF }).count > 900)
    }
}
