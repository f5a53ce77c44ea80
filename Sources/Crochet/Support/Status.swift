/// One table of libcrochet's status codes: the C constants, `crochet_strerror`,
/// the Swift error enum and the tests all read it, so they cannot drift.
public enum Status: Int32, CaseIterable, Sendable {
    /// Success.
    case ok = 0
    /// No result within the timeout.
    case timedOut = -1
    /// The reactor has stopped; no result will ever come.
    case stopped = -2
    /// The call failed.
    case failed = -3
    /// The call was cancelled.
    case cancelled = -4
    /// An argument is invalid.
    case invalidArgument = -5
    /// Wrong lifecycle state (not set up; `noSetup` after `setup`).
    case wrongState = -6
    /// A blocking call was made on the reactor thread.
    case onReactorThread = -7
    /// No stashed result has that id.
    case notFound = -8
    /// Out of memory.
    case outOfMemory = -9
    /// The deferred or delayed call already fired or was cancelled.
    case already = -10
    /// A reactor-thread-only function was called elsewhere.
    case notReactorThread = -11
    /// A configured bound is reached; retry later.
    case again = -12

    /// The C macro's name, e.g. `CROCHET_ETIMEDOUT` (what `crochet_status_name` returns).
    public var name: StaticString {
        switch self {
        case .ok: "CROCHET_OK"
        case .timedOut: "CROCHET_ETIMEDOUT"
        case .stopped: "CROCHET_ESTOPPED"
        case .failed: "CROCHET_EFAILED"
        case .cancelled: "CROCHET_ECANCELLED"
        case .invalidArgument: "CROCHET_EINVAL"
        case .wrongState: "CROCHET_ESTATE"
        case .onReactorThread: "CROCHET_EREACTORTHREAD"
        case .notFound: "CROCHET_ENOTFOUND"
        case .outOfMemory: "CROCHET_ENOMEM"
        case .already: "CROCHET_EALREADY"
        case .notReactorThread: "CROCHET_ENOTREACTOR"
        case .again: "CROCHET_EAGAIN"
        }
    }

    /// A human-readable description (what `crochet_strerror` returns).
    public var message: StaticString {
        switch self {
        case .ok: "success"
        case .timedOut: "no result within the timeout"
        case .stopped: "the reactor has stopped; no result will ever come"
        case .failed: "the call failed"
        case .cancelled: "the call was cancelled"
        case .invalidArgument: "an argument is invalid"
        case .wrongState: "wrong lifecycle state: the reactor is not set up (call crochet_setup() or crochet_no_setup() first), or no_setup came after setup"
        case .onReactorThread: "a blocking call was made on the reactor thread"
        case .notFound: "no stashed result has that id"
        case .outOfMemory: "out of memory"
        case .already: "already fired or cancelled"
        case .notReactorThread: "this function may only be called on the reactor thread"
        case .again: "a configured bound is reached; retry later"
        }
    }

    /// The text for a status value that is not in the table.
    public static let unknownMessage: StaticString = "unknown libcrochet status"

    /// The description of any status value, known or not.
    public static func message(for code: Int32) -> StaticString {
        Status(rawValue: code)?.message ?? unknownMessage
    }

    /// The name for a status value that is not in the table.
    public static let unknownName: StaticString = "CROCHET_EUNKNOWN"

    /// The macro name of any status value, known or not.
    public static func name(for code: Int32) -> StaticString {
        Status(rawValue: code)?.name ?? unknownName
    }
}
