import Foundation
import Inference
import PostgresClient
import Queue
import QueueCore
import Reasoning

/// One row of tokenmill.generation_outputs.
public struct GenerationOutput: Sendable {
    public var jobID: Int64
    public var batchID: Int64?
    public var itemID: String?
    public var model: String
    public var difficulty: Difficulty
    public var difficultySource: String
    /// Whether thinking was read between markers or as the plain text before the answer.
    public var reasoningMode: ReasoningMode = .markers
    public var prompt: String
    public var thinkingText: String
    public var answerText: String
    public var finishReason: FinishReason
    public var promptTokens: Int
    public var thinkingTokens: Int
    public var answerTokens: Int
    public var forcedTokens: Int
    public var budgetPolicy: String
    /// The reasoning effort the instruction asked for (`budget.effort`), nil when the payload set none.
    public var reasoningEffort: ReasoningEffort? = nil
    public var budget: Budget
    public var budgetHit: Bool
    public var extractedAnswer: String?
    public var reference: String?
    public var correct: Bool?
    public var ttftMs: Double
    public var decodeTokensPerSecond: Double
    public var sampling: SamplingParams
    public var seed: UInt64
    /// Every generated token id (not stored; for tests and callers).
    public var tokenIDs: [Int32]
    /// Which part each generated token belongs to (parallel to `tokenIDs`).
    public var parts: [TokenPart]
    /// Top-k log-probabilities per generated token when asked for (nil for injected tokens).
    public var logprobs: [Logprobs?]
    /// The answer tokens' log-probabilities as stored in `generation_outputs.logprobs` (JSON), when the
    /// payload asked for them (`top_logprobs`).
    public var answerLogprobsJSON: String? = nil

    /// A seed derived from the item id (stable across batches), else from the job id.
    public static func defaultSeed(itemID: String?, jobID: Int64) -> UInt64 {
        guard let itemID else { return UInt64(bitPattern: jobID) }
        return stableSeed(itemID)
    }

    /// FNV-1a of `text`, shifted to fit a signed bigint: a seed that is the same in every process.
    public static func stableSeed(_ text: String) -> UInt64 {
        StableHash.fnv1a(text) >> 1
    }

    /// The insert, run inside the fenced completion transaction; `ON CONFLICT DO NOTHING` keeps a
    /// row written once even if a stale attempt's statement ever got that far.
    public func insertStatement() throws -> SQLStatement {
        let samplingJSON = String(decoding: try JSONEncoder().encode(sampling), as: UTF8.self)
        return SQLStatement("""
            INSERT INTO tokenmill.generation_outputs
              (job_id, batch_id, item_id, model, difficulty, difficulty_source, prompt, thinking_text, answer_text,
               finish_reason, prompt_tokens, thinking_tokens, answer_tokens, forced_tokens, budget_policy,
               thinking_budget, answer_budget, budget_hit, extracted_answer, reference, correct, ttft_ms,
               decode_tokens_per_s, sampling, seed, reasoning_mode, logprobs, reasoning_effort)
            VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24::jsonb,$25,$26,$27::jsonb,$28)
            ON CONFLICT (job_id) DO NOTHING
            """, [
            jobID, batchID, itemID, model, difficulty.rawValue, difficultySource, prompt.pgSafe, thinkingText.pgSafe,
            answerText.pgSafe,
            finishReason.rawValue, promptTokens, thinkingTokens, answerTokens, forcedTokens, budgetPolicy,
            budget.thinking, budget.answer, budgetHit, extractedAnswer?.pgSafe, reference, correct, ttftMs,
            decodeTokensPerSecond.isFinite ? decodeTokensPerSecond : nil, samplingJSON, Int64(bitPattern: seed),
            reasoningMode.rawValue, answerLogprobsJSON, reasoningEffort?.rawValue,
        ])
    }

    /// The small result stored on the job itself.
    public struct Summary: Codable, Sendable {
        public var finish_reason: String
        public var thinking_tokens: Int
        public var answer_tokens: Int
        public var budget_hit: Bool
        public var correct: Bool?
    }

    public var summary: Summary {
        Summary(finish_reason: finishReason.rawValue, thinking_tokens: thinkingTokens, answer_tokens: answerTokens,
                budget_hit: budgetHit, correct: correct)
    }
}

extension String {
    /// PostgreSQL text cannot hold NUL; a model can emit the byte, so it becomes U+FFFD.
    public var pgSafe: String { contains("\u{0}") ? replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : self }
}
