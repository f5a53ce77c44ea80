/// A call's arguments as the C ABI lays them out: `crochet_value`s, each a
/// 32-bit type tag followed by an 8-byte payload at offset 8, 16 bytes in
/// all (Tests/abi/constants.c checks the header's layout). Read here, in one
/// pass the compiler inlines, rather than value by value across modules.
package enum TaggedArguments {
    package static let stride = 16
    package static let payloadOffset = 8

    /// Validates the return tag and the `count` tagged arguments at `raw`,
    /// packs the signature and stores each argument's payload (its
    /// meaningful bytes, zero-extended: a caller may have set only the
    /// narrow member of the union) in `payloads`. Nil for an unknown tag, a
    /// void or deferred argument, a negative count or one over `maximum`,
    /// or arguments missing.
    @inline(__always)
    package static func parse(returnTag: UInt32, arguments raw: UnsafeRawPointer?, count: Int, maximum: Int,
                              payloads: UnsafeMutablePointer<UInt64>) -> Signature? {
        guard let returnType = ValueType(tag: returnTag), count >= 0, count <= maximum,
              count == 0 || raw != nil else { return nil }
        var words: (low: UInt64, high: UInt64) = (0, 0)
        for i in 0..<count {
            let value = raw! + i * stride
            let tag = value.load(as: UInt32.self)
            // Argument types: int8 (1) to pointer (11).
            guard tag &- 1 < UInt32(ValueType.pointer.rawValue) else { return nil }
            let type = unsafeBitCast(UInt8(truncatingIfNeeded: tag), to: ValueType.self)
            let packed = UInt64(tag) << UInt64((i & 15) * 4)
            if i < 16 { words.low |= packed } else { words.high |= packed }
            let payload = value + payloadOffset
            switch type {
            case .int8, .uint8: payloads[i] = UInt64(payload.load(as: UInt8.self))
            case .int16, .uint16: payloads[i] = UInt64(payload.load(as: UInt16.self))
            case .int32, .uint32, .float: payloads[i] = UInt64(payload.load(as: UInt32.self))
            default: payloads[i] = payload.load(as: UInt64.self)
            }
        }
        return Signature(returnType: returnType, count: count, low: words.low, high: words.high)
    }
}
