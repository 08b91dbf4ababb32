import Reasoning
import Testing

/// `items` judged items at effort `e`, `correct` of them right, `thinking` thinking tokens spent in all.
private func run(_ e: ReasoningEffort, items: Int, correct: Int, thinking: Int) -> CurvePoint {
    CurvePoint(policy: e.rawValue, difficulty: "", items: items, judged: items, correct: correct,
               meanThinkingTokens: Double(thinking) / Double(items), budgetHitRate: 0)
}

/// Three tiers, ten items each: easy gains from `minimal`, medium loses two items of ten, hard loses four.
private let observed: [Difficulty: [ReasoningEffort: CurvePoint]] = [
    .easy: [.high: run(.high, items: 10, correct: 8, thinking: 2000), .minimal: run(.minimal, items: 10, correct: 9, thinking: 400)],
    .medium: [.high: run(.high, items: 10, correct: 10, thinking: 2000), .minimal: run(.minimal, items: 10, correct: 8, thinking: 500)],
    .hard: [.high: run(.high, items: 10, correct: 9, thinking: 4000), .minimal: run(.minimal, items: 10, correct: 5, thinking: 1000)],
]

@Test func effortMapTakesTheCheapestEffortsWithinTheMarginOverAllTiers() throws {
    // High everywhere: 90% at 266.7 tokens. Easy at minimal gains a point a tier-third; medium at minimal
    // would bring the whole to 86.7%, more than 2 points below.
    let tight = try #require(EffortMap(epsilon: 0.02).choose(observed))
    #expect(tight.efforts == [.easy: .minimal, .medium: .high, .hard: .high])
    #expect(abs(tight.highAccuracy - 0.9) < 1e-9 && abs(tight.expectedAccuracy - 28.0 / 30) < 1e-9)
    #expect(abs(tight.expectedThinking - 640.0 / 3) < 1e-9)
    #expect(tight.argument == "easy=minimal,medium=high,hard=high")
    // A wider margin spends the easy items' gain on the medium ones (86.7% >= 85%), never on the hard ones.
    let wide = try #require(EffortMap(epsilon: 0.05).choose(observed))
    #expect(wide.efforts == [.easy: .minimal, .medium: .minimal, .hard: .high])
    // No margin at all still takes a free gain.
    #expect(EffortMap(epsilon: 0).choose(observed)?.efforts[.easy] == .minimal)
}

@Test func effortMapWeighsTiersByTheirItemsAndNeedsAHighRun() throws {
    // Easy items the majority (8 of 10): their gain (+8 points of the whole) pays for medium's and hard's losses
    // (-2 and -4 points), where equal tiers at the same margin took easy alone.
    let weighted = try #require(EffortMap(epsilon: 0.02).choose(observed, items: [.easy: 8, .medium: 1, .hard: 1]))
    #expect(weighted.efforts == [.easy: .minimal, .medium: .minimal, .hard: .minimal])
    #expect(abs(weighted.highAccuracy - 0.83) < 1e-9 && abs(weighted.expectedAccuracy - 0.85) < 1e-9)
    // A tier without a high run is left out of the map; no high run at all: nothing to compare with.
    var partial = observed
    partial[.medium] = [.minimal: run(.minimal, items: 10, correct: 8, thinking: 500)]
    let c = try #require(EffortMap().choose(partial))
    #expect(c.efforts[.medium] == nil && c.argument == "easy=minimal,hard=high")
    #expect(EffortMap().choose([.easy: [.low: run(.low, items: 3, correct: 3, thinking: 30)]]) == nil)
}
