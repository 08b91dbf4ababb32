/// How much reasoning the instruction asks for, in the spirit of OpenAI's `reasoning_effort`: the
/// *request* side of length-adaptive reasoning, where the thinking budget is the *enforced* side.
///
/// An instruct model asked to "reason step by step" writes out every digit of `19 + 81` (and sometimes
/// gets it wrong doing so); cutting that reasoning short removes the computation the answer needs.
/// Asking for less reasoning changes how the model solves the problem instead: measured on
/// Qwen2.5-Coder-1.5B (ops/bench/README.md), `low` answers easy items in a line, `medium` drops the
/// ceremony, `high` is the classic step-by-step prompt. The budget still cuts whatever runs over.
/// `minimal` shows instead of asking: in plain mode the item follows a few worked examples whose working is
/// short but does every multiplication and sign in full (`demonstrations(mode:)`), as few-shot chain-of-thought
/// prompts do; a small instruct model copies the length it is shown far more faithfully than a length it is
/// told (measured on Qwen2.5-Coder-1.5B: easy items 37 thinking tokens at 100% against `low`'s 106 at 95%).
public enum ReasoningEffort: String, Sendable, Codable, CaseIterable, Comparable {
    case minimal
    case low
    case medium
    case high

    public static func < (a: ReasoningEffort, b: ReasoningEffort) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// The instruction appended to a prompt in `mode` (nil for `.none`: no reasoning is asked for).
    /// `.high` is the default instruction of each mode.
    public func instruction(mode: ReasoningMode) -> String? {
        switch (mode, self) {
        case (.none, _): return nil
        // `minimal` keeps the default instruction: its examples, not its wording, set the length.
        case (.plain, .minimal), (.plain, .high): return "Please reason step by step, and put your final answer within \\boxed{}."
        case (.plain, .medium):
            return "Please reason step by step, but keep it short: write only the calculations you need, and put your final answer within \\boxed{}."
        case (.plain, .low):
            return "Be brief: write at most two short lines of working, then put your final answer within \\boxed{}."
        case (.markers, .high):
            return "Think step by step inside <think> </think> tags first, then give only the final answer in \\boxed{}."
        case (.markers, .medium):
            return "Think step by step inside <think> </think> tags first, but keep it short: write only the calculations you need; then give only the final answer in \\boxed{}."
        // Marker mode shows no examples (chat templates of reasoning models drop the thinking of earlier
        // turns, so an example's working would not reach the model): `minimal` asks as `low` does.
        case (.markers, .minimal), (.markers, .low):
            return "Think briefly inside <think> </think> tags, at most two short lines, then give only the final answer in \\boxed{}."
        }
    }

    /// Worked examples that go before the item as earlier turns of the conversation (each question with
    /// this mode's instruction, as the item gets it, then the answer as the model's own turn), for a `prompt`
    /// item in chat mode; empty where the effort is asked for in words only (every effort but `minimal`,
    /// and `minimal` outside plain mode).
    ///
    /// The examples are arithmetic and algebra of the kinds the evaluation set has (percentages, products,
    /// a linear system, a sign, rates), written for this purpose (none is an item of the set) and chosen on
    /// its fit half: their working is a few lines, but each multi-digit product is split into parts, each
    /// negative result is reasoned about, and the system's solution is checked, because a small model that
    /// is shown terse working copies the terseness into arithmetic slips (a first set without those steps
    /// lost 12 points on the fit half's hard items). They are about 680 prompt tokens per item, the same
    /// leading tokens for every item, so the engine's prefix sharing computes them about once per slot: of the
    /// fit half's easy and medium items' 69,495 prompt tokens 93% were kept in their slot or copied from
    /// another sequence, and that batch finished in 84 s against 157 s with the default instruction
    /// (ops/bench/README.md).
    public func demonstrations(mode: ReasoningMode) -> [(question: String, answer: String)] {
        guard self == .minimal, mode == .plain else { return [] }
        return ReasoningEffort.minimalExamples
    }

    static let minimalExamples: [(question: String, answer: String)] = [
        ("A shop sells pens at 3 dollars each. Mia buys 12 pens and a bag that costs 15 dollars, and uses a coupon for 20% off the whole purchase. How much does she pay, in dollars?",
         "Pens: 12 × 3 = 36 dollars.\nWith the bag: 36 + 15 = 51 dollars.\n20% of 51 = 51 × 20 / 100 = 1020 / 100 = 10.2, so she pays 51 - 10.2 = 40.8 dollars.\n\n\\boxed{40.8}"),
        ("What is 47 * 86 - 19?",
         "47 × 86 = 47 × 80 + 47 × 6 = 3760 + 282 = 4042.\n4042 - 19 = 4023.\n\n\\boxed{4023}"),
        ("Solve the system 4x + 3y = 26 and 2x + y = 12. What is x + 3y?",
         "From the second equation: y = 12 - 2x.\nSubstitute into the first: 4x + 3(12 - 2x) = 26, so 4x + 36 - 6x = 26, -2x = -10, x = 5.\nThen y = 12 - 2 × 5 = 2.\nCheck: 4 × 5 + 3 × 2 = 20 + 6 = 26, and 2 × 5 + 2 = 12. Both hold.\nx + 3y = 5 + 3 × 2 = 5 + 6 = 11.\n\n\\boxed{11}"),
        ("What is 28 - 65?",
         "65 is larger than 28, so the result is negative: 65 - 28 = 37.\n28 - 65 = -37.\n\n\\boxed{-37}"),
        ("A cyclist rides 18 km at 12 km/h and then 30 km at 20 km/h. How many hours does the whole trip take?",
         "First part: 18 / 12 = 1.5 hours.\nSecond part: 30 / 20 = 1.5 hours.\nTotal: 1.5 + 1.5 = 3 hours.\n\n\\boxed{3}"),
    ]
}
