import Foundation

/// Rewrites an extracted LaTeX answer into the form the parser reads, by Math-Verify's rules:
/// boxed contents taken out, `\left`/`\right`, `\displaystyle`, `$`, quotes and `\!` dropped,
/// `\dfrac`/`\tfrac` read as `\frac`, `\mathrm`/`\textbf`… read as `\text`, "and"/"or" read as
/// commas, a trailing unit word or `\text{unit}` removed, and malformed `\frac12`, `\sqrt2`,
/// `sqrt(x)` and `^(x)` repaired.
///
/// The rules and the unit-word list follow latex2sympy2_extended's `normalize_latex` (MIT License),
/// which Math-Verify applies, so that both read an answer alike.
enum LatexNormalizer {
    static func regex(_ p: String) -> NSRegularExpression {
        // The patterns below are fixed literals: a failure is a programming error caught by the tests.
        try! NSRegularExpression(pattern: p, options: [])
    }

    static func sub(_ re: NSRegularExpression, _ s: String, _ template: String) -> String {
        re.stringByReplacingMatches(in: s, range: NSRange(s.startIndex..., in: s), withTemplate: template)
    }

    static let leftRe = regex(#"\\m?left(\\\{|\{|\\\||\||\[|\(|\\lbrace|\\lbrack|\\vert|\\lvert|\\lceil|\\lfloor|\\langle|\.)"#)
    static let rightRe = regex(#"\\m?right(\\\}|\}|\\\||\||\]|\)|\\rbrace|\\rbrack|\\vert|\\rvert|\\rceil|\\rfloor|\\rangle|\.)"#)
    static let removeRe = regex(#"\\mathrm\{th\}|\\!\s*|\\text\s*\{\s*\}|\\\$|\$|(?<!\\)["']|\\displaystyle"#)
    static let replacements: [(NSRegularExpression, String)] = [
        (regex(#"\\math(?:rm|it|bf|sf|tt)"#), #"\\text"#),
        (regex(#"\\(?:text(?:normal|bf|it|rm|sf|tt)|mbox|operatorname)"#), #"\\text"#),
        (regex(#"\\(?:d|t|c)frac"#), #"\\frac"#),
        (regex(#"\s\."#), " 0."),
        (regex(#"\{\."#), "{0."),
        (regex(#"\s*\{\s*,\s*\}"#), ","),
        (regex(#"(,?\s*\\text\{\s*(?:and|or)\s*\})"#), ","),
        (regex(#"(?<![a-zA-Z])(,?\s*(?:and|or))(?![a-zA-Z])"#), ","),
        (regex(#"(?<!\\)\\\s"#), " "),
        (regex(#"infinity"#), #"\\infty"#),
        (regex(#",?\\ldots"#), " "),
        (regex(#"\\text\{percent(?:age)?\}"#), "%"),
        (regex(#"\s*\b(?:percentage|percent|pct)\b"#), #"\\%"#),
        (regex(#"(?<!\\)inf(?!inity|ty)"#), #"\\infty"#),
        (regex(#" sqrt"#), #"\\sqrt"#),
    ]
    static let unitSuperscriptRe = regex(#"(\\(?:text|mbox)\{[^{}]*\})(\^\d|\^\{\d\})?$"#)
    static let unitWords = ["integer", "point", "feet", "foot", "digit", "pound", "meal", "edge", "student", "multiple",
                            "east", "degree", "mph", "kmph", "ft", "sq m", "deg", "mile", "monkey", "prime", "ratio",
                            "rd", "gm", "lb", "tile", "per", "dm", "lt", "gain", "way", "west", "t", "h", "men",
                            "soldier", "pie", "excess", "st", "inches", "inch", "noon", "cent", "by", "gal", "kmh", "c", "acre",
                            "rise", "th", "sq", "mark", "l", "toy", "coin", "gallon", "profit", "yr", "women", "am",
                            "pm", "hr", "square", "are", "rupee", "rounds", "cubic", "cc", "mtr", "s", "ohm", "number",
                            "day", "hour", "minute", "min", "second", "man", "woman", "sec", "cube", "mt", "hectare",
                            "more", "unit", "rs", "kg", "g", "month", "km", "m", "cm", "mm", "apple", "liter", "loss",
                            "yard", "pure", "year", "increase", "decrease", "d", "less", "litre", "metre", "meter"]
    static let unitsRe = regex(#"(\d|\}|\s)\s*(?:"# + unitWords.map(NSRegularExpression.escapedPattern(for:)).joined(separator: "|") + #")(?:s|es)?\s*$"#)
    static let malformed: [(NSRegularExpression, String)] = [
        (regex(#"\^\s?\((.*?)\)"#), "^{$1}"),
        (regex(#"(?<!\\)sqrt\s?\((.*?)\)"#), #"\\sqrt{$1}"#),
        (regex(#"\\frac\s?(\d)\s?(\d+)"#), #"\\frac{$1}{$2}"#),
        (regex(#"\\log_\s?(\d)\s?(\d+)"#), #"\\log_{$1}{$2}"#),
        (regex(#"\\frac\s?\{([^{}]*)\}\s?(\d)"#), #"\\frac{$1}{$2}"#),
        (regex(#"\\frac\s?(\d)\s?\{([^{}]*)\}"#), #"\\frac{$1}{$2}"#),
        (regex(#"\\sqrt\s?(\d)"#), #"\\sqrt{$1}"#),
    ]
    static let slashFractionRe = regex(#"^\s*(-?\d+)\s*/\s*(\d+)\s*$"#)

    /// The normalized form of one extracted answer. `boxed`: how `\boxed{}` contents are taken
    /// (`.all` joins every boxed answer with commas, `.last` keeps the last group of adjacent ones).
    static func normalize(_ input: String, boxed: BoxedMode = .all) -> String {
        var t = Boxed.content(of: input, mode: boxed) ?? input
        t = t.replacingOccurrences(of: #"\mathrm{T}"#, with: "T")
        t = sub(leftRe, t, "$1")
        t = sub(rightRe, t, "$1")
        t = sub(removeRe, t, "")
        for (re, rep) in replacements { t = sub(re, t, rep) }
        t = t.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\t", with: " ")
        if !t.contains("matrix") { t = t.replacingOccurrences(of: #"\\"#, with: #"\"#) }
        // Units: a trailing \text{...} (optionally squared), then up to two trailing unit words.
        let u = sub(unitSuperscriptRe, t, "").trimmingCharacters(in: .whitespaces)
        if !u.isEmpty && u != t { t = u }
        for _ in 0..<2 {
            let v = sub(unitsRe, t, "$1")
            if !v.isEmpty && v != t { t = v }
        }
        t = t.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix(".") { t = "0" + t }
        for (re, rep) in malformed { t = sub(re, t, rep) }
        t = fixFracs(t)
        t = sub(slashFractionRe, t, #"\\frac{$1}{$2}"#)
        return t.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `\frac12` → `\frac{1}{2}`, `\frac1{2}` → `\frac{1}{2}` (single-character arguments).
    static func fixFracs(_ s: String) -> String {
        let parts = s.components(separatedBy: #"\frac"#)
        guard parts.count > 1 else { return s }
        var out = parts[0]
        for p in parts.dropFirst() {
            let q = p.drop(while: { $0 == " " })
            out += #"\frac"#
            if q.first == "{" || q.isEmpty { out += q; continue }
            guard q.count >= 2 else { return s }
            let a = q[q.startIndex], b = q[q.index(after: q.startIndex)]
            let rest = q.dropFirst(2)
            if a == "\\" { out += q; continue }
            out += b == "{" ? "{\(a)}{" + rest : "{\(a)}{\(b)}" + rest
        }
        return out
    }
}

/// How the contents of several `\boxed{}` are combined.
enum BoxedMode { case all, last }

/// `\boxed{...}` scanning with balanced braces.
enum Boxed {
    /// At most this many boxed answers are read from one text.
    static let maxBoxes = 256
    static let separatorRe = LatexNormalizer.regex(#"\b(and|or)\b|,|;"#)

    /// Index just past the brace that closes the group opened at `open` (a "{"), or nil.
    static func closing(_ u: [UInt8], from open: Int, limit: Int) -> Int? {
        var depth = 0
        var i = open
        while i < limit {
            if u[i] == UInt8(ascii: "{") { depth += 1 }
            if u[i] == UInt8(ascii: "}") { depth -= 1; if depth == 0 { return i + 1 } }
            i += 1
        }
        return nil
    }

    /// The boxed answers of `text`, joined by commas (nil when there is no `\boxed`/`\fbox`).
    /// `.last` keeps the last boxed answer and the ones right before it that are separated
    /// by less than 10 characters, or by "and"/"or"/","/";" within 70 characters.
    static func content(of text: String, mode: BoxedMode) -> String? {
        let u = Array(text.utf8)
        let boxed = Array(#"\boxed"#.utf8), fbox = Array(#"\fbox"#.utf8)
        var results = [String]()
        var limit = u.count
        var pos = u.count
        var lastStart: Int?
        func rfind(_ pat: [UInt8], before end: Int) -> Int? {
            var i = end - pat.count
            outer: while i >= 0 {
                for k in 0..<pat.count where u[i + k] != pat[k] { i -= 1; continue outer }
                return i
            }
            return nil
        }
        var walked = 0
        while walked < maxBoxes {
            walked += 1
            let b = rfind(boxed, before: pos), f = rfind(fbox, before: pos)
            guard b != nil || f != nil else { break }
            let start = max(b ?? -1, f ?? -1)
            var j = start + ((b ?? -1) > (f ?? -1) ? boxed.count : fbox.count)
            while j < limit, u[j] == UInt8(ascii: " ") || u[j] == UInt8(ascii: "\n") { j += 1 }
            guard j < limit else { break }
            if u[j] == UInt8(ascii: "{") {
                guard let end = closing(u, from: j, limit: limit) else {
                    if results.isEmpty { results.append(String(decoding: u[j..<limit], as: UTF8.self)) }
                    break
                }
                let content = String(decoding: u[(j + 1)..<(end - 1)], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                if mode == .last, let ls = lastStart {
                    let gap = ls - end
                    if gap >= 10 {
                        let between = String(decoding: u[end..<ls], as: UTF8.self)
                        let sep = gap < 70 && separatorRe.firstMatch(in: between, range: NSRange(between.startIndex..., in: between)) != nil
                        if !(content != results.last && sep) { break }
                    }
                }
                if results.last != content { results.append(content) }
                lastStart = start
                limit = start
            } else {
                if results.isEmpty { results.append(String(decoding: u[j..<limit], as: UTF8.self)) }
                break
            }
            pos = start
        }
        guard !results.isEmpty else { return nil }
        return results.reversed().joined(separator: ",")
    }
}
