import Glibc
import Testing
@testable import Crochet

/// The argument types, for cycling through.
private let argumentTypes = ValueType.allCases.filter(\.isArgumentType)

/// A signature with `count` arguments whose types cycle, starting at `offset`.
private func cycling(_ count: Int, offset: Int = 0, returning ret: ValueType = .int32) -> Signature {
    var s = Signature(returnType: ret, count: count)
    for i in 0..<count { s.setArgument(i, argumentTypes[(i + offset) % argumentTypes.count]) }
    return s
}

@Suite("Signature")
struct SignatureTests {
    @Test("a signature keeps its return type and count")
    func returnTypeAndCount() {
        let s = Signature(returnType: .deferred, count: 7)
        #expect(s.returnType == .deferred)
        #expect(s.count == 7)
    }

    @Test("all 32 argument types pack and read back, across the 16/16 word boundary")
    func packs32() {
        for offset in 0..<argumentTypes.count {
            let s = cycling(32, offset: offset)
            for i in 0..<32 {
                #expect(s.argument(i) == argumentTypes[(i + offset) % argumentTypes.count],
                        "offset \(offset), argument \(i)")
            }
        }
    }

    @Test("each of the 32 positions holds any type without touching its neighbours")
    func positionsAreIndependent() {
        for position in 0..<32 {
            for type in argumentTypes {
                var s = Signature(returnType: .void, count: 32)
                s.setArgument(position, type)
                for i in 0..<32 {
                    #expect(s.argument(i) == (i == position ? type : .void), "set \(type) at \(position), read \(i)")
                }
            }
        }
    }

    @Test("arguments never set read as void")
    func unsetIsVoid() {
        let s = Signature(returnType: .int32, count: 32)
        #expect((0..<32).allSatisfy { s.argument($0) == .void })
    }

    @Test("setting an argument a second time replaces its type")
    func setTwiceReplaces() {
        var s = Signature(returnType: .void, count: 1)
        s.setArgument(0, .uint8)     // 2
        s.setArgument(0, .int8)      // 1: if the bits were OR-ed, 2 | 1 would read as 3 (.int16)
        #expect(s.argument(0) == .int8)
    }

    @Test("setting an argument a second time never leaves a tag that is not a type")
    func setTwiceStaysValid() async {
        // Run in a child process: if the bits are OR-ed, .double (10) then
        // .int64 (7) gives 15, and `argument(_:)` traps on the unknown tag.
        await #expect(processExitsWith: .success) {
            var s = Signature(returnType: .void, count: 1)
            s.setArgument(0, .double)
            s.setArgument(0, .int64)
            if s.argument(0) != .int64 { exit(1) }
        }
    }

    @Test("signatures with the same types are equal and hash alike")
    func equality() {
        let a = cycling(32), b = cycling(32)
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(Set([a, b]).count == 1)
    }

    @Test("signatures differing in one argument, the count or the return type differ")
    func inequality() {
        let base = cycling(32)
        var last = Signature(returnType: .int32, count: 32)
        for i in 0..<31 { last.setArgument(i, base.argument(i)) }
        last.setArgument(31, base.argument(31) == .pointer ? .int8 : .pointer)
        #expect(last != base)
        #expect(base.withCount(31) != base)
        #expect(base.withCount(31) == cycling(31))
        #expect(cycling(32, returning: .int64) != base)
        #expect(Signature(returnType: .void, count: 0) != Signature(returnType: .void, count: 1))
        var other = Signature(returnType: .int32, count: 32)
        for i in 0..<32 { other.setArgument(i, argumentTypes[(i + 1) % argumentTypes.count]) }
        #expect(other != base)
    }
}

private extension Signature {
    /// This signature's first `count` arguments under a new count.
    func withCount(_ count: Int) -> Signature {
        var s = Signature(returnType: returnType, count: count)
        for i in 0..<count { s.setArgument(i, argument(i)) }
        return s
    }
}

@Suite("CallInterface")
struct CallInterfaceTests {
    @Test("one interface is prepared per signature and reused")
    func cached() throws {
        let a = try #require(CallInterface.lookup(cycling(32))).takeUnretainedValue()
        let b = try #require(CallInterface.lookup(cycling(32))).takeUnretainedValue()
        #expect(a === b)
        #expect(a.signature == cycling(32))
        let c = try #require(CallInterface.lookup(cycling(32, offset: 1))).takeUnretainedValue()
        #expect(c !== a)
        // The thread-local one-entry cache must not return the last interface
        // for a different signature.
        let d = try #require(CallInterface.lookup(cycling(3))).takeUnretainedValue()
        let e = try #require(CallInterface.lookup(cycling(4))).takeUnretainedValue()
        #expect(d.signature == cycling(3))
        #expect(e.signature == cycling(4))
    }

    @Test("threads looking up the same signatures at once get the same interfaces")
    func concurrentLookups() {
        let signatures = (0..<8).map { cycling(8 + $0, offset: $0, returning: .double) }
        let found = Locked<[[ObjectIdentifier]]>([])
        let joined = runThreads(4) { _ in
            var mine: [ObjectIdentifier] = []
            for _ in 0..<50 {
                for s in signatures {
                    if let i = CallInterface.lookup(s) { mine.append(ObjectIdentifier(i.takeUnretainedValue())) }
                }
            }
            found.withLock { $0.append(mine) }
        }
        #expect(joined)
        let all = found.value
        #expect(all.count == 4)
        #expect(all.allSatisfy { $0 == all[0] })
        #expect(Set(all[0]).count == signatures.count)
    }
}
