import CCrochetHeader
import Crochet

@c @implementation
public func crochet_result_get_info(_ r: OpaquePointer?, _ out: UnsafeMutablePointer<crochet_result_info>?) -> Int32 {
    guard let r, let out, out.pointee.size >= MemoryLayout<crochet_result_info>.size else { return CROCHET_EINVAL }
    let facts = object(r, as: ResultCore.self).facts()
    out.pointee.state = crochet_call_state(rawValue: facts.state.rawValue)
    out.pointee.queued_seconds = facts.queuedSeconds
    out.pointee.running_seconds = facts.runningSeconds
    out.pointee.function = facts.symbol.cName
    return Status.ok.rawValue
}

@c @implementation
public func crochet_submit_closure_named(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ fn: crochet_closure_fn?,
                                         _ ctx: UnsafeMutableRawPointer?, _ destroy: crochet_destroy_fn?,
                                         _ name: UnsafePointer<CChar>?) -> Int32 {
    submitClosure(out, fn, ctx, destroy, name: name)
}

@c @implementation
public func crochet_get_stats(_ out: UnsafeMutablePointer<crochet_stats>?) -> Int32 {
    guard let out, out.pointee.size >= MemoryLayout<crochet_stats>.size else { return CROCHET_EINVAL }
    guard let reactor = Engine.reactor else { return Status.wrongState.rawValue }
    let s = Stats.snapshot(of: reactor)
    out.pointee.calls_submitted = s.callsSubmitted
    out.pointee.calls_completed = s.callsCompleted
    out.pointee.queued = s.queued
    out.pointee.waiting = s.waiting
    out.pointee.timers = s.timers
    out.pointee.readers = s.readers
    out.pointee.writers = s.writers
    out.pointee.workers = s.workers
    out.pointee.workers_busy = s.workersBusy
    out.pointee.worker_queue = s.workerQueue
    out.pointee.stashed = s.stashed
    out.pointee.max_queue_delay_seconds = s.maxQueueDelaySeconds
    out.pointee.max_callback_seconds = s.maxCallbackSeconds
    return Status.ok.rawValue
}

@c @implementation
public func crochet_set_stall_warning(_ seconds: Double) -> Int32 {
    guard seconds.isFinite, seconds >= 0 else { return CROCHET_EINVAL }
    Watchdog.thresholdMs.store(seconds == 0 ? 0 : UInt32(max(1, min(seconds * 1000, 4e9))), ordering: .relaxed)
    return Status.ok.rawValue
}

@c @implementation
public func crochet_set_max_queued(_ n: Int) -> Int32 {
    Bounds.maxQueued.store(max(0, n), ordering: .relaxed)
    return Status.ok.rawValue
}

@c @implementation
public func crochet_set_stash_limit(_ max_results: Int, _ max_age_seconds: Double) -> Int32 {
    guard !max_age_seconds.isNaN, max_age_seconds >= 0 else { return CROCHET_EINVAL }
    let ageMs = max_age_seconds.isInfinite ? 0 : UInt32(min(max_age_seconds * 1000, 4e9))
    ResultStore.setLimit(results: max(0, max_results), ageMs: max_age_seconds > 0 ? max(1, ageMs) : 0)
    return Status.ok.rawValue
}
