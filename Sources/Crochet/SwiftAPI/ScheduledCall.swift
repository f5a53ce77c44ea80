/// A call scheduled by ``Crochet/Crochet/callLater(_:_:)``.
public struct ScheduledCall: Sendable {
    package let call: DelayedCall

    /// Cancels the call so it never runs; throws `.alreadyFired` if it ran
    /// (or is running) or was cancelled before.
    public func cancel() throws(CrochetError) { try CrochetError.check(call.cancel()) }

    /// Whether the call still waits to run.
    public var isPending: Bool { call.isPending }
}
