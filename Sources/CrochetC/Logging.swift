import CCrochetHeader
import Crochet

@c @implementation
public func crochet_set_log_handler(_ fn: crochet_log_fn?, _ ctx: UnsafeMutableRawPointer?,
                                    _ destroy: crochet_destroy_fn?) -> Int32 {
    guard let fn else {
        Log.setHandler(nil)
        return Status.ok.rawValue
    }
    // The logging thread drops a replaced handler after its last record: the
    // owner goes with it and releases the context there.
    let owner = ForeignContextOwner(ForeignContext(ctx, destroy: destroy))
    Log.setHandler { level, message in message.withCString { fn(level, $0, owner.pointer) } }
    return Status.ok.rawValue
}

@c @implementation
public func crochet_log_flush(_ timeout: Double) -> Int32 {
    guard let deadline = Deadline(seconds: timeout) else { return CROCHET_EINVAL }
    if Engine.inReactorThread || Log.onLoggingThread { return Status.onReactorThread.rawValue }
    return (Log.flush(deadline: deadline) ? Status.ok : Status.timedOut).rawValue
}
