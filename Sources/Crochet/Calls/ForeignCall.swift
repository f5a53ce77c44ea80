import CLinux

/// A C function to call on the reactor thread through libffi, and its result.
/// Arguments are copied in at submit: up to four inline, more on the heap.
package final class ForeignCall: ResultCore, @unchecked Sendable {
    package override var diagnosticSymbol: CallbackSymbol { .code(function) }

    static let inlineCapacity = 4

    package let function: UnsafeRawPointer
    /// Cached interfaces live forever: no reference counting per use.
    private let interfaceReference: Unmanaged<CallInterface>
    /// The arguments when they fit; otherwise slot 0 holds the address of a
    /// heap buffer with them (one pointer less in every call record).
    @exclusivity(unchecked) private var inlineArguments: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    /// A call to `function` through `interface` with a copy of `arguments`
    /// (the payloads, `interface.signature.count` of them).
    package init(function: UnsafeRawPointer, interface: Unmanaged<CallInterface>, epoch: UInt32,
                 arguments: UnsafePointer<UInt64>) {
        self.function = function
        self.interfaceReference = interface
        super.init(epoch: epoch)
        let count = interface._withUnsafeGuaranteedRef { $0.signature.count }
        switch count {
        case 0: break
        case 1: inlineArguments.0 = arguments[0]
        case 2: inlineArguments = (arguments[0], arguments[1], 0, 0)
        case 3: inlineArguments = (arguments[0], arguments[1], arguments[2], 0)
        case 4: inlineArguments = (arguments[0], arguments[1], arguments[2], arguments[3])
        default:
            let heap = UnsafeMutablePointer<UInt64>.allocate(capacity: count)
            heap.initialize(from: arguments, count: count)
            inlineArguments.0 = UInt64(UInt(bitPattern: heap))
        }
    }

    @inline(__always) private var signature: Signature {
        interfaceReference._withUnsafeGuaranteedRef { $0.signature }
    }

    @inline(__always) private var heapArguments: UnsafeMutablePointer<UInt64>? {
        signature.count > ForeignCall.inlineCapacity
            ? UnsafeMutablePointer(bitPattern: UInt(inlineArguments.0)) : nil
    }

    deinit { heapArguments?.deallocate() }

    /// Calls the function with this call's arguments; returns the raw return
    /// slot. Any thread (the reactor, or a worker for `deferToThread`).
    @inline(__always)
    package func invoke() -> UInt64 {
        let function = self.function
        if let heapArguments {
            return interfaceReference._withUnsafeGuaranteedRef { $0.call(function, arguments: heapArguments) }
        }
        var copy = inlineArguments
        return withUnsafeMutableBytes(of: &copy) { bytes in
            interfaceReference._withUnsafeGuaranteedRef {
                $0.call(function, arguments: bytes.baseAddress!.assumingMemoryBound(to: UInt64.self))
            }
        }
    }

    package override func run(on reactor: Reactor) {
        let before = beginTurn(on: reactor)
        if before & Bit.cancelRequested != 0 {
            fail(Failure.cancelledBeforeStart)
            return
        }
        let slot = reactor.raiseSlotReference
        let previous = cl_tls_current_call()
        cl_tls_set_current_call(slot.toOpaque())
        let raw = invoke()
        cl_tls_set_current_call(previous)
        let returnType = signature.returnType
        // The common case inline: nothing raised, a plain value returned.
        if slot._withUnsafeGuaranteedRef({ $0.failure == nil }) && returnType != .deferred {
            succeed(Value.fromReturnSlot(raw, type: returnType))
            return
        }
        let raised = slot._withUnsafeGuaranteedRef { s -> Failure? in
            let f = s.failure
            s.failure = nil
            return f
        }
        if let raised {
            fail(raised)   // the returned value is ignored and never touched
        } else {
            finish(returned: returnType == .deferred ? Value(type: .deferred, bits: raw)
                                                     : Value.fromReturnSlot(raw, type: returnType), on: reactor)
        }
    }

    package override func reject(on reactor: Reactor) {
        leaveQueue(on: reactor)
        fail(Failure.stopped)
    }
}
