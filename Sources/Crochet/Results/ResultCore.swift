import CLinux
import Glibc
import Synchronization

/// The engine's EventualResult: a write-once outcome that any number of
/// threads may wait for. One atomic state word publishes the outcome and says
/// whether anyone must be woken; waiters spin briefly, then park (`Parking`).
///
/// Calls (`ForeignCall`, `ClosureCall`) are results themselves, so a call costs
/// one allocation. A result created for a deferred is not a call.
package class ResultCore: InboxItem, @unchecked Sendable {
    /// A result made for a deferred (overridden by calls).
    package override var diagnosticSymbol: CallbackSymbol { CallbackSymbol(kind: .deferred, bits: 0) }

    /// Bits of `state`.
    package enum Bit {
        package static let done: UInt32 = 1 << 0           // outcome published
        package static let parked: UInt32 = 1 << 1         // a waiter sleeps on the parking slot
        package static let asyncWaiters: UInt32 = 1 << 2   // Swift tasks await it (`AsyncWaiters`)
        package static let cancelRequested: UInt32 = 1 << 3 // crochet_cancel was called
        package static let started: UInt32 = 1 << 4        // the reactor took the call
        package static let observed: UInt32 = 1 << 5       // a failure was looked at
        package static let completing: UInt32 = 1 << 6     // a completer claimed the outcome
        package static let following: UInt32 = 1 << 7     // its function returned a deferred it waits on
        package static let counted: UInt32 = 1 << 8        // counted against the queued-calls bound
    }

    // Field order is layout: 4+4+9+1+2+4 bytes pack into 24, and with the
    // header, the inbox link and `outcome` a result is 56 bytes (a 64-byte
    // malloc chunk; a foreign call's record is 104, a 112-byte chunk).
    package final let state = Atomic<UInt32>(0)
    /// Two words of coarse time stamps (`cl_coarse_ms`) for three instants.
    /// Queued: `timeA` is the submit time. Running or waiting: `timeA` is how
    /// long it was queued, `timeB` the start time. Done: `timeB` is how long
    /// it ran (and waited). See `facts()`.
    package final let timeA: Atomic<UInt32>
    @exclusivity(unchecked) package final var value: Value = .void
    /// The outcome's status, written once by the completer before `done` is
    /// published (every status fits a byte).
    @exclusivity(unchecked) private final var statusByte: Int8 = 0
    /// The fork generation the result belongs to (`Engine.epoch`, low bits).
    private final let epochBits: UInt16
    package final let timeB = Atomic<UInt32>(0)
    /// The failure, or the `OwnedValue` keeping a value's target alive; while
    /// the result follows a deferred, that deferred (`awaitedDeferred`).
    @exclusivity(unchecked) package final var outcome: AnyObject?

    /// Reactor thread only: the deferred this result follows until it fires
    /// (kept in `outcome`, which the outcome then replaces: no field of its
    /// own). Its place in the reactor's registry is in `link`.
    package final var awaitedDeferred: DeferredCore? {
        get {
            guard state.load(ordering: .relaxed) & (Bit.following | Bit.done) == Bit.following,
                  let held = outcome else { return nil }
            return unsafeDowncast(held, to: DeferredCore.self)
        }
        set { outcome = newValue }
    }

    package init(epoch: UInt32) {
        epochBits = UInt16(truncatingIfNeeded: epoch)
        timeA = Atomic(cl_coarse_ms())   // the submit time
        super.init()
    }

    /// The outcome's status (valid once done).
    package final var status: Int32 {
        get { Int32(statusByte) }
        set { statusByte = Int8(truncatingIfNeeded: newValue) }
    }

    /// Whether this result belongs to a reactor of an earlier fork generation.
    @inline(__always) package final var isInherited: Bool {
        epochBits != UInt16(truncatingIfNeeded: Engine.epoch.load(ordering: .relaxed))
    }

    /// Reactor thread, the start of a call's turn: stamps it, counts the call
    /// out of the queue (and out of the queued-calls bound), and sets
    /// `started`. Returns the state before.
    @inline(__always) package final func beginTurn(on reactor: Reactor) -> UInt32 {
        stampStart(reactor.turnStartMs)
        reactor.noteCallDequeued(queuedMs: timeA.load(ordering: .relaxed))
        let before = state.bitwiseOr(Bit.started, ordering: .sequentiallyConsistent).oldValue
        if before & Bit.counted != 0 { Bounds.release() }
        return before
    }

    /// Reactor thread: a call rejected at stop leaves the queue.
    package final func leaveQueue(on reactor: Reactor) {
        reactor.noteCallDequeued(queuedMs: nil)
        if state.load(ordering: .relaxed) & Bit.counted != 0 { Bounds.release() }
    }

    /// Counts the call against the queued-calls bound (before it is queued).
    package final func markCounted() { state.store(Bit.counted, ordering: .relaxed) }

    /// Stamps the start (reactor thread, before the `started` bit is set):
    /// `timeA` becomes the time queued, `timeB` the start time.
    @inline(__always) package final func stampStart(_ now: UInt32) {
        timeA.store(now &- timeA.load(ordering: .relaxed), ordering: .relaxed)
        timeB.store(now, ordering: .relaxed)
    }

    /// A result that completes when `deferred` fires (reactor thread).
    package convenience init(following deferred: DeferredCore, on reactor: Reactor) {
        self.init(epoch: reactor.epoch)
        stampStart(timeA.load(ordering: .relaxed))
        _ = state.bitwiseOr(Bit.started, ordering: .relaxed)
        follow(deferred, on: reactor)
    }

    deinit {
        if let failure = unobservedError { Log.emit(.error, ResultCore.unhandledErrorText(failure)) }
    }

    /// The failure to report as unhandled, if any: the outcome is a failure
    /// nobody looked at. A cancellation the caller asked for is not an error,
    /// and neither is the reactor stopping (or a fork) before the call
    /// produced a result.
    package final var unobservedError: Failure? {
        let s = state.load(ordering: .acquiring)
        guard s & Bit.done != 0, s & Bit.observed == 0, let failure = outcome as? Failure else { return nil }
        if status == Status.cancelled.rawValue && s & Bit.cancelRequested != 0 { return nil }
        if failure === Failure.stopped || failure === Failure.forked { return nil }
        return failure
    }

    package static func unhandledErrorText(_ failure: Failure) -> String {
        "Unhandled error in EventualResult: \(failure.description)\nTraceback:\n\(failure.traceback)"
    }

    // MARK: Completing

    /// Publishes the outcome once; later completions are ignored. Returns
    /// whether this call completed the result.
    ///
    /// Within one process every completion happens on the reactor thread (or
    /// on the thread stopping a reactor that never ran), so a plain check
    /// suffices and the hot path pays one atomic RMW. Only results inherited
    /// across fork, which any thread of the child may complete, claim the
    /// outcome first (`claimed: true`).
    @discardableResult
    package final func complete(status: Int32, value: Value, outcome: AnyObject?, claimed: Bool = false) -> Bool {
        let before = state.load(ordering: .relaxed)
        if !claimed && before & (Bit.completing | Bit.done) != 0 { return false }
        // Time stamps: how long it ran (or, never started, how long it was queued).
        let now = cl_coarse_ms()
        if before & Bit.started != 0 {
            timeB.store(now &- timeB.load(ordering: .relaxed), ordering: .relaxed)
        } else {
            timeA.store(now &- timeA.load(ordering: .relaxed), ordering: .relaxed)
        }
        Stats.countCompleted()
        self.status = status
        self.value = value
        self.outcome = outcome
        // Dekker pair with `waitUntilDone` (see there): seq_cst RMW, then read.
        let previous = state.bitwiseOr(Bit.done, ordering: .sequentiallyConsistent).oldValue
        if previous & Bit.parked != 0 { Parking.unparkAll(for: self) }
        if previous & Bit.asyncWaiters != 0 { AsyncWaiters.resumeAll(for: self) }
        return true
    }

    @inline(__always)
    package final func succeed(_ value: Value, owner: AnyObject? = nil) {
        complete(status: Status.ok.rawValue, value: value, outcome: owner)
    }

    package final func fail(_ failure: Failure) {
        complete(status: ResultCore.status(for: failure), value: .void, outcome: failure)
    }

    /// The status a failure gives a result: the cancelled and stopped codes
    /// keep their meaning; any other code is a failed call.
    package static func status(for failure: Failure) -> Int32 {
        switch failure.code {
        case Status.cancelled.rawValue, Status.stopped.rawValue: failure.code
        default: Status.failed.rawValue
        }
    }

    // MARK: Reading

    @inline(__always) package final var isDone: Bool {
        state.load(ordering: .acquiring) & Bit.done != 0
    }

    /// The failure if the result exists and is one (marks it observed).
    package final func observedFailure() -> Failure? {
        if !isDone { completeIfInherited() }
        guard isDone, let failure = outcome as? Failure else { return nil }
        _ = state.bitwiseOr(Bit.observed, ordering: .relaxed)
        return failure
    }

    /// In a forked child, results of the parent's reactor never complete by
    /// themselves: they complete as stopped when someone looks at them.
    package final func completeIfInherited() {
        if isInherited {
            let before = state.bitwiseOr(Bit.completing, ordering: .acquiring).oldValue
            if before & (Bit.completing | Bit.done) != 0 { return }
            complete(status: Status.stopped.rawValue, value: .void, outcome: Failure.forked, claimed: true)
        }
    }

    /// Waits until the outcome exists or `deadline` passes. Returns whether
    /// it exists. Never call on the reactor thread.
    package final func waitUntilDone(deadline: Deadline) -> Bool {
        if isDone { return true }
        completeIfInherited()
        if isDone { return true }
        // Spin briefly: a result a few microseconds away is cheaper to catch
        // awake than to sleep for. Yield now and then so a reactor sharing
        // this core gets to run.
        // A waiter whose submit had to wake a sleeping reactor gains nothing
        // from spinning through that wake-up (tens of microseconds): park.
        let reactorWasAsleep = cl_tls_woke_reactor() != 0
        if reactorWasAsleep { cl_tls_set_woke_reactor(0) }
        let budget = SpinPolicy.budget.load(ordering: .relaxed)
        if !deadline.isPoll && !reactorWasAsleep {
            var i = 0
            while i < budget {
                cl_cpu_relax()
                if isDone { SpinPolicy.succeeded(); return true }
                i += 1
                if i & 15 == 0 {
                    // A slow yield: other threads want the core, and spinning
                    // only delays them and us: park. (A result found after
                    // it was not caught by spinning: no credit for the spin.)
                    if !Contention.yieldWasQuick() { if isDone { return true }; break }
                    if isDone { SpinPolicy.succeeded(); return true }
                    if deadline.hasPassed { break }
                }
            }
            SpinPolicy.failed()
        }
        let slot = Parking.slot(for: self)
        while true {
            let sequence = Parking.sequence(slot)
            // Dekker pair with `complete`: publish `parked` (seq_cst RMW), then
            // read `done`; the completer publishes `done` (seq_cst RMW), then
            // reads `parked`. Sequentially consistent on both sides, so on
            // weakly ordered CPUs too at least one side sees the other.
            let s = state.load(ordering: .sequentiallyConsistent)
            if s & Bit.done != 0 { return true }
            if s & Bit.parked == 0 {
                let (exchanged, _) = state.compareExchange(
                    expected: s, desired: s | Bit.parked, ordering: .sequentiallyConsistent)
                if !exchanged { continue }
            }
            if deadline.hasPassed { return isDone }
            if !Parking.park(slot, sequence: sequence, deadline: deadline) {
                return isDone
            }
        }
    }

    /// Waits and returns the status (and value). Marks failures observed.
    package final func wait(deadline: Deadline, value out: inout Value) -> Int32 {
        guard waitUntilDone(deadline: deadline) else { return Status.timedOut.rawValue }
        let status = self.status
        if status == Status.ok.rawValue {
            out = value
        } else {
            _ = state.bitwiseOr(Bit.observed, ordering: .relaxed)
        }
        return status
    }

    /// crochet's `wait_for` after the submit: waits until `deadline`, and on
    /// timeout cancels the call before returning. A pointer value the result
    /// owns is handed to the caller when `handOver` (the library never
    /// destroys it then). The failure, if the outcome is one, comes back too.
    /// A timeout logs one WARNING saying where the call was (`waiter` names
    /// the wait).
    package final func waitFor(deadline: Deadline, handOver: Bool, waiter: @autoclosure () -> String) -> (Int32, Value, Failure?) {
        var value = Value.void
        let status = wait(deadline: deadline, value: &value)
        if status == Status.timedOut.rawValue {
            Log.emit(.warning, timeoutDiagnosis(waitedFor: waiter()))   // before cancelling: where it was
            requestCancel()
            return (status, .void, nil)
        }
        if status == Status.ok.rawValue {
            if handOver, let owned = outcome as? OwnedValue { owned.handOver() }
            return (status, value, nil)
        }
        return (status, .void, outcome as? Failure)
    }

    // MARK: Cancelling

    /// Asks for cancellation; any thread. A call not yet started never starts;
    /// a call following a deferred has it cancelled on the reactor thread.
    package final func requestCancel() {
        let before = state.bitwiseOr(Bit.cancelRequested, ordering: .sequentiallyConsistent).oldValue
        if before & (Bit.cancelRequested | Bit.done | Bit.completing) != 0 { return }
        if before & Bit.started == 0 { return }   // the reactor sees the bit when it starts it
        completeIfInherited()
        guard !isInherited, let reactor = Engine.reactor else { return }
        if reactor.isCurrentThread {
            cancelFollowedDeferred()
        } else {
            _ = reactor.enqueue(CancelRequest(self))
        }
    }

    /// Reactor thread: cancels the deferred this result follows, if any.
    package final func cancelFollowedDeferred() {
        if let d = awaitedDeferred, !isDone { _ = d.cancel() }
    }

    @inline(__always) package final var cancelWasRequested: Bool {
        state.load(ordering: .sequentiallyConsistent) & Bit.cancelRequested != 0
    }
}

/// Carries a cancellation to the reactor thread.
package final class CancelRequest: InboxItem, @unchecked Sendable {
    package let result: ResultCore
    package init(_ result: ResultCore) {
        self.result = result
        super.init()
    }
    package override func run(on reactor: Reactor) { result.cancelFollowedDeferred() }
}

/// A value whose pointer target the result owns (`callback_owned`), or a
/// Swift value: released when the last holder lets go, unless it was handed
/// over (`crochet_wait_for` gives the pointer to its caller).
package final class OwnedValue: @unchecked Sendable {
    package let pointer: UnsafeMutableRawPointer?
    package let destroy: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?
    /// A Swift value (boxed), for the Swift API.
    package let object: Any?
    private let handedOver = Atomic<Bool>(false)

    package init(pointer: UnsafeMutableRawPointer?, destroy: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?) {
        self.pointer = pointer
        self.destroy = destroy
        self.object = nil
    }

    package init(swiftValue: Any) {
        self.pointer = nil
        self.destroy = nil
        self.object = swiftValue
    }

    /// Gives the pointer's ownership away: `destroy` never runs.
    package func handOver() { handedOver.store(true, ordering: .releasing) }

    deinit {
        if !handedOver.load(ordering: .acquiring) { destroy?(pointer) }
    }
}
