import CLinux

/// Starts the reactor on a thread the library owns (crochet's `setup()`).
/// Idempotent; does nothing after `noSetup()`.
public func setup() throws(CrochetError) { try CrochetError.check(Engine.setup()) }

/// Initializes with no side effects (crochet's `no_setup()`); run the reactor
/// yourself with `runReactor()`. Throws `.wrongState` after `setup()`.
public func noSetup() throws(CrochetError) { try CrochetError.check(Engine.noSetup()) }

/// After `noSetup()`, runs the reactor on this thread until `stopReactor()`.
public func runReactor() throws(CrochetError) { try CrochetError.check(Engine.run()) }

/// Stops the reactor: every pending result completes with `.stopped`.
public func stopReactor() throws(CrochetError) { try CrochetError.check(Engine.stop()) }

/// Whether this thread runs the reactor.
public var inReactorThread: Bool { Engine.inReactorThread }

extension Duration {
    /// Nanoseconds, saturating.
    package var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? Int64.min : Int64.max }
        let (sum, sumOverflow) = product.addingReportingOverflow(attoseconds / 1_000_000_000)
        if sumOverflow { return seconds < 0 ? Int64.min : Int64.max }
        return sum
    }

    /// A wait deadline; throws for a negative duration.
    package func deadline() throws(CrochetError) -> Deadline {
        guard let deadline = Deadline(after: self) else { throw CrochetError.invalidArgument("negative timeout") }
        return deadline
    }
}
