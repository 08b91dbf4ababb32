/// The token budgets one prompt runs under.
public struct Budget: Sendable, Equatable, Codable {
    /// Maximum thinking tokens (after the opening marker, markers not charged); nil = unlimited up to the context.
    public var thinking: Int?
    /// Maximum answer tokens after thinking ends; nil = unlimited up to the context.
    public var answer: Int?

    public init(thinking: Int?, answer: Int?) {
        self.thinking = thinking
        self.answer = answer
    }

    public static let unlimited = Budget(thinking: nil, answer: nil)
}

/// How a batch chooses each prompt's thinking budget.
public enum BudgetPolicy: Sendable, Equatable {
    /// The same budget for every prompt.
    case fixed(Budget)
    /// A table per difficulty; tiers missing from the table use `BudgetPolicy.defaultTable`.
    case perDifficulty([Difficulty: Budget])
    /// Learned from the database's own history per model and difficulty (see `AdaptiveBudget`);
    /// `fallback` covers tiers without enough history.
    case adaptive(learned: [Difficulty: Budget], fallback: [Difficulty: Budget])
    /// No thinking budget: only the context bounds the run.
    case unlimited(answer: Int?)

    /// Defaults for `perDifficulty`: easy prompts must not overthink, hard ones get room.
    public static let defaultTable: [Difficulty: Budget] = [
        .easy: Budget(thinking: 128, answer: 128),
        .medium: Budget(thinking: 512, answer: 256),
        .hard: Budget(thinking: 2048, answer: 512),
    ]

    /// The budget for a prompt of difficulty `d`, after an optional per-item override.
    public func budget(for d: Difficulty, override: Budget? = nil) -> Budget {
        if let override { return override }
        switch self {
        case .fixed(let b): return b
        case .perDifficulty(let table): return table[d] ?? BudgetPolicy.defaultTable[d]!
        case .adaptive(let learned, let fallback): return learned[d] ?? fallback[d] ?? BudgetPolicy.defaultTable[d]!
        case .unlimited(let answer): return Budget(thinking: nil, answer: answer)
        }
    }

    /// A short name stored with each output (`fixed`, `per_difficulty`, `adaptive`, `unlimited`).
    public var name: String {
        switch self {
        case .fixed: return "fixed"
        case .perDifficulty: return "per_difficulty"
        case .adaptive: return "adaptive"
        case .unlimited: return "unlimited"
        }
    }
}
