import CLinux
import Glibc

/// fd readiness watchers on epoll, level-triggered like Twisted's addReader.
/// Every registration carries an id packed into epoll's user data beside the
/// fd, so an event for a watcher that was removed (even if the fd number was
/// reused at once) is dropped. Reactor thread only.
package struct Watchers {
    package typealias Callback = (Int32) -> Void

    /// What a watcher waits for.
    package enum Mode: Sendable { case read, write }

    private struct Entry {
        package var reader: Callback?
        package var writer: Callback?
        package var registration: UInt32
        package var events: UInt32 { (reader != nil ? UInt32(EPOLLIN.rawValue | EPOLLRDHUP.rawValue) : 0) | (writer != nil ? UInt32(EPOLLOUT.rawValue) : 0) }
    }

    private var table: [Int32: Entry] = [:]
    private var nextRegistration: UInt32 = 1   // 0 is the wake-up eventfd's
    package let epollFD: Int32

    package init(epollFD: Int32) { self.epollFD = epollFD }

    package var count: Int { table.count }
    /// How many fds have a reader, and a writer.
    package private(set) var readerCount = 0
    package private(set) var writerCount = 0

    private mutating func recount(_ old: Entry?, _ new: Entry?) {
        readerCount += (new?.reader != nil ? 1 : 0) - (old?.reader != nil ? 1 : 0)
        writerCount += (new?.writer != nil ? 1 : 0) - (old?.writer != nil ? 1 : 0)
    }

    package static func packed(fd: Int32, registration: UInt32) -> UInt64 {
        UInt64(registration) << 32 | UInt64(UInt32(bitPattern: fd))
    }

    /// Adds or replaces the reader (or writer) of `fd`. A replaced callback
    /// is dropped (after its running call, if any, returned).
    package mutating func add(fd: Int32, mode: Mode, _ callback: @escaping Callback) -> Status {
        guard fd >= 0, cl_fd_is_open(fd) != 0 else { return .invalidArgument }
        var entry = table[fd] ?? Entry(reader: nil, writer: nil, registration: 0)
        let fresh = entry.reader == nil && entry.writer == nil
        switch mode {
        case .read: entry.reader = callback
        case .write: entry.writer = callback
        }
        if fresh {
            entry.registration = nextRegistration
            nextRegistration = nextRegistration == UInt32.max ? 1 : nextRegistration + 1
        }
        let data = Watchers.packed(fd: fd, registration: entry.registration)
        var rc = cl_epoll_ctl(epollFD, fresh ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, entry.events, data)
        if rc != 0 && errno == EEXIST {
            // A stale kernel registration (the fd was dup'ed or reused): replace it.
            rc = cl_epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, entry.events, data)
        } else if rc != 0 && errno == ENOENT {
            // The fd was closed and reopened since: the kernel forgot it.
            rc = cl_epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, entry.events, data)
        }
        if rc != 0 {
            return errno == ENOMEM || errno == ENOSPC ? .outOfMemory : .invalidArgument
        }
        recount(table[fd], entry)
        table[fd] = entry
        return .ok
    }

    /// Removes the reader (or writer) of `fd`; nothing if there is none.
    package mutating func remove(fd: Int32, mode: Mode) -> Status {
        guard fd >= 0 else { return .invalidArgument }
        guard var entry = table[fd] else { return .ok }
        let old = entry
        switch mode {
        case .read: entry.reader = nil
        case .write: entry.writer = nil
        }
        recount(old, entry)
        if entry.reader == nil && entry.writer == nil {
            table[fd] = nil
            _ = cl_epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, 0, 0)   // EBADF if already closed: fine
        } else {
            table[fd] = entry
            _ = cl_epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, entry.events,
                             Watchers.packed(fd: fd, registration: entry.registration))
        }
        return .ok
    }

    /// The callbacks an event calls, checked against the registration id.
    /// Looked up again before each call, since a callback may remove others.
    package func reader(fd: Int32, registration: UInt32) -> Callback? {
        guard let entry = table[fd], entry.registration == registration else { return nil }
        return entry.reader
    }

    package func writer(fd: Int32, registration: UInt32) -> Callback? {
        guard let entry = table[fd], entry.registration == registration else { return nil }
        return entry.writer
    }

    /// Drops every watcher (at stop); their callbacks go with them.
    package mutating func removeAll() {
        for fd in table.keys { _ = cl_epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, 0, 0) }
        let dropped = table
        table.removeAll()
        readerCount = 0
        writerCount = 0
        _ = dropped   // released here, after the table is consistent again
    }
}
