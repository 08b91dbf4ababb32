import ArgumentParser
import Foundation
import DistillJobs
import GenerateJobs
import Inference
import Logging
import PostgresClient
import QuantizeJobs
import Queue
import QueueCore
import ServiceLifecycle

/// Queue commands: migrate, worker, enqueue, status, cancel, retry, prune.
let queueCommands: [ParsableCommand.Type] = [
    MigrateCommand.self, WorkerCommand.self, EnqueueCommand.self, StatusCommand.self,
    CancelCommand.self, RetryCommand.self, PruneCommand.self,
]

/// Every job kind this binary runs: the one registration list. Each kind is declared in its own module
/// with its payload schema, migrations and handler factory (docs/extending.md, "A job kind").
let jobKinds: [any JobKind.Type] = [NoopKind.self, GenerateKind.self, DistillKind.self, QuantizeKind.self, ImatrixKind.self]

/// The handlers of `jobKinds`, set up with `settings` (the worker's options; defaults elsewhere).
func buildJobRegistry(_ settings: JobKindSettings = JobKindSettings()) throws -> JobRegistry {
    try JobRegistry(kinds: jobKinds, environment: JobKindEnvironment(settings))
}

/// `--database-url`, defaulting to $DATABASE_URL.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "PostgreSQL URL (default: $DATABASE_URL).")
    var databaseURL: String?

    func url() throws -> String {
        if let u = databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"], !u.isEmpty { return u }
        throw ValidationError("no database given: set DATABASE_URL or pass --database-url postgresql://user@host:port/db")
    }
}

/// swift-log prints through `RedactingLogHandler`: no log line carries a database password.
private let loggingBootstrap: Void = {
    LoggingSystem.bootstrap { RedactingLogHandler(StreamLogHandler.standardError(label: $0)) }
}()

func makeLogger(_ label: String, level: String) -> Logger {
    _ = loggingBootstrap
    var l = Logger(label: label)
    l.logLevel = Logger.Level(rawValue: level) ?? .info
    return l
}

/// Runs `body` with a pool; converts database errors into messages a user can act on.
func withQueue<T: Sendable>(_ db: DatabaseOptions, _ body: @Sendable (JobQueue) async throws -> T) async throws -> T {
    let pool = PostgresPool(url: try db.url(), maxConnections: 2)
    do {
        let v = try await body(JobQueue(pool: pool))
        await pool.close()
        return v
    } catch let e as PostgresError {
        await pool.close()
        if e.sqlState == "42P01" || e.sqlState == "3F000" {
            throw QueueError.invalidArgument("\(e)\nThe tokenmill schema is missing or old: run `tokenmill migrate` first.")
        }
        throw e
    }
}

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or upgrade schema tokenmill (idempotent; safe from several processes at once).")
    @OptionGroup var db: DatabaseOptions

    func run() async throws {
        let url = try db.url()
        let migrations = try Migrator.migrations(for: jobKinds)
        let applied = try await Migrator.migrate(url: url, migrations: migrations)
        let pool = PostgresPool(url: url, maxConnections: 1)
        try await Migrator.registerKinds(try buildJobRegistry(), pool: pool)
        await pool.close()
        if applied.isEmpty {
            print("schema tokenmill is up to date (\(migrations.count) migrations)")
        } else {
            print("applied \(applied.count) migration(s): \(applied.joined(separator: ", "))")
        }
    }
}

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run the worker daemon: claim and run jobs until SIGTERM/SIGINT (graceful shutdown).")
    @OptionGroup var db: DatabaseOptions
    @Option(help: "Jobs run at once (sequences decoded together per model), or 'auto': sized from the models pending jobs name, their KV cache per sequence and the free memory (printed at start).")
    var concurrency: String = "auto"
    @Option(help: "Jobs claimed ahead and held ready (heartbeated, handed back on shutdown) so a finished job's slot is refilled at once.")
    var reserve: Int = 2
    @Option(help: "Comma-separated kinds to run (default: every kind this binary knows).") var kinds: String?
    @Option(help: "Lease of a claimed job in seconds; heartbeats extend it.") var leaseSeconds: Double = 10
    @Option(help: "Polling fallback period in seconds (NOTIFY wakes the worker sooner).") var pollSeconds: Double = 2
    @Option(help: "On shutdown, seconds running jobs may take before they are handed back.") var graceSeconds: Double = 10
    @Option(help: "Most jobs claimed per round trip.") var claimBatch: Int = 64
    @Option(help: "Retry backoff base in seconds (doubles per attempt, with jitter).") var backoffBase: Double = 1
    @Option(help: "Retry backoff cap in seconds.") var backoffMax: Double = 600
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel: String = "info"
    @Option(help: "Most PostgreSQL connections this worker opens in all (at least 3: LISTEN, handlers, queue).")
    var maxConnections: Int = 4
    @Option(help: "Retention: delete succeeded job rows this long after they finished (e.g. 7d, 12h).")
    var keepSucceeded: String = "7d"
    @Option(help: "Retention: delete failed and cancelled job rows this long after they finished.")
    var keepFailed: String = "30d"
    @Option(help: "Retention: idempotency keys of deleted jobs keep blocking re-enqueues this long after the job finished.")
    var keepKeys: String = "30d"
    @Option(help: "Retention: how often to prune.") var retentionInterval: String = "10m"
    @Flag(help: "Do not prune finished jobs from this worker (use `tokenmill prune`).") var noRetention = false

    func retention() throws -> RetentionPolicy? {
        if noRetention { return nil }
        func secs(_ v: String, _ name: String) throws -> Double {
            guard let d = parseDuration(v) else { throw ValidationError("--\(name): '\(v)' is not a duration like 7d, 12h or 30m") }
            return d
        }
        let interval = try secs(retentionInterval, "retention-interval")
        guard interval > 0 else { throw ValidationError("--retention-interval must be positive") }
        return RetentionPolicy(keepSucceededSeconds: try secs(keepSucceeded, "keep-succeeded"),
                               keepFailedSeconds: try secs(keepFailed, "keep-failed"),
                               keepKeysSeconds: try secs(keepKeys, "keep-keys"), intervalSeconds: interval)
    }

    func run() async throws {
        guard maxConnections >= 3 else { throw ValidationError("--max-connections must be at least 3 (LISTEN, handlers, queue)") }
        var settings = JobKindSettings()
        if self.concurrency == "auto" {
            let plan = try await autoConcurrency(url: try db.url(), contextLength: settings.contextLength)
            settings.concurrency = plan.sequences
            FileHandle.standardError.write(Data("tokenmill worker: --concurrency auto: \(plan)\n".utf8))
        } else {
            guard let n = Int(self.concurrency), n >= 1 else {
                throw ValidationError("--concurrency: '\(self.concurrency)' is neither 'auto' nor a number of at least 1")
            }
            settings.concurrency = n
        }
        let registry = try buildJobRegistry(settings)
        var o = WorkerOptions()
        o.concurrency = settings.concurrency
        o.reserve = reserve
        o.kinds = kinds.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
        o.leaseSeconds = leaseSeconds
        o.pollSeconds = pollSeconds
        o.gracePeriodSeconds = graceSeconds
        o.maxClaimBatch = claimBatch
        o.retryPolicy = RetryPolicy(baseSeconds: backoffBase, maxSeconds: backoffMax)
        o.maxConnections = maxConnections
        o.retention = try retention()
        let logger = makeLogger("tokenmill.worker", level: logLevel)
        let worker = try Worker(databaseURL: try db.url(), registry: registry, options: o, logger: logger)
        let group = ServiceGroup(services: [worker], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}

/// `--concurrency auto`: sizes for the models that pending generate/distill jobs name (their GGUF
/// headers, read in place), loaded with `contextLength`, and the memory available now.
func autoConcurrency(url: String, contextLength: Int?) async throws -> ConcurrencyPlan {
    let pool = PostgresPool(url: url, maxConnections: 1)
    var names: [String] = []
    do {
        names = try await pool.query("""
            SELECT DISTINCT coalesce(payload->>'model', payload->'generate'->>'model') FROM tokenmill.jobs
             WHERE kind IN ('generate', 'distill') AND state IN ('available', 'retryable', 'running')
               AND coalesce(payload->>'model', payload->'generate'->>'model') IS NOT NULL LIMIT 8
            """).rows.compactMap { $0[0] }
    } catch {
        // No schema yet or no database: size without models (the worker reports the database itself).
    }
    await pool.close()
    var needs: [ConcurrencyPlan.ModelNeeds] = []
    for name in names {
        let path = ModelCache.resolve(name)
        guard let m = try? Model.load(path: path, repack: false) else { continue }  // sizes only
        let ctx = min(m.config.contextLength, contextLength ?? m.config.contextLength)
        needs.append(.init(name: (path as NSString).lastPathComponent, weightsBytes: m.weightBytes,
                           kvBytesPerSequence: m.kvBytesPerSequence(contextLength: ctx, type: .f32)))
    }
    return ConcurrencyPlan.plan(models: needs, availableBytes: ConcurrencyPlan.availableMemory())
}

struct EnqueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue",
        abstract: "Enqueue one batch of jobs from a JSONL file (one payload object per line), loaded with COPY.")
    @OptionGroup var db: DatabaseOptions
    @Option(help: "Job kind.") var kind: String
    @Option(help: "JSONL file of payloads ('-' for stdin).") var file: String
    @Option(help: "Batch name.") var batchName: String?
    @Option(help: "Priority (higher runs first).") var priority: Int = 0
    @Option(help: "When the jobs may run: a delay (30s, 10m, 2h) or an ISO-8601 time (2026-11-28T02:00:00Z).") var runAfter: String?
    @Option(help: "Attempts before a job is failed.") var maxAttempts: Int = 5
    @Option(help: "Payload field whose value is the idempotency key (re-enqueueing skips existing keys).")
    var idempotencyKeyField: String?
    @Flag(help: "Enqueue the valid lines even if some lines are bad (bad ones are reported).") var skipBadLines = false

    func run() async throws {
        let registry = try buildJobRegistry()
        guard let schema = registry.schema(for: kind) else {
            throw QueueError.unknownKind(kind, known: registry.kinds)
        }
        var delay = 0.0
        if let r = runAfter {
            guard let d = parseRunAfter(r) else {
                throw ValidationError("--run-after: '\(r)' is neither a delay like 30s, 10m or 2h nor an ISO-8601 time like 2026-11-28T02:00:00Z")
            }
            delay = d
        }
        // Bytes, not text: a line with invalid UTF-8 or a \u0000 escape is one bad line with its number.
        let bytes: Data
        do {
            if file == "-" {
                bytes = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            }
        } catch {
            throw ValidationError("cannot read \(file): \(error.localizedDescription)")
        }
        let v = validateJSONL(bytes: bytes, schema: schema, idempotencyKeyField: idempotencyKeyField)
        if !v.bad.isEmpty {
            let err = QueueError.badLines(v.bad, total: v.bad.count + v.valid.count)
            if !skipBadLines { throw err }
            FileHandle.standardError.write(Data("skipping \(v.bad.count) bad line(s):\n\(v.bad.prefix(20).map { "  \($0)" }.joined(separator: "\n"))\n".utf8))
        }
        if v.valid.isEmpty { throw ValidationError("\(file): no valid lines to enqueue") }
        let opts = EnqueueOptions(batchName: batchName, priority: priority, runAfterSeconds: delay, maxAttempts: maxAttempts)
        let kind = self.kind
        let s = try await withQueue(db) { q in try await q.enqueue(kind: kind, payloads: v.valid, options: opts) }
        print("batch \(s.batchID): enqueued \(s.inserted) \(kind) job(s)"
              + (s.duplicates > 0 ? ", \(s.duplicates) skipped as duplicate idempotency keys" : "")
              + (v.bad.isEmpty ? "" : ", \(v.bad.count) bad line(s) skipped"))
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show queue counts, batch progress and live workers (views tokenmill.queue_summary, batch_progress, worker_status).")
    @OptionGroup var db: DatabaseOptions
    @Option(help: "Only this batch.") var batch: Int64?
    @Flag(help: "Refresh every --interval seconds; with --batch, exit when the batch is finished.") var watch = false
    @Option(help: "Refresh period for --watch.") var interval: Double = 1

    func run() async throws {
        let pool = PostgresPool(url: try db.url(), maxConnections: 1)
        defer { Task { await pool.close() } }
        while true {
            let (text, finished) = try await StatusCommand.render(pool: pool, batch: batch)
            if watch && isatty(1) != 0 { print("\u{1B}[H\u{1B}[2J", terminator: "") }
            print(text)
            if !watch || (batch != nil && finished) { break }
            try await Task.sleep(nanoseconds: UInt64(interval * 1e9))
        }
    }

    static func bar(_ f: Double, width: Int = 30) -> String {
        let n = Int((min(max(f, 0), 1) * Double(width)).rounded(.down))
        return "[" + String(repeating: "#", count: n) + String(repeating: "-", count: width - n) + "]"
    }

    static func render(pool: PostgresPool, batch: Int64?) async throws -> (String, Bool) {
        var out = ""
        var finished = false
        if batch == nil {
            let q = try await pool.query("""
                SELECT kind, available, scheduled, retryable, running, succeeded, failed, cancelled,
                       coalesce(round(oldest_wait_seconds::numeric, 1)::text, '-'), round(finished_per_second_1m::numeric, 1)
                  FROM tokenmill.queue_summary ORDER BY kind
                """)
            out += "QUEUE  kind        available scheduled retryable  running succeeded   failed cancelled  oldest-wait  done/s(1m)\n"
            for r in q.rows {
                let v = r.values.map { $0 ?? "-" }
                out += "       " + v[0].padding(toLength: 10, withPad: " ", startingAt: 0)
                    + v[1...7].map { pad($0, 10) }.joined() + pad(v[8] + "s", 13) + pad(v[9], 12) + "\n"
            }
            if q.rows.isEmpty { out += "       (no jobs)\n" }
        }
        let b = try await pool.query("""
            SELECT batch_id, coalesce(name, ''), coalesce(kind, ''), status, total, completed, failed, cancelled, pending,
                   fraction_done, round(jobs_per_second::numeric, 1), round(elapsed_seconds::numeric, 1)
              FROM tokenmill.batch_progress
             WHERE ($1::bigint IS NULL AND (status = 'in_progress' OR finished_at > now() - interval '1 hour')) OR batch_id = $1
             ORDER BY batch_id DESC LIMIT 20
            """, [batch])
        out += "BATCHES\n"
        for r in b.rows {
            let f = (try? r.decode(9, as: Double.self)) ?? 0
            let status = r[3] ?? ""
            if batch != nil { finished = status != "in_progress" }
            out += "  #\(r[0] ?? "") \(r[1] ?? "") (\(r[2] ?? "")) \(status)  \(bar(f)) \(Int(f * 100))%  "
                + "\(r[5] ?? "0")/\(r[4] ?? "0") done, \(r[6] ?? "0") failed, \(r[7] ?? "0") cancelled, \(r[8] ?? "0") pending, "
                + "\(r[10] ?? "0") jobs/s over \(r[11] ?? "0")s\n"
        }
        if b.rows.isEmpty { out += batch == nil ? "  (no recent batches)\n" : "  no batch \(batch!)\n" }
        if batch != nil && b.rows.isEmpty { finished = true }
        let w = try await pool.query("""
            SELECT worker_id, kinds::text, concurrency, state, running_jobs, jobs_succeeded, jobs_failed,
                   round(seconds_since_heartbeat::numeric, 1), max_connections, host
              FROM tokenmill.worker_status WHERE alive ORDER BY started_at
            """)
        var connections = 0, unknown = 0
        var hosts = Set<String>()
        for r in w.rows {
            if let c = r[8].flatMap(Int.init) { connections += c } else { unknown += 1 }
            hosts.insert(r[9] ?? "")
        }
        out += "WORKERS (\(w.rows.count) alive on \(hosts.count) host(s), at most \(connections) PostgreSQL connections in all"
            + (unknown > 0 ? "; \(unknown) worker(s) of an older version not counted" : "") + ")\n"
        for r in w.rows {
            out += "  \(r[0] ?? "") kinds \(r[1] ?? "") \(r[3] ?? ""), jobs running \(r[4] ?? "0")/\(r[2] ?? "0"), "
                + "\(r[5] ?? "0") succeeded, \(r[6] ?? "0") failed, heartbeat \(r[7] ?? "?")s ago, "
                + "at most \(r[8] ?? "?") connections\n"
        }
        return (out, finished)
    }

    static func pad(_ s: String, _ n: Int) -> String {
        s.count >= n ? " " + s : String(repeating: " ", count: n - s.count) + s
    }
}

struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a job or a whole batch: queued jobs never start, running ones stop at their next heartbeat.")
    @OptionGroup var db: DatabaseOptions
    @Option(help: "Job id.") var job: Int64?
    @Option(help: "Batch id.") var batch: Int64?

    func validate() throws {
        if (job == nil) == (batch == nil) { throw ValidationError("give exactly one of --job ID or --batch ID") }
    }

    func run() async throws {
        if let j = job {
            let ok = try await withQueue(db) { try await $0.cancelJob(j) }
            print(ok ? "job \(j) cancelled" : "job \(j) not cancelled: it does not exist or already finished")
            if !ok { throw ExitCode(1) }
        } else if let b = batch {
            let n = try await withQueue(db) { try await $0.cancelBatch(b) }
            print("batch \(b) cancelled: \(n) unfinished job(s) cancelled")
        }
    }
}

struct RetryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry", abstract: "Run the failed jobs of a batch again (fresh attempts).")
    @OptionGroup var db: DatabaseOptions
    @Option(help: "Batch id.") var batch: Int64

    func run() async throws {
        let b = batch
        let n = try await withQueue(db) { try await $0.retryFailed(batch: b) }
        print("batch \(b): \(n) failed job(s) queued again")
    }
}

struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete finished job rows older than a duration (results, outputs, batch counts and, for --keep-keys, idempotency keys are kept).")
    @OptionGroup var db: DatabaseOptions
    @Option(help: "Age, e.g. 7d, 12h, 30m.") var olderThan: String
    @Option(help: "Idempotency keys of deleted jobs keep blocking re-enqueues this long after the job finished.")
    var keepKeys: String = "30d"

    func run() async throws {
        guard let secs = parseDuration(olderThan) else {
            throw ValidationError("--older-than: '\(olderThan)' is not a duration like 7d, 12h or 30m")
        }
        guard let keys = parseDuration(keepKeys) else {
            throw ValidationError("--keep-keys: '\(keepKeys)' is not a duration like 30d")
        }
        let n = try await withQueue(db) { try await $0.prune(olderThanSeconds: secs, keepKeysSeconds: keys) }
        print("pruned \(n) finished job row(s) older than \(olderThan)")
    }
}
