import ArgumentParser
import Foundation
import GenerateJobs
import OpenAIBatch
import PostgresClient
import Queue
import QueueCore

/// OpenAI Batch API files: `batch submit`, `batch output`, `batch status`.
struct BatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Run OpenAI Batch API input files as generate jobs and write the API's output files.",
        subcommands: [BatchSubmitCommand.self, BatchOutputCommand.self, BatchStatusCommand.self])
}

struct BatchSubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Validate an OpenAI Batch input file and enqueue one generate job per request and choice.",
        discussion: """
            Each line: {"custom_id", "method": "POST", "url": "/v1/chat/completions" or "/v1/completions", "body"}.
            The body's model is a GGUF path or a file name in $TOKENMILL_MODELS_DIR (or give --model).
            reasoning_effort low/medium/high sets the thinking:answer budgets from --effort-table; a body field
            "difficulty" (or metadata.difficulty) tags the item for the --policy. Prints the batch id alone on stdout.
            """)
    @OptionGroup var db: DatabaseOptions
    @Argument(help: "The input file (JSONL).") var file: String
    @Option(help: "Model for every request (replaces the bodies' model).") var model: String?
    @Option(help: "Budget policy for requests without reasoning_effort: per_difficulty, fixed, adaptive or unlimited.")
    var policy: String = "per_difficulty"
    @Option(help: "Budgets per reasoning_effort, thinking:answer, e.g. low=128:128,medium=512:256,high=2048:512.")
    var effortTable: String?
    @Flag(help: "Enqueue the valid lines even if some are bad (the bad ones go to the error file).") var skipBadLines = false
    @Option(help: "Priority (higher runs first).") var priority: Int = 0
    @Option(help: "Attempts before a job is failed.") var maxAttempts: Int = 3

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("cannot read \(file)")
        }
        guard ["per_difficulty", "fixed", "adaptive", "unlimited"].contains(policy) else {
            throw ValidationError("--policy must be per_difficulty, fixed, adaptive or unlimited")
        }
        let settings = MappingSettings(policy: policy, efforts: try effortTable.map(EffortTable.parse) ?? .standard)
        let input = BatchInput.parse([UInt8](data), modelOverride: model)
        var bad = input.bad
        // Every payload must also satisfy the generate schema (the same check the worker makes).
        let registry = try buildJobRegistry()
        let schema = registry.schema(for: GenerateHandler.kind)!
        var payloads: [PayloadLine] = []
        var requests = 0
        for r in input.requests {
            let ps = r.generatePayloads(settings)
            let problems = ps.flatMap { schema.validate($0) }
            if !problems.isEmpty { bad.append(BadLine(line: r.line, problems: Array(Set(problems)).sorted())); continue }
            requests += 1
            payloads += ps.map { PayloadLine(line: r.line, json: $0.jsonText) }
        }
        bad.sort { $0.line < $1.line }
        let total = requests + bad.count
        if !bad.isEmpty && !skipBadLines { throw QueueError.badLines(bad, total: total) }
        guard !payloads.isEmpty else { throw ValidationError("\(file): no valid request to enqueue") }
        for b in bad { FileHandle.standardError.write(Data("skipped line \(b.line): \(b.problems.joined(separator: "; "))\n".utf8)) }

        let name = "openai-batch \((file as NSString).lastPathComponent)"
        let opts = EnqueueOptions(batchName: name, priority: priority, maxAttempts: maxAttempts)
        let customIDs = Self.customIDs(of: bad, in: data)
        let meta: JSONValue = .object([("openai", .object([
            ("input_file", .string((file as NSString).lastPathComponent)),
            ("endpoint", .string(input.requests.first?.endpoint.rawValue ?? BatchEndpoint.chatCompletions.rawValue)),
            ("requests", .integer(Int64(total))),
            ("bad_lines", .array(bad.map { b in
                .object([("line", .integer(Int64(b.line))), ("custom_id", customIDs[b.line].map { .string($0) } ?? .null),
                         ("problems", .array(b.problems.map { .string($0) }))])
            })),
        ]))])
        let lines = payloads
        let s = try await withQueue(db) { q in
            let s = try await q.enqueue(kind: GenerateHandler.kind, payloads: lines, options: opts)
            _ = try await q.pool.query("UPDATE tokenmill.batches SET metadata = metadata || $2::jsonb WHERE id = $1",
                                       [s.batchID, meta.jsonText])
            return s
        }
        print(s.batchID)
        FileHandle.standardError.write(Data("batch \(s.batchID): \(requests) request(s) as \(s.inserted) generate job(s)\(bad.isEmpty ? "" : ", \(bad.count) bad line(s) skipped")\n".utf8))
    }

    /// The custom_id of each bad line that has one readable, for the error file.
    static func customIDs(of bad: [BadLine], in data: Data) -> [Int: String] {
        let wanted = Set(bad.map(\.line))
        var out: [Int: String] = [:]
        for l in readJSONL(data) where wanted.contains(l.line) {
            if case .success(let v) = l.value, case .string(let c)? = v["custom_id"] { out[l.line] = c }
        }
        return out
    }
}

/// Reads a batch's requests back from tokenmill.jobs and tokenmill.generation_outputs.
enum BatchRecords {
    struct Loaded {
        var requests: [RequestRecord]
        var badLines: [(BadLine, String?)]
        var declaredTotal: Int?
        var endpoint: BatchEndpoint
        /// The batch row: its status (in_progress/completed/cancelled) and times (Unix seconds).
        var batchStatus: String
        var createdAt: Int64
        var finishedAt: Int64?
        var inputFile: String?
    }

    static func load(_ q: JobQueue, batch: Int64) async throws -> Loaded {
        let b = try await q.pool.query("""
            SELECT metadata->'openai', status, extract(epoch FROM created_at)::bigint, extract(epoch FROM finished_at)::bigint
              FROM tokenmill.batches WHERE id = $1
            """, [batch])
        guard let row = b.rows.first else { throw QueueError.notFound("batch \(batch) does not exist") }
        guard let metaText = row[0], let meta = try? JSONValue.parse(metaText) else {
            throw QueueError.invalidArgument("batch \(batch) was not submitted with `tokenmill batch submit`")
        }
        var bad: [(BadLine, String?)] = []
        if case .array(let items)? = meta["bad_lines"] {
            for it in items {
                guard case .integer(let line)? = it["line"] else { continue }
                var problems: [String] = []
                if case .array(let ps)? = it["problems"] { for p in ps { if case .string(let s) = p { problems.append(s) } } }
                var cid: String? = nil
                if case .string(let c)? = it["custom_id"] { cid = c }
                bad.append((BadLine(line: Int(line), problems: problems), cid))
            }
        }
        var total: Int? = nil
        if case .integer(let t)? = meta["requests"] { total = Int(t) }
        var endpoint = BatchEndpoint.chatCompletions
        if case .string(let e)? = meta["endpoint"], let known = BatchEndpoint(rawValue: e) { endpoint = known }
        // Jobs were inserted in input order, choices in order, so job ids give both orders. An output row
        // whose job row was pruned (retention) still counts: it is the job's stored result.
        let rows = try await q.pool.query("""
            SELECT coalesce(j.id, o.job_id), j.state::text, j.last_error,
                   coalesce(j.payload->'openai'->>'custom_id', o.item_id), coalesce(j.payload->>'model', o.model),
                   extract(epoch FROM coalesce(j.created_at, o.created_at))::bigint,
                   o.answer_text, o.thinking_text, o.finish_reason, o.prompt_tokens, o.thinking_tokens,
                   o.forced_tokens, o.answer_tokens, o.logprobs::text, (j.payload->'openai'->>'line')::int
              FROM (SELECT * FROM tokenmill.jobs WHERE batch_id = $1 AND payload ? 'openai') j
              FULL JOIN (SELECT * FROM tokenmill.generation_outputs WHERE batch_id = $1) o ON o.job_id = j.id
             ORDER BY 1
            """, [batch])
        var requests: [RequestRecord] = []
        for r in rows.rows {
            let jobState = r[1] ?? "succeeded"   // no job row: pruned after it succeeded
            let hasOutput = r[6] != nil
            let state: ChoiceRecord.State
            switch jobState {
            case "succeeded": state = hasOutput ? .succeeded : .failed
            case "failed": state = .failed
            case "cancelled": state = .cancelled
            default: state = .pending
            }
            let customID = r[3] ?? ""
            let sameRequest = requests.last?.customID == customID
            var c = ChoiceRecord(jobID: try r.decode(0), choice: sameRequest ? requests[requests.count - 1].choices.count : 0, state: state)
            c.error = r[2] ?? (jobState == "succeeded" && !hasOutput ? "the job succeeded but its output row is missing" : nil)
            if state == .succeeded {
                c.answer = r[6] ?? ""
                c.reasoning = r[7] ?? ""
                c.finishReason = r[8] ?? "stop"
                c.promptTokens = try r.decode(9)
                c.thinkingTokens = try r.decode(10)
                c.forcedTokens = try r.decode(11)
                c.answerTokens = try r.decode(12)
                c.logprobs = r[13].flatMap { try? JSONValue.parse($0) }
            }
            if sameRequest {
                requests[requests.count - 1].choices.append(c)
            } else {
                // The input line from the payload; a pruned job's request keeps its place after the one before.
                let line = try r.decodeIfPresent(14, as: Int.self) ?? (requests.last?.line ?? 0) + 1
                requests.append(RequestRecord(customID: customID, line: line, endpoint: endpoint,
                                              model: r[4] ?? "", created: try r.decode(5), choices: [c]))
            }
        }
        var inputFile: String? = nil
        if case .string(let f)? = meta["input_file"] { inputFile = f }
        return Loaded(requests: requests, badLines: bad, declaredTotal: total, endpoint: endpoint,
                      batchStatus: row[1] ?? "in_progress", createdAt: try row.decode(2), finishedAt: try row.decodeIfPresent(3),
                      inputFile: inputFile)
    }
}

struct BatchOutputCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "output",
        abstract: "Write a batch's OpenAI output file (finished requests, in input order) and its error file.")
    @OptionGroup var db: DatabaseOptions
    @Argument(help: "Batch id (as printed by `batch submit`; `batch_N` also works).") var batch: String
    @Option(help: "Output file (default: stdout).") var out: String?
    @Option(help: "Error file for failed requests and skipped bad lines (default: stderr).") var errors: String?

    func run() async throws {
        let id = try parseBatchID(batch)
        let loaded = try await withQueue(db) { q in try await BatchRecords.load(q, batch: id) }
        var output = "", errorText = "", pending = 0
        // Error lines in input order too: skipped bad lines interleaved with failed requests.
        var errorLines: [(Int, String)] = loaded.badLines.map { ($0.0.line, BatchOutput.badLineError($0.0, customID: $0.1).jsonText) }
        for r in loaded.requests {
            switch r.outcome {
            case .succeeded: output += BatchOutput.successLine(r).jsonText + "\n"
            case .failed, .cancelled: errorLines.append((r.line, BatchOutput.errorLine(r).jsonText))
            case .pending: pending += 1
            }
        }
        for (_, l) in errorLines.sorted(by: { $0.0 < $1.0 }) { errorText += l + "\n" }
        if let out { try output.write(toFile: out, atomically: true, encoding: .utf8) } else { FileHandle.standardOutput.write(Data(output.utf8)) }
        if let errors { try errorText.write(toFile: errors, atomically: true, encoding: .utf8) } else { FileHandle.standardError.write(Data(errorText.utf8)) }
        let done = loaded.requests.count - pending
        FileHandle.standardError.write(Data("batch \(id): \(done - (errorLines.count - loaded.badLines.count)) output line(s), \(errorLines.count) error line(s)\(pending > 0 ? ", \(pending) request(s) still running" : "")\n".utf8))
    }
}

struct BatchStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Print a batch as the OpenAI API's batch object (JSON).")
    @OptionGroup var db: DatabaseOptions
    @Argument(help: "Batch id.") var batch: String

    func run() async throws {
        let id = try parseBatchID(batch)
        let loaded = try await withQueue(db) { q in try await BatchRecords.load(q, batch: id) }
        var completed = 0, failed = loaded.badLines.count
        for r in loaded.requests {
            switch r.outcome {
            case .succeeded: completed += 1
            case .failed, .cancelled: failed += 1
            case .pending: break
            }
        }
        let status = BatchStatus(id: id, endpoint: loaded.endpoint,
                                 total: loaded.declaredTotal ?? (loaded.requests.count + loaded.badLines.count),
                                 completed: completed, failed: failed, cancelledBatch: loaded.batchStatus == "cancelled",
                                 createdAt: loaded.createdAt, finishedAt: loaded.finishedAt, inputFile: loaded.inputFile)
        print(status.json.jsonText)
    }
}

/// `12` or `batch_12`.
func parseBatchID(_ s: String) throws -> Int64 {
    let t = s.hasPrefix("batch_") ? String(s.dropFirst(6)) : s
    guard let id = Int64(t), id > 0 else { throw ValidationError("'\(s)' is not a batch id (e.g. 12 or batch_12)") }
    return id
}
