import CLinux

/// The process-wide stash (crochet's `EventualResult.stash` and
/// `retrieve_result`). Ids are a keyed 64-bit permutation (a Feistel network
/// keyed from the OS's secure random source) of a counter: unpredictable to
/// anyone without the key, never 0, never reused in this process, and below
/// 2^63 (it fits a signed 64-bit database column): the permutation is
/// restricted to that range by cycle walking, which keeps it one-to-one.
package enum ResultStore {
    package static let lock = ForkSafeLock()
    /// Stashed results and when they were stashed (coarse ms).
    nonisolated(unsafe) private static var table: [UInt64: (result: ResultCore, stashedMs: UInt32)] = [:]
    /// The bounds (`crochet_set_stash_limit`); 0: none.
    nonisolated(unsafe) private static var maxResults = 0
    nonisolated(unsafe) private static var maxAgeMs: UInt32 = 0
    nonisolated(unsafe) private static var counter: UInt64 = 0
    nonisolated(unsafe) private static var keys: [UInt64] = []

    private static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The Feistel permutation of `n` under the process's keys.
    private static func permute(_ n: UInt64) -> UInt64 {
        var left = UInt32(truncatingIfNeeded: n >> 32)
        var right = UInt32(truncatingIfNeeded: n)
        for key in keys {
            let f = UInt32(truncatingIfNeeded: mix(UInt64(right) ^ key) >> 32)
            (left, right) = (right, left ^ f)
        }
        return UInt64(left) << 32 | UInt64(right)
    }

    /// Stores a reference to `result`; returns its id, `.again` at the size
    /// bound, or `.outOfMemory` if the OS gave no randomness for the key.
    package static func stash(_ result: ResultCore) -> Result<UInt64, StashRefusal> {
        lock.withLock { () -> Result<UInt64, StashRefusal> in
            if maxResults > 0 && table.count >= maxResults { return .failure(.full) }
            guard makeKeys() else { return .failure(.noRandomness) }
            counter += 1   // stays below 2^63: the walk's domain
            var id = permute(counter)
            while id == 0 || id >= 1 << 63 { id = permute(id) }
            table[id] = (result, cl_coarse_ms())
            return .success(id)
        }
    }

    /// Why a stash was refused.
    package enum StashRefusal: Error { case full, noRandomness }

    /// Sets the bounds: at most `results` stashed (0: any number), each for
    /// at most `ageMs` (0: forever).
    package static func setLimit(results: Int, ageMs: UInt32) {
        lock.withLock {
            maxResults = results
            maxAgeMs = ageMs
        }
    }

    /// How many results are stashed.
    package static var count: Int { lock.withLock { table.count } }

    /// Drops results stashed longer than the age bound, with a WARNING each
    /// (their unobserved failures are then logged as usual). The watchdog
    /// calls it about once a second.
    package static func expire(now: UInt32) {
        let expired: [(UInt64, ResultCore, UInt32)] = lock.withLock {
            guard maxAgeMs > 0 else { return [] }
            var out: [(UInt64, ResultCore, UInt32)] = []
            for (id, entry) in table where now &- entry.stashedMs > maxAgeMs {
                out.append((id, entry.result, now &- entry.stashedMs))
            }
            for (id, _, _) in out { table[id] = nil }
            return out
        }
        for (id, _, age) in expired {
            Log.emit(.warning, "stashed result \(id) was not retrieved within the stash's age bound: dropped after "
                     + CallFacts.seconds(Double(age) / 1000) + " (crochet_set_stash_limit)")
        }
        // The references go here, outside the lock: a failure nobody saw logs.
    }

    /// Keys the permutation from the OS's secure random source, once (lock
    /// held). False if the OS gave no randomness.
    private static func makeKeys() -> Bool {
        if !keys.isEmpty { return true }
        var k = [UInt64](repeating: 0, count: 6)
        let ok = k.withUnsafeMutableBytes { cl_getrandom($0.baseAddress, $0.count) == 0 }
        if ok { keys = k }
        return ok
    }

    /// At setup: the first-time work (keys, the table's storage) done early.
    package static func warmUp() {
        lock.withLock {
            _ = makeKeys()
            table.reserveCapacity(16)
        }
    }

    /// Removes and returns the result stashed under `id`.
    package static func retrieve(_ id: UInt64) -> ResultCore? {
        lock.withLock { table.removeValue(forKey: id)?.result }
    }

    /// At exit: logs the failures of results still stashed, by the rules of
    /// an unhandled error (`ResultCore.unobservedError`: a result the
    /// stopping reactor completed is not one). A fork child does not report
    /// what it inherited: the parent does.
    package static func logStashedFailures() {
        let results = lock.withLock { table.values.map(\.result) }
        for result in results where !result.isInherited {
            if let failure = result.unobservedError {
                Log.emit(.error, "Unhandled error in stashed EventualResult at exit: \(failure.description)\nTraceback:\n\(failure.traceback)")
            }
        }
    }
}
