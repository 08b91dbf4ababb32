import Testing
@testable import Reasoning

let open: Int32 = 900, close: Int32 = 901
let markers = ThinkingMarkers(open: [open], close: [close], transition: [7, 8, 9])

@Test func cutsThinkingAtExactlyTheBudgetAndInjectsTransitionAndMarker() {
    var f = BudgetForcer(markers: markers, budget: Budget(thinking: 5, answer: 10), startsInThinking: true)
    var actions: [BudgetForcer.Action] = []
    for t in 1...5 { actions.append(f.observe(Int32(t))) }
    #expect(actions.prefix(4).allSatisfy { $0 == .proceed })
    #expect(actions[4] == .inject([7, 8, 9, close]))
    #expect(f.thinkingTokens == 5 && f.budgetHit && f.phase == .answering && f.injectedTokens == 4)
    #expect(f.observe(42) == .proceed)
    #expect(f.answerTokens == 1)
    #expect(f.finish() == .budget)
}

@Test func selfClosedThinkingIsLeftAloneAndMarkersAreNotCharged() {
    var f = BudgetForcer(markers: markers, budget: Budget(thinking: 5, answer: 10), startsInThinking: false)
    #expect(f.observe(open) == .proceed)
    for t in 1...3 { #expect(f.observe(Int32(t)) == .proceed) }
    #expect(f.observe(close) == .proceed)
    #expect(f.thinkingTokens == 3 && f.closedNaturally && !f.budgetHit && f.answerTokens == 0)
    #expect(f.observe(5) == .proceed)
    #expect(f.finish() == .stop)
}

@Test func waitsForAPartialUTF8CharacterBeforeForcing() {
    var f = BudgetForcer(markers: markers, budget: Budget(thinking: 2, answer: nil), startsInThinking: true)
    #expect(f.observe(1) == .proceed)
    #expect(f.observe(2, pendingUTF8Bytes: 2) == .proceed)   // at budget but a character is half-written
    #expect(f.observe(3, pendingUTF8Bytes: 0) == .inject([7, 8, 9, close]))
    #expect(f.thinkingTokens == 3)
}

@Test func answerBudgetStopsWithLength() {
    var f = BudgetForcer(markers: markers, budget: Budget(thinking: nil, answer: 2), startsInThinking: true)
    #expect(f.observe(close) == .proceed)
    #expect(f.observe(1) == .proceed)
    #expect(f.observe(2) == .stop(.length))
}

@Test func multiTokenMarkersAreMatchedAndNotCharged() {
    let m = ThinkingMarkers(open: [10, 11], close: [12, 13], transition: [])
    var f = BudgetForcer(markers: m, budget: Budget(thinking: 100, answer: nil), startsInThinking: false)
    _ = f.observe(10); _ = f.observe(11)
    #expect(f.phase == .thinking && f.answerTokens == 0)
    _ = f.observe(1); _ = f.observe(2); _ = f.observe(12); _ = f.observe(13)
    #expect(f.phase == .answering && f.thinkingTokens == 2)
}

@Test func zeroBudgetClosesImmediately() {
    var f = BudgetForcer(markers: markers, budget: Budget(thinking: 0, answer: nil), startsInThinking: true)
    #expect(f.prefill() == [7, 8, 9, close])
    var g = BudgetForcer(markers: markers, budget: Budget(thinking: 0, answer: nil), startsInThinking: false)
    #expect(g.observe(open) == .inject([7, 8, 9, close]))
}

@Test func leadingWhitespaceBeforeTheOpeningMarkerIsAllowed() {
    var f = BudgetForcer(markers: markers, budget: Budget(thinking: 3, answer: nil), startsInThinking: false)
    _ = f.observe(55, isWhitespace: true)
    _ = f.observe(open)
    #expect(f.phase == .thinking)
}
