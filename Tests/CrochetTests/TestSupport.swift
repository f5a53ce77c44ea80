// Helpers shared by the test files: OS threads, bounded waits, a private
// reactor running on a thread the test owns, and a few small boxes.
//
// The engine is process-wide and Swift Testing runs tests in parallel in one
// process, so tests that use the global reactor call `try Crochet.setup()` (which is
// idempotent) and never stop it. Anything that needs a reactor to stop runs on
// a `PrivateReactor`, which is independent of `Engine`.
import CLinux
import Dispatch
import Glibc
import Synchronization
import Testing
@testable import Crochet

/// How long any test waits for something that should happen "soon" before it
/// gives up and fails: generous, so a loaded machine (or ThreadSanitizer)
/// does not make tests flaky, yet bounded so a bug never hangs the run.
let patience: Duration = .seconds(20)
let patienceSeconds: Double = 20

/// An error type for closures that throw.
enum TestError: Error, Equatable {
    case boom
    case code(Int)
}

/// A mutable box shared across threads, guarded by a pthread mutex (which
/// ThreadSanitizer understands; `Synchronization.Mutex` parks through raw
/// futexes, which it does not, so contended use reports false races).
final class Locked<Value>: @unchecked Sendable {
    private var storage: Value
    private let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()
    init(_ value: Value) { storage = value }
    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }
    var value: Value {
        get { withLock { $0 } }
        set { withLock { $0 = newValue } }
    }
    @discardableResult
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&storage)
    }
}

/// A one-shot event with a bounded wait.
final class Event: @unchecked Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private let fired = Atomic<Bool>(false)
    init() {}
    /// Signals the event; later calls do nothing.
    func signal() {
        if !fired.exchange(true, ordering: .sequentiallyConsistent) {
            // Enough permits for many waiters.
            for _ in 0..<64 { semaphore.signal() }
        }
    }
    var isSignalled: Bool { fired.load(ordering: .sequentiallyConsistent) }
    /// Waits up to `seconds`; returns whether the event was signalled.
    @discardableResult
    func wait(seconds: Double = patienceSeconds) -> Bool {
        if semaphore.wait(timeout: .now() + seconds) == .success {
            semaphore.signal()   // leave a permit for other waiters
            return true
        }
        return false
    }
}

/// A counter that any thread may bump, with a bounded wait for a target.
final class Counter: @unchecked Sendable {
    private let count = Atomic<Int>(0)
    init() {}
    @discardableResult
    func increment() -> Int { count.wrappingAdd(1, ordering: .sequentiallyConsistent).newValue }
    var value: Int { count.load(ordering: .sequentiallyConsistent) }
    /// Spins (yielding) until the count reaches `target` or the time is up.
    @discardableResult
    func wait(for target: Int, seconds: Double = patienceSeconds) -> Bool {
        spinUntil(seconds: seconds) { self.value >= target }
    }
}

/// Polls `condition` (yielding between polls) until it holds or `seconds`
/// pass. For states with no event to wait on (for example "a waiter has
/// parked"); returns whether the condition held.
@discardableResult
func spinUntil(seconds: Double = patienceSeconds, _ condition: () -> Bool) -> Bool {
    let deadline = cl_now_ns() + Int64(seconds * 1e9)
    while !condition() {
        if cl_now_ns() > deadline { return false }
        sched_yield()
    }
    return true
}

/// A monotonic deadline `seconds` from now, for `ResultCore.wait(deadline:)`.
func deadline(in seconds: Double) -> Deadline { Deadline(seconds: seconds)! }

/// An OS thread (not a Swift concurrency thread) running `body`.
final class TestThread: @unchecked Sendable {
    private let body: () -> Void
    private var tid: UInt64 = 0

    init(_ body: @escaping () -> Void) {
        self.body = body
        let box = Unmanaged.passRetained(self).toOpaque()
        let rc = cl_thread_start(&tid, { raw in
            let me = Unmanaged<TestThread>.fromOpaque(raw!).takeRetainedValue()
            me.body()
            return nil
        }, box)
        precondition(rc == 0, "could not start a test thread: \(rc)")
    }

    /// Joins the thread; false if it did not end within `seconds`.
    @discardableResult
    func join(seconds: Double = patienceSeconds) -> Bool {
        cl_thread_join(tid, Int64(seconds * 1e9)) == 0
    }
}

/// Starts `count` threads running `body(index)` and joins them all; returns
/// whether every one ended in time.
@discardableResult
func runThreads(_ count: Int, _ body: @escaping (Int) -> Void) -> Bool {
    let threads = (0..<count).map { i in TestThread { body(i) } }
    var allJoined = true
    for t in threads where !t.join() { allJoined = false }
    return allJoined
}

/// The global reactor, started once for the tests that need it.
func globalReactor() throws -> Reactor {
    try Crochet.setup()
    return try #require(Engine.reactor)
}

/// A reactor independent of the global engine, running its loop on a thread
/// the test starts. Its epoch is the process's, so its results are not taken
/// for results inherited across fork.
final class PrivateReactor: @unchecked Sendable {
    let reactor: Reactor
    private var thread: TestThread?
    let loopEnded = Event()

    init() throws {
        reactor = try #require(Reactor(epoch: Engine.epoch.load(ordering: .relaxed)))
    }

    /// Starts the loop on its own thread.
    func start() {
        let reactor = self.reactor
        let ended = loopEnded
        thread = TestThread {
            reactor.runLoop()
            ended.signal()
        }
    }

    /// Runs `body` on the reactor thread and waits (bounded) for its value.
    func sync<T>(_ body: @escaping (Reactor) -> T) throws -> T {
        let out = Locked<T?>(nil)
        let done = Event()
        let reactor = self.reactor
        let item = CallbackItem {
            out.value = body(reactor)
            done.signal()
        }
        try #require(reactor.enqueue(item), "the private reactor no longer accepts work")
        try #require(done.wait(), "the private reactor did not run the item in time")
        return try #require(out.value)
    }

    /// Enqueues `body` for the reactor thread without waiting.
    @discardableResult
    func async(_ body: @escaping (Reactor) -> Void) -> Bool {
        let reactor = self.reactor
        return reactor.enqueue(CallbackItem { body(reactor) })
    }

    /// Requests stop and joins the loop thread; returns whether it ended.
    @discardableResult
    func stop() -> Bool {
        reactor.requestStop()
        guard let thread else { return true }
        return loopEnded.wait() && thread.join()
    }
}

/// An inbox item that records its id when run or rejected.
final class RecordingItem: InboxItem, @unchecked Sendable {
    let id: Int
    let log: Locked<[String]>
    init(_ id: Int, log: Locked<[String]>) {
        self.id = id
        self.log = log
        super.init()
    }
    override func run(on reactor: Reactor) { log.withLock { $0.append("run \(id)") } }
    override func reject(on reactor: Reactor) { log.withLock { $0.append("reject \(id)") } }
}

/// The status of a finished result, for readable expectations.
func status(of core: ResultCore) -> Status? { Status(rawValue: core.status) }

/// Runs `body` and returns the `CrochetError` it throws, if any. Any other
/// error is recorded as an issue (the API throws only `CrochetError`).
func crochetError<T>(_ body: () throws -> T, sourceLocation: SourceLocation = #_sourceLocation) -> CrochetError? {
    do {
        _ = try body()
        return nil
    } catch let error as CrochetError {
        return error
    } catch {
        Issue.record("expected a CrochetError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
