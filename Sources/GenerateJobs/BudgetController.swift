import Inference
import Reasoning
import Tokenizers

/// Which part of the output a generated token belongs to.
public enum TokenPart: UInt8, Sendable {
    case thinking, answer, marker, stop
    /// Injected text that opens the answer (plain mode's `Final answer: \boxed{`): part of the
    /// answer's text, not charged as answer tokens.
    case answerPrefix
}

/// Plugs a `BudgetForcer` into the generation engine: it sees every sampled token, tracks pending
/// UTF-8 bytes so a forced cut never splits a character, injects the transition and closing marker
/// at the budget, and records which part (thinking, answer, marker) each token belongs to.
///
/// Plain mode (models without markers): the answer cues (`AnswerCue`) are matched in the decoded
/// text and end the reasoning; an end-of-text before any answer is replaced by the answer prefix
/// (once); a forced answer ends as soon as its `\boxed{...}` closes.
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
    public private(set) var stopReason: FinishReason?

    /// Marker texts, matched in the decoded output as well as by token ids.
    private let openText: [UInt8]
    private let closeText: [UInt8]
    /// Bytes of the last few tokens of the current phase (for text matching of markers).
    private var tail: [(bytes: ArraySlice<UInt8>, index: Int)] = []
    /// Plain mode: follows the forced `\boxed{` answer until it closes.
    private var forcedBox: BoxedAnswerTracker?

    public init(forcer: BudgetForcer, tokenizer: Tokenizer, openMarker: String = "<think>", closeMarker: String = "</think>",
                isCancelled: @escaping @Sendable () -> Bool = { false }) {
        self.forcer = forcer
        self.tokenizer = tokenizer
        self.isCancelled = isCancelled
        self.openText = Array(openMarker.utf8)
        self.closeText = Array(closeMarker.utf8)
    }

    /// How many trailing tokens spell the current phase's marker, when the newest one completes it.
    private func markerCompletion(_ bytes: ArraySlice<UInt8>) -> Int? {
        if forcer.mode == .plain { return cueCompletion(bytes) }
        let marker: [UInt8]
        switch forcer.phase {
        case .awaitingThink: marker = openText
        case .thinking: marker = closeText
        default: return nil
        }
        guard !marker.isEmpty else { return nil }
        tail.append((bytes, parts.count))
        if tail.count > 12 { tail.removeFirst(tail.count - 12) }
        var joined: [UInt8] = []
        for (k, piece) in tail.reversed().enumerated() {
            joined.insert(contentsOf: piece.bytes, at: 0)
            // The marker must end inside the newest token (else it completed earlier).
            if joined.count >= marker.count, let r = find(marker, in: joined), r + marker.count > joined.count - bytes.count {
                return k + 1
            }
        }
        return nil
    }

    /// Plain mode: how many trailing tokens spell an answer cue, when the newest one completes it.
    private func cueCompletion(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard forcer.phase == .thinking else { return nil }
        tail.append((bytes, parts.count))
        if tail.count > 12 { tail.removeFirst(tail.count - 12) }
        var joined: [UInt8] = []
        for piece in tail { joined.append(contentsOf: piece.bytes) }
        guard !bytes.isEmpty, let start = AnswerCue.match(in: joined, endingWithin: bytes.count) else { return nil }
        // Tokens from the one holding the cue's first byte through the newest.
        var offset = joined.count
        for (k, piece) in tail.reversed().enumerated() {
            offset -= piece.bytes.count
            if offset <= start { return k + 1 }
        }
        return tail.count
    }

    private func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in stride(from: hay.count - needle.count, through: 0, by: -1) where hay[i..<i + needle.count].elementsEqual(needle) {
            return i
        }
        return nil
    }

    public func next(token: Int32, context: ControlContext) -> ControlAction {
        if context.isStopToken {
            if let request = forcer.endBeforeAnswer() {
                // Plain mode, no answer yet: the end is withdrawn and the answer asked for.
                forcedBox = BoxedAnswerTracker()
                return .replace(injected(request, as: .answerPrefix))
            }
            if let cue = forcer.endAfterAnswer() {
                // Plain mode, continuation: the end is withdrawn, the answer written so far joins the
                // reasoning, and the cue (kept with the thinking text) lets the model reason on.
                for i in parts.indices where parts[i] == .answer { parts[i] = .thinking }
                return .replace(injected(cue, as: .thinking))
            }
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
        let completes = markerCompletion(bytes)
        let action = forcer.observe(token, pendingUTF8Bytes: incomplete, isWhitespace: whitespace, completesMarker: completes)
        if case .replace = action {
            // Withdrawn (a closing marker the continuation suppresses): not part of the output.
        } else if let k = completes, forcer.mode == .markers, forcer.phase != phaseBefore {
            // The marker's earlier pieces were recorded as thinking/answer; they are the marker.
            for i in max(0, parts.count - (k - 1))..<parts.count { parts[i] = .marker }
            parts.append(.marker)
            tail.removeAll()
        } else if let k = completes, forcer.mode == .plain, forcer.phase != phaseBefore {
            // The answer cue's earlier pieces were recorded as thinking; they begin the answer.
            for i in max(0, parts.count - (k - 1))..<parts.count { parts[i] = .answer }
            parts.append(.answer)
            tail.removeAll()
        } else {
            parts.append(part(of: token, before: phaseBefore, after: forcer.phase))
        }
        if phaseBefore == .answering, forcedBox != nil, forcedBox!.feed(bytes), case .proceed = action {
            // The forced answer's box is complete: nothing more is needed.
            let reason = forcer.finish()
            stopReason = reason
            return .stop(reason.rawValue)
        }
        switch action {
        case .proceed:
            return .continue
        case .inject(let tokens):
            // The transition text is kept with the thinking; the closing marker is a marker; the
            // answer prefix (plain mode) begins the answer's text.
            let m = forcer.markers
            parts.append(contentsOf: m.transition.map { _ in TokenPart.thinking })
            parts.append(contentsOf: m.close.map { _ in TokenPart.marker })
            parts.append(contentsOf: m.answerPrefix.map { _ in TokenPart.answerPrefix })
            if !m.answerPrefix.isEmpty { forcedBox = BoxedAnswerTracker() }
            resetTextTracking()
            return .inject(tokens)
        case .stop(let reason):
            stopReason = reason
            return .stop(reason.rawValue)
        case .replace(let cue):
            // Marker mode, continuation: the cue (thinking text) is fed in the closing marker's place.
            return .replace(injected(cue, as: .thinking))
        }
    }

    /// Records `tokens`, fed without sampling, as `part` and starts the text tracking afresh after them;
    /// returns them.
    private func injected(_ tokens: [Int32], as part: TokenPart) -> [Int32] {
        parts.append(contentsOf: tokens.map { _ in part })
        resetTextTracking()
        return tokens
    }

    /// After injected tokens: no half-written character and no marker pieces carry over.
    private func resetTextTracking() {
        pendingBytes.removeAll()
        tail.removeAll()
    }

    private func part(of token: Int32, before: BudgetForcer.Phase, after: BudgetForcer.Phase) -> TokenPart {
        if before == .awaitingThink, after != .awaitingThink, forcer.markers.open.last == token { return .marker }
        if before == .thinking, after == .answering, forcer.closedNaturally, forcer.markers.close.last == token { return .marker }
        return before == .thinking ? .thinking : .answer
    }
}
