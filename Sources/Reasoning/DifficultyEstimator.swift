import Foundation

/// Estimates a difficulty tier for an untagged prompt from surface features, with no model call.
///
/// The score counts what makes math word problems take more reasoning steps: numbers in the
/// statement, arithmetic operations and relations named in words or symbols, multi-step cues
/// ("then", "after", "remaining", "each"), and length. The default thresholds were fitted
/// (`fitted(to:)`) on the fit half of `jobs/prompts/math-eval.jsonl`, two generators' items;
/// `tokenmill difficulty --prompts jobs/prompts/math-eval.jsonl` refits them and prints the confusion
/// matrix on the held-out half (80.9% agreement with the tags there; the earlier thresholds 6.5/7.5,
/// fitted on `math-mixed.jsonl`, agree on 73.4%). Both tag every item of `math-mixed.jsonl` right.
public struct DifficultyEstimator: Sendable {
    public var mediumThreshold: Double
    public var hardThreshold: Double

    public init(mediumThreshold: Double = 6.435, hardThreshold: Double = 6.94) {
        self.mediumThreshold = mediumThreshold
        self.hardThreshold = hardThreshold
    }

    static let stepWords = ["then", "after", "remaining", "each", "every", "per", "twice", "half", "times",
                            "more than", "less than", "fewer", "left", "total", "altogether", "average",
                            "percent", "ratio", "rate", "how many", "sum", "difference", "product", "discount"]
    static let hardWords = ["prove", "solve", "probability", "integral", "derivative", "modulo", "remainder", "prime",
                            "sequence", "combinations", "ways", "system", "equation", "polynomial", "roots",
                            "maximum", "minimum", "geometric", "arithmetic progression", "digits"]

    /// The raw score (higher = harder).
    public func score(_ prompt: String) -> Double {
        let lower = prompt.lowercased()
        let numbers = lower.split(whereSeparator: { !($0.isNumber || $0 == ".") }).filter { $0.contains(where: \.isNumber) }.count
        let ops = lower.filter { "+-*/^=×÷%".contains($0) }.count
        let steps = DifficultyEstimator.stepWords.reduce(0) { $0 + lower.components(separatedBy: $1).count - 1 }
        let hard = DifficultyEstimator.hardWords.reduce(0) { $0 + (lower.contains($1) ? 1 : 0) }
        let words = lower.split(whereSeparator: \.isWhitespace).count
        return Double(numbers) * 1.0 + Double(ops) * 0.5 + Double(steps) * 0.75 + Double(hard) * 2.0 + Double(words) / 25.0
    }

    /// The estimated tier.
    public func estimate(_ prompt: String) -> Difficulty {
        let s = score(prompt)
        if s >= hardThreshold { return .hard }
        if s >= mediumThreshold { return .medium }
        return .easy
    }
}

extension DifficultyEstimator {
    /// Fits the two thresholds to tagged prompts: the pair (medium <= hard) that tags the most of
    /// them right, searched over the midpoints between their scores. Ties go to the lower thresholds
    /// (a harder guess costs budget, an easier one can cost accuracy, so ties are rare in practice
    /// and either is acceptable). With no samples the current thresholds are kept.
    public func fitted(to samples: [(prompt: String, tier: Difficulty)]) -> DifficultyEstimator {
        guard !samples.isEmpty else { return self }
        let scored = samples.map { (score: score($0.prompt), tier: $0.tier) }
        let values = Array(Set(scored.map(\.score))).sorted()
        var cuts = [values[0] - 1]
        for i in 1..<values.count { cuts.append((values[i - 1] + values[i]) / 2) }
        cuts.append(values[values.count - 1] + 1)
        var best = (correct: -1, medium: mediumThreshold, hard: hardThreshold)
        for (i, m) in cuts.enumerated() {
            for h in cuts[i...] {
                var correct = 0
                for s in scored {
                    let guess: Difficulty = s.score >= h ? .hard : (s.score >= m ? .medium : .easy)
                    if guess == s.tier { correct += 1 }
                }
                if correct > best.correct { best = (correct, m, h) }
            }
        }
        return DifficultyEstimator(mediumThreshold: best.medium, hardThreshold: best.hard)
    }

    /// The confusion matrix of this estimator's tiers against the tags of `samples`.
    public func confusion(on samples: [(prompt: String, tier: Difficulty)]) -> ConfusionMatrix {
        var m = ConfusionMatrix()
        for s in samples { m.add(tag: s.tier, estimate: estimate(s.prompt)) }
        return m
    }
}

/// Counts of (tag, estimate) pairs over the three tiers.
public struct ConfusionMatrix: Sendable, Equatable {
    /// `counts[tag][estimate]`, indexed by `Difficulty.allCases` order.
    public private(set) var counts: [[Int]] = Array(repeating: [0, 0, 0], count: 3)

    public init() {}

    public mutating func add(tag: Difficulty, estimate: Difficulty) { counts[tag.rank][estimate.rank] += 1 }

    public var total: Int { counts.joined().reduce(0, +) }
    /// Share of items whose estimate equals the tag.
    public var accuracy: Double { total > 0 ? Double((0..<3).reduce(0) { $0 + counts[$1][$1] }) / Double(total) : 0 }

    /// Rows = tag, columns = estimate, with row totals and the accuracy.
    public var table: String {
        func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
        var out = "tag \\ estimate" + Difficulty.allCases.map { pad($0.rawValue, 8) }.joined() + pad("total", 8) + "\n"
        for d in Difficulty.allCases {
            let row = counts[d.rank]
            out += d.rawValue.padding(toLength: 15, withPad: " ", startingAt: 0) + row.map { pad("\($0)", 8) }.joined()
                + pad("\(row.reduce(0, +))", 8) + "\n"
        }
        out += "agreement \((accuracy * 1000).rounded() / 10)% of \(total)\n"
        return out
    }
}
