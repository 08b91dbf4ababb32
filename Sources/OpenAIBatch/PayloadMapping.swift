import QueueCore

/// Thinking and answer budgets per `reasoning_effort`, overridable by the user
/// (`--effort-table low=128:128,medium=512:256,high=2048:512`).
public struct EffortTable: Sendable, Equatable {
    public var budgets: [ReasoningEffort: (thinking: Int, answer: Int)]

    /// The defaults equal the per-difficulty defaults: low = easy, medium = medium, high = hard.
    public static let standard = EffortTable(budgets: [.low: (128, 128), .medium: (512, 256), .high: (2048, 512)])

    public init(budgets: [ReasoningEffort: (thinking: Int, answer: Int)]) { self.budgets = budgets }

    /// Parses `low=128:128,high=4096:1024` over the standard table (unnamed levels keep their defaults).
    public static func parse(_ text: String) throws -> EffortTable {
        var t = EffortTable.standard
        for part in text.split(separator: ",") {
            let kv = part.split(separator: "=")
            let nums = kv.count == 2 ? kv[1].split(separator: ":").map { Int($0) } : []
            guard kv.count == 2, let e = ReasoningEffort(rawValue: String(kv[0])), nums.count == 2,
                  let th = nums[0], let an = nums[1], th >= 0, an >= 1 else {
                throw MappingError("--effort-table: '\(part)' is not like low=128:256 (effort=thinking:answer, effort low, medium or high)")
            }
            t.budgets[e] = (th, an)
        }
        return t
    }

    public static func == (a: EffortTable, b: EffortTable) -> Bool {
        ReasoningEffort.allCases.allSatisfy { a.budgets[$0]?.thinking == b.budgets[$0]?.thinking && a.budgets[$0]?.answer == b.budgets[$0]?.answer }
    }
}

/// A mapping problem the user can fix (bad option value).
public struct MappingError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}

/// How requests become `generate` payloads.
public struct MappingSettings: Sendable {
    /// Budget policy for requests without `reasoning_effort` (default `per_difficulty`).
    public var policy: String = "per_difficulty"
    public var efforts: EffortTable = .standard
    public init(policy: String = "per_difficulty", efforts: EffortTable = .standard) {
        self.policy = policy
        self.efforts = efforts
    }
}

extension BatchRequest {
    /// The `generate` payloads of this request, one per choice (`n`), in choice order.
    ///
    /// - OpenAI's sampling defaults apply when the body leaves them out (temperature 1, top_p 1).
    /// - `reasoning_effort` sets a per-item budget override from the effort table; a `difficulty` alone
    ///   tags the item for the batch policy; both run in the model's reasoning mode (markers, or plain for
    ///   models without them). A request with neither runs with reasoning mode `none` and no budget:
    ///   a plain chat completion.
    /// - Choice k > 0 samples with seed + k, so the choices differ and each is reproducible.
    /// - `openai` records where the job came from, for `tokenmill batch output`.
    public func generatePayloads(_ s: MappingSettings) -> [JSONValue] {
        var base: [(String, JSONValue)] = [("model", .string(model)), ("id", .string(customID))]
        switch endpoint {
        case .chatCompletions:
            base.append(("messages", .array(messages.map { .object([("role", .string($0.role)), ("content", .string($0.content))]) })))
        case .completions:
            base.append(("prompt", .string(prompt ?? "")))
            base.append(("chat", .bool(false)))
        }
        if let difficulty { base.append(("difficulty", .string(difficulty))) }
        if let maxTokens { base.append(("max_tokens", .integer(Int64(maxTokens)))) }
        if !stop.isEmpty { base.append(("stop", .array(stop.map { .string($0) }))) }
        if let topLogprobs { base.append(("top_logprobs", .integer(Int64(topLogprobs)))) }
        if let e = reasoningEffort, let b = s.efforts.budgets[e] {
            base.append(("budget", .object([("policy", .string(s.policy))])))
            base.append(("override", .object([("thinking", .integer(Int64(b.thinking))), ("answer", .integer(Int64(b.answer)))])))
        } else if difficulty != nil {
            base.append(("budget", .object([("policy", .string(s.policy))])))
        } else {
            // A request that asks for no reasoning is a plain chat completion: nothing is added to the
            // conversation and no budget forces anything (a thinking block the model opens by itself
            // is still split off into reasoning_content).
            base.append(("budget", .object([("policy", .string("unlimited"))])))
            base.append(("reasoning", .object([("mode", .string("none"))])))
        }
        return (0..<n).map { k in
            var item = base
            var sampling: [(String, JSONValue)] = [("temperature", .number(temperature ?? 1)), ("top_p", .number(topP ?? 1))]
            let baseSeed = seed.map { UInt64(bitPattern: $0) } ?? StableHash.fnv1a(customID) >> 1
            sampling.append(("seed", .integer(Int64(bitPattern: (baseSeed &+ UInt64(k)) & 0x7FFF_FFFF_FFFF_FFFF))))
            item.append(("sampling", .object(sampling)))
            item.append(("openai", .object([("custom_id", .string(customID)), ("line", .integer(Int64(line))),
                                             ("choice", .integer(Int64(k))), ("endpoint", .string(endpoint.rawValue))])))
            return .object(item)
        }
    }
}
