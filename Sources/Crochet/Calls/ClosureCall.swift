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

