/// Merge ranks of a byte-level BPE vocabulary, keyed by the ids of the two halves.
struct MergeTable {
    /// (left id << 32 | right id) → (rank << 32 | merged id)
    var table: PairTable

    @inline(__always) static func key(_ l: Int32, _ r: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: l)) << 32 | UInt64(UInt32(bitPattern: r))
    }

    /// The rank and result of merging `l` and `r`, if they merge.
    @inline(__always) func lookup(_ l: Int32, _ r: Int32) -> (rank: Int32, merged: Int32)? {
        guard let v = table.find(MergeTable.key(l, r)) else { return nil }
        return (Int32(truncatingIfNeeded: v >> 32), Int32(truncatingIfNeeded: v & 0xFFFF_FFFF))
    }
}

/// Reusable scratch space for merging one word at a time: a doubly linked list of symbols and a binary heap
/// of candidate pairs ordered by (rank, position). Stale candidates are skipped when popped.
///
/// A candidate is two words: its order key (rank << 32 | left position) and the ids of the pair when it was
/// pushed. It is still valid when the left symbol is alive with the same id and its right neighbour has the
/// recorded right id (a symbol's id only changes by growing, so an equal id means an unchanged symbol).
struct BPEMerger {
    private var ids: [Int32] = []
    private var next: [Int32] = []
    private var prev: [Int32] = []
    private var alive: [Bool] = []
    private var heapKeys: [UInt64] = []
    private var heapPairs: [UInt64] = []

    /// Merges the symbols `initial` (one token id per byte or character) and appends the resulting ids to `out`.
    /// Symbols whose id is negative (no token) are dropped, as the reference does for unknown bytes.
    mutating func merge(_ initial: UnsafeBufferPointer<Int32>, merges: MergeTable, into out: inout [Int32]) {
        let n = initial.count
        if n == 0 { return }
        if n == 1 {
            if initial[0] >= 0 { out.append(initial[0]) }
            return
        }
        ids.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        prev.removeAll(keepingCapacity: true)
        alive.removeAll(keepingCapacity: true)
        heapKeys.removeAll(keepingCapacity: true)
        heapPairs.removeAll(keepingCapacity: true)
        for i in 0..<n {
            ids.append(initial[i])
            next.append(i + 1 < n ? Int32(i + 1) : -1)
            prev.append(Int32(i - 1))
            alive.append(true)
        }
        for i in 0..<(n - 1) { consider(i, i + 1, merges) }
        while !heapKeys.isEmpty {
            let (key, pair) = pop()
            let l = Int(key & 0xFFFF_FFFF)
            let leftID = Int32(truncatingIfNeeded: pair >> 32), rightID = Int32(truncatingIfNeeded: pair & 0xFFFF_FFFF)
            guard alive[l], ids[l] == leftID else { continue }
            let r = Int(next[l])
            guard r >= 0, ids[r] == rightID else { continue }
            // Merge the right symbol into the left one.
            ids[l] = merges.lookup(leftID, rightID)!.merged
            alive[r] = false
            let rn = next[r]
            next[l] = rn
            if rn >= 0 { prev[Int(rn)] = Int32(l) }
            if prev[l] >= 0 { consider(Int(prev[l]), l, merges) }
            if rn >= 0 { consider(l, Int(rn), merges) }
        }
        var i: Int32 = 0
        while i >= 0 {
            if ids[Int(i)] >= 0 { out.append(ids[Int(i)]) }
            i = next[Int(i)]
        }
    }

    @inline(__always)
    private mutating func consider(_ l: Int, _ r: Int, _ merges: MergeTable) {
        let a = ids[l], b = ids[r]
        guard a >= 0, b >= 0, let m = merges.lookup(a, b) else { return }
        push(UInt64(UInt32(bitPattern: m.rank)) << 32 | UInt64(l), MergeTable.key(a, b))
    }

    private mutating func push(_ key: UInt64, _ pair: UInt64) {
        heapKeys.append(key)
        heapPairs.append(pair)
        heapKeys.withUnsafeMutableBufferPointer { k in
            heapPairs.withUnsafeMutableBufferPointer { p in
                var i = k.count - 1
                while i > 0 {
                    let parent = (i - 1) >> 1
                    guard k[i] < k[parent] else { break }
                    k.swapAt(i, parent)
                    p.swapAt(i, parent)
                    i = parent
                }
            }
        }
    }

    private mutating func pop() -> (UInt64, UInt64) {
        let top = (heapKeys[0], heapPairs[0])
        let lastKey = heapKeys.removeLast(), lastPair = heapPairs.removeLast()
        if heapKeys.isEmpty { return top }
        heapKeys.withUnsafeMutableBufferPointer { k in
            heapPairs.withUnsafeMutableBufferPointer { p in
                let n = k.count
                var i = 0
                while true {
                    let l = 2 * i + 1
                    if l >= n { break }
                    var m = l
                    if l + 1 < n && k[l + 1] < k[l] { m = l + 1 }
                    guard k[m] < lastKey else { break }
                    k[i] = k[m]
                    p[i] = p[m]
                    i = m
                }
                k[i] = lastKey
                p[i] = lastPair
            }
        }
        return top
    }
}
