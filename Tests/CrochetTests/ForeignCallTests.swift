import Testing
@testable import Crochet

// C-convention functions for the calls below. They run on the reactor thread.
private let returnsInt8: @convention(c) () -> Int8 = { -5 }
private let returnsUInt8: @convention(c) () -> UInt8 = { 250 }
private let returnsInt16: @convention(c) () -> Int16 = { -300 }
private let returnsUInt16: @convention(c) () -> UInt16 = { 65_000 }
private let returnsInt32: @convention(c) () -> Int32 = { -70_000 }
private let returnsUInt32: @convention(c) () -> UInt32 = { 4_000_000_000 }
private let returnsInt64: @convention(c) () -> Int64 = { -5_000_000_000_000 }
private let returnsUInt64: @convention(c) () -> UInt64 = { UInt64.max - 1 }
private let returnsFloat: @convention(c) () -> Float = { -1.5 }
private let returnsDouble: @convention(c) () -> Double = { 2.75 }
private let returnsPointer: @convention(c) () -> UnsafeMutableRawPointer? = { UnsafeMutableRawPointer(bitPattern: 0xDEAD_BEE0) }
private let returnsNothing: @convention(c) () -> Void = {}
private let echoInt8: @convention(c) (Int8) -> Int8 = { $0 }
private let echoFloat: @convention(c) (Float) -> Float = { $0 }
private let sum4: @convention(c) (Int64, Int64, Int64, Int64) -> Int64 = { $0 + 2 * $1 + 3 * $2 + 4 * $3 }
private let sum5: @convention(c) (Int64, Int64, Int64, Int64, Int64) -> Int64 = { $0 + 2 * $1 + 3 * $2 + 4 * $3 + 5 * $4 }
private let onReactor: @convention(c) () -> Int32 = { Engine.inReactorThread ? 1 : 0 }

/// One argument of every type; returns their sum as a double (the pointer
/// argument points at an Int64 that is added).
private let allTypes: @convention(c) (Int8, UInt8, Int16, UInt16, Int32, UInt32, Int64, UInt64, Float, Double,
                                      UnsafeMutableRawPointer?) -> Double = { a, b, c, d, e, f, g, h, i, j, p in
    let pointed = p?.load(as: Int64.self) ?? -1_000_000
    return Double(a) + Double(b) + Double(c) + Double(d) + Double(e) + Double(f) + Double(g) + Double(h)
        + Double(i) + j + Double(pointed)
}

/// Raises (crochet_raise) and returns a value that must be ignored.
private let raises: @convention(c) () -> Int32 = {
    "raised here".withCString { _ = RaiseSlot.raise(code: 77, message: $0) }
    return 5
}

/// Returns a deferred that already fired with 5.
private let returnsFiredDeferred: @convention(c) () -> UnsafeMutableRawPointer? = {
    let d = DeferredCore()
    d.succeed(.int32(5))
    return Unmanaged.passRetained(d).toOpaque()
}

/// Returns NULL where a deferred is expected.
private let returnsNullDeferred: @convention(c) () -> UnsafeMutableRawPointer? = { nil }

/// Returns a pending deferred and keeps it in `pendingDeferred` for the test to fire.
private let pendingDeferred = Locked<DeferredCore?>(nil)
private let returnsPendingDeferred: @convention(c) () -> UnsafeMutableRawPointer? = {
    let d = DeferredCore()
    pendingDeferred.value = d
    return Unmanaged.passRetained(d).toOpaque()
}

/// Raises and also returns a deferred it keeps: the engine must leave the
/// returned deferred alone (neither follow nor release it).
private let raisedDeferredReleased = Counter()
nonisolated(unsafe) private var raisedDeferredKept: Unmanaged<DeferredCore>?
private let raisesAndReturnsDeferred: @convention(c) () -> UnsafeMutableRawPointer? = {
    final class Watch { deinit { raisedDeferredReleased.increment() } }
    let d = DeferredCore()
    let watch = Watch()
    d.addCallback(.closure { _ in _ = watch })
    "both".withCString { _ = RaiseSlot.raise(code: 12, message: $0) }
    let kept = Unmanaged.passRetained(d)
    raisedDeferredKept = kept
    return kept.toOpaque()
}

/// The address of a C-convention function value.
private func fn<F>(_ f: F) -> UnsafeRawPointer {
    precondition(MemoryLayout<F>.size == MemoryLayout<UnsafeRawPointer>.size)
    return unsafeBitCast(f, to: UnsafeRawPointer.self)
}

/// Submits a foreign call to the global reactor and waits for it.
private func call(_ function: UnsafeRawPointer, returning type: ValueType, _ args: [Value] = [])
    throws -> (status: Status, value: Value, result: ResultCore) {
    _ = try globalReactor()
    var signature = Signature(returnType: type, count: args.count)
    for (i, a) in args.enumerated() { signature.setArgument(i, a.type) }
    let payloads = args.map(\.bits) + [0]
    let (submitted, submitStatus) = Submission.foreignCall(function, signature: signature, arguments: payloads)
    let core = submitted?.takeRetainedValue()
    let result = try #require(core, "submit failed: \(submitStatus)")
    var value = Value.void
    let raw = result.wait(deadline: deadline(in: patienceSeconds), value: &value)
    return (try #require(Status(rawValue: raw)), value, result)
}

private func narrow(_ type: ValueType, _ bits: UInt64) -> Value { Value(type: type, bits: bits) }

@Suite("Foreign calls (made directly or through libffi)")
struct ForeignCallTests {
    @Test("each return type comes back with its type tag and only its own bytes",
          arguments: [
            (ValueType.int8, UInt64(0xFB)), (.uint8, 250), (.int16, UInt64(UInt16(bitPattern: -300))), (.uint16, 65_000),
            (.int32, UInt64(UInt32(bitPattern: -70_000))), (.uint32, 4_000_000_000),
            (.int64, UInt64(bitPattern: -5_000_000_000_000)), (.uint64, UInt64.max - 1),
            (.float, UInt64(Float(-1.5).bitPattern)), (.double, Double(2.75).bitPattern),
            (.pointer, 0xDEAD_BEE0), (.void, 0),
          ])
    func returnTypes(type: ValueType, bits: UInt64) throws {
        let f: UnsafeRawPointer = switch type {
        case .int8: fn(returnsInt8)
        case .uint8: fn(returnsUInt8)
        case .int16: fn(returnsInt16)
        case .uint16: fn(returnsUInt16)
        case .int32: fn(returnsInt32)
        case .uint32: fn(returnsUInt32)
        case .int64: fn(returnsInt64)
        case .uint64: fn(returnsUInt64)
        case .float: fn(returnsFloat)
        case .double: fn(returnsDouble)
        case .pointer: fn(returnsPointer)
        default: fn(returnsNothing)
        }
        let (status, value, _) = try call(f, returning: type)
        #expect(status == .ok)
        #expect(value == Value(type: type, bits: bits))
    }

    @Test("narrow arguments arrive intact: int8 -128 and a float")
    func narrowArguments() throws {
        let (s1, v1, _) = try call(fn(echoInt8), returning: .int8, [narrow(.int8, 0x80)])
        #expect(s1 == .ok)
        #expect(v1 == narrow(.int8, 0x80))
        let (s2, v2, _) = try call(fn(echoFloat), returning: .float, [.float(-0.375)])
        #expect(s2 == .ok)
        #expect(v2.float == -0.375)
    }

    @Test("one argument of every type arrives intact")
    func everyArgumentType() throws {
        let target = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        defer { target.deallocate() }
        target.pointee = 7
        let args: [Value] = [
            narrow(.int8, UInt64(UInt8(bitPattern: -5))), narrow(.uint8, 250),
            narrow(.int16, UInt64(UInt16(bitPattern: -3000))), narrow(.uint16, 60_000),
            .int32(-70_000), narrow(.uint32, 4_000_000_000), .int64(-5_000_000_000_000), .uint64(1 << 40),
            .float(0.5), .double(0.25), .pointer(UnsafeMutableRawPointer(target)),
        ]
        let (status, value, _) = try call(fn(allTypes), returning: .double, args)
        let parts: [Double] = [-5, 250, -3000, 60_000, -70_000, 4_000_000_000, -5_000_000_000_000,
                               1_099_511_627_776, 0.5, 0.25, 7]
        let expected = parts.reduce(0, +)
        #expect(status == .ok)
        #expect(value.double == expected)
    }

    @Test("32 Int64 arguments (CROCHET_MAX_ARGS) arrive in order")
    func thirtyTwoIntegers() throws {
        let args = (0..<32).map { Value.int64(Int64($0 * 1_000_003 - 7)) }
        var expected: Int64 = 0
        for i in 0..<32 {
            let weight = Int64(i + 1)
            expected += weight * Int64(i * 1_000_003 - 7)
        }
        let (status, value, _) = try call(fn(weightedSum32), returning: .int64, args)
        #expect(status == .ok)
        #expect(value.int64 == expected)
    }

    @Test("32 alternating double and int32 arguments arrive in order")
    func thirtyTwoMixed() throws {
        let args: [Value] = (0..<32).map { i in i % 2 == 0 ? .double(Double(i) + 0.5) : .int32(Int32(-i)) }
        var expected = 0.0
        for k in 0..<16 { expected += Double(k + 1) * (Double(2 * k) + 0.5) }
        for k in 0..<16 { expected += 1000 * Double(k + 1) * Double(-(2 * k + 1)) }
        let (status, value, _) = try call(fn(mixedSum32), returning: .double, args)
        #expect(status == .ok)
        #expect(value.double == expected)
    }

    @Test("calls with no arguments, four (stored inline) and five (on the heap) work")
    func argumentStorage() throws {
        #expect(try call(fn(returnsInt32), returning: .int32).value.int32 == -70_000)
        let four = try call(fn(sum4), returning: .int64, [.int64(1), .int64(2), .int64(3), .int64(4)])
        #expect(four.value.int64 == 1 + 4 + 9 + 16)
        let five = try call(fn(sum5), returning: .int64, [.int64(1), .int64(2), .int64(3), .int64(4), .int64(5)])
        #expect(five.value.int64 == 1 + 4 + 9 + 16 + 25)
    }

    @Test("the function runs on the reactor thread")
    func runsOnReactor() throws {
        #expect(!Engine.inReactorThread)
        #expect(try call(fn(onReactor), returning: .int32).value.int32 == 1)
    }

    @Test("a raise inside the call fails it with the code and message, ignoring the return value")
    func raiseFails() throws {
        let (status, value, result) = try call(fn(raises), returning: .int32)
        #expect(status == .failed)
        #expect(value == .void)
        let failure = try #require(result.observedFailure())
        #expect(failure.code == 77)
        #expect(failure.message == "raised here")
        #expect(!failure.traceback.isEmpty)
    }

    @Test("a raise outside any call does nothing and reports so")
    func raiseOutsideCall() {
        let raised = "nowhere".withCString { RaiseSlot.raise(code: 1, message: $0) }
        #expect(!raised)
    }

    @Test("a function returning a fired deferred completes with its value")
    func firedDeferred() throws {
        let (status, value, _) = try call(fn(returnsFiredDeferred), returning: .deferred)
        #expect(status == .ok)
        #expect(value == .int32(5))
    }

    @Test("a function returning a NULL deferred fails with the EINVAL code")
    func nullDeferred() throws {
        let (status, _, result) = try call(fn(returnsNullDeferred), returning: .deferred)
        #expect(status == .failed)
        #expect(result.observedFailure()?.code == Status.invalidArgument.rawValue)
    }

    @Test("a result following a pending deferred completes when it fires later")
    func pendingDeferredFiresLater() throws {
        _ = try globalReactor()
        let signature = Signature(returnType: .deferred, count: 0)
        let core = Submission.foreignCall(fn(returnsPendingDeferred), signature: signature, arguments: [0]).0?.takeRetainedValue()
        let result = try #require(core)
        var value = Value.void
        #expect(result.wait(deadline: deadline(in: 0.02), value: &value) == Status.timedOut.rawValue)
        try Crochet.callFromThread { pendingDeferred.value?.succeed(.double(6.5)) }
        #expect(result.wait(deadline: deadline(in: patienceSeconds), value: &value) == 0)
        #expect(value == .double(6.5))
        try Crochet.callFromThread { pendingDeferred.value = nil }
    }

    @Test("a call that raises and returns a deferred fails, and the deferred stays the function's")
    func raiseWithDeferred() throws {
        let (status, _, result) = try call(fn(raisesAndReturnsDeferred), returning: .deferred)
        #expect(status == .failed)
        #expect(result.observedFailure()?.code == 12)
        #expect(raisedDeferredReleased.value == 0)   // the function's reference is intact
        raisedDeferredKept?.release()
        #expect(raisedDeferredReleased.wait(for: 1))
    }

    @Test("4 threads x 2,000 calls with heap-stored arguments all return their own values")
    func concurrentCalls() throws {
        _ = try globalReactor()
        var signature = Signature(returnType: .int64, count: 5)
        for i in 0..<5 { signature.setArgument(i, .int64) }
        let wrong = Counter()
        let joined = runThreads(4) { t in
            var pending: [(ResultCore, Int64)] = []
            for n in 0..<2_000 {
                let x = Int64(t * 1_000_000 + n)
                let payloads = (0..<5).map { UInt64(bitPattern: x + Int64($0)) }
                let core = Submission.foreignCall(fn(sum5), signature: signature, arguments: payloads).0?.takeRetainedValue()
                guard let core else { wrong.increment(); continue }
                var expected: Int64 = 0
                for i in 0..<5 { expected += Int64(i + 1) * (x + Int64(i)) }
                pending.append((core, expected))
            }
            for (core, expected) in pending {
                var v = Value.void
                if core.wait(deadline: deadline(in: patienceSeconds), value: &v) != 0 || v.int64 != expected {
                    wrong.increment()
                }
            }
        }
        #expect(joined)
        #expect(wrong.value == 0)
    }
}
