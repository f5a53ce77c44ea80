import CCrochetHeader
import Crochet

/// Validates and queues a call; shared by crochet_submit and crochet_wait_for.
/// The caller owns the returned reference.
@inline(__always)
private func submitCall(_ fn: crochet_fn?, _ returnType: crochet_type,
                        _ args: UnsafePointer<crochet_value>?, _ nargs: Int) -> (Unmanaged<ResultCore>?, Int32) {
    guard let fn else { return (nil, CROCHET_EINVAL) }
    return withPayloadSlots(nargs) { payloads in
        guard let signature = signature(returnType: returnType, args: args, count: nargs, payloads: payloads) else {
            return (nil, CROCHET_EINVAL)
        }
        let (call, s) = Submission.foreignCall(unsafeBitCast(fn, to: UnsafeRawPointer.self), signature: signature,
                                               arguments: payloads)
        return (call, s.rawValue)
    }
}

@c @implementation
public func crochet_submit(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ fn: crochet_fn?,
                           _ return_type: crochet_type, _ args: UnsafePointer<crochet_value>?,
                           _ nargs: Int) -> Int32 {
    guard let out else { return CROCHET_EINVAL }
    out.pointee = nil
    let (call, s) = submitCall(fn, return_type, args, nargs)
    if let call { out.pointee = OpaquePointer(call.toOpaque()) }
    return s
}

/// Calls a crochet_closure_fn and converts its tagged value (captures
/// nothing: storing it in a call costs no allocation).
let invokeClosure: ContextCall.Invoker = { function, ctx in
    Value(returned: unsafeBitCast(function, to: crochet_closure_fn.self)(ctx))
}

@c @implementation
public func crochet_submit_closure(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ fn: crochet_closure_fn?,
                                   _ ctx: UnsafeMutableRawPointer?, _ destroy: crochet_destroy_fn?) -> Int32 {
    submitClosure(out, fn, ctx, destroy, name: nil)
}

/// crochet_submit_closure(_named): validates, queues, and releases the
/// context on any error.
@inline(__always)
func submitClosure(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ fn: crochet_closure_fn?,
                   _ ctx: UnsafeMutableRawPointer?, _ destroy: crochet_destroy_fn?,
                   name: UnsafePointer<CChar>?) -> Int32 {
    let context = ForeignContext(ctx, destroy: destroy)
    guard let out, let fn else {
        out?.pointee = nil
        context.release()
        return CROCHET_EINVAL
    }
    out.pointee = nil
    let (call, s) = Submission.contextCall(unsafeBitCast(fn, to: UnsafeRawPointer.self), context: context,
                                           invoker: invokeClosure, name: name)
    if let call { out.pointee = handle(call, retained: true) }
    return s.rawValue
}

@c @implementation
public func crochet_raise(_ code: Int32, _ message: UnsafePointer<CChar>?) {
    RaiseSlot.raise(code: code, message: message)
}

@c @implementation
public func crochet_wait_for(_ value_out: UnsafeMutablePointer<crochet_value>?,
                             _ failure_out: UnsafeMutablePointer<OpaquePointer?>?,
                             _ timeout: Double, _ fn: crochet_fn?, _ return_type: crochet_type,
                             _ args: UnsafePointer<crochet_value>?, _ nargs: Int) -> Int32 {
    failure_out?.pointee = nil
    guard Deadline(seconds: timeout) != nil else { return CROCHET_EINVAL }
    if Engine.inReactorThread { return Status.onReactorThread.rawValue }
    let (submitted, s) = submitCall(fn, return_type, args, nargs)
    guard let call = submitted?.takeRetainedValue() else { return s }
    // The deadline counts from the submission, as crochet's wait_for does.
    let (status, value, failure) = call.waitFor(deadline: Deadline(seconds: timeout)!, handOver: value_out != nil,
                                                waiter: "crochet_wait_for(\(call.diagnosticSymbol.description), \(timeout) s)")
    if status == Status.ok.rawValue {
        value_out?.pointee = value.c
    } else if let failure_out, let failure {
        failure_out.pointee = handle(failure, retained: true)
    }
    return status
}
