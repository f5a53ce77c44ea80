/// The errors of the Swift API, one per C status (`Status`).
public enum CrochetError: Error, CustomStringConvertible, Sendable {
    /// No result within the timeout (crochet's `TimeoutError`).
    /// No result within the timeout (crochet's `TimeoutError`), with where
    /// the call was when the wait gave up ("`fetchPage()` has been running
    /// for 2.00 s on the reactor thread (queued 3 ms)"), when known.
    case timedOut(diagnosis: String? = nil)
    /// The reactor stopped; no result will ever come (`ReactorStopped`).
    case stopped(Failure)
    /// The call failed: a Swift error thrown, or a C `crochet_raise`.
    case failed(Failure)
    /// The call was cancelled.
    case cancelled(Failure)
    /// An argument is invalid; the text says which.
    case invalidArgument(String)
    /// Not set up, or `noSetup()` after `setup()`.
    case wrongState
    /// A blocking call on the reactor thread.
    case onReactorThread
    /// No stashed result has that id.
    case notFound
    /// Out of memory.
    case outOfMemory
    /// The deferred already fired.
    case alreadyFired
    /// A reactor-only operation called elsewhere.
    case notReactorThread
    /// A configured bound is reached (queued calls, stash size); retry later.
    case again

    /// The C status this error stands for.
    public var status: Status {
        switch self {
        case .timedOut: .timedOut
        case .stopped: .stopped
        case .failed: .failed
        case .cancelled: .cancelled
        case .invalidArgument: .invalidArgument
        case .wrongState: .wrongState
        case .onReactorThread: .onReactorThread
        case .notFound: .notFound
        case .outOfMemory: .outOfMemory
        case .alreadyFired: .already
        case .notReactorThread: .notReactorThread
        case .again: .again
        }
    }

    /// The failure behind `.failed`, `.cancelled` and `.stopped`.
    public var failure: Failure? {
        switch self {
        case .failed(let f), .cancelled(let f), .stopped(let f): f
        default: nil
        }
    }

    /// The status name and what went wrong.
    public var description: String {
        if let failure { return "\(status.name): \(failure.message)" }
        if case .timedOut(let diagnosis?) = self { return "\(status.name): \(diagnosis)" }
        if case .invalidArgument(let why) = self { return "\(status.name): \(why)" }
        return "\(status.name): \(status.message)"
    }

    package init(status: Status, failure: Failure? = nil) {
        switch status {
        case .timedOut: self = .timedOut()
        case .stopped: self = .stopped(failure ?? Failure.stopped)
        case .failed: self = .failed(failure ?? Failure(code: status.rawValue, message: "failed"))
        case .cancelled: self = .cancelled(failure ?? Failure.cancelledBeforeStart)
        case .wrongState: self = .wrongState
        case .onReactorThread: self = .onReactorThread
        case .notFound: self = .notFound
        case .outOfMemory: self = .outOfMemory
        case .already: self = .alreadyFired
        case .notReactorThread: self = .notReactorThread
        case .again: self = .again
        case .ok, .invalidArgument: self = .invalidArgument("\(status.message)")
        }
    }

    package static func check(_ status: Status) throws(CrochetError) {
        if status != .ok { throw CrochetError(status: status) }
    }
}
