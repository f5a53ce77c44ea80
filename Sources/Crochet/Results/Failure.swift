import CLinux
import Glibc
import Synchronization

/// Why a result failed: a code (`crochet_raise`'s, or a `Status` value), a
/// message and the frames of the thread where it was raised. Immutable.
///
/// Raising is cheap: the frames are kept as return addresses (a
/// `backtrace()`, a few microseconds) and named (`dladdr`, demangling:
/// about 100 µs for a deep stack) only when the traceback is first read,
/// which a failure the caller merely checks never is.
public final class Failure: @unchecked Sendable, CustomStringConvertible {
    /// `crochet_raise`'s code, or a `Status` raw value.
    public let code: Int32
    /// NUL-terminated copy, owned, for C callers to borrow.
    package let messagePointer: UnsafeMutablePointer<CChar>
    /// The Swift error that caused this failure, when a Swift closure threw.
    public let error: (any Error)?
    /// The captured return addresses (nil for a fixed traceback), how many,
    /// and how many innermost ones to leave out.
    private let frames: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
    private let frameCount: Int32
    private let skipFrames: Int32
    /// The traceback's text once made (first reader; any thread).
    private let text = Atomic<UInt>(0)

    private static let maximumFrames = 64

    /// A failure with a traceback of the calling thread.
    package init(code: Int32, message: String, error: (any Error)? = nil, skipFrames: Int = 1) {
        self.code = code
        self.messagePointer = strdup(message) ?? Failure.emptyString()
        self.error = error
        (frames, frameCount) = Failure.captureFrames()
        self.skipFrames = Int32(skipFrames)
    }

    /// A failure with a fixed traceback (engine-made outcomes: stop, cancel).
    package init(code: Int32, message: String, traceback: String) {
        self.code = code
        self.messagePointer = strdup(message) ?? Failure.emptyString()
        self.error = nil
        (frames, frameCount, skipFrames) = (nil, 0, 0)
        text.store(UInt(bitPattern: strdup(traceback) ?? Failure.emptyString()), ordering: .relaxed)
    }

    /// A failure from C: message copied (NULL is ""), frames captured here.
    package init(code: Int32, cMessage: UnsafePointer<CChar>?, skipFrames: Int) {
        self.code = code
        self.messagePointer = cMessage.flatMap { strdup($0) } ?? strdup("") ?? Failure.emptyString()
        self.error = nil
        (frames, frameCount) = Failure.captureFrames()
        self.skipFrames = Int32(skipFrames)
    }

    /// Serialises backtrace captures with `fork()` (the fork handlers take
    /// the lock): a child never inherits the unwinder's (or a sanitizer's
    /// backtrace interceptor's) locks held by a capture in another thread.
    package static let backtraceLock = ForkSafeLock()

    /// The calling thread's return addresses, in a buffer of their own size.
    private static func captureFrames() -> (UnsafeMutablePointer<UnsafeMutableRawPointer?>?, Int32) {
        withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer?.self, capacity: maximumFrames) { stack in
            let n = Int(max(0, backtraceLock.withLock { cl_capture_frames(stack.baseAddress!, Int32(maximumFrames)) }))
            guard n > 0 else { return (nil, 0) }
            let kept = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: n)
            kept.initialize(from: stack.baseAddress!, count: n)
            return (kept, Int32(n))
        }
    }

    /// An empty C string from malloc (freed with free, as strdup's are).
    private static func emptyString() -> UnsafeMutablePointer<CChar> {
        let p = malloc(1)!.assumingMemoryBound(to: CChar.self)
        p.pointee = 0
        return p
    }

    deinit {
        free(messagePointer)
        frames?.deallocate()
        free(UnsafeMutableRawPointer(bitPattern: text.load(ordering: .acquiring)))
    }

    /// The failure's message (`crochet_raise`'s, or the Swift error's description).
    public var message: String { String(cString: messagePointer) }
    /// The frames of the thread where it was raised, one per line.
    public var traceback: String { String(cString: cTraceback) }
    package var cMessage: UnsafePointer<CChar> { UnsafePointer(messagePointer) }

    /// The traceback's text, made on first use (any thread: the first to
    /// publish it wins, another's copy is freed). Lives as long as the failure.
    package var cTraceback: UnsafePointer<CChar> {
        if let made = UnsafePointer<CChar>(bitPattern: text.load(ordering: .acquiring)) { return made }
        // Naming takes the dynamic linker's lock (dladdr) and the demangler's
        // allocations: under the fork lock, as capturing is, so that a fork
        // from another thread never leaves the child those locks held.
        let made = (frames.flatMap { frames in
            Failure.backtraceLock.withLock { cl_format_frames(frames, frameCount, skipFrames) }
        }) ?? Failure.emptyString()
        let (won, current) = text.compareExchange(expected: 0, desired: UInt(bitPattern: made),
                                                  ordering: .acquiringAndReleasing)
        if won { return UnsafePointer(made) }
        free(made)
        return UnsafePointer(bitPattern: current)!
    }

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
