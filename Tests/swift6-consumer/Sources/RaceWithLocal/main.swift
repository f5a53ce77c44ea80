import Crochet

// The same race from a plain function: the local is sent to the reactor and
// used here afterwards.
final class Box { var n = 0 }
func race() throws {
    let local = Box()
    let r = try Crochet.runInReactor { local.n += 1 }   // error: sending 'local' risks causing data races
    local.n += 1
    _ = r
}
