import Foundation
import Testing
import TestSupport

/// A generate batch on a real database and real worker processes: the worker is killed with SIGKILL
/// mid-batch, a second one finishes the batch, and every item has exactly one output.
@Test(.timeLimit(.minutes(3)))
func workerKilledMidBatchLosesNoItemAndDuplicatesNone() async throws {
    let db = try await TestDatabase()
    // `tokenmill migrate` also registers the job kinds this binary runs (jobs of unknown kinds fail on insert).
    #expect(try runTokenmill(["migrate", "--database-url", db.url]).0 == 0)
    let items = 10
    let file = NSTemporaryDirectory() + "gen-kill-\(getpid()).jsonl"
    try (0..<items).map { #"{"id": "k\#($0)", "prompt": "Question \#($0): what is \#($0) + \#($0)? <think>", "difficulty": "hard", "reference": "\#(2 * $0)"}"# }
        .joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
    let (status, out, err) = try runTokenmill(["generate", "--database-url", db.url, "--model", TinyGen.path, "--prompts", file,
                                               "--no-chat", "--policy", "fixed", "--thinking", "150", "--answer", "40"])
    #expect(status == 0, "\(err)")
    let batch = try #require(Int64(out.trimmingCharacters(in: .whitespacesAndNewlines)))
    let workerArgs = ["worker", "--database-url", db.url, "--concurrency", "2", "--kinds", "generate",
                      "--lease-seconds", "2", "--poll-seconds", "0.5"]
    let first = try startTokenmill(workerArgs)
    let someDone = try await eventually(timeout: 60) {
        try await db.int("SELECT count(*) FROM tokenmill.generation_outputs") >= 2
    }
    kill(first.processIdentifier, SIGKILL)
    first.waitUntilExit()
    #expect(someDone)
    let atKill = try await db.int("SELECT count(*) FROM tokenmill.generation_outputs")
    let second = try startTokenmill(workerArgs)
    let finished = try await eventually(timeout: 120) {
        try await db.int("SELECT pending FROM tokenmill.batch_progress WHERE batch_id = $1", [batch]) == 0
    }
    second.terminate()
    second.waitUntilExit()
    #expect(finished)
    #expect(atKill < items, "the kill came after the batch ended; nothing was tested")
    #expect(try await db.int("SELECT count(*) FROM tokenmill.generation_outputs WHERE batch_id = $1", [batch]) == items)
    #expect(try await db.int("SELECT count(DISTINCT item_id) FROM tokenmill.generation_outputs WHERE batch_id = $1", [batch]) == items)
    #expect(try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE batch_id = $1 AND state = 'succeeded'", [batch]) == items)
    // The killed worker's jobs ran again: some job needed a second attempt.
    #expect(try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE batch_id = $1 AND attempt >= 2", [batch]) >= 1)
    // Every output belongs to its job's final attempt: written in the transaction (same now()) that
    // recorded that attempt's result.
    #expect(try await db.int("""
        SELECT count(*) FROM tokenmill.generation_outputs o JOIN tokenmill.jobs j ON j.id = o.job_id
         WHERE o.batch_id = $1 AND NOT EXISTS (SELECT 1 FROM tokenmill.job_results r
                                WHERE r.job_id = o.job_id AND r.attempt = j.attempt AND r.created_at = o.created_at)
        """, [batch]) == 0)
    // Counts add up per row.
    #expect(try await db.int("""
        SELECT count(*) FROM tokenmill.generation_outputs o
         WHERE o.thinking_tokens > 150 + 4 OR o.answer_tokens > 40 OR (o.budget_hit AND o.thinking_tokens < 150)
        """) == 0)
    await db.drop()
}
