/// How long the idle loop spins before it sleeps, adapted to what spinning
/// achieves (reactor thread only). Spinning buys latency only when the next
/// call arrives within the spin; otherwise it is CPU thrown away. So the
/// window doubles after a spin that caught work (up to `maximum`), halves
/// after one that did not, and below `minimum` the loop does not spin at all
/// — until a sleep ends early enough that a spin would have caught it, which
/// reopens the window. At saturation (round trips back to back) every spin
/// succeeds and the window stays wide; at a few thousand calls a second
/// every spin fails, so within a few calls the loop sleeps at once, as
/// libuv's does. DESIGN.md (docs/design.md) lists the constants.
struct IdleSpin {
    /// The widest window: about one round trip's think time on the caller's side.
    static let maximum: Int64 = 50_000
    /// Below this, do not spin at all.
    static let minimum: Int64 = 2_000
    /// The window a too-short sleep reopens to.
    static let reopen: Int64 = 8_000

    /// The current window in ns.
    private(set) var window: Int64 = maximum
    /// When the loop went to sleep (monotonic ns), for the reopening rule.
    private var sleptAt: Int64 = 0

    /// Whether to spin before sleeping.
    var shouldSpin: Bool { window >= IdleSpin.minimum }

    /// A spin ended: it caught work, or ran out.
    mutating func spun(caughtWork: Bool) {
        window = caughtWork ? min(IdleSpin.maximum, window * 2) : window / 2
    }

    mutating func goingToSleep(at now: Int64) { sleptAt = now }

    /// The loop woke (for work, a timer or an fd): a sleep shorter than the
    /// widest window means a spin would have caught what woke it.
    mutating func wokeUp(at now: Int64) {
        if !shouldSpin && now - sleptAt < IdleSpin.maximum { window = IdleSpin.reopen }
    }
}
