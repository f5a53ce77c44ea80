import CCrochetHeader
import CLinux
import Crochet

@c @implementation
public func crochet_call_from_thread(_ fn: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?,
                                     _ ctx: UnsafeMutableRawPointer?) -> Int32 {
    guard let fn else { return EINVAL }
    let (r, s) = Submission.reactor()
    guard let r else { return s.rawValue }
    return (r.enqueue(CallbackItem { fn(ctx) }) ? Status.ok : Status.stopped).rawValue
}

@c @implementation
public func crochet_call_later(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ delay: Double,
                               _ fn: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?,
                               _ ctx: UnsafeMutableRawPointer?) -> Int32 {
    out?.pointee = nil
    guard let fn, delay.isFinite, delay >= 0 else { return EINVAL }
    let (r, s) = Submission.reactor()
    guard let r else { return s.rawValue }
    // Saturate: a delay past the clock's range simply never comes.
    let now = cl_now_ns()
    let nanoseconds = delay * 1e9
    let deadline = nanoseconds >= Double(Int64.max - now) ? Int64.max : now + Int64(nanoseconds)
    let call = DelayedCall(deadline: deadline, reactor: r) { fn(ctx) }
    guard r.schedule(call) else { return Status.stopped.rawValue }
    out?.pointee = handle(call, retained: true)
    return Status.ok.rawValue
}

@c @implementation
public func crochet_delayed_call_cancel(_ c: OpaquePointer?) -> Int32 {
    guard let c else { return EINVAL }
    return object(c, as: DelayedCall.self).cancel().rawValue
}

@c @implementation
public func crochet_delayed_call_release(_ c: OpaquePointer?) {
    if let c { release(c, as: DelayedCall.self) }
}

private func addWatcher(_ fd: Int32, writer: Bool,
                        _ fn: (@convention(c) (Int32, UnsafeMutableRawPointer?) -> Void)?,
                        _ ctx: UnsafeMutableRawPointer?) -> Int32 {
    guard let fn, fd >= 0 else { return EINVAL }
    guard let r = Reactor.current else { return Status.notReactorThread.rawValue }
    return r.watchers.add(fd: fd, writer: writer) { fd in fn(fd, ctx) }.rawValue
}

private func removeWatcher(_ fd: Int32, writer: Bool) -> Int32 {
    guard fd >= 0 else { return EINVAL }
    guard let r = Reactor.current else { return Status.notReactorThread.rawValue }
    return r.watchers.remove(fd: fd, writer: writer).rawValue
}

@c @implementation
public func crochet_add_reader(_ fd: Int32, _ fn: (@convention(c) (Int32, UnsafeMutableRawPointer?) -> Void)?,
                               _ ctx: UnsafeMutableRawPointer?) -> Int32 {
    addWatcher(fd, writer: false, fn, ctx)
}

@c @implementation
public func crochet_remove_reader(_ fd: Int32) -> Int32 { removeWatcher(fd, writer: false) }

@c @implementation
public func crochet_add_writer(_ fd: Int32, _ fn: (@convention(c) (Int32, UnsafeMutableRawPointer?) -> Void)?,
                               _ ctx: UnsafeMutableRawPointer?) -> Int32 {
    addWatcher(fd, writer: true, fn, ctx)
}

@c @implementation
public func crochet_remove_writer(_ fd: Int32) -> Int32 { removeWatcher(fd, writer: true) }

@c @implementation
public func crochet_defer_to_thread(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ fn: crochet_fn?,
                                    _ return_type: crochet_type, _ args: UnsafePointer<crochet_value>?,
                                    _ nargs: Int) -> Int32 {
    guard let out else { return EINVAL }
    out.pointee = nil
    guard let fn, let signature = signature(returnType: return_type, args: args, count: nargs),
          signature.returnType != .deferred else { return EINVAL }
    guard let r = Reactor.current else { return Status.notReactorThread.rawValue }
    let (d, s) = r.deferToThread(unsafeBitCast(fn, to: UnsafeRawPointer.self), signature: signature) {
        fill($0, from: args, signature)
    }
    if let d { out.pointee = handle(d, retained: true) }
    return s.rawValue
}

@c @implementation
public func crochet_add_shutdown_trigger(_ fn: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?,
                                         _ ctx: UnsafeMutableRawPointer?) -> Int32 {
    guard let fn else { return EINVAL }
    guard let r = Engine.reactor else { return Status.wrongState.rawValue }
    return r.addShutdownTrigger { fn(ctx) }.rawValue
}
