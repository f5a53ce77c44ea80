// A tour of libcrochet from Swift: results you wait for, results you await,
// deferreds, timeouts, cancellation and work on the worker pool.
import Crochet

try Crochet.setup()

// 1. Run a closure on the reactor thread; wait for its value.
let answer = try Crochet.runInReactor { 6 * 7 }
print("1. 6 * 7 on the reactor thread = \(try answer.wait(timeout: .seconds(1)))")

// 2. A result that arrives later, through a Deferred fired by a timer.
func answerLater(_ text: String, after delay: Duration) throws -> EventualResult<String> {
    try Crochet.runInReactor { () -> Deferred<String> in
        let d = Deferred<String>()
        try Crochet.callLater(delay) { try? d.callback(text) }
        return d
    }
}
let slow = try answerLater("finally", after: .milliseconds(100))
do {
    _ = try slow.wait(timeout: .milliseconds(5))
} catch {
    print("2. wait(5 ms) -> \(error.status.name); a later wait still waits: \(try slow.wait(timeout: .seconds(5)))")
}

// 3. Await results without blocking a thread, many at once.
let values = try await withThrowingTaskGroup(of: String.self) { group in
    for i in 0..<3 {
        group.addTask { try await answerLater("task \(i)", after: .milliseconds(10 * i)).value }
    }
    var all: [String] = []
    for try await value in group { all.append(value) }
    return all
}
print("3. awaited: \(values.sorted())")

// 4. Cancelling the awaiting task cancels the call.
let never = try Crochet.runInReactor { Deferred<Int>() }
let waiter = Task { try await never.value }
waiter.cancel()
do {
    _ = try await waiter.value
} catch let error as CrochetError {
    print("4. cancelled task -> \(error.status.name)")
}

// 5. Blocking work on the worker pool, its result back on the reactor.
let pooled = try Crochet.runInReactor { () -> Deferred<String> in
    try Crochet.deferToThread { "computed on a worker (reactor thread: \(Crochet.inReactorThread))" }
}
print("5. \(try pooled.wait(timeout: .seconds(5)))")

// 6. waitFor: run and wait in one call; thrown errors come back.
struct NotAPort: Error {}
do {
    _ = try Crochet.waitFor(timeout: .seconds(1)) { () throws -> Int in throw NotAPort() }
} catch {
    print("6. waitFor -> \(error.status.name): \(error.failure?.error.map { "\($0)" } ?? "?")")
}
try Crochet.stop()
