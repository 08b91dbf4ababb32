import Foundation
import Inference
import Reasoning

/// The payload of one `generate` job (jobs/schemas/generate.schema.json): one prompt item plus the
/// batch's settings, so that a single SQL insert is a complete job.
public struct GeneratePayload: Codable, Sendable, Equatable {
    public struct Message: Codable, Sendable, Equatable {
        public var role: String
        public var content: String
        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    public struct Sampling: Codable, Sendable, Equatable {
        public var temperature: Double?
        public var top_k: Int?
        public var top_p: Double?
        public var min_p: Double?
        public var repeat_penalty: Double?
        public var repeat_last_n: Int?
        public var seed: UInt64?
        public init() {}
    }

    public struct BudgetPair: Codable, Sendable, Equatable {
        public var thinking: Int?
        public var answer: Int?
        public init(thinking: Int? = nil, answer: Int? = nil) {
            self.thinking = thinking
            self.answer = answer
        }
    }

    public struct BudgetSettings: Codable, Sendable, Equatable {
        public var policy: String?
        public var thinking: Int?
        public var answer: Int?
        public var table: [String: BudgetPair]?
        public var epsilon: Double?
        public var percentile: Double?
        public var min_samples: Int?
        /// Adaptive policy: learn only from these batches' outputs (e.g. a run on the fit half),
        /// instead of the model's whole history.
        public var history_batches: [Int64]?
        /// Adaptive policy: where `epsilon` applies, `overall` (default: budgets chosen jointly across
        /// difficulties) or `per_tier`.
        public var scope: String?
        /// Tell the model its thinking budget in the instruction ("use less than N tokens"), as
        /// token-budget-aware prompting does, so that it plans a shorter solution instead of being cut.
        public var hint: Bool?
        /// How much reasoning the instruction asks for (`low`, `medium`, `high`), for every item or per
        /// difficulty; absent = `high`, each mode's default instruction. It chooses the instruction added
        /// to a `prompt` item; a payload's own `instruction`, and `messages` (to which no default
        /// instruction is added), are left as they are.
        public var effort: EffortSetting?
        /// The worked examples effort `minimal` shows before a `prompt` item in plain mode, in place of the
        /// built-in ones (`ReasoningEffort.demonstrations(mode:)`, arithmetic and algebra): a prompt set of
        /// another kind brings examples of its own kind, written in the length it wants.
        public var examples: [Example]?
        /// Budget forcing's continuation (the s1 paper's "Wait"), off when absent: an item of one of
        /// `difficulties` whose reasoning ends below `below` × its thinking budget is not let end once;
        /// `cue` is appended and it reasons on.
        public var wait: WaitSetting?
        public init(policy: String? = nil) { self.policy = policy }
    }

    /// One worked example of `budget.examples`: a question and the answer the model is shown giving.
    public struct Example: Codable, Sendable, Equatable {
        public var question: String
        public var answer: String
        public init(question: String, answer: String) { self.question = question; self.answer = answer }
    }

    /// `budget.wait`: when reasoning that ends early is continued, and with what cue.
    public struct WaitSetting: Codable, Sendable, Equatable {
        /// Fraction of the item's thinking budget (the token cap's room when unlimited) below which an
        /// ended reasoning is continued (default 0.5).
        public var below: Double?
        /// The text appended in place of the end (default "Wait"), after a blank line.
        public var cue: String?
        /// The difficulties it applies to (default: hard only).
        public var difficulties: [Difficulty]?

        public init(below: Double? = nil, cue: String? = nil, difficulties: [Difficulty]? = nil) {
            self.below = below
            self.cue = cue
            self.difficulties = difficulties
        }

        public static let defaultBelow = 0.5
        public static let defaultCue = "Wait"

        /// Whether an item of difficulty `d` is continued.
        public func applies(to d: Difficulty) -> Bool { (difficulties ?? [.hard]).contains(d) }
        /// The injected text: a blank line, then the cue.
        public var cueText: String { "\n\n" + (cue ?? Self.defaultCue) }
        /// The thinking-token threshold for a thinking budget of `thinking` tokens.
        public func threshold(thinking: Int) -> Int { Int((Double(thinking) * (below ?? Self.defaultBelow)).rounded(.down)) }
    }

    /// `budget.effort`: one effort for every item (`"medium"`) or one per difficulty
    /// (`{"easy": "low", "hard": "high"}`; a tier left out gets `high`).
    public struct EffortSetting: Codable, Sendable, Equatable {
        public var all: ReasoningEffort?
        public var tiers: [Difficulty: ReasoningEffort]

        public init(all: ReasoningEffort) { self.all = all; self.tiers = [:] }
        public init(tiers: [Difficulty: ReasoningEffort]) { self.all = nil; self.tiers = tiers }

        /// The effort asked of an item of difficulty `d`.
        public func effort(for d: Difficulty) -> ReasoningEffort { all ?? tiers[d] ?? .high }

        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let one = try? c.decode(ReasoningEffort.self) {
                self.init(all: one)
                return
            }
            let raw = try c.decode([String: ReasoningEffort].self)
            var tiers: [Difficulty: ReasoningEffort] = [:]
            for (k, v) in raw {
                guard let d = Difficulty(rawValue: k) else {
                    throw DecodingError.dataCorruptedError(in: c, debugDescription: "budget.effort: unknown difficulty '\(k)' (use easy, medium, hard)")
                }
                tiers[d] = v
            }
            self.init(tiers: tiers)
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            if let all { try c.encode(all) } else {
                try c.encode(Dictionary(uniqueKeysWithValues: tiers.map { ($0.key.rawValue, $0.value) }))
            }
        }
    }

    /// How the model's reasoning is read: `markers` (`<think>`...`</think>`), `plain` (the text before
    /// the final answer) or `auto` (default: from the chat template and the vocabulary).
    public struct ReasoningSettings: Codable, Sendable, Equatable {
        public var mode: String?
        public init(mode: String? = nil) { self.mode = mode }
    }

    public struct Markers: Codable, Sendable, Equatable {
        public var open: String?
        public var close: String?
        public var transition: String?
    }

    public var model: String
    public var id: String?
    public var prompt: String?
    public var messages: [Message]?
    /// "easy"/"medium"/"hard" or a level 1-5 (string or number).
    public var difficulty: DifficultyTag?
    public var level: Int?
    public var reference: String?
    public var chat: Bool?
    public var instruction: String?
    /// Stop sequences: the answer ends before the first one the model writes.
    public var stop: [String]?
    /// Record each answer token's log-probability and this many alternatives (0 = the token's own only).
    public var top_logprobs: Int?
    public var max_tokens: Int?
    public var sampling: Sampling?
    public var budget: BudgetSettings?
    public var override: BudgetPair?
    public var markers: Markers?
    public var reasoning: ReasoningSettings?

    public init(model: String, prompt: String) {
        self.model = model
        self.prompt = prompt
    }

    /// The default instruction appended to the user's prompt (marker mode).
    public static let defaultInstruction = ReasoningEffort.high.instruction(mode: .markers)!
    /// The default instruction in plain mode: reason in the open, answer in the form the verifier reads.
    public static let plainInstruction = ReasoningEffort.high.instruction(mode: .plain)!
    /// Appended to the instruction when `budget.hint` is set and the item has a thinking budget.
    public static func budgetHint(thinkingTokens n: Int) -> String {
        "Use less than \(n) tokens for your reasoning."
    }

    /// The reasoning mode this job runs in: the payload's `reasoning.mode`, else (`auto`) markers when
    /// the payload names markers, else what was detected for the model.
    public func reasoningMode(detected: ReasoningMode) throws -> ReasoningMode {
        switch reasoning?.mode ?? "auto" {
        case "markers": return .markers
        case "plain": return .plain
        case "none": return .none
        case "auto": return markers != nil ? .markers : detected
        case let other:
            throw GenerateError.badPayload("unknown reasoning.mode '\(other)' (use markers, plain, none or auto)")
        }
    }

    /// A difficulty tag as written in JSON: a string or an integer level.
    public struct DifficultyTag: Codable, Sendable, Equatable {
        public var raw: String
        public init(_ raw: String) { self.raw = raw }
        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let i = try? c.decode(Int.self) { raw = String(i) } else { raw = try c.decode(String.self) }
        }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            try c.encode(raw)
        }
    }

    /// The item's difficulty and where it came from: its tag, else an estimate from the prompt text.
    public func resolvedDifficulty(estimator: DifficultyEstimator = DifficultyEstimator()) -> (Difficulty, source: String) {
        if let t = difficulty, let d = Difficulty(tag: t.raw) { return (d, "tag") }
        if let l = level, let d = Difficulty(level: l) { return (d, "tag") }
        let text = prompt ?? messages?.last(where: { $0.role == "user" })?.content ?? ""
        return (estimator.estimate(text), "estimate")
    }

    /// Sampling parameters for the engine (greedy unless a temperature is given).
    public func samplingParams(defaultSeed: UInt64) -> SamplingParams {
        let s = sampling ?? Sampling()
        var p = SamplingParams.greedy
        if let t = s.temperature, t > 0 {
            p = SamplingParams()
            p.temperature = Float(t)
        }
        if let k = s.top_k { p.topK = k }
        if let v = s.top_p { p.topP = Float(v) }
        if let v = s.min_p { p.minP = Float(v) }
        if let v = s.repeat_penalty { p.repeatPenalty = Float(v) }
        if let v = s.repeat_last_n { p.repeatLastN = v }
        p.seed = s.seed ?? defaultSeed
        return p
    }

    /// The budget policy named by `budget.policy` (default `per_difficulty`), without history.
    public func staticPolicy() throws -> BudgetPolicy {
        let b = budget ?? BudgetSettings()
        switch b.policy ?? "per_difficulty" {
        case "fixed":
            return .fixed(Budget(thinking: b.thinking ?? 512, answer: b.answer ?? 256))
        case "per_difficulty", "adaptive":
            return .perDifficulty(table())
        case "unlimited":
            return .unlimited(answer: b.answer)
        case let other:
            throw GenerateError.badPayload("unknown budget policy '\(other)' (use fixed, per_difficulty, adaptive or unlimited)")
        }
    }

    /// The per-difficulty table with defaults filled in.
    public func table() -> [Difficulty: Budget] {
        var t = BudgetPolicy.defaultTable
        for (k, v) in budget?.table ?? [:] {
            guard let d = Difficulty(tag: k) else { continue }
            let base = t[d]!
            t[d] = Budget(thinking: v.thinking ?? base.thinking, answer: v.answer ?? base.answer)
        }
        return t
    }

    /// The per-item override, if any.
    public var overrideBudget: Budget? {
        guard let o = override, o.thinking != nil || o.answer != nil else { return nil }
        return Budget(thinking: o.thinking, answer: o.answer)
    }
}

/// Errors of generate jobs, with messages for the job's `last_error` column.
public enum GenerateError: Error, CustomStringConvertible, Sendable {
    case badPayload(String)
    case model(String)
    case promptTooLong(promptTokens: Int, contextLength: Int)

    public var description: String {
        switch self {
        case .badPayload(let m): return "bad generate payload: \(m)"
        case .model(let m): return "model: \(m)"
        case .promptTooLong(let n, let c):
            return "the prompt has \(n) tokens but the context holds \(c) (with room for the answer); shorten the prompt or use a model with a longer context"
        }
    }
}
