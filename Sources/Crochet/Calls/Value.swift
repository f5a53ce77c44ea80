/// The type of a foreign function's argument or return value; the raw values
/// are the C ABI's `crochet_type` tags.
package enum ValueType: UInt8, Sendable, CaseIterable {
    case void = 0
    case int8 = 1, uint8 = 2, int16 = 3, uint16 = 4
    case int32 = 5, uint32 = 6, int64 = 7, uint64 = 8
    case float = 9, double = 10
    case pointer = 11
    /// Return type only: the function returns a deferred whose result follows.
    case deferred = 12

    /// Whether a value of this type may be passed as an argument.
    @inlinable package var isArgumentType: Bool { self != .void && self != .deferred }

    /// The type of a C tag, nil for an unknown one: a range check, no
    /// lookup (the cases are declared in raw-value order, so a case's
    /// in-memory tag is its raw value; ValueTests checks it).
    @inlinable package init?(tag: UInt32) {
        guard tag <= UInt32(ValueType.deferred.rawValue) else { return nil }
        self = unsafeBitCast(UInt8(truncatingIfNeeded: tag), to: ValueType.self)
    }
}

/// A tagged 64-bit value, laid out as the C union holds it: the payload's
/// low bytes hold the narrow types (little-endian), a float its 32 bits.
package struct Value: Sendable, Equatable {
    // The payload first: 9 bytes, so a result's next 4-byte field packs in.
    package var bits: UInt64
    package var type: ValueType

    package init(type: ValueType, bits: UInt64) {
        self.bits = bits
        self.type = type
    }

    package static let void = Value(type: .void, bits: 0)
    package static func int32(_ v: Int32) -> Value { Value(type: .int32, bits: UInt64(UInt32(bitPattern: v))) }
    package static func int64(_ v: Int64) -> Value { Value(type: .int64, bits: UInt64(bitPattern: v)) }
    package static func uint64(_ v: UInt64) -> Value { Value(type: .uint64, bits: v) }
    package static func double(_ v: Double) -> Value { Value(type: .double, bits: v.bitPattern) }
    package static func float(_ v: Float) -> Value { Value(type: .float, bits: UInt64(v.bitPattern)) }
    package static func pointer(_ p: UnsafeMutableRawPointer?) -> Value {
        Value(type: .pointer, bits: UInt64(UInt(bitPattern: p)))
    }

    package var int32: Int32 { Int32(truncatingIfNeeded: bits) }
    package var int64: Int64 { Int64(bitPattern: bits) }
    package var double: Double { Double(bitPattern: bits) }
    package var float: Float { Float(bitPattern: UInt32(truncatingIfNeeded: bits)) }
    package var pointer: UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: UInt(bits)) }

    /// A value of `type` from a libffi return slot (`ffi_arg`-widened for
    /// narrow integers), with the unused payload bytes zeroed.
    @inlinable package static func fromReturnSlot(_ raw: UInt64, type: ValueType) -> Value {
        switch type {
        case .void, .deferred: return Value(type: type, bits: 0)
        case .int8, .uint8: return Value(type: type, bits: raw & 0xFF)
        case .int16, .uint16: return Value(type: type, bits: raw & 0xFFFF)
        case .int32, .uint32, .float: return Value(type: type, bits: raw & 0xFFFF_FFFF)
        case .int64, .uint64, .double, .pointer: return Value(type: type, bits: raw)
        }
    }
}
