import QueueCore

/// The two endpoints of the OpenAI Batch API that TokenMill serves.
public enum BatchEndpoint: String, Sendable, CaseIterable {
    case chatCompletions = "/v1/chat/completions"
    case completions = "/v1/completions"
}

/// OpenAI's `reasoning_effort`, mapped onto thinking budgets by an ``EffortTable``.
public enum ReasoningEffort: String, Sendable, CaseIterable {
    case low, medium, high
}

/// One valid line of an OpenAI Batch input file
/// (`{"custom_id", "method": "POST", "url", "body"}`), with the body's fields that TokenMill reads.
public struct BatchRequest: Sendable, Equatable {
    /// 1-based line number in the input file.
    public var line: Int
    public var customID: String
    public var endpoint: BatchEndpoint
    /// The body's `model`: a GGUF path or a file name in the models directory.
    public var model: String
    /// Chat messages (`/v1/chat/completions`): (role, content).
    public var messages: [(role: String, content: String)]
    /// The prompt (`/v1/completions`).
    public var prompt: String?
    /// `max_completion_tokens`, else `max_tokens`: the cap on generated tokens, thinking included.
    public var maxTokens: Int?
    public var temperature: Double?
    public var topP: Double?
    public var seed: Int64?
    /// Stop sequences (at most 4, as the API allows).
    public var stop: [String]
    /// Choices to generate for this request.
    public var n: Int
    /// Top log-probabilities per generated token (0 = none; `logprobs: true` alone means 0 as in the API).
    public var topLogprobs: Int?
    public var reasoningEffort: ReasoningEffort?
    /// A TokenMill extension: `difficulty` in the body or in `body.metadata`.
    public var difficulty: String?

    public static func == (a: BatchRequest, b: BatchRequest) -> Bool {
        a.line == b.line && a.customID == b.customID && a.endpoint == b.endpoint && a.model == b.model
            && a.messages.map(\.role) == b.messages.map(\.role) && a.messages.map(\.content) == b.messages.map(\.content)
            && a.prompt == b.prompt && a.maxTokens == b.maxTokens && a.temperature == b.temperature && a.topP == b.topP
            && a.seed == b.seed && a.stop == b.stop && a.n == b.n && a.topLogprobs == b.topLogprobs
            && a.reasoningEffort == b.reasoningEffort && a.difficulty == b.difficulty
    }
}

/// The result of reading a whole input file: valid requests in file order, and bad lines with reasons.
public struct BatchInput: Sendable {
    public var requests: [BatchRequest] = []
    public var bad: [BadLine] = []

    /// Largest `n` accepted per request (the API allows up to 128; a local engine keeps it small).
    public static let maxChoices = 16
    /// Largest `top_logprobs` (the API's limit).
    public static let maxTopLogprobs = 20
    /// Known difficulty tags (the generate payload's).
    public static let difficulties: Set<String> = ["easy", "medium", "hard", "1", "2", "3", "4", "5"]

    /// Reads an OpenAI Batch input file. Every line is checked; a `custom_id` seen on an earlier line, or a
    /// `url` other than the first valid line's, makes the later line bad. `modelOverride`, when given, replaces (or supplies) every body's `model`.
    public static func parse(_ bytes: [UInt8], modelOverride: String? = nil) -> BatchInput {
        var out = BatchInput()
        var seen: [String: Int] = [:]
        for l in readJSONL(bytes) {
            let value: JSONValue
            switch l.value {
            case .failure(let bad): out.bad.append(bad); continue
            case .success(let v): value = v
            }
            switch parseLine(value, line: l.line, modelOverride: modelOverride) {
            case .failure(let problems):
                out.bad.append(BadLine(line: l.line, problems: problems.messages))
            case .success(let r):
                if let first = out.requests.first, first.endpoint != r.endpoint {
                    out.bad.append(BadLine(line: l.line, problems: ["url \(r.endpoint.rawValue) differs from line \(first.line)'s \(first.endpoint.rawValue); one file holds requests for one endpoint, as in the Batch API"]))
                    continue
                }
                if let first = seen[r.customID] {
                    out.bad.append(BadLine(line: l.line, problems: ["custom_id '\(r.customID)' was already used on line \(first); custom_id must be unique in the file"]))
                    continue
                }
                seen[r.customID] = l.line
                out.requests.append(r)
            }
        }
        return out
    }

    struct Problems: Error { var messages: [String] }

    /// Parses and checks one line; every problem found is reported, not only the first.
    static func parseLine(_ v: JSONValue, line: Int, modelOverride: String?) -> Result<BatchRequest, Problems> {
        guard case .object = v else { return .failure(Problems(messages: ["a line must be one JSON object"])) }
        var p: [String] = []
        let known: Set<String> = ["custom_id", "method", "url", "body"]
        if case let .object(m) = v { for (k, _) in m where !known.contains(k) { p.append("unknown field '\(k)'") } }

        var customID = ""
        switch v["custom_id"] {
        case .string(let s)? where !s.isEmpty && s.utf8.count <= 512: customID = s
        case nil: p.append("custom_id is missing")
        default: p.append("custom_id must be a non-empty string of at most 512 bytes")
        }
        if v["method"] != .string("POST") { p.append("method must be \"POST\"") }
        var endpoint = BatchEndpoint.chatCompletions
        if case .string(let u)? = v["url"], let e = BatchEndpoint(rawValue: u) { endpoint = e } else {
            p.append("url must be \"/v1/chat/completions\" or \"/v1/completions\"")
        }
        guard let body = v["body"], case .object(let members) = body else {
            p.append("body must be a JSON object")
            return .failure(Problems(messages: p))
        }
        var r = BatchRequest(line: line, customID: customID, endpoint: endpoint, model: "", messages: [], prompt: nil,
                             maxTokens: nil, temperature: nil, topP: nil, seed: nil, stop: [], n: 1, topLogprobs: nil,
                             reasoningEffort: nil, difficulty: nil)
        let ignored: Set<String> = ["user", "metadata", "store", "stream", "stream_options", "frequency_penalty",
                                    "presence_penalty", "logit_bias", "response_format", "service_tier", "tools",
                                    "tool_choice", "parallel_tool_calls", "echo", "best_of", "suffix"]
        let read: Set<String> = ["model", "messages", "prompt", "max_tokens", "max_completion_tokens", "temperature",
                                 "top_p", "seed", "stop", "n", "logprobs", "top_logprobs", "reasoning_effort", "difficulty"]
        for (k, _) in members where !read.contains(k) && !ignored.contains(k) { p.append("body: unknown field '\(k)'") }
        if body["stream"] == .bool(true) { p.append("body.stream must be false in a batch") }

        if let m = modelOverride { r.model = m } else if case .string(let m)? = body["model"], !m.isEmpty { r.model = m } else {
            p.append("body.model is missing (give it, or pass --model)")
        }
        switch endpoint {
        case .chatCompletions:
            if body["prompt"] != nil { p.append("body.prompt belongs to /v1/completions; chat requests use body.messages") }
            guard case .array(let ms)? = body["messages"], !ms.isEmpty else {
                p.append("body.messages must be a non-empty array"); break
            }
            for (i, m) in ms.enumerated() {
                guard case .string(let role)? = m["role"], ["system", "developer", "user", "assistant"].contains(role) else {
                    p.append("body.messages[\(i)].role must be system, developer, user or assistant"); continue
                }
                guard let content = messageText(m["content"]) else {
                    p.append("body.messages[\(i)].content must be a string or an array of text parts"); continue
                }
                r.messages.append((role == "developer" ? "system" : role, content))
            }
            if !r.messages.contains(where: { $0.role == "user" }) { p.append("body.messages has no user message") }
        case .completions:
            if body["messages"] != nil { p.append("body.messages belongs to /v1/chat/completions") }
            switch body["prompt"] {
            case .string(let s)?: r.prompt = s
            case .array(let a)? where a.count == 1: if case .string(let s) = a[0] { r.prompt = s } else { fallthrough }
            default: p.append("body.prompt must be a string (or an array of one string)")
            }
        }
        func int(_ key: String, _ range: ClosedRange<Int64>) -> Int? {
            guard let x = body[key], x != .null else { return nil }
            guard case .integer(let i) = x, range.contains(i) else {
                p.append("body.\(key) must be an integer in \(range.lowerBound)...\(range.upperBound)"); return nil
            }
            return Int(i)
        }
        func number(_ key: String, _ range: ClosedRange<Double>) -> Double? {
            guard let x = body[key], x != .null else { return nil }
            guard let d = x.doubleValue, range.contains(d) else {
                p.append("body.\(key) must be a number in \(range.lowerBound)...\(range.upperBound)"); return nil
            }
            return d
        }
        r.maxTokens = int("max_completion_tokens", 1...1_048_576) ?? int("max_tokens", 1...1_048_576)
        r.temperature = number("temperature", 0...2)
        r.topP = number("top_p", 0...1)
        if let s = int("seed", Int64.min...Int64.max) { r.seed = Int64(s) }
        r.n = int("n", 1...Int64(BatchInput.maxChoices)) ?? 1
        switch body["stop"] {
        case nil, .null?: break
        case .string(let s)?: r.stop = [s]
        case .array(let a)? where a.count <= 4:
            for x in a { if case .string(let s) = x { r.stop.append(s) } else { p.append("body.stop must hold strings") } }
        default: p.append("body.stop must be a string or an array of at most 4 strings")
        }
        if r.stop.contains("") { p.append("body.stop must not contain an empty string") }
        switch (endpoint, body["logprobs"]) {
        case (_, nil), (_, .null?), (.chatCompletions, .bool(false)?): break
        case (.chatCompletions, .bool(true)?): r.topLogprobs = int("top_logprobs", 0...Int64(BatchInput.maxTopLogprobs)) ?? 0
        case (.completions, .integer(let k)?) where (0...Int64(BatchInput.maxTopLogprobs)).contains(k): r.topLogprobs = Int(k)
        default: p.append(endpoint == .chatCompletions ? "body.logprobs must be true or false"
                          : "body.logprobs must be an integer in 0...\(BatchInput.maxTopLogprobs)")
        }
        if endpoint == .chatCompletions, body["top_logprobs"] != nil, r.topLogprobs == nil {
            p.append("body.top_logprobs needs body.logprobs = true")
        }
        switch body["reasoning_effort"] {
        case nil, .null?: break
        case .string(let s)? where ReasoningEffort(rawValue: s) != nil: r.reasoningEffort = ReasoningEffort(rawValue: s)
        default: p.append("body.reasoning_effort must be low, medium or high")
        }
        let tag = body["difficulty"] ?? body["metadata"]?["difficulty"]
        switch tag {
        case nil, .null?: break
        case .string(let s)? where BatchInput.difficulties.contains(s): r.difficulty = s
        case .integer(let i)? where (1...5).contains(i): r.difficulty = String(i)
        default: p.append("difficulty must be easy, medium, hard or a level 1-5")
        }
        return p.isEmpty ? .success(r) : .failure(Problems(messages: p))
    }

    /// A message's text: a string, or an array of `{"type": "text", "text": ...}` parts joined.
    static func messageText(_ v: JSONValue?) -> String? {
        switch v {
        case .string(let s)?: return s
        case .array(let parts)?:
            var out = ""
            for part in parts {
                guard part["type"] == .string("text"), case .string(let t)? = part["text"] else { return nil }
                out += t
            }
            return out
        default: return nil
        }
    }
}
