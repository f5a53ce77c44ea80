/// The results the reactor completes later: those following a deferred that
/// has not fired. An intrusive doubly linked list (no allocation), reactor
/// thread only, so that stopping can complete every one with `ESTOPPED`.
package struct Registry {
    private var head: UnsafeMutableRawPointer?
    package private(set) var count = 0

    private static func node(_ raw: UnsafeMutableRawPointer) -> ResultCore {
        Unmanaged<ResultCore>.fromOpaque(raw).takeUnretainedValue()
    }

    package mutating func insert(_ result: ResultCore) {
        let raw = Unmanaged.passUnretained(result).toOpaque()
        result.registryPrevious = nil
        result.link = head
        if let head { Registry.node(head).registryPrevious = raw }
        head = raw
        count += 1
    }

    package mutating func remove(_ result: ResultCore) {
        let raw = Unmanaged.passUnretained(result).toOpaque()
        let next = result.link
        if let previous = result.registryPrevious {
            Registry.node(previous).link = next
        } else if head == raw {
            head = next
        } else {
            return  // not in the registry
        }
        if let next { Registry.node(next).registryPrevious = result.registryPrevious }
        result.link = nil
        result.registryPrevious = nil
        count -= 1
    }

    /// Removes and returns every result (they stay alive: each is retained by
    /// the deferred it follows).
    package mutating func removeAll() -> [ResultCore] {
        var all: [ResultCore] = []
        all.reserveCapacity(count)
        var node = head
        while let raw = node {
            let result = Registry.node(raw)
            node = result.link
            result.link = nil
            result.registryPrevious = nil
            all.append(result)
        }
        head = nil
        count = 0
        return all
    }
}
