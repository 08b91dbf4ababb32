import Foundation

/// One file of migrations/: its name (the version `tokenmill migrate` records in
/// tokenmill.schema_migrations) and its SQL. Each file is owned by one module, which carries it in
/// its generated `Embedded.swift` (ops/embed.sh).
public struct Migration: Sendable, Equatable {
    /// File name, e.g. `0010_generate.sql`; migrations apply in the order of these names.
    public let name: String
    public let sql: String

    public init(name: String, sql: String) {
        self.name = name
        self.sql = sql
    }
}

/// A job kind, declared in the module that runs it (River's `AddWorker[T JobArgs]`): its name, payload
/// type and JSON Schema, the migrations that create its tables, and a factory for its handler.
/// A binary lists the kinds it runs once (the CLI's `jobKinds`); `JobRegistry(kinds:environment:)`
/// registers their handlers and `Migrator.migrations(for:)` gathers their migrations with the queue's.
public protocol JobKind {
    /// What a job's payload decodes to (after it passed `payloadSchema`).
    associatedtype Payload: Decodable
    associatedtype Handler: JobHandler
    /// The `kind` column value (by default the handler's `kind`).
    static var name: String { get }
    /// The payload's JSON Schema (jobs/schemas/<name>.schema.json, embedded by ops/embed.sh).
    static var payloadSchema: String { get }
    /// The migrations the kind's tables need (files of migrations/ its module owns). Kinds of one
    /// module may list the same files; `Migrator.migrations(for:)` keeps each once.
    static var migrations: [Migration] { get }
    /// A handler for this process; kinds that share resources (one model cache) take them from `environment`.
    static func makeHandler(_ environment: JobKindEnvironment) throws -> Handler
}

extension JobKind {
    public static var name: String { Handler.kind }

    /// Decodes `job`'s payload as `Payload`; a payload that does not fit is a permanent error.
    public static func payload(of job: ClaimedJob) throws -> Payload {
        try job.decode(Payload.self)
    }
}

/// How the handlers of this process are set up: what the worker's options say, passed to every kind's
/// factory (no process-wide settings).
public struct JobKindSettings: Sendable {
    /// Jobs run at once (sequences decoded together per model).
    public var concurrency: Int
    /// Compute threads per model.
    public var threads: Int
    /// Context length models are loaded with (nil: each model's own).
    public var contextLength: Int?

    public init(concurrency: Int = 4, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                contextLength: Int? = 4096) {
        self.concurrency = concurrency
        self.threads = threads
        self.contextLength = contextLength
    }
}

/// What kinds' handler factories are given: the settings and objects the kinds of one registry share
/// (the generate and distill handlers use one model cache), made once on first use.
public final class JobKindEnvironment: @unchecked Sendable {
    public let settings: JobKindSettings
    private let lock = NSLock()
    private var objects: [ObjectIdentifier: AnyObject] = [:]

    public init(_ settings: JobKindSettings = JobKindSettings()) {
        self.settings = settings
    }

    /// The one `T` of this environment, made by `make` on the first call.
    public func shared<T: AnyObject>(_ type: T.Type = T.self, _ make: () -> T) -> T {
        lock.lock(); defer { lock.unlock() }
        if let o = objects[ObjectIdentifier(type)] { return o as! T }
        let o = make()
        objects[ObjectIdentifier(type)] = o
        return o
    }
}

/// An error that says whether another attempt can succeed. The worker maps what a handler throws in one
/// place (`JobError.classifying`): such an error fails the job at once or is retried with backoff,
/// with its `description` as the job's error.
public protocol JobFailure: Error, CustomStringConvertible {
    /// True when a later attempt may succeed (I/O, an engine that stopped); false for bad requests.
    var isRetryable: Bool { get }
}

extension JobError {
    /// How the worker reads an error a handler threw: a `JobError` as it is; any error while the job's
    /// context is cancelled is `.cancelled`; a `JobFailure` permanent or retryable by its own word;
    /// anything else retryable, its type named.
    public static func classifying(_ error: Error, cancelled: Bool) -> JobError {
        if let e = error as? JobError { return e }
        if cancelled { return .cancelled }
        if let f = error as? JobFailure { return f.isRetryable ? .retryable(f.description) : .permanent(f.description) }
        return .retryable("\(type(of: error)): \(error)")
    }
}

/// The queue's own kind: `noop` (NoopHandler), for tests and the queue benchmark. The queue's tables
/// come with every registry, so it lists no migrations of its own.
public enum NoopKind: JobKind {
    public typealias Payload = NoopHandler.Payload
    public static let payloadSchema = EmbeddedResources.payloadSchemas[NoopHandler.kind]!
    public static let migrations: [Migration] = []
    public static func makeHandler(_ environment: JobKindEnvironment) -> NoopHandler { NoopHandler() }
}
