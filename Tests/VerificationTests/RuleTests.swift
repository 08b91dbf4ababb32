import Foundation
import Testing
@testable import Verification

private func judge(_ reference: String, _ answer: String) -> Bool {
    MathVerifier.verify(reference: reference, answer: answer).correct
}

@Test(arguments: [
    // Numbers: decimals rounded to 6 places against non-integers; integers exactly.
    ("$\\frac{1}{3}$", "\\boxed{0.333333}", true), ("$\\frac{1}{3}$", "\\boxed{0.33333}", false),
    ("1", "\\boxed{1.0000001}", false), ("$2.0$", "\\boxed{2}", true), ("$\\sqrt{2}$", "\\boxed{1.414214}", true),
    // Percent: equal to its number and to its fraction.
    ("50", "\\boxed{50\\%}", true), ("$\\frac{1}{4}$", "\\boxed{25\\%}", true), ("$20\\%$", "\\boxed{30\\%}", false),
    // Symbolic: evaluation at fixed points; variables are not interchangeable.
    ("$(x+1)^2$", "\\boxed{x^2+2x+1}", true), ("$x + 1$", "\\boxed{y + 1}", false), ("$\\sqrt{a^2}$", "\\boxed{a}", false),
    // Relations: sides; an `x =` prefix only for a lone variable or a true identity.
    ("4", "\\boxed{x = 4}", true), ("-7", "\\boxed{7 = -7}", false), ("120", "$5! = 120$", true), ("$x > 2$", "\\boxed{2 < x}", true),
    ("$x > 2$", "\\boxed{(2, \\infty)}", true), ("$x > 2$", "\\boxed{x \\ge 2}", false),
    ("$2x + 3y = 6$", "\\boxed{y = 2 - \\frac{2}{3}x}", true), ("$x^2 = 4$", "\\boxed{x = 2}", false),
    ("$[1, 2]$", "\\boxed{x \\in [1, 2]}", true),
    // Integers past 64 bits compare digit by digit.
    ("123456789012345678901234567890", "\\boxed{123456789012345678901234567890}", true),
    ("123456789012345678901234567890", "\\boxed{123456789012345678901234567891}", false),
    // Containers.
    ("$\\{1, 2\\}$", "\\boxed{2, 1}", true), ("$(1, 2, 3)$", "\\boxed{(1, 3, 2)}", false), ("$(0, 1]$", "\\boxed{(0, 1)}", false),
    ("$\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}$", "\\boxed{\\begin{bmatrix} 1 \\\\ 2 \\end{bmatrix}}", true),
    // Text and units.
    ("$\\text{Paris}$", "\\boxed{\\text{paris}}", true), ("12", "\\boxed{12 \\text{ cm}^2}", true), ("90", "\\boxed{90^\\circ}", true),
    // Delimiters, several boxed answers, a worked solution as the reference.
    ("$\\{2, 7\\}$", "\\boxed{2} and \\boxed{7}", true), ("9", "\\[ 9 \\]", true),
    ("So $2x = 10$ and $x = \\boxed{5}$.", "The answer is 5.", true),
    // Bare references are read whole as LaTeX.
    ("Paris", "The capital is \\boxed{\\text{Paris}}.", true), ("Paris", "\\boxed{London}", false),
    ("\\sqrt{2}", "$\\frac{2}{\\sqrt{2}}$", true), ("(1, 2]", "\\boxed{(1,2]}", true), ("1,000", "\\boxed{1000}", true),
])
func documentedRules(reference: String, answer: String, expected: Bool) {
    #expect(judge(reference, answer) == expected, "reference \(reference) answer \(answer)")
}

@Test func extractionKeepsWhatWasRead() {
    let v = MathVerifier.verify(reference: "$\\frac{3}{4}$", answer: "First \\boxed{3} but then \\boxed{\\dfrac34}")
    #expect(v.correct)
    #expect(v.answer.displayText == "\\frac{3}{4}")
    #expect(v.reference.answer?.expr.map { "\($0)" } == "3/4")
    let none = MathVerifier.verify(reference: "5", answer: "no number here")
    #expect(!none.correct && none.note == "no answer found" && none.answer.displayText == nil)
}

@Test func boundedOnHostileInput() {
    let inputs = [
        String(repeating: "{", count: 1 << 20),
        String(repeating: "\\boxed{", count: 100_000),
        String(repeating: "answer is $", count: 60_000),
        "$" + String(repeating: "(", count: 50_000) + "1" + String(repeating: ")", count: 50_000) + "$",
        "\\boxed{" + String(repeating: "\\sqrt{", count: 10_000) + "2" + String(repeating: "}", count: 10_001),
        "$" + Array(repeating: "x", count: 5_000).joined(separator: "+") + "$",
    ]
    for s in inputs {
        let v = MathVerifier.verify(reference: "1", answer: s)
        #expect(!v.correct)
        let w = MathVerifier.verify(reference: s, answer: "1")
        #expect(!w.correct)
    }
    // Parser caps: too deep or too long gives no parse, not a crash.
    #expect(MathParser.parse(String(repeating: "(", count: 500) + "1" + String(repeating: ")", count: 500), limits: .standard) == nil)
    #expect(MathParser.parse(String(repeating: "1+", count: 3_000) + "1", limits: .standard) == nil)
    #expect(MathParser.parse("(((1)))", limits: .standard).map { "\($0)" } == "1")
}

@Test func evaluationBudgetEndsLongComparisons() {
    var limits = VerifierLimits()
    limits.evaluationBudget = 10
    let v = MathVerifier.verify(reference: "$(x+1)^2 + (x+2)^2$", answer: "\\boxed{2x^2 + 6x + 5}", limits: limits)
    #expect(!v.correct)
    #expect(v.note == "evaluation budget spent; judged not equal")
    #expect(MathVerifier.verify(reference: "$(x+1)^2 + (x+2)^2$", answer: "\\boxed{2x^2 + 6x + 5}").correct)
}

@Test func normalizerRepairsMalformedLatex() {
    #expect(LatexNormalizer.normalize("\\dfrac12") == "\\frac{1}{2}")
    #expect(LatexNormalizer.normalize("\\sqrt3") == "\\sqrt{3}")
    #expect(LatexNormalizer.normalize("sqrt(5)") == "\\sqrt{5}")
    #expect(LatexNormalizer.normalize("\\left( 1, 2 \\right]") == "( 1, 2 ]")
    #expect(LatexNormalizer.normalize("12 \\text{ cm}^2") == "12")
    #expect(LatexNormalizer.normalize("3 and 4") == "3, 4")
    #expect(Boxed.content(of: "\\boxed{1} and \\boxed{2}", mode: .last) == "1,2")
    #expect(Boxed.content(of: "\\boxed{1} is what I first thought but now I see it is \\boxed{2}", mode: .last) == "2")
    #expect(Boxed.content(of: "\\boxed{5", mode: .last) == "{5")
}

@Test func rationalArithmeticReportsOverflow() {
    let big = Rational(Int.max / 2)
    #expect((big * Rational(4)) == nil)
    #expect(Rational(decimal: "12.50") == Rational(25, 2))
    #expect(Rational(2).power(10) == Rational(1024))
    #expect(Rational(2).power(300) == nil)
    #expect(Rational(6, -4) == Rational(-3, 2))
}
