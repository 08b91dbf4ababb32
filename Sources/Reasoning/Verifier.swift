import Foundation
import Verification

/// How a sample's answer is checked against the reference.
public enum Verifier: Sendable, Equatable, Codable {
    /// Math-Verify's rules (`MathVerifier`): final answer extracted, parsed and compared by value,
    /// symbolically, or elementwise for sets, tuples, intervals and matrices.
    case math
    /// The extracted answer equals the reference (or the reference's extracted answer) after trimming.
    case exact
    /// The answer text matches this regular expression (the reference is not used).
    case regex(String)

    /// `math`, `exact` or `regex:PATTERN`; nil for anything else or an invalid pattern.
    public init?(spec: String) {
        switch spec {
        case "math": self = .math
        case "exact": self = .exact
        default:
            guard spec.hasPrefix("regex:") else { return nil }
            let p = String(spec.dropFirst(6))
            guard !p.isEmpty, (try? NSRegularExpression(pattern: p)) != nil else { return nil }
            self = .regex(p)
        }
    }

    /// The extracted answer and the verdict (nil without a reference, except for regex).
    public func verify(answer: String, reference: String?) -> (extracted: String?, correct: Bool?) {
        let v = judge(answer: answer, reference: reference)
        return (v.extracted, v.correct)
    }

    /// The verdict with what was read from both sides.
    public func judge(answer: String, reference: String?) -> VerifierVerdict {
        switch self {
        case .math:
            guard let reference else {
                return VerifierVerdict(extracted: MathVerifier.extract(answer).displayText, extractedReference: nil, correct: nil, detail: nil)
            }
            let v = MathVerifier.verify(reference: reference, answer: answer)
            return VerifierVerdict(extracted: v.answer.displayText, extractedReference: v.reference.displayText,
                                   correct: v.correct, detail: v, note: v.note)
        case .exact:
            let e = Verifier.plainAnswer(answer)
            guard let reference else { return VerifierVerdict(extracted: e, extractedReference: nil, correct: nil, detail: nil) }
            let r = reference.trimmingCharacters(in: .whitespacesAndNewlines)
            let rb = Verifier.plainAnswer(reference)
            let ok = e.map { $0 == r || $0 == rb } ?? false
            return VerifierVerdict(extracted: e, extractedReference: rb ?? r, correct: ok, detail: nil)
        case .regex(let pattern):
            let r = answer.range(of: pattern, options: .regularExpression)
            return VerifierVerdict(extracted: r.map { String(answer[$0]) }, extractedReference: nil, correct: r != nil, detail: nil)
        }
    }

    /// The last boxed answer, else the text after the last "answer is"/"answer:", else the last
    /// non-empty line, trimmed; nil for an empty text.
    static func plainAnswer(_ text: String) -> String? {
        if let b = MathVerifier.lastBoxed(in: text) { return b.trimmingCharacters(in: .whitespacesAndNewlines) }
        let lower = text.lowercased()
        for phrase in ["final answer is", "answer is", "answer:"] {
            if let r = lower.range(of: phrase, options: .backwards) {
                let offset = lower.utf8.distance(from: lower.startIndex, to: r.upperBound)
                let tail = String(text.utf8.dropFirst(offset)) ?? ""
                let line = tail.split(separator: "\n").first.map(String.init) ?? ""
                let cleaned = line.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: ".:"))
                if !cleaned.isEmpty { return cleaned }
            }
        }
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.last { !$0.isEmpty }
    }
}

/// A verifier's verdict on one answer, with what it read from the answer and the reference.
public struct VerifierVerdict: Sendable {
    public var extracted: String?
    public var extractedReference: String?
    public var correct: Bool?
    /// The math verifier's full verdict (parsed forms), when `.math` ran.
    public var detail: MathVerdict?
    /// Why the verdict is false without a comparison, when known.
    public var note: String?

    public init(extracted: String?, extractedReference: String?, correct: Bool?, detail: MathVerdict?, note: String? = nil) {
        self.extracted = extracted
        self.extractedReference = extractedReference
        self.correct = correct
        self.detail = detail
        self.note = note
    }
}
