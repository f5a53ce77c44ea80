/// A C function to call on the reactor thread through libffi, and its result.
/// Arguments are copied in at submit: up to four inline, more on the heap.
package final class ForeignCall: ResultCore, @unchecked Sendable {
    package static let inlineCapacity = 4

    package let function: UnsafeRawPointer
    package unowned(unsafe) let interface: CallInterface
    private var inlineArguments: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private let heapArguments: UnsafeMutablePointer<UInt64>?

    /// A call to `function` through `interface`; `fill` stores the argument
    /// payloads into the buffer it is given (`interface.signature.count` slots).
    package init(function: UnsafeRawPointer, interface: CallInterface, epoch: UInt32,
         fill: (UnsafeMutablePointer<UInt64>) -> Void) {
        self.function = function
        self.interface = interface
        let count = interface.signature.count
        heapArguments = count > ForeignCall.inlineCapacity ? .allocate(capacity: count) : nil
        super.init(epoch: epoch)
        if let heapArguments {
            fill(heapArguments)
        } else if count > 0 {
            withUnsafeMutableBytes(of: &inlineArguments) { fill($0.baseAddress!.assumingMemoryBound(to: UInt64.self)) }
        }
    }

    deinit { heapArguments?.deallocate() }

    /// Calls the function with this call's arguments; returns the raw return
    /// slot. Any thread (the reactor, or a worker for `deferToThread`).
    @inline(__always)
    package func invoke() -> UInt64 {
        if let heapArguments { return interface.call(function, arguments: heapArguments) }
        var copy = inlineArguments
        return withUnsafeMutableBytes(of: &copy) {
            interface.call(function, arguments: $0.baseAddress!.assumingMemoryBound(to: UInt64.self))
        }
    }

    package override func run(on reactor: Reactor) {
        let before = state.bitwiseOr(Bit.started, ordering: .sequentiallyConsistent).oldValue
        if before & Bit.cancelRequested != 0 {
            fail(Failure.cancelledBeforeStart)
            return
        }
        let (raw, raised) = reactor.raiseSlot.collect { invoke() }
        reactor.finishCall(self, returnType: interface.signature.returnType, raw: raw, raised: raised)
    }

    package override func reject(on reactor: Reactor) { fail(Failure.stopped) }
}
