import CCrochetHeader
import Crochet

@c @implementation
public func crochet_set_log_handler(_ fn: crochet_log_fn?, _ ctx: UnsafeMutableRawPointer?) {
    guard let fn else {
        Log.setHandler(nil)
        return
    }
    nonisolated(unsafe) let context = ctx
    Log.setHandler { level, message in message.withCString { fn(level, $0, context) } }
}
