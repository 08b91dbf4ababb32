/// Token ids of the thinking markers and the transition text, as the model's vocabulary spells them.
public struct ThinkingMarkers: Sendable, Equatable {
    /// Opening marker, e.g. the ids of `<think>` (usually one added token).
    public var open: [Int32]
    /// Closing marker, e.g. the ids of `</think>`.
    public var close: [Int32]
    /// Text injected before the closing marker when the budget is hit, tokenized.
    public var transition: [Int32]

    public init(open: [Int32], close: [Int32], transition: [Int32]) {
        self.open = open
        self.close = close
        self.transition = transition
    }

    /// The transition the s1 paper and DESIGN.md section 3 suggest.
    public static let defaultTransitionText =
        "\n\nConsidering the limited time, I have to give the solution based on the thinking directly now.\n"
}

/// Why a budget-forced sequence ended (the generate job's `finish_reason`).
public enum FinishReason: String, Sendable, Codable {
    /// The model emitted an end-of-generation token.
    case stop
    /// The answer budget or the context ran out.
    case length
    /// The thinking budget was hit and forced closed; the answer then ended normally.
    case budget
    case cancelled
    case error
}

/// Budget forcing as a pure state machine over the generated token stream (DESIGN.md section 3).
///
/// Feed it every token the model samples, in order, with the count of bytes of an unfinished UTF-8
/// character the detokenizer holds after that token. It answers what the engine should do next:
/// continue, inject tokens (transition text + closing marker) without sampling, or stop.
///
/// Counting: thinking tokens are those after the opening marker; marker tokens are not charged, nor
/// are injected ones. A model that closes its thinking by itself is left alone.
public struct BudgetForcer: Sendable {
    public enum Phase: Sendable, Equatable {
        /// Before the opening marker (the prompt did not open thinking).
        case awaitingThink
        case thinking
        case answering
        case finished
    }

    public enum Action: Sendable, Equatable {
        case proceed
        /// Feed these tokens through the model without sampling, then carry on sampling.
        case inject([Int32])
        /// End the sequence now.
        case stop(FinishReason)
    }

    public let markers: ThinkingMarkers
    public let budget: Budget
    /// Extra thinking tokens allowed past the budget to finish a partial UTF-8 character.
    public let maxCharacterOverrun: Int

    public private(set) var phase: Phase
    public private(set) var thinkingTokens = 0
    public private(set) var answerTokens = 0
    /// Tokens injected by forcing (transition + closing marker).
    public private(set) var injectedTokens = 0
    /// Whether the thinking budget was hit (and thinking forced closed).
    public private(set) var budgetHit = false
    /// Whether the model closed its thinking by itself.
    public private(set) var closedNaturally = false

    /// Last few tokens, for matching multi-token markers.
    private var recent: [Int32] = []
    private var overrun = 0

    /// - Parameter startsInThinking: true when the prompt already ends with the opening marker
    ///   (the R1-distill template does this).
    public init(markers: ThinkingMarkers, budget: Budget, startsInThinking: Bool, maxCharacterOverrun: Int = 4) {
        self.markers = markers
        self.budget = budget
        self.maxCharacterOverrun = maxCharacterOverrun
        self.phase = startsInThinking ? .thinking : .awaitingThink
    }

    /// Tokens to append to the prompt before generation starts: when thinking starts in the prompt
    /// and the budget is zero, it is closed at once.
    public mutating func prefill() -> [Int32] {
        guard phase == .thinking, budget.thinking == 0 else { return [] }
        return forceClose()
    }

    /// Observes one sampled token. `pendingUTF8Bytes`: bytes of an incomplete character after it;
    /// `isWhitespace`: the token's text is only whitespace (allowed before the opening marker);
    /// `completesMarker`: the caller matched the marker of the current phase (opening before thinking,
    /// closing while thinking) in the decoded text, and it ends with this token, spread over this many
    /// tokens. Models often spell `</think>` with ordinary tokens (`</`, `think`, `>`) rather than the
    /// ids the marker text encodes to, so text matching catches what id matching cannot.
    public mutating func observe(_ token: Int32, pendingUTF8Bytes: Int = 0, isWhitespace: Bool = false,
                                 completesMarker: Int? = nil) -> Action {
        recent.append(token)
        if recent.count > 16 { recent.removeFirst(recent.count - 16) }
        switch phase {
        case .finished:
            return .stop(.length)
        case .awaitingThink:
            if completesMarker != nil || endsWith(markers.open) {
                phase = .thinking
                // Tokens before the marker were charged to the answer as they came; the marker's own
                // earlier pieces are given back.
                answerTokens -= (completesMarker ?? markers.open.count) - 1
                if budget.thinking == 0 { return .inject(forceClose()) }
                return .proceed
            }
            if isWhitespace || isPrefixOfMarker(markers.open) { answerTokens += 1; return .proceed }
            // The model answered without thinking: everything from here is the answer.
            phase = .answering
            return chargeAnswer()
        case .thinking:
            if completesMarker != nil || endsWith(markers.close) {
                thinkingTokens -= (completesMarker ?? markers.close.count) - 1
                phase = .answering
                closedNaturally = true
                return .proceed
            }
            thinkingTokens += 1
            guard let limit = budget.thinking, thinkingTokens >= limit else { return .proceed }
            if pendingUTF8Bytes > 0 && overrun < maxCharacterOverrun {
                overrun += 1
                return .proceed
            }
            return .inject(forceClose())
        case .answering:
            return chargeAnswer()
        }
    }

    /// Records that the model ended by itself (end-of-generation token) and returns the finish reason.
    public mutating func finish() -> FinishReason {
        phase = .finished
        return budgetHit ? .budget : .stop
    }

    private mutating func chargeAnswer() -> Action {
        answerTokens += 1
        if let limit = budget.answer, answerTokens >= limit {
            phase = .finished
            return .stop(.length)
        }
        return .proceed
    }

    private mutating func forceClose() -> [Int32] {
        budgetHit = true
        phase = .answering
        let tokens = markers.transition + markers.close
        injectedTokens += tokens.count
        return tokens
    }

    private func endsWith(_ marker: [Int32]) -> Bool {
        !marker.isEmpty && recent.count >= marker.count && Array(recent.suffix(marker.count)) == marker
    }

    private func isPrefixOfMarker(_ marker: [Int32]) -> Bool {
        guard marker.count > 1 else { return false }
        for k in stride(from: min(marker.count - 1, recent.count), through: 1, by: -1)
        where Array(recent.suffix(k)) == Array(marker.prefix(k)) {
            return true
        }
        return false
    }
}
