/// Reactor services: fd watchers, the worker pool, shutdown triggers, logging.
extension Crochet {
    /// Calls `callback(fd)` on the reactor thread while `fd` is readable (or
    /// at EOF or error), level-triggered like Twisted's `addReader`. A second
    /// call for the same fd replaces the callback; the replaced one (and what
    /// it captured) is released after any running call of it returned.
    @ReactorActor
    public static func addReader(_ fd: Int32, _ callback: @escaping @ReactorActor (Int32) -> Void) throws(CrochetError) {
        try CrochetError.check(reactor().watchers.add(fd: fd, mode: .read, nonisolatedBody(callback)))
    }

    /// Stops watching `fd` for reading; nothing if not watched.
    @ReactorActor
    public static func removeReader(_ fd: Int32) throws(CrochetError) {
        try CrochetError.check(reactor().watchers.remove(fd: fd, mode: .read))
    }

    /// As ``addReader(_:_:)``, for writability.
    @ReactorActor
    public static func addWriter(_ fd: Int32, _ callback: @escaping @ReactorActor (Int32) -> Void) throws(CrochetError) {
        try CrochetError.check(reactor().watchers.add(fd: fd, mode: .write, nonisolatedBody(callback)))
    }

    /// Stops watching `fd` for writing; nothing if not watched.
    @ReactorActor
    public static func removeWriter(_ fd: Int32) throws(CrochetError) {
        try CrochetError.check(reactor().watchers.remove(fd: fd, mode: .write))
    }

    /// Runs the blocking `body` on the worker pool; the deferred fires on the
    /// reactor thread with its value or thrown error. Cancelling the deferred
    /// before a worker starts it means it never runs.
    @ReactorActor
    public static func deferToThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws(CrochetError) -> Deferred<T> {
        let (core, status) = try reactor().deferToThread { _ in
            do {
                return .value(.pointer(nil), owner: OwnedValue(swiftValue: try body()))
            } catch {
                return .failure(Failure(code: Status.failed.rawValue, message: "\(error)", error: error))
            }
        }
        guard let core else { throw CrochetError(status: status) }
        return Deferred(core: core)
    }

    /// Any thread. Runs `body` on the reactor thread when it stops, before
    /// pending results fail with `.stopped`; triggers run in reverse order.
    public static func addShutdownTrigger(_ body: @escaping @ReactorActor () -> Void) throws(CrochetError) {
        guard let r = Engine.reactor else { throw CrochetError.wrongState }
        try CrochetError.check(r.addShutdownTrigger(nonisolatedBody(body)))
    }

    /// Sends the library's log records to `handler` (on its logging thread,
    /// one at a time, in order); `nil` restores the default (stderr). Never
    /// blocks; the previous handler is released after its last record.
    public static func setLogHandler(_ handler: (@Sendable (_ level: LogLevel, _ message: String) -> Void)?) {
        guard let handler else { return Log.setHandler(nil) }
        Log.setHandler { level, message in handler(LogLevel(rawValue: level) ?? .error, message) }
    }

    /// Waits up to `timeout` until every record logged so far was delivered.
    /// Throws `.timedOut`, or `.onReactorThread` on the reactor thread.
    public static func flushLog(timeout: Duration) throws(CrochetError) {
        if Engine.inReactorThread || Log.onLoggingThread { throw CrochetError.onReactorThread }
        if !Log.flush(deadline: try timeout.deadline()) { throw CrochetError.timedOut() }
    }

    @ReactorActor
    private static func reactor() throws(CrochetError) -> Reactor {
        guard let r = Reactor.current else { throw CrochetError.notReactorThread }
        return r
    }
}
