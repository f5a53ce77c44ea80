import Crochet
import Glibc

// The README's Swift example, unchanged, from top-level code (which Swift 6
// isolates to the main actor).
try Crochet.setup()
let answer = try Crochet.runInReactor { 6 * 7 }          // EventualResult<Int>
print("answer:", try answer.wait(timeout: .seconds(1)))

let later = try Crochet.runInReactor { () -> Deferred<String> in
    let d = Deferred<String>()
    try Crochet.callLater(.milliseconds(10)) { try? d.callback("done") }
    return d
}
print("later:", try await later.value)                    // await without blocking a thread
print(try Crochet.waitFor(timeout: .seconds(1)) { "on the reactor: \(Crochet.inReactorThread)" })

var failures = 0
@MainActor func check(_ condition: Bool, _ what: String) {
    if !condition { failures += 1; print("FAILED: \(what)") }
}

// From a @MainActor function.
@MainActor func fromMainActor() throws -> Int {
    try Crochet.waitFor(timeout: .seconds(1)) { 2 + 2 }
}
check(try fromMainActor() == 4, "waitFor from a @MainActor function")

// An actor that runs on the reactor thread, awaited from here.
actor Connection {
    nonisolated var unownedExecutor: UnownedSerialExecutor { ReactorActor.sharedUnownedExecutor }
    private var sent = 0
    func send() -> (Int, Bool) {
        sent += 1
        return (sent, Crochet.inReactorThread)
    }
}
let connection = Connection()
for i in 1...100 {
    let (n, onReactor) = await connection.send()
    check(n == i && onReactor, "actor on the reactor executor, send \(i)")
}

// Reactor-isolated work from a task, and async waits on many results.
let values = try await withThrowingTaskGroup(of: Int.self) { group in
    for i in 0..<20 {
        group.addTask { try await Crochet.runInReactor { i * i }.value }
    }
    var sum = 0
    for try await v in group { sum += v }
    return sum
}
check(values == (0..<20).map { $0 * $0 }.reduce(0, +), "async waits from 20 tasks")

// Sendable values cross; errors come back typed.
struct Refused: Error {}
do {
    _ = try Crochet.waitFor(timeout: .seconds(1)) { () throws -> Int in throw Refused() }
    check(false, "a thrown error comes back")
} catch {
    check(error.failure?.error is Refused, "a thrown error comes back as .failed(Refused)")
}

try Crochet.stop()
print(failures == 0 ? "consumer: 1 passed, 0 failed" : "consumer: 0 passed, 1 failed")
if failures != 0 { exit(1) }
