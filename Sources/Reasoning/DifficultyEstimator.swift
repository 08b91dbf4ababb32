import Foundation

/// Estimates a difficulty tier for an untagged prompt from surface features, with no model call.
///
/// The score counts what makes math word problems take more reasoning steps: numbers in the
/// statement, arithmetic operations and relations named in words or symbols, multi-step cues
/// ("then", "after", "remaining", "each"), and length. The thresholds were fitted on the shipped
/// prompt set `jobs/prompts/math-mixed.jsonl`; `ops/eval/difficulty.sh` reports how often the
/// estimate matches the tags there (see the generate issue's note for the figure).
public struct DifficultyEstimator: Sendable {
    public var mediumThreshold: Double
    public var hardThreshold: Double

    public init(mediumThreshold: Double = 6.5, hardThreshold: Double = 7.5) {
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
