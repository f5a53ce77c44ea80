import CLinux

/// A Swift closure to run on the reactor thread, and its result.
package final class ClosureCall: ResultCore, @unchecked Sendable {
    private var body: ((ClosureCall, Reactor) -> Void)?
    /// A name for diagnostics (a string literal: `#function` of the caller).
    private let name: UnsafePointer<CChar>?

    package init(epoch: UInt32, name: UnsafePointer<CChar>? = nil, body: @escaping (ClosureCall, Reactor) -> Void) {
        self.body = body
        self.name = name
        super.init(epoch: epoch)
    }

    package override var diagnosticSymbol: CallbackSymbol {
        name.map { .name($0) } ?? CallbackSymbol(kind: .swiftClosure, bits: 0)
    }

    package override func run(on reactor: Reactor) {
        let before = beginTurn(on: reactor)
        let body = self.body
        self.body = nil
        if before & Bit.cancelRequested != 0 {
            fail(Failure.cancelledBeforeStart)
            return
        }
        body?(self, reactor)
    }

    package override func reject(on reactor: Reactor) {
        leaveQueue(on: reactor)
        body = nil
        fail(Failure.stopped)
    }
}

