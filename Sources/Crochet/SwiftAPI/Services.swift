/// The reactor running on this thread, or `.notReactorThread`.
private func currentReactor() throws(CrochetError) -> Reactor {
    guard let r = Reactor.current else { throw CrochetError.notReactorThread }
    return r
}

/// Reactor thread only. Calls `callback(fd)` on the reactor thread while `fd`
/// is readable (or at EOF or error), level-triggered like Twisted's
/// `addReader`. A second call for the same fd replaces the callback.
public func addReader(_ fd: Int32, _ callback: @escaping (Int32) -> Void) throws(CrochetError) {
    let r = try currentReactor()
    try CrochetError.check(r.watchers.add(fd: fd, mode: .read, callback))
}

/// Reactor thread only. Stops watching `fd` for reading; nothing if not watched.
public func removeReader(_ fd: Int32) throws(CrochetError) {
    let r = try currentReactor()
    try CrochetError.check(r.watchers.remove(fd: fd, mode: .read))
}

/// Reactor thread only. As `addReader`, for writability.
public func addWriter(_ fd: Int32, _ callback: @escaping (Int32) -> Void) throws(CrochetError) {
    let r = try currentReactor()
    try CrochetError.check(r.watchers.add(fd: fd, mode: .write, callback))
}

/// Reactor thread only. Stops watching `fd` for writing; nothing if not watched.
public func removeWriter(_ fd: Int32) throws(CrochetError) {
    let r = try currentReactor()
    try CrochetError.check(r.watchers.remove(fd: fd, mode: .write))
}

/// Reactor thread only. Runs the blocking `body` on the worker pool; the
/// deferred fires on the reactor thread with its value or thrown error.
/// Cancelling the deferred before a worker starts it means it never runs.
public func deferToThread<T>(_ body: @escaping () throws -> T) throws(CrochetError) -> Deferred<T> {
    let r = try currentReactor()
    let (core, status) = r.deferToThread { _ in
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
public func addShutdownTrigger(_ body: @escaping () -> Void) throws(CrochetError) {
    guard let r = Engine.reactor else { throw CrochetError.wrongState }
    try CrochetError.check(r.addShutdownTrigger(body))
}
