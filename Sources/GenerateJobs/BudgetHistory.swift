import Foundation
import PostgresClient
import Reasoning

/// Learns adaptive budgets from tokenmill.generation_outputs, cached per model for a short while.
public actor BudgetHistory {
    private var cache: [CacheKey: (at: Date, learned: [Difficulty: AdaptiveBudget.Learned])] = [:]
    private struct CacheKey: Hashable {
        var model: String
        var batches: [Int64]?
        var epsilon: Double?, percentile: Double?, minSamples: Int?, scope: String?
    }
    public let ttl: TimeInterval
    /// Most recent outputs read per model and difficulty.
    public let window: Int

    public init(ttl: TimeInterval = 60, window: Int = 2000) {
        self.ttl = ttl
        self.window = window
    }

    /// The adaptive policy for `model`: learned budgets where history suffices, the payload's
    /// per-difficulty table elsewhere.
    public func adaptivePolicy(model: String, payload: GeneratePayload, pool: PostgresPool) async throws -> BudgetPolicy {
        let b = payload.budget
        guard let scope = AdaptiveBudget.Scope(rawValue: b?.scope ?? AdaptiveBudget.Scope.overall.rawValue) else {
            throw GenerateError.badPayload("unknown budget.scope '\(b?.scope ?? "")' (use overall or per_tier)")
        }
        let learner = AdaptiveBudget(epsilon: b?.epsilon ?? 0.02, percentile: b?.percentile ?? 0.9,
                                     minSamples: b?.min_samples ?? 8, scope: scope)
        let learned: [Difficulty: AdaptiveBudget.Learned]
        let key = CacheKey(model: model, batches: b?.history_batches, epsilon: b?.epsilon, percentile: b?.percentile,
                           minSamples: b?.min_samples, scope: b?.scope)
        if let c = cache[key], Date().timeIntervalSince(c.at) < ttl {
            learned = c.learned
        } else {
            learned = learner.learn(from: try await BudgetHistory.samples(model: model, window: window,
                                                                          batches: b?.history_batches, pool: pool))
            cache[key] = (Date(), learned)
        }
        let table = payload.table()
        var budgets: [Difficulty: Budget] = [:]
        for (d, l) in learned { budgets[d] = Budget(thinking: l.thinkingBudget, answer: table[d]?.answer) }
        return .adaptive(learned: budgets, fallback: table)
    }

    /// History rows for `model`: thinking length, whether thinking closed by itself, verdict; only
    /// from `batches` when given (whatever their model).
    public static func samples(model: String, window: Int, batches: [Int64]? = nil,
                               pool: PostgresPool) async throws -> [HistorySample] {
        let rows = try await pool.query("""
            SELECT difficulty, thinking_tokens, (NOT budget_hit AND answer_tokens > 0) AS natural, correct
              FROM (SELECT *, row_number() OVER (PARTITION BY difficulty ORDER BY created_at DESC) AS rn
                      FROM tokenmill.generation_outputs
                     WHERE CASE WHEN $3::bigint[] IS NULL THEN model = $1 ELSE batch_id = ANY($3::bigint[]) END) h
             WHERE rn <= $2
            """, [model, window, batches])
        return try rows.rows.compactMap { r in
            guard let d = Difficulty(rawValue: try r.decode(0, as: String.self)) else { return nil }
            return HistorySample(difficulty: d, thinkingTokens: try r.decode(1), closedNaturally: try r.decode(2),
                                 correct: try r.decodeIfPresent(3))
        }
    }
}
