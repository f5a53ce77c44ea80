import CLinux

/// Where a call is (`crochet_result_get_info`): queued, running, waiting on
/// a deferred, or done; how long it was queued and has run; and what it is.
package struct CallFacts: Sendable {
    /// The C API's `crochet_call_state` values.
    package enum State: UInt32, Sendable { case queued = 0, running = 1, waiting = 2, done = 3 }
    package var state: State
    package var queuedSeconds: Double
    package var runningSeconds: Double
    package var symbol: CallbackSymbol

    /// "`fetch_page` has been running for 2.00 s (queued 0.1 ms)", and so on.
    package var diagnosis: String {
        let what = "`\(symbol.description)`"
        switch state {
        case .queued:
            return "\(what) has not started: queued for \(CallFacts.seconds(queuedSeconds)) behind other work on the reactor thread"
        case .running:
            return "\(what) has been running for \(CallFacts.seconds(runningSeconds)) on the reactor thread (queued \(CallFacts.seconds(queuedSeconds)))"
        case .waiting:
            return "\(what) returned a deferred that has not fired for \(CallFacts.seconds(runningSeconds)) (queued \(CallFacts.seconds(queuedSeconds)))"
        case .done:
            return "\(what) is done (queued \(CallFacts.seconds(queuedSeconds)), ran \(CallFacts.seconds(runningSeconds)))"
        }
    }

    /// Seconds as people read them: "2.00 s", "3 ms", "less than 4 ms".
    package static func seconds(_ s: Double) -> String {
        if s >= 1 {
            let cents = Int((s * 100).rounded())
            let fraction = cents % 100
            return "\(cents / 100).\(fraction < 10 ? "0" : "")\(fraction) s"
        }
        let ms = Int(s * 1000)
        return ms < 4 ? "less than 4 ms" : "\(ms) ms"   // the coarse clock's resolution
    }
}

extension ResultCore {
    /// The facts now. Reads the state word around the time stamps and
    /// retries if it changed meanwhile, so the words belong together.
    package final func facts() -> CallFacts {
        let mask = Bit.started | Bit.done | Bit.following
        while true {
            let before = state.load(ordering: .acquiring)
            let a = timeA.load(ordering: .relaxed)
            let b = timeB.load(ordering: .relaxed)
            let after = state.load(ordering: .acquiring)
            if before & mask != after & mask { continue }
            let now = cl_coarse_ms()
            let ms = { (x: UInt32) in Double(x) / 1000 }
            let symbol = diagnosticSymbol
            if before & Bit.done != 0 {
                return CallFacts(state: .done, queuedSeconds: ms(a),
                                 runningSeconds: before & Bit.started != 0 ? ms(b) : 0, symbol: symbol)
            }
            if before & Bit.started == 0 {
                return CallFacts(state: .queued, queuedSeconds: ms(now &- a), runningSeconds: 0, symbol: symbol)
            }
            return CallFacts(state: before & Bit.following != 0 ? .waiting : .running,
                             queuedSeconds: ms(a), runningSeconds: ms(now &- b), symbol: symbol)
        }
    }
}

extension ResultCore {
    /// What a timed-out wait says: "<who waited> timed out: <facts>".
    package final func timeoutDiagnosis(waitedFor waiter: String) -> String {
        "\(waiter) timed out: \(facts().diagnosis)"
    }
}

/// Where a call is (``EventualResult/info``): its state, how long it was
/// queued and has run, and what it runs.
public struct CallInfo: Sendable, CustomStringConvertible {
    /// A call's state.
    public enum State: Sendable {
        /// Submitted, not started.
        case queued
        /// Its body runs on the reactor thread (or a worker).
        case running
        /// Its body returned a deferred that has not fired.
        case waiting
        /// The result exists.
        case done
    }
    /// The state now.
    public let state: State
    /// Submit to start (so far, while queued). Measured with a coarse clock:
    /// a few milliseconds of resolution.
    public let queuedSeconds: Double
    /// Start to done (so far, while running or waiting).
    public let runningSeconds: Double
    /// What the call runs: the name given to `runInReactor` (by default the
    /// calling function), or a C function's symbol.
    public let function: String
    /// The facts as one sentence, as timeout errors and warnings say them.
    public let description: String

    init(_ facts: CallFacts) {
        switch facts.state {
        case .queued: state = .queued
        case .running: state = .running
        case .waiting: state = .waiting
        case .done: state = .done
        }
        queuedSeconds = facts.queuedSeconds
        runningSeconds = facts.runningSeconds
        function = facts.symbol.description
        description = facts.diagnosis
    }
}
