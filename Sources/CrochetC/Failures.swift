import CCrochetHeader
import Crochet

@c @implementation
public func crochet_failure_code(_ f: OpaquePointer?) -> Int32 {
    guard let f else { return 0 }
    return object(f, as: Failure.self).code
}

/// "" for a NULL failure.
private let emptyCString: StaticString = ""

@c @implementation
public func crochet_failure_message(_ f: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let f else { return UnsafeRawPointer(emptyCString.utf8Start).assumingMemoryBound(to: CChar.self) }
    return object(f, as: Failure.self).cMessage
}

@c @implementation
public func crochet_failure_traceback(_ f: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let f else { return UnsafeRawPointer(emptyCString.utf8Start).assumingMemoryBound(to: CChar.self) }
    return object(f, as: Failure.self).cTraceback
}

@c @implementation
public func crochet_failure_retain(_ f: OpaquePointer?) -> OpaquePointer? {
    if let f { retain(f, as: Failure.self) }
    return f
}

@c @implementation
public func crochet_failure_release(_ f: OpaquePointer?) {
    if let f { release(f, as: Failure.self) }
}
