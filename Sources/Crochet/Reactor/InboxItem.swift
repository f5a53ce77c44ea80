/// Something handed to the reactor thread through its inbox: a call, a
/// timer to schedule, a cancellation. The inbox links items intrusively.
///
/// `@unchecked Sendable` (and restated, as Swift requires, by every
/// subclass): an item is made on one thread and handed over through the
/// inbox's sequentially consistent CAS, which orders everything written
/// before it; after that its mutable fields are the reactor thread's, or
/// atomics. Subclasses that a thread other than the reactor keeps using (a
/// result, a timer's handle) say which fields those threads touch.
package class InboxItem: @unchecked Sendable {
    /// The next item in the inbox (or, for results, in the pending registry).
    /// Not reference counted: the inbox and registry own their items.
    @exclusivity(unchecked) package final var link: UnsafeMutableRawPointer?

    package init() {}

    /// Runs on the reactor thread when the item comes out of the inbox.
    package func run(on reactor: Reactor) {}

    /// Runs instead of `run` when the reactor stopped before the item's turn.
    package func reject(on reactor: Reactor) {}

    /// What the item runs, for diagnostics (the stall watchdog, result facts).
    package var diagnosticSymbol: CallbackSymbol { CallbackSymbol(kind: .engine, bits: 0) }
}
