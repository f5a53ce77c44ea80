import Crochet

// A data race Swift 6 must reject: a non-Sendable class used by code that
// runs on the reactor thread while this thread (the main actor) uses it too.
final class Box { var n = 0 }
let b = Box()
let r = try Crochet.runInReactor { b.n += 1 }   // error: main actor-isolated 'b' from ReactorActor
b.n += 1
