import CLinux

/// A mutex the fork handlers take before `fork()` and release (or rebuild) in
/// both processes after, so a child never inherits it held by a thread that
/// does not exist there. Every process-wide lock of the library is one.
package final class ForkSafeLock: @unchecked Sendable {
    private let monitor = cl_monitor_new()!

    package init() {}

    @inline(__always)
    package func withLock<R>(_ body: () throws -> R) rethrows -> R {
        cl_monitor_lock(monitor)
        defer { cl_monitor_unlock(monitor) }
        return try body()
    }

    package func lock() { cl_monitor_lock(monitor) }
    package func unlock() { cl_monitor_unlock(monitor) }
    package func reinitialize() { cl_monitor_reinit(monitor) }
}
