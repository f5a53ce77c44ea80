import CLinux
import Glibc

/// Log levels; the raw values are the C API's `CROCHET_LOG_*`.
public enum LogLevel: Int32, Sendable {
    case debug = 10, info = 20, warning = 30, error = 40

    package var label: String {
        switch self {
        case .debug: "DEBUG"
        case .info: "INFO"
        case .warning: "WARNING"
        case .error: "ERROR"
        }
    }
}

/// Receives one record on the logging thread.
public typealias LogHandler = @Sendable (_ level: Int32, _ message: String) -> Void

/// Log records are handed to a logging thread, as crochet does, so a slow
/// handler never stalls the reactor. The thread starts with the first record.
public enum Log {
    private final class Queue: @unchecked Sendable {
        package let monitor = cl_monitor_new()!
        package var records: [(Int32, String)] = []
        package var handler: LogHandler?
        package var threadStarted = false
        package var delivering = false
        package var loggingThread: UInt64 = 0
    }

    nonisolated(unsafe) private static var queue = Queue()

    /// Sends records to `handler`; `nil` restores the default (stderr).
    /// When it returns the previous handler is no longer running and is never
    /// called again (unless called from that handler, which cannot wait for
    /// itself), so its context may be freed.
    public static func setHandler(_ handler: LogHandler?) {
        let q = queue
        cl_monitor_lock(q.monitor)
        q.handler = handler
        if q.loggingThread != cl_thread_self() {
            while q.delivering { _ = cl_monitor_wait(q.monitor, -1) }
        }
        cl_monitor_unlock(q.monitor)
    }

    /// Queues a record for the logging thread. Any thread; never blocks long.
    public static func emit(_ level: LogLevel, _ message: String) {
        let q = queue
        cl_monitor_lock(q.monitor)
        q.records.append((level.rawValue, message))
        if !q.threadStarted {
            q.threadStarted = true
            var tid: UInt64 = 0
            let rc = cl_thread_start(&tid, { _ in Log.runLoggingThread(); return nil }, nil)
            if rc != 0 { q.threadStarted = false }
        }
        cl_monitor_broadcast(q.monitor)
        cl_monitor_unlock(q.monitor)
    }

    private static func deliver(_ handler: LogHandler?, _ level: Int32, _ message: String) {
        if let handler {
            handler(level, message)
        } else {
            let label = LogLevel(rawValue: level)?.label ?? "LEVEL \(level)"
            cl_write_stderr("libcrochet: \(label): \(message)\n")
        }
    }

    private static func runLoggingThread() {
        let q = queue
        cl_monitor_lock(q.monitor)
        q.loggingThread = cl_thread_self()
        while true {
            while q.records.isEmpty { _ = cl_monitor_wait(q.monitor, -1) }
            let batch = q.records
            q.records.removeAll(keepingCapacity: true)
            for (level, message) in batch {
                // Read the handler per record, so a replacement takes effect
                // at once; `delivering` lets setHandler wait for the old one.
                q.delivering = true
                let handler = q.handler
                cl_monitor_unlock(q.monitor)
                deliver(handler, level, message)
                cl_monitor_lock(q.monitor)
                q.delivering = false
                cl_monitor_broadcast(q.monitor)
            }
        }
    }

    /// Waits (bounded) until every queued record has been delivered; at exit.
    /// Records the thread could not deliver in time are written here.
    package static func flush(timeoutNanoseconds: Int64 = 2_000_000_000) {
        let q = queue
        let deadline = cl_now_ns() + timeoutNanoseconds
        cl_monitor_lock(q.monitor)
        if q.threadStarted {
            while (!q.records.isEmpty || q.delivering) && cl_now_ns() < deadline {
                _ = cl_monitor_wait(q.monitor, deadline)
            }
        }
        let rest = q.records
        q.records.removeAll()
        let handler = q.handler
        cl_monitor_unlock(q.monitor)
        for (level, message) in rest { deliver(handler, level, message) }
    }

    /// In a forked child: the logging thread is gone and the lock may be held.
    package static func resetAfterFork() {
        let fresh = Queue()
        fresh.handler = queue.handler
        queue = fresh
    }

    package static func lockForFork() { cl_monitor_lock(queue.monitor) }
    package static func unlockAfterFork() { cl_monitor_unlock(queue.monitor) }
}
