/// Swift tasks awaiting results, kept aside so results carry no field for
/// them: a result whose state has the `asyncWaiters` bit has entries here,
/// which its completer resumes.
package enum AsyncWaiters {
    package static let lock = ForkSafeLock()
    nonisolated(unsafe) private static var table: [ObjectIdentifier: [() -> Void]] = [:]

    /// Makes the lock and table (each a `swift_once`) before the library's
    /// threads exist.
    package static func warmUp() {
        lock.withLock { table.reserveCapacity(4) }
    }

    /// Runs `resume` once `result` is done: at once if it is, else from the
    /// completing thread.
    package static func add(_ result: ResultCore, _ resume: @escaping () -> Void) {
        let id = ObjectIdentifier(result)
        let runNow: Bool = lock.withLock {
            table[id, default: []].append(resume)
            let before = result.state.bitwiseOr(ResultCore.Bit.asyncWaiters, ordering: .sequentiallyConsistent).oldValue
            if before & ResultCore.Bit.done != 0 {
                table[id]!.removeLast()
                if table[id]!.isEmpty { table[id] = nil }
                return true
            }
            return false
        }
        if runNow { resume() }
    }

    package static func resumeAll(for result: ResultCore) {
        let waiting = lock.withLock { table.removeValue(forKey: ObjectIdentifier(result)) } ?? []
        for resume in waiting { resume() }
    }
}
