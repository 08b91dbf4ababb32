/// Turns generated token ids into text piece by piece without ever emitting part of a UTF-8 character:
/// bytes of a character split across tokens (emoji, CJK via byte tokens) are held back until it is complete.
public struct StreamingDetokenizer: Sendable {
    public let tokenizer: Tokenizer
    /// Render control tokens (BOS, `<|im_end|>`, …) as their text.
    public var renderSpecial: Bool
    private var pending: [UInt8] = []
    private var stripSpace: Bool

    public init(tokenizer: Tokenizer, renderSpecial: Bool = false) {
        self.tokenizer = tokenizer
        self.renderSpecial = renderSpecial
        self.stripSpace = tokenizer.addSpacePrefix
    }

    /// Bytes held back because they start a character that is not complete yet.
    public var pendingByteCount: Int { pending.count }

    /// How many more bytes the held-back character needs (0 when nothing is pending).
    public var missingByteCount: Int {
        guard let lead = pending.first else { return 0 }
        return max(0, utf8SequenceLength(lead) - pending.count)
    }

    /// True when no partial character is held back, i.e. the text so far ends on a character boundary.
    public var isAtCharacterBoundary: Bool { pending.isEmpty }

    /// Adds one token and returns the text that became complete (possibly empty).
    public mutating func append(_ id: Int32) -> String {
        var piece = tokenizer.pieceBytes(id, special: renderSpecial)
        if piece.isEmpty { return "" }
        if stripSpace {
            stripSpace = false
            if pending.isEmpty, piece.first == 0x20 { piece = piece.dropFirst() }
        }
        pending.append(contentsOf: piece)
        let cut = UTF8Boundary.completePrefixLength(pending)
        if cut == 0 { return "" }
        let text = String(decoding: pending[0..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Returns whatever is held back (an unfinished character becomes U+FFFD) and resets.
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return pending.isEmpty ? "" : String(decoding: pending, as: UTF8.self)
    }
}

/// UTF-8 boundary arithmetic.
public enum UTF8Boundary {
    /// The length of the longest prefix of `bytes` that does not end inside a character that could still be
    /// completed by more bytes. Invalid bytes count as complete (they decode to U+FFFD).
    public static func completePrefixLength<C: RandomAccessCollection>(_ bytes: C) -> Int
    where C.Element == UInt8, C.Index == Int {
        let n = bytes.count
        let base = bytes.startIndex
        // Only the last three bytes can belong to an unfinished character.
        var i = max(0, n - 3)
        // Step back to a lead byte if we landed on continuation bytes.
        while i > 0 && i > n - 4 && (bytes[base + i] & 0xC0) == 0x80 { i -= 1 }
        while i < n {
            let lead = bytes[base + i]
            let len = lead < 0xC2 ? 1 : (lead < 0xE0 ? 2 : (lead < 0xF0 ? 3 : (lead < 0xF5 ? 4 : 1)))
            if len == 1 { i += 1; continue }
            var j = i + 1
            while j < n && j < i + len && (bytes[base + j] & 0xC0) == 0x80 { j += 1 }
            if j == n && j < i + len { return i }  // ran out of bytes mid-character
            i = j
        }
        return n
    }

    /// How many bytes at the end of `bytes` start a character that is not finished.
    public static func incompleteSuffixLength<C: RandomAccessCollection>(_ bytes: C) -> Int
    where C.Element == UInt8, C.Index == Int {
        bytes.count - completePrefixLength(bytes)
    }
}
