import Synchronization

/// How long a waiter spins before parking, adapted to what spinning achieves:
/// the budget grows while spins end in a result and shrinks while they end in
/// parking anyway (for example when caller and reactor share one core).
package enum SpinPolicy {
    package static let budget = Atomic<Int>(2_000)
    package static let minimum = 32
    package static let maximum = 20_000

    @inline(__always) package static func succeeded() {
        let b = budget.load(ordering: .relaxed)
        if b < maximum { budget.store(b + (b >> 3) + 1, ordering: .relaxed) }
    }

    @inline(__always) package static func failed() {
        let b = budget.load(ordering: .relaxed)
        if b > minimum { budget.store(b >> 1, ordering: .relaxed) }
    }
}
