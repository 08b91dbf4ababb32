import Foundation

/// How hard a prompt is: the tag a user puts on each item (`easy`/`medium`/`hard`, or a level 1-5).
///
/// Levels 1-5 map onto the three named tiers: 1-2 easy, 3 medium, 4-5 hard.
public enum Difficulty: String, Sendable, Codable, CaseIterable, Comparable {
    case easy, medium, hard

    /// Parses `easy`/`medium`/`hard` (any case) or a level `1`...`5`.
    public init?(tag: String) {
        let t = tag.trimmingCharacters(in: .whitespaces).lowercased()
        if let d = Difficulty(rawValue: t) { self = d; return }
        guard let level = Int(t) else { return nil }
        self.init(level: level)
    }

    /// Maps a level 1...5 to a tier; nil outside that range.
    public init?(level: Int) {
        switch level {
        case 1, 2: self = .easy
        case 3: self = .medium
        case 4, 5: self = .hard
        default: return nil
        }
    }

    public static func < (a: Difficulty, b: Difficulty) -> Bool { a.rank < b.rank }

    var rank: Int {
        switch self {
        case .easy: return 0
        case .medium: return 1
        case .hard: return 2
        }
    }
}
