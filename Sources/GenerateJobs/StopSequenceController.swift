import Inference
import Reasoning
import Tokenizers

/// Wraps a `BudgetController` and ends the sequence when the answer text completes one of the
/// payload's stop sequences (`stop`); the handler then cuts the answer before it.
public final class StopSequenceController: SequenceController, @unchecked Sendable {
    public let budget: BudgetController
    private var matcher: StopSequenceMatcher
    private let tokenizer: Tokenizer
    /// Set once a stop sequence ended the sequence.
    public private(set) var matched = false

    public init(_ budget: BudgetController, stops: [String], tokenizer: Tokenizer) {
        self.budget = budget
        self.matcher = StopSequenceMatcher(stops)
        self.tokenizer = tokenizer
    }

    public func next(token: Int32, context: ControlContext) -> ControlAction {
        let action = budget.next(token: token, context: context)
        guard case .continue = action, !context.isStopToken, budget.parts.last == .answer else { return action }
        if matcher.feed(tokenizer.pieceBytes(token, special: false)) {
            matched = true
            return .stop("stop sequence")
        }
        return action
    }
}
