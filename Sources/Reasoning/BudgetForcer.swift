import Inference

/// Token ids of the thinking markers and the transition text, as the model's vocabulary spells them.
public struct ThinkingMarkers: Sendable, Equatable {
    /// Opening marker, e.g. the ids of `<think>` (usually one added token); empty in plain mode.
    public var open: [Int32]
    /// Closing marker, e.g. the ids of `</think>`; empty in plain mode.
    public var close: [Int32]
    /// Text injected before the closing marker when the budget is hit, tokenized.
    public var transition: [Int32]
    /// Text injected after the closing marker that opens the final answer in the form the verifier
    /// reads (plain mode: `Final answer: \boxed{`); empty for marker models (today's behaviour).
    public var answerPrefix: [Int32]

    public init(open: [Int32], close: [Int32], transition: [Int32], answerPrefix: [Int32] = []) {
        self.open = open
        self.close = close
        self.transition = transition
        self.answerPrefix = answerPrefix
    }

    /// Plain mode (no markers): the reasoning is closed by `transition` and the answer opened by
    /// `answerPrefix`.
    public static func plain(transition: [Int32], answerPrefix: [Int32]) -> ThinkingMarkers {
        ThinkingMarkers(open: [], close: [], transition: transition, answerPrefix: answerPrefix)
    }

    /// The transition text of the s1 paper's budget forcing (also what Qwen3's thinking budget uses).
    public static let defaultTransitionText =
        "\n\nConsidering the limited time, I have to give the solution based on the thinking directly now.\n"

    /// Plain mode: closes the reasoning where it stands (the answer prefix follows).
    public static let plainTransitionText = "\n\nI have to stop reasoning here and give the final answer now."
    /// Plain mode: opens the final answer so that the model writes it in the form the verifier reads.
    public static let plainAnswerPrefixText = "\n\nFinal answer: \\boxed{"
}

/// Whether the model writes its reasoning inside thinking markers or as plain text before the answer.
public enum ReasoningMode: String, Sendable, Codable, CaseIterable {
    /// `<think> ... </think>` (R1-distilled, Qwen3): thinking is what the markers enclose.
    case markers
    /// No markers (instruct models asked to reason step by step): thinking is the text before the
    /// final answer; the answer starts at the first answer cue (see `AnswerCue`).
    case plain
    /// No reasoning prompt (plain chat, e.g. OpenAI Batch requests that ask for no reasoning): no
    /// instruction is added and no marker opened or injected; the output is the answer, except a
    /// thinking block the model opens by itself, which is still split off and counted as thinking.
    case none
}

extension ReasoningMode {
    /// The `auto` mode: `markers` when the chat template writes `<think>` or the vocabulary has both
    /// `<think>` and `</think>` as tokens (R1 distills, Qwen3), else `plain` (instruct models such as
    /// Qwen2.5 and SmolLM2, which reason in the open when asked).
    public static func detect(chatTemplate: String?, vocabularyHas: (String) -> Bool) -> ReasoningMode {
        if let t = chatTemplate, t.contains("<think>") { return .markers }
        return vocabularyHas("<think>") && vocabularyHas("</think>") ? .markers : .plain
    }
}

/// Where a plain-mode model's final answer begins: `\boxed{`, "answer is", "final answer"
/// (ASCII, any case), matched in the decoded text.
public enum AnswerCue {
    /// The cues, lower case.
    public static let cues: [[UInt8]] = ["\\boxed{", "answer is", "final answer"].map { Array($0.utf8) }

    /// If a cue ends inside the last `lastCount` bytes of `text`, the offset where it starts.
    public static func match(in text: [UInt8], endingWithin lastCount: Int) -> Int? {
        var best: Int?
        for cue in cues where text.count >= cue.count {
            var i = text.count - cue.count
            while i >= 0 && i + cue.count > text.count - lastCount {
                var ok = true
                for k in 0..<cue.count where lowerASCII(text[i + k]) != cue[k] { ok = false; break }
                if ok { best = min(best ?? i, i); break }
                i -= 1
            }
        }
        return best
    }

    @inline(__always) static func lowerASCII(_ b: UInt8) -> UInt8 { (b >= 65 && b <= 90) ? b + 32 : b }
}

/// Follows a `\boxed{...}` answer that has been opened and reports when its braces balance, so a
/// forced answer can end as soon as it is complete.
public struct BoxedAnswerTracker: Sendable, Equatable {
    /// Open braces of the box still to close (1 right after `\boxed{`).
    public private(set) var depth: Int
    public init(depth: Int = 1) { self.depth = depth }

    /// Feeds answer bytes; true once the box's closing brace has been seen.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> Bool {
        for b in bytes {
            if b == UInt8(ascii: "{") { depth += 1 }
            if b == UInt8(ascii: "}") { depth -= 1; if depth == 0 { return true } }
        }
        return false
    }
}

/// Budget forcing as a pure state machine over the generated token stream (README, "Generate jobs").
///
/// Feed it every token the model samples, in order, with the count of bytes of an unfinished UTF-8
/// character the detokenizer holds after that token. It answers what the engine should do next:
/// continue, inject tokens (transition text + closing marker) without sampling, or stop.
///
/// Counting: thinking tokens are those after the opening marker (plain mode: before the answer cue);
/// marker tokens are not charged, nor are injected ones. A model that closes its thinking (plain
/// mode: starts its answer) by itself is left alone.
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
        /// Withdraw the token just observed (it is not fed through the model) and feed these instead:
        /// a closing marker suppressed by the continuation (`Continuation`).
        case replace([Int32])
        /// End the sequence now.
        case stop(FinishReason)
    }

    /// Budget forcing's other half (the s1 paper's "Wait"): reasoning that ends well below its budget
    /// is not let end once; the end is suppressed and `cue` appended, so the model reasons on. In
    /// marker mode the suppressed end is a one-token closing marker (the R1 distills' `</think>`); in
    /// plain mode, where the end of reasoning is an answer already written, it is the end-of-text
    /// after that answer, and the answer joins the reasoning (`endAfterAnswer()`).
    public struct Continuation: Sendable, Equatable {
        /// Tokens appended in place of the end (e.g. "\n\nWait").
        public var cue: [Int32]
        /// Reasoning that ends with fewer thinking tokens than this is continued.
        public var below: Int
        public init(cue: [Int32], below: Int) {
            self.cue = cue
            self.below = below
        }
    }

    public let markers: ThinkingMarkers
    public let mode: ReasoningMode
    public let budget: Budget
    /// The continuation, when on (off by default).
    public let continuation: Continuation?
    /// Extra thinking tokens allowed past the budget to finish a partial UTF-8 character.
    public let maxCharacterOverrun: Int

    public private(set) var phase: Phase
    public private(set) var thinkingTokens = 0
    public private(set) var answerTokens = 0
    /// Tokens injected by forcing (transition + closing marker).
    public private(set) var injectedTokens = 0
    /// Whether the thinking budget was hit (and thinking forced closed).
    public private(set) var budgetHit = false
    /// Whether the model closed its thinking by itself (plain mode: reached an answer cue).
    public private(set) var closedNaturally = false
    /// Plain mode: the model ended its text before giving an answer and was asked for one
    /// (`endBeforeAnswer()`); the request's tokens count as injected.
    public private(set) var answerRequested = false
    /// Whether the end of reasoning was suppressed and the continuation cue appended (at most once).
    public private(set) var continued = false

    /// Last few tokens, for matching multi-token markers.
    private var recent: [Int32] = []
    private var overrun = 0

    /// - Parameter startsInThinking: true when the prompt already ends with the opening marker
    ///   (the R1-distill template does this).
    public init(markers: ThinkingMarkers, budget: Budget, startsInThinking: Bool, maxCharacterOverrun: Int = 4,
                continuation: Continuation? = nil) {
        self.markers = markers
        self.mode = .markers
        self.budget = budget
        self.continuation = continuation
        self.maxCharacterOverrun = maxCharacterOverrun
        self.phase = startsInThinking ? .thinking : .awaitingThink
    }

    /// Plain mode: reasoning starts with the first generated token; the caller reports answer cues
    /// through `observe(_:completesMarker:)`; at the budget `markers.transition + markers.answerPrefix`
    /// is injected.
    public init(plain markers: ThinkingMarkers, budget: Budget, maxCharacterOverrun: Int = 4,
                continuation: Continuation? = nil) {
        self.markers = markers
        self.mode = .plain
        self.budget = budget
        self.continuation = continuation
        self.maxCharacterOverrun = maxCharacterOverrun
        self.phase = .thinking
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
            if mode == .plain, let k = completesMarker {
                // The answer cue's tokens belong to the answer; its earlier pieces were charged as thinking.
                let moved = min(k - 1, thinkingTokens)
                thinkingTokens -= moved
                answerTokens += moved
                phase = .answering
                closedNaturally = true
                return chargeAnswer()
            }
            if completesMarker != nil || endsWith(markers.close) {
                // A one-token closing marker can be withdrawn before the model sees it.
                if (completesMarker ?? markers.close.count) == 1, let cue = continueReasoning() {
                    recent.removeLast()
                    return .replace(cue)
                }
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

    /// Plain mode: the model sampled its end-of-text while still reasoning, so no answer was given.
    /// Returns the tokens to put in place of the end (`markers.answerPrefix`), once; nil when the end
    /// should stand (marker mode, an answer already begun, or asked once before).
    public mutating func endBeforeAnswer() -> [Int32]? {
        guard mode == .plain, phase == .thinking, !answerRequested, !markers.answerPrefix.isEmpty else { return nil }
        answerRequested = true
        phase = .answering
        injectedTokens += markers.answerPrefix.count
        return markers.answerPrefix
    }

    /// Plain mode with a continuation: the model ended its text after an answer it reached by itself,
    /// with its reasoning below `continuation.below`. Returns the cue to put in place of the end, once:
    /// the answer written so far joins the reasoning (its tokens become thinking tokens) and the model
    /// reasons on until a new answer or the budget. Nil when the end should stand.
    public mutating func endAfterAnswer() -> [Int32]? {
        guard mode == .plain, phase == .answering, closedNaturally, !answerRequested, let cue = continueReasoning() else { return nil }
        thinkingTokens += answerTokens
        answerTokens = 0
        closedNaturally = false
        phase = .thinking
        return cue
    }

    /// The continuation cue when reasoning may be continued here (on, not yet used, no cut, below the
    /// threshold); marks it used.
    private mutating func continueReasoning() -> [Int32]? {
        guard let c = continuation, !continued, !budgetHit, thinkingTokens < c.below else { return nil }
        continued = true
        injectedTokens += c.cue.count
        return c.cue
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
        let tokens = markers.transition + markers.close + markers.answerPrefix
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
