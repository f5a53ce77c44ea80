/// The results the reactor completes later: those following a deferred that
/// has not fired, so that stopping can complete every one with `ESTOPPED`.
/// Reactor thread only. A dense array of unretained pointers; each result
/// keeps its index (plus one) in its `link` word, which is free once the
/// result has left the inbox: insert and remove are O(1) and a result pays
/// no field of its own for it.
package struct Registry {
    private var results: [UnsafeMutableRawPointer] = []

    package var count: Int { results.count }

    private static func node(_ raw: UnsafeMutableRawPointer) -> ResultCore {
        Unmanaged<ResultCore>.fromOpaque(raw).takeUnretainedValue()
    }

    private static func tag(_ index: Int) -> UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: index + 1) }

    package mutating func insert(_ result: ResultCore) {
        result.link = Registry.tag(results.count)
        results.append(Unmanaged.passUnretained(result).toOpaque())
    }

    package mutating func remove(_ result: ResultCore) {
        let raw = Unmanaged.passUnretained(result).toOpaque()
        guard let tag = result.link else { return }   // not in the registry
        let index = Int(bitPattern: UInt(bitPattern: tag)) - 1
        guard index >= 0, index < results.count, results[index] == raw else { return }
        let last = results.removeLast()
        if index < results.count {
            results[index] = last
            Registry.node(last).link = Registry.tag(index)
        }
        result.link = nil
        // Give back what a burst of followers left behind.
        if results.capacity > 4096 && results.count < results.capacity / 4 { results = Array(results) }
    }

    /// Removes and returns every result (they stay alive: each is retained by
    /// the deferred it follows).
    package mutating func removeAll() -> [ResultCore] {
        let all = results.map { raw -> ResultCore in
            let result = Registry.node(raw)
            result.link = nil
            return result
        }
        results = []
        return all
    }
}
