import Foundation
import Inference
import Queue
import QueueCore
import Reasoning
import Tokenizers

/// Runs `generate` jobs: one prompt item per job, thinking budget by difficulty, output row written
/// in the same transaction as the fenced completion.
///
/// Every job of a worker shares one loaded model and one continuous-batching engine per model, so a
/// worker with `--concurrency N` keeps up to N sequences decoding together, and a finished
/// sequence's slot is refilled as soon as the worker claims the next job.
public struct GenerateHandler: JobHandler {
    public static let kind = "generate"
    /// Plain mode without a thinking budget or an answer budget: answer tokens kept free under the token cap.
    public static let plainAnswerReserve = 64
    public let models: ModelCache
    public let history: BudgetHistory
    /// Greedy continuations reused across jobs (nil = off; `TOKENMILL_GREEDY_REPLAY=1` turns it on).
    public let replay: GreedyReplay?

    public init(models: ModelCache, history: BudgetHistory = BudgetHistory(),
                replay: GreedyReplay? = GreedyReplay.fromEnvironment()) {
        self.models = models
        self.history = history
        self.replay = replay
    }

    public func run(_ job: ClaimedJob, context: JobContext) async throws -> JobResult {
        let payload = try GenerateKind.payload(of: job)
        let loaded = try await models.jobModel(payload.model)
        let output = try await generate(payload, jobID: job.id, batchID: job.batchID, loaded: loaded, context: context,
                                        topLogprobs: payload.top_logprobs.map { max(1, $0) } ?? 0)
        if context.isCancelled { throw JobError.cancelled }
        return try JobResult.encoding(output.summary, statements: [output.insertStatement()])
    }

    /// Generates one item; pure of the queue apart from the history query of the adaptive policy.
    /// - Parameters:
    ///   - topLogprobs: top-k log-probabilities to keep per generated token (soft targets; 0 = none).
    ///   - logprobTemperature: temperature of the softmax they are taken at (1 = the model's own).
    public func generate(_ payload: GeneratePayload, jobID: Int64, batchID: Int64?, loaded: LoadedModel,
                         context: JobContext?, topLogprobs: Int = 0,
                         logprobTemperature: Float = 1) async throws -> GenerationOutput {
        let tokenizer = loaded.tokenizer
        let mode = try payload.reasoningMode(detected: loaded.reasoningMode)
        let markerText = (open: payload.markers?.open ?? "<think>", close: payload.markers?.close ?? "</think>",
                          transition: payload.markers?.transition
                              ?? (mode == .plain ? ThinkingMarkers.plainTransitionText : ThinkingMarkers.defaultTransitionText))
        let encode = { (text: String) in tokenizer.encode(text, addSpecial: false, parseSpecial: true) }
        let markers = mode == .plain
            ? ThinkingMarkers.plain(transition: encode(markerText.transition),
                                    answerPrefix: encode(ThinkingMarkers.plainAnswerPrefixText))
            : ThinkingMarkers(open: encode(markerText.open), close: encode(markerText.close),
                              transition: encode(markerText.transition))

        let (difficulty, difficultySource) = payload.resolvedDifficulty()
        var policy = try payload.staticPolicy()
        if payload.budget?.policy == "adaptive", let pool = context?.pool {
            policy = try await history.adaptivePolicy(model: loaded.path, payload: payload, pool: pool)
        }
        let budget = policy.budget(for: difficulty, override: payload.overrideBudget)
        // `budget.hint`: the thinking budget stated in the instruction (none to state when unlimited).
        let hintedBudget = payload.budget?.hint == true ? budget.thinking : nil
        // `budget.effort`: how much reasoning the instruction asks for (nil when not set: `high`).
        let effort = payload.budget?.effort?.effort(for: difficulty)

        var prompt = try PromptBuilder.build(payload, tokenizer: tokenizer, template: loaded.chatTemplate,
                                             openMarker: markerText.open, mode: mode,
                                             budgetHint: hintedBudget, effort: effort ?? .high)
        let ctx = loaded.engine.contextLength
        let room = 16
        guard prompt.tokens.count + room <= ctx else {
            throw GenerateError.promptTooLong(promptTokens: prompt.tokens.count, contextLength: ctx)
        }
        let overrun = 4
        let forcedSlack = markers.transition.count + markers.close.count + markers.answerPrefix.count + overrun + 2
        let wanted = payload.max_tokens
            ?? ((budget.thinking.map { $0 + forcedSlack } ?? ctx) + (budget.answer ?? ctx))
        let maxTokens = max(1, min(wanted, ctx - prompt.tokens.count))
        var forcer: BudgetForcer
        // `budget.wait`: the continuation of reasoning that ends early, for the difficulties it names.
        let wait = payload.budget?.wait
        func continuation(thinking: Int?) -> BudgetForcer.Continuation? {
            guard let wait, wait.applies(to: difficulty) else { return nil }
            return .init(cue: encode(wait.cueText), below: wait.threshold(thinking: thinking ?? maxTokens))
        }
        if mode == .plain {
            // Without a thinking budget the token cap still ends the reasoning: it is cut where the
            // answer (its budget, else `plainAnswerReserve`) still fits, so every output has an answer.
            var limits = budget
            if limits.thinking == nil {
                limits.thinking = max(0, maxTokens - forcedSlack - (budget.answer ?? GenerateHandler.plainAnswerReserve))
            }
            forcer = BudgetForcer(plain: markers, budget: limits, maxCharacterOverrun: overrun,
                                  continuation: continuation(thinking: limits.thinking))
        } else {
            forcer = BudgetForcer(markers: markers, budget: budget, startsInThinking: prompt.startsInThinking,
                                  maxCharacterOverrun: overrun, continuation: continuation(thinking: budget.thinking))
        }
        let prefill = forcer.prefill()
        prompt.tokens += prefill

        let seed = payload.sampling?.seed ?? GenerationOutput.defaultSeed(itemID: payload.id, jobID: jobID)
        let sampling = payload.samplingParams(defaultSeed: seed)
        let controller = BudgetController(forcer: forcer, tokenizer: tokenizer, openMarker: markerText.open,
                                          closeMarker: markerText.close, isCancelled: { context?.isCancelled ?? false })
        // Greedy replay: walk the controller over this prompt's known greedy tokens first.
        let stopper = (payload.stop ?? []).isEmpty ? nil
            : StopSequenceController(controller, stops: payload.stop ?? [], tokenizer: tokenizer)
        let replayKey = replay != nil && stopper == nil && GreedyReplay.applies(to: sampling, topLogprobs: topLogprobs)
            ? GreedyReplay.Key(model: loaded.path, sampling: sampling, prompt: prompt.tokens) : nil
        var walk = GreedyReplay.Walk()
        if let replay, let replayKey, let path = await replay.path(for: replayKey) {
            walk = GreedyReplay.walk(path, controller: controller, stopTokens: tokenizer.eogIDs, maxTokens: maxTokens)
            if walk.finish == nil, prompt.tokens.count + walk.tokens.count >= ctx { walk.finish = .contextFull }
        }
        var generated: [(token: Int32, injected: Bool, logprobs: Logprobs?)] = walk.tokens.map { ($0.token, $0.injected, nil) }
        var engineFinish = walk.finish ?? .length
        var timeToFirstToken = 0.0, decodeTokensPerSecond = Double.nan
        if walk.finish == nil {
            let request = GenerationRequest(prompt: prompt.tokens + walk.tokens.map(\.token), maxTokens: maxTokens - walk.consumed,
                                            sampling: sampling, stopTokens: tokenizer.eogIDs, topLogprobs: topLogprobs,
                                            logprobTemperature: logprobTemperature, controller: stopper ?? controller)
            let result = try await loaded.engine.generate(request)
            generated += result.tokens.map { ($0.token, $0.injected, $0.logprobs) }
            engineFinish = result.finishReason
            timeToFirstToken = result.timeToFirstToken
            decodeTokensPerSecond = result.decodeTokensPerSecond
        }
        if let replay, let replayKey, engineFinish != .cancelled {
            await replay.record(replayKey, tokens: generated.map { ($0.token, $0.injected) })
        }

        // Split the output by part; the prefilled closing (zero budget) counts as forced.
        var thinkingIDs: [Int32] = [], answerIDs: [Int32] = [], answerPrefixIDs: [Int32] = []
        for (tok, part) in zip(generated, controller.parts) {
            switch part {
            case .thinking: thinkingIDs.append(tok.token)
            case .answer: answerIDs.append(tok.token)
            case .answerPrefix: answerPrefixIDs.append(tok.token)
            case .marker, .stop: break
            }
        }
        // A zero budget's prefilled answer prefix (plain mode) opens the answer too.
        if mode == .plain, !prefill.isEmpty { answerPrefixIDs = markers.answerPrefix + answerPrefixIDs }
        let f = controller.forcer
        let finish: FinishReason
        switch engineFinish {
        case .stop: finish = f.budgetHit ? .budget : .stop
        case .length, .contextFull: finish = .length
        case .cancelled: finish = .cancelled
        case .controller: finish = stopper?.matched == true ? .stop : controller.stopReason ?? .length
        case .budget, .error: finish = engineFinish  // budget forcing's and jobs' own; the engine never reports them
        }
        var answerText = tokenizer.decode(answerPrefixIDs + answerIDs)
        if let stops = payload.stop { answerText = StopSequenceMatcher.truncate(answerText, at: stops) }
        let thinkingText = tokenizer.decode(thinkingIDs)
        let verdict = GenerateHandler.judge(thinking: thinkingText, answer: answerText, answerGiven: !answerIDs.isEmpty,
                                            budgetHit: f.budgetHit, mode: mode, reference: payload.reference)
        return GenerationOutput(
            jobID: jobID, batchID: batchID, itemID: payload.id, model: loaded.path,
            difficulty: difficulty, difficultySource: difficultySource, reasoningMode: mode,
            prompt: payload.prompt ?? payload.messages?.last?.content ?? "",
            thinkingText: thinkingText, answerText: answerText, finishReason: finish,
            promptTokens: prompt.tokens.count, thinkingTokens: f.thinkingTokens, answerTokens: f.answerTokens,
            forcedTokens: f.injectedTokens, budgetPolicy: policy.name + (hintedBudget != nil ? "+hint" : "") + (effort != nil ? "+effort" : "")
                + (wait != nil ? "+wait" : ""),
            reasoningEffort: effort,
            budget: budget, budgetHit: f.budgetHit,
            extractedAnswer: verdict.extracted, reference: payload.reference,
            correct: verdict.correct, ttftMs: timeToFirstToken * 1000,
            decodeTokensPerSecond: decodeTokensPerSecond, sampling: sampling, seed: seed,
            tokenIDs: generated.map(\.token), parts: controller.parts, logprobs: generated.map(\.logprobs),
            answerLogprobsJSON: payload.top_logprobs.map { k in
                answerLogprobs(zip(generated, controller.parts).filter { $0.1 == .answer }.compactMap(\.0.logprobs),
                               top: k, tokenizer: tokenizer)
            })
    }
}

extension GenerateHandler {
    /// The verdict on one output. A model that ended without ever closing its thinking answered inside
    /// it: that text is checked. Plain mode, reasoning not cut: an answer cue with no answer after it
    /// (a phrase such as "the answer is correct." after an answer given in the reasoning, typical of a
    /// check after a continuation) is read from the whole output, its last answer, as a reader would.
    static func judge(thinking: String, answer: String, answerGiven: Bool, budgetHit: Bool, mode: ReasoningMode,
                      reference: String?) -> (extracted: String?, correct: Bool?) {
        let judged = !answerGiven && !budgetHit ? thinking : answer
        let verdict = Verifier.math.verify(answer: judged, reference: reference)
        guard verdict.extracted == nil, answerGiven, !budgetHit, mode == .plain else { return verdict }
        return Verifier.math.verify(answer: thinking + answer, reference: reference)
    }
}

/// Answer tokens' log-probabilities in the layout of the chat completions API's `logprobs.content`:
/// `[{"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob", "bytes"}]}]`, `top` alternatives each.
func answerLogprobs(_ items: [Logprobs], top: Int, tokenizer: Tokenizer) -> String {
    func entry(_ t: TokenLogprob, into s: inout String) {
        let bytes = tokenizer.pieceBytes(t.token, special: true)
        s += "{\"token\":"
        JSONValue.writeString(String(decoding: bytes, as: UTF8.self), to: &s)
        s += ",\"logprob\":\(t.logprob.isFinite ? "\(t.logprob)" : "-9999.0"),\"bytes\":["
        s += bytes.map { String($0) }.joined(separator: ",") + "]"
    }
    var s = "["
    for (i, l) in items.enumerated() {
        if i > 0 { s += "," }
        entry(l.chosen, into: &s)
        s += ",\"top_logprobs\":["
        for (j, t) in l.top.prefix(top).enumerated() {
            if j > 0 { s += "," }
            entry(t, into: &s)
            s += "}"
        }
        s += "]}"
    }
    return s + "]"
}
