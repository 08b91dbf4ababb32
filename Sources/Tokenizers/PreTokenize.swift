/// Hand-written scanners for the pre-tokenizer regexes (no regex engine).
///
/// Each stage looks at one chunk `cps[start..<end]` of Unicode scalars and appends the end index of every piece
/// it cuts the chunk into (the last one being `end`). Stages compose: every later stage re-splits each piece of the
/// earlier one, the way llama.cpp applies a list of regexes ("isolated" splitting: text between matches is kept
/// as pieces too).
enum PreTokenize {
    typealias Stage = (UnsafeBufferPointer<UInt32>, Int, Int, inout [Int32]) -> Void

    static func stages(_ kind: PreTokenizer) -> [Stage] {
        switch kind {
        case .gpt2: return [gpt2]
        case .llama3: return [{ llamaStyle($0, $1, $2, &$3, maxDigits: 3) }]
        case .qwen2: return [{ llamaStyle($0, $1, $2, &$3, maxDigits: 1) }]
        case .smollm: return [isolateEachNumber, gpt2]
        case .deepseekLLM:
            return [isolateNewlines, deepseekLetters, deepseekPunctuation, trailingWhitespace, deepseekCJK, numberRuns]
        }
    }

    /// Splits `cps` into pieces and returns their end indices.
    static func split(_ cps: UnsafeBufferPointer<UInt32>, stages: [Stage], into ends: inout [Int32]) {
        ends.removeAll(keepingCapacity: true)
        guard !cps.isEmpty else { return }
        ends.append(Int32(cps.count))
        var next: [Int32] = []
        for stage in stages {
            next.removeAll(keepingCapacity: true)
            next.reserveCapacity(ends.count * 2)
            var start = 0
            for e in ends {
                stage(cps, start, Int(e), &next)
                start = Int(e)
            }
            swap(&ends, &next)
        }
    }

    @inline(__always) static func cls(_ c: UInt32) -> UInt8 { CharClass.of(c) }
    @inline(__always) static func isL(_ c: UInt32) -> Bool { CharClass.of(c) & CharClass.letter != 0 }
    @inline(__always) static func isN(_ c: UInt32) -> Bool { CharClass.of(c) & CharClass.number != 0 }
    @inline(__always) static func isWS(_ c: UInt32) -> Bool { CharClass.of(c) & CharClass.whitespace != 0 }
    /// Not whitespace, letter or number: `[^\s\p{L}\p{N}]`.
    @inline(__always) static func isOther(_ c: UInt32) -> Bool {
        CharClass.of(c) & (CharClass.letter | CharClass.number | CharClass.whitespace) == 0
    }
    @inline(__always) static func lowerASCII(_ c: UInt32) -> UInt32 { (c >= 65 && c <= 90) ? c + 32 : c }

    /// Length of an English contraction (`'s 't 'm 'd 're 've 'll`) at `p`, or 0.
    @inline(__always)
    static func contraction(_ cps: UnsafeBufferPointer<UInt32>, _ p: Int, _ end: Int, anyCase: Bool) -> Int {
        guard cps[p] == 0x27, p + 1 < end else { return 0 }
        let a = anyCase ? lowerASCII(cps[p + 1]) : cps[p + 1]
        if a == 0x73 || a == 0x74 || a == 0x6D || a == 0x64 { return 2 }  // s t m d
        guard p + 2 < end else { return 0 }
        let b = anyCase ? lowerASCII(cps[p + 2]) : cps[p + 2]
        if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) { return 3 }  // re ve ll
        return 0
    }

    /// Whitespace run handling shared by the rules: `\s+(?!\S)` then `\s+`. Returns the piece end.
    @inline(__always)
    static func whitespaceRun(_ cps: UnsafeBufferPointer<UInt32>, _ p: Int, _ end: Int) -> Int {
        var q = p
        while q < end && isWS(cps[q]) { q += 1 }
        // More than one space followed by a non-space: leave the last space to lead the next word.
        if q - p > 1 && q < end { return q - 1 }
        return q
    }

    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    static func gpt2(_ cps: UnsafeBufferPointer<UInt32>, _ start: Int, _ end: Int, _ out: inout [Int32]) {
        var p = start
        while p < end {
            let c = cps[p]
            let k = contraction(cps, p, end, anyCase: false)
            if k > 0 {
                p += k
                out.append(Int32(p))
                continue
            }
            let lead = (c == 0x20 && p + 1 < end) ? 1 : 0
            if c != 0x20 || lead == 1 {
                let c2 = cps[p + lead]
                var q = p + lead
                if isL(c2) {
                    while q < end && isL(cps[q]) { q += 1 }
                    p = q; out.append(Int32(p)); continue
                }
                if isN(c2) {
                    while q < end && isN(cps[q]) { q += 1 }
                    p = q; out.append(Int32(p)); continue
                }
                if isOther(c2) {
                    while q < end && isOther(cps[q]) { q += 1 }
                    p = q; out.append(Int32(p)); continue
                }
            }
            if isWS(c) {
                p = whitespaceRun(cps, p, end)
            } else {
                p += 1
            }
            out.append(Int32(p))
        }
    }

    /// Llama 3 / Qwen2: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}|
    /// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
    static func llamaStyle(_ cps: UnsafeBufferPointer<UInt32>, _ start: Int, _ end: Int, _ out: inout [Int32],
                           maxDigits: Int) {
        var p = start
        while p < end {
            let c = cps[p]
            let k = contraction(cps, p, end, anyCase: true)
            if k > 0 {
                p += k
                out.append(Int32(p))
                continue
            }
            let cc = cls(c)
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if c != 0x0D && c != 0x0A && cc & CharClass.number == 0 {
                if cc & CharClass.letter != 0 || (p + 1 < end && isL(cps[p + 1])) {
                    var q = p + 1
                    while q < end && isL(cps[q]) { q += 1 }
                    p = q; out.append(Int32(p)); continue
                }
            }
            // \p{N}{1,maxDigits}
            if cc & CharClass.number != 0 {
                var q = p + 1
                while q < end && q - p < maxDigits && isN(cps[q]) { q += 1 }
                p = q; out.append(Int32(p)); continue
            }
            // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            let lead = c == 0x20 ? 1 : 0
            if p + lead < end && isOther(cps[p + lead]) {
                var q = p + lead
                while q < end && isOther(cps[q]) { q += 1 }
                while q < end && (cps[q] == 0x0D || cps[q] == 0x0A) { q += 1 }
                p = q; out.append(Int32(p)); continue
            }
            if cc & CharClass.whitespace != 0 {
                // \s*[\r\n]+ : up to the last newline of the whitespace run.
                var q = p
                var lastNewline = -1
                while q < end && isWS(cps[q]) {
                    if cps[q] == 0x0D || cps[q] == 0x0A { lastNewline = q }
                    q += 1
                }
                if lastNewline >= 0 {
                    p = lastNewline + 1
                } else if q - p > 1 && q < end {
                    p = q - 1
                } else {
                    p = q
                }
            } else {
                p += 1
            }
            out.append(Int32(p))
        }
    }

    /// `\p{N}`, isolated: every number character is a piece of its own.
    static func isolateEachNumber(_ cps: UnsafeBufferPointer<UInt32>, _ start: Int, _ end: Int, _ out: inout [Int32]) {
        var p = start
        while p < end {
            if isN(cps[p]) {
                p += 1
            } else {
                while p < end && !isN(cps[p]) { p += 1 }
            }
            out.append(Int32(p))
        }
    }

    /// Isolates maximal runs of characters matching `inRun`; the text between runs stays as pieces.
    @inline(__always)
    static func isolateRuns(_ cps: UnsafeBufferPointer<UInt32>, _ start: Int, _ end: Int, _ out: inout [Int32],
                            _ inRun: (UInt32) -> Bool) {
        var p = start
        while p < end {
            let run = inRun(cps[p])
            while p < end && inRun(cps[p]) == run { p += 1 }
            out.append(Int32(p))
        }
    }

    // MARK: DeepSeek LLM

    /// The reference applies these regexes with every non-ASCII whitespace turned into U+000B first.
    @inline(__always) static func dsChar(_ c: UInt32) -> UInt32 { (c > 0x7F && isWS(c)) ? 0x0B : c }

    /// `[\r\n]`
    static func isolateNewlines(_ cps: UnsafeBufferPointer<UInt32>, _ start: Int, _ end: Int, _ out: inout [Int32]) {
        var p = start
        while p < end {
            if cps[p] == 0x0A || cps[p] == 0x0D {
                p += 1
            } else {
                while p < end && cps[p] != 0x0A && cps[p] != 0x0D { p += 1 }
            }
            out.append(Int32(p))
        }
    }

    /// `\s?[class]+` with leftmost-first matching: text before a match is a piece, the match is a piece.
    @inline(__always)
    static func optionalSpaceThenRun(_ cps: UnsafeBufferPointer<UInt32>, _ start: Int, _ end: Int,
                                     _ out: inout [Int32], _ inClass: (UInt32) -> Bool) {
        var p = start
        var pieceStart = start
        while p < end {
            let c = dsChar(cps[p])
            var matchStart = -1
            var q = p
            if inClass(c) {
                matchStart = p
                q = p + 1
            } else if isWS(c), p + 1 < end, inClass(dsChar(cps[p + 1])) {
                matchStart = p
                q = p + 2
            }
            if matchStart < 0 {
                p += 1
                continue
            }
            while q < end && inClass(dsChar(cps[q])) { q += 1 }
            if matchStart > pieceStart { out.append(Int32(matchStart)) }
            out.append(Int32(q))
            p = q
            pieceStart = q
        }
        if pieceStart < end { out.append(Int32(end)) }
    }

    static func deepseekLetters(_ cps: UnsafeBufferPointer<UInt32>, _ start: Int, _ end: Int, _ out: inout [Int32]) {
        optionalSpaceThenRun(cps, start, end, &out, isDeepseekLetter)
    }

    static func deepseekPunctuation(_ cps: UnsafeBufferPointer<UInt32>, _ start: Int, _ end: Int, _ out: inout [Int32]) {
        optionalSpaceThenRun(cps, start, end, &out) { c in
            switch c {
            case 0x21...0x2F, 0x3A...0x7E, 0xFF01...0xFF0F, 0xFF1A...0xFF5E, 0x2018...0x201F, 0x3000...0x3002:
                return true
            default:
                return false
            }
        }
    }

    /// `\s+$`: the whitespace that ends the chunk becomes a piece.
    static func trailingWhitespace(_ cps: UnsafeBufferPointer<UInt32>, _ start: Int, _ end: Int, _ out: inout [Int32]) {
        var q = end
        while q > start && isWS(cps[q - 1]) { q -= 1 }
        if q > start && q < end { out.append(Int32(q)) }
        out.append(Int32(end))
    }

    /// `[一-龥ࠀ-一가-퟿]+`
    static func deepseekCJK(_ cps: UnsafeBufferPointer<UInt32>, _ start: Int, _ end: Int, _ out: inout [Int32]) {
        isolateRuns(cps, start, end, &out) { raw in
            let c = dsChar(raw)
            return (c >= 0x0800 && c <= 0x9FA5) || (c >= 0xAC00 && c <= 0xD7FF)
        }
    }

    /// `\p{N}+`
    static func numberRuns(_ cps: UnsafeBufferPointer<UInt32>, _ start: Int, _ end: Int, _ out: inout [Int32]) {
        isolateRuns(cps, start, end, &out) { c in isN(c) }
    }

    /// The letter class of DeepSeek LLM's second regex (Latin, Greek, Cyrillic, Armenian, Georgian, Cherokee, …).
    static func isDeepseekLetter(_ c: UInt32) -> Bool {
        if c < 0x80 { return (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
        var lo = 0, hi = deepseekLetterRanges.count - 1
        while lo <= hi {
            let mid = (lo + hi) >> 1
            let r = deepseekLetterRanges[mid]
            if c < r.0 { hi = mid - 1 } else if c > r.1 { lo = mid + 1 } else { return true }
        }
        return false
    }

    static let deepseekLetterRanges: [(UInt32, UInt32)] = [
        (0xB5, 0xB5), (0xC0, 0xD6), (0xD8, 0xF6), (0xF8, 0x1BA), (0x1BC, 0x1BF), (0x1C4, 0x293),
        (0x295, 0x2AF), (0x370, 0x373), (0x376, 0x377), (0x37B, 0x37D), (0x37F, 0x37F), (0x386, 0x386),
        (0x388, 0x38A), (0x38C, 0x38C), (0x38E, 0x3A1), (0x3A3, 0x3F5), (0x3F7, 0x481), (0x48A, 0x52F),
        (0x531, 0x556), (0x10A0, 0x10C5), (0x13A0, 0x13F5), (0x13F8, 0x13FD), (0x1C90, 0x1CBA), (0x1CBD, 0x1CBF),
        (0x1D00, 0x1D2B), (0x1D6B, 0x1D77), (0x1D79, 0x1D9A), (0x1E00, 0x1F15), (0x1F18, 0x1F1D), (0x1F20, 0x1F45),
        (0x1F48, 0x1F4D), (0x1F50, 0x1F57), (0x1F59, 0x1F59), (0x1F5B, 0x1F5B), (0x1F5D, 0x1F5D), (0x1F5F, 0x1F7D),
        (0x1F80, 0x1FB4), (0x1FB6, 0x1FBC), (0x1FBE, 0x1FBE), (0x1FC2, 0x1FC4), (0x1FC6, 0x1FCC), (0x1FD0, 0x1FD3),
        (0x1FD6, 0x1FDB), (0x1FE0, 0x1FEC), (0x1FF2, 0x1FF4), (0x1FF6, 0x1FFC), (0x2102, 0x2102), (0x2107, 0x2107),
        (0x210A, 0x2113), (0x2115, 0x2115), (0x2119, 0x211D), (0x2124, 0x2124), (0x2126, 0x2126), (0x2128, 0x2128),
        (0x212A, 0x212D), (0x212F, 0x2134), (0x2139, 0x2139), (0x213C, 0x213F), (0x2145, 0x2149), (0x214E, 0x214E),
        (0x2183, 0x2184), (0x2C00, 0x2C7B), (0x2C7E, 0x2CE4), (0x2CEB, 0x2CEE), (0x2CF2, 0x2CF3), (0xA640, 0xA66D),
        (0xA680, 0xA69B), (0xA722, 0xA76F), (0xA771, 0xA787), (0xA78B, 0xA78E), (0xAB70, 0xABBF), (0xFB00, 0xFB06),
        (0xFB13, 0xFB17), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A), (0x10400, 0x1044F), (0x104B0, 0x104D3),
        (0x104D8, 0x104FB), (0x10C80, 0x10CB2), (0x10CC0, 0x10CF2), (0x118A0, 0x118DF), (0x1E900, 0x1E943),
    ]
}
