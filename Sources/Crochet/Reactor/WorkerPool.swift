import CLinux
import Synchronization

/// Work run off the reactor by `deferToThread`: runs on a worker, then comes
/// back through the inbox to fire its deferred on the reactor thread.
package final class ThreadJob: InboxItem, @unchecked Sendable {
    package enum Outcome {
        case value(Value, owner: AnyObject?)
        case failure(Failure)
    }

    private let work: (RaiseSlot) -> Outcome
    package let deferred: DeferredCore
    /// Taken by the worker that runs it, or by cancellation before that.
    private let claimed = Atomic<Bool>(false)
    private var outcome: Outcome?

    package init(deferred: DeferredCore, work: @escaping (RaiseSlot) -> Outcome) {
        self.deferred = deferred
        self.work = work
        super.init()
    }

    /// Claims the job so no worker starts it; false if one already did.
    package func claimForCancel() -> Bool {
        claimed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }

    /// Worker thread: runs the work unless it was cancelled first.
    package func perform(on slot: RaiseSlot, reactor: Reactor) {
        guard claimed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        let (result, raised) = slot.collect { work(slot) }
        outcome = raised.map { .failure($0) } ?? result
        _ = reactor.enqueue(self)
    }

    /// Reactor thread: fires the deferred (ignored if it was cancelled).
    package override func run(on reactor: Reactor) {
        switch outcome {
        case .value(let value, let owner): deferred.succeed(value, owner: owner)
        case .failure(let failure): deferred.fail(failure)
        case nil: break
        }
    }
}

/// A bounded pool of worker threads for blocking work, started lazily and
/// joined at stop.
package final class WorkerPool: @unchecked Sendable {
    package let maximumThreads: Int
    private let monitor = cl_monitor_new()!
    private var queue: [ThreadJob] = []
    private var queueHead = 0
    private var threads: [UInt64] = []
    private var idle = 0
    private var stopping = false
    private unowned let reactor: Reactor

    package init(reactor: Reactor, maximumThreads: Int = 8) {
        self.reactor = reactor
        self.maximumThreads = maximumThreads
    }

    /// Queues a job. Returns false after stop, or if no thread could start.
    package func submit(_ job: ThreadJob) -> Bool {
        cl_monitor_lock(monitor)
        defer { cl_monitor_unlock(monitor) }
        if stopping { return false }
        queue.append(job)
        if idle == 0 && threads.count < maximumThreads {
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
        cl_monitor_broadcast(monitor)
        return true
    }

    private func workerLoop() {
        let slot = RaiseSlot()
        cl_monitor_lock(monitor)
        while true {
            while queueHead == queue.count && !stopping {
                idle += 1
                _ = cl_monitor_wait(monitor, -1)
                idle -= 1
            }
            if stopping { break }   // jobs not started by now never start
            let job = queue[queueHead]
            queueHead += 1
            if queueHead == queue.count {
                queue.removeAll(keepingCapacity: true)
                queueHead = 0
            }
            cl_monitor_unlock(monitor)
            job.perform(on: slot, reactor: reactor)
            cl_monitor_lock(monitor)
        }
        cl_monitor_unlock(monitor)
    }

    /// Drops jobs not yet started, lets running ones finish, joins every worker.
    package func stop() {
        cl_monitor_lock(monitor)
        stopping = true
        let toJoin = threads
        threads.removeAll()
        cl_monitor_broadcast(monitor)
        cl_monitor_unlock(monitor)
        for tid in toJoin { _ = cl_thread_join(tid, -1) }
    }
}

extension Reactor {
    /// Reactor thread: runs a foreign call on the worker pool; the returned
    /// deferred fires here with its value, or its failure if it raised.
    /// Cancelling the deferred before a worker takes the job means it never runs.
    package func deferToThread(_ function: UnsafeRawPointer, signature: Signature,
                               fill: (UnsafeMutablePointer<UInt64>) -> Void) -> (DeferredCore?, Status) {
        guard let interface = CallInterface.lookup(signature) else { return (nil, .outOfMemory) }
        let call = ForeignCall(function: function, interface: interface, epoch: epoch, fill: fill)
        let returnType = signature.returnType
        return deferToThread { _ in
            .value(Value.fromReturnSlot(call.invoke(), type: returnType), owner: nil)
        }
    }

    /// Reactor thread: runs `work` on the worker pool (see above).
    package func deferToThread(_ work: @escaping (RaiseSlot) -> ThreadJob.Outcome) -> (DeferredCore?, Status) {
        let deferred = DeferredCore()
        let job = ThreadJob(deferred: deferred, work: work)
        // The canceller keeps the job; the cycle ends when the deferred fires.
        deferred.setCanceller { _ in _ = job.claimForCancel() }
        guard runOnWorker(job) else { return (nil, isStopping ? .stopped : .outOfMemory) }
        return (deferred, .ok)
    }
}
