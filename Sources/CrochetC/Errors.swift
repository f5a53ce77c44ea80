import CCrochetHeader
import Crochet
import Glibc

@c @implementation
public func crochet_strerror(_ status: Int32) -> UnsafePointer<CChar>? {
    let text = Status.message(for: status)
    return UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
}

@c @implementation
public func crochet_status_name(_ status: Int32) -> UnsafePointer<CChar>? {
    let name = Status.name(for: status)
    return UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// The header's version string, as a C string that lives for the process.
nonisolated(unsafe) private let versionString: UnsafeMutablePointer<CChar> = strdup(CROCHET_VERSION_STRING)!

@c @implementation
public func crochet_version() -> UnsafePointer<CChar>? {
    UnsafePointer(versionString)
}

@c @implementation
public func crochet_version_number() -> UInt32 {
    UInt32(CROCHET_VERSION_MAJOR * 10000 + CROCHET_VERSION_MINOR * 100 + CROCHET_VERSION_PATCH)
}
