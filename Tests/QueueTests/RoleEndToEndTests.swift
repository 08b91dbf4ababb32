import Foundation
import PostgresClient
import Testing
@testable import Queue
import QueueCore

/// Every job kind end to end under the least-privilege roles, with the tokenmill binary only: the
/// submitter enqueues (generate, distill, quantize, imatrix, noop), a worker logged in as
/// tokenmill_worker runs them all, the reader watches. Tiny models come from the binary's dev commands.
@Suite(.serialized) struct RoleEndToEndTests {
    @Test(.timeLimit(.minutes(5)))
    func everyKindRunsUnderTheWorkerRoleAndSubmitsUnderTheSubmitterRole() async throws {
        let db = try await TestDatabase()
        #expect(try runTokenmill(["migrate", "--database-url", db.url]).0 == 0)
        let worker = try await db.loginRole("tokenmill_worker")
        let submitter = try await db.loginRole("tokenmill_submitter")
        let reader = try await db.loginRole("tokenmill_reader")
        let dir = NSTemporaryDirectory() + "tm-roles-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func ok(_ args: [String]) throws -> String {
            let (s, out, err) = try runTokenmill(args)
            #expect(s == 0, "\(args.prefix(2)): \(err)")
            return out + err
        }
        let gen = dir + "/gen.gguf", quant = dir + "/quant.gguf"
        _ = try ok(["dev-tiny-model", "--arch", "qwen2", "--out", gen, "--seed", "7"])
        _ = try ok(["dev-quant-model", "--out", quant])
        let words = (0..<600).map { ["the", "mill", "turns", "grain", "into", "flour", "at", "night."][$0 % 8] }.joined(separator: " ")
        try words.write(toFile: dir + "/text.txt", atomically: true, encoding: .utf8)
        try (0..<3).map { #"{"id": "g\#($0)", "prompt": "what is \#($0) + \#($0)? <think>", "difficulty": "easy", "reference": "\#(2 * $0)"}"# }
            .joined(separator: "\n").write(toFile: dir + "/prompts.jsonl", atomically: true, encoding: .utf8)
        // A temporary file a killed quantize attempt left behind (its pid is gone): the job removes it.
        let dead = Process()
        dead.executableURL = URL(fileURLWithPath: "/bin/true")
        try dead.run()
        dead.waitUntilExit()
        let stale = dir + "/out/tiny-Q8_0.gguf.tmp-\(dead.processIdentifier)"
        try Data(repeating: 7, count: 4096).write(to: URL(fileURLWithPath: stale))

        // Submit everything as the submitter.
        let su = submitter.url
        _ = try ok(["generate", "--database-url", su, "--model", gen, "--prompts", dir + "/prompts.jsonl", "--no-chat",
                    "--policy", "fixed", "--thinking", "24", "--answer", "8"])
        _ = try ok(["distill", "--database-url", su, "--name", "roles", "--prompts", dir + "/prompts.jsonl", "--model", gen,
                    "--samples", "2", "--keep", "1", "--no-chat", "--policy", "fixed", "--thinking", "24"])
        try #"{"source": "\#(quant)", "types": ["Q8_0", "Q4_K_M"], "output_dir": "\#(dir)/out", "name": "tiny", "threads": 2, "eval": {"text": "\#(dir)/text.txt", "context": 32, "chunks": 1}}"#
            .write(toFile: dir + "/q.jsonl", atomically: true, encoding: .utf8)
        _ = try ok(["enqueue", "--database-url", su, "--kind", "quantize", "--file", dir + "/q.jsonl"])
        try #"{"model": "\#(quant)", "text": "\#(dir)/text.txt", "output": "\#(dir)/out/tiny.imatrix.gguf", "chunk_size": 32, "chunks": 2, "threads": 2}"#
            .write(toFile: dir + "/i.jsonl", atomically: true, encoding: .utf8)
        _ = try ok(["enqueue", "--database-url", su, "--kind", "imatrix", "--file", dir + "/i.jsonl"])
        try "{}\n{\"sleep_ms\": 10}".write(toFile: dir + "/n.jsonl", atomically: true, encoding: .utf8)
        _ = try ok(["enqueue", "--database-url", su, "--kind", "noop", "--file", dir + "/n.jsonl"])
        let total = try await db.int("SELECT count(*) FROM tokenmill.jobs")
        #expect(total == 3 + 6 + 1 + 1 + 2)

        // Run them all as the worker.
        let w = try startTokenmill(["worker", "--database-url", worker.url, "--concurrency", "2", "--poll-seconds", "0.5",
                                    "--max-connections", "3"], output: true)
        let settled = try await eventually(timeout: 240) {
            try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE state IN ('succeeded', 'failed', 'cancelled')") == total
        }
        kill(w.processIdentifier, SIGTERM)
        let log = String(decoding: (w.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        w.waitUntilExit()
        #expect(settled)
        let failed = try await db.pool.query("SELECT kind, last_error FROM tokenmill.jobs WHERE state <> 'succeeded'").rows.map(\.values)
        #expect(failed.isEmpty, "\(failed)")
        #expect(!log.contains("permission denied"), "\(log)")
        for (kind, n) in [("generate", 3), ("distill", 6), ("quantize", 1), ("imatrix", 1), ("noop", 2)] {
            #expect(try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE kind = $1 AND state = 'succeeded'", [kind]) == n, "\(kind)")
        }
        #expect(try await db.int("SELECT count(*) FROM tokenmill.generation_outputs") == 3)
        #expect(try await db.int("SELECT count(*) FROM tokenmill.distill_samples") == 6)
        #expect(try await db.int("SELECT count(*) FROM tokenmill.quantization_results") == 2)
        #expect(FileManager.default.fileExists(atPath: dir + "/out/tiny.imatrix.gguf"))
        #expect(!FileManager.default.fileExists(atPath: stale), "the stale temporary file was left behind")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/out").filter { $0.contains(".tmp-") } == [])

        // The reader watches; it may not submit.
        let (rs, rout, rerr) = try runTokenmill(["status", "--database-url", reader.url])
        #expect(rs == 0 && rout.contains("BATCHES"), "\(rerr)")
        let (es, _, eerr) = try runTokenmill(["enqueue", "--database-url", reader.url, "--kind", "noop", "--file", dir + "/n.jsonl"])
        #expect(es != 0 && eerr.contains("permission denied"), "\(eerr)")
        // The submitter reads the results it submitted for.
        #expect(try ok(["results", "--database-url", su, "--batch", "1"]).contains("\"item_id\""))
        await db.drop()
    }
}
