import CCrochetHeader
import Crochet

// Conversions between the C ABI's handles and values and the core's types.
// Handles are the core objects' addresses; their reference counts are Swift's.

@inline(__always) func status(_ s: Status) -> Int32 { s.rawValue }


extension ValueType {
    /// The core type of a C tag, nil for an unknown tag.
    @inline(__always) init?(c tag: crochet_type) { self.init(tag: tag.rawValue) }
}

extension Value {
    /// The core value of a C value, nil for an unknown tag.
    @inline(__always) init?(c value: crochet_value) {
        guard let type = ValueType(c: value.type) else { return nil }
        self.init(type: type, bits: Value.payload(of: value, type))
    }

    /// The payload's meaningful bytes only, zero-extended: a C caller may
    /// have set just `u.i32` and left the rest of the union undefined.
    @inline(__always) static func payload(of value: crochet_value, _ type: ValueType) -> UInt64 {
        switch type {
        case .void, .deferred: 0
        case .int8, .uint8: UInt64(value.u.u8)
        case .int16, .uint16: UInt64(value.u.u16)
        case .int32, .uint32, .float: UInt64(value.u.u32)
        case .int64, .uint64, .double, .pointer: value.u.u64
        }
    }

    /// What a closure returned: as `init(c:)`, but a deferred keeps its
    /// pointer (the result follows it). Nil for an unknown tag.
    @inline(__always) init?(returned value: crochet_value) {
        guard let type = ValueType(c: value.type) else { return nil }
        self.init(type: type, bits: type == .deferred ? value.u.u64 : Value.payload(of: value, type))
    }

    /// The C value (the payload's unused bytes are zero).
    @inline(__always) var c: crochet_value {
        var v = crochet_value()
        v.type = crochet_type(rawValue: UInt32(type.rawValue))
        v.u.u64 = bits
        return v
    }
}

@inline(__always) func handle(_ object: AnyObject, retained: Bool) -> OpaquePointer {
    OpaquePointer(retained ? Unmanaged.passRetained(object).toOpaque() : Unmanaged.passUnretained(object).toOpaque())
}

@inline(__always) func object<T: AnyObject>(_ handle: OpaquePointer, as type: T.Type) -> T {
    Unmanaged<T>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

@inline(__always) func release<T: AnyObject>(_ handle: OpaquePointer, as type: T.Type) {
    Unmanaged<T>.fromOpaque(UnsafeRawPointer(handle)).release()
}

@inline(__always) func retain<T: AnyObject>(_ handle: OpaquePointer, as type: T.Type) {
    _ = Unmanaged<T>.fromOpaque(UnsafeRawPointer(handle)).retain()
}

/// Checks a call's return type and arguments in one pass, packing the
/// signature and storing each argument's payload in `payloads` (room for
/// `count`) on the way; nil for anything crochet_submit calls CROCHET_EINVAL.
@inline(__always)
func signature(returnType: crochet_type, args: UnsafePointer<crochet_value>?, count: Int,
               payloads: UnsafeMutablePointer<UInt64>) -> Signature? {
    TaggedArguments.parse(returnTag: returnType.rawValue, arguments: args.map(UnsafeRawPointer.init), count: count,
                          maximum: Int(CROCHET_MAX_ARGS), payloads: payloads)
}

/// Room for a call's argument payloads, on the stack.
@inline(__always)
func withPayloadSlots<R>(_ count: Int, _ body: (UnsafeMutablePointer<UInt64>) -> R) -> R {
    withUnsafeTemporaryAllocation(of: UInt64.self, capacity: max(1, min(count, Int(CROCHET_MAX_ARGS)))) {
        body($0.baseAddress!)
    }
}
