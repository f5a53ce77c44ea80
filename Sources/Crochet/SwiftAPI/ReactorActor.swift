import CLinux

/// The reactor thread as a Swift global actor: code isolated to it runs on
/// the reactor thread, and the compiler checks it. Closures you give to
/// `Crochet.runInReactor`, ``Crochet/Crochet/callLater(_:_:)`` and the
/// reactor services are `@ReactorActor`, so they may use reactor-only APIs
/// (``Deferred``, ``Crochet/Crochet/addReader(_:_:)``, ...) directly.
///
/// An actor of your own can run on the reactor thread too, by using its
/// executor:
///
/// ```swift
/// actor Connection {
///     nonisolated var unownedExecutor: UnownedSerialExecutor {
///         ReactorActor.sharedUnownedExecutor
///     }
/// }
/// ```
@globalActor
public actor ReactorActor {
    /// The one instance.
    public static let shared = ReactorActor()

    /// The reactor's executor (`ReactorActor.sharedUnownedExecutor` too, for
    /// actors that want to run on its thread).
    public nonisolated var unownedExecutor: UnownedSerialExecutor { ReactorExecutor.shared.asUnownedSerialExecutor() }

    /// Runs `body` as reactor-isolated code, after checking (at run time) that
    /// the calling thread is the reactor thread: for reactor-thread code the
    /// compiler cannot see as such (a C callback, a non-isolated closure).
    public static func assumeIsolated<T: Sendable>(_ body: @ReactorActor () throws -> T) rethrows -> T {
        ReactorExecutor.shared.checkIsolated()
        return try withoutActuallyEscaping(body) { body in
            try unsafeBitCast(body, to: (() throws -> T).self)()
        }
    }
}
