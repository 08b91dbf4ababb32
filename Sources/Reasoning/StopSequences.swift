/// Stop sequences (OpenAI's `stop`): the answer ends before the first one the model writes.
///
/// Fed the answer's bytes token by token, it reports when a stop sequence has just been completed,
/// including one spread over several tokens; it keeps only the last (longest stop - 1) bytes.
public struct StopSequenceMatcher: Sendable {
    public let stops: [[UInt8]]
    private var tail: [UInt8] = []
    private let keep: Int

    public init(_ stops: [String]) {
        self.stops = stops.filter { !$0.isEmpty }.map { Array($0.utf8) }
        keep = max(0, (self.stops.map(\.count).max() ?? 1) - 1)
    }

    /// Appends one token's bytes; true when a stop sequence ends inside them.
    public mutating func feed(_ bytes: some Collection<UInt8>) -> Bool {
        guard !stops.isEmpty else { return false }
        let start = tail.count
        tail.append(contentsOf: bytes)
        defer { if tail.count > keep { tail.removeFirst(tail.count - keep) } }
        for s in stops where tail.count >= s.count {
            // Only occurrences that end in the new bytes (earlier ones were checked before).
            var i = max(0, start - s.count + 1)
            while i + s.count <= tail.count {
                if tail[i..<i + s.count].elementsEqual(s) { return true }
                i += 1
            }
        }
        return false
    }

    /// `text` up to the first occurrence of any of `stops` (the whole text when none occurs).
    public static func truncate(_ text: String, at stops: [String]) -> String {
        var cut = text.endIndex
        for s in stops where !s.isEmpty {
            if let r = text.range(of: s), r.lowerBound < cut { cut = r.lowerBound }
        }
        return String(text[..<cut])
    }
}
