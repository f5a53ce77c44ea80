import CLinux
import Glibc

/// What a callback on the reactor thread is, for diagnostics: a function
/// address (named through `dladdr`, demangled), a name given as a C string
/// that lives for the process, or one of the loop's own kinds.
package struct CallbackSymbol: Sendable, Equatable {
    package enum Kind: UInt64, Sendable {
        case none = 0, code, name, timer, reader, writer, task, swiftClosure, engine, deferred
    }
    package var kind: Kind
    /// The address, the name's address, or the fd for readers and writers.
    package var bits: UInt64

    package static let none = CallbackSymbol(kind: .none, bits: 0)
    package static func code(_ address: UnsafeRawPointer) -> CallbackSymbol {
        CallbackSymbol(kind: .code, bits: UInt64(UInt(bitPattern: address)))
    }
    package static func name(_ text: UnsafePointer<CChar>) -> CallbackSymbol {
        CallbackSymbol(kind: .name, bits: UInt64(UInt(bitPattern: text)))
    }

    /// The symbol as a C string that lives for the process (cached).
    package var cName: UnsafePointer<CChar> {
        switch kind {
        case .name: return UnsafePointer(bitPattern: UInt(bits))!
        case .code: return SymbolNames.name(of: UInt(bits))
        default: return SymbolNames.text(description)
        }
    }

    /// The symbol as text.
    package var description: String {
        switch kind {
        case .none: "nothing"
        case .code, .name: String(cString: cName)
        case .timer: "a timer callback"
        case .reader: "the reader of fd \(bits)"
        case .writer: "the writer of fd \(bits)"
        case .task: "a Swift task job"
        case .swiftClosure: "a Swift closure"
        case .engine: "the engine's own work"
        case .deferred: "a result following a deferred"
        }
    }
}

/// Names of functions by address, and fixed texts, as C strings made once
/// and kept for the process (there are as many as distinct functions).
package enum SymbolNames {
    private static let lock = ForkSafeLock()
    nonisolated(unsafe) private static var names: [UInt: UnsafeMutablePointer<CChar>] = [:]
    nonisolated(unsafe) private static var texts: [String: UnsafeMutablePointer<CChar>] = [:]

    package static func name(of address: UInt) -> UnsafePointer<CChar> {
        lock.withLock {
            if let known = names[address] { return UnsafePointer(known) }
            let made = cl_symbol_name(UnsafeRawPointer(bitPattern: address)) ?? strdup("?")!
            names[address] = made
            return UnsafePointer(made)
        }
    }

    package static func text(_ text: String) -> UnsafePointer<CChar> {
        lock.withLock {
            if let known = texts[text] { return UnsafePointer(known) }
            let made = strdup(text)!
            texts[text] = made
            return UnsafePointer(made)
        }
    }

    /// Makes both tables (each a `swift_once`) before the library's threads exist.
    package static func warmUp() {
        lock.withLock {
            names.reserveCapacity(16)
            texts.reserveCapacity(16)
        }
    }

    package static func lockForFork() { lock.lock() }
    package static func unlockAfterFork() { lock.unlock() }
    package static func reinitializeAfterFork() { lock.reinitialize() }
}
