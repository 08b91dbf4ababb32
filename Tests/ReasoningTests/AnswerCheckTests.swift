import Testing
@testable import Reasoning

@Test(arguments: [
    ("so the answer is \\boxed{42}.", "42", true),
    ("\\boxed{\\frac{1}{2}}", "0.5", true),
    ("\\boxed{\\dfrac{3}{4}}", "3/4", true),
    ("\\boxed{1,234}", "1234", true),
    ("\\boxed{-7}", "-7", true),
    ("\\boxed{7}", "-7", false),
    ("\\boxed{x = 5}", "5", true),
    ("\\boxed{\\text{Paris}}", "paris", true),
    ("\\boxed{2.50}", "5/2", true),
    ("\\boxed{$12$}", "12", true),
    ("first \\boxed{3} then corrected \\boxed{4}", "4", true),
    ("\\boxed{\\frac{2}{4}}", "\\frac{1}{2}", true),
    ("The final answer is 18.", "18", true),
    ("line one\n\n  9  \n", "9", true),
    ("\\boxed{{10}}", "10", true),
    ("\\boxed{50\\%}", "50", true),
    ("\\boxed{3}", "three", false),
])
func verifierOnTrickyAnswers(output: String, reference: String, expected: Bool) {
    #expect(AnswerCheck.verify(output: output, reference: reference).correct == expected)
}

@Test func extractsNestedBraces() {
    #expect(AnswerCheck.extract(from: "\\boxed{\\frac{1}{\\sqrt{2}}}") == "\\frac{1}{\\sqrt{2}}")
    #expect(AnswerCheck.extract(from: "") == nil)
}

@Test func numbersCompareByValue() {
    #expect(Number(parsing: "0.125") == Number(parsing: "1/8"))
    #expect(Number(parsing: "\\frac{-6}{4}") == Number(parsing: "-1.5"))
    #expect(Number(parsing: "abc") == nil)
    #expect(Number(parsing: "1/0") == nil)
}
