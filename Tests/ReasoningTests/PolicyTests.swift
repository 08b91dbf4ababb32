import Foundation
import Testing
@testable import Reasoning

@Test func difficultyTagsAndLevels() {
    #expect(Difficulty(tag: "Easy") == .easy)
    #expect(Difficulty(tag: "4") == .hard)
    #expect(Difficulty(tag: "3") == .medium)
    #expect(Difficulty(tag: "6") == nil)
    #expect(Difficulty(tag: "extreme") == nil)
}

@Test func perDifficultyPolicyUsesTableThenDefaultsThenOverride() {
    let p = BudgetPolicy.perDifficulty([.easy: Budget(thinking: 64, answer: 32)])
    #expect(p.budget(for: .easy) == Budget(thinking: 64, answer: 32))
    #expect(p.budget(for: .hard) == BudgetPolicy.defaultTable[.hard])
    #expect(p.budget(for: .easy, override: Budget(thinking: 1, answer: 1)) == Budget(thinking: 1, answer: 1))
    #expect(BudgetPolicy.unlimited(answer: 100).budget(for: .hard).thinking == nil)
}

@Test func adaptiveBudgetTakesSmallestBudgetWithinAccuracyMargin() {
    // 10 easy samples: correct ones think 10,20,30,...,80 tokens; two wrong ones think 500.
    var h: [HistorySample] = (1...8).map { HistorySample(difficulty: .easy, thinkingTokens: $0 * 10, closedNaturally: true, correct: true) }
    h += [HistorySample(difficulty: .easy, thinkingTokens: 500, closedNaturally: true, correct: false),
          HistorySample(difficulty: .easy, thinkingTokens: 500, closedNaturally: true, correct: false)]
    // Unlimited accuracy 0.8. With epsilon 0.1 we may lose one of 10: budget 70 keeps 7/10.
    let learned = AdaptiveBudget(epsilon: 0.1, minSamples: 8, headroom: 0).learn(from: h)
    #expect(learned[.easy]?.thinkingBudget == 70)
    #expect(learned[.easy]?.estimatedAccuracy == 0.7)
    #expect(learned[.easy]?.unlimitedAccuracy == 0.8)
    #expect(learned[.hard] == nil)   // no history: the fallback applies
    let strict = AdaptiveBudget(epsilon: 0, minSamples: 8, headroom: 0).learn(from: h)
    #expect(strict[.easy]?.thinkingBudget == 80)
}

@Test func overallScopeSpendsTheAccuracyMarginWhereItSavesTheMost() {
    // easy: 20 samples, all correct, 50..240 tokens (cutting any loses an item and saves little);
    // hard: 20 samples, 4 correct at 100..400 and 16 wrong rambling to 900 tokens.
    var h: [HistorySample] = (1...20).map { HistorySample(difficulty: .easy, thinkingTokens: 40 + $0 * 10, closedNaturally: true, correct: true) }
    h += [100, 200, 300, 400].map { HistorySample(difficulty: .hard, thinkingTokens: $0, closedNaturally: true, correct: true) }
    h += (0..<16).map { _ in HistorySample(difficulty: .hard, thinkingTokens: 900, closedNaturally: true, correct: false) }
    // epsilon 0.025 of 40 samples = 1 item may be lost overall: the best place is hard's 400-token
    // item (budget 300 cuts 16 x 600 tokens of rambling plus 100 of it), not an easy one.
    let joint = AdaptiveBudget(epsilon: 0.025, minSamples: 8, headroom: 0).learn(from: h)
    #expect(joint[.hard]?.thinkingBudget == 300)
    #expect(joint[.easy]?.thinkingBudget == 240)
    #expect(joint[.hard]?.estimatedAccuracy == 0.15)
    #expect(joint[.hard]?.rule.contains("jointly") == true)
    // Per tier, hard may lose 2.5% of 20 = 0.5 items: nothing; so no cut below its longest correct.
    let perTier = AdaptiveBudget(epsilon: 0.025, minSamples: 8, headroom: 0, scope: .perTier).learn(from: h)
    #expect(perTier[.hard]?.thinkingBudget == 400)
    #expect(perTier[.easy]?.thinkingBudget == 240)
    // With no margin at all, the joint rule keeps every correct sample too.
    let strict = AdaptiveBudget(epsilon: 0, minSamples: 8, headroom: 0).learn(from: h)
    #expect(strict[.hard]?.thinkingBudget == 400)
    #expect(strict[.easy]?.thinkingBudget == 240)
}

@Test func adaptiveBudgetUsesPercentileWithoutReferences() {
    let h = (1...10).map { HistorySample(difficulty: .medium, thinkingTokens: $0 * 100, closedNaturally: true, correct: nil) }
    let learned = AdaptiveBudget(percentile: 0.9, minSamples: 8, headroom: 0.1).learn(from: h)
    #expect(learned[.medium]?.thinkingBudget == 1100)   // p90 of 100...1000 is 1000, +10%
}

@Test func cutSamplesAreNotTakenAsNaturalLengths() {
    let h = (1...10).map { _ in HistorySample(difficulty: .hard, thinkingTokens: 50, closedNaturally: false, correct: true) }
    #expect(AdaptiveBudget().learn(from: h).isEmpty)
}

@Test func estimatorRanksLongMultiStepPromptsHarder() {
    let e = DifficultyEstimator()
    #expect(e.estimate("What is 2 + 3?") == .easy)
    let hard = "A shop sells pens at 3 dollars each and notebooks at 7 dollars each. Anna buys 12 pens and then 5 notebooks, pays with a 200 dollar note, and then spends half of the remaining money on books at 9 dollars each. How many books does she buy, and what is the remainder?"
    #expect(e.estimate(hard) == .hard)
    #expect(e.score(hard) > e.score("What is 17 * 23?"))
}

/// How well the estimator recovers the tags of the shipped prompt set (the figure quoted in the docs).
@Test func estimatorAgreesWithTheShippedTags() throws {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("jobs/prompts/math-mixed.jsonl")
    let lines = try String(contentsOf: path, encoding: .utf8).split(separator: "\n")
    struct Item: Decodable { var prompt: String; var difficulty: String }
    let e = DifficultyEstimator()
    var hits = 0, offByTwo = 0
    var confusion: [String: Int] = [:]
    for l in lines {
        let item = try JSONDecoder().decode(Item.self, from: Data(l.utf8))
        let tag = Difficulty(tag: item.difficulty)!, guess = e.estimate(item.prompt)
        if tag == guess { hits += 1 }
        if abs(tag.rank - guess.rank) == 2 { offByTwo += 1 }
        confusion["\(tag.rawValue)->\(guess.rawValue)", default: 0] += 1
    }
    let accuracy = Double(hits) / Double(lines.count)
    print("difficulty estimator on math-mixed.jsonl: \(hits)/\(lines.count) = \(Int(accuracy * 100))% exact, \(offByTwo) off by two tiers; \(confusion.sorted { $0.key < $1.key })")
    #expect(accuracy >= 0.9)   // in-sample: the thresholds were fitted on this set
    #expect(offByTwo == 0)
}
