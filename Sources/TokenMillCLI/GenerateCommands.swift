import ArgumentParser
import Foundation
import GenerateJobs
import PostgresClient
import Queue
import QueueCore
import Reasoning

/// Generate commands: generate (enqueue a prompt set), results (export), report (accuracy against
/// thinking tokens), learn-budgets (what the adaptive policy learns), learn-effort (which effort each difficulty
/// should get), difficulty (fit the estimator).
let generateCommands: [ParsableCommand.Type] = [GenerateCommand.self, ResultsCommand.self, ReportCommand.self,
                                                LearnBudgetsCommand.self, LearnEffortCommand.self, DifficultyCommand.self]

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
    @Option(help: "Only the items of this half of an evaluation set (fit or heldout; the fixed rule on each item's id).")
    var split: String?
    @Option(help: "Reasoning mode: markers (<think>...</think>), plain (the text before the final answer), none (plain chat: the whole output is the answer) or auto (from the model).")
    var reasoning: String?
    @Option(help: "Adaptive policy: learn only from this batch's outputs (repeatable), e.g. a run on the fit half.")
    var historyBatch: [Int64] = []
    @Option(help: "Adaptive policy: accuracy the learned budgets may give up against unlimited (fraction, default 0.02).")
    var epsilon: Double?
    @Option(help: "Adaptive policy: where --epsilon applies, overall (budgets chosen jointly across difficulties; default) or per_tier.")
    var scope: String?
    @Flag(help: "State each item's thinking budget in the instruction (\"Use less than N tokens for your reasoning.\").")
    var hintBudget = false
    @Option(help: "Reasoning effort the instruction asks for: minimal (plain mode: short worked examples shown first), low, medium or high for every item, or per difficulty, e.g. easy=minimal,medium=low,hard=high (default high).")
    var effort: String?
    @Option(help: "JSONL of worked examples, {\"question\", \"answer\"} a line, that effort minimal shows instead of the built-in arithmetic ones (budget.examples).")
    var examples: String?

    @Option(help: "Continue the reasoning of hard items that ends below this fraction of their thinking budget (the s1 paper's \"Wait\"): the end is suppressed once and the cue appended (budget.wait; off by default).")
    var waitBelow: Double?

    @Option(help: "The cue appended when reasoning is continued (default Wait); given alone it turns the continuation on at the default fraction, 0.5.")
    var waitCue: String?

    func run() async throws {
        let text: String
        do { text = try String(contentsOfFile: prompts, encoding: .utf8) } catch {
            throw ValidationError("cannot read \(prompts): \(error.localizedDescription)")
        }
        let half: EvalSplit?
        if let split {
            guard let h = EvalSplit(name: split) else { throw ValidationError("--split must be fit or heldout") }
            half = h
        } else {
            half = nil
        }
        var settings: [String: JSONValue] = ["model": .string(model)]
        if let reasoning {
            guard ["markers", "plain", "none", "auto"].contains(reasoning) else {
                throw ValidationError("--reasoning must be markers, plain, none or auto")
            }
            settings["reasoning"] = .object([("mode", .string(reasoning))])
        }
        var budget: [String: JSONValue] = ["policy": .string(policy)]
        if !historyBatch.isEmpty { budget["history_batches"] = .array(historyBatch.map { .integer($0) }) }
        if let epsilon { budget["epsilon"] = .number(epsilon) }
        if let scope { budget["scope"] = .string(scope) }
        if hintBudget { budget["hint"] = .bool(true) }
        if let effort { budget["effort"] = try Self.parseEffort(effort) }
        if let examples {
            // Only `minimal` shows them: examples with no item that would see them are a mistake to report. The
            // efforts asked, as `parseEffort` read them: one for every item, or one per difficulty.
            let asked: [JSONValue]
            switch budget["effort"] {
            case .object(let tiers)?: asked = tiers.map(\.1)
            case let one?: asked = [one]
            case nil: asked = []
            }
            guard asked.contains(.string(ReasoningEffort.minimal.rawValue)) else {
                throw ValidationError("--examples are shown only at --effort minimal (for every item, or a difficulty as in easy=minimal)")
            }
            budget["examples"] = try Self.readExamples(examples)
        }
        if waitBelow != nil || waitCue != nil {
            var wait: [(String, JSONValue)] = []
            if let waitBelow {
                guard waitBelow > 0, waitBelow <= 1 else { throw ValidationError("--wait-below must be a fraction in (0, 1]") }
                wait.append(("below", .number(waitBelow)))
            }
            if let waitCue { wait.append(("cue", .string(waitCue))) }
            budget["wait"] = .object(wait)
        }
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
            guard case .object(var item) = try? JSONValue.parse(line) else {
                throw ValidationError("\(prompts): line \(i + 1) is not a JSON object")
            }
            if let half {
                guard case .string(let id)? = item.first(where: { $0.0 == "id" })?.1 else {
                    throw ValidationError("\(prompts): line \(i + 1) has no \"id\", which --split needs")
                }
                if EvalSplit(itemID: id) != half { lines.append(""); continue }
            }
            count += 1
            for (k, v) in settings.sorted(by: { $0.key < $1.key }) where !item.contains(where: { $0.0 == k }) {
                item.append((k, v))
            }
            lines.append(JSONValue.object(item).jsonText)
        }
        let registry = try buildJobRegistry()
        let v = validateJSONL(lines.joined(separator: "\n"), schema: registry.schema(for: GenerateHandler.kind)!)
        if !v.bad.isEmpty { throw QueueError.badLines(v.bad, total: v.bad.count + v.valid.count) }
        let opts = EnqueueOptions(batchName: batchName ?? "generate \(policy) \((prompts as NSString).lastPathComponent)",
                                  priority: priority, maxAttempts: maxAttempts)
        let s = try await withQueue(db) { q in try await q.enqueue(kind: GenerateHandler.kind, payloads: v.valid, options: opts) }
        print(s.batchID)
        FileHandle.standardError.write(Data("batch \(s.batchID): enqueued \(s.inserted) generate job(s), policy \(policy)\n".utf8))
    }

    /// `--examples FILE`: one `{"question", "answer"}` object a line, read as every JSONL file is (`readJSONL`:
    /// blank lines skipped, a bad line named by its number); the payload schema checks the fields and bounds of
    /// each with the rest of the item.
    static func readExamples(_ path: String) throws -> JSONValue {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ValidationError("cannot read --examples \(path): \(error.localizedDescription)")
        }
        var out: [JSONValue] = []
        for l in readJSONL(data) {
            guard case .success(let v) = l.value, case .object = v else {
                throw ValidationError("--examples \(path): line \(l.line) is not a JSON object like {\"question\": ..., \"answer\": ...}")
            }
            out.append(v)
        }
        guard !out.isEmpty else { throw ValidationError("--examples \(path): no example in the file") }
        return .array(out)
    }

    /// `--effort`: `medium` (every item) or `easy=low,medium=medium,hard=high` (per difficulty).
    static func parseEffort(_ s: String) throws -> JSONValue {
        let levels = ReasoningEffort.allCases.map(\.rawValue)
        if levels.contains(s) { return .string(s) }
        var tiers: [(String, JSONValue)] = []
        for part in s.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, Difficulty(rawValue: kv[0]) != nil, levels.contains(kv[1]) else {
                throw ValidationError("--effort: '\(part)' is not like easy=low (difficulty easy, medium or hard; effort minimal, low, medium or high), and '\(s)' is not one effort")
            }
            tiers.append((kv[0], .string(kv[1])))
        }
        return .object(tiers)
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
        abstract: "Accuracy against mean thinking tokens per policy and difficulty, with 95% intervals, as a table and a plot.",
        discussion: """
            One row per batch (policy) and difficulty, plus the batch pooled ("all"): items, accuracy with its 95% Wilson
            interval, mean thinking tokens, budget-hit rate, items without an answer, and the saving in thinking tokens
            against the first --baseline (with the accuracy change in points). --plot writes the same points as an SVG.
            """)
    @OptionGroup var db: DatabaseOptions
    @Option(help: "Batch id.") var batch: Int64
    @Option(parsing: .upToNextOption, help: "Baseline batch ids (e.g. the same prompts unlimited, then fixed); savings are against the first.")
    var baseline: [Int64] = []
    @Option(help: "Write the accuracy-against-thinking-tokens plot to this SVG file.") var plot: String?
    @Option(help: "Plot title.") var title: String?
    @Flag(help: "Print the table as Markdown.") var markdown = false

    func run() async throws {
        let ids: [Int64] = baseline + [batch]
        let rows = try await withQueue(db) { q in
            try await q.pool.query("""
                SELECT batch_id, budget_policy, difficulty, items, judged, correct, mean_thinking_tokens,
                       budget_hit_rate, without_answer, min_thinking_budget, max_thinking_budget, model, reasoning_mode
                  FROM tokenmill.generation_curve WHERE batch_id = ANY($1::bigint[])
                """, [ids])
        }
        struct Row { var policy: String; var difficulty: String; var point: CurvePoint; var minB: Int?; var maxB: Int?; var model: String; var mode: String }
        var byBatch: [Int64: [Row]] = [:]
        for r in rows.rows {
            let p = CurvePoint(policy: try r.decode(1), difficulty: try r.decode(2), items: try r.decode(3),
                               judged: try r.decode(4), correct: try r.decode(5), meanThinkingTokens: try r.decode(6),
                               budgetHitRate: try r.decode(7), withoutAnswer: try r.decode(8))
            byBatch[try r.decode(0), default: []].append(Row(policy: p.policy, difficulty: p.difficulty, point: p,
                minB: try r.decodeIfPresent(9), maxB: try r.decodeIfPresent(10), model: try r.decode(11), mode: try r.decode(12)))
        }
        for id in ids where byBatch[id] == nil { throw ValidationError("batch \(id) has no generate outputs yet") }
        // A label per batch: its policy (a fixed policy with its budget), made unique with the batch id.
        var labels: [Int64: String] = [:]
        for id in ids {
            let r = byBatch[id]!
            var label = Set(r.map(\.policy)).sorted().joined(separator: "+")
            if label.hasPrefix("fixed"), !label.contains(" "), let b = r.first?.minB, r.allSatisfy({ $0.minB == b && $0.maxB == b }) {
                label = "fixed \(b)" + label.dropFirst("fixed".count)
            }
            if labels.values.contains(label) { label += " #\(id)" }
            labels[id] = label
        }
        var points: [CurvePoint] = []
        for id in ids {
            let rs = byBatch[id]!
            var tiers: [CurvePoint] = []
            for d in ["easy", "medium", "hard"] {
                let same = rs.filter { $0.difficulty == d }.map(\.point)
                guard !same.isEmpty else { continue }
                var p = CurvePoint.pooled(same, policy: labels[id]!)
                p.difficulty = d
                tiers.append(p)
            }
            points += tiers + [CurvePoint.pooled(tiers, policy: labels[id]!)]
        }
        let reference = baseline.first.flatMap { labels[$0] }
        for id in ids {
            let r = byBatch[id]!
            print("batch \(id): \(labels[id]!), \(Set(r.map(\.mode)).sorted().joined(separator: "+")) reasoning, \(Set(r.map { ($0.model as NSString).lastPathComponent }).sorted().joined(separator: ", "))")
        }
        print(markdown ? AccuracyCurve.markdown(points, reference: reference) : AccuracyCurve.table(points, reference: reference))
        if let plot {
            let model = Set(byBatch.values.joined().map { ($0.model as NSString).lastPathComponent }).sorted().joined(separator: ", ")
            let svg = AccuracyCurve.svg(points, title: title ?? "Accuracy against thinking tokens: \(model)")
            do { try svg.write(toFile: plot, atomically: true, encoding: .utf8) } catch {
                throw ValidationError("cannot write \(plot): \(error.localizedDescription)")
            }
            FileHandle.standardError.write(Data("wrote \(plot)\n".utf8))
        }
    }
}

struct LearnBudgetsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "learn-budgets",
        abstract: "Show the per-difficulty thinking budgets the adaptive policy learns from given batches, and why.")
    @OptionGroup var db: DatabaseOptions
    @Option(parsing: .upToNextOption, help: "Batch ids to learn from (e.g. an unlimited run on the fit half).") var batch: [Int64]
    @Option(help: "Accuracy the learned budget may lose against unlimited (fraction).") var epsilon: Double = 0.02
    @Option(help: "Fewest natural samples per difficulty.") var minSamples: Int = 8
    @Option(help: "Where the margin applies: overall (budgets chosen jointly across tiers) or per_tier.")
    var scope: String = AdaptiveBudget.Scope.overall.rawValue

    func validate() throws {
        guard AdaptiveBudget.Scope(rawValue: scope) != nil else {
            throw ValidationError("--scope must be one of: \(AdaptiveBudget.Scope.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() async throws {
        let batches = batch
        let samples = try await withQueue(db) { q in
            try await BudgetHistory.samples(model: "", window: Int(Int32.max), batches: batches, pool: q.pool)
        }
        let learned = AdaptiveBudget(epsilon: epsilon, minSamples: minSamples, scope: AdaptiveBudget.Scope(rawValue: scope)!).learn(from: samples)
        print("difficulty  samples  natural  correct  budget  rule")
        for d in Difficulty.allCases {
            let all = samples.filter { $0.difficulty == d }
            let natural = all.filter(\.closedNaturally)
            let correct = natural.filter { $0.correct == true }.count
            let line = d.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)
                + "\(all.count)".padding(toLength: 9, withPad: " ", startingAt: 0)
                + "\(natural.count)".padding(toLength: 9, withPad: " ", startingAt: 0)
                + "\(correct)".padding(toLength: 9, withPad: " ", startingAt: 0)
            if let l = learned[d] {
                var why = l.rule
                if let e = l.estimatedAccuracy, let u = l.unlimitedAccuracy {
                    why += String(format: " (natural accuracy %.1f%%, %.1f%% estimated at the budget before headroom)", 100 * u, 100 * e)
                }
                print(line + "\(l.thinkingBudget)".padding(toLength: 8, withPad: " ", startingAt: 0) + why)
            } else {
                print(line + "-       fewer than \(minSamples) natural samples: the policy's table applies")
            }
        }
    }
}

struct LearnEffortCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "learn-effort",
        abstract: "Choose the reasoning effort per difficulty from runs of the same items at several efforts.",
        discussion: """
            Give the batches of one model on the same items (e.g. the fit half, unlimited, once with the default
            `high` and once each with --effort minimal, low or medium). Outputs are grouped by difficulty and the
            effort they recorded (none = high); judged items only. Prints each tier's accuracy and mean thinking
            tokens per effort and the map with the fewest expected thinking tokens whose expected accuracy, over all
            tiers weighted by their distinct items, stays within --epsilon of asking every item for high: the value
            to pass to generate --effort.
            """)
    @OptionGroup var db: DatabaseOptions
    @Option(parsing: .upToNextOption, help: "Batch ids of the runs to compare.") var batch: [Int64]
    @Option(help: "Accuracy the map may give up against high for every item (fraction).") var epsilon: Double = 0.02

    func run() async throws {
        let batches = batch
        // Per tier and effort, and (effort NULL) per tier: distinct items, the tiers' weights.
        let rows = try await withQueue(db) { q in
            try await q.pool.query("""
                SELECT difficulty, coalesce(reasoning_effort, 'high'), count(*)::bigint, count(*) FILTER (WHERE correct)::bigint,
                       avg(thinking_tokens)::float8, count(DISTINCT coalesce(item_id, job_id::text))::bigint,
                       GROUPING(coalesce(reasoning_effort, 'high')), avg(budget_hit::int)::float8
                  FROM tokenmill.generation_outputs
                 WHERE batch_id = ANY($1::bigint[]) AND correct IS NOT NULL
                 GROUP BY GROUPING SETS ((difficulty, coalesce(reasoning_effort, 'high')), (difficulty))
                """, [batches]).rows
        }
        var observed: [Difficulty: [ReasoningEffort: CurvePoint]] = [:], items: [Difficulty: Int] = [:]
        for r in rows {
            guard let d = Difficulty(rawValue: try r.decode(0, as: String.self)) else { continue }
            if try r.decode(6, as: Int32.self) == 1 {
                items[d] = Int(try r.decode(5, as: Int64.self))
                continue
            }
            guard let e = ReasoningEffort(rawValue: try r.decode(1, as: String.self)) else { continue }
            let judged = Int(try r.decode(2, as: Int64.self))
            observed[d, default: [:]][e] = CurvePoint(policy: e.rawValue, difficulty: d.rawValue, items: judged, judged: judged,
                                                      correct: Int(try r.decode(3, as: Int64.self)), meanThinkingTokens: try r.decode(4),
                                                      budgetHitRate: try r.decode(7))
        }
        // With each accuracy its 95% interval: on a few dozen items of a tier the differences the choice rests
        // on can be noise, and the interval shows how much.
        print("difficulty  effort   items  accuracy % [95% CI]  mean think")
        for d in Difficulty.allCases {
            for e in ReasoningEffort.allCases {
                guard let o = observed[d]?[e] else { continue }
                let w = o.accuracy
                print(d.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0) + e.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)
                      + String(format: "%5d  %5.1f [%5.1f, %5.1f]  %10.1f", o.judged, 100 * w.proportion, 100 * w.low, 100 * w.high, o.meanThinkingTokens))
            }
        }
        guard let c = EffortMap(epsilon: epsilon).choose(observed, items: items) else {
            throw ValidationError("no judged output at effort high in batches \(batches.map(String.init).joined(separator: ", ")): run the items once with the default effort")
        }
        print(String(format: "high for every item: %.1f%% at %.1f thinking tokens; chosen: %.1f%% at %.1f (%.1f%% fewer)",
                     100 * c.highAccuracy, c.highThinking, 100 * c.expectedAccuracy, c.expectedThinking,
                     c.highThinking > 0 ? 100 * (1 - c.expectedThinking / c.highThinking) : 0))
        print("--effort \(c.argument)")
        // Where the map trades accuracy between tiers, say whether the runs can tell the difference from noise.
        for d in Difficulty.allCases {
            guard let e = c.efforts[d], e != .high, let o = observed[d]?[e], let h = observed[d]?[.high] else { continue }
            let a = o.accuracy, b = h.accuracy
            let delta = 100 * (a.proportion - b.proportion), overlap = a.low <= b.high && b.low <= a.high
            guard abs(delta) >= 0.05 else { continue }
            print(String(format: "note: %@ at %@ %@ %.1f points against high, %@", d.rawValue, e.rawValue, delta > 0 ? "gains" : "loses", abs(delta),
                         overlap ? "their 95% intervals overlap: these runs may not tell it from noise" : "their 95% intervals do not overlap"))
        }
    }
}

struct DifficultyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "difficulty",
        abstract: "Fit the difficulty estimator's thresholds on the fit half of a tagged prompt set and report it on the held-out half.",
        discussion: """
            Items need an "id" (the half is the fixed rule on it), a "prompt" and a "difficulty" tag (easy/medium/hard or
            1-5). Prints the fitted thresholds and the confusion matrices (rows = tag, columns = estimate) of the fitted
            estimator on each half and of the built-in one on the held-out half.
            """)
    @Option(help: "Tagged JSONL prompt set.") var prompts: String

    func run() throws {
        let text: String
        do { text = try String(contentsOfFile: prompts, encoding: .utf8) } catch {
            throw ValidationError("cannot read \(prompts): \(error.localizedDescription)")
        }
        var halves: [EvalSplit: [(prompt: String, tier: Difficulty)]] = [:]
        for (i, line) in text.split(separator: "\n").enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard case .object(let item)? = try? JSONValue.parse(String(line)),
                  case .string(let id)? = item.first(where: { $0.0 == "id" })?.1,
                  case .string(let prompt)? = item.first(where: { $0.0 == "prompt" })?.1,
                  let tag = item.first(where: { $0.0 == "difficulty" })?.1 else {
                throw ValidationError("\(prompts): line \(i + 1) needs \"id\", \"prompt\" and \"difficulty\"")
            }
            let raw: String
            switch tag {
            case .string(let t): raw = t
            case .integer(let n): raw = String(n)
            default: raw = ""
            }
            guard let tier = Difficulty(tag: raw) else {
                throw ValidationError("\(prompts): line \(i + 1): difficulty must be easy, medium, hard or 1-5")
            }
            halves[EvalSplit(itemID: id), default: []].append((prompt, tier))
        }
        let fit = halves[.fit] ?? [], held = halves[.heldout] ?? []
        guard !fit.isEmpty else { throw ValidationError("\(prompts): no item falls in the fit half") }
        let builtIn = DifficultyEstimator()
        let fitted = builtIn.fitted(to: fit)
        print("items: \(fit.count) fit, \(held.count) held out")
        print(String(format: "built-in thresholds: medium >= %.3f, hard >= %.3f", builtIn.mediumThreshold, builtIn.hardThreshold))
        print(String(format: "fitted thresholds (fit half): medium >= %.3f, hard >= %.3f", fitted.mediumThreshold, fitted.hardThreshold))
        print("\nfitted estimator, fit half:\n" + fitted.confusion(on: fit).table)
        print("fitted estimator, held-out half:\n" + fitted.confusion(on: held).table)
        print("built-in estimator, held-out half:\n" + builtIn.confusion(on: held).table)
    }
}
