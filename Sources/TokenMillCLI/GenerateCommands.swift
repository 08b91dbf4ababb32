import ArgumentParser
import Foundation
import DistillJobs
import GenerateJobs
import QuantizeJobs
import PostgresClient
import Queue
import QueueCore

/// Generate commands: generate (enqueue a prompt set), results (export), report (per-difficulty usage).
let generateCommands: [ParsableCommand.Type] = [GenerateCommand.self, ResultsCommand.self, ReportCommand.self]

/// How job kinds that run models are set up in this process (the worker fills it from its options).
enum JobKindSettings {
    nonisolated(unsafe) static var concurrency = 4
    nonisolated(unsafe) static var threads = ProcessInfo.processInfo.activeProcessorCount
    nonisolated(unsafe) static var contextLength: Int? = 4096
}

/// Registers the model-running kinds (generate, ...) next to the queue's own.
func registerModelKinds(_ registry: inout JobRegistry) throws {
    let models = ModelCache(threads: JobKindSettings.threads, maxSequences: JobKindSettings.concurrency,
                            contextLength: JobKindSettings.contextLength)
    let generate = GenerateHandler(models: models)
    try registry.register(generate)
    try registry.register(DistillHandler(generator: generate))
    try registry.register(QuantizeHandler(threads: JobKindSettings.threads))
    try registry.register(ImatrixHandler(threads: JobKindSettings.threads))
}

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Enqueue a prompt set as one batch of generate jobs with a thinking-budget policy.",
        discussion: """
            Each line of --prompts is an item: {"id", "prompt" or "messages", "difficulty", "reference", "override"}.
            The batch's settings (model, sampling, budget policy) are copied into every job's payload, so each job
            is complete on its own (jobs/schemas/generate.schema.json). Run `tokenmill worker` to process them.
            """)
    @OptionGroup var db: DatabaseOptions
    @Option(help: "GGUF model path (as the worker will see it) or a file name in $TOKENMILL_MODELS_DIR.") var model: String
    @Option(help: "JSONL prompt set.") var prompts: String
    @Option(help: "Budget policy: fixed, per_difficulty, adaptive or unlimited.") var policy: String = "per_difficulty"
    @Option(help: "Thinking budget for --policy fixed.") var thinking: Int?
    @Option(help: "Answer budget (fixed and unlimited policies).") var answer: Int?
    @Option(help: "Per-difficulty budgets, e.g. easy=64:128,medium=256:256,hard=1024:512 (thinking:answer).")
    var table: String?
    @Option(help: "Sampling temperature (0 = greedy).") var temp: Double = 0
    @Option(help: "Sampling seed (default: derived from each item's id).") var seed: UInt64?
    @Option(help: "Cap on generated tokens per item.") var maxTokens: Int?
    @Flag(help: "Send prompts as raw text, without the chat template.") var noChat = false
    @Option(help: "Instruction appended to each prompt.") var instruction: String?
    @Option(help: "Batch name.") var batchName: String?
    @Option(help: "Priority (higher runs first).") var priority: Int = 0
    @Option(help: "Attempts before a job is failed.") var maxAttempts: Int = 3
    @Option(help: "Only the first N items.") var limit: Int?

    func run() async throws {
        let text: String
        do { text = try String(contentsOfFile: prompts, encoding: .utf8) } catch {
            throw ValidationError("cannot read \(prompts): \(error.localizedDescription)")
        }
        var settings: [String: JSONValue] = ["model": .string(model)]
        var budget: [String: JSONValue] = ["policy": .string(policy)]
        if let thinking { budget["thinking"] = .integer(Int64(thinking)) }
        if let answer { budget["answer"] = .integer(Int64(answer)) }
        if let table { budget["table"] = try Self.parseTable(table) }
        settings["budget"] = .object(budget.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        var sampling: [String: JSONValue] = ["temperature": .number(temp)]
        if let seed { sampling["seed"] = .integer(Int64(seed)) }
        settings["sampling"] = .object(sampling.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        if let maxTokens { settings["max_tokens"] = .integer(Int64(maxTokens)) }
        if noChat { settings["chat"] = .bool(false) }
        if let instruction { settings["instruction"] = .string(instruction) }

        // Merge settings into every item, keeping line numbers for error messages.
        var lines: [String] = []
        var count = 0
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { lines.append(""); continue }
            if let limit, count >= limit { break }
            count += 1
            guard case .object(var item) = try? JSONValue.parse(line) else {
                throw ValidationError("\(prompts): line \(i + 1) is not a JSON object")
            }
            for (k, v) in settings.sorted(by: { $0.key < $1.key }) where !item.contains(where: { $0.0 == k }) {
                item.append((k, v))
            }
            lines.append(JSONValue.object(item).jsonText)
        }
        var registry = JobRegistry()
        try registerModelKinds(&registry)
        let v = validateJSONL(lines.joined(separator: "\n"), schema: registry.schema(for: GenerateHandler.kind)!)
        if !v.bad.isEmpty { throw QueueError.badLines(v.bad, total: v.bad.count + v.valid.count) }
        let opts = EnqueueOptions(batchName: batchName ?? "generate \(policy) \((prompts as NSString).lastPathComponent)",
                                  priority: priority, maxAttempts: maxAttempts)
        let s = try await withQueue(db) { q in try await q.enqueue(kind: GenerateHandler.kind, payloads: v.valid, options: opts) }
        print(s.batchID)
        FileHandle.standardError.write(Data("batch \(s.batchID): enqueued \(s.inserted) generate job(s), policy \(policy)\n".utf8))
    }

    static func parseTable(_ s: String) throws -> JSONValue {
        var out: [String: JSONValue] = [:]
        for part in s.split(separator: ",") {
            let kv = part.split(separator: "=")
            let nums = kv.count == 2 ? kv[1].split(separator: ":").compactMap { Int($0) } : []
            guard kv.count == 2, ["easy", "medium", "hard"].contains(String(kv[0])), (1...2).contains(nums.count) else {
                throw ValidationError("--table: '\(part)' is not like easy=64:128 (difficulty=thinking[:answer])")
            }
            var b: [(String, JSONValue)] = [("thinking", .integer(Int64(nums[0])))]
            if nums.count == 2 { b.append(("answer", .integer(Int64(nums[1])))) }
            out[String(kv[0])] = .object(b)
        }
        return .object(out.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }
}

struct ResultsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results", abstract: "Export a generate batch's outputs as JSONL or CSV, in item order.")
    @OptionGroup var db: DatabaseOptions
    @Option(help: "Batch id.") var batch: Int64
    @Option(help: "jsonl or csv.") var format: String = "jsonl"
    @Option(help: "Output file (default: stdout).") var out: String?

    static let columns = ["job_id", "item_id", "model", "difficulty", "difficulty_source", "prompt", "thinking_text",
                          "answer_text", "finish_reason", "prompt_tokens", "thinking_tokens", "answer_tokens",
                          "forced_tokens", "budget_policy", "thinking_budget", "answer_budget", "budget_hit",
                          "extracted_answer", "reference", "correct", "ttft_ms", "decode_tokens_per_s", "seed"]

    func run() async throws {
        guard format == "jsonl" || format == "csv" else { throw ValidationError("--format must be jsonl or csv") }
        let batch = self.batch
        let sql: String
        if format == "jsonl" {
            sql = "SELECT row_to_json(o)::text FROM (SELECT \(Self.columns.joined(separator: ", ")), sampling FROM tokenmill.generation_outputs WHERE batch_id = $1 ORDER BY item_id, job_id) o"
        } else {
            sql = "SELECT \(Self.columns.joined(separator: ", ")) FROM tokenmill.generation_outputs WHERE batch_id = $1 ORDER BY item_id, job_id"
        }
        let result = try await withQueue(db) { q in try await q.pool.query(sql, [batch]) }
        var text = ""
        if format == "jsonl" {
            for r in result.rows { text += (r[0] ?? "") + "\n" }
        } else {
            text += Self.columns.joined(separator: ",") + "\n"
            for r in result.rows { text += r.values.map { csvField($0) }.joined(separator: ",") + "\n" }
        }
        if let out {
            try text.write(toFile: out, atomically: true, encoding: .utf8)
            FileHandle.standardError.write(Data("wrote \(result.rows.count) row(s) to \(out)\n".utf8))
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }

    func csvField(_ v: String?) -> String {
        guard let v else { return "" }
        if v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return v
    }
}

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Per-difficulty usage of a generate batch (tokenmill.generation_usage), optionally against a baseline batch.")
    @OptionGroup var db: DatabaseOptions
    @Option(help: "Batch id.") var batch: Int64
    @Option(help: "Baseline batch id (e.g. the same prompts under a fixed budget).") var baseline: Int64?

    func run() async throws {
        let ids: [Int64] = [batch] + (baseline.map { [$0] } ?? [])
        let rows = try await withQueue(db) { q in
            try await q.pool.query("""
                SELECT batch_id, difficulty, budget_policy, items, thinking_tokens, answer_tokens,
                       round(mean_thinking_tokens::numeric, 1), round((budget_hit_rate * 100)::numeric, 1),
                       round((accuracy * 100)::numeric, 1), judged
                  FROM tokenmill.generation_usage WHERE batch_id = ANY($1::bigint[])
                 ORDER BY batch_id, CASE difficulty WHEN 'easy' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END
                """, [ids])
        }
        struct Line { var policy: String; var items: Int; var thinking: Int; var answer: Int; var mean: String; var hit: String; var acc: String; var judged: Int }
        var byBatch: [Int64: [String: Line]] = [:]
        for r in rows.rows {
            let b: Int64 = try r.decode(0)
            byBatch[b, default: [:]][try r.decode(1, as: String.self)] = Line(
                policy: try r.decode(2), items: try r.decode(3), thinking: try r.decode(4), answer: try r.decode(5),
                mean: r[6] ?? "-", hit: r[7] ?? "-", acc: r[8] ?? "-", judged: try r.decode(9))
        }
        guard let main = byBatch[batch] else { throw ValidationError("batch \(batch) has no generate outputs yet") }
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        var header = pad("difficulty", 11) + pad("policy", 15) + pad("items", 7) + pad("think tok", 11) + pad("mean think", 12)
            + pad("hit %", 8) + pad("acc %", 8)
        if baseline != nil { header += pad("base think", 12) + pad("base acc %", 12) + "saved %" }
        print(header)
        var tot = (think: 0, base: 0, ok: 0.0, n: 0, bok: 0.0, bn: 0)
        for d in ["easy", "medium", "hard"] {
            guard let l = main[d] else { continue }
            var line = pad(d, 11) + pad(l.policy, 15) + pad("\(l.items)", 7) + pad("\(l.thinking)", 11) + pad(l.mean, 12)
                + pad(l.hit, 8) + pad(l.acc, 8)
            tot.think += l.thinking
            if let a = Double(l.acc) { tot.ok += a * Double(l.judged) / 100; tot.n += l.judged }
            if let baseline, let b = byBatch[baseline]?[d] {
                let saved = b.thinking > 0 ? 100 * Double(b.thinking - l.thinking) / Double(b.thinking) : 0
                line += pad("\(b.thinking)", 12) + pad(b.acc, 12) + String(format: "%.1f", saved)
                tot.base += b.thinking
                if let a = Double(b.acc) { tot.bok += a * Double(b.judged) / 100; tot.bn += b.judged }
            }
            print(line)
        }
        var total = pad("total", 11) + pad("", 15) + pad("", 7) + pad("\(tot.think)", 11) + pad("", 12) + pad("", 8)
            + pad(tot.n > 0 ? String(format: "%.1f", 100 * tot.ok / Double(tot.n)) : "-", 8)
        if baseline != nil {
            total += pad("\(tot.base)", 12) + pad(tot.bn > 0 ? String(format: "%.1f", 100 * tot.bok / Double(tot.bn)) : "-", 12)
                + (tot.base > 0 ? String(format: "%.1f", 100 * Double(tot.base - tot.think) / Double(tot.base)) : "-")
        }
        print(total)
    }
}
