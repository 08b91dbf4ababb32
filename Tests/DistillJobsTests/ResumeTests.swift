import Foundation
import Testing
import TestSupport

/// A dataset build is killed mid-way (SIGKILL) and resumed: exact sample counts, no sample twice,
/// re-running the same command enqueues nothing new, and the export matches the database.
@Test(.timeLimit(.minutes(3)))
func buildResumesAfterKillWithExactCounts() async throws {
    let db = try await TestDatabase()
    // `tokenmill migrate` also registers the job kinds this binary runs (jobs of unknown kinds fail on insert).
    #expect(try runTokenmill(["migrate", "--database-url", db.url]).0 == 0)
    let file = NSTemporaryDirectory() + "distill-resume-\(getpid()).jsonl"
    try (0..<4).map { #"{"id": "q\#($0)", "prompt": "Q\#($0): add \#($0) and 1. <think>", "difficulty": "easy", "reference": "\#($0 + 1)"}"# }
        .joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
    let create = ["distill", "--database-url", db.url, "--name", "resume-test", "--prompts", file, "--model", TinyTeacher.path,
                  "--samples", "3", "--keep", "3", "--no-chat", "--policy", "fixed", "--thinking", "120", "--soft-targets", "3",
                  "--keep-budget-hits"]
    let (s1, _, e1) = try runTokenmill(create)
    #expect(s1 == 0, "\(e1)")
    #expect(e1.contains("enqueued 12 job(s)"))
    let workerArgs = ["worker", "--database-url", db.url, "--concurrency", "2", "--kinds", "distill",
                      "--lease-seconds", "2", "--poll-seconds", "0.5"]
    let first = try startTokenmill(workerArgs)
    _ = try await eventually(timeout: 60) { try await db.int("SELECT count(*) FROM tokenmill.distill_samples") >= 3 }
    kill(first.processIdentifier, SIGKILL)
    first.waitUntilExit()
    let atKill = try await db.int("SELECT count(*) FROM tokenmill.distill_samples")
    // Resuming: the same command enqueues nothing new; a new worker finishes the build.
    let (s2, _, e2) = try runTokenmill(create)
    #expect(s2 == 0 && e2.contains("enqueued 0 job(s)"), "\(e2)")
    let second = try startTokenmill(workerArgs)
    let done = try await eventually(timeout: 120) { try await db.int("SELECT count(*) FROM tokenmill.distill_samples") >= 12 }
    // Let any duplicate attempt land before counting.
    _ = try await eventually(timeout: 30) {
        try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE kind = 'distill' AND state NOT IN ('succeeded', 'failed')") == 0
    }
    second.terminate()
    second.waitUntilExit()
    #expect(done)
    #expect(atKill < 12, "the kill came after the build ended; nothing was tested")
    #expect(try await db.int("SELECT count(*) FROM tokenmill.distill_samples") == 12)
    #expect(try await db.int("SELECT count(DISTINCT (prompt_id, sample_index)) FROM tokenmill.distill_samples") == 12)
    #expect(try await db.int("SELECT sum(samples_generated)::int FROM tokenmill.dataset_progress") == 12)
    #expect(try await db.int("SELECT count(*) FROM tokenmill.distill_samples WHERE soft_k = 3 AND soft_targets IS NOT NULL") == 12)
    // The R1 export: one record per prompt with every generation, matching the rows.
    let (s3, jsonl, e3) = try runTokenmill(["export", "--database-url", db.url, "--dataset", "resume-test", "--format", "r1"])
    #expect(s3 == 0, "\(e3)")
    let records = jsonl.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    #expect(records.count == 4)
    for r in records {
        let gens = r?["generations"] as? [String]
        #expect(gens?.count == 3)
        let pid = try #require(r?["prompt_id"] as? String)
        let dbKept = try await db.int("SELECT count(*) FROM tokenmill.distill_samples WHERE prompt_id = $1 AND status = 'kept'", [pid])
        #expect((r?["kept"] as? [Bool])?.filter { $0 }.count == dbKept)
    }
    await db.drop()
}
