import Foundation

/// One point of the accuracy-for-tokens trade-off: a policy's results on one difficulty tier (or all).
public struct CurvePoint: Sendable, Equatable {
    /// The policy's label, e.g. `unlimited`, `fixed 256`, `adaptive`.
    public var policy: String
    /// `easy`, `medium`, `hard` or `all`.
    public var difficulty: String
    public var items: Int
    /// Items with a reference (accuracy is over these).
    public var judged: Int
    public var correct: Int
    public var meanThinkingTokens: Double
    public var budgetHitRate: Double
    /// Items whose output has no answer token.
    public var withoutAnswer: Int

    public init(policy: String, difficulty: String, items: Int, judged: Int, correct: Int, meanThinkingTokens: Double,
                budgetHitRate: Double, withoutAnswer: Int = 0) {
        self.policy = policy
        self.difficulty = difficulty
        self.items = items
        self.judged = judged
        self.correct = correct
        self.meanThinkingTokens = meanThinkingTokens
        self.budgetHitRate = budgetHitRate
        self.withoutAnswer = withoutAnswer
    }

    /// Accuracy with its 95% Wilson interval.
    public var accuracy: WilsonInterval { WilsonInterval(successes: correct, trials: judged) }

    /// Pools tiers into one `all` point (means weighted by items).
    public static func pooled(_ points: [CurvePoint], policy: String) -> CurvePoint {
        let items = points.reduce(0) { $0 + $1.items }
        let w = { (f: (CurvePoint) -> Double) in
            items > 0 ? points.reduce(0.0) { $0 + f($1) * Double($1.items) } / Double(items) : 0 }
        return CurvePoint(policy: policy, difficulty: "all", items: items, judged: points.reduce(0) { $0 + $1.judged },
                          correct: points.reduce(0) { $0 + $1.correct }, meanThinkingTokens: w(\.meanThinkingTokens),
                          budgetHitRate: w(\.budgetHitRate), withoutAnswer: points.reduce(0) { $0 + $1.withoutAnswer })
    }
}

/// The accuracy-against-thinking-tokens figures as a text table and as a hand-written SVG plot.
public enum AccuracyCurve {
    static let tierOrder = ["easy", "medium", "hard", "all"]

    /// Rows per policy and difficulty: items, accuracy with its 95% interval, mean thinking tokens,
    /// budget-hit rate, items without an answer token, and the thinking tokens saved against
    /// `reference` (a policy label) on the same difficulty, with the accuracy change in points.
    public static func rows(_ points: [CurvePoint], reference: String?) -> (headers: [String], rows: [[String]]) {
        let headers = ["policy", "difficulty", "items", "accuracy % [95% CI]", "mean think", "hit %", "no answer",
                       "saving vs " + (reference ?? "-"), "Δacc pts"]
        var rows: [[String]] = []
        for p in points {
            let a = p.accuracy
            var saving = "-", delta = "-"
            if let reference, p.policy != reference,
               let r = points.first(where: { $0.policy == reference && $0.difficulty == p.difficulty }) {
                if r.meanThinkingTokens > 0 { saving = pct(1 - p.meanThinkingTokens / r.meanThinkingTokens) + "%" }
                if p.judged > 0 && r.judged > 0 {
                    delta = String(format: "%+.1f", 100 * (a.proportion - r.accuracy.proportion))
                }
            }
            rows.append([p.policy, p.difficulty, "\(p.items)",
                         p.judged > 0 ? "\(pct(a.proportion)) [\(pct(a.low)), \(pct(a.high))]" : "-",
                         String(format: "%.1f", p.meanThinkingTokens), pct(p.budgetHitRate), "\(p.withoutAnswer)",
                         saving, delta])
        }
        return (headers, rows)
    }

    /// `rows` as an aligned text table.
    public static func table(_ points: [CurvePoint], reference: String?) -> String {
        let (headers, rows) = self.rows(points, reference: reference)
        let widths = headers.indices.map { i in ([headers[i]] + rows.map { $0[i] }).map(\.count).max()! }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").replacingOccurrences(of: #"\s+$"#, with: "", options: .regularExpression)
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n") + "\n"
    }

    /// `rows` as a Markdown table (for READMEs).
    public static func markdown(_ points: [CurvePoint], reference: String?) -> String {
        let (headers, rows) = self.rows(points, reference: reference)
        var out = "| " + headers.joined(separator: " | ") + " |\n|" + headers.map { _ in "---|" }.joined() + "\n"
        for r in rows { out += "| " + r.joined(separator: " | ") + " |\n" }
        return out
    }

    static func pct(_ x: Double) -> String { String(format: "%.1f", 100 * x) }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                          "#7f7f7f", "#bcbd22"]

    /// An SVG scatter plot: x = mean thinking tokens, y = accuracy (%) with its 95% interval as an
    /// error bar; colour = policy, shape = difficulty (circle easy, square medium, triangle hard,
    /// diamond all). Written by hand: no dependency.
    public static func svg(_ points: [CurvePoint], title: String) -> String {
        let width = 860.0, height = 520.0
        let left = 70.0, right = 230.0, top = 50.0, bottom = 60.0
        let plotW = width - left - right, plotH = height - top - bottom
        let maxX = niceCeiling(max(1, points.map(\.meanThinkingTokens).max() ?? 1) * 1.05)
        let x = { (v: Double) in left + plotW * v / maxX }
        let y = { (v: Double) in top + plotH * (1 - v) }
        let policies = points.reduce(into: [String]()) { if !$0.contains($1.policy) { $0.append($1.policy) } }
        let color = { (p: String) in palette[(policies.firstIndex(of: p) ?? 0) % palette.count] }
        var s = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(f(left))" y="24" font-size="15" font-weight="bold">\(xml(title))</text>

            """
        // Grid and axes.
        for i in 0...5 {
            let v = Double(i) / 5, yy = y(v)
            s += "<line x1=\"\(f(left))\" y1=\"\(f(yy))\" x2=\"\(f(left + plotW))\" y2=\"\(f(yy))\" stroke=\"#e5e5e5\"/>\n"
            s += "<text x=\"\(f(left - 8))\" y=\"\(f(yy + 4))\" text-anchor=\"end\">\(Int(v * 100))</text>\n"
        }
        let step = maxX / 5
        for i in 0...5 {
            let v = step * Double(i), xx = x(v)
            s += "<line x1=\"\(f(xx))\" y1=\"\(f(top))\" x2=\"\(f(xx))\" y2=\"\(f(top + plotH))\" stroke=\"#f0f0f0\"/>\n"
            s += "<text x=\"\(f(xx))\" y=\"\(f(top + plotH + 18))\" text-anchor=\"middle\">\(Int(v.rounded()))</text>\n"
        }
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#333\"/>\n"
        s += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 18))\" text-anchor=\"middle\">mean thinking tokens per item</text>\n"
        s += "<text transform=\"translate(18 \(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">accuracy % (95% Wilson interval)</text>\n"
        // Points with error bars.
        for p in points where p.judged > 0 {
            let a = p.accuracy, cx = x(p.meanThinkingTokens), c = color(p.policy)
            s += "<g stroke=\"\(c)\" fill=\"\(c)\"><title>\(xml(p.policy)) \(p.difficulty): \(pct(a.proportion))% [\(pct(a.low)), \(pct(a.high))], \(String(format: "%.1f", p.meanThinkingTokens)) thinking tokens, \(p.items) items</title>\n"
            s += "<line x1=\"\(f(cx))\" y1=\"\(f(y(a.low)))\" x2=\"\(f(cx))\" y2=\"\(f(y(a.high)))\" stroke-width=\"1.2\"/>\n"
            s += "<line x1=\"\(f(cx - 4))\" y1=\"\(f(y(a.low)))\" x2=\"\(f(cx + 4))\" y2=\"\(f(y(a.low)))\"/>\n"
            s += "<line x1=\"\(f(cx - 4))\" y1=\"\(f(y(a.high)))\" x2=\"\(f(cx + 4))\" y2=\"\(f(y(a.high)))\"/>\n"
            s += shape(p.difficulty, cx: cx, cy: y(a.proportion)) + "</g>\n"
        }
        // Legend: policies by colour, difficulties by shape.
        var ly = top + 6
        let lx = left + plotW + 20
        s += "<text x=\"\(f(lx))\" y=\"\(f(ly))\" font-weight=\"bold\">policy</text>\n"
        for p in policies {
            ly += 18
            s += "<rect x=\"\(f(lx))\" y=\"\(f(ly - 9))\" width=\"10\" height=\"10\" fill=\"\(color(p))\"/>"
            s += "<text x=\"\(f(lx + 16))\" y=\"\(f(ly))\">\(xml(p))</text>\n"
        }
        ly += 30
        s += "<text x=\"\(f(lx))\" y=\"\(f(ly))\" font-weight=\"bold\">difficulty</text>\n"
        for d in tierOrder where points.contains(where: { $0.difficulty == d }) {
            ly += 18
            s += "<g fill=\"#555\" stroke=\"#555\">" + shape(d, cx: lx + 5, cy: ly - 4) + "</g>"
            s += "<text x=\"\(f(lx + 16))\" y=\"\(f(ly))\">\(d)</text>\n"
        }
        return s + "</svg>\n"
    }

    static func shape(_ difficulty: String, cx: Double, cy: Double) -> String {
        switch difficulty {
        case "easy": return "<circle cx=\"\(f(cx))\" cy=\"\(f(cy))\" r=\"5\"/>"
        case "medium": return "<rect x=\"\(f(cx - 4.5))\" y=\"\(f(cy - 4.5))\" width=\"9\" height=\"9\"/>"
        case "hard": return "<polygon points=\"\(f(cx)),\(f(cy - 6)) \(f(cx + 5.5)),\(f(cy + 4)) \(f(cx - 5.5)),\(f(cy + 4))\"/>"
        default: return "<polygon points=\"\(f(cx)),\(f(cy - 7)) \(f(cx + 7)),\(f(cy)) \(f(cx)),\(f(cy + 7)) \(f(cx - 7)),\(f(cy))\" fill-opacity=\"0.35\" stroke-width=\"1.5\"/>"
        }
    }

    /// The smallest of 1, 2, 2.5, 5 times a power of ten that is >= v.
    static func niceCeiling(_ v: Double) -> Double {
        let p = pow(10, floor(log10(v)))
        for m in [1.0, 2, 2.5, 5, 10] where m * p >= v { return m * p }
        return 10 * p
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    static func xml(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
