import CLinux
import Testing
@testable import Crochet

@Suite("ValueType")
struct ValueTypeTests {
    @Test("type tags have the C contract's crochet_type values")
    func rawValues() {
        let contract: [(ValueType, UInt8)] = [
            (.void, 0), (.int8, 1), (.uint8, 2), (.int16, 3), (.uint16, 4), (.int32, 5), (.uint32, 6),
            (.int64, 7), (.uint64, 8), (.float, 9), (.double, 10), (.pointer, 11), (.deferred, 12),
        ]
        for (type, raw) in contract {
            #expect(type.rawValue == raw, "\(type)")
            #expect(ValueType(rawValue: raw) == type)
        }
        #expect(ValueType.allCases.count == contract.count)
        #expect(ValueType(rawValue: 13) == nil)
    }

    @Test("a C tag converts without a lookup: every case's in-memory tag is its raw value")
    func tags() {
        for type in ValueType.allCases {
            #expect(ValueType(tag: UInt32(type.rawValue)) == type, "\(type)")
            #expect(unsafeBitCast(type, to: UInt8.self) == type.rawValue, "\(type)")
        }
        #expect(ValueType(tag: 13) == nil)
        #expect(ValueType(tag: UInt32.max) == nil)
    }

    @Test("every type but void and deferred may be an argument")
    func argumentTypes() {
        for type in ValueType.allCases {
            #expect(type.isArgumentType == (type != .void && type != .deferred), "\(type)")
        }
    }

    @Test("every tag fits the 4 bits a signature gives each argument")
    func fitsInFourBits() {
        #expect(ValueType.allCases.allSatisfy { $0.rawValue < 16 })
    }
}

@Suite("Value")
struct ValueTests {
    @Test("int32 values round-trip, stored zero-extended in the low 32 bits",
          arguments: [Int32.min, -1, 0, 1, Int32.max])
    func int32(v: Int32) {
        let value = Value.int32(v)
        #expect(value.type == .int32)
        #expect(value.int32 == v)
        #expect(value.bits == UInt64(UInt32(bitPattern: v)))
    }

    @Test("int64 and uint64 values round-trip", arguments: [Int64.min, -1, 0, 1, Int64.max])
    func int64(v: Int64) {
        #expect(Value.int64(v).int64 == v)
        #expect(Value.int64(v).type == .int64)
        let u = UInt64(bitPattern: v)
        #expect(Value.uint64(u).bits == u)
        #expect(Value.uint64(u).type == .uint64)
    }

    @Test("doubles round-trip bit for bit, including -0, infinities and NaN payloads",
          arguments: [0.0, -0.0, 1.5, -1e300, Double.infinity, -Double.infinity,
                      Double.leastNonzeroMagnitude, Double(nan: 0x1234, signaling: false)])
    func doubles(v: Double) {
        let value = Value.double(v)
        #expect(value.type == .double)
        #expect(value.double.bitPattern == v.bitPattern)
    }

    @Test("floats round-trip in the low 32 bits",
          arguments: [Float(0), -0.0, 3.25, Float.infinity, Float.greatestFiniteMagnitude, Float(nan: 7, signaling: false)])
    func floats(v: Float) {
        let value = Value.float(v)
        #expect(value.type == .float)
        #expect(value.float.bitPattern == v.bitPattern)
        #expect(value.bits >> 32 == 0)
    }

    @Test("pointers round-trip, and nil is all-zero bits")
    func pointers() {
        #expect(Value.pointer(nil).bits == 0)
        #expect(Value.pointer(nil).pointer == nil)
        let p = UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 8)
        defer { p.deallocate() }
        #expect(Value.pointer(p).pointer == p)
        #expect(Value.pointer(p).type == .pointer)
    }

    @Test("void is type void with zero bits")
    func void() {
        #expect(Value.void.type == .void)
        #expect(Value.void.bits == 0)
    }

    @Test("values are equal only when both type and bits are")
    func equality() {
        #expect(Value.int32(5) == Value(type: .int32, bits: 5))
        #expect(Value.int32(5) != Value.int32(6))
        #expect(Value.int32(5) != Value(type: .uint32, bits: 5))
        #expect(Value.int64(0) != Value.void)
    }

    @Test("a return slot keeps only the bytes of the return type",
          arguments: [
            (ValueType.void, UInt64(0)), (.int8, 0xFB), (.uint8, 0xFB), (.int16, 0xFFFB), (.uint16, 0xFFFB),
            (.int32, 0xFFFF_FFFB), (.uint32, 0xFFFF_FFFB), (.float, 0xFFFF_FFFB),
            (.int64, 0xFFFF_FFFF_FFFF_FFFB), (.uint64, 0xFFFF_FFFF_FFFF_FFFB), (.double, 0xFFFF_FFFF_FFFF_FFFB),
            (.pointer, 0xFFFF_FFFF_FFFF_FFFB), (.deferred, 0),
          ])
    func returnSlotMasking(type: ValueType, expectedBits: UInt64) {
        // What libffi leaves for a function returning -5 widened to ffi_arg.
        let raw: UInt64 = 0xFFFF_FFFF_FFFF_FFFB
        let value = Value.fromReturnSlot(raw, type: type)
        #expect(value.type == type)
        #expect(value.bits == expectedBits)
    }
}

@Suite("Duration conversions")
struct DurationTests {
    @Test("durations convert to nanoseconds, saturating at the extremes")
    func nanoseconds() {
        #expect(Duration.zero.nanoseconds == 0)
        #expect(Duration.nanoseconds(1).nanoseconds == 1)
        #expect(Duration.milliseconds(1500).nanoseconds == 1_500_000_000)
        #expect(Duration.seconds(-2).nanoseconds == -2_000_000_000)
        #expect(Duration.seconds(Int64.max).nanoseconds == Int64.max)
        #expect(Duration.seconds(Int64.min).nanoseconds == Int64.min)
    }

    @Test("a negative duration just past the Int64 nanosecond range saturates negative, not positive")
    func negativeSaturation() {
        // -9,223,372,036.9 s: the whole seconds fit in Int64 nanoseconds, the
        // fraction pushes the sum below Int64.min.
        let d = Duration.seconds(-9_223_372_036) - .milliseconds(900)
        #expect(d.nanoseconds == Int64.min)
        // So a wait with this timeout is invalid rather than unlimited.
        #expect(throws: CrochetError.self) { try d.deadline() }
    }

    @Test("a zero timeout polls, a negative one is invalid, a huge one has no limit")
    func deadlines() throws {
        #expect(try Duration.zero.deadline() == .poll)
        #expect(try Duration.seconds(Int64.max).deadline() == .never)
        #expect(try Duration.seconds(1).deadline().nanoseconds > cl_now_ns())
        #expect(throws: CrochetError.self) { try Duration.milliseconds(-1).deadline() }
        #expect(throws: CrochetError.self) { try Duration.seconds(Int64.min).deadline() }
    }

    @Test("a timeout in seconds (C API) maps NaN and negatives to nil, infinity to no limit")
    func secondsDeadlines() {
        #expect(Deadline(seconds: .nan) == nil)
        #expect(Deadline(seconds: -1) == nil)
        #expect(Deadline(seconds: -0.0) == .poll)
        #expect(Deadline(seconds: 0) == .poll)
        #expect(Deadline(seconds: .infinity) == .never)
        #expect(Deadline(seconds: 1e300) == .never)
        #expect(Deadline(seconds: 1).map { $0.nanoseconds > cl_now_ns() && !$0.hasPassed } == true)
    }
}
