/// How much reasoning the instruction asks for, in the spirit of OpenAI's `reasoning_effort`: the
/// *request* side of length-adaptive reasoning, where the thinking budget is the *enforced* side.
///
/// An instruct model asked to "reason step by step" writes out every digit of `19 + 81` (and sometimes
/// gets it wrong doing so); cutting that reasoning short removes the computation the answer needs.
/// Asking for less reasoning changes how the model solves the problem instead: measured on
/// Qwen2.5-Coder-1.5B (ops/bench/README.md), `low` answers easy items in a line, `medium` drops the
/// ceremony, `high` is the classic step-by-step prompt. The budget still cuts whatever runs over.
public enum ReasoningEffort: String, Sendable, Codable, CaseIterable, Comparable {
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
        case (.plain, .high): return "Please reason step by step, and put your final answer within \\boxed{}."
        case (.plain, .medium):
            return "Please reason step by step, but keep it short: write only the calculations you need, and put your final answer within \\boxed{}."
        case (.plain, .low):
            return "Be brief: write at most two short lines of working, then put your final answer within \\boxed{}."
        case (.markers, .high):
            return "Think step by step inside <think> </think> tags first, then give only the final answer in \\boxed{}."
        case (.markers, .medium):
            return "Think step by step inside <think> </think> tags first, but keep it short: write only the calculations you need; then give only the final answer in \\boxed{}."
        case (.markers, .low):
            return "Think briefly inside <think> </think> tags, at most two short lines, then give only the final answer in \\boxed{}."
        }
    }
}
