/// An async result made on the reactor thread (Twisted's `Deferred`): fire it
/// once with `callback` or `errback`. Reactor thread only.
public final class Deferred<T>: @unchecked Sendable {
    package let core: DeferredCore

    /// A new deferred; `canceller` runs if it is cancelled before firing and
    /// may fire it (otherwise it fails with `.cancelled`).
    public init(canceller: ((Deferred<T>) -> Void)? = nil) {
        Deferred.requireReactorThread()
        core = DeferredCore()
        if let canceller {
            // The engine may hold only the core by the time it is cancelled:
            // hand the canceller a fresh wrapper of it.
            core.setCanceller { core in canceller(Deferred<T>(core: core)) }
        }
    }

    init(core: DeferredCore) { self.core = core }

    private static func requireReactorThread() {
        precondition(Engine.inReactorThread,
                     "BUG DETECTED: a Deferred may only be used on the reactor thread")
    }

    /// Fires with `value`. Throws `.alreadyFired` if it fired before (unless
    /// it was cancelled: then the value is silently dropped).
    public func callback(_ value: T) throws(CrochetError) {
        Deferred.requireReactorThread()
        try CrochetError.check(core.succeed(.pointer(nil), owner: OwnedValue(swiftValue: value)))
    }

    /// Fires with a failure made from `error`.
    public func errback(_ error: any Error) throws(CrochetError) {
        Deferred.requireReactorThread()
        try CrochetError.check(core.fail(Failure(code: Status.failed.rawValue, message: "\(error)", error: error)))
    }

    /// Cancels (runs the canceller); `.alreadyFired` if it fired or was cancelled.
    public func cancel() throws(CrochetError) {
        Deferred.requireReactorThread()
        try CrochetError.check(core.cancel())
    }

    /// Observes the outcome: `onValue` or `onFailure` runs when it fires (at
    /// once if it has).
    public func addCallbacks(onValue: @escaping (T) -> Void, onFailure: @escaping (Failure) -> Void) {
        Deferred.requireReactorThread()
        core.addCallback(.closure { d in
            if let failure = d.failure {
                onFailure(failure)
            } else if let v = (d.outcome as? OwnedValue)?.object as? T {
                onValue(v)
            }
        })
    }
}
