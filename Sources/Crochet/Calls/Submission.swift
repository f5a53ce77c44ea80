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

    /// A foreign call, queued, with a copy of `arguments` (the payloads,
    /// `signature.count` of them); the caller owns the reference it returns
    /// (handed over as is: no retain and release to make a C handle). Touches
    /// the reactor without reference counting: its header's cache line would
    /// otherwise bounce between every submitter and the reactor thread.
    @inline(__always)
    package static func foreignCall(_ function: UnsafeRawPointer, signature: Signature,
                                    arguments: UnsafePointer<UInt64>) -> (Unmanaged<ResultCore>?, Status) {
        guard let reactor = Engine.unmanagedReactor else { return (nil, .wrongState) }
        return reactor._withUnsafeGuaranteedRef { r in
            if r.isStopping { return (nil, .stopped) }
            guard let interface = CallInterface.lookup(signature) else { return (nil, .outOfMemory) }
            let call = ForeignCall(function: function, interface: interface, epoch: r.epoch, arguments: arguments)
            let status = queue(call, on: r)
            guard status == .ok else { return (nil, status) }
            return (Unmanaged.passRetained(call as ResultCore), .ok)
        }
    }

    /// A foreign closure, queued. The context is released here, before
    /// returning, when the submit fails.
    @inline(__always)
    package static func contextCall(_ function: UnsafeRawPointer, context: ForeignContext,
                                    invoker: @escaping ContextCall.Invoker,
                                    name: UnsafePointer<CChar>? = nil) -> (ResultCore?, Status) {
        guard let reactor = Engine.unmanagedReactor else {
            context.release()
            return (nil, .wrongState)
        }
        return reactor._withUnsafeGuaranteedRef { r in
            let call = ContextCall(function: function, context: context, invoker: invoker, name: name, epoch: r.epoch)
            let status = queue(call, on: r)
            if status != .ok { context.release() }
            return (status == .ok ? call : nil, status)
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
        let queued = queue(ForeignCallbackItem(function, context: context), on: r)
        if queued != .ok { context.release() }
        return queued
    }

    /// Queues a call: counted in the stats, and against the queued-calls
    /// bound when one is set (`.again` at the bound, `.stopped` once the
    /// reactor stops).
    @inline(__always)
    package static func queue(_ call: ResultCore, on r: Reactor) -> Status {
        if r.isStopping { return .stopped }
        let admission = Bounds.admit()
        switch admission {
        case .refused: return .again
        case .counted: call.markCounted()
        case .unbounded: break
        }
        guard r.enqueue(call) else {
            if admission == .counted { Bounds.release() }
            return .stopped
        }
        Stats.countSubmit()
        return .ok
    }

    /// Queues a callback with no result (call_from_thread): bounded like a call.
    package static func queue(_ item: InboxItem & BoundedItem, on r: Reactor) -> Status {
        let admission = Bounds.admit()
        switch admission {
        case .refused: return .again
        case .counted: item.counted = true
        case .unbounded: break
        }
        guard r.enqueue(item) else {
            if admission == .counted { Bounds.release() }
            return .stopped
        }
        return .ok
    }
}
