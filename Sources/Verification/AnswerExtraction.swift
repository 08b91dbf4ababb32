import Foundation

/// One answer found in a text: the string it was read from (normalized) and its parse, if any.
public struct ExtractedAnswer: Sendable {
    /// The normalized LaTeX or plain text of the answer, as it was parsed.
    public var text: String
    /// The parsed answer; nil when the text did not parse (then only the text is compared).
    public var expr: MathExpr?
}

/// Finds the final answer in a model output or a reference, by Math-Verify's priorities:
/// 1. "final answer is …" and `\boxed{}` (several boxed answers in a row read as one set);
/// 2. "answer: …" / "answer … = …";
/// 3. the last LaTeX environment (`$…$`, `$$…$$`, `\[…\]`, `\(…\)`, a bare `\frac{a}{b}`) or the
///    last plain number or arithmetic expression.
/// Within a priority the match ending last wins; a match that does not parse gives way to the
/// next one, and the first match's text is kept as a fallback for a textual comparison.
///
/// The patterns follow Math-Verify's (HuggingFace, Apache-2.0; `math_verify/parser.py`) so that the
/// same answer is found; group names drop the underscores ICU does not allow.
enum AnswerExtraction {
    enum Kind { case latex, expr }

    static func rx(_ p: String, dotAll: Bool = false) -> NSRegularExpression {
        // Fixed patterns: a failure is a programming error the table tests catch.
        try! NSRegularExpression(pattern: p, options: dotAll ? [.dotMatchesLineSeparators] : [])
    }

    static let envKinds = ["DisplayDollar", "DisplayBracket", "InlineDollar", "InlineParen", "InlineBracket", "Fraction", "Boxed"]

    /// LaTeX environments with group names `<prefix>latex<Kind>` and `<prefix>percent`.
    static func envPattern(_ prefix: String, boxed: Bool) -> String {
        let percent = #"(?<\#(prefix)percent>(?:\\?%|[Pp]ercent|[Pp]ercentage|[Pp]ct))"#
        var dd = #"(?:[^$]|\$(?!\$))"#, db = #"(?:[^\\]|\\(?!\]))"#, id = #"(?:\\[$]|[^\n$])"#
        var ip = #"(?:[^\\\n]|\\(?!\)))"#, ib = #"[^\n\]\[]"#
        if boxed {
            dd = "\(dd)*?\\\\boxed\\{\(dd)+?\\}\(dd)*?"
            db = "\(db)*?\\\\boxed\\{\(db)+?\\}\(db)*?"
            id = "\(id)*?\\\\boxed\\{\(id)+?\\}\(id)*?"
            ip = "\(ip)*?\\\\boxed\\{\(ip)+?\\}\(ip)*?"
            ib = "\(ib)*?\\\\boxed\\{\(ib)+?\\}\(ib)*?"
        } else {
            dd += "+?"; db += "+?"; id += "+?"; ip += "+?"; ib += "+?"
        }
        var alts = [
            #"(?<!\\)\$\$(?<\#(prefix)latexDisplayDollar>\#(dd))(?<!\\)\$\$"#,
            #"(?<!\\)\\\[(?<\#(prefix)latexDisplayBracket>\#(db))(?<!\\)\\\]"#,
            #"(?<!\\|\d)\$(?<\#(prefix)latexInlineDollar>\#(id))(?<!\\)\$"#,
            #"(?<!\\)\\\((?<\#(prefix)latexInlineParen>\#(ip))(?<!\\)\\\)"#,
            #"\s\[(?<\#(prefix)latexInlineBracket>\#(ib))\]\s"#,
        ]
        if !boxed {
            let n = #"-?\d+(?:[.,]\d+)?"#
            alts.append(#"(?<\#(prefix)latexFraction>-?\\frac\{\#(n)\}\{\#(n)\})"#)
        }
        return "(?:(?:" + alts.joined(separator: "|") + #")\s*"# + percent + "?)"
    }

    static func chain(boxed: Bool) -> String {
        var s = envPattern("first", boxed: boxed)
        for i in 1...5 { s += #"(?:\s*(?:,?and|,?or|,)\s*"# + envPattern("next\(i)", boxed: boxed) + ")?" }
        return "(?:" + s + ")"
    }

    static let exprOrNumber: (expr: String, number: String, both: String) = {
        let number = #"(?<!\d)(?:(?<integer1>-?[1-9]\d{0,2}(?:[ ,]\d{3})+)(?<decimal1>\.\d+)?|(?<integer2>-?\d+)(?<decimal2>[.,]\d+)|(?<decimal3>\.\d+)|(?<integer3>-?\d+))(?<percent>\s*(?:%|[Pp]ercent|\s*[Pp]ercentage|\s*[Pp]ct))?"#
        let ops = #"\+\-\*\×\/\^\(\)\÷"#
        let all = #"[\d\.\s"# + ops + "]"
        let expr = #"(?<expr>-?\(?-?\d"# + all + "*[" + ops + "]" + all + #"+\)?)"#
        let prefix = #"(?:^|\s|\=)(?:\*\*)?"#
        let suffix = #"(?:\*\*)?(?:\.|,|:|\s|\)|\$|$)"#
        let currency = NSRegularExpression.escapedPattern(for: "$€£¥₹₽₪₩₫฿")
        let e = "(?:" + prefix + expr + suffix + ")"
        let n = "(?:" + prefix + "[" + currency + "]?" + number + ")"
        return (e, n, "(?:" + e + "|" + n + ")")
    }()

    /// (pattern, kind, priority), lowest priority first.
    static let patterns: [(NSRegularExpression, Kind, Int)] = {
        let latex = chain(boxed: false)
        var out: [(NSRegularExpression, Kind, Int)] = [
            (rx(#"(?i:final answer is)\:?\s*"# + latex + #"\.?\s?I hope"#, dotAll: true), .latex, 0),
            (rx(#"(?i:final answer.{0,100}?)\s+is\:?\s*"# + latex, dotAll: true), .latex, 50),
            (rx(#"(?i:answer)\:.{0,50}?"# + latex, dotAll: true), .latex, 100),
            (rx(#"(?i:answer).{0,50}?"# + latex, dotAll: true), .latex, 200),
            (rx(latex, dotAll: true), .latex, 300),
            (rx(chain(boxed: true), dotAll: true), .latex, 50),
            (rx(#"(?<firstlatexBoxed>\\boxed\{.+\})"#, dotAll: true), .latex, 50),
        ]
        let eon = exprOrNumber
        out += [
            (rx(#"(?i:final answer is)\:?\s*"# + eon.both + #"\.?\s?I hope"#), .expr, 0),
            (rx(#"(?i:final answer.{0,100}?)\s+is\:?"# + eon.both), .expr, 50),
            (rx(#"(?i:answer)\:(?:.{0,100}=\s*|.{0,50}?)"# + eon.both + #"(?!\s*=)"#), .expr, 100),
            (rx(#"(?i:answer)(?:.{0,100}=\s*|.{0,50}?)"# + eon.both + #"(?!\s*=)"#), .expr, 200),
            (rx(eon.expr), .expr, 300),
            (rx(eon.number), .expr, 300),
        ]
        return out.sorted { $0.2 < $1.2 }
    }()

    /// All answers of the highest priority that has one: the first that parses (if any) and the
    /// first match's text as a fallback.
    static func extract(_ text: String, limits: VerifierLimits) -> (answer: ExtractedAnswer?, fallback: String?) {
        let ns = text as NSString
        let whole = NSRange(location: 0, length: ns.length)
        var fallback: String?
        var i = 0
        while i < patterns.count {
            let priority = patterns[i].2
            var group: [(NSTextCheckingResult, Kind)] = []
            while i < patterns.count && patterns[i].2 == priority {
                for m in patterns[i].0.matches(in: text, range: whole) { group.append((m, patterns[i].1)) }
                i += 1
            }
            group.sort { a, b in
                let ea = NSMaxRange(a.0.range), eb = NSMaxRange(b.0.range)
                return ea != eb ? ea > eb : a.0.range.location < b.0.range.location
            }
            for (m, kind) in group.prefix(limits.maxCandidates) {
                let got = kind == .latex ? latexAnswer(m, ns, limits: limits) : exprAnswer(m, ns, limits: limits)
                if fallback == nil, let t = got.text, !t.isEmpty { fallback = t }
                if let e = got.expr { return (ExtractedAnswer(text: got.text ?? "", expr: e), fallback) }
            }
            if !group.isEmpty, fallback != nil { break }
        }
        return (nil, fallback)
    }

    static func group(_ m: NSTextCheckingResult, _ name: String, _ ns: NSString) -> String? {
        let r = m.range(withName: name)
        return r.location == NSNotFound ? nil : ns.substring(with: r)
    }

    static func latexAnswer(_ m: NSTextCheckingResult, _ ns: NSString, limits: VerifierLimits) -> (text: String?, expr: MathExpr?) {
        var texts: [String] = [], exprs: [MathExpr?] = []
        for prefix in ["first"] + (1...5).map({ "next\($0)" }) {
            guard let (latex, kind) = envKinds.lazy.compactMap({ k in group(m, prefix + "latex" + k, ns).map { ($0, k) } }).first else { continue }
            let normalized = LatexNormalizer.normalize(latex, boxed: kind == "Boxed" ? .last : .all)
            texts.append(normalized)
            var e = MathParser.parse(normalized, limits: limits)
            if let p = group(m, prefix + "percent", ns), !p.isEmpty, let v = e { e = .percent(v) }
            exprs.append(e)
        }
        guard !texts.isEmpty else { return (nil, nil) }
        if texts.count > 1 {
            let all = exprs.compactMap { $0 }
            guard all.count == exprs.count else { return (texts.joined(separator: " and "), nil) }
            var elements: [MathExpr] = []
            for x in all { if case .set(let xs) = x { elements += xs } else { elements.append(x) } }
            return (texts.joined(separator: " and "), .set(elements))
        }
        return (texts[0], exprs[0])
    }

    static func exprAnswer(_ m: NSTextCheckingResult, _ ns: NSString, limits: VerifierLimits) -> (text: String?, expr: MathExpr?) {
        var integer = ["integer1", "integer2", "integer3"].lazy.compactMap { group(m, $0, ns) }.first { !$0.isEmpty } ?? ""
        var decimal = ["decimal1", "decimal2", "decimal3"].lazy.compactMap { group(m, $0, ns) }.first { !$0.isEmpty } ?? ""
        let percent = (group(m, "percent", ns) ?? "").isEmpty == false
        if !integer.isEmpty || !decimal.isEmpty {
            let negative = integer.hasPrefix("-")
            integer = String(integer.filter { $0 != "," && $0 != " " && $0 != "-" }.drop { $0 == "0" })
            if integer.isEmpty { integer = "0" }
            decimal = decimal.replacingOccurrences(of: ",", with: ".")
            let text = (negative ? "-" : "") + integer + decimal
            var e: MathExpr
            if decimal.isEmpty {
                e = Parser.number(integer)
                if negative { e = .neg(e) }
            } else if let d = Double(text) { e = .float(d) } else { return (text, nil) }
            if percent { e = .percent(e) }
            return (text, e)
        }
        guard let expr = group(m, "expr", ns), !expr.isEmpty else { return (nil, nil) }
        return (expr, MathParser.parse(expr.replacingOccurrences(of: "\n", with: " "), limits: limits, plain: true))
    }
}
