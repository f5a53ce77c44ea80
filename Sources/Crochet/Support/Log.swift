import CLinux
import Glibc

/// A log record's level; the raw values are the C API's `CROCHET_LOG_*`.
public enum LogLevel: Int32, Sendable {
    /// `CROCHET_LOG_DEBUG` ... `CROCHET_LOG_ERROR`.
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
package typealias LogHandler = @Sendable (_ level: Int32, _ message: String) -> Void

/// Log records are handed to a logging thread, as crochet does, so a slow
/// handler never stalls the reactor. The thread starts with the first record.
///
/// The handler is called one record at a time, in order, never with the
/// queue's lock held. A replaced handler is retired to the logging thread,
/// which drops the last reference to it after its last call: whatever it
/// captured (a C handler's context, through `destroy`) is released there.
package enum Log {
    private final class Queue: @unchecked Sendable {
        let monitor = cl_monitor_new()!
        /// Queued records; those before `head` were taken by the logging thread.
        var records: [(Int32, String)] = []
        var head = 0
        var hasRecords: Bool { head < records.count }
        var handler: LogHandler?
        /// Replaced handlers, for the logging thread to release.
        var retired: [LogHandler] = []
        var threadStarted = false
        var loggingThread: UInt64 = 0
        /// Records queued, and records delivered, since the start.
        var emitted: UInt64 = 0
        var delivered: UInt64 = 0
        /// The library's exit handler ran: later records are waited for.
        var exiting = false
    }

    nonisolated(unsafe) private static var queue = Queue()

    /// Makes the queue (a `swift_once`) before the library's threads exist.
    package static func warmUp() { _ = queue }

    /// How long exit waits for the logging thread before writing what is
    /// left to stderr.
    package static let exitBoundNanoseconds: Int64 = 2_000_000_000

    /// Sends records to `handler`; `nil` restores the default (stderr). Never
    /// blocks: the previous handler may still be delivering a record, and is
    /// released on the logging thread after that.
    package static func setHandler(_ handler: LogHandler?) {
        let q = queue
        cl_monitor_lock(q.monitor)
        if let old = q.handler {
            q.retired.append(old)
            startThreadIfNeeded(q)
        }
        q.handler = handler
        cl_monitor_broadcast(q.monitor)
        cl_monitor_unlock(q.monitor)
    }

    /// Queues a record for the logging thread. Any thread; never blocks long
    /// (after the library's exit handler ran it waits, bounded, until the
    /// record was delivered, since the process is about to end).
    package static func emit(_ level: LogLevel, _ message: String) {
        let q = queue
        cl_monitor_lock(q.monitor)
        q.records.append((level.rawValue, message))
        q.emitted += 1
        let mark = q.emitted
        startThreadIfNeeded(q)
        cl_monitor_broadcast(q.monitor)
        let exiting = q.exiting
        cl_monitor_unlock(q.monitor)
        if exiting { _ = waitDelivered(mark, deadline: cl_now_ns() + exitBoundNanoseconds, writeLeftovers: true) }
    }

    /// Starts the logging thread if it is not running (lock held).
    private static func startThreadIfNeeded(_ q: Queue) {
        if q.threadStarted { return }
        q.threadStarted = true
        var tid: UInt64 = 0
        if cl_thread_start(&tid, { _ in Log.runLoggingThread(); return nil }, nil) != 0 { q.threadStarted = false }
    }

    private static func deliver(_ handler: LogHandler?, _ level: Int32, _ message: String) {
        if let handler {
            handler(level, message)
        } else {
            writeToStderr(level, message)
        }
    }

    private static func writeToStderr(_ level: Int32, _ message: String) {
        let label = LogLevel(rawValue: level)?.label ?? "LEVEL \(level)"
        cl_write_stderr("libcrochet: \(label): \(message)\n")
    }

    private static func runLoggingThread() {
        let q = queue
        cl_monitor_lock(q.monitor)
        q.loggingThread = cl_thread_self()
        while true {
            while !q.hasRecords && q.retired.isEmpty { _ = cl_monitor_wait(q.monitor, -1) }
            if q.hasRecords {
                let (level, message) = q.records[q.head]
                q.head += 1
                if q.head == q.records.count {
                    q.records.removeAll(keepingCapacity: q.records.count <= 1024)
                    q.head = 0
                }
                // Read the handler per record, so a replacement takes effect at once.
                let handler = q.handler
                cl_monitor_unlock(q.monitor)
                deliver(handler, level, message)
                // A handler that forked: in the child this thread must not
                // go on (that queue's lock was taken for the fork and is
                // gone with it); the child has a fresh queue of its own.
                if queue !== q { return }
                cl_monitor_lock(q.monitor)
                q.delivered += 1
            }
            if !q.retired.isEmpty {
                // Their last call is over: release them here, unlocked.
                var retired = q.retired
                q.retired = []
                cl_monitor_unlock(q.monitor)
                retired.removeAll()
                cl_monitor_lock(q.monitor)
            }
            cl_monitor_broadcast(q.monitor)
        }
    }

    /// Waits until record `mark` was delivered or `deadline` passed; with
    /// `writeLeftovers`, records the thread did not take in time are written
    /// to stderr here (never given to the handler, which may be busy).
    private static func waitDelivered(_ mark: UInt64, deadline: Int64, writeLeftovers: Bool) -> Bool {
        let q = queue
        cl_monitor_lock(q.monitor)
        while q.delivered < mark && q.threadStarted && cl_now_ns() < deadline {
            _ = cl_monitor_wait(q.monitor, deadline)
        }
        let done = q.delivered >= mark
        var rest: [(Int32, String)] = []
        if !done && writeLeftovers {
            rest = Array(q.records[q.head...])
            q.records.removeAll()
            q.head = 0
            q.delivered += UInt64(rest.count)
        }
        cl_monitor_unlock(q.monitor)
        for (level, message) in rest { writeToStderr(level, message) }
        return done
    }

    /// Whether the calling thread is the logging thread (inside a handler).
    package static var onLoggingThread: Bool {
        let q = queue
        cl_monitor_lock(q.monitor)
        defer { cl_monitor_unlock(q.monitor) }
        return q.threadStarted && q.loggingThread == cl_thread_self()
    }

    /// Waits up to `deadline` until every record made before this call was
    /// delivered. Returns whether it was. Never call from a handler.
    package static func flush(deadline: Deadline) -> Bool {
        let q = queue
        cl_monitor_lock(q.monitor)
        let mark = q.emitted
        cl_monitor_unlock(q.monitor)
        return waitDelivered(mark, deadline: deadline.isNever ? Int64.max : deadline.nanoseconds,
                             writeLeftovers: false)
    }

    /// At exit: delivers what is queued (bounded; what the thread cannot take
    /// in time goes to stderr), and from now on every record is waited for.
    package static func flushAtExit() {
        let q = queue
        cl_monitor_lock(q.monitor)
        q.exiting = true
        let mark = q.emitted
        let onLoggingThread = q.threadStarted && q.loggingThread == cl_thread_self()
        cl_monitor_unlock(q.monitor)
        if onLoggingThread { return }   // exit() inside a handler: it cannot wait for itself
        _ = waitDelivered(mark, deadline: cl_now_ns() + exitBoundNanoseconds, writeLeftovers: true)
    }

    /// In a forked child: the logging thread is gone and the lock may be held.
    /// The handler is kept (the child's copy of its context is valid).
    package static func resetAfterFork() {
        let fresh = Queue()
        fresh.handler = queue.handler
        queue = fresh
    }

    package static func lockForFork() { cl_monitor_lock(queue.monitor) }
    package static func unlockAfterFork() { cl_monitor_unlock(queue.monitor) }
}
