/// A foreign callback's `void *ctx` and the `destroy` that releases it.
package typealias DestroyFunction = @convention(c) (UnsafeMutableRawPointer?) -> Void

/// A foreign context: the engine calls `release()` exactly once, when the
/// callback it belongs to can never run again (the C API's `destroy`).
package struct ForeignContext: @unchecked Sendable {
    package let pointer: UnsafeMutableRawPointer?
    package let destroy: DestroyFunction?

    package init(_ pointer: UnsafeMutableRawPointer?, destroy: DestroyFunction?) {
        self.pointer = pointer
        self.destroy = destroy
    }

    /// A context with nothing to release.
    package static let none = ForeignContext(nil, destroy: nil)

    @inline(__always) package func release() { destroy?(pointer) }
}

/// Owns a foreign context for a Swift closure that captures it: the context
/// is released when the last capture goes (so dropping the closure at the
/// moment the callback can no longer run is what runs `destroy`).
package final class ForeignContextOwner: @unchecked Sendable {
    package let context: ForeignContext
    package init(_ context: ForeignContext) { self.context = context }
    @inline(__always) package var pointer: UnsafeMutableRawPointer? { context.pointer }
    deinit { context.release() }
}
