import CLinux

/// Where `crochet_raise` puts its failure: one per thread that runs foreign
/// calls (the reactor thread, each worker), made current around each call.
package final class RaiseSlot: @unchecked Sendable {
    @exclusivity(unchecked) package var failure: Failure?

    /// The slot of the call running on this thread, if any.
    package static var current: RaiseSlot? {
        guard let raw = cl_tls_current_call() else { return nil }
        return Unmanaged<RaiseSlot>.fromOpaque(raw).takeUnretainedValue()
    }

    /// Runs `body` with this slot current and returns what was raised in it.
    @inline(__always)
    package func collect<R>(_ body: () -> R) -> (R, Failure?) {
        let previous = cl_tls_current_call()
        cl_tls_set_current_call(Unmanaged.passUnretained(self).toOpaque())
        let r = body()
        cl_tls_set_current_call(previous)
        let raised = failure
        failure = nil
        return (r, raised)
    }

    /// `crochet_raise`: fails the current call; outside one, logs a warning.
    /// Returns whether there was a call to fail.
    @discardableResult
    package static func raise(code: Int32, message: UnsafePointer<CChar>?) -> Bool {
        guard let slot = current else {
            Log.emit(.warning, "crochet_raise(\(code), \(message.map { String(cString: $0) } ?? "NULL")) called outside a submitted call; ignored")
            return false
        }
        slot.failure = Failure(code: code, cMessage: message, skipFrames: 3)
        return true
    }
}
