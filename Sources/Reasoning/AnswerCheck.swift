import Foundation

/// Pulls the final answer out of a model's output and compares it with a reference, the way
/// math-verify does for the common cases: `\boxed{}` first, numbers compared by value
/// (integers, decimals, fractions, simple LaTeX), other answers as normalised text.
public enum AnswerCheck {
    /// The content of the last `\boxed{...}` (or `\fbox{...}`), braces balanced; else the last
    /// "answer is X" phrase; else the last non-empty line. Nil for an empty text.
    public static func extract(from text: String) -> String? {
        if let boxed = lastBoxed(in: text) { return boxed }
        let lower = text.lowercased()
        for phrase in ["final answer is", "answer is", "answer:"] {
            if let r = lower.range(of: phrase, options: .backwards) {
                let offset = lower.distance(from: lower.startIndex, to: r.upperBound)
                let tail = String(text[text.index(text.startIndex, offsetBy: offset)...])
                let line = tail.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? ""
                let cleaned = line.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: ".:"))
                if !cleaned.isEmpty { return cleaned }
            }
        }
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        return lines.last(where: { !$0.isEmpty })
    }

    /// Whether `candidate` (an extracted answer) matches `reference`.
    public static func matches(_ candidate: String, reference: String) -> Bool {
        let a = normalize(candidate), b = normalize(reference)
        if a == b { return true }
        if let x = Number(parsing: a), let y = Number(parsing: b) { return x == y }
        return false
    }

    /// Extracts the answer from `output` and compares it with `reference`.
    public static func verify(output: String, reference: String) -> (extracted: String?, correct: Bool) {
        guard let e = extract(from: output) else { return (nil, false) }
        return (e, matches(e, reference: reference))
    }

    /// Strips LaTeX wrappers and spacing: `$`, `\text{}`, `\left`/`\right`, `\!`, `\,`, thousands
    /// separators in numbers, a trailing period, surrounding parentheses of a lone value, `x =` prefixes.
    public static func normalize(_ s: String) -> String {
        var t = s.trimmingCharacters(in: .whitespacesAndNewlines)
        if let inner = lastBoxed(in: t) { t = inner }
        for (from, to) in [("\\left", ""), ("\\right", ""), ("\\!", ""), ("\\,", ""), ("\\;", ""), ("\\ ", ""),
                           ("$", ""), ("\\%", ""), ("%", ""), ("\\dfrac", "\\frac"), ("\\tfrac", "\\frac"),
                           ("^\\circ", ""), ("^{\\circ}", ""), ("\\cdot", "*"), ("\\times", "*")] {
            t = t.replacingOccurrences(of: from, with: to)
        }
        t = unwrapCommand("\\text", in: t)
        t = unwrapCommand("\\mathrm", in: t)
        t = unwrapCommand("\\textbf", in: t)
        t = t.trimmingCharacters(in: .whitespaces)
        // "x = 5" -> "5" (a single variable name on the left)
        if let eq = t.firstIndex(of: "="), t[..<eq].trimmingCharacters(in: .whitespaces).count <= 2 {
            t = String(t[t.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
        }
        while t.hasSuffix(".") { t.removeLast() }
        // "{10}" -> "10": redundant outer braces
        while t.hasPrefix("{"), t.hasSuffix("}"), balanced(t, from: t.index(after: t.startIndex))?.count == t.count - 2 {
            t = String(t.dropFirst().dropLast())
        }
        // 1,234,567 -> 1234567 (only when the commas group digits by three)
        if t.range(of: #"^-?\d{1,3}(,\d{3})+(\.\d+)?$"#, options: .regularExpression) != nil {
            t = t.replacingOccurrences(of: ",", with: "")
        }
        t = t.replacingOccurrences(of: " ", with: "")
        return t.lowercased()
    }

    /// The content of the last `\boxed{...}` / `\fbox{...}` with balanced braces.
    static func lastBoxed(in text: String) -> String? {
        var best: (position: String.Index, content: String)?
        for marker in ["\\boxed{", "\\fbox{"] {
            var searchEnd = text.endIndex
            while let r = text.range(of: marker, options: .backwards, range: text.startIndex..<searchEnd) {
                if let content = balanced(text, from: r.upperBound) {
                    if best == nil || r.lowerBound > best!.position { best = (r.lowerBound, content) }
                    break
                }
                searchEnd = r.lowerBound
            }
        }
        return best.map { $0.content.trimmingCharacters(in: .whitespaces) }
    }

    private static func balanced(_ text: String, from start: String.Index) -> String? {
        var depth = 1
        var i = start
        while i < text.endIndex {
            switch text[i] {
            case "{": depth += 1
            case "}":
                depth -= 1
                if depth == 0 { return String(text[start..<i]) }
            default: break
            }
            i = text.index(after: i)
        }
        return nil
    }

    private static func unwrapCommand(_ cmd: String, in s: String) -> String {
        var t = s
        while let r = t.range(of: cmd + "{"), let inner = balanced(t, from: r.upperBound) {
            let end = t.index(r.upperBound, offsetBy: inner.count + 1)
            t.replaceSubrange(r.lowerBound..<end, with: inner)
        }
        return t
    }
}

/// An exact rational number parsed from an answer: integers, decimals, `a/b`, `\frac{a}{b}`, mixed signs.
public struct Number: Equatable, Sendable {
    public let numerator: Decimal
    public let denominator: Decimal

    public init?(parsing raw: String) {
        var s = raw.trimmingCharacters(in: .whitespaces)
        var negative = false
        if s.hasPrefix("-") { negative = true; s.removeFirst() } else if s.hasPrefix("+") { s.removeFirst() }
        if s.hasPrefix("(") && s.hasSuffix(")") { s = String(s.dropFirst().dropLast()) }
        if s.hasPrefix("-") { negative.toggle(); s.removeFirst() }
        var num: Decimal, den: Decimal = 1
        if s.hasPrefix("\\frac{") {
            guard let (a, rest) = Number.group(s.dropFirst(6)), rest.hasPrefix("{"),
                  let (b, tail) = Number.group(rest.dropFirst()), tail.isEmpty,
                  let x = Number(parsing: a), let y = Number(parsing: b), y.numerator != 0 else { return nil }
            num = x.numerator * y.denominator
            den = x.denominator * y.numerator
        } else if let slash = s.firstIndex(of: "/") {
            guard let a = Number.decimal(String(s[..<slash])), let b = Number.decimal(String(s[s.index(after: slash)...])),
                  b != 0 else { return nil }
            num = a
            den = b
        } else {
            guard let d = Number.decimal(s) else { return nil }
            num = d
        }
        if den < 0 { num = -num; den = -den }
        self.numerator = negative ? -num : num
        self.denominator = den
    }

    public static func == (a: Number, b: Number) -> Bool {
        a.numerator * b.denominator == b.numerator * a.denominator
    }

    private static func decimal(_ s: String) -> Decimal? {
        let t = s.trimmingCharacters(in: .whitespaces)
        guard !t.isEmpty, t.range(of: #"^-?(\d+\.?\d*|\.\d+)$"#, options: .regularExpression) != nil else { return nil }
        return Decimal(string: t)
    }

    /// Splits "abc}rest" at the brace closing the group that starts before it.
    private static func group(_ s: Substring) -> (String, Substring)? {
        var depth = 1
        var i = s.startIndex
        while i < s.endIndex {
            if s[i] == "{" { depth += 1 }
            if s[i] == "}" {
                depth -= 1
                if depth == 0 { return (String(s[s.startIndex..<i]), s[s.index(after: i)...]) }
            }
            i = s.index(after: i)
        }
        return nil
    }
}
