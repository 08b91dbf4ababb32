import Foundation
import Testing
@testable import Reasoning

// Plain mode (no thinking markers): transition 7, 8; answer prefix 50, 51 ("Final answer: \boxed{").
let plainMarkers = ThinkingMarkers.plain(transition: [7, 8], answerPrefix: [50, 51])

@Test func plainModeCutsAtExactlyTheBudgetAndAccountsTheInjectionAsForced() {
    var f = BudgetForcer(plain: plainMarkers, budget: Budget(thinking: 4, answer: 3))
    #expect(f.phase == .thinking && f.mode == .plain)
    for t in 1...3 { #expect(f.observe(Int32(t)) == .proceed) }
    #expect(f.observe(4) == .inject([7, 8, 50, 51]))
    #expect(f.thinkingTokens == 4 && f.budgetHit && f.injectedTokens == 4 && f.answerTokens == 0)
    #expect(f.phase == .answering)
    #expect(f.observe(60) == .proceed)   // the model writes its answer within the answer budget
    #expect(f.observe(61) == .proceed)
    #expect(f.observe(62) == .stop(.length))
    #expect(f.answerTokens == 3)
}

@Test func plainModeFinishesAHalfWrittenCharacterBeforeTheCut() {
    var f = BudgetForcer(plain: plainMarkers, budget: Budget(thinking: 2, answer: nil))
    #expect(f.observe(1) == .proceed)
    #expect(f.observe(2, pendingUTF8Bytes: 1) == .proceed)
    #expect(f.observe(3, pendingUTF8Bytes: 0) == .inject([7, 8, 50, 51]))
    #expect(f.thinkingTokens == 3)
}

@Test func plainModeModelReachingItsAnswerEarlyIsLeftAlone() {
    var f = BudgetForcer(plain: plainMarkers, budget: Budget(thinking: 10, answer: 20))
    for t in 1...5 { #expect(f.observe(Int32(t)) == .proceed) }
    // Tokens 5 and 6 spell an answer cue that ends in token 6: both belong to the answer.
    #expect(f.observe(6, completesMarker: 2) == .proceed)
    #expect(f.phase == .answering && f.closedNaturally && !f.budgetHit)
    #expect(f.thinkingTokens == 4 && f.answerTokens == 2 && f.injectedTokens == 0)
    for t in 7...20 { #expect(f.observe(Int32(t)) == .proceed) }   // past the thinking budget: no forcing
    #expect(f.injectedTokens == 0)
    #expect(f.endBeforeAnswer() == nil)   // an answer was begun: the end stands
    #expect(f.finish() == .stop)
}

@Test func plainModeEndWithoutAnswerIsTurnedIntoAnAnswerRequestOnce() {
    var f = BudgetForcer(plain: plainMarkers, budget: Budget(thinking: 10, answer: 5))
    _ = f.observe(1); _ = f.observe(2)
    #expect(f.endBeforeAnswer() == [50, 51])
    #expect(f.answerRequested && !f.budgetHit && f.injectedTokens == 2 && f.phase == .answering)
    #expect(f.endBeforeAnswer() == nil)
    // Marker mode keeps today's behaviour: the end stands.
    var m = BudgetForcer(markers: ThinkingMarkers(open: [900], close: [901], transition: [7]),
                         budget: Budget(thinking: 10, answer: 5), startsInThinking: true)
    _ = m.observe(1)
    #expect(m.endBeforeAnswer() == nil)
}

@Test func answerCuesAreFoundInTheNewestBytesOnly() {
    let text = Array("so 3 + 4 = 7. The final answer is \\boxed{".utf8)
    // "\boxed{" ends at the very end.
    #expect(AnswerCue.match(in: text, endingWithin: 1) == text.count - 7)
    // Seen from a token that ended right after "The final answer": the cue "final answer" matches.
    let early = Array("so 3 + 4 = 7. The Final Answer".utf8)
    #expect(AnswerCue.match(in: early, endingWithin: 3) == 18)
    // A cue that ended before the newest bytes is not reported again.
    #expect(AnswerCue.match(in: Array("the answer is 7 and".utf8), endingWithin: 4) == nil)
    #expect(AnswerCue.match(in: Array("no cue here".utf8), endingWithin: 11) == nil)
}

@Test func boxedAnswerTrackerEndsWhenTheBoxCloses() {
    var b = BoxedAnswerTracker()
    let closed = ["\\frac{3", "}{4", "}", "}$."].map { b.feed(Array($0.utf8)) }
    #expect(closed == [false, false, false, true])
    #expect(b.depth == 0)
}

@Test func reasoningModeIsDetectedFromTemplateAndVocabulary() {
    let none: (String) -> Bool = { _ in false }
    let both: (String) -> Bool = { $0 == "<think>" || $0 == "</think>" }
    #expect(ReasoningMode.detect(chatTemplate: "{{ '<|im_start|>' }}", vocabularyHas: none) == .plain)
    #expect(ReasoningMode.detect(chatTemplate: nil, vocabularyHas: both) == .markers)
    #expect(ReasoningMode.detect(chatTemplate: "{{'<think>\\n'}}", vocabularyHas: none) == .markers)
    #expect(ReasoningMode.detect(chatTemplate: nil, vocabularyHas: { $0 == "<think>" }) == .plain)
}

/// The fit/held-out split depends on the id alone and never moves: these halves were computed by
/// ops/prompts/make_eval.py's implementation of the same rule.
@Test func evalSplitIsStable() throws {
    #expect(EvalSplit.hash("A-L1-001") == 0xec69_6f57_c203_6c81)
    let expected: [String: EvalSplit] = ["A-L1-000": .heldout, "A-L1-001": .heldout, "W-L5-031": .heldout,
                                         "W-L3-007": .fit, "L1-000": .heldout, "item-42": .fit]
    for (id, half) in expected { #expect(EvalSplit(itemID: id) == half, "\(id)") }
    #expect(EvalSplit(name: "held-out") == .heldout && EvalSplit(name: "FIT") == .fit && EvalSplit(name: "x") == nil)

    // The committed evaluation set: 320 items, two sources, five levels, both halves in every cell,
    // and the same halves as when the set was written (147 fit, 173 held out).
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("jobs/prompts/math-eval.jsonl")
    struct Item: Decodable { var id: String; var level: Int; var reference: String; var difficulty: String }
    let items = try String(contentsOf: path, encoding: .utf8).split(separator: "\n")
        .map { try JSONDecoder().decode(Item.self, from: Data($0.utf8)) }
    #expect(items.count == 320)
    #expect(Set(items.map(\.id)).count == items.count)
    var cells: [String: Set<EvalSplit>] = [:]
    for it in items {
        cells["\(it.id.prefix(2))\(it.level)", default: []].insert(EvalSplit(itemID: it.id))
        #expect(Difficulty(level: it.level) == Difficulty(tag: it.difficulty))
        #expect(!it.reference.isEmpty)
    }
    #expect(cells.count == 10 && cells.values.allSatisfy { $0.count == 2 })
    #expect(items.filter { EvalSplit(itemID: $0.id) == .fit }.count == 147)
    // Order does not matter: the rule is per id.
    #expect(items.reversed().filter { EvalSplit(itemID: $0.id) == .heldout }.count == 173)
}

@Test func wilsonIntervalMatchesKnownValues() {
    let a = WilsonInterval(successes: 8, trials: 10)
    #expect(abs(a.low - 0.4902) < 5e-4 && abs(a.high - 0.9433) < 5e-4)
    let z = WilsonInterval(successes: 0, trials: 10)
    #expect(z.low == 0 && abs(z.high - 0.2775) < 5e-4)
    let e = WilsonInterval(successes: 0, trials: 0)
    #expect(e.low == 0 && e.high == 1 && e.proportion == 0)
}

@Test func estimatorThresholdsAreFittedToTagsAndReportedAsAConfusionMatrix() {
    // Scores rise with the count of numbers: 1-2 numbers easy, 4 medium, 7 hard.
    func prompt(_ n: Int) -> String { (1...n).map { "\($0 * 11)" }.joined(separator: " and ") }
    let samples: [(prompt: String, tier: Difficulty)] = [(prompt(1), .easy), (prompt(2), .easy), (prompt(4), .medium),
                                                        (prompt(4), .medium), (prompt(7), .hard), (prompt(8), .hard)]
    let e = DifficultyEstimator(mediumThreshold: 100, hardThreshold: 200).fitted(to: samples)
    let m = e.confusion(on: samples)
    #expect(m.accuracy == 1 && m.total == 6)
    #expect(e.mediumThreshold > e.score(prompt(2)) && e.mediumThreshold <= e.score(prompt(4)))
    #expect(e.hardThreshold > e.score(prompt(4)) && e.hardThreshold <= e.score(prompt(7)))
    var c = ConfusionMatrix()
    c.add(tag: .hard, estimate: .easy)
    c.add(tag: .hard, estimate: .hard)
    #expect(c.counts[2] == [1, 0, 1] && c.accuracy == 0.5)
    #expect(c.table.contains("agreement 50.0% of 2"))
}

@Test func accuracyCurveTableAndPlot() {
    let points = [
        CurvePoint(policy: "unlimited", difficulty: "easy", items: 10, judged: 10, correct: 8, meanThinkingTokens: 200, budgetHitRate: 0),
        CurvePoint(policy: "fixed 64", difficulty: "easy", items: 10, judged: 10, correct: 7, meanThinkingTokens: 50, budgetHitRate: 0.5),
        CurvePoint(policy: "fixed 64", difficulty: "hard", items: 4, judged: 0, correct: 0, meanThinkingTokens: 64, budgetHitRate: 1),
    ]
    let t = AccuracyCurve.table(points, reference: "unlimited")
    let fixedEasy = t.split(separator: "\n").first { $0.hasPrefix("fixed 64") && $0.contains("easy") }!
    #expect(fixedEasy.contains("70.0 [39.7, 89.2]"))
    #expect(fixedEasy.contains("75.0%"))   // 1 - 50/200
    #expect(fixedEasy.contains("-10.0"))
    let all = CurvePoint.pooled(Array(points.suffix(2)), policy: "fixed 64")
    #expect(all.items == 14 && all.correct == 7 && abs(all.meanThinkingTokens - (500 + 256) / 14.0) < 1e-9)
    let svg = AccuracyCurve.svg(points, title: "a <b> & c")
    #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
    #expect(svg.contains("a &lt;b&gt; &amp; c"))
    // One marker group per judged point; none for the unjudged one.
    #expect(svg.components(separatedBy: "<g stroke=").count - 1 == 2)
    #expect(AccuracyCurve.markdown(points, reference: "unlimited").split(separator: "\n").count == 5)
}

// The continuation (s1's "Wait"): cue 90, 91; continue reasoning that ended below 6 thinking tokens.
let waitCue = BudgetForcer.Continuation(cue: [90, 91], below: 6)

@Test func plainModeContinuationTurnsAnEarlyEndIntoMoreReasoningOnce() {
    var f = BudgetForcer(plain: plainMarkers, budget: Budget(thinking: 12, answer: 8), continuation: waitCue)
    for t in 1...3 { #expect(f.observe(Int32(t)) == .proceed) }
    #expect(f.observe(4, completesMarker: 1) == .proceed)   // the model answers after 3 thinking tokens
    #expect(f.observe(5) == .proceed)
    #expect(f.thinkingTokens == 3 && f.answerTokens == 2)
    // Its end-of-text is withdrawn: the answer joins the reasoning, the cue is forced.
    #expect(f.endAfterAnswer() == [90, 91])
    #expect(f.continued && f.phase == .thinking && !f.closedNaturally)
    #expect(f.thinkingTokens == 5 && f.answerTokens == 0 && f.injectedTokens == 2)
    // It reasons on and answers again; the second end stands.
    #expect(f.observe(6) == .proceed)
    #expect(f.observe(7, completesMarker: 1) == .proceed)
    #expect(f.thinkingTokens == 6 && f.answerTokens == 1 && f.closedNaturally)
    #expect(f.endAfterAnswer() == nil)
    #expect(f.finish() == .stop && !f.budgetHit)
}

@Test func plainModeContinuationLeavesLongReasoningAndCutsAlone() {
    // Ended at the threshold: the end stands.
    var f = BudgetForcer(plain: plainMarkers, budget: Budget(thinking: 12, answer: 8), continuation: waitCue)
    for t in 1...6 { _ = f.observe(Int32(t)) }
    _ = f.observe(7, completesMarker: 1)
    #expect(f.thinkingTokens == 6 && f.endAfterAnswer() == nil && !f.continued)
    // A cut answer is not continued (the budget is spent).
    var cut = BudgetForcer(plain: plainMarkers, budget: Budget(thinking: 3, answer: 8),
                           continuation: .init(cue: [90], below: 100))
    for t in 1...2 { _ = cut.observe(Int32(t)) }
    #expect(cut.observe(3) == .inject([7, 8, 50, 51]))
    _ = cut.observe(60)
    #expect(cut.endAfterAnswer() == nil)
    // No continuation configured: today's behaviour.
    var off = BudgetForcer(plain: plainMarkers, budget: Budget(thinking: 12, answer: 8))
    _ = off.observe(1); _ = off.observe(2, completesMarker: 1)
    #expect(off.endAfterAnswer() == nil)
    // The answer request after an end without answer is not a continuation either.
    var asked = BudgetForcer(plain: plainMarkers, budget: Budget(thinking: 12, answer: 8), continuation: waitCue)
    _ = asked.observe(1)
    #expect(asked.endBeforeAnswer() == [50, 51])
    _ = asked.observe(60)
    #expect(asked.endAfterAnswer() == nil)
}

@Test func markerModeContinuationWithdrawsAOneTokenClosingMarker() {
    let m = ThinkingMarkers(open: [900], close: [901], transition: [7])
    var f = BudgetForcer(markers: m, budget: Budget(thinking: 20, answer: 5), startsInThinking: true, continuation: waitCue)
    for t in 1...3 { _ = f.observe(Int32(t)) }
    #expect(f.observe(901) == .replace([90, 91]))   // </think> after 3 tokens: withdrawn, cue instead
    #expect(f.phase == .thinking && f.continued && f.thinkingTokens == 3 && f.injectedTokens == 2)
    _ = f.observe(4)
    #expect(f.observe(901) == .proceed)   // the second close stands
    #expect(f.phase == .answering && f.closedNaturally && f.thinkingTokens == 4)
    // A closing marker spelled over several tokens cannot be withdrawn: it stands.
    var multi = BudgetForcer(markers: ThinkingMarkers(open: [900], close: [901, 902], transition: [7]),
                             budget: Budget(thinking: 20, answer: 5), startsInThinking: true, continuation: waitCue)
    _ = multi.observe(1); _ = multi.observe(901)
    #expect(multi.observe(902) == .proceed && multi.phase == .answering && !multi.continued)
}
