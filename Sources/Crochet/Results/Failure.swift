import CLinux
import Glibc

/// Why a result failed: a code (`crochet_raise`'s, or a `Status` value), a
/// message and the frames of the thread where it was raised. Immutable.
public final class Failure: @unchecked Sendable, CustomStringConvertible {
    /// `crochet_raise`'s code, or a `Status` raw value.
    public let code: Int32
    /// NUL-terminated copies, owned, for C callers to borrow.
    package let messagePointer: UnsafeMutablePointer<CChar>
    package let tracebackPointer: UnsafeMutablePointer<CChar>
    /// The Swift error that caused this failure, when a Swift closure threw.
    public let error: (any Error)?

    /// A failure with a traceback of the calling thread.
    package init(code: Int32, message: String, error: (any Error)? = nil, skipFrames: Int = 1) {
        self.code = code
        self.messagePointer = strdup(message) ?? Failure.emptyString()
        self.tracebackPointer = Failure.captureBacktrace(skip: skipFrames) ?? Failure.emptyString()
        self.error = error
    }

    /// A failure with a fixed traceback (engine-made outcomes: stop, cancel).
    package init(code: Int32, message: String, traceback: String) {
        self.code = code
        self.messagePointer = strdup(message) ?? Failure.emptyString()
        self.tracebackPointer = strdup(traceback) ?? Failure.emptyString()
        self.error = nil
    }

    /// A failure from C: message copied (NULL is ""), traceback captured here.
    package init(code: Int32, cMessage: UnsafePointer<CChar>?, skipFrames: Int) {
        self.code = code
        self.messagePointer = cMessage.flatMap { strdup($0) } ?? strdup("") ?? Failure.emptyString()
        self.tracebackPointer = Failure.captureBacktrace(skip: skipFrames) ?? Failure.emptyString()
        self.error = nil
    }

    /// Serialises backtrace captures with `fork()` (the fork handlers take
    /// the lock): a child never inherits the unwinder's (or a sanitizer's
    /// backtrace interceptor's) locks held by a capture in another thread.
    package static let backtraceLock = ForkSafeLock()

    private static func captureBacktrace(skip: Int) -> UnsafeMutablePointer<CChar>? {
        backtraceLock.withLock { cl_capture_backtrace(Int32(skip)) }   // frames in the library are skipped anyway
    }

    private static func emptyString() -> UnsafeMutablePointer<CChar> {
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
        p.pointee = 0
        return p
    }

    deinit {
        free(messagePointer)
        free(tracebackPointer)
    }

    /// The failure's message (`crochet_raise`'s, or the Swift error's description).
    public var message: String { String(cString: messagePointer) }
    /// The frames of the thread where it was raised, one per line.
    public var traceback: String { String(cString: tracebackPointer) }
    package var cMessage: UnsafePointer<CChar> { UnsafePointer(messagePointer) }
    package var cTraceback: UnsafePointer<CChar> { UnsafePointer(tracebackPointer) }

    /// The status name, code and message, e.g. `CROCHET_EFAILED (-3): refused`.
    public var description: String {
        let name = Status(rawValue: code).map { "\($0.name) (\(code))" } ?? "code \(code)"
        return "\(name): \(message)"
    }

    /// Shared outcome of every result the stopping reactor completes.
    package static let stopped = Failure(code: Status.stopped.rawValue,
                                 message: "the reactor stopped before the call produced a result",
                                 traceback: "(no traceback: the reactor stopped)\n")
    /// Shared outcome of calls cancelled before they started.
    package static let cancelledBeforeStart = Failure(code: Status.cancelled.rawValue,
                                              message: "the call was cancelled before it started",
                                              traceback: "(no traceback: cancelled before the call started)\n")
    /// Shared outcome of calls that belonged to a parent process (fork).
    package static let forked = Failure(code: Status.stopped.rawValue,
                                message: "the call belongs to the parent process's reactor (fork)",
                                traceback: "(no traceback: inherited across fork)\n")
}
