/// An async result made on the reactor thread (Twisted's `Deferred`): fire it
/// once with ``callback(_:)`` or ``errback(_:)``. Reactor-isolated: the
/// compiler sees to it that only reactor-thread code makes or fires one.
/// Returning one from `Crochet.runInReactor` makes the
/// result follow it.
public final class Deferred<T: Sendable>: Sendable {
    package let core: DeferredCore

    /// A new deferred; `canceller` runs if it is cancelled before firing and
    /// may fire it (otherwise it fails with `.cancelled`).
    @ReactorActor
    public init(canceller: (@ReactorActor (Deferred<T>) -> Void)? = nil) {
        core = DeferredCore()
        if let canceller {
            let cancel = nonisolatedBody(canceller)
            // The engine may hold only the core by the time it is cancelled:
            // hand the canceller a fresh wrapper of it.
            core.setCanceller { core in cancel(Deferred<T>(core: core)) }
        }
    }

    package init(core: DeferredCore) { self.core = core }

    /// Fires with `value`. Throws `.alreadyFired` if it fired before (unless
    /// it was cancelled: then the value is silently dropped).
    @ReactorActor
    public func callback(_ value: T) throws(CrochetError) {
        try CrochetError.check(core.succeed(.pointer(nil), owner: OwnedValue(swiftValue: value)))
    }

    /// Fires with a failure made from `error`.
    @ReactorActor
    public func errback(_ error: any Error) throws(CrochetError) {
        try CrochetError.check(core.fail(Failure(code: Status.failed.rawValue, message: "\(error)", error: error)))
    }

    /// Cancels (runs the canceller); `.alreadyFired` if it fired or was cancelled.
    @ReactorActor
    public func cancel() throws(CrochetError) {
        try CrochetError.check(core.cancel())
    }

    /// Observes the outcome: `onValue` or `onFailure` runs on the reactor
    /// thread when it fires (at once if it has).
    @ReactorActor
    public func addCallbacks(onValue: @escaping @ReactorActor (T) -> Void,
                             onFailure: @escaping @ReactorActor (Failure) -> Void) {
        let value = nonisolatedBody(onValue), failure = nonisolatedBody(onFailure)
        core.addCallback(.closure { d in
            if let f = d.failure {
                failure(f)
            } else if let v = (d.outcome as? OwnedValue)?.object as? T {
                value(v)
            }
        })
    }
}
