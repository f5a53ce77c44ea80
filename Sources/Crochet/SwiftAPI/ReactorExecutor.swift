import CLinux

/// The reactor as a `SerialExecutor`: a job enqueued from any thread goes
/// through the inbox and runs on the reactor thread, in order with calls.
public final class ReactorExecutor: SerialExecutor, @unchecked Sendable {
    /// The executor of the process's reactor (whichever is current).
    public static let shared = ReactorExecutor()

    private init() {}

    /// Queues `job` to run on the reactor thread (any thread may call it).
    /// A job that cannot be queued (no reactor, or it stopped) is dropped
    /// with an ERROR log record.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        guard let reactor = Engine.reactor, reactor.enqueue(JobItem(job)) else {
            Log.emit(.error, "a Swift task job for the reactor was dropped: "
                     + (Engine.reactor == nil ? "the reactor is not set up (call Crochet.setup() first)"
                                             : "the reactor has stopped"))
            return
        }
    }

    /// This executor, unowned, for `unownedExecutor` properties.
    public func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }

    /// Whether `other` is this executor (there is one reactor).
    public func isSameExclusiveExecutionContext(other: ReactorExecutor) -> Bool { other === self }

    /// Traps unless the calling thread is the reactor thread.
    public func checkIsolated() {
        precondition(Engine.inReactorThread,
                     "BUG DETECTED: reactor-isolated code (@ReactorActor) ran off the reactor thread")
    }

    /// Whether the calling thread is the reactor thread.
    public func isIsolatingCurrentContext() -> Bool? { Engine.inReactorThread }
}

/// A Swift task job, run on the reactor thread. Jobs still queued when the
/// reactor stops run during the stop, still on the reactor thread.
package final class JobItem: InboxItem, @unchecked Sendable {
    package override var diagnosticSymbol: CallbackSymbol { CallbackSymbol(kind: .task, bits: 0) }
    private let job: UnownedJob

    package init(_ job: UnownedJob) {
        self.job = job
        super.init()
    }

    package override func run(on reactor: Reactor) { runJob() }
    package override func reject(on reactor: Reactor) { runJob() }

    private func runJob() { job.runSynchronously(on: ReactorExecutor.shared.asUnownedSerialExecutor()) }
}
