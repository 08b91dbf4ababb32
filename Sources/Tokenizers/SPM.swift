/// SentencePiece-style BPE: start from UTF-8 characters and repeatedly merge the adjacent pair whose
/// concatenation is the vocabulary entry with the highest score (ties: leftmost). Pieces that end up outside the
/// vocabulary are spelled as `<0xXX>` byte tokens.
struct SPMMerger {
    private struct Candidate {
        var score: Float
        var left: Int32
        var right: Int32
        var size: Int32

        @inline(__always) func before(_ o: Candidate) -> Bool {
            score > o.score || (score == o.score && left < o.left)
        }
    }

    private var start: [Int32] = []
    private var len: [Int32] = []
    private var next: [Int32] = []
    private var prev: [Int32] = []
    private var heap: [Candidate] = []

    /// Tokenizes `text` (already space-escaped) and appends ids to `out`.
    mutating func tokenize(_ text: UnsafeRawBufferPointer, vocab: ByteStringTable, scores: [Float],
                           byteTokens: [Int32], unknown: Int32?, into out: inout [Int32]) {
        start.removeAll(keepingCapacity: true)
        len.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        prev.removeAll(keepingCapacity: true)
        heap.removeAll(keepingCapacity: true)
        var offset = 0
        while offset < text.count {
            let n = min(utf8SequenceLength(text[offset]), text.count - offset)
            prev.append(Int32(start.count - 1))
            start.append(Int32(offset))
            len.append(Int32(n))
            offset += n
            next.append(offset == text.count ? -1 : Int32(start.count))
        }
        let count = start.count
        if count == 0 { return }
        for i in 1..<max(count, 1) { consider(Int32(i - 1), Int32(i), text, vocab, scores) }
        while !heap.isEmpty {
            let c = pop()
            let l = Int(c.left), r = Int(c.right)
            guard len[l] != 0, len[r] != 0, len[l] + len[r] == c.size else { continue }
            len[l] += len[r]
            len[r] = 0
            next[l] = next[r]
            if next[r] >= 0 { prev[Int(next[r])] = c.left }
            if prev[l] >= 0 { consider(prev[l], c.left, text, vocab, scores) }
            if next[l] >= 0 { consider(c.left, next[l], text, vocab, scores) }
        }
        var i: Int32 = 0
        while i >= 0 {
            let s = Int(start[Int(i)]), n = Int(len[Int(i)])
            let piece = UnsafeRawBufferPointer(rebasing: text[s..<(s + n)])
            if let id = vocab.find(piece) {
                out.append(id)
            } else {
                for b in piece {
                    let t = byteTokens[Int(b)]
                    if t >= 0 {
                        out.append(t)
                    } else if let u = unknown {
                        out.append(u)
                    }
                }
            }
            i = next[Int(i)]
        }
    }

    @inline(__always)
    private mutating func consider(_ l: Int32, _ r: Int32, _ text: UnsafeRawBufferPointer, _ vocab: ByteStringTable,
                                   _ scores: [Float]) {
        let s = Int(start[Int(l)])
        let size = Int(len[Int(l)] + len[Int(r)])
        guard let id = vocab.find(UnsafeRawBufferPointer(rebasing: text[s..<(s + size)])) else { return }
        let score = Int(id) < scores.count ? scores[Int(id)] : 0
        push(Candidate(score: score, left: l, right: r, size: Int32(size)))
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

/// The length of the UTF-8 sequence a lead byte starts (1 for ASCII and for stray continuation bytes).
@inline(__always)
func utf8SequenceLength(_ lead: UInt8) -> Int {
    if lead < 0x80 { return 1 }
    if lead < 0xC0 { return 1 }
    if lead < 0xE0 { return 2 }
    if lead < 0xF0 { return 3 }
    return 4
}
