import CLinux

/// Does, once, the lazy first-time initialisation that the library's own
/// threads (reactor, workers, logging) would otherwise do on their first
/// call: Swift metadata and witness tables for the engine's generic types,
/// `swift_once` globals, the libffi cache, and glibc's lazily loaded
/// unwinder behind `backtrace()`. Each takes a process-wide lock the first
/// time; a `fork()` from another thread while one of our threads holds such
/// a lock would leave the child a lock with no owner. Done at setup, before
/// those threads exist, so that no first time is left for them.
enum WarmUp {
    nonisolated(unsafe) private static var done = false

    /// Runs the engine's paths once on `reactor` before its thread starts.
    static func run(on reactor: Reactor) {
        if done { return }
        done = true
        // Failures: backtrace capture (loads the unwinder), formatting.
        let failure = Failure(code: Status.failed.rawValue, message: "warm-up", skipFrames: 1)
        _ = ResultCore.unhandledErrorText(failure)
        _ = Failure.stopped.description
        _ = Failure.cancelledBeforeStart.description
        _ = Failure.forked.description
        // Results, deferreds and their callback chain, owned values.
        let result = ResultCore(epoch: reactor.epoch)
        result.fail(failure)
        var value = Value.void
        _ = result.wait(deadline: .poll, value: &value)
        let deferred = DeferredCore()
        deferred.setCanceller { _ in }
        deferred.addCallback(.closure { _ in })
        let follower = ResultCore(epoch: reactor.epoch)
        follower.awaitedDeferred = deferred
        reactor.registry.insert(follower)
        reactor.registry.remove(follower)
        follower.awaitedDeferred = nil
        deferred.succeed(.pointer(nil), owner: OwnedValue(pointer: nil, destroy: nil))
        _ = reactor.registry.removeAll()
        // Timers, watchers, the worker pool's queue types, the inbox batch.
        let call = DelayedCall(deadline: 0, reactor: reactor) {}
        reactor.timers.insert(call)
        _ = reactor.timers.popDue(now: cl_now_ns())
        reactor.timers.insert(call)
        reactor.timers.remove(call)
        reactor.timers.removeAll()
        var watchers = Watchers(epollFD: -1)
        _ = watchers.remove(fd: 0, mode: .read)
        watchers.removeAll()
        var jobs: [ThreadJob?] = [ThreadJob(deferred: deferred) { _ in .value(.void, owner: nil) }]
        jobs[0]?.dispose()
        jobs.removeAll()
        var threads: [UInt64] = [0]
        threads.removeAll()
        // libffi interfaces (the cache's `swift_once` and dictionary), and the
        // paths application threads take: calls with arguments inline and on
        // the heap, closures, waits, the stash, owned values.
        _ = CallInterface.lookup(Signature(returnType: .void, count: 0))
        for count in [2, 6] {
            var signature = Signature(returnType: .int64, count: count)
            for i in 0..<count { signature.setArgument(i, .int64) }
            if let interface = CallInterface.lookup(signature) {
                let zeros = [UInt64](repeating: 0, count: count)
                let call = ForeignCall(function: UnsafeRawPointer(bitPattern: 1)!, interface: interface,
                                       epoch: reactor.epoch, arguments: zeros)
                _ = call.facts()
                _ = call.diagnosticSymbol
            }
        }
        let closure = ContextCall(function: UnsafeRawPointer(bitPattern: 1)!, context: .none,
                                  invoker: { _, _ in .void }, epoch: reactor.epoch)
        closure.fail(failure)
        _ = closure.waitFor(deadline: .poll, handOver: true, waiter: "warm-up")
        _ = ClosureCall(epoch: reactor.epoch) { _, _ in }
        _ = Stats.submitted
        _ = SymbolNames.text("warm-up")
        Stats.forgetCompletions(2)   // the two results failed here are not the user's
        // The store of stashed results.
        ResultStore.warmUp()
        // The remaining `swift_once` globals (test-fork's
        // every_lazy_global_is_made_at_setup lists any that is missed).
        Parking.warmUp()
        SymbolNames.warmUp()
        AsyncWaiters.warmUp()
        Log.warmUp()
        // Globals with constant initialisers are `swift_once` globals too in
        // unoptimised (debug) builds.
        Bounds.warmUp()
        Contention.warmUp()
        _ = Deadline.never
        _ = Engine.exitingThread.load(ordering: .relaxed)
        _ = SpinPolicy.budget.load(ordering: .relaxed)
        _ = CallbackSymbol.none
        _ = Watchdog.thresholdMs.load(ordering: .relaxed)
        _ = ReactorExecutor.shared
        _ = ReactorActor.shared
        // Log records' queue and formatting (nothing is emitted).
        var records: [(Int32, String)] = [(LogLevel.debug.rawValue, "\(LogLevel.debug.label)")]
        records.removeAll()
    }
}
