/// Learns which reasoning effort each difficulty should be asked for, from runs of the same items at several
/// efforts (e.g. the fit half at `high`, `low` and `minimal`): the map with the fewest expected thinking tokens
/// whose expected accuracy stays within `epsilon` of asking every item for `high`.
///
/// The efforts of all tiers are chosen together, as the adaptive budgets are (`AdaptiveBudget.Scope.overall`):
/// each tier weighs by its share of the items, so a tier where a shorter effort is free
/// (easy items, which a small instruct model often gets *more* right when shown short working) can take the
/// margin that a tier where it costs cannot. A tier without a judged `high` run keeps `high`.
public struct EffortMap: Sendable {
    /// The choice, with what it expects and what asking every item for `high` gave.
    public struct Choice: Sendable, Equatable {
        public var efforts: [Difficulty: ReasoningEffort]
        public var expectedAccuracy: Double
        public var expectedThinking: Double
        public var highAccuracy: Double
        public var highThinking: Double
        /// The map as `generate --effort` takes it (`easy=minimal,medium=low,hard=high`).
        public var argument: String {
            Difficulty.allCases.compactMap { d in efforts[d].map { "\(d.rawValue)=\($0.rawValue)" } }.joined(separator: ",")
        }
    }

    public var epsilon: Double
    public init(epsilon: Double = 0.02) { self.epsilon = epsilon }

    /// Chooses from `observed` (tier -> effort -> how its judged items did: accuracy and mean thinking tokens);
    /// nil when no tier has a judged `high` run. `items`: how many distinct items each tier has, the tiers'
    /// weights (default: the `high` run's judged items; give it where a tier's `high` figures pool several runs
    /// of the same items).
    public func choose(_ observed: [Difficulty: [ReasoningEffort: CurvePoint]], items: [Difficulty: Int]? = nil) -> Choice? {
        let tiers = Difficulty.allCases.filter { (observed[$0]?[.high]?.judged ?? 0) > 0 }
        guard !tiers.isEmpty else { return nil }
        func count(_ d: Difficulty) -> Int { items?[d] ?? observed[d]![.high]!.judged }
        let total = Double(tiers.reduce(0) { $0 + count($1) })
        func weight(_ d: Difficulty) -> Double { Double(count(d)) / total }
        func expected(_ pick: [Difficulty: ReasoningEffort]) -> (accuracy: Double, thinking: Double) {
            tiers.reduce((0, 0)) { acc, d in
                let o = observed[d]![pick[d]!]!
                return (acc.0 + weight(d) * o.accuracy.proportion, acc.1 + weight(d) * o.meanThinkingTokens)
            }
        }
        let high = Dictionary(uniqueKeysWithValues: tiers.map { ($0, ReasoningEffort.high) })
        let base = expected(high)
        var best = (pick: high, value: base)
        // Every combination of the efforts each tier was run at (at most 4^3).
        func visit(_ i: Int, _ pick: [Difficulty: ReasoningEffort]) {
            guard i < tiers.count else {
                let v = expected(pick)
                guard v.accuracy >= base.accuracy - epsilon - 1e-12 else { return }
                if v.thinking < best.value.thinking - 1e-9
                    || (abs(v.thinking - best.value.thinking) <= 1e-9 && v.accuracy > best.value.accuracy) {
                    best = (pick, v)
                }
                return
            }
            let d = tiers[i]
            for e in ReasoningEffort.allCases where (observed[d]?[e]?.judged ?? 0) > 0 {
                var next = pick
                next[d] = e
                visit(i + 1, next)
            }
        }
        visit(0, [:])
        return Choice(efforts: best.pick, expectedAccuracy: best.value.accuracy, expectedThinking: best.value.thinking,
                      highAccuracy: base.accuracy, highThinking: base.thinking)
    }
}
