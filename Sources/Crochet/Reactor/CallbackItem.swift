/// A callback item counted against the queued-calls bound (`Bounds`).
package protocol BoundedItem: AnyObject {
    var counted: Bool { get set }
}

/// A callback for the reactor thread with no result (`callFromThread`).
package final class CallbackItem: InboxItem, BoundedItem, @unchecked Sendable {
    package var counted = false
    package override var diagnosticSymbol: CallbackSymbol { CallbackSymbol(kind: .swiftClosure, bits: 0) }
    private let body: () -> Void
    package init(_ body: @escaping () -> Void) {
        self.body = body
        super.init()
    }
    package override func run(on reactor: Reactor) {
        if counted { Bounds.release() }
        body()
    }
    package override func reject(on reactor: Reactor) { if counted { Bounds.release() } }
}

/// A foreign callback for the reactor thread (`crochet_call_from_thread`):
/// `function(ctx)`, then the context is released; only released if the
/// reactor stops first.
package final class ForeignCallbackItem: InboxItem, BoundedItem, @unchecked Sendable {
    package var counted = false
    package override var diagnosticSymbol: CallbackSymbol { .code(unsafeBitCast(function, to: UnsafeRawPointer.self)) }
    package typealias Function = @convention(c) (UnsafeMutableRawPointer?) -> Void
    private let function: Function
    private let context: ForeignContext

    package init(_ function: @escaping Function, context: ForeignContext) {
        self.function = function
        self.context = context
        super.init()
    }

    package override func run(on reactor: Reactor) {
        if counted { Bounds.release() }
        function(context.pointer)
        context.release()
    }

    package override func reject(on reactor: Reactor) {
        if counted { Bounds.release() }
        context.release()
    }
}
