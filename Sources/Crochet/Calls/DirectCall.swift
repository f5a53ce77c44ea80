/// Calls made without libffi. When every argument and the return value are
/// integers or pointers, six arguments at most, the platforms we build for
/// (x86-64 System V, AArch64 AAPCS64) pass the arguments in the first six
/// integer registers, in order, one 64-bit word each, and return the value
/// in the first: calling the function through a type that takes and
/// returns `UInt64`s hands it exactly what it reads. Narrow signed arguments
/// are sign-extended first (callees built by clang assume their caller
/// widened them); the return word is cut to the return type's width by
/// `Value.fromReturnSlot`, as libffi's is. Anything else (a float or double
/// anywhere, more arguments) goes through libffi.
enum DirectCall {
    static let maximumArguments = 6

    /// Whether `signature` is called directly.
    static func supports(_ signature: Signature) -> Bool {
        #if arch(x86_64) || arch(arm64)
        guard signature.count <= maximumArguments, isIntegerClass(signature.returnType) else { return false }
        for i in 0..<signature.count where !isIntegerClass(signature.argument(i)) { return false }
        return true
        #else
        return false
        #endif
    }

    /// The arguments to sign-extend (bit i: argument i is an int8 or int16).
    static func narrowSignedArguments(_ signature: Signature) -> UInt8 {
        var mask: UInt8 = 0
        for i in 0..<min(signature.count, maximumArguments) {
            let type = signature.argument(i)
            if type == .int8 || type == .int16 { mask |= 1 << UInt8(i) }
        }
        return mask
    }

    private static func isIntegerClass(_ type: ValueType) -> Bool { type != .float && type != .double }

    private typealias F0 = @convention(c) () -> UInt64
    private typealias F1 = @convention(c) (UInt64) -> UInt64
    private typealias F2 = @convention(c) (UInt64, UInt64) -> UInt64
    private typealias F3 = @convention(c) (UInt64, UInt64, UInt64) -> UInt64
    private typealias F4 = @convention(c) (UInt64, UInt64, UInt64, UInt64) -> UInt64
    private typealias F5 = @convention(c) (UInt64, UInt64, UInt64, UInt64, UInt64) -> UInt64
    private typealias F6 = @convention(c) (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) -> UInt64

    /// Calls `fn` with `signature.count` payloads from `arguments` (a
    /// signature `supports` accepted); returns the raw return word.
    @inline(__always)
    static func call(_ fn: UnsafeRawPointer, signature: Signature, narrowSigned: UInt8,
                     arguments: UnsafeMutablePointer<UInt64>?) -> UInt64 {
        var a: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
        let count = signature.count
        withUnsafeMutableBytes(of: &a) { raw in
            let words = raw.baseAddress!.assumingMemoryBound(to: UInt64.self)
            for i in 0..<count { words[i] = arguments![i] }
            if narrowSigned != 0 {
                for i in 0..<count where narrowSigned & (1 << UInt8(i)) != 0 {
                    words[i] = signature.argument(i) == .int8 ? UInt64(bitPattern: Int64(Int8(truncatingIfNeeded: words[i])))
                                                              : UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: words[i])))
                }
            }
        }
        switch count {
        case 0: return unsafeBitCast(fn, to: F0.self)()
        case 1: return unsafeBitCast(fn, to: F1.self)(a.0)
        case 2: return unsafeBitCast(fn, to: F2.self)(a.0, a.1)
        case 3: return unsafeBitCast(fn, to: F3.self)(a.0, a.1, a.2)
        case 4: return unsafeBitCast(fn, to: F4.self)(a.0, a.1, a.2, a.3)
        case 5: return unsafeBitCast(fn, to: F5.self)(a.0, a.1, a.2, a.3, a.4)
        default: return unsafeBitCast(fn, to: F6.self)(a.0, a.1, a.2, a.3, a.4, a.5)
        }
    }
}
