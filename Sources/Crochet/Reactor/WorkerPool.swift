import CLinux
import Synchronization

/// Work run off the reactor by `deferToThread`: runs on a worker, then comes
/// back through the inbox to fire its deferred on the reactor thread. What
/// the work captures (a C context among it) is released on the reactor
/// thread once the work can never run again: after it ran, when it was
/// cancelled before it started, or at stop.
package final class ThreadJob: InboxItem, @unchecked Sendable {
    package enum Outcome {
        case value(Value, owner: AnyObject?)
        case failure(Failure)
    }

    /// Read by the worker that claimed the job; dropped on the reactor thread.
    private var work: ((RaiseSlot) -> Outcome)?
    private let context: ForeignContext
    /// The deferred to fire; dropped with the work (breaking the cycle
    /// through the deferred's canceller, which holds the job).
    private var deferred: DeferredCore?
    /// Taken by the worker that runs it, or by cancellation before that.
    private let claimed = Atomic<Bool>(false)
    private var outcome: Outcome?

    package init(deferred: DeferredCore, context: ForeignContext = .none, work: @escaping (RaiseSlot) -> Outcome) {
        self.deferred = deferred
        self.context = context
        self.work = work
        super.init()
    }

    /// Claims the job so no worker starts it; false if one already did.
    package func claim() -> Bool {
        claimed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }

    /// Reactor thread: the work will never run (again); release what it holds.
    /// Called once: after the job claimed here, or after it came back.
    package func dispose() {
        work = nil
        deferred = nil
        context.release()
    }

    /// Worker thread: runs the work (the job was claimed by this worker).
    /// Returns false if the reactor stopped and cannot take the job back.
    package func perform(on slot: RaiseSlot, reactor: Reactor) -> Bool {
        if let work {
            let (result, raised) = slot.collect { work(slot) }
            outcome = raised.map { .failure($0) } ?? result
        }
        // In a fork child the parent's reactor is not ours to wake.
        if reactor.epoch != Engine.epoch.load(ordering: .relaxed) { return true }
        return reactor.enqueue(self)
    }

    /// Reactor thread: fires the deferred (ignored if it was cancelled).
    package override func run(on reactor: Reactor) {
        let deferred = self.deferred
        dispose()
        switch outcome {
        case .value(let value, let owner): deferred?.succeed(value, owner: owner)
        case .failure(let failure): deferred?.fail(failure)
        case nil: break
        }
    }

    /// Reactor thread: the reactor stopped before the job came back.
    package override func reject(on reactor: Reactor) { dispose() }
}

/// A bounded pool of worker threads for blocking work, started lazily and
/// joined at stop. A job starts on an idle worker, or on a new one while the
/// pool is below its limit: dependent jobs (one waiting for another) never
/// wait for a worker that is busy.
package final class WorkerPool: @unchecked Sendable {
    package let maximumThreads: Int
    private let monitor = cl_monitor_new()!
    /// Jobs not yet taken are `queue[head...]`; taken slots are cleared at
    /// once and the array compacted, so memory stays flat under any backlog.
    private var queue: [ThreadJob?] = []
    private var head = 0
    private var threads: [UInt64] = []
    /// Workers waiting for a job, and wake-ups sent to them not yet taken:
    /// `idle - signalled` workers are free for the next job. (Counting a
    /// woken worker as still idle would leave a job waiting behind a busy one.)
    private var idle = 0
    private var signalled = 0
    /// Jobs that ran after the reactor stopped taking them back.
    private var leftovers: [ThreadJob] = []
    private var stopping = false
    private unowned let reactor: Reactor

    package init(reactor: Reactor, maximumThreads: Int = 8) {
        self.reactor = reactor
        self.maximumThreads = maximumThreads
    }

    private var queued: Int { queue.count - head }

    /// Any thread: workers, those running a job, and jobs waiting (stats).
    package var counts: (workers: UInt64, busy: UInt64, queued: UInt64) {
        cl_monitor_lock(monitor)
        defer { cl_monitor_unlock(monitor) }
        return (UInt64(threads.count), UInt64(max(0, threads.count - idle)), UInt64(queued))
    }

    /// Queues a job. Returns false after stop, or if no thread could start.
    package func submit(_ job: ThreadJob) -> Bool {
        cl_monitor_lock(monitor)
        defer { cl_monitor_unlock(monitor) }
        if stopping { return false }
        queue.append(job)
        if idle > signalled {
            signalled += 1
            cl_monitor_signal(monitor)
        } else if threads.count < maximumThreads {
            var tid: UInt64 = 0
            let box = Unmanaged.passRetained(self).toOpaque()
            if cl_thread_start(&tid, { raw in
                let pool = Unmanaged<WorkerPool>.fromOpaque(raw!).takeRetainedValue()
                pool.workerLoop()
                return nil
            }, box) == 0 {
                threads.append(tid)
            } else {
                Unmanaged<WorkerPool>.fromOpaque(box).release()
                if threads.isEmpty {
                    queue.removeLast()
                    return false
                }
            }
        }
        return true
    }

    /// Takes the next job (lock held).
    private func take() -> ThreadJob? {
        guard head < queue.count else { return nil }
        let job = queue[head]
        queue[head] = nil
        head += 1
        if head == queue.count {
            queue.removeAll(keepingCapacity: queue.count <= 4096)
            head = 0
        } else if head >= 1024 && head * 2 >= queue.count {
            queue.removeFirst(head)
            head = 0
        }
        return job
    }

    private func workerLoop() {
        let slot = RaiseSlot()
        cl_monitor_lock(monitor)
        while true {
            if stopping { break }   // jobs not started by now never start
            guard let job = take() else {
                idle += 1
                _ = cl_monitor_wait(monitor, -1)
                idle -= 1
                if signalled > 0 { signalled -= 1 }
                continue
            }
            cl_monitor_unlock(monitor)
            // A job cancelled before this claim never runs.
            let cameBack = job.claim() ? job.perform(on: slot, reactor: reactor) : true
            // A job that forked: in the child this worker must not go on
            // with the parent's queue (its lock is not even ours to take).
            if reactor.epoch != Engine.epoch.load(ordering: .relaxed) { return }
            cl_monitor_lock(monitor)
            if !cameBack { leftovers.append(job) }
        }
        cl_monitor_unlock(monitor)
    }

    /// Reactor thread. Stops taking jobs: those not yet started never start,
    /// and what they hold is released here.
    package func dropQueued() {
        cl_monitor_lock(monitor)
        stopping = true
        let dropped = queue[head...].compactMap { $0 }
        queue.removeAll()
        head = 0
        cl_monitor_broadcast(monitor)
        cl_monitor_unlock(monitor)
        for job in dropped where job.claim() { job.dispose() }
    }

    /// Reactor thread. Drops jobs not yet started, lets running ones finish,
    /// joins every worker (within `joinTimeout` ns in all, < 0: no bound;
    /// never the thread that is calling `exit()`, which waits for the
    /// reactor), and releases what the dropped jobs held.
    package func stop(joinTimeout: Int64 = -1) {
        dropQueued()
        cl_monitor_lock(monitor)
        let toJoin = threads
        threads.removeAll()
        cl_monitor_unlock(monitor)
        let deadline = joinTimeout < 0 ? Int64.max : cl_now_ns() + joinTimeout
        let exiting = Engine.exitingThread.load(ordering: .acquiring)
        for tid in toJoin where tid != exiting {
            _ = cl_thread_join(tid, joinTimeout < 0 ? -1 : max(0, deadline - cl_now_ns()))
        }
        cl_monitor_lock(monitor)
        let ranLate = leftovers
        leftovers.removeAll()
        cl_monitor_unlock(monitor)
        for job in ranLate { job.dispose() }
    }
}
