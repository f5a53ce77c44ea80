import CLinux

/// When a wait gives up: an instant on the monotonic clock, or never. The one
/// conversion from the C API's seconds and the Swift API's `Duration`.
package struct Deadline: Sendable, Equatable {
    /// Monotonic nanoseconds; `Int64.max` is never. `0` has always passed
    /// (a poll).
    package let nanoseconds: Int64

    /// No limit.
    package static let never = Deadline(nanoseconds: .max)
    /// Already passed: look once, do not wait.
    package static let poll = Deadline(nanoseconds: 0)

    private init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// The deadline `seconds` from now (C timeouts): `INFINITY` (or anything
    /// beyond the clock's range) is never, 0 is a poll; nil for a negative or
    /// NaN timeout.
    package init?(seconds: Double) {
        if seconds.isNaN || seconds < 0 { return nil }
        if seconds == 0 { self = .poll; return }
        if seconds > 1e9 { self = .never; return }
        self.init(nanoseconds: cl_now_ns() + Int64(seconds * 1e9))
    }

    /// The deadline `duration` from now; nil for a negative duration.
    package init?(after duration: Duration) {
        let ns = duration.nanoseconds
        if ns < 0 { return nil }
        if ns == 0 { self = .poll; return }
        let (at, overflow) = cl_now_ns().addingReportingOverflow(ns)
        self.init(nanoseconds: overflow ? .max : at)
    }

    /// Whether this is a poll (no waiting at all).
    @inline(__always) package var isPoll: Bool { nanoseconds == 0 }

    /// Whether this deadline is `never`.
    @inline(__always) package var isNever: Bool { nanoseconds == .max }

    /// Whether the deadline has passed (never, for `never`).
    @inline(__always) package var hasPassed: Bool {
        nanoseconds != .max && (nanoseconds == 0 || cl_now_ns() >= nanoseconds)
    }

    /// The value the C shims take: the monotonic instant, or -1 for none.
    @inline(__always) package var shimValue: Int64 { nanoseconds == .max ? -1 : nanoseconds }
}
