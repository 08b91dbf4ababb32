import Foundation

/// Caps that bound the work spent on one (reference, answer) pair, whatever the input.
public struct VerifierLimits: Sendable {
    /// Texts longer than this (in UTF-8 bytes) are read from their last `tailBytes` only:
    /// the final answer sits at the end of a solution.
    public var maxInputBytes = 64 * 1024
    public var tailBytes = 16 * 1024
    /// One extracted answer longer than this is not parsed (it is still compared as text).
    public var maxParseChars = 4_000
    public var maxParseTokens = 1_500
    /// Nesting depth of the parser (brackets, fractions, powers).
    public var maxDepth = 80
    /// Candidate answers tried per priority level before giving up.
    public var maxCandidates = 12
    public var maxSetSize = 64
    /// Evaluation steps (tree nodes visited) allowed for comparing one pair.
    public var evaluationBudget = 50_000
    /// Points at which expressions with variables are compared.
    public var evaluationPoints = 6

    public init() {}
    public static let standard = VerifierLimits()
}

/// The answer read from one text: the parsed one (if any) and the text of the first candidate.
public struct Extraction: Sendable {
    public var answer: ExtractedAnswer?
    /// The first candidate's text even when it did not parse (compared as text as a last resort).
    public var fallbackText: String?
    /// True when the input was longer than `maxInputBytes` and only its tail was read.
    public var truncated: Bool

    /// What was extracted, for display and for the `extracted_answer` columns.
    public var displayText: String? { answer?.text ?? fallbackText }
}

/// The verdict on one pair, with what was read from each side.
public struct MathVerdict: Sendable {
    public var correct: Bool
    public var reference: Extraction
    public var answer: Extraction
    /// Why the verdict is false without a comparison ("no answer found", ...), else nil.
    public var note: String?
}

/// Answer verification as Math-Verify decides it, in pure Swift: finds the final answer in a
/// text (see `AnswerExtraction`), parses it (`MathParser`) and compares it with the reference
/// (`Equivalence`). Bounded work per pair (`VerifierLimits`); never throws or traps on input.
public enum MathVerifier {
    /// The answer in `text`, found as Math-Verify finds it in a model output. With `bare: true`
    /// (how references are read) a text with no delimiter (`$`, `\boxed`, `\[`, `\(`) and no words
    /// is read whole as LaTeX first, so bare references like `\sqrt{2}` or `(1, 2]` work.
    public static func extract(_ text: String, bare: Bool = false, limits: VerifierLimits = .standard) -> Extraction {
        var t = text
        var truncated = false
        if t.utf8.count > limits.maxInputBytes {
            let u = Array(t.utf8)
            var start = u.count - limits.tailBytes
            while start < u.count, u[start] & 0xC0 == 0x80 { start += 1 }
            t = String(decoding: u[start...], as: UTF8.self)
            truncated = true
        }
        if bare, let bare = bareAnswer(t, limits: limits) { return Extraction(answer: bare, fallbackText: bare.text, truncated: truncated) }
        let (answer, fallback) = AnswerExtraction.extract(t, limits: limits)
        if bare, answer == nil, fallback == nil, let word = textAnswer(t) {
            return Extraction(answer: word, fallbackText: word.text, truncated: truncated)
        }
        return Extraction(answer: answer, fallbackText: fallback, truncated: truncated)
    }

    static let wordRe = try! NSRegularExpression(pattern: #"(?<![\\a-zA-Z])[a-zA-Z]{4,}"#)
    static let plainNumberRe = try! NSRegularExpression(pattern: #"^\s*-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?\s*(\\?%)?\s*$"#)

    static func bareAnswer(_ text: String, limits: VerifierLimits) -> ExtractedAnswer? {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !t.isEmpty, t.utf8.count <= limits.maxParseChars else { return nil }
        for d in ["$", #"\boxed"#, #"\fbox"#, #"\["#, #"\("#] where t.contains(d) { return nil }
        let range = NSRange(t.startIndex..., in: t)
        if plainNumberRe.firstMatch(in: t, range: range) != nil { return nil }
        let withoutText = t.replacingOccurrences(of: #"\\(text|mbox|mathrm|textbf|operatorname)\{[^{}]*\}"#, with: "", options: .regularExpression)
        if wordRe.firstMatch(in: withoutText, range: NSRange(withoutText.startIndex..., in: withoutText)) != nil { return nil }
        let normalized = LatexNormalizer.normalize(t)
        guard let e = MathParser.parse(normalized, limits: limits) else { return nil }
        return ExtractedAnswer(text: normalized, expr: e)
    }

    /// A short one-line reference with no math in it (`Paris`, `no solution`) read as text.
    static func textAnswer(_ text: String) -> ExtractedAnswer? {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !t.isEmpty, t.count <= 100, !t.contains("\n") else { return nil }
        let cleaned = t.lowercased().filter { !$0.isWhitespace && $0 != "(" && $0 != ")" && $0 != "." }
        guard !cleaned.isEmpty, cleaned.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "'" }) else { return nil }
        return ExtractedAnswer(text: t, expr: .text(cleaned))
    }

    /// Whether `answer` (a model output or a bare answer) equals `reference` (a bare answer or a
    /// worked solution, read by its last boxed answer).
    public static func verify(reference: String, answer: String, limits: VerifierLimits = .standard) -> MathVerdict {
        let gold = extract(reference, bare: true, limits: limits)
        let pred = extract(answer, limits: limits)
        var verdict = MathVerdict(correct: false, reference: gold, answer: pred, note: nil)
        if gold.displayText == nil { verdict.note = "no answer found in the reference"; return verdict }
        if pred.displayText == nil { verdict.note = "no answer found"; return verdict }
        var judge = Equivalence(limits: limits)
        if let g = gold.answer?.expr, let p = pred.answer?.expr, judge.equal(gold: g, pred: p) {
            verdict.correct = true
        } else if let a = gold.displayText?.trimmingCharacters(in: .whitespaces), let b = pred.displayText?.trimmingCharacters(in: .whitespaces),
                  !a.isEmpty, a == b {
            verdict.correct = true
        }
        if !verdict.correct && judge.budget <= 0 { verdict.note = "evaluation budget spent; judged not equal" }
        return verdict
    }

    /// The content of the last `\boxed{}` (with the boxed answers right before it, comma-joined).
    public static func lastBoxed(in text: String) -> String? {
        Boxed.content(of: text, mode: .last)
    }
}
