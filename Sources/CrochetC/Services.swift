import CCrochetHeader
import CLinux
import Crochet

@c @implementation
public func crochet_call_from_thread(_ fn: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?,
                                     _ ctx: UnsafeMutableRawPointer?, _ destroy: crochet_destroy_fn?) -> Int32 {
    let context = ForeignContext(ctx, destroy: destroy)
    guard let fn else { context.release(); return CROCHET_EINVAL }
    return Submission.callback(fn, context: context).rawValue
}

@c @implementation
public func crochet_call_later(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ delay: Double,
                               _ fn: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?,
                               _ ctx: UnsafeMutableRawPointer?, _ destroy: crochet_destroy_fn?) -> Int32 {
    let context = ForeignContext(ctx, destroy: destroy)
    out?.pointee = nil
    guard let fn, delay.isFinite, delay >= 0 else { context.release(); return CROCHET_EINVAL }
    let (r, s) = Submission.reactor()
    guard let r else { context.release(); return s.rawValue }
    // The timer drops its body once it can never run: the owner goes with it.
    let owner = ForeignContextOwner(context)
    let call = DelayedCall(deadline: DelayedCall.deadline(afterSeconds: delay), reactor: r) { fn(owner.pointer) }
    // Publish the handle before the timer can fire: fn may read it.
    out?.pointee = handle(call, retained: true)
    guard r.schedule(call) else {
        if let handle = out?.pointee { release(handle, as: DelayedCall.self) }
        out?.pointee = nil
        return Status.stopped.rawValue   // `call` and its body go here: destroy runs before returning
    }
    return Status.ok.rawValue
}

@c @implementation
public func crochet_delayed_call_cancel(_ c: OpaquePointer?) -> Int32 {
    guard let c else { return CROCHET_EINVAL }
    return object(c, as: DelayedCall.self).cancel().rawValue
}

@c @implementation
public func crochet_delayed_call_release(_ c: OpaquePointer?) {
    if let c { release(c, as: DelayedCall.self) }
}

private func addWatcher(_ fd: Int32, _ mode: Watchers.Mode,
                        _ fn: (@convention(c) (Int32, UnsafeMutableRawPointer?) -> Void)?,
                        _ ctx: UnsafeMutableRawPointer?, _ destroy: crochet_destroy_fn?) -> Int32 {
    let context = ForeignContext(ctx, destroy: destroy)
    guard let fn, fd >= 0 else { context.release(); return CROCHET_EINVAL }
    guard let r = Reactor.current else { context.release(); return Status.notReactorThread.rawValue }
    // The watcher table drops the callback when it is removed, replaced or
    // the reactor stops (after a running call of it returned): the owner
    // goes with it. If adding fails, it goes before this returns.
    let owner = ForeignContextOwner(context)
    return r.watchers.add(fd: fd, mode: mode) { fd in fn(fd, owner.pointer) }.rawValue
}

private func removeWatcher(_ fd: Int32, _ mode: Watchers.Mode) -> Int32 {
    guard fd >= 0 else { return CROCHET_EINVAL }
    guard let r = Reactor.current else { return Status.notReactorThread.rawValue }
    return r.watchers.remove(fd: fd, mode: mode).rawValue
}

@c @implementation
public func crochet_add_reader(_ fd: Int32, _ fn: (@convention(c) (Int32, UnsafeMutableRawPointer?) -> Void)?,
                               _ ctx: UnsafeMutableRawPointer?, _ destroy: crochet_destroy_fn?) -> Int32 {
    addWatcher(fd, .read, fn, ctx, destroy)
}

@c @implementation
public func crochet_remove_reader(_ fd: Int32) -> Int32 { removeWatcher(fd, .read) }

@c @implementation
public func crochet_add_writer(_ fd: Int32, _ fn: (@convention(c) (Int32, UnsafeMutableRawPointer?) -> Void)?,
                               _ ctx: UnsafeMutableRawPointer?, _ destroy: crochet_destroy_fn?) -> Int32 {
    addWatcher(fd, .write, fn, ctx, destroy)
}

@c @implementation
public func crochet_remove_writer(_ fd: Int32) -> Int32 { removeWatcher(fd, .write) }

@c @implementation
public func crochet_defer_to_thread(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ fn: crochet_fn?,
                                    _ return_type: crochet_type, _ args: UnsafePointer<crochet_value>?,
                                    _ nargs: Int) -> Int32 {
    guard let out else { return CROCHET_EINVAL }
    out.pointee = nil
    guard let fn else { return CROCHET_EINVAL }
    return withPayloadSlots(nargs) { payloads in
        guard let signature = signature(returnType: return_type, args: args, count: nargs, payloads: payloads),
              signature.returnType != .deferred else { return CROCHET_EINVAL }
        guard let r = Reactor.current else { return Status.notReactorThread.rawValue }
        let (d, s) = r.deferToThread(unsafeBitCast(fn, to: UnsafeRawPointer.self), signature: signature,
                                     arguments: payloads)
        if let d { out.pointee = handle(d, retained: true) }
        return s.rawValue
    }
}

@c @implementation
public func crochet_defer_to_thread_closure(_ out: UnsafeMutablePointer<OpaquePointer?>?,
                                            _ fn: crochet_closure_fn?, _ ctx: UnsafeMutableRawPointer?,
                                            _ destroy: crochet_destroy_fn?) -> Int32 {
    let context = ForeignContext(ctx, destroy: destroy)
    guard let out, let fn else {
        out?.pointee = nil
        context.release()
        return CROCHET_EINVAL
    }
    out.pointee = nil
    guard let r = Reactor.current else { context.release(); return Status.notReactorThread.rawValue }
    let function = unsafeBitCast(fn, to: UnsafeRawPointer.self)
    let (d, s) = r.deferToThread(context: context) { _ in
        guard let value = invokeClosure(function, context.pointer) else {
            return .failure(Failure(code: Status.invalidArgument.rawValue,
                                    message: "the closure returned a crochet_value with an unknown type tag"))
        }
        if value.type == .deferred {
            return .failure(Failure(code: Status.invalidArgument.rawValue,
                                    message: "a closure run by crochet_defer_to_thread_closure cannot return a deferred"))
        }
        return .value(value, owner: nil)
    }
    if let d { out.pointee = handle(d, retained: true) }
    return s.rawValue
}

@c @implementation
public func crochet_add_shutdown_trigger(_ fn: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?,
                                         _ ctx: UnsafeMutableRawPointer?, _ destroy: crochet_destroy_fn?) -> Int32 {
    let context = ForeignContext(ctx, destroy: destroy)
    guard let fn else { context.release(); return CROCHET_EINVAL }
    guard let r = Engine.reactor else { context.release(); return Status.wrongState.rawValue }
    // The reactor drops the trigger after it ran: the owner goes with it.
    let owner = ForeignContextOwner(context)
    return r.addShutdownTrigger { fn(owner.pointer) }.rawValue
}
