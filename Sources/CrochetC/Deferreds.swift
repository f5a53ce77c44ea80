import CCrochetHeader
import Crochet

/// The deferred behind a handle, if the caller is on the reactor thread.
@inline(__always)
private func reactorDeferred(_ d: OpaquePointer?) -> (DeferredCore?, Int32) {
    guard let d else { return (nil, CROCHET_EINVAL) }
    guard Engine.inReactorThread else { return (nil, Status.notReactorThread.rawValue) }
    return (object(d, as: DeferredCore.self), Status.ok.rawValue)
}

@c @implementation
public func crochet_deferred_new(_ out: UnsafeMutablePointer<OpaquePointer?>?,
                                 _ canceller: crochet_canceller?, _ ctx: UnsafeMutableRawPointer?,
                                 _ destroy: crochet_destroy_fn?) -> Int32 {
    let context = ForeignContext(ctx, destroy: destroy)
    guard let out else { context.release(); return CROCHET_EINVAL }
    out.pointee = nil
    guard Engine.inReactorThread else { context.release(); return Status.notReactorThread.rawValue }
    let d = DeferredCore()
    // The deferred drops its canceller once it fired or was cancelled (or is
    // freed): the owner goes with it and releases the context. With neither
    // a canceller nor a destroy there is nothing to keep (no allocation).
    if canceller != nil || destroy != nil {
        let owner = ForeignContextOwner(context)
        d.setCanceller { d in
            if let canceller { canceller(handle(d, retained: false), owner.pointer) }
        }
    }
    out.pointee = handle(d, retained: true)
    return Status.ok.rawValue
}

@c @implementation
public func crochet_deferred_callback(_ d: OpaquePointer?, _ value: crochet_value) -> Int32 {
    let (deferred, s) = reactorDeferred(d)
    guard let deferred else { return s }
    guard let v = Value(c: value), v.type != .deferred else { return CROCHET_EINVAL }
    return deferred.succeed(v).rawValue
}

@c @implementation
public func crochet_deferred_callback_owned(_ d: OpaquePointer?, _ ptr: UnsafeMutableRawPointer?,
                                            _ destroy: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?) -> Int32 {
    let (deferred, s) = reactorDeferred(d)
    guard let deferred else { return s }
    // Check first: on failure destroy must never run, and ptr stays the caller's.
    if deferred.hasFired && !deferred.wasCancelled { return Status.already.rawValue }
    return deferred.succeed(.pointer(ptr), owner: OwnedValue(pointer: ptr, destroy: destroy)).rawValue
}

@c @implementation
public func crochet_deferred_errback(_ d: OpaquePointer?, _ code: Int32, _ message: UnsafePointer<CChar>?) -> Int32 {
    let (deferred, s) = reactorDeferred(d)
    guard let deferred else { return s }
    if deferred.hasFired { return (deferred.wasCancelled ? Status.ok : Status.already).rawValue }
    return deferred.fail(Failure(code: code, cMessage: message, skipFrames: 2)).rawValue
}

@c @implementation
public func crochet_deferred_cancel(_ d: OpaquePointer?) -> Int32 {
    let (deferred, s) = reactorDeferred(d)
    guard let deferred else { return s }
    return deferred.cancel().rawValue
}

@c @implementation
public func crochet_deferred_add_callbacks(
    _ d: OpaquePointer?,
    _ on_value: (@convention(c) (crochet_value, UnsafeMutableRawPointer?) -> Void)?,
    _ on_failure: (@convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Void)?,
    _ ctx: UnsafeMutableRawPointer?,
    _ destroy: crochet_destroy_fn?
) -> Int32 {
    let context = ForeignContext(ctx, destroy: destroy)
    let (deferred, s) = reactorDeferred(d)
    guard let deferred else { context.release(); return s }
    // The chain drops the pair after it ran (or when the deferred is freed):
    // the owner goes with it and releases the context.
    let owner = ForeignContextOwner(context)
    deferred.addCallback(.closure { fired in
        if let failure = fired.failure {
            on_failure?(handle(failure, retained: false), owner.pointer)
        } else {
            on_value?(fired.value.c, owner.pointer)
        }
    })
    return Status.ok.rawValue
}

@c @implementation
public func crochet_deferred_retain(_ d: OpaquePointer?) -> OpaquePointer? {
    if let d { retain(d, as: DeferredCore.self) }
    return d
}

@c @implementation
public func crochet_deferred_release(_ d: OpaquePointer?) {
    if let d { release(d, as: DeferredCore.self) }
}
