import Foundation

/// The `noop` job kind: does nothing, for tests and the queue benchmark. Payload (all optional,
/// jobs/schemas/noop.schema.json): `sleep_ms` (sleep, checking cancellation), `fail_times` (throw a
/// retryable error while attempt <= fail_times), `fail_permanently`, `crash_times` (abort the whole
/// worker process while attempt <= crash_times), `result` (stored as the job's result), `tag`, `n`.
public struct NoopHandler: JobHandler {
    public static let kind = "noop"

    public init() {}

    /// The fields the handler reads (`result`, `tag` and `n` are read as JSON or not at all).
    public struct Payload: Decodable {
        public var sleep_ms: Int?
        public var fail_times: Int?
        public var fail_permanently: Bool?
        public var crash_times: Int?
    }

    public func run(_ job: ClaimedJob, context: JobContext) async throws -> JobResult {
        // Fast path for empty payloads (the benchmark's jobs).
        if job.payload.count <= 2 { return .empty }
        let p = try NoopKind.payload(of: job)
        if let c = p.crash_times, job.attempt <= c {
            FileHandle.standardError.write(Data("noop: job \(job.id) crashes the worker on purpose (attempt \(job.attempt) <= crash_times \(c))\n".utf8))
            abort()
        }
        if let ms = p.sleep_ms, ms > 0 {
            var left = ms
            while left > 0 {
                try context.checkCancellation()
                let step = min(left, 50)
                try await Task.sleep(nanoseconds: UInt64(step) * 1_000_000)
                left -= step
                context.reportProgress(Double(ms - left) / Double(ms), "slept \(ms - left) of \(ms) ms")
            }
        }
        if p.fail_permanently == true {
            throw JobError.permanent("noop: fail_permanently is set")
        }
        if let f = p.fail_times, job.attempt <= f {
            throw JobError.retryable("noop: planned failure on attempt \(job.attempt) (fail_times \(f))")
        }
        if let v = try job.payloadValue()["result"] {
            return JobResult(resultJSON: v.jsonText)
        }
        return .empty
    }
}
