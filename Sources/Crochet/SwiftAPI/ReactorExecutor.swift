import CLinux

/// The reactor as a `SerialExecutor`: a job enqueued from any thread goes
/// through the inbox and runs on the reactor thread, in order with calls.
public final class ReactorExecutor: SerialExecutor, @unchecked Sendable {
    /// The executor of the process's reactor (whichever is current).
    public static let shared = ReactorExecutor()

    private init() {}

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        guard let reactor = Engine.reactor, reactor.enqueue(JobItem(job)) else {
            Log.emit(.error, "a Swift task job for the reactor was dropped: "
                     + (Engine.reactor == nil ? "the reactor is not set up (call Crochet.setup() first)"
                                             : "the reactor has stopped"))
            return
        }
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }

    public func isSameExclusiveExecutionContext(other: ReactorExecutor) -> Bool { other === self }

    public func checkIsolated() {
        precondition(Engine.inReactorThread,
                     "BUG DETECTED: reactor-isolated code (@ReactorActor) ran off the reactor thread")
    }

    public func isIsolatingCurrentContext() -> Bool? { Engine.inReactorThread }
}

/// A Swift task job, run on the reactor thread. Jobs still queued when the
/// reactor stops run during the stop, still on the reactor thread.
package final class JobItem: InboxItem, @unchecked Sendable {
    private let job: UnownedJob

    package init(_ job: UnownedJob) {
        self.job = job
        super.init()
    }

    package override func run(on reactor: Reactor) { runJob() }
    package override func reject(on reactor: Reactor) { runJob() }

    private func runJob() { job.runSynchronously(on: ReactorExecutor.shared.asUnownedSerialExecutor()) }
}
