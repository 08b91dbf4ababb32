import Foundation
import Reasoning
import Testing
import TestSupport
@testable import GenerateJobs

/// The adaptive policy reads the database's own history: natural thinking lengths of judged answers.
@Test func adaptivePolicyLearnsFromOutputsInTheDatabase() async throws {
    let db = try await TestDatabase()
    // Easy items of model "m": correct answers thought 10..80 tokens; two wrong ones thought 500;
    // one cut by its budget (not natural) and one that never answered are ignored.
    var rows: [String] = []
    for (i, t) in [10, 20, 30, 40, 50, 60, 70, 80].enumerated() {
        rows.append("(\(i + 1), 'm', 'easy', \(t), 5, false, true)")
    }
    rows.append("(20, 'm', 'easy', 500, 5, false, false)")
    rows.append("(21, 'm', 'easy', 500, 5, false, false)")
    rows.append("(22, 'm', 'easy', 9, 5, true, true)")
    rows.append("(23, 'm', 'easy', 700, 0, false, false)")
    rows.append("(24, 'other', 'easy', 1, 5, false, true)")
    _ = try await db.pool.query("""
        INSERT INTO tokenmill.generation_outputs (job_id, model, difficulty, thinking_tokens, answer_tokens, budget_hit, correct,
               difficulty_source, prompt, finish_reason, prompt_tokens, budget_policy, sampling, seed)
        SELECT v.*, 'tag', 'q', 'stop', 1, 'unlimited', '{}'::jsonb, 1
          FROM (VALUES \(rows.joined(separator: ", "))) AS v(job_id, model, difficulty, thinking_tokens, answer_tokens, budget_hit, correct)
        """)
    let samples = try await BudgetHistory.samples(model: "m", window: 100, pool: db.pool)
    #expect(samples.count == 12)
    #expect(samples.filter(\.closedNaturally).count == 10)
    var p = GeneratePayload(model: "m", prompt: "x")
    p.budget = .init(policy: "adaptive")
    p.budget?.epsilon = 0.1
    let policy = try await BudgetHistory(ttl: 0).adaptivePolicy(model: "m", payload: p, pool: db.pool)
    // 10 judged natural samples, unlimited accuracy 0.8; within 0.1 → budget 70, plus 10% headroom = 77.
    #expect(policy.budget(for: .easy).thinking == 77)
    #expect(policy.budget(for: .hard) == BudgetPolicy.defaultTable[.hard])   // no history: the table
    await db.drop()
}

/// Every reasoning effort the code can record is one the migrated schema accepts (`reasoning_effort`'s
/// check), and a value outside them is refused.
@Test func everyReasoningEffortIsAcceptedByTheSchema() async throws {
    let db = try await TestDatabase()
    func insert(_ jobID: Int, _ effort: String) async throws {
        _ = try await db.pool.query("""
            INSERT INTO tokenmill.generation_outputs (job_id, model, difficulty, thinking_tokens, answer_tokens, budget_hit,
                   difficulty_source, prompt, finish_reason, prompt_tokens, budget_policy, sampling, seed, reasoning_effort)
            VALUES (\(jobID), 'm', 'easy', 1, 1, false, 'tag', 'q', 'stop', 1, 'unlimited', '{}'::jsonb, 1, '\(effort)')
            """)
    }
    for (i, e) in ReasoningEffort.allCases.enumerated() { try await insert(i + 1, e.rawValue) }
    let stored = try await db.pool.query("SELECT reasoning_effort FROM tokenmill.generation_outputs ORDER BY job_id").rows.map { $0.values[0] }
    #expect(stored == ReasoningEffort.allCases.map(\.rawValue))
    await #expect(throws: (any Error).self) { try await insert(99, "extreme") }
    await db.drop()
}
