/// One finished generation from history, as the adaptive policy sees it.
public struct HistorySample: Sendable, Equatable {
    public var difficulty: Difficulty
    /// Thinking tokens the model spent.
    public var thinkingTokens: Int
    /// True when the model closed its thinking by itself (budget not hit).
    public var closedNaturally: Bool
    /// Verdict against the reference answer; nil when the item had no reference.
    public var correct: Bool?

    public init(difficulty: Difficulty, thinkingTokens: Int, closedNaturally: Bool, correct: Bool?) {
        self.difficulty = difficulty
        self.thinkingTokens = thinkingTokens
        self.closedNaturally = closedNaturally
        self.correct = correct
    }
}

/// Learns per-difficulty thinking budgets from history.
///
/// Two rules, chosen per tier by what the history holds:
/// - **Accuracy margin** (items with references): among samples that thought without a cut, a sample
///   of natural length `L` is taken to stay correct under any budget `B ≥ L` and to be lost under
///   `B < L` (a conservative estimate: a cut answer is counted wrong). The learned budget is the
///   smallest `B` whose estimated accuracy stays within `epsilon` of the unlimited accuracy.
/// - **Percentile** (no references): the `percentile` of natural thinking lengths.
/// Tiers with fewer than `minSamples` natural samples are left out (the caller's fallback applies).
public struct AdaptiveBudget: Sendable {
    public var epsilon: Double
    public var percentile: Double
    public var minSamples: Int
    /// Extra room on top of the learned value, as a fraction (0.1 = +10%).
    public var headroom: Double

    public init(epsilon: Double = 0.02, percentile: Double = 0.9, minSamples: Int = 8, headroom: Double = 0.1) {
        self.epsilon = epsilon
        self.percentile = percentile
        self.minSamples = minSamples
        self.headroom = headroom
    }

    /// What was learned for one tier, with the evidence.
    public struct Learned: Sendable, Equatable {
        public var thinkingBudget: Int
        public var rule: String
        public var samples: Int
        /// Estimated accuracy at the budget and unbounded (accuracy rule only).
        public var estimatedAccuracy: Double?
        public var unlimitedAccuracy: Double?
    }

    /// Learns a thinking budget per difficulty tier from `history`.
    public func learn(from history: [HistorySample]) -> [Difficulty: Learned] {
        var out: [Difficulty: Learned] = [:]
        for d in Difficulty.allCases {
            let natural = history.filter { $0.difficulty == d && $0.closedNaturally }
            guard natural.count >= minSamples else { continue }
            let judged = natural.filter { $0.correct != nil }
            if judged.count >= minSamples {
                out[d] = byAccuracy(judged)
            } else {
                let lengths = natural.map(\.thinkingTokens).sorted()
                let idx = min(lengths.count - 1, Int((percentile * Double(lengths.count - 1)).rounded(.up)))
                out[d] = Learned(thinkingBudget: withHeadroom(lengths[idx]), rule: "p\(Int(percentile * 100)) natural length",
                                 samples: natural.count, estimatedAccuracy: nil, unlimitedAccuracy: nil)
            }
        }
        return out
    }

    private func byAccuracy(_ judged: [HistorySample]) -> Learned {
        let n = Double(judged.count)
        let correctLengths = judged.filter { $0.correct == true }.map(\.thinkingTokens).sorted()
        let full = Double(correctLengths.count) / n
        // Accuracy at budget B = (# correct with L <= B) / n; scan candidates in increasing order.
        var budget = correctLengths.last ?? 0
        var accAtBudget = full
        for (i, length) in correctLengths.enumerated() {
            // Ties: all samples of this length fit too.
            var j = i
            while j + 1 < correctLengths.count && correctLengths[j + 1] == length { j += 1 }
            let acc = Double(j + 1) / n
            if full - acc <= epsilon + 1e-12 {
                budget = length
                accAtBudget = acc
                break
            }
        }
        return Learned(thinkingBudget: withHeadroom(budget), rule: "accuracy within \(epsilon) of unlimited",
                       samples: judged.count, estimatedAccuracy: accAtBudget, unlimitedAccuracy: full)
    }

    private func withHeadroom(_ b: Int) -> Int { max(1, Int((Double(b) * (1 + headroom)).rounded(.up))) }
}
