/// Finds special and user-defined tokens in raw text before any other tokenization, with the reference's
/// priority: longer token texts first (ties: lower id), each taking its leftmost non-overlapping occurrences in
/// text not yet claimed by a higher-priority token.
struct SpecialMatcher {
    private struct Node {
        var tokenID: Int32 = -1
    }
    private var nodes: [Node] = [Node()]
    /// (node << 8 | byte) → child node
    private let children = PairTable(capacity: 1024)
    /// Priority per special token id (lower is tried first).
    private var priority: [Int32: Int32] = [:]
    private var firstByte = [Bool](repeating: false, count: 256)

    var isEmpty: Bool { priority.isEmpty }

    init(tokens: [String], ids: [Int32]) {
        let ordered = ids.sorted { a, b in
            let la = tokens[Int(a)].utf8.count, lb = tokens[Int(b)].utf8.count
            return la != lb ? la > lb : a < b
        }
        for (rank, id) in ordered.enumerated() {
            let text = Array(tokens[Int(id)].utf8)
            guard !text.isEmpty else { continue }
            priority[id] = Int32(rank)
            firstByte[Int(text[0])] = true
            var node = 0
            for b in text {
                let key = UInt64(node) << 8 | UInt64(b)
                if let c = children.find(key) {
                    node = Int(c)
                } else {
                    nodes.append(Node())
                    children.insertIfAbsent(key, UInt64(nodes.count - 1))
                    node = nodes.count - 1
                }
            }
            if nodes[node].tokenID < 0 { nodes[node].tokenID = id }
        }
    }

    struct Match {
        var start: Int
        var end: Int
        var id: Int32
    }

    /// Matches in `text`, sorted by position. `accept` filters which special tokens may match.
    func matches(in text: UnsafeRawBufferPointer, accept: (Int32) -> Bool) -> [Match] {
        guard !priority.isEmpty else { return [] }
        var found: [(prio: Int32, m: Match)] = []
        let n = text.count
        var i = 0
        while i < n {
            if !firstByte[Int(text[i])] { i += 1; continue }
            var node = 0
            var j = i
            while j < n, let c = children.find(UInt64(node) << 8 | UInt64(text[j])) {
                node = Int(c)
                j += 1
                let id = nodes[node].tokenID
                if id >= 0, accept(id) {
                    found.append((priority[id]!, Match(start: i, end: j, id: id)))
                }
            }
            i += 1
        }
        if found.isEmpty { return [] }
        found.sort { $0.prio != $1.prio ? $0.prio < $1.prio : $0.m.start < $1.m.start }
        var claimed = [Bool](repeating: false, count: n)
        var accepted: [Match] = []
        for f in found {
            var free = true
            for k in f.m.start..<f.m.end where claimed[k] {
                free = false
                break
            }
            guard free else { continue }
            for k in f.m.start..<f.m.end { claimed[k] = true }
            accepted.append(f.m)
        }
        accepted.sort { $0.start < $1.start }
        return accepted
    }
}
