import CLinux
import Glibc
import Synchronization

/// A thread that is not the reactor's: notices a callback that has run longer
/// than the stall threshold (WARNING once per stall, naming it, how long so
/// far and how many calls are queued behind it; DEBUG when the loop is free
/// again) and drops stashed results past their age bound. While nothing
/// stalls it costs a look at the loop's callback counter now and then.
package enum Watchdog {
    /// The stall threshold in ms; 0: no stall warnings.
    package static let thresholdMs = Atomic<UInt32>(1000)

    /// Starts the watchdog for `reactor` (once per reactor; it ends when the
    /// reactor has stopped).
    package static func start(watching reactor: Reactor) {
        var tid: UInt64 = 0
        let box = Unmanaged.passRetained(reactor).toOpaque()
        if cl_thread_start(&tid, { raw in
            Watchdog.run(Unmanaged<Reactor>.fromOpaque(raw!).takeRetainedValue())
            return nil
        }, box) == 0 {
            _ = cl_thread_detach(tid)   // it ends by itself once the reactor has finished
        } else {
            Unmanaged<Reactor>.fromOpaque(box).release()
        }
    }

    private static func run(_ reactor: Reactor) {
        var lastCount = reactor.loopStatus.callbacks
        var warned = false
        var stallStartMs: UInt32 = 0
        var stalled = CallbackSymbol.none
        var lastExpiry = cl_coarse_ms()
        while !reactor.finished.load(ordering: .acquiring) {
            let threshold = thresholdMs.load(ordering: .relaxed)
            let periodMs = threshold == 0 ? 250 : min(max(threshold / 4, 10), 250)
            usleep(periodMs * 1000)
            if reactor.epoch != Engine.epoch.load(ordering: .relaxed) { return }   // a fork child
            let now = cl_coarse_ms()
            let count = reactor.loopStatus.callbacks
            let symbol = reactor.loopStatus.symbol
            let startedMs = reactor.loopStatus.startMs
            if count != lastCount || count & 1 == 0 {
                if warned {
                    Log.emit(.debug, "the reactor is free again: `\(stalled.description)` had run for about "
                             + CallFacts.seconds(Double(now &- stallStartMs) / 1000))
                    warned = false
                }
                lastCount = count
            } else if !warned && threshold != 0 && now &- startedMs >= threshold
                        && reactor.loopStatus.callbacks == count {
                let queued = reactor.queuedCalls(submitted: Stats.submitted)
                Log.emit(.warning, "the reactor thread is stalled: `\(symbol.description)` has been running for "
                         + "\(CallFacts.seconds(Double(now &- startedMs) / 1000)); "
                         + "\(queued) call\(queued == 1 ? " is" : "s are") queued behind it. "
                         + "Blocking work belongs on the worker pool (crochet_defer_to_thread)")
                warned = true
                stallStartMs = startedMs
                stalled = symbol
            }
            if now &- lastExpiry >= 1000 {
                lastExpiry = now
                ResultStore.expire(now: now)
            }
        }
    }
}
