import CCrochetHeader
import Crochet

@c @implementation
public func crochet_wait(_ r: OpaquePointer?, _ timeout: Double,
                         _ value_out: UnsafeMutablePointer<crochet_value>?) -> Int32 {
    guard let r, let deadline = Deadline(seconds: timeout) else { return CROCHET_EINVAL }
    if Engine.inReactorThread { return Status.onReactorThread.rawValue }
    var value = Value.void
    // The caller's reference keeps r alive: no reference counting here.
    let s = Unmanaged<ResultCore>.fromOpaque(UnsafeRawPointer(r))._withUnsafeGuaranteedRef {
        $0.wait(deadline: deadline, value: &value)
    }
    if s == Status.ok.rawValue { value_out?.pointee = value.c }
    return s
}

@c @implementation
public func crochet_cancel(_ r: OpaquePointer?) -> Int32 {
    guard let r else { return CROCHET_EINVAL }
    object(r, as: ResultCore.self).requestCancel()
    return Status.ok.rawValue
}

@c @implementation
public func crochet_original_failure(_ r: OpaquePointer?) -> OpaquePointer? {
    guard let r, let failure = object(r, as: ResultCore.self).observedFailure() else { return nil }
    return handle(failure, retained: false)
}

@c @implementation
public func crochet_stash(_ r: OpaquePointer?, _ id_out: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let r, let id_out else { return CROCHET_EINVAL }
    switch ResultStore.stash(object(r, as: ResultCore.self)) {
    case .success(let id):
        id_out.pointee = id
        return Status.ok.rawValue
    case .failure(.full): return Status.again.rawValue
    case .failure(.noRandomness): return Status.outOfMemory.rawValue
    }
}

@c @implementation
public func crochet_retrieve(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ id: UInt64) -> Int32 {
    guard let out else { return CROCHET_EINVAL }
    out.pointee = nil
    guard let result = ResultStore.retrieve(id) else { return Status.notFound.rawValue }
    out.pointee = handle(result, retained: true)
    return Status.ok.rawValue
}

@c @implementation
public func crochet_result_retain(_ r: OpaquePointer?) -> OpaquePointer? {
    if let r { retain(r, as: ResultCore.self) }
    return r
}

@c @implementation
public func crochet_result_release(_ r: OpaquePointer?) {
    if let r { release(r, as: ResultCore.self) }
}

@c @implementation
public func crochet_result_new(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ d: OpaquePointer?) -> Int32 {
    guard let out else { return CROCHET_EINVAL }
    out.pointee = nil
    guard let d else { return CROCHET_EINVAL }
    guard let reactor = Reactor.current else { return Status.notReactorThread.rawValue }
    let result = ResultCore(following: object(d, as: DeferredCore.self), on: reactor)
    out.pointee = handle(result, retained: true)
    return Status.ok.rawValue
}
