import ArgumentParser
import DistillJobs
import Foundation
import GenerateJobs
import PostgresClient
import Queue
import QueueCore
import Reasoning

/// Distill commands: distill (start or resume a dataset build), export (JSONL for trainers).
let distillCommands: [ParsableCommand.Type] = [DistillCommand.self, ExportCommand.self]

struct DistillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill",
        abstract: "Start (or resume) a named distillation dataset build: N teacher samples per prompt, verified and filtered.",
        discussion: """
            Prompts are JSONL: {"id", "prompt" (or "problem"/"question"), "difficulty", "reference" (or "answer"),
            "solution"}. One distill job per prompt and sample index is enqueued with the key
            dataset:prompt:sample, so running the same command again enqueues only what is missing, and a stopped
            daemon picks up where it stopped. --second runs a second distillation: the teacher re-answers an
            existing question/answer set and only answers that reach the given answer are kept.
            """)
    @OptionGroup var db: DatabaseOptions
    @Option(help: "Dataset name (unique).") var name: String
    @Option(help: "JSONL prompt set with references.") var prompts: String
    @Option(help: "Teacher GGUF model.") var model: String
    @Option(help: "Samples per prompt.") var samples: Int = 4
    @Option(help: "Kept samples per prompt; sampling stops early once reached.") var keep: Int = 1
    @Option(help: "Sampling temperature.") var temp: Double = 0.6
    @Option(help: "Top-p.") var topP: Double = 0.95
    @Option(help: "Budget policy: fixed, per_difficulty, adaptive or unlimited.") var policy: String = "per_difficulty"
    @Option(help: "Per-difficulty budgets, e.g. easy=256:256,medium=1024:512,hard=4096:1024.") var table: String?
    @Option(help: "Thinking budget for --policy fixed.") var thinking: Int?
    @Option(help: "Verifier: math, exact, or regex:PATTERN.") var verifier: String = "math"
    @Option(help: "Store the top-k log-probabilities of every generated token (k up to 128).") var softTargets: Int = 0
    @Option(help: "Temperature the soft targets are taken at (1 = the teacher's own distribution).") var softTemp: Double = 1
    @Flag(help: "Keep samples whose thinking hit its budget (rejected by default).") var keepBudgetHits = false
    @Flag(help: "Second distillation of a question/answer set.") var second = false
    @Option(help: "Instruction appended to each question.") var instruction: String?
    @Option(help: "Only the first N prompts.") var limit: Int?
    @Flag(help: "Send prompts as raw text, without the chat template.") var noChat = false

    func run() async throws {
        guard (0...128).contains(softTargets) else { throw ValidationError("--soft-targets must be 0...128") }
        let text: String
        do { text = try String(contentsOfFile: prompts, encoding: .utf8) } catch {
            throw ValidationError("cannot read \(prompts): \(error.localizedDescription)")
        }
        var items: [(line: Int, id: String, problem: String, difficulty: JSONValue?, reference: String?, solution: String?)] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if let limit, items.count >= limit { break }
            guard let v = try? JSONValue.parse(line), case .object = v else {
                throw ValidationError("\(prompts): line \(i + 1) is not a JSON object")
            }
            func str(_ k: String) -> String? {
                switch v[k] { case .string(let s)?: return s; case .integer(let n)?: return String(n); default: return nil }
            }
            guard let problem = str("prompt") ?? str("problem") ?? str("question") else {
                throw ValidationError("\(prompts): line \(i + 1) has no \"prompt\", \"problem\" or \"question\"")
            }
            var reference = str("reference") ?? str("answer")
            if reference == nil, let s = str("solution") { reference = ReasoningAnswer.fromSolution(s) }
            if second && reference == nil {
                throw ValidationError("\(prompts): line \(i + 1): --second needs the given answer (\"answer\", \"reference\" or a \\boxed{} in \"solution\")")
            }
            items.append((i + 1, str("id") ?? "p\(i + 1)", problem, v["difficulty"] ?? v["level"], reference, str("solution")))
        }
        guard !items.isEmpty else { throw ValidationError("\(prompts): no prompts") }
        let verifierSpec: JSONValue
        switch Verifier(spec: verifier) {
        case .regex(let p)?: verifierSpec = .object([("type", .string("regex")), ("pattern", .string(p))])
        case .math?: verifierSpec = .object([("type", .string("math"))])
        case .exact?: verifierSpec = .object([("type", .string("exact"))])
        case nil: throw ValidationError("--verifier must be math, exact or regex:PATTERN with a valid regular expression")
        }
        var budget: [(String, JSONValue)] = [("policy", .string(policy))]
        if let thinking { budget.append(("thinking", .integer(Int64(thinking)))) }
        if let table { budget.append(("table", try GenerateCommand.parseTable(table))) }

        let name = self.name, model = self.model, samples = self.samples, keep = self.keep
        let settings = JSONValue.object([("temperature", .number(temp)), ("top_p", .number(topP)), ("policy", .string(policy)),
                                         ("verifier", verifierSpec), ("soft_targets", .integer(Int64(softTargets)))]).jsonText
        let mode = second ? "second" : "distill"
        let softK = softTargets
        let datasetID: Int64 = try await withQueue(db) { q in
            let r = try await q.pool.query("""
                INSERT INTO tokenmill.datasets (name, mode, model, samples_per_prompt, keep_per_prompt, soft_targets_k, settings)
                VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
                ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
                RETURNING id, model, samples_per_prompt, keep_per_prompt
                """, [name, mode, model, samples, keep, softK, settings])
            let row = r.rows[0]
            if try row.decode(1, as: String.self) != model || row.decode(2, as: Int.self) != samples || row.decode(3, as: Int.self) != keep {
                throw ValidationError("dataset '\(name)' exists with another model or sample counts; pick a new --name")
            }
            return try row.decode(0)
        }
        // The prompts of the dataset (idempotent), then one job per (prompt, sample).
        var lines: [String] = []
        for (pos, it) in items.enumerated() {
            _ = try await withQueue(db) { q in
                try await q.pool.query("""
                    INSERT INTO tokenmill.dataset_prompts (dataset_id, prompt_id, position, difficulty, problem, reference, solution)
                    VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING
                    """, [datasetID, it.id, pos, it.difficulty.flatMap(Self.difficultyText), it.problem, it.reference, it.solution])
            }
            for s in 0..<samples {
                var gen: [(String, JSONValue)] = [("model", .string(model)), ("id", .string(it.id)), ("prompt", .string(it.problem)),
                                                   ("budget", .object(budget)),
                                                   ("sampling", .object([("temperature", .number(temp)), ("top_p", .number(topP)),
                                                                         ("seed", .integer(Int64(Self.seed(name, it.id, s))))]))]
                if let d = it.difficulty { gen.append(("difficulty", d)) }
                if let r = it.reference { gen.append(("reference", .string(r))) }
                if let instruction { gen.append(("instruction", .string(instruction))) }
                if noChat { gen.append(("chat", .bool(false))) }
                var job: [(String, JSONValue)] = [("dataset_id", .integer(datasetID)), ("prompt_id", .string(it.id)),
                                                  ("sample_index", .integer(Int64(s))), ("keep_per_prompt", .integer(Int64(keep))),
                                                  ("key", .string("\(datasetID):\(it.id):\(s)")), ("verifier", verifierSpec),
                                                  ("generate", .object(gen))]
                if keepBudgetHits { job.append(("filters", .object([("reject_budget_hit", .bool(false))]))) }
                if softK > 0 { job.append(("soft_targets", .object([("k", .integer(Int64(softK))), ("temperature", .number(softTemp))]))) }
                lines.append(JSONValue.object(job).jsonText)
            }
        }
        let registry = try buildJobRegistry()
        let v = validateJSONL(lines.joined(separator: "\n"), schema: registry.schema(for: DistillHandler.kind)!,
                              idempotencyKeyField: "key")
        if !v.bad.isEmpty { throw QueueError.badLines(v.bad, total: lines.count) }
        let opts = EnqueueOptions(batchName: "distill \(name)", maxAttempts: 3)
        let s = try await withQueue(db) { q in try await q.enqueue(kind: DistillHandler.kind, payloads: v.valid, options: opts) }
        _ = try await withQueue(db) { q in
            try await q.pool.query("UPDATE tokenmill.datasets SET batch_id = coalesce(batch_id, $2) WHERE id = $1", [datasetID, s.batchID])
        }
        print(datasetID)
        FileHandle.standardError.write(Data(("dataset \(name) (#\(datasetID)): \(items.count) prompts × \(samples) samples; "
            + "enqueued \(s.inserted) job(s) in batch \(s.batchID), \(s.duplicates) already queued or done\n").utf8))
    }

    static func difficultyText(_ v: JSONValue) -> String? {
        switch v { case .string(let s): return s; case .integer(let n): return String(n); default: return nil }
    }

    /// A per-sample seed: stable for (dataset, prompt, sample), different across samples.
    static func seed(_ dataset: String, _ prompt: String, _ sample: Int) -> UInt64 {
        GenerationOutput.stableSeed("\(dataset)\u{1}\(prompt)\u{1}\(sample)")
    }
}

/// Answers given inside a solution text.
enum ReasoningAnswer {
    static func fromSolution(_ s: String) -> String? {
        guard s.contains("\\boxed{") else { return nil }
        return DistillExport.boxed(s)
    }
}

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a dataset's kept samples as JSONL for trainers (finished prompts only, deterministic order).")
    @OptionGroup var db: DatabaseOptions
    @Option(help: "Dataset name.") var dataset: String
    @Option(help: "sft (chat messages) or r1 (problem, solution, answer, generations, correctness, ... per prompt).")
    var format: String = "sft"
    @Option(help: "Output file (default: stdout).") var out: String?
    @Option(help: "Soft-targets sidecar file (default: OUT.softtargets.bin when the dataset has soft targets).")
    var softTargetsOut: String?

    func run() async throws {
        guard let f = DistillExport.Format(rawValue: format) else { throw ValidationError("--format must be sft or r1") }
        let name = dataset
        let data = try await withQueue(db) { q in try await DistillExport.load(dataset: name, pool: q.pool) }
        var sidecarPath = softTargetsOut
        if sidecarPath == nil, data.softTargetsK > 0, let out { sidecarPath = out + ".softtargets.bin" }
        let result = DistillExport.render(data, format: f, withSoftTargets: sidecarPath != nil)
        if let sidecarPath {
            try Data(result.sidecar).write(to: URL(fileURLWithPath: sidecarPath), options: .atomic)
        }
        if let out {
            try result.jsonl.write(toFile: out, atomically: true, encoding: .utf8)
        } else {
            FileHandle.standardOutput.write(Data(result.jsonl.utf8))
        }
        FileHandle.standardError.write(Data("dataset \(name): \(result.records) record(s) from \(data.prompts.count) finished prompt(s)"
            .appending(sidecarPath.map { ", soft targets in \($0)" } ?? "").appending("\n").utf8))
    }
}
