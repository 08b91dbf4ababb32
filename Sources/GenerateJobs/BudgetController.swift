import Inference
import Reasoning
import Tokenizers

/// Which part of the output a generated token belongs to.
public enum TokenPart: UInt8, Sendable {
    case thinking, answer, marker, stop
}

/// Plugs a `BudgetForcer` into the generation engine: it sees every sampled token, tracks pending
/// UTF-8 bytes so a forced cut never splits a character, injects the transition and closing marker
/// at the budget, and records which part (thinking, answer, marker) each token belongs to.
///
/// A reference type so the handler can read the counts after the engine is done; it is touched only
/// by the engine's compute thread while the generation runs.
public final class BudgetController: SequenceController, @unchecked Sendable {
    public private(set) var forcer: BudgetForcer
    /// One entry per generated token (sampled and injected), in order.
    public private(set) var parts: [TokenPart] = []
    private let tokenizer: Tokenizer
    private let isCancelled: @Sendable () -> Bool
    private var pendingBytes: [UInt8] = []
    /// Set when the controller stopped the sequence.
    public private(set) var stopReason: Reasoning.FinishReason?

    public init(forcer: BudgetForcer, tokenizer: Tokenizer, isCancelled: @escaping @Sendable () -> Bool = { false }) {
        self.forcer = forcer
        self.tokenizer = tokenizer
        self.isCancelled = isCancelled
    }

    public func next(token: Int32, context: ControlContext) -> ControlAction {
        if context.isStopToken {
            parts.append(.stop)
            return .continue
        }
        if isCancelled() {
            parts.append(forcer.phase == .thinking ? .thinking : .answer)
            stopReason = .cancelled
            return .stop("cancelled")
        }
        let phaseBefore = forcer.phase
        let bytes = tokenizer.pieceBytes(token, special: true)
        pendingBytes.append(contentsOf: bytes)
        let incomplete = UTF8Boundary.incompleteSuffixLength(pendingBytes)
        pendingBytes.removeFirst(pendingBytes.count - incomplete)
        let whitespace = !bytes.isEmpty && bytes.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x09 || $0 == 0x0D }
        let action = forcer.observe(token, pendingUTF8Bytes: incomplete, isWhitespace: whitespace)
        parts.append(part(of: token, before: phaseBefore, after: forcer.phase))
        switch action {
        case .proceed:
            return .continue
        case .inject(let tokens):
            // The transition text is kept with the thinking; the closing marker is a marker.
            parts.append(contentsOf: tokens.dropLast(forcer.markers.close.count).map { _ in TokenPart.thinking })
            parts.append(contentsOf: forcer.markers.close.map { _ in TokenPart.marker })
            pendingBytes.removeAll()
            return .inject(tokens)
        case .stop(let reason):
            stopReason = reason
            return .stop(reason.rawValue)
        }
    }

    private func part(of token: Int32, before: BudgetForcer.Phase, after: BudgetForcer.Phase) -> TokenPart {
        if before == .awaitingThink, after != .awaitingThink, forcer.markers.open.last == token { return .marker }
        if before == .thinking, after == .answering, forcer.closedNaturally, forcer.markers.close.last == token { return .marker }
        return before == .thinking ? .thinking : .answer
    }
}
