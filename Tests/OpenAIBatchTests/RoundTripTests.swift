import Foundation
import Inference
import QueueCore
import TestSupport
import Testing

/// The shipped example file (20 lines: chat, system prompts, n=2, stop sequences, logprobs, completions,
/// one bad line) through `batch submit`, a real worker on a tiny model, `batch output` and `batch status`.
@Test(.timeLimit(.minutes(5))) func exampleFileRoundTripsThroughAWorker() async throws {
    let db = try await TestDatabase()
    defer { Task { await db.drop() } }
    let dir = NSTemporaryDirectory() + "tm-openai-\(UInt32.random(in: 0...UInt32.max))/"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let model = dir + "tiny.gguf"
    try TinyModel.write(arch: "qwen2", type: .f32, path: model, seed: 11)
    let input = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("jobs/examples/openai-batch.jsonl").path
    let url = ["--database-url", db.url]
    #expect(try runTokenmill(["migrate"] + url).0 == 0)

    // A file with a bad line is refused whole unless --skip-bad-lines, and the message names the line.
    let refused = try runTokenmill(["batch", "submit", input, "--model", model] + url)
    #expect(refused.0 != 0)
    #expect(refused.2.contains("line 18"))
    #expect(try await db.int("SELECT count(*) FROM tokenmill.jobs") == 0)

    let submitted = try runTokenmill(["batch", "submit", input, "--model", model, "--skip-bad-lines"] + url)
    #expect(submitted.0 == 0, "\(submitted.2)")
    let batch = try #require(Int64(submitted.1.trimmingCharacters(in: .whitespacesAndNewlines)), "stdout must be the batch id alone")
    // 19 valid requests, one of them with n = 2.
    #expect(try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE batch_id = $1", [batch]) == 20)

    let cmplInput = input.replacingOccurrences(of: "openai-batch.jsonl", with: "openai-batch-completions.jsonl")
    let cmplSubmit = try runTokenmill(["batch", "submit", cmplInput, "--model", model] + url)
    let cmplBatch = try #require(Int64(cmplSubmit.1.trimmingCharacters(in: .whitespacesAndNewlines)), "\(cmplSubmit.2)")

    let worker = try startTokenmill(["worker", "--concurrency", "4", "--kinds", "generate"] + url)
    defer { if worker.isRunning { worker.terminate() } }
    let finished = try await eventually(timeout: 240) {
        try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE batch_id = ANY($1::bigint[]) AND state IN ('succeeded', 'failed')",
                         [[batch, cmplBatch]]) == 24
    }
    worker.terminate()
    #expect(finished)

    let out = dir + "out.jsonl", err = dir + "err.jsonl", statusFile = dir + "status.json"
    let o = try runTokenmill(["batch", "output", String(batch), "--out", out, "--errors", err] + url)
    #expect(o.0 == 0, "\(o.2)")
    let outLines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map { try JSONValue.parse(String($0)) }
    let errLines = try String(contentsOfFile: err, encoding: .utf8).split(separator: "\n").map { try JSONValue.parse(String($0)) }

    // Every valid request exactly once, in input order; the bad line in the error file.
    let inputIDs = try String(contentsOfFile: input, encoding: .utf8).split(separator: "\n").compactMap { line -> String? in
        guard case .string(let id)? = try JSONValue.parse(String(line))["custom_id"], id != "bad-01" else { return nil }
        return id
    }
    #expect(outLines.compactMap { if case .string(let s)? = $0["custom_id"] { return s } else { return nil } } == inputIDs)
    #expect(errLines.count == 1)
    #expect(errLines.first?["custom_id"] == .string("bad-01"))
    if case .string(let m)? = errLines.first?["error"]?["message"] { #expect(m.contains("line 18") && m.contains("url")) }

    // Usage equals the database's, per request (choices summed).
    let usage = try await db.pool.query("""
        SELECT item_id, max(prompt_tokens), sum(thinking_tokens + forced_tokens + answer_tokens), count(*)
          FROM tokenmill.generation_outputs WHERE batch_id = $1 GROUP BY item_id
        """, [batch])
    var byID: [String: (Int, Int, Int)] = [:]
    for r in usage.rows { byID[r[0] ?? ""] = (try r.decode(1), try r.decode(2), try r.decode(3)) }
    for line in outLines {
        guard case .string(let id)? = line["custom_id"], let want = byID[id] else { Issue.record("no DB row for \(line)"); continue }
        let u = line["response"]?["body"]?["usage"]
        #expect(u?["prompt_tokens"] == .integer(Int64(want.0)), "\(id)")
        #expect(u?["completion_tokens"] == .integer(Int64(want.1)), "\(id)")
        guard case .array(let choices)? = line["response"]?["body"]?["choices"] else { Issue.record("no choices"); continue }
        #expect(choices.count == want.2, "\(id)")
    }
    let n2 = outLines.first { $0["custom_id"] == .string("n2-01") }
    if case .array(let cs)? = n2?["response"]?["body"]?["choices"] { #expect(cs.count == 2) } else { Issue.record("n2-01 missing") }
    // Log-probabilities when asked: one entry per answer token, each with 3 alternatives.
    let lp = outLines.first { $0["custom_id"] == .string("logprobs-01") }
    if case .array(let cs)? = lp?["response"]?["body"]?["choices"], case .array(let content)? = cs.first?["logprobs"]?["content"] {
        #expect(!content.isEmpty)
        for t in content { if case .array(let top)? = t["top_logprobs"] { #expect(top.count == 3) } else { Issue.record("no top_logprobs") } }
    } else { Issue.record("logprobs-01 has no logprobs.content") }

    let s = try runTokenmill(["batch", "status", "batch_\(batch)"] + url)
    #expect(s.0 == 0, "\(s.2)")
    try s.1.write(toFile: statusFile, atomically: true, encoding: .utf8)
    let status = try JSONValue.parse(s.1)
    #expect(status["status"] == .string("completed"))
    #expect(status["request_counts"] == .object([("total", .integer(20)), ("completed", .integer(19)), ("failed", .integer(1))]))

    // The output stays complete after retention prunes the job rows (outputs are kept).
    _ = try await db.pool.query("DELETE FROM tokenmill.jobs WHERE batch_id = $1", [batch])
    let pruned = try runTokenmill(["batch", "output", String(batch)] + url)
    #expect(pruned.1.split(separator: "\n").map { try? JSONValue.parse(String($0))["custom_id"] } == outLines.map { $0["custom_id"] })

    // Completions: text choices, n = 2, log-probabilities in the legacy layout.
    let cmplOut = dir + "cmpl.jsonl"
    #expect(try runTokenmill(["batch", "output", String(cmplBatch), "--out", cmplOut] + url).0 == 0)
    let cmplLines = try String(contentsOfFile: cmplOut, encoding: .utf8).split(separator: "\n").map { try JSONValue.parse(String($0)) }
    #expect(cmplLines.map { $0["custom_id"] } == ["cmpl-01", "cmpl-02", "cmpl-03"].map { .string($0) })
    #expect(cmplLines.allSatisfy { $0["response"]?["body"]?["object"] == .string("text_completion") })
    if case .array(let cs)? = cmplLines.last?["response"]?["body"]?["choices"] { #expect(cs.count == 2) }
    if case .array(let cs)? = cmplLines[1]["response"]?["body"]?["choices"], case .array(let top)? = cs.first?["logprobs"]?["top_logprobs"] {
        #expect(!top.isEmpty)
    } else { Issue.record("cmpl-02 has no logprobs") }

    // The official openai client's types parse every line (ops/test.sh provides the interpreter).
    if let py = ProcessInfo.processInfo.environment["TOKENMILL_OPENAI_PYTHON"] {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("ops/openai/check_files.py").path
        for args in [["--output", out, "--errors", err, "--status", statusFile], ["--output", cmplOut]] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: py)
            p.arguments = [script] + args
            let pipe = Pipe()
            p.standardError = pipe
            try p.run()
            let msg = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "openai client rejected the files: \(msg)")
        }
    }
}
