import CCrochetHeader
import Crochet

/// Validates and queues a call; shared by crochet_submit and crochet_wait_for.
@inline(__always)
private func submitCall(_ fn: crochet_fn?, _ returnType: crochet_type,
                        _ args: UnsafePointer<crochet_value>?, _ nargs: Int) -> (ResultCore?, Int32) {
    guard let fn, let signature = signature(returnType: returnType, args: args, count: nargs) else {
        return (nil, EINVAL)
    }
    let (call, s) = Submission.foreignCall(unsafeBitCast(fn, to: UnsafeRawPointer.self), signature: signature) {
        fill($0, from: args, signature)
    }
    return (call, s.rawValue)
}

@c @implementation
public func crochet_submit(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ fn: crochet_fn?,
                           _ return_type: crochet_type, _ args: UnsafePointer<crochet_value>?,
                           _ nargs: Int) -> Int32 {
    guard let out else { return EINVAL }
    out.pointee = nil
    let (call, s) = submitCall(fn, return_type, args, nargs)
    if let call { out.pointee = handle(call, retained: true) }
    return s
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
    guard Submission.deadline(seconds: timeout) != nil else { return EINVAL }
    if Engine.inReactorThread { return Status.onReactorThread.rawValue }
    let (submitted, s) = submitCall(fn, return_type, args, nargs)
    guard let call = submitted else { return s }
    // The deadline counts from the submission, as crochet's wait_for does.
    var value = Value.void
    let outcome = call.wait(deadline: Submission.deadline(seconds: timeout)!, value: &value)
    if outcome == Status.timedOut.rawValue {
        call.requestCancel()
    } else if outcome == Status.ok.rawValue {
        value_out?.pointee = value.c
    } else if let failure_out, let failure = call.outcome as? Failure {
        failure_out.pointee = handle(failure, retained: true)
    }
    return outcome
}
