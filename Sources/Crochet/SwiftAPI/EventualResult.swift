import CLinux

/// A result that will exist later (crochet's `EventualResult`): wait for it
/// with a timeout, cancel it, stash it, or `await` it.
public final class EventualResult<T: Sendable>: Sendable {
    package let core: ResultCore

    package init(_ core: ResultCore) { self.core = core }

    /// Waits up to `timeout` (nil: no limit) and returns the value, or throws
    /// the outcome: `.timedOut` (a later wait still waits), `.failed`,
    /// `.cancelled`, `.stopped`; `.onReactorThread` on the reactor thread.
    public func wait(timeout: Duration? = nil) throws(CrochetError) -> T {
        if Engine.inReactorThread { throw CrochetError.onReactorThread }
        let deadline = try timeout?.deadline() ?? .never
        var value = Value.void
        let status = core.wait(deadline: deadline, value: &value)
        return try extract(status)
    }

    /// The value, awaited without blocking a thread. Cancelling the awaiting
    /// task cancels the call.
    public var value: T {
        get async throws {
            if !core.isDone {
                let core = self.core
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        AsyncWaiters.add(core) { continuation.resume() }
                    }
                } onCancel: {
                    core.requestCancel()
                }
            }
            var value = Value.void
            let status = core.wait(deadline: .never, value: &value)
            return try extract(status)
        }
    }

    private func extract(_ status: Int32) throws(CrochetError) -> T {
        if status == Status.timedOut.rawValue { throw CrochetError.timedOut(diagnosis: core.facts().diagnosis) }
        guard status == Status.ok.rawValue else {
            let s = Status(rawValue: status) ?? .failed
            throw CrochetError(status: s, failure: core.outcome as? Failure)
        }
        if let owned = core.outcome as? OwnedValue, let v = owned.object as? T { return v }
        if let v = core.value as? T { return v }
        if T.self == Void.self { return () as! T }
        throw CrochetError.invalidArgument("the result holds a \(core.value.type) value, not \(T.self)")
    }

    /// Asks for cancellation (crochet's `cancel()`); the result still completes.
    public func cancel() { core.requestCancel() }

    /// The failure, if the result exists and is one (`original_failure()`).
    public var originalFailure: Failure? { core.observedFailure() }

    /// Where the call is now: queued, running, waiting on a deferred or
    /// done, for how long, and what it runs (`crochet_result_get_info`).
    public var info: CallInfo { CallInfo(core.facts()) }

    /// Whether the result exists.
    public var isDone: Bool { core.isDone }

    /// Stores the result in the process-wide store; returns its id.
    public func stash() throws(CrochetError) -> UInt64 {
        switch ResultStore.stash(core) {
        case .success(let id): return id
        case .failure(.full): throw CrochetError.again
        case .failure(.noRandomness): throw CrochetError.outOfMemory
        }
    }
}
