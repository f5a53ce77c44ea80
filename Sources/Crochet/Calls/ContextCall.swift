import CLinux

/// A foreign closure (`crochet_submit_closure`): `fn(ctx)` runs on the
/// reactor thread without libffi and returns a tagged value, which becomes
/// the result (a deferred value is followed). The context is released exactly
/// once: after `fn` returned, or when the call is cancelled before it starts
/// or rejected at stop (and by `Submission` when the submit fails).
package final class ContextCall: ResultCore, @unchecked Sendable {
    /// Calls the foreign function with its context; nil for a returned value
    /// whose type tag is unknown.
    package typealias Invoker = @Sendable (UnsafeRawPointer, UnsafeMutableRawPointer?) -> Value?

    private let function: UnsafeRawPointer
    private let context: ForeignContext
    private let invoker: Invoker
    /// A name for diagnostics that lives for the process (the binding's
    /// name of its callable), or nil: the function's symbol then.
    private let name: UnsafePointer<CChar>?

    package init(function: UnsafeRawPointer, context: ForeignContext, invoker: @escaping Invoker,
                 name: UnsafePointer<CChar>? = nil, epoch: UInt32) {
        self.function = function
        self.context = context
        self.invoker = invoker
        self.name = name
        super.init(epoch: epoch)
    }

    package override var diagnosticSymbol: CallbackSymbol { name.map { .name($0) } ?? .code(function) }

    package override func run(on reactor: Reactor) {
        let before = beginTurn(on: reactor)
        if before & Bit.cancelRequested != 0 {
            context.release()
            fail(Failure.cancelledBeforeStart)
            return
        }
        let (returned, raised) = reactor.raiseSlotReference._withUnsafeGuaranteedRef { slot in
            slot.collect { invoker(function, context.pointer) }
        }
        context.release()
        if let raised {
            fail(raised)   // the returned value is ignored and never touched
        } else if let returned {
            finish(returned: returned, on: reactor)
        } else {
            fail(Failure(code: Status.invalidArgument.rawValue,
                         message: "the closure returned a crochet_value with an unknown type tag", skipFrames: 1))
        }
    }

    package override func reject(on reactor: Reactor) {
        leaveQueue(on: reactor)
        context.release()
        fail(Failure.stopped)
    }
}
