import Foundation
import Logging
import PostgresClient
import QueueCore

/// A job claimed by this worker for one attempt.
public struct ClaimedJob: Sendable {
    public let id: Int64
    public let batchID: Int64?
    public let kind: String
    /// The payload as JSON text (UTF-8), exactly as stored (jsonb's normalised form).
    public let payload: Data
    /// 1-based attempt number of this run.
    public let attempt: Int
    public let maxAttempts: Int
    /// The worker that holds the lease (the completion fence is (id, attempt, lockedBy)).
    public let lockedBy: String

    public init(id: Int64, batchID: Int64?, kind: String, payload: Data, attempt: Int, maxAttempts: Int, lockedBy: String) {
        self.id = id
        self.batchID = batchID
        self.kind = kind
        self.payload = payload
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.lockedBy = lockedBy
    }

    /// Decodes the payload; a payload that does not fit `T` is a permanent error (retrying cannot help).
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: payload)
        } catch {
            throw JobError.permanent("payload does not match \(T.self): \(error)")
        }
    }

    /// The payload as a parsed JSON value.
    public func payloadValue() throws -> JSONValue {
        try JSONValue.parse(String(decoding: payload, as: UTF8.self))
    }
}

/// An SQL statement with `$n` parameters, run by the worker inside the completion transaction.
public struct SQLStatement: Sendable {
    public var sql: String
    public var params: [(any PostgresEncodable)?]
    public init(_ sql: String, _ params: [(any PostgresEncodable)?] = []) {
        self.sql = sql
        self.params = params
    }
}

/// What a successful handler returns.
public struct JobResult: Sendable {
    /// Optional JSON text stored in tokenmill.job_results for this job (must be valid JSON).
    public var resultJSON: String?
    /// Statements executed in the same transaction as the fenced completion, only if the fence holds
    /// (the job is still running under this worker and attempt). Use them to write outputs exactly once.
    public var statements: [SQLStatement]

    public init(resultJSON: String? = nil, statements: [SQLStatement] = []) {
        self.resultJSON = resultJSON
        self.statements = statements
    }

    /// A result with no stored JSON and no statements.
    public static var empty: JobResult { JobResult() }

    /// A result whose JSON is `value` encoded with JSONEncoder.
    public static func encoding<T: Encodable>(_ value: T, statements: [SQLStatement] = []) throws -> JobResult {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return JobResult(resultJSON: String(decoding: try enc.encode(value), as: UTF8.self), statements: statements)
    }
}

/// Errors a handler throws to control what happens next. A `JobFailure` says itself whether it is
/// retried; any other error is retried with backoff (`JobError.classifying`).
public enum JobError: Error, CustomStringConvertible, Sendable {
    /// Fail now, no retry (bad payload, unsupported request, ...).
    case permanent(String)
    /// Retry with backoff (same as throwing any other error, with a clear message).
    case retryable(String)
    /// The job was cancelled or its lease lost; the handler stopped. Nothing is written.
    case cancelled

    /// True for `.permanent`: the job fails without another attempt.
    public var isPermanent: Bool {
        if case .permanent = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case let .permanent(m): return m
        case let .retryable(m): return m
        case .cancelled: return "cancelled"
        }
    }
}

/// Runs one kind of job. A kind's `JobKind` descriptor names its handler type and makes the instance a
/// `JobRegistry` holds (docs/extending.md, "A job kind").
public protocol JobHandler: Sendable {
    /// The `kind` column value this handler runs.
    static var kind: String { get }
    /// Runs one attempt. Return a `JobResult` to succeed; throw `JobError.permanent` to fail without
    /// retry; throw anything else to retry with backoff. Check `context.isCancelled` in long loops.
    func run(_ job: ClaimedJob, context: JobContext) async throws -> JobResult
}

/// Per-attempt context given to a handler.
public final class JobContext: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelledFlag = false
    private var progressValue: (fraction: Double, message: String)?
    private var progressDirty = false

    /// The job's worker.
    public let workerID: String
    /// A connection pool for read queries (and writes that need not be fenced).
    public let pool: PostgresPool
    public let logger: Logger

    public init(workerID: String, pool: PostgresPool, logger: Logger) {
        self.workerID = workerID
        self.pool = pool
        self.logger = logger
    }

    /// True once the job was cancelled (found at a heartbeat), its lease was lost, the worker is
    /// shutting down past its grace period, or the handler's task was cancelled. Stop soon; what the
    /// handler returns afterwards is ignored.
    public var isCancelled: Bool {
        lock.lock(); defer { lock.unlock() }
        return cancelledFlag || Task.isCancelled
    }

    /// Throws `JobError.cancelled` when `isCancelled`.
    public func checkCancellation() throws {
        if isCancelled { throw JobError.cancelled }
    }

    /// Records progress (0...1 and a short message); written to tokenmill.jobs.progress at the next heartbeat.
    public func reportProgress(_ fraction: Double, _ message: String) {
        lock.lock(); defer { lock.unlock() }
        progressValue = (min(max(fraction, 0), 1), message)
        progressDirty = true
    }

    /// The latest progress, as JSON text, if it changed since the last call.
    func takeProgressJSON() -> String? {
        lock.lock(); defer { lock.unlock() }
        guard progressDirty, let p = progressValue else { return nil }
        progressDirty = false
        var s = "{\"fraction\":\(p.fraction),\"message\":"
        JSONValue.writeString(p.message, to: &s)
        return s + "}"
    }

    func markCancelled() {
        lock.lock(); cancelledFlag = true; lock.unlock()
    }

    var cancelledByQueue: Bool {
        lock.lock(); defer { lock.unlock() }
        return cancelledFlag
    }
}

/// The handlers (and payload schemas) a binary knows.
public struct JobRegistry: Sendable {
    private var handlers: [String: any JobHandler] = [:]
    private var schemas: [String: JSONSchema] = [:]
    private var schemaTexts: [String: String] = [:]

    public init() {}

    /// The handlers of `kinds`, each made by its kind's factory in `environment`.
    public init(kinds: [any JobKind.Type], environment: JobKindEnvironment = JobKindEnvironment()) throws {
        for k in kinds { try register(k, in: environment) }
    }

    /// Registers `kind` with a handler made by its factory in `environment`.
    public mutating func register<K: JobKind>(_ kind: K.Type, in environment: JobKindEnvironment) throws {
        try register(kind, handler: try K.makeHandler(environment))
    }

    /// Registers `kind` with `handler` (made by the caller) and the kind's payload schema.
    public mutating func register<K: JobKind>(_ kind: K.Type, handler: K.Handler) throws {
        try add(handler, kind: K.name, schemaJSON: K.payloadSchema)
    }

    /// Registers `handler` for its kind with the payload schema `schemaJSON`, for a handler that has no
    /// `JobKind` (tests' stand-ins). Fails if the kind is already registered or the schema is invalid.
    public mutating func register<H: JobHandler>(_ handler: H, schemaJSON: String) throws {
        try add(handler, kind: H.kind, schemaJSON: schemaJSON)
    }

    private mutating func add(_ handler: any JobHandler, kind: String, schemaJSON text: String) throws {
        guard handlers[kind] == nil else { throw QueueError.invalidArgument("job kind '\(kind)' registered twice") }
        let schema: JSONSchema
        do { schema = try JSONSchema(text: text) } catch {
            throw QueueError.invalidArgument("payload schema of job kind '\(kind)' is not valid JSON: \(error)")
        }
        handlers[kind] = handler
        schemas[kind] = schema
        schemaTexts[kind] = text
    }

    /// Registered kinds, sorted.
    public var kinds: [String] { handlers.keys.sorted() }
    public func handler(for kind: String) -> (any JobHandler)? { handlers[kind] }

    /// The payload schema of `kind`, with `$ref`s to other kinds' schemas (`<kind>.schema.json`) resolved.
    /// The one payload check: `enqueue`, `generate`, `distill` and the worker (before a handler runs) use it.
    public func schema(for kind: String) -> JSONSchema? {
        guard let s = schemas[kind] else { return nil }
        var refs: [String: JSONValue] = [:]
        for (k, v) in schemas { refs["\(k).schema.json"] = v.root }
        return s.resolving(refs)
    }

    /// Why `payload` (JSON text as stored) is not a valid `kind` payload, or nil when it is.
    public func payloadProblem(kind: String, payload: Data) -> String? {
        guard let schema = schema(for: kind) else { return nil }
        let value: JSONValue
        do { value = try JSONValue.parse(String(decoding: payload, as: UTF8.self)) } catch {
            return "payload is not valid JSON: \(error)"
        }
        let problems = schema.validate(value)
        if problems.isEmpty { return nil }
        return "payload rejected before running (jobs/schemas/\(kind).schema.json): " + problems.prefix(10).joined(separator: "; ")
    }
    public func schemaText(for kind: String) -> String? { schemaTexts[kind] }
}

/// Errors of the queue layer that a user can act on.
public enum QueueError: Error, CustomStringConvertible, Sendable {
    case invalidArgument(String)
    case unknownKind(String, known: [String])
    case badLines([BadLine], total: Int)
    case notFound(String)
    case database(PostgresError)

    public var description: String {
        switch self {
        case let .invalidArgument(m): return m
        case let .unknownKind(k, known):
            return "unknown job kind '\(k)': this tokenmill knows \(known.isEmpty ? "no kinds" : known.joined(separator: ", "))"
        case let .badLines(lines, total):
            let shown = lines.prefix(20).map { "  \($0)" }.joined(separator: "\n")
            let more = lines.count > 20 ? "\n  ... and \(lines.count - 20) more" : ""
            return "\(lines.count) of \(total) lines failed validation; nothing was enqueued (use --skip-bad-lines to load the rest):\n\(shown)\(more)"
        case let .notFound(m): return m
        case let .database(e): return e.description
        }
    }
}
