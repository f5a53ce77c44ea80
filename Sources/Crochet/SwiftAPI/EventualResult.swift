import CLinux

/// A result that will exist later (crochet's `EventualResult`): wait for it
/// with a timeout, cancel it, stash it, or `await` it.
public final class EventualResult<T>: @unchecked Sendable {
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

    /// Whether the result exists.
    public var isDone: Bool { core.isDone }

    /// Stores the result in the process-wide store; returns its id.
    public func stash() throws(CrochetError) -> UInt64 {
        guard let id = ResultStore.stash(core) else { throw CrochetError.outOfMemory }
        return id
    }
}

/// Takes a stashed result out of the store (crochet's `retrieve_result`).
public func retrieveResult<T>(_ id: UInt64, as type: T.Type = T.self) throws(CrochetError) -> EventualResult<T> {
    guard let core = ResultStore.retrieve(id) else { throw CrochetError.notFound }
    return EventualResult(core)
}

/// Runs `body` on the reactor thread (crochet's `run_in_reactor`); its value
/// or thrown error becomes the result's.
@discardableResult
public func runInReactor<T>(_ body: @escaping () throws -> T) throws(CrochetError) -> EventualResult<T> {
    try submitClosure { call, _ in
        do {
            call.succeed(.pointer(nil), owner: OwnedValue(swiftValue: try body()))
        } catch {
            call.fail(Failure(code: Status.failed.rawValue, message: "\(error)", error: error))
        }
    }
}

/// Runs `body` on the reactor thread; the result follows the deferred it returns.
@discardableResult
public func runInReactor<T>(_ body: @escaping () throws -> Deferred<T>) throws(CrochetError) -> EventualResult<T> {
    try submitClosure { call, reactor in
        do {
            call.follow(try body().core, on: reactor)
        } catch {
            call.fail(Failure(code: Status.failed.rawValue, message: "\(error)", error: error))
        }
    }
}

private func submitClosure<T>(_ body: @escaping (ClosureCall, Reactor) -> Void) throws(CrochetError) -> EventualResult<T> {
    let (r, status) = Submission.reactor()
    guard let r else { throw CrochetError(status: status) }
    let call = ClosureCall(epoch: r.epoch, body: body)
    guard r.enqueue(call) else { throw CrochetError(status: .stopped) }
    return EventualResult(call)
}

/// Runs `body` on the reactor thread and waits up to `timeout` for its value
/// (crochet's `wait_for`); on timeout the call is cancelled.
public func waitFor<T>(timeout: Duration, _ body: @escaping () throws -> T) throws(CrochetError) -> T {
    if Engine.inReactorThread { throw CrochetError.onReactorThread }
    return try waitCancelling(try runInReactor(body), timeout: timeout)
}

/// `waitFor` for a closure that returns a deferred.
public func waitFor<T>(timeout: Duration, _ body: @escaping () throws -> Deferred<T>) throws(CrochetError) -> T {
    if Engine.inReactorThread { throw CrochetError.onReactorThread }
    return try waitCancelling(try runInReactor(body), timeout: timeout)
}

private func waitCancelling<T>(_ result: EventualResult<T>, timeout: Duration) throws(CrochetError) -> T {
    do {
        return try result.wait(timeout: timeout)
    } catch .timedOut {
        result.cancel()
        throw CrochetError.timedOut
    }
}

/// Runs `body` on the reactor thread soon (Twisted's `callFromThread`).
public func callFromThread(_ body: @escaping () -> Void) throws(CrochetError) {
    let (r, status) = Submission.reactor()
    guard let r else { throw CrochetError(status: status) }
    guard r.enqueue(CallbackItem(body)) else { throw CrochetError(status: .stopped) }
}

/// Runs `body` on the reactor thread after `delay` (Twisted's `callLater`).
@discardableResult
public func callLater(_ delay: Duration, _ body: @escaping () -> Void) throws(CrochetError) -> ScheduledCall {
    let ns = delay.nanoseconds
    if ns < 0 { throw CrochetError.invalidArgument("negative delay") }
    let (r, status) = Submission.reactor()
    guard let r else { throw CrochetError(status: status) }
    let call = DelayedCall(deadline: DelayedCall.deadline(afterNanoseconds: ns), reactor: r, body: body)
    guard r.schedule(call) else { throw CrochetError(status: .stopped) }
    return ScheduledCall(call: call)
}

/// A call scheduled by `callLater`.
public struct ScheduledCall: Sendable {
    package let call: DelayedCall

    /// Cancels the call so it never runs; throws `.alreadyFired` if it ran
    /// (or is running) or was cancelled before.
    public func cancel() throws(CrochetError) { try CrochetError.check(call.cancel()) }

    /// Whether the call still waits to run.
    public var isPending: Bool { call.isPending }
}
