/// libcrochet from Swift: crochet's API (“use Twisted anywhere”) for an event
/// loop, the reactor, that runs on a thread of its own. Any thread hands it
/// work and gets back an ``EventualResult`` to wait on (with a timeout),
/// `await`, cancel or stash.
///
/// ```swift
/// try Crochet.setup()
/// let answer = try Crochet.runInReactor { 6 * 7 }
/// print(try answer.wait(timeout: .seconds(1)))
/// ```
///
/// Work given to the reactor is `@ReactorActor`: it runs on the reactor
/// thread, and may use the reactor-only APIs (``Deferred``, readers and
/// writers, ``deferToThread(_:)``) without a hop.
public enum Crochet {
    // MARK: Lifecycle

    /// Starts the reactor on a thread the library owns (crochet's `setup()`)
    /// and registers an exit handler that stops it. Idempotent; does nothing
    /// after ``noSetup()``.
    public static func setup() throws(CrochetError) { try CrochetError.check(Engine.setup()) }

    /// Initializes with no side effects (crochet's `no_setup()`): run the
    /// reactor yourself with ``run()``. Throws `.wrongState` after ``setup()``.
    public static func noSetup() throws(CrochetError) { try CrochetError.check(Engine.noSetup()) }

    /// After ``noSetup()``, runs the reactor on the calling thread until
    /// ``stop()``.
    public static func run() throws(CrochetError) { try CrochetError.check(Engine.run()) }

    /// Stops the reactor: every pending result completes with `.stopped`.
    public static func stop() throws(CrochetError) { try CrochetError.check(Engine.stop()) }

    /// Whether the calling thread runs the reactor.
    public static var inReactorThread: Bool { Engine.inReactorThread }

    /// The reactor's executor, for an actor that runs on the reactor thread
    /// (see ``ReactorActor``).
    public static var executor: ReactorExecutor { ReactorExecutor.shared }

    // MARK: Running code on the reactor

    /// Runs `body` on the reactor thread (crochet's `run_in_reactor`); its
    /// value or thrown error becomes the result's. `name` names the call in
    /// diagnostics (``EventualResult/info``, stall warnings); by default the
    /// calling function.
    @discardableResult
    public static func runInReactor<T: Sendable>(
        name: StaticString = #function, _ body: @escaping @ReactorActor () throws -> T
    ) throws(CrochetError) -> EventualResult<T> {
        let run = nonisolatedBody(body)
        return try submit(name: name) { call, _ in
            do {
                call.succeed(.pointer(nil), owner: OwnedValue(swiftValue: try run()))
            } catch {
                call.fail(Failure(code: Status.failed.rawValue, message: "\(error)", error: error))
            }
        }
    }

    /// Runs `body` on the reactor thread; the result follows the deferred it
    /// returns.
    @discardableResult
    public static func runInReactor<T: Sendable>(
        name: StaticString = #function, _ body: @escaping @ReactorActor () throws -> Deferred<T>
    ) throws(CrochetError) -> EventualResult<T> {
        let run = nonisolatedBody(body)
        return try submit(name: name) { call, reactor in
            do {
                call.follow(try run().core, on: reactor)
            } catch {
                call.fail(Failure(code: Status.failed.rawValue, message: "\(error)", error: error))
            }
        }
    }

    /// Runs `body` on the reactor thread and waits up to `timeout` for its
    /// value (crochet's `wait_for`); on timeout the call is cancelled and
    /// `.timedOut` thrown. `.onReactorThread` on the reactor thread.
    public static func waitFor<T: Sendable>(
        timeout: Duration, name: StaticString = #function, _ body: @escaping @ReactorActor () throws -> T
    ) throws(CrochetError) -> T {
        if Engine.inReactorThread { throw CrochetError.onReactorThread }
        return try waitCancelling(try runInReactor(name: name, body), timeout: timeout)
    }

    /// `Crochet.waitFor` for a body that returns a deferred.
    public static func waitFor<T: Sendable>(
        timeout: Duration, name: StaticString = #function, _ body: @escaping @ReactorActor () throws -> Deferred<T>
    ) throws(CrochetError) -> T {
        if Engine.inReactorThread { throw CrochetError.onReactorThread }
        return try waitCancelling(try runInReactor(name: name, body), timeout: timeout)
    }

    /// Runs `body` on the reactor thread soon (Twisted's `callFromThread`).
    public static func callFromThread(_ body: @escaping @ReactorActor () -> Void) throws(CrochetError) {
        let (r, status) = Submission.reactor()
        guard let r else { throw CrochetError(status: status) }
        let run = nonisolatedBody(body)
        try CrochetError.check(Submission.queue(CallbackItem(run), on: r))
    }

    /// Runs `body` on the reactor thread after `delay` (Twisted's `callLater`).
    @discardableResult
    public static func callLater(_ delay: Duration,
                                 _ body: @escaping @ReactorActor () -> Void) throws(CrochetError) -> ScheduledCall {
        let ns = delay.nanoseconds
        if ns < 0 { throw CrochetError.invalidArgument("negative delay") }
        let (r, status) = Submission.reactor()
        guard let r else { throw CrochetError(status: status) }
        let call = DelayedCall(deadline: DelayedCall.deadline(afterNanoseconds: ns), reactor: r, body: nonisolatedBody(body))
        guard r.schedule(call) else { throw CrochetError(status: .stopped) }
        return ScheduledCall(call: call)
    }

    /// Takes a stashed result out of the process-wide store (crochet's
    /// `retrieve_result`); a second retrieve throws `.notFound`.
    public static func retrieveResult<T: Sendable>(_ id: UInt64, as type: T.Type = T.self) throws(CrochetError) -> EventualResult<T> {
        guard let core = ResultStore.retrieve(id) else { throw CrochetError.notFound }
        return EventualResult(core)
    }

    // MARK: Helpers

    private static func submit<T>(name: StaticString,
                                  _ body: @escaping (ClosureCall, Reactor) -> Void) throws(CrochetError) -> EventualResult<T> {
        let name = name.hasPointerRepresentation
            ? UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self) : nil
        let (r, status) = Submission.reactor()
        guard let r else { throw CrochetError(status: status) }
        let call = ClosureCall(epoch: r.epoch, name: name, body: body)
        try CrochetError.check(Submission.queue(call, on: r))
        return EventualResult(call)
    }

    /// `waitFor`'s wait: on timeout, logs one WARNING with where the call
    /// was, cancels it, and throws `.timedOut` with that diagnosis.
    private static func waitCancelling<T>(_ result: EventualResult<T>, timeout: Duration) throws(CrochetError) -> T {
        do {
            return try result.wait(timeout: timeout)
        } catch .timedOut {
            let diagnosis = result.core.timeoutDiagnosis(
                waitedFor: "Crochet.waitFor(timeout: \(CallFacts.seconds(Double(timeout.nanoseconds) / 1e9)))")
            Log.emit(.warning, diagnosis)
            result.cancel()
            throw CrochetError.timedOut(diagnosis: diagnosis)
        }
    }
}

/// A `@ReactorActor` closure as a plain one, for the engine to call on the
/// reactor thread (where the isolation holds: the engine runs it nowhere
/// else, and `ReactorExecutor.checkIsolated` confirms it to the runtime).
/// Isolation to a global actor does not change a synchronous function's
/// calling convention (the standard library's `MainActor.assumeIsolated`
/// does the same).
func nonisolatedBody<R>(_ body: @escaping @ReactorActor () throws -> R) -> @Sendable () throws -> R {
    unsafeBitCast(body, to: (@Sendable () throws -> R).self)
}

func nonisolatedBody<R>(_ body: @escaping @ReactorActor () -> R) -> @Sendable () -> R {
    unsafeBitCast(body, to: (@Sendable () -> R).self)
}

func nonisolatedBody<A, R>(_ body: @escaping @ReactorActor (A) -> R) -> @Sendable (A) -> R {
    unsafeBitCast(body, to: (@Sendable (A) -> R).self)
}
