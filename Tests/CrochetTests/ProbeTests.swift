import Testing
import CLinux
import Dispatch
@testable import Crochet

@Test func probe() async throws {
    try setup()
    let r = try runInReactor { 41 + 1 }
    #expect(try r.wait(timeout: .seconds(5)) == 42)
    await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        precondition(false, "BUG DETECTED: boom")
    }
}
