import Foundation

/// Why a distillation sample was not kept.
public enum RejectReason: String, Sendable, Codable, CaseIterable {
    case wrongAnswer = "wrong_answer"
    case noAnswer = "no_answer"
    /// The model ended inside its thinking and never wrote an answer after the closing marker.
    case unclosedThinking = "unclosed_thinking"
    case mixedLanguages = "mixed_languages"
    case overlongParagraph = "overlong_paragraph"
    case strayCodeBlock = "stray_code_block"
    case repetitionLoop = "repetition_loop"
    case budgetHit = "budget_hit"
    case truncated = "truncated"
}

/// The R1 recipe's quality filters for reasoning samples, as pure checks on text.
public struct SampleFilters: Sendable, Codable, Equatable {
    /// Reject when more than this share of letters is in a second script (Latin vs CJK vs Cyrillic ...).
    public var maxForeignScriptShare: Double? = 0.2
    /// Reject when a paragraph (text between blank lines) is longer than this many characters.
    public var maxParagraphChars: Int? = 3000
    /// Reject fenced code blocks (```) when the prompt did not ask for code.
    public var rejectCodeBlocks: Bool = true
    /// Reject when an n-gram of this many words repeats `repetitionCount` times in a row or more.
    public var repetitionNgram: Int = 8
    public var repetitionCount: Int = 4
    /// Reject samples whose thinking was cut by the budget.
    public var rejectBudgetHit: Bool = true
    /// Reject samples that ran out of tokens before answering.
    public var rejectTruncated: Bool = true

    public init() {}

    enum CodingKeys: String, CodingKey {
        case maxForeignScriptShare = "max_foreign_script_share", maxParagraphChars = "max_paragraph_chars"
        case rejectCodeBlocks = "reject_code_blocks", repetitionNgram = "repetition_ngram"
        case repetitionCount = "repetition_count", rejectBudgetHit = "reject_budget_hit", rejectTruncated = "reject_truncated"
    }

    /// Missing keys keep their defaults; an explicit `null` turns an optional check off.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func opt<T: Decodable>(_ k: CodingKeys, _ d: T?) throws -> T? {
            c.contains(k) ? try c.decodeIfPresent(T.self, forKey: k) : d
        }
        maxForeignScriptShare = try opt(.maxForeignScriptShare, maxForeignScriptShare)
        maxParagraphChars = try opt(.maxParagraphChars, maxParagraphChars)
        rejectCodeBlocks = try c.decodeIfPresent(Bool.self, forKey: .rejectCodeBlocks) ?? rejectCodeBlocks
        repetitionNgram = try c.decodeIfPresent(Int.self, forKey: .repetitionNgram) ?? repetitionNgram
        repetitionCount = try c.decodeIfPresent(Int.self, forKey: .repetitionCount) ?? repetitionCount
        rejectBudgetHit = try c.decodeIfPresent(Bool.self, forKey: .rejectBudgetHit) ?? rejectBudgetHit
        rejectTruncated = try c.decodeIfPresent(Bool.self, forKey: .rejectTruncated) ?? rejectTruncated
    }

    /// The first reason to reject `thinking` + `answer`, or nil to keep (verdict checked separately).
    public func reject(prompt: String, thinking: String, answer: String, budgetHit: Bool, truncated: Bool) -> RejectReason? {
        if rejectTruncated && truncated { return .truncated }
        if rejectBudgetHit && budgetHit { return .budgetHit }
        let text = thinking + "\n\n" + answer
        if let share = maxForeignScriptShare, SampleFilters.foreignScriptShare(text) > share { return .mixedLanguages }
        if let limit = maxParagraphChars, SampleFilters.longestParagraph(text) > limit { return .overlongParagraph }
        if rejectCodeBlocks && text.contains("```") && !SampleFilters.asksForCode(prompt) { return .strayCodeBlock }
        if SampleFilters.hasRepetitionLoop(text, n: repetitionNgram, times: repetitionCount) { return .repetitionLoop }
        return nil
    }

    enum Script { case latin, cjk, cyrillic, arabic, other }

    static func script(of s: Unicode.Scalar) -> Script? {
        guard s.properties.isAlphabetic else { return nil }
        switch s.value {
        case 0x41...0x24F: return .latin
        case 0x400...0x4FF: return .cyrillic
        case 0x600...0x6FF: return .arabic
        case 0x3040...0x30FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xAC00...0xD7AF, 0xF900...0xFAFF: return .cjk
        default: return .other
        }
    }

    /// Share of letters outside the text's dominant script.
    public static func foreignScriptShare(_ text: String) -> Double {
        var counts: [Script: Int] = [:]
        var total = 0
        for s in text.unicodeScalars {
            guard let sc = script(of: s) else { continue }
            counts[sc, default: 0] += 1
            total += 1
        }
        guard total > 0, let dominant = counts.values.max() else { return 0 }
        return Double(total - dominant) / Double(total)
    }

    public static func longestParagraph(_ text: String) -> Int {
        text.components(separatedBy: "\n\n").map(\.count).max() ?? 0
    }

    static func asksForCode(_ prompt: String) -> Bool {
        let p = prompt.lowercased()
        return ["code", "program", "function", "python", "script", "implement", "```"].contains { p.contains($0) }
    }

    /// True when some `n`-word sequence is immediately repeated `times` times or more.
    public static func hasRepetitionLoop(_ text: String, n: Int, times: Int) -> Bool {
        let words = text.split(whereSeparator: \.isWhitespace)
        guard n > 0, times > 1, words.count >= n * times else { return false }
        for period in 1...n {
            var run = 0
            for i in period..<words.count {
                if words[i] == words[i - period] {
                    run += 1
                    if run >= period * (times - 1) && run >= n { return true }
                } else {
                    run = 0
                }
            }
        }
        return false
    }
}
