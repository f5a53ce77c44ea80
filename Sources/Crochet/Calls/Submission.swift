import CLinux

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

    /// A foreign closure, queued. The context is released here, before
    /// returning, when the submit fails.
    @inline(__always)
    package static func contextCall(_ function: UnsafeRawPointer, context: ForeignContext,
                                    invoker: @escaping ContextCall.Invoker) -> (ResultCore?, Status) {
        guard let reactor = Engine.unmanagedReactor else {
            context.release()
            return (nil, .wrongState)
        }
        return reactor._withUnsafeGuaranteedRef { r in
            let call = ContextCall(function: function, context: context, invoker: invoker, epoch: r.epoch)
            guard !r.isStopping, r.enqueue(call) else {
                context.release()
                return (nil, .stopped)
            }
            return (call, .ok)
        }
    }

    /// Any thread: queues a foreign callback; the context is released here
    /// when that fails.
    package static func callback(_ function: @escaping ForeignCallbackItem.Function,
                                 context: ForeignContext) -> Status {
        let (r, status) = reactor()
        guard let r else {
            context.release()
            return status
        }
        guard r.enqueue(ForeignCallbackItem(function, context: context)) else {
            context.release()
            return .stopped
        }
        return .ok
    }
}
