import Crochet
import Logging

/// Routes libcrochet's log records (timeout diagnoses, stall warnings, stash
/// expiry, unhandled failures, from every language in the process) into a
/// swift-log `Logger`, so a Swift server's logging backend receives them.
///
/// ```swift
/// import CrochetObservability
/// import Logging
///
/// LoggingSystem.bootstrap(StreamLogHandler.standardError)   // or your backend
/// CrochetLogging.bootstrap(Logger(label: "crochet"))
/// ```
///
/// Records are delivered on the library's logging thread, one at a time, in
/// order (see `Crochet.setLogHandler`). The library's levels map to swift-log's
/// `.debug`, `.info`, `.warning` and `.error`; the logger's own `logLevel`
/// filters them as usual. Each record carries the metadata
/// `crochet.level` (the library's level name) and the source `crochet`.
public enum CrochetLogging {
    /// Sends the library's records to `logger` from now on, replacing any
    /// handler set before (the previous one is never called again after its
    /// last record in flight).
    public static func bootstrap(_ logger: Logger = Logger(label: "crochet")) {
        Crochet.setLogHandler { level, message in
            logger.log(level: level.swiftLogLevel, "\(message)", metadata: ["crochet.level": "\(level.name)"],
                       source: "crochet", file: "libcrochet", function: "", line: 0)
        }
    }

    /// Back to the library's default handler (stderr).
    public static func reset() { Crochet.setLogHandler(nil) }
}

extension LogLevel {
    /// swift-log's level for a libcrochet level.
    public var swiftLogLevel: Logger.Level {
        switch self {
        case .debug: .debug
        case .info: .info
        case .warning: .warning
        case .error: .error
        }
    }

    fileprivate var name: String {
        switch self {
        case .debug: "DEBUG"
        case .info: "INFO"
        case .warning: "WARNING"
        case .error: "ERROR"
        }
    }
}
