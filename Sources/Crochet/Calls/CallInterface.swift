import CFFI
import CLinux
import Synchronization

/// A call's signature packed into 20 bytes: return type, count and 4 bits per
/// argument type. Hashable, so prepared call interfaces are cached by it.
package struct Signature: Hashable, Sendable {
    @usableFromInline package private(set) var returnType: ValueType
    @usableFromInline package private(set) var count: Int
    @usableFromInline package private(set) var low: UInt64 = 0    // arguments 0..<16
    @usableFromInline package private(set) var high: UInt64 = 0   // arguments 16..<32

    @inlinable
    package init(returnType: ValueType, count: Int) {
        self.returnType = returnType
        self.count = count
    }

    /// A signature from its packed argument words (4 bits per argument type,
    /// argument 0 in the low bits of `low`).
    @inline(__always)
    package init(returnType: ValueType, count: Int, low: UInt64, high: UInt64) {
        self.returnType = returnType
        self.count = count
        self.low = low
        self.high = high
    }

    @inlinable
    package mutating func setArgument(_ index: Int, _ type: ValueType) {
        let shift = UInt64((index & 15) * 4)
        let mask = ~(UInt64(0xF) << shift)
        if index < 16 {
            low = low & mask | UInt64(type.rawValue) << shift
        } else {
            high = high & mask | UInt64(type.rawValue) << shift
        }
    }

    package func argument(_ index: Int) -> ValueType {
        let word = index < 16 ? low : high
        return ValueType(rawValue: UInt8((word >> UInt64((index & 15) * 4)) & 0xF))!
    }
}

/// How to call functions of one signature: directly (`DirectCall`) or
/// through a prepared libffi call interface (`ffi_cif`). Prepared once per
/// signature and kept for the life of the process.
package final class CallInterface: @unchecked Sendable {
    package let signature: Signature
    package let cif: UnsafeMutablePointer<ffi_cif>
    private let argumentTypes: UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>
    /// Called without libffi (see `DirectCall`).
    private let isDirect: Bool
    private let narrowSigned: UInt8

    private init?(_ signature: Signature) {
        self.signature = signature
        isDirect = DirectCall.supports(signature)
        narrowSigned = DirectCall.narrowSignedArguments(signature)
        cif = .allocate(capacity: 1)
        argumentTypes = .allocate(capacity: max(signature.count, 1))
        for i in 0..<signature.count {
            argumentTypes[i] = CallInterface.ffiType(signature.argument(i))
        }
        let status = cffi_prep(cif, UInt32(signature.count),
                               CallInterface.ffiType(signature.returnType), argumentTypes)
        if status != 0 {
            cif.deallocate()
            argumentTypes.deallocate()
            return nil
        }
    }

    package static func ffiType(_ type: ValueType) -> UnsafeMutablePointer<ffi_type> {
        switch type {
        case .void: cffi_type_void()
        case .int8: cffi_type_sint8()
        case .uint8: cffi_type_uint8()
        case .int16: cffi_type_sint16()
        case .uint16: cffi_type_uint16()
        case .int32: cffi_type_sint32()
        case .uint32: cffi_type_uint32()
        case .int64: cffi_type_sint64()
        case .uint64: cffi_type_uint64()
        case .float: cffi_type_float()
        case .double: cffi_type_double()
        case .pointer, .deferred: cffi_type_pointer()
        }
    }

    static let lock = ForkSafeLock()
    nonisolated(unsafe) private static var cache: [Signature: CallInterface] = [:]

    /// The interface for `signature`, prepared on first use. A one-entry
    /// thread-local cache makes repeated submits of one signature lock-free.
    /// `nil` if libffi cannot prepare it.
    package static func lookup(_ signature: Signature) -> Unmanaged<CallInterface>? {
        // Cached interfaces live forever: handed out unretained (no reference
        // counting per call).
        if let last = cl_tls_last_interface() {
            let interface = Unmanaged<CallInterface>.fromOpaque(last)
            if interface._withUnsafeGuaranteedRef({ $0.signature == signature }) { return interface }
        }
        let interface: CallInterface? = lock.withLock {
            if let found = cache[signature] { return found }
            guard let made = CallInterface(signature) else { return nil }
            cache[signature] = made
            return made
        }
        guard let interface else { return nil }
        let unmanaged = Unmanaged.passUnretained(interface)
        cl_tls_set_last_interface(unmanaged.toOpaque())
        return unmanaged
    }

    /// Calls `fn` with the argument payloads in `arguments` (one 64-bit slot
    /// each, narrow types in the low bytes) and returns the raw return slot.
    @inline(__always)
    package func call(_ fn: UnsafeRawPointer, arguments: UnsafeMutablePointer<UInt64>?) -> UInt64 {
        if isDirect {
            return DirectCall.call(fn, signature: signature, narrowSigned: narrowSigned, arguments: arguments)
        }
        let count = signature.count
        var returned: UInt64 = 0
        if count == 0 {
            cffi_call(cif, UnsafeMutableRawPointer(mutating: fn), &returned, nil)
            return returned
        }
        return withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer?.self, capacity: count) { pointers in
            for i in 0..<count { pointers[i] = UnsafeMutableRawPointer(arguments! + i) }
            cffi_call(cif, UnsafeMutableRawPointer(mutating: fn), &returned, pointers.baseAddress)
            return returned
        }
    }
}
