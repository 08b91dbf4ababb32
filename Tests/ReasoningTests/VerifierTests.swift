import Testing
@testable import Reasoning

@Test func verifierSpecsParse() {
    #expect(Verifier(spec: "math") == .math)
    #expect(Verifier(spec: "exact") == .exact)
    #expect(Verifier(spec: "regex:^4\\d$") == .regex("^4\\d$"))
    #expect(Verifier(spec: "regex:(") == nil)
    #expect(Verifier(spec: "regex:") == nil)
    #expect(Verifier(spec: "fuzzy") == nil)
}

@Test func mathVerifierRecordsWhatItExtracted() {
    let v = Verifier.math.verify(answer: "so \\boxed{\\dfrac{1}{2}}", reference: "0.5")
    #expect(v.extracted == "\\frac{1}{2}" && v.correct == true)
    let none = Verifier.math.verify(answer: "I am not sure.", reference: "3")
    #expect(none.extracted == nil && none.correct == false)
    let noReference = Verifier.math.verify(answer: "\\boxed{7}", reference: nil)
    #expect(noReference.extracted == "7" && noReference.correct == nil)
}

@Test func exactAndRegexVerifiers() {
    #expect(Verifier.exact.verify(answer: "so \\boxed{Paris}", reference: " Paris ").correct == true)
    #expect(Verifier.exact.verify(answer: "The answer is 1/2.", reference: "0.5").correct == false)
    #expect(Verifier.exact.verify(answer: "The answer is 1/2.", reference: "1/2") == ("1/2", true))
    #expect(Verifier.regex("\\b42\\b").verify(answer: "it is 42.", reference: nil) == ("42", true))
    #expect(Verifier.regex("\\b42\\b").verify(answer: "it is 420.", reference: nil).correct == false)
}
