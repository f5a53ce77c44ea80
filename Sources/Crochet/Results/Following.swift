/// How a call's result takes what its function produced: a value, or a
/// deferred to follow until it fires. Reactor thread only.
extension ResultCore {
    /// Completes the call with what its function returned: a plain value, or
    /// (type `.deferred`) a deferred whose reference the function handed over.
    package final func finish(returned: Value, on reactor: Reactor) {
        guard returned.type == .deferred else {
            succeed(returned)
            return
        }
        guard let d = returned.pointer else {
            fail(Failure(code: Status.invalidArgument.rawValue,
                         message: "the function returned a NULL crochet_deferred", skipFrames: 1))
            return
        }
        follow(Unmanaged<DeferredCore>.fromOpaque(d).takeRetainedValue(), on: reactor)
    }

    /// Completes this result when `deferred` fires; cancels the deferred at
    /// once if the result's cancellation was asked for meanwhile. While it
    /// waits, the result is in the reactor's registry, so stopping completes it.
    package final func follow(_ deferred: DeferredCore, on reactor: Reactor) {
        if deferred.hasFired {
            finish(following: deferred)
            return
        }
        awaitedDeferred = deferred
        _ = state.bitwiseOr(Bit.following, ordering: .releasing)
        reactor.registry.insert(self)
        deferred.addCallback(.result(self))
        if cancelWasRequested { deferred.cancel() }
    }

    /// Completes this result with the deferred's outcome.
    package final func finish(following deferred: DeferredCore) {
        if awaitedDeferred != nil {
            Reactor.current?.registry.remove(self)
            awaitedDeferred = nil
        }
        if let failure = deferred.failure {
            fail(failure)
        } else {
            succeed(deferred.value, owner: deferred.outcome)
        }
    }
}
