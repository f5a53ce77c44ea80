/// A callback for the reactor thread with no result (`callFromThread`).
package final class CallbackItem: InboxItem, @unchecked Sendable {
    private let body: () -> Void
    package init(_ body: @escaping () -> Void) {
        self.body = body
        super.init()
    }
    package override func run(on reactor: Reactor) { body() }
}

/// A foreign callback for the reactor thread (`crochet_call_from_thread`):
/// `function(ctx)`, then the context is released; only released if the
/// reactor stops first.
package final class ForeignCallbackItem: InboxItem, @unchecked Sendable {
    package typealias Function = @convention(c) (UnsafeMutableRawPointer?) -> Void
    private let function: Function
    private let context: ForeignContext

    package init(_ function: @escaping Function, context: ForeignContext) {
        self.function = function
        self.context = context
        super.init()
    }

    package override func run(on reactor: Reactor) {
        function(context.pointer)
        context.release()
    }

    package override func reject(on reactor: Reactor) { context.release() }
}
