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
struct BPEMerger {
    private struct Candidate {
        var rank: Int32
        var left: Int32
        var right: Int32
        var leftID: Int32
        var rightID: Int32

        @inline(__always) func before(_ o: Candidate) -> Bool {
            rank < o.rank || (rank == o.rank && left < o.left)
        }
    }

    private var ids: [Int32] = []
    private var next: [Int32] = []
    private var prev: [Int32] = []
    private var alive: [Bool] = []
    private var heap: [Candidate] = []

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
        heap.removeAll(keepingCapacity: true)
        for i in 0..<n {
            ids.append(initial[i])
            next.append(i + 1 < n ? Int32(i + 1) : -1)
            prev.append(Int32(i - 1))
            alive.append(true)
        }
        for i in 0..<(n - 1) { consider(Int32(i), Int32(i + 1), merges) }
        while !heap.isEmpty {
            let c = pop()
            let l = Int(c.left), r = Int(c.right)
            guard alive[l], alive[r], next[l] == c.right, ids[l] == c.leftID, ids[r] == c.rightID else { continue }
            // Merge the right symbol into the left one.
            let merged = merges.lookup(c.leftID, c.rightID)!.merged
            ids[l] = merged
            alive[r] = false
            let rn = next[r]
            next[l] = rn
            if rn >= 0 { prev[Int(rn)] = c.left }
            if prev[l] >= 0 { consider(prev[l], c.left, merges) }
            if rn >= 0 { consider(c.left, rn, merges) }
        }
        var i: Int32 = 0
        while i >= 0 {
            if ids[Int(i)] >= 0 { out.append(ids[Int(i)]) }
            i = next[Int(i)]
        }
    }

    @inline(__always)
    private mutating func consider(_ l: Int32, _ r: Int32, _ merges: MergeTable) {
        let a = ids[Int(l)], b = ids[Int(r)]
        guard a >= 0, b >= 0, let m = merges.lookup(a, b) else { return }
        push(Candidate(rank: m.rank, left: l, right: r, leftID: a, rightID: b))
    }

    private mutating func push(_ c: Candidate) {
        heap.append(c)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) >> 1
            if heap[i].before(heap[parent]) {
                heap.swapAt(i, parent)
                i = parent
            } else {
                break
            }
        }
    }

    private mutating func pop() -> Candidate {
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            let n = heap.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n && heap[l].before(heap[m]) { m = l }
                if r < n && heap[r].before(heap[m]) { m = r }
                if m == i { break }
                heap.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}
