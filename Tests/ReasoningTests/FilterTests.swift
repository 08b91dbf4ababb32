import Foundation
import Testing
@testable import Reasoning

@Test func filtersRejectWithTheirReasons() {
    let f = SampleFilters()
    #expect(f.reject(prompt: "2+2?", thinking: "two plus two is four", answer: "\\boxed{4}", budgetHit: false, truncated: false) == nil)
    #expect(f.reject(prompt: "2+2?", thinking: "x", answer: "4", budgetHit: true, truncated: false) == .budgetHit)
    #expect(f.reject(prompt: "2+2?", thinking: "x", answer: "", budgetHit: false, truncated: true) == .truncated)
    #expect(f.reject(prompt: "2+2?", thinking: "we add them 我们把两个数相加得到四 所以答案是四", answer: "4",
                     budgetHit: false, truncated: false) == .mixedLanguages)
    #expect(f.reject(prompt: "2+2?", thinking: String(repeating: "a", count: 3500), answer: "4",
                     budgetHit: false, truncated: false) == .overlongParagraph)
    #expect(f.reject(prompt: "2+2?", thinking: "```python\nprint(4)\n```", answer: "4", budgetHit: false, truncated: false) == .strayCodeBlock)
    #expect(f.reject(prompt: "Write a python function", thinking: "```python\nprint(4)\n```", answer: "4",
                     budgetHit: false, truncated: false) == nil)
    let loop = String(repeating: "wait let me check that again ", count: 12)
    #expect(f.reject(prompt: "2+2?", thinking: loop, answer: "4", budgetHit: false, truncated: false) == .repetitionLoop)
}

@Test func repetitionNeedsConsecutiveRepeats() {
    #expect(!SampleFilters.hasRepetitionLoop("a b c d e f g h i j k l m n o p q r s t", n: 4, times: 3))
    #expect(SampleFilters.hasRepetitionLoop("x y x y x y x y x y", n: 2, times: 4))
}

@Test func verifiers() {
    #expect(Verifier.math.verify(answer: "so \\boxed{1/2}", reference: "0.5").correct == true)
    #expect(Verifier.exact.verify(answer: "Paris", reference: "Paris").correct == true)
    #expect(Verifier.exact.verify(answer: "paris", reference: "Paris").correct == false)
    #expect(Verifier.regex("[0-9]+ apples").verify(answer: "I have 12 apples", reference: nil).extracted == "12 apples")
    #expect(Verifier.math.verify(answer: "\\boxed{3}", reference: nil).correct == nil)
}

@Test func filterSettingsDecodeWithDefaults() throws {
    let f = try JSONDecoder().decode(SampleFilters.self, from: Data(#"{"reject_budget_hit": false, "max_paragraph_chars": null}"#.utf8))
    #expect(f.rejectBudgetHit == false && f.maxParagraphChars == nil)
    #expect(f.maxForeignScriptShare == 0.2 && f.rejectCodeBlocks)
}
