/// Twisted's Deferred for the reactor thread: fired once with a value or a
/// failure; callbacks run in order when it fires, or at once if it has.
/// Everything but reference counting happens on the reactor thread.
package final class DeferredCore: @unchecked Sendable {
    package enum Phase: UInt8 { case pending, succeeded, failed }

    /// What runs when the deferred fires.
    package enum Callback {
        /// A result following this deferred.
        case result(ResultCore)
        /// Any other observer (the C ABI wraps its function pointers in one).
        case closure((DeferredCore) -> Void)
    }

    /// Runs when the deferred is cancelled before firing; it may fire it.
    package typealias Canceller = (DeferredCore) -> Void

    // Field order is layout: the value's 9 bytes and the three flags pack
    // into 16, so a deferred is 72 bytes (an 80-byte malloc chunk).
    package private(set) var value: Value = .void
    package private(set) var phase: Phase = .pending
    /// Cancelled before firing: later firings are silently accepted.
    package private(set) var wasCancelled = false
    /// True while `fire` runs the chain.
    private var runningCallbacks = false
    /// The failure, or the `OwnedValue` behind the value.
    package private(set) var outcome: AnyObject?
    private var canceller: Canceller?
    /// The chain: a result following this deferred, when that was the first
    /// callback (the common case: one follower, no array), then the rest.
    private var firstFollower: ResultCore?
    private var callbacks: [Callback] = []

    package init(canceller: Canceller? = nil) {
        self.canceller = canceller
    }

    package func setCanceller(_ canceller: @escaping Canceller) { self.canceller = canceller }

    package var failure: Failure? { phase == .failed ? outcome as? Failure : nil }
    package var hasFired: Bool { phase != .pending }

    /// Fires with a value (and the owner of its target). Returns `.ok`,
    /// `.already` if it fired before (`.ok` if that was a cancellation).
    @discardableResult
    package func succeed(_ value: Value, owner: AnyObject? = nil) -> Status {
        fire(.succeeded, value: value, outcome: owner)
    }

    @discardableResult
    package func fail(_ failure: Failure) -> Status {
        fire(.failed, value: .void, outcome: failure)
    }

    private func fire(_ phase: Phase, value: Value, outcome: AnyObject?) -> Status {
        if self.phase != .pending { return wasCancelled ? .ok : .already }
        self.phase = phase
        self.value = value
        self.outcome = outcome
        canceller = nil
        // Run the chain in order. A callback added while it runs goes to the
        // end of the chain, as in Twisted, rather than jumping the queue.
        runningCallbacks = true
        if let first = firstFollower {
            firstFollower = nil
            first.finish(following: self)
        }
        var i = 0
        while i < callbacks.count {
            run(callbacks[i])
            i += 1
        }
        callbacks = []
        runningCallbacks = false
        return .ok
    }

    /// Cancels: runs the canceller; if that did not fire the deferred, it
    /// fails with `Status.cancelled`. `.already` if fired or cancelled before.
    @discardableResult
    package func cancel() -> Status {
        if phase != .pending || wasCancelled { return .already }
        wasCancelled = true
        if let canceller {
            self.canceller = nil
            canceller(self)
        }
        if phase == .pending {
            _ = fire(.failed, value: .void,
                 outcome: Failure(code: Status.cancelled.rawValue, message: "the deferred was cancelled", skipFrames: 2))
        }
        return .ok
    }

    package func addCallback(_ callback: Callback) {
        if phase == .pending || runningCallbacks {
            // Only the chain's first callback takes the slot: order is kept.
            if case .result(let result) = callback, phase == .pending, firstFollower == nil, callbacks.isEmpty {
                firstFollower = result
            } else {
                callbacks.append(callback)
            }
        } else {
            run(callback)
        }
    }

    private func run(_ callback: Callback) {
        switch callback {
        case .result(let result): result.finish(following: self)
        case .closure(let body): body(self)
        }
    }
}
