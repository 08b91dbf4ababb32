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
///   `B < L` (a conservative estimate: a cut answer is counted wrong), and to spend `min(L, B)`
///   thinking tokens. With `scope` `.overall` (the default) the budgets of all such tiers are chosen
///   together: the combination that spends the fewest thinking tokens over the whole history while
///   the estimated accuracy over all of it stays within `epsilon` of the unlimited accuracy, so the
///   accuracy a batch may give up is spent where it saves the most (usually on long hard items that
///   are often wrong anyway). With `.perTier` each tier keeps its own accuracy within `epsilon`.
/// - **Percentile** (no references): the `percentile` of natural thinking lengths.
/// Tiers with fewer than `minSamples` natural samples are left out (the caller's fallback applies).
public struct AdaptiveBudget: Sendable {
    public var epsilon: Double
    public var percentile: Double
    public var minSamples: Int
    /// Extra room on top of the learned value, as a fraction (0.1 = +10%).
    public var headroom: Double
    /// Where the accuracy margin applies: over the whole history or within each tier.
    public var scope: Scope

    /// Where `epsilon` is measured.
    public enum Scope: String, Sendable, CaseIterable {
        /// Estimated accuracy over all judged tiers together (budgets chosen jointly).
        case overall
        /// Each tier's own estimated accuracy.
        case perTier = "per_tier"
    }

    public init(epsilon: Double = 0.02, percentile: Double = 0.9, minSamples: Int = 8, headroom: Double = 0.1,
                scope: Scope = .overall) {
        self.epsilon = epsilon
        self.percentile = percentile
        self.minSamples = minSamples
        self.headroom = headroom
        self.scope = scope
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
        var judgedTiers: [Difficulty: [HistorySample]] = [:]
        for d in Difficulty.allCases {
            let natural = history.filter { $0.difficulty == d && $0.closedNaturally }
            guard natural.count >= minSamples else { continue }
            let judged = natural.filter { $0.correct != nil }
            if judged.count >= minSamples {
                if scope == .perTier { out[d] = byAccuracy(judged) } else { judgedTiers[d] = judged }
            } else {
                let lengths = natural.map(\.thinkingTokens).sorted()
                let idx = min(lengths.count - 1, Int((percentile * Double(lengths.count - 1)).rounded(.up)))
                out[d] = Learned(thinkingBudget: withHeadroom(lengths[idx]), rule: "p\(Int(percentile * 100)) natural length",
                                 samples: natural.count, estimatedAccuracy: nil, unlimitedAccuracy: nil)
            }
        }
        out.merge(jointly(judgedTiers)) { a, _ in a }
        return out
    }

    /// The `.overall` rule: one budget per tier, chosen together. Candidates per tier are its correct
    /// samples' lengths (a budget between two of them keeps the same samples and only spends more)
    /// and "no cut" (its longest sample); every combination is scored exactly (three tiers of a few
    /// hundred samples each: well under a second).
    private func jointly(_ tiers: [Difficulty: [HistorySample]]) -> [Difficulty: Learned] {
        guard !tiers.isEmpty else { return [:] }
        struct Candidate { var budget: Int; var correct: Int; var tokens: Int }
        let order = tiers.keys.sorted()
        var candidates: [[Candidate]] = []
        var total = 0, fullCorrect = 0
        for d in order {
            let samples = tiers[d]!
            total += samples.count
            fullCorrect += samples.filter { $0.correct == true }.count
            let lengths = samples.map(\.thinkingTokens)
            var budgets = Set(samples.filter { $0.correct == true }.map(\.thinkingTokens))
            budgets.insert(lengths.max() ?? 0)
            candidates.append(budgets.sorted().map { b in
                Candidate(budget: b, correct: samples.filter { $0.correct == true && $0.thinkingTokens <= b }.count,
                          tokens: lengths.reduce(0) { $0 + min($1, b) })
            })
        }
        let allowedLoss = epsilon * Double(total) + 1e-9
        var best: (tokens: Int, choice: [Int])?
        var choice = [Int](repeating: 0, count: order.count)
        // Most correct samples the tiers from `t` on can still keep (their "no cut" candidates).
        var keepable = [Int](repeating: 0, count: order.count + 1)
        for t in stride(from: order.count - 1, through: 0, by: -1) { keepable[t] = keepable[t + 1] + candidates[t].last!.correct }
        func search(_ tier: Int, correct: Int, tokens: Int) {
            if let b = best, tokens >= b.tokens { return }
            if Double(fullCorrect - correct - keepable[tier]) > allowedLoss { return }
            if tier == order.count { best = (tokens, choice); return }   // feasible: keepable[order.count] is 0
            // Largest budgets first, so a feasible combination is found at once and bounds the rest.
            for i in candidates[tier].indices.reversed() {
                choice[tier] = i
                let c = candidates[tier][i]
                search(tier + 1, correct: correct + c.correct, tokens: tokens + c.tokens)
            }
        }
        search(0, correct: 0, tokens: 0)
        guard let best else { return [:] }
        var out: [Difficulty: Learned] = [:]
        for (t, d) in order.enumerated() {
            let c = candidates[t][best.choice[t]]
            let n = Double(tiers[d]!.count)
            out[d] = Learned(thinkingBudget: withHeadroom(c.budget),
                             rule: "overall accuracy within \(epsilon) of unlimited (budgets chosen jointly)",
                             samples: tiers[d]!.count, estimatedAccuracy: Double(c.correct) / n,
                             unlimitedAccuracy: Double(tiers[d]!.filter { $0.correct == true }.count) / n)
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
