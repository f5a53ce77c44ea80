/// `deferToThread`: blocking work on the worker pool, its outcome back on
/// the reactor thread through a deferred.
extension Reactor {
    /// Reactor thread: runs a foreign call on the worker pool; the returned
    /// deferred fires here with its value, or its failure if it raised.
    /// Cancelling the deferred before a worker takes the job means it never runs.
    package func deferToThread(_ function: UnsafeRawPointer, signature: Signature,
                               arguments: UnsafePointer<UInt64>) -> (DeferredCore?, Status) {
        guard let interface = CallInterface.lookup(signature) else { return (nil, .outOfMemory) }
        let call = ForeignCall(function: function, interface: interface, epoch: epoch, arguments: arguments)
        let returnType = signature.returnType
        return deferToThread { _ in
            .value(Value.fromReturnSlot(call.invoke(), type: returnType), owner: nil)
        }
    }

    /// Reactor thread: runs `work` on the worker pool (see above). `context`
    /// is released once the work can never run again, on the reactor thread,
    /// or here, before returning, when the job cannot be queued.
    package func deferToThread(context: ForeignContext = .none,
                               _ work: @escaping (RaiseSlot) -> ThreadJob.Outcome) -> (DeferredCore?, Status) {
        let deferred = DeferredCore()
        let job = ThreadJob(deferred: deferred, context: context, work: work)
        // The canceller keeps the job; the job lets go of the deferred once
        // it is disposed, so no cycle outlives the work.
        deferred.setCanceller { _ in if job.claim() { job.dispose() } }
        guard runOnWorker(job) else {
            context.release()
            return (nil, isStopping ? .stopped : .outOfMemory)
        }
        return (deferred, .ok)
    }
}
