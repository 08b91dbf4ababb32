import Foundation
import Logging
import PostgresClient
@testable import Queue
import QueueCore

let baseURL = ProcessInfo.processInfo.environment["DATABASE_URL"] ?? "postgresql://tokenmill@127.0.0.1:54329/tokenmill"

/// `base` with its database name replaced by `database`.
func urlWithDatabase(_ base: String, _ database: String = "postgres") -> String {
    var u = base
    var query = ""
    if let q = u.firstIndex(of: "?") { query = String(u[q...]); u = String(u[..<q]) }
    let schemeEnd = u.range(of: "://")!.upperBound
    if let slash = u[schemeEnd...].firstIndex(of: "/") { u = String(u[..<slash]) }
    return u + "/" + database + query
}

/// A throwaway database (`tm_test_<random>`), migrated, dropped by `drop()`.
final class TestDatabase: @unchecked Sendable {
    let name: String
    let url: String
    let pool: PostgresPool
    let queue: JobQueue
    let admin: String

    init(server: String = baseURL, migrate: Bool = true) async throws {
        name = "tm_test_\(UInt32.random(in: 0...UInt32.max))"
        admin = urlWithDatabase(server)
        let c = try await PostgresConnection.connect(url: admin)
        try await c.execute("CREATE DATABASE \(name)")
        await c.close()
        url = urlWithDatabase(server, name)
        pool = PostgresPool(url: url, maxConnections: 4)
        queue = JobQueue(pool: pool)
        if migrate {
            try await Migrator.migrate(url: url)
        }
    }

    func drop() async {
        await pool.close()
        if let c = try? await PostgresConnection.connect(url: admin) {
            _ = try? await c.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            await c.close()
        }
    }

    func int(_ sql: String, _ params: [(any PostgresEncodable)?] = []) async throws -> Int {
        guard let row = try await pool.query(sql, params).rows.first else {
            throw QueueError.notFound("no row from: \(sql)")
        }
        return try row.decode(0)
    }

    func register(_ registry: JobRegistry) async throws {
        try await Migrator.registerKinds(registry, pool: pool)
    }
}


/// Polls `condition` every 50 ms until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Double = 20, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(nanoseconds: 50_000_000)
    }
    return try await condition()
}

/// Records every (job id, attempt) it runs; can sleep or wait for cancellation.
actor Recorder {
    var runs: [(Int64, Int)] = []
    var stoppedByCancel: Set<Int64> = []
    func record(_ id: Int64, _ attempt: Int) { runs.append((id, attempt)) }
    func cancelled(_ id: Int64) { stoppedByCancel.insert(id) }
}

struct RecordingHandler: JobHandler {
    static let kind = "rec"
    static let schema = #"{"type": "object", "properties": {"sleep_ms": {"type": "integer"}, "until_cancelled": {"type": "boolean"}}}"#
    let recorder: Recorder

    struct P: Decodable { var sleep_ms: Int?; var until_cancelled: Bool? }

    func run(_ job: ClaimedJob, context: JobContext) async throws -> JobResult {
        await recorder.record(job.id, job.attempt)
        let p: P = try job.decode()
        if p.until_cancelled == true {
            while !context.isCancelled { try? await Task.sleep(nanoseconds: 20_000_000) }
            await recorder.cancelled(job.id)
            throw JobError.cancelled
        }
        if let ms = p.sleep_ms { try await Task.sleep(nanoseconds: UInt64(ms) * 1_000_000) }
        return JobResult(resultJSON: "{\"id\":\(job.id)}")
    }
}

func registry(_ recorder: Recorder = Recorder()) throws -> JobRegistry {
    var r = JobRegistry()
    try r.register(NoopHandler())
    try r.register(RecordingHandler(recorder: recorder), schemaJSON: RecordingHandler.schema)
    return r
}

func options(lease: Double = 3, poll: Double = 0.5, concurrency: Int = 4, grace: Double = 5) -> WorkerOptions {
    var o = WorkerOptions()
    o.leaseSeconds = lease
    o.pollSeconds = poll
    o.concurrency = concurrency
    o.gracePeriodSeconds = grace
    o.rescueSeconds = 0.25
    o.retryPolicy = RetryPolicy(baseSeconds: 0.05, maxSeconds: 0.2)
    return o
}

var quietLogger: Logger {
    var l = Logger(label: "test")
    l.logLevel = ProcessInfo.processInfo.environment["TOKENMILL_TEST_LOG"] != nil ? .debug : .critical
    return l
}

/// Runs a worker in a task; `stop()` shuts it down gracefully and waits.
final class RunningWorker: @unchecked Sendable {
    let worker: Worker
    let task: Task<Void, Error>
    init(url: String, registry: JobRegistry, options: WorkerOptions) throws {
        let w = try Worker(databaseURL: url, registry: registry, options: options, logger: quietLogger)
        worker = w
        task = Task { try await w.run() }
    }
    func stop() async {
        worker.shutdown()
        _ = try? await task.value
    }
}

/// Inserts jobs by plain SQL; returns their ids.
func insertJobs(_ db: TestDatabase, kind: String, payloads: [String], priority: Int = 0, batch: Int64? = nil,
                maxAttempts: Int = 5, runAfterSeconds: Double = 0) async throws -> [Int64] {
    try await db.pool.query("""
        INSERT INTO tokenmill.jobs (kind, payload, priority, batch_id, max_attempts, run_after)
        SELECT $1, p::jsonb, $2, $3, $4, now() + make_interval(secs => $5) FROM unnest($6::text[]) WITH ORDINALITY AS u(p, o) ORDER BY o
        RETURNING id
        """, [kind, priority, batch, maxAttempts, runAfterSeconds, PostgresArray(payloads)]).rows.map { try $0.decode(0) }.sorted()
}

/// The built `tokenmill` executable next to the test bundle (.build/<config>/tokenmill).
func tokenmillBinary() throws -> URL {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<3 {
        let candidate = dir.appendingPathComponent("tokenmill")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    let fallback = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug/tokenmill")
    if FileManager.default.isExecutableFile(atPath: fallback.path) { return fallback }
    throw QueueError.notFound("tokenmill binary not found next to \(CommandLine.arguments[0]); run `swift build` first")
}

/// Runs the tokenmill binary to completion; returns (status, stdout, stderr).
func runTokenmill(_ args: [String], env: [String: String] = [:]) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = try tokenmillBinary()
    p.arguments = args
    var e = ProcessInfo.processInfo.environment
    for (k, v) in env { e[k] = v }
    p.environment = e
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let r = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: r, as: UTF8.self))
}
