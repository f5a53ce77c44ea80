import Synchronization
import Testing
@testable import Crochet

/// An inbox item that knows which producer made it and in what order.
private final class TaggedItem: InboxItem, @unchecked Sendable {
    let producer: Int
    let index: Int
    init(producer: Int = 0, index: Int) {
        self.producer = producer
        self.index = index
        super.init()
    }
}

/// Takes every item out of `inbox`, oldest first, releasing the inbox's references.
private func drain(_ inbox: Inbox) -> (items: [TaggedItem], closed: Bool) {
    var batch = Inbox.Batch()
    defer { batch.items.deallocate() }
    let (count, closed) = inbox.takeAll(into: &batch)
    var items: [TaggedItem] = []
    // The batch holds the newest item first.
    for i in stride(from: count - 1, through: 0, by: -1) {
        let item = Unmanaged<InboxItem>.fromOpaque(batch.items[i]).takeRetainedValue()
        items.append(item as! TaggedItem)
    }
    return (items, closed)
}

@Suite("Inbox")
struct InboxTests {
    @Test("takeAll returns pushed items oldest first")
    func fifoOrder() {
        let inbox = Inbox()
        for i in 0..<100 { _ = inbox.push(TaggedItem(index: i)) }
        let (items, closed) = drain(inbox)
        #expect(items.map(\.index) == Array(0..<100))
        #expect(!closed)
    }

    @Test("only the push onto an empty inbox reports it, so only it wakes the reactor")
    func pushOntoEmpty() {
        let inbox = Inbox()
        #expect(!inbox.hasWork)
        #expect(inbox.push(TaggedItem(index: 0)) == .pushedOntoEmpty)
        #expect(inbox.hasWork)
        #expect(inbox.push(TaggedItem(index: 1)) == .pushed)
        #expect(inbox.push(TaggedItem(index: 2)) == .pushed)
        #expect(drain(inbox).items.count == 3)
        #expect(!inbox.hasWork)
        #expect(inbox.push(TaggedItem(index: 3)) == .pushedOntoEmpty)
        _ = drain(inbox)
    }

    @Test("takeAll on an empty inbox returns nothing")
    func emptyTake() {
        let inbox = Inbox()
        let (items, closed) = drain(inbox)
        #expect(items.isEmpty)
        #expect(!closed)
    }

    @Test("a batch larger than the initial capacity (1,024) grows and keeps order")
    func bigBatch() {
        let inbox = Inbox()
        for i in 0..<5_000 { _ = inbox.push(TaggedItem(index: i)) }
        #expect(drain(inbox).items.map(\.index) == Array(0..<5_000))
    }

    @Test("successive batches keep arrival order within and across batches")
    func batches() {
        let inbox = Inbox()
        var seen: [Int] = []
        var next = 0
        for batch in 1...20 {
            for _ in 0..<batch {
                _ = inbox.push(TaggedItem(index: next))
                next += 1
            }
            seen += drain(inbox).items.map(\.index)
        }
        #expect(seen == Array(0..<next))
    }

    @Test("the inbox holds a reference to each item until it is taken")
    func retainsItems() {
        let inbox = Inbox()
        weak var weakItem: TaggedItem?
        do {
            let item = TaggedItem(index: 7)
            weakItem = item
            _ = inbox.push(item)
        }
        #expect(weakItem != nil)
        do {
            let (items, _) = drain(inbox)
            #expect(items.first?.index == 7)
        }
        #expect(weakItem == nil)
    }

    @Test("many producer threads lose nothing, and each producer's items keep their order")
    func manyProducers() {
        let inbox = Inbox()
        let producers = 4
        let perProducer = 20_000
        let finished = Counter()
        let received = Locked<[[Int]]>(Array(repeating: [], count: producers))
        // A consumer takes batches while the producers push.
        let consumer = TestThread {
            var local = Array(repeating: [Int](), count: producers)
            while true {
                let done = finished.value == producers
                for item in drain(inbox).items { local[item.producer].append(item.index) }
                if done { break }
            }
            received.value = local
        }
        let joined = runThreads(producers) { p in
            for i in 0..<perProducer { _ = inbox.push(TaggedItem(producer: p, index: i)) }
            finished.increment()
        }
        #expect(joined)
        #expect(consumer.join())
        for (p, indices) in received.value.enumerated() {
            #expect(indices == Array(0..<perProducer), "producer \(p) got \(indices.count) items back")
        }
    }

    @Test("close makes later pushes fail and keeps queued items for takeAll")
    func closeKeepsQueuedItems() {
        let inbox = Inbox()
        _ = inbox.push(TaggedItem(index: 0))
        _ = inbox.push(TaggedItem(index: 1))
        #expect(!inbox.isClosed)
        #expect(inbox.close())
        #expect(inbox.isClosed)
        #expect(inbox.push(TaggedItem(index: 2)) == .closed)
        let (items, closed) = drain(inbox)
        #expect(items.map(\.index) == [0, 1])
        #expect(closed)
        // Still closed after the take, and still refusing.
        #expect(inbox.isClosed)
        #expect(inbox.push(TaggedItem(index: 3)) == .closed)
        let (rest, stillClosed) = drain(inbox)
        #expect(rest.isEmpty)
        #expect(stillClosed)
    }

    @Test("only the first close reports that it closed the inbox")
    func closeIsIdempotent() {
        let inbox = Inbox()
        #expect(inbox.close())
        #expect(!inbox.close())
        #expect(inbox.isClosed)
    }

    @Test("a push refused by a closed inbox releases the item")
    func refusedPushReleases() {
        let inbox = Inbox()
        inbox.close()
        weak var weakItem: TaggedItem?
        do {
            let item = TaggedItem(index: 1)
            weakItem = item
            #expect(inbox.push(item) == .closed)
        }
        #expect(weakItem == nil)
    }

    @Test("closing while producers push: every accepted item is taken, every refused one is not")
    func closeWhileProducing() {
        let inbox = Inbox()
        let producers = 4
        let accepted = Locked<[Set<Int>]>(Array(repeating: [], count: producers))
        let started = Counter()
        let joined = runThreads(producers + 1) { p in
            if p == producers {
                // The closer waits until every producer is running.
                started.wait(for: producers)
                inbox.close()
                return
            }
            started.increment()
            var mine = Set<Int>()
            var i = 0
            while true {
                if inbox.push(TaggedItem(producer: p, index: i)) == .closed { break }
                mine.insert(i)
                i += 1
            }
            accepted.withLock { $0[p] = mine }
        }
        #expect(joined)
        let (items, closed) = drain(inbox)
        #expect(closed)
        var taken = Array(repeating: Set<Int>(), count: producers)
        for item in items { taken[item.producer].insert(item.index) }
        #expect(taken == accepted.value)
    }
}
