import CLinux

/// A Swift closure to run on the reactor thread, and its result.
package final class ClosureCall: ResultCore, @unchecked Sendable {
    private var body: ((ClosureCall, Reactor) -> Void)?

    package init(epoch: UInt32, body: @escaping (ClosureCall, Reactor) -> Void) {
        self.body = body
        super.init(epoch: epoch)
    }

    package override func run(on reactor: Reactor) {
        let before = state.bitwiseOr(Bit.started, ordering: .sequentiallyConsistent).oldValue
        let body = self.body
        self.body = nil
        if before & Bit.cancelRequested != 0 {
            fail(Failure.cancelledBeforeStart)
            return
        }
        body?(self, reactor)
    }

    package override func reject(on reactor: Reactor) {
        body = nil
        fail(Failure.stopped)
    }
}

/// A callback for the reactor thread with no result (`callFromThread`).
package final class CallbackItem: InboxItem, @unchecked Sendable {
    private let body: () -> Void
    package init(_ body: @escaping () -> Void) {
        self.body = body
        super.init()
    }
    package override func run(on reactor: Reactor) { body() }
}

/// Submitting work to the current reactor, shared by the C and Swift APIs.
package enum Submission {
    /// The reactor to submit to: `.wrongState` before setup, `.stopped` once
    /// it stops.
    @inline(__always)
    package static func reactor() -> (Reactor?, Status) {
        guard let r = Engine.reactor else { return (nil, .wrongState) }
        if r.isStopping { return (nil, .stopped) }
        return (r, .ok)
    }

    /// A foreign call, queued. Arguments are stored by `fill`. Touches the
    /// reactor without reference counting: its header's cache line would
    /// otherwise bounce between every submitter and the reactor thread.
    @inline(__always)
    package static func foreignCall(_ function: UnsafeRawPointer, signature: Signature,
                                    fill: (UnsafeMutablePointer<UInt64>) -> Void) -> (ResultCore?, Status) {
        guard let reactor = Engine.unmanagedReactor else { return (nil, .wrongState) }
        return reactor._withUnsafeGuaranteedRef { r in
            if r.isStopping { return (nil, .stopped) }
            guard let interface = CallInterface.lookup(signature) else { return (nil, .outOfMemory) }
            let call = ForeignCall(function: function, interface: interface, epoch: r.epoch, fill: fill)
            guard r.enqueue(call) else { return (nil, .stopped) }
            return (call, .ok)
        }
    }

    /// Deadline in monotonic nanoseconds for a timeout in seconds: -1 for
    /// none (infinite or beyond any clock), nil for a negative or NaN timeout.
    package static func deadline(seconds: Double) -> Int64? {
        if seconds.isNaN || seconds < 0 { return nil }
        if seconds == 0 { return 0 }
        if seconds > 1e9 { return -1 }
        return cl_now_ns() + Int64(seconds * 1e9)
    }
}
