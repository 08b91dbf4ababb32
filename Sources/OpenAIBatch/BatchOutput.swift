import QueueCore

/// What the database holds for one choice of one request (a `generate` job and its output row).
public struct ChoiceRecord: Sendable {
    public enum State: String, Sendable {
        case pending, succeeded, failed, cancelled
    }
    public var jobID: Int64
    public var choice: Int
    public var state: State
    /// The job's last error (failed or cancelled jobs).
    public var error: String?
    public var answer: String = ""
    public var reasoning: String = ""
    /// TokenMill's finish reason: stop, length, budget, cancelled, error.
    public var finishReason: String = "stop"
    public var promptTokens: Int = 0
    public var thinkingTokens: Int = 0
    public var forcedTokens: Int = 0
    public var answerTokens: Int = 0
    /// `[{"token", "logprob", "top_logprobs": [{"token", "logprob"}]}]` as stored, when asked for.
    public var logprobs: JSONValue?
    public init(jobID: Int64, choice: Int, state: State) {
        self.jobID = jobID
        self.choice = choice
        self.state = state
    }
}

/// One request of a submitted batch, as recorded in its jobs' payloads.
public struct RequestRecord: Sendable {
    public var customID: String
    public var line: Int
    public var endpoint: BatchEndpoint
    public var model: String
    /// Unix seconds of the first job's creation.
    public var created: Int64
    public var choices: [ChoiceRecord]
    public init(customID: String, line: Int, endpoint: BatchEndpoint, model: String, created: Int64, choices: [ChoiceRecord]) {
        self.customID = customID
        self.line = line
        self.endpoint = endpoint
        self.model = model
        self.created = created
        self.choices = choices
    }

    /// Pending while any choice still runs; failed if any choice failed or was cancelled.
    public var outcome: ChoiceRecord.State {
        if choices.contains(where: { $0.state == .pending }) { return .pending }
        if choices.contains(where: { $0.state == .failed }) { return .failed }
        if choices.contains(where: { $0.state == .cancelled }) { return .cancelled }
        return .succeeded
    }
}

/// Builds the lines of the OpenAI Batch output and error files.
public enum BatchOutput {
    /// OpenAI's finish reason for TokenMill's: a thinking cut followed by an answer is a normal `stop`.
    public static func openAIFinishReason(_ r: String) -> String {
        switch r {
        case "length": return "length"
        default: return "stop"
        }
    }

    /// The output-file line of a request whose every choice succeeded:
    /// `{"id", "custom_id", "response": {"status_code": 200, "request_id", "body"}, "error": null}`.
    ///
    /// Usage: `prompt_tokens` is the prompt once (all choices share it), `completion_tokens` every token
    /// generated or injected after the prompt (thinking + forced transition + answer) over all choices, and
    /// `completion_tokens_details.reasoning_tokens` the thinking tokens (forced ones included).
    public static func successLine(_ r: RequestRecord) -> JSONValue {
        let first = r.choices.first?.jobID ?? 0
        var completion = 0, reasoning = 0
        var choices: [JSONValue] = []
        for c in r.choices.sorted(by: { $0.choice < $1.choice }) {
            completion += c.thinkingTokens + c.forcedTokens + c.answerTokens
            reasoning += c.thinkingTokens + c.forcedTokens
            let finish = JSONValue.string(openAIFinishReason(c.finishReason))
            switch r.endpoint {
            case .chatCompletions:
                var message: [(String, JSONValue)] = [("role", .string("assistant")), ("content", .string(c.answer))]
                message.append(("reasoning_content", c.reasoning.isEmpty ? .null : .string(c.reasoning)))
                message.append(("refusal", .null))
                let logprobs: JSONValue = c.logprobs.map { .object([("content", $0), ("refusal", .null)]) } ?? .null
                choices.append(.object([("index", .integer(Int64(c.choice))), ("message", .object(message)),
                                        ("logprobs", logprobs), ("finish_reason", finish)]))
            case .completions:
                choices.append(.object([("index", .integer(Int64(c.choice))), ("text", .string(c.answer)),
                                        ("logprobs", c.logprobs.map(completionLogprobs) ?? .null), ("finish_reason", finish)]))
            }
        }
        let prompt = r.choices.first?.promptTokens ?? 0
        let usage: JSONValue = .object([
            ("prompt_tokens", .integer(Int64(prompt))), ("completion_tokens", .integer(Int64(completion))),
            ("total_tokens", .integer(Int64(prompt + completion))),
            ("completion_tokens_details", .object([("reasoning_tokens", .integer(Int64(reasoning)))])),
        ])
        let body: JSONValue = .object([
            ("id", .string((r.endpoint == .chatCompletions ? "chatcmpl-" : "cmpl-") + "tm\(first)")),
            ("object", .string(r.endpoint == .chatCompletions ? "chat.completion" : "text_completion")),
            ("created", .integer(r.created)), ("model", .string(r.model)), ("choices", .array(choices)),
            ("usage", usage), ("system_fingerprint", .string("tokenmill")),
        ])
        return .object([
            ("id", .string("batch_req_tm\(first)")), ("custom_id", .string(r.customID)),
            ("response", .object([("status_code", .integer(200)), ("request_id", .string("req_tm\(first)")), ("body", body)])),
            ("error", .null),
        ])
    }

    /// The error-file line of a request with a failed or cancelled choice:
    /// `{"id", "custom_id", "response": null, "error": {"code", "message"}}`.
    public static func errorLine(_ r: RequestRecord) -> JSONValue {
        let bad = r.choices.first { $0.state == .failed } ?? r.choices.first { $0.state == .cancelled }
        let code = bad?.state == .cancelled ? "cancelled" : "generation_failed"
        let message = bad?.error ?? (bad?.state == .cancelled ? "the job was cancelled" : "the job failed")
        return .object([
            ("id", .string("batch_req_tm\(r.choices.first?.jobID ?? 0)")), ("custom_id", .string(r.customID)),
            ("response", .null), ("error", .object([("code", .string(code)), ("message", .string(message))])),
        ])
    }

    /// The error-file line of an input line that was not valid (skipped at submit with --skip-bad-lines).
    public static func badLineError(_ b: BadLine, customID: String?) -> JSONValue {
        .object([
            ("id", .string("batch_req_line\(b.line)")), ("custom_id", customID.map { .string($0) } ?? .null),
            ("response", .null),
            ("error", .object([("code", .string("invalid_request")), ("message", .string("line \(b.line): " + b.problems.joined(separator: "; ")))])),
        ])
    }

    /// Chat-style logprobs (`[{"token", "logprob", "bytes", "top_logprobs"}]`) in the legacy completions layout.
    static func completionLogprobs(_ content: JSONValue) -> JSONValue {
        guard case .array(let items) = content else { return .null }
        var tokens: [JSONValue] = [], lps: [JSONValue] = [], tops: [JSONValue] = []
        for it in items {
            tokens.append(it["token"] ?? .string(""))
            lps.append(it["logprob"] ?? .null)
            var top: [(String, JSONValue)] = []
            if case .array(let t)? = it["top_logprobs"] {
                for x in t { if case .string(let s)? = x["token"] { top.append((s, x["logprob"] ?? .null)) } }
            }
            tops.append(.object(top))
        }
        return .object([("tokens", .array(tokens)), ("token_logprobs", .array(lps)), ("top_logprobs", .array(tops)),
                        ("text_offset", .array([]))])
    }
}

/// The batch object, as the API's `GET /v1/batches/{id}` returns it.
public struct BatchStatus: Sendable {
    public var id: Int64
    public var endpoint: BatchEndpoint
    /// Requests (lines) in the batch, and how many have finished each way.
    public var total: Int
    public var completed: Int
    public var failed: Int
    public var cancelledBatch: Bool
    public var createdAt: Int64
    public var finishedAt: Int64?
    public var inputFile: String?

    public init(id: Int64, endpoint: BatchEndpoint, total: Int, completed: Int, failed: Int, cancelledBatch: Bool,
                createdAt: Int64, finishedAt: Int64?, inputFile: String?) {
        self.id = id
        self.endpoint = endpoint
        self.total = total
        self.completed = completed
        self.failed = failed
        self.cancelledBatch = cancelledBatch
        self.createdAt = createdAt
        self.finishedAt = finishedAt
        self.inputFile = inputFile
    }

    /// `in_progress`, `completed`, or `cancelled` (a batch whose requests all failed is still `completed`,
    /// as in the API: the failures are in the error file).
    public var status: String {
        if cancelledBatch { return "cancelled" }
        return completed + failed >= total ? "completed" : "in_progress"
    }

    public var json: JSONValue {
        func ts(_ t: Int64?) -> JSONValue { t.map { .integer($0) } ?? .null }
        let done = status == "completed"
        return .object([
            ("id", .string("batch_\(id)")), ("object", .string("batch")), ("endpoint", .string(endpoint.rawValue)),
            ("errors", .null), ("input_file_id", .string(inputFile ?? "")), ("completion_window", .string("24h")),
            ("status", .string(status)),
            ("output_file_id", .null), ("error_file_id", .null),
            ("created_at", .integer(createdAt)), ("in_progress_at", .integer(createdAt)), ("expires_at", .null),
            ("finalizing_at", .null), ("completed_at", done ? ts(finishedAt) : .null), ("failed_at", .null),
            ("expired_at", .null), ("cancelling_at", .null), ("cancelled_at", cancelledBatch ? ts(finishedAt) : .null),
            ("request_counts", .object([("total", .integer(Int64(total))), ("completed", .integer(Int64(completed))),
                                        ("failed", .integer(Int64(failed)))])),
            ("metadata", .null),
        ])
    }
}
