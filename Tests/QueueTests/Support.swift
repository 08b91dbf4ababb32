import Foundation
import Logging
import PostgresClient
@testable import Queue
import QueueCore
@_exported import TestSupport

/// The shared server (TestSupport.testServerURL); throwaway databases and the binary helpers come from TestSupport.
let baseURL = testServerURL

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
    try r.register(NoopKind.self, handler: NoopHandler())
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
