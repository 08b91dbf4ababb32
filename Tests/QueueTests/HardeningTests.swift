import Foundation
import Logging
import PostgresClient
import Testing
@testable import Queue
import QueueCore

/// Stand-ins registered under the real kinds with the kinds' payload schemas, so those are checked;
/// they record that they ran and do nothing else.
protocol Probe: JobHandler { var recorder: Recorder { get } }
extension Probe {
    func run(_ job: ClaimedJob, context: JobContext) async throws -> JobResult {
        await recorder.record(job.id, job.attempt)
        return .empty
    }
}
struct GenerateProbe: Probe { static let kind = "generate"; let recorder: Recorder }
struct DistillProbe: Probe { static let kind = "distill"; let recorder: Recorder }

/// Uses the handler pool (as the adaptive budget policy does) and sleeps a little.
struct PoolUser: JobHandler {
    static let kind = "pooluser"
    static let schema = #"{"type": "object"}"#
    func run(_ job: ClaimedJob, context: JobContext) async throws -> JobResult {
        try await context.pool.query("SELECT pg_sleep(0.01)")
        try await Task.sleep(nanoseconds: 10_000_000)
        return .empty
    }
}

func probeRegistry(_ recorder: Recorder = Recorder()) throws -> JobRegistry {
    var r = try registry(recorder)
    try r.register(GenerateProbe(recorder: recorder), schemaJSON: payloadSchema(of: GenerateProbe.kind)!)
    try r.register(DistillProbe(recorder: recorder), schemaJSON: payloadSchema(of: DistillProbe.kind)!)
    try r.register(PoolUser(), schemaJSON: PoolUser.schema)
    return r
}

@Suite(.serialized) struct HardeningTests {
    // MARK: Finding 4: payloads checked against bounded schemas, by everyone

    @Test func boundedSchemasNameTheField() throws {
        let reg = try probeRegistry()
        func problems(_ kind: String, _ json: String) -> [String] {
            reg.schema(for: kind)!.validate(try! JSONValue.parse(json))
        }
        let m = #""model": "m.gguf", "prompt": "2+2?""#
        #expect(problems("generate", "{\(m), \"budget\": {\"policy\": \"fixed\", \"thinking\": 64, \"answer\": 32}}") == [])
        let bad: [(String, String)] = [
            (#"{\#(m), "budget": {"policy": "fixed", "thinking": -50, "answer": 16}}"#, "$.budget.thinking: -50 is less than the minimum 0"),
            (#"{\#(m), "budget": {"policy": "fixed", "thinking": 5, "answer": -1}}"#, "$.budget.answer: -1 is less than the minimum 1"),
            (#"{\#(m), "difficulty": "extreme"}"#, "$.difficulty"),
            (#"{\#(m), "budget": {"policy": "fixed", "thinking": 1000000000000}}"#, "$.budget.thinking: 1000000000000 is greater than the maximum 1048576"),
            (#"{\#(m), "budget": {"policy": "fixed", "thinking": 1e12}}"#, "$.budget.thinking"),
            (#"{\#(m), "budget": {"table": {"hard": {"thinking": 1e400}}}}"#, "$.budget.table.hard.thinking"),
            (#"{\#(m), "max_tokens": 99999999999}"#, "$.max_tokens"),
            (#"{\#(m), "override": {"answer": 0}}"#, "$.override.answer"),
            (#"{\#(m), "sampling": {"temperature": 1e9}}"#, "$.sampling.temperature"),
            (#"{\#(m), "sampling": {"top_p": 1.5}}"#, "$.sampling.top_p"),
            (#"{\#(m), "sampling": {"top_k": -1}}"#, "$.sampling.top_k"),
            ("{\"model\": \"m\", \"prompt\": \"\(String(repeating: "x", count: 10 << 20))\"}", "$.prompt: string longer than 524288 characters"),
        ]
        for (json, want) in bad {
            let p = problems("generate", json)
            #expect(p.contains { $0.hasPrefix(want) }, "\(json.prefix(120)): \(p)")
        }
        // A distill payload's generate part is checked against the generate schema ($ref).
        let d = #"{"dataset_id": 1, "prompt_id": "p", "sample_index": 0, "keep_per_prompt": 1, "generate": {\#(m), "budget": {"thinking": -1}}}"#
        #expect(problems("distill", d).contains { $0.hasPrefix("$.generate.budget.thinking") })
        let dOK = #"{"dataset_id": 1, "prompt_id": "p", "sample_index": 0, "keep_per_prompt": 1, "generate": {\#(m)}}"#
        #expect(problems("distill", dOK) == [])
    }

    @Test func workerFailsABadSQLInsertAtOnceNamingTheField() async throws {
        let db = try await TestDatabase()
        let rec = Recorder()
        let reg = try probeRegistry(rec)
        try await db.register(reg)
        let bad = try await insertJobs(db, kind: "generate", payloads: [
            #"{"model": "m.gguf", "prompt": "2+2?", "budget": {"policy": "fixed", "thinking": -50, "answer": -1}}"#,
            #"{"model": "m.gguf", "prompt": "2+2?", "difficulty": "extreme"}"#,
            #"{"model": "m.gguf", "prompt": "2+2?", "budget": {"policy": "fixed", "thinking": 1e12}}"#,
        ], maxAttempts: 5)
        let good = try await insertJobs(db, kind: "generate", payloads: [#"{"model": "m.gguf", "prompt": "2+2?"}"#])
        let w = try RunningWorker(url: db.url, registry: reg, options: options())
        let settled = try await eventually {
            try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE state IN ('failed', 'succeeded')") == 4
        }
        await w.stop()
        #expect(settled)
        let rows = try await db.pool.query("SELECT id, state::text, attempt, last_error FROM tokenmill.jobs ORDER BY id").rows
        for r in rows where bad.contains(try r.decode(0, as: Int64.self)) {
            #expect(r[1] == "failed" && r[2] == "1", "failed at once, no retry: \(r.values)")
        }
        #expect(rows[0][3]?.contains("$.budget.thinking: -50 is less than the minimum 0") == true)
        #expect(rows[0][3]?.contains("$.budget.answer: -1 is less than the minimum 1") == true)
        #expect(rows[1][3]?.contains("$.difficulty") == true)
        #expect(rows[2][3]?.contains("$.budget.thinking: 1000000000000 is greater than the maximum 1048576") == true, "\(rows[2].values)")
        // The handler never ran for a bad payload.
        #expect(await rec.runs.map(\.0) == good)
        await db.drop()
    }

    // MARK: Finding 1: least-privilege roles

    @Test func rolesCoverEveryTableAndViewAndNoMore() async throws {
        let db = try await TestDatabase()
        let reg = try registry()
        try await db.register(reg)
        let worker = try await db.loginRole("tokenmill_worker")
        let submitter = try await db.loginRole("tokenmill_submitter")
        let reader = try await db.loginRole("tokenmill_reader")
        let tables = try await db.pool.query("SELECT tablename FROM pg_tables WHERE schemaname = 'tokenmill' AND tablename <> 'schema_migrations'")
            .rows.compactMap { $0[0] }
        let views = try await db.pool.query("SELECT viewname FROM pg_views WHERE schemaname = 'tokenmill'").rows.compactMap { $0[0] }
        #expect(tables.count >= 10 && views.count >= 7)
        func may(_ role: String, _ rel: String, _ priv: String) async throws -> Bool {
            try await db.pool.query("SELECT has_table_privilege($1, $2, $3)", [role, "tokenmill." + rel, priv]).rows[0].decode(0)
        }
        for t in tables {
            #expect(try await may(worker.name, t, "SELECT"), "worker cannot read \(t)")
            // The submitter reads what it submitted and what came out, not the worker registry (a view shows it).
            #expect(try await may(submitter.name, t, "SELECT") == (t != "workers"), "submitter and table \(t)")
            #expect(try await !may(reader.name, t, "SELECT"), "reader may read table \(t)")
            #expect(try await !may(reader.name, t, "INSERT"), "reader may insert into \(t)")
        }
        for v in views {
            for r in [worker.name, submitter.name, reader.name] { #expect(try await may(r, v, "SELECT"), "\(r) cannot read view \(v)") }
        }
        for out in ["job_results", "generation_outputs", "quantization_results", "distill_samples"] {
            #expect(try await may(worker.name, out, "INSERT"), "worker cannot write \(out)")
            #expect(try await !may(submitter.name, out, "INSERT"), "submitter may write \(out)")
        }

        // The reader cannot insert a job.
        let readerPool = PostgresPool(url: reader.url, maxConnections: 1)
        await #expect(throws: PostgresError.self) {
            try await readerPool.query("INSERT INTO tokenmill.jobs (kind) VALUES ('noop')")
        }
        #expect(try await readerPool.query("SELECT count(*) FROM tokenmill.queue_summary").rows.count == 1)
        await readerPool.close()

        // The submitter enqueues (COPY, idempotency keys), cancels and reads its views.
        let subPool = PostgresPool(url: submitter.url, maxConnections: 2)
        let subQ = JobQueue(pool: subPool)
        let s = try await subQ.enqueue(kind: "noop", payloads: (1...4).map { PayloadLine(line: $0, json: #"{"tag": "t\#($0)"}"#, idempotencyKey: "k\($0)") },
                                       options: EnqueueOptions(batchName: "as submitter", runAfterSeconds: 3600))
        #expect(s.inserted == 4)
        #expect(try await subQ.enqueue(kind: "noop", payloads: [PayloadLine(line: 1, json: "{}", idempotencyKey: "k1")],
                                       options: EnqueueOptions()).duplicates == 1)
        #expect(try await subQ.cancelBatch(s.batchID) == 4)
        #expect(try await subPool.query("SELECT status FROM tokenmill.batch_progress WHERE batch_id = $1", [s.batchID]).rows[0][0] == "cancelled")
        await #expect(throws: PostgresError.self) {
            try await subPool.query("INSERT INTO tokenmill.job_results (job_id, attempt, result) VALUES (1, 1, '{}')")
        }
        await subPool.close()

        // The worker runs jobs end to end (claim, heartbeat, results) and prunes under its role.
        let ids = try await insertJobs(db, kind: "noop", payloads: (1...6).map { #"{"result": \#($0), "sleep_ms": 50}"# })
        var o = options()
        o.retention = nil
        let w = try RunningWorker(url: worker.url, registry: reg, options: o)
        let done = try await eventually {
            try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE id = ANY($1::bigint[]) AND state = 'succeeded'", [PostgresArray(ids)]) == 6
        }
        await w.stop()
        #expect(done)
        #expect(try await db.int("SELECT count(*) FROM tokenmill.job_results") == 6)
        let workerPool = PostgresPool(url: worker.url, maxConnections: 1)
        try await db.pool.query("UPDATE tokenmill.jobs SET finished_at = now() - interval '9 days' WHERE id = ANY($1::bigint[])", [PostgresArray(ids)])
        #expect(try await JobQueue(pool: workerPool).prune(RetentionPolicy()) == 6)
        await workerPool.close()
        await db.drop()
    }

    // MARK: Finding 2: leases that ride out an outage

    @Test func ownJobIsReclaimedAfterItsLeaseLapsedUnlessAnotherWorkerHoldsIt() async throws {
        let db = try await TestDatabase()
        try await db.register(try registry())
        let ids = try await insertJobs(db, kind: "rec", payloads: ["{}", "{}"])
        let a = try await db.queue.claim(workerID: "A", kinds: ["rec"], limit: 5, leaseSeconds: 30)
        #expect(a.count == 2)
        // A is cut off: its leases lapse; a rescue makes both jobs retryable (attempt and holder kept).
        try await db.pool.query("UPDATE tokenmill.jobs SET locked_until = now() - interval '1 second'")
        #expect(try await db.queue.rescueExpired(held: [ids[0], ids[1]]).isEmpty, "a worker never rescues the jobs it holds")
        #expect(try await db.queue.rescueExpired().sorted() == ids)
        // Another worker B claims the second job only.
        try await db.pool.query("UPDATE tokenmill.jobs SET run_after = now() + interval '1 hour' WHERE id = $1", [ids[0]])
        let b = try await db.queue.claim(workerID: "B", kinds: ["rec"], limit: 5, leaseSeconds: 30)
        #expect(b.map(\.id) == [ids[1]] && b.first?.attempt == 2)
        // A reconnects: it takes back the job nobody claimed, and gives up the one B holds.
        let kept = try await db.queue.heartbeat(workerID: "A", held: [(ids[0], 1, nil), (ids[1], 1, nil)], leaseSeconds: 30,
                                                runningJobs: 2, succeeded: 0, failed: 0)
        #expect(kept == [ids[0]])
        let r0 = try await db.pool.query("SELECT state::text, attempt, locked_by, errors->-1->>'error' FROM tokenmill.jobs WHERE id = $1", [ids[0]]).rows[0]
        #expect(r0.values == ["running", "1", "A", "lease re-claimed by its worker after reconnecting"])
        let accepted = try await db.queue.finish(workerID: "A", [
            Completion(jobID: ids[0], attempt: 1, outcome: .succeeded(JobResult(resultJSON: #"{"by": "A"}"#))),
            Completion(jobID: ids[1], attempt: 1, outcome: .succeeded(JobResult(resultJSON: #"{"by": "A"}"#))),
        ])
        #expect(accepted == [ids[0]])
        #expect(try await db.queue.finish(workerID: "B", [Completion(jobID: ids[1], attempt: 2, outcome: .succeeded(JobResult(resultJSON: #"{"by": "B"}"#)))]) == [ids[1]])
        #expect(try await db.pool.query("SELECT result->>'by' FROM tokenmill.job_results ORDER BY job_id").rows.map { $0[0] } == ["A", "B"])
        // A result written straight after a rescue (no heartbeat in between) is taken back too, even
        // when the rescue failed the job for using up its attempts.
        let c = try await insertJobs(db, kind: "rec", payloads: ["{}"], maxAttempts: 1)
        _ = try await db.queue.claim(workerID: "A", kinds: ["rec"], limit: 1, leaseSeconds: 30)
        try await db.pool.query("UPDATE tokenmill.jobs SET locked_until = now() - interval '1 second' WHERE id = $1", [c[0]])
        #expect(try await db.queue.rescueExpired() == c)
        #expect(try await db.pool.query("SELECT state::text FROM tokenmill.jobs WHERE id = $1", [c[0]]).rows[0][0] == "failed")
        #expect(try await db.queue.finish(workerID: "A", [Completion(jobID: c[0], attempt: 1, outcome: .succeeded(.empty))]) == Set(c))
        #expect(try await db.pool.query("SELECT state::text FROM tokenmill.jobs WHERE id = $1", [c[0]]).rows[0][0] == "succeeded")
        // A cancelled job is never taken back.
        let x = try await insertJobs(db, kind: "rec", payloads: ["{}"])
        _ = try await db.queue.claim(workerID: "A", kinds: ["rec"], limit: 1, leaseSeconds: 30)
        #expect(try await db.queue.cancelJob(x[0]))
        #expect(try await db.queue.heartbeat(workerID: "A", held: [(x[0], 1, nil)], leaseSeconds: 30, runningJobs: 1, succeeded: 0, failed: 0).isEmpty)
        await db.drop()
    }

    @Test(.timeLimit(.minutes(2)))
    func workersKeepComputingThroughADatabaseOutageLongerThanTheLease() async throws {
        let server = try ThrowawayServer()
        defer { server.destroy() }
        let db = try await TestDatabase(server: server.url)
        let rec = Recorder()
        let reg = try registry(rec)
        try await db.register(reg)
        // A 4 s lease: the workers run inside this test process, whose scheduling in a parallel suite on
        // 2 cores can lag by seconds (a 3 s lease once let B rescue a job before A's first heartbeat
        // after the restart got through); the outage is still four leases long.
        let lease = 4.0
        // One job ends during the outage, one after it.
        let ids = try await insertJobs(db, kind: "rec", payloads: [#"{"sleep_ms": 10000}"#, #"{"sleep_ms": 28000}"#])
        var oa = options(lease: lease, concurrency: 2)
        oa.workerID = "A"
        let a = try RunningWorker(url: db.url, registry: reg, options: oa)
        #expect(try await eventually { try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE state = 'running' AND locked_by = 'A'") == 2 })
        // B is idle and ready to take over whatever is rescued.
        var ob = options(lease: lease, concurrency: 2)
        ob.workerID = "B"
        let b = try RunningWorker(url: db.url, registry: reg, options: ob)
        try await Task.sleep(nanoseconds: 300_000_000)
        try server.stop()
        try await Task.sleep(nanoseconds: UInt64(4 * lease * 1e9)) // down for four leases
        try server.start()
        let done = await eventually(timeout: 60) {
            (try? await db.int("SELECT count(*) FROM tokenmill.jobs WHERE state = 'succeeded'")) == 2
        }
        await a.stop()
        await b.stop()
        #expect(done)
        let rows = try await db.pool.query("SELECT attempt, locked_by FROM tokenmill.jobs WHERE id = ANY($1::bigint[]) ORDER BY id", [PostgresArray(ids)]).rows
        #expect(rows.map(\.values) == [["1", "A"], ["1", "A"]], "no work was given away or redone")
        #expect(await rec.runs.map(\.0).sorted() == ids, "each handler ran once")
        await db.drop()
    }

    // MARK: Finding 5: retention keeps idempotency keys

    @Test func pruningKeepsIdempotencyKeysForTheirWindow() async throws {
        let db = try await TestDatabase()
        try await db.register(try registry())
        func lines(_ keys: [String]) -> [PayloadLine] { keys.enumerated().map { PayloadLine(line: $0.offset + 1, json: "{}", idempotencyKey: $0.element) } }
        let s = try await db.queue.enqueue(kind: "noop", payloads: lines(["k1", "k2", "k3", "f1"]), options: EnqueueOptions(runAfterSeconds: 3600))
        #expect(s.inserted == 4)
        try await db.pool.query("""
            UPDATE tokenmill.jobs SET state = CASE WHEN idempotency_key = 'f1' THEN 'failed'::tokenmill.job_state ELSE 'succeeded' END,
                   finished_at = now() - CASE WHEN idempotency_key = 'k3' THEN interval '40 days' ELSE interval '10 days' END
            """)
        let policy = RetentionPolicy(keepSucceededSeconds: 7 * 86400, keepFailedSeconds: 30 * 86400, keepKeysSeconds: 30 * 86400)
        #expect(try await db.queue.prune(policy) == 3)
        #expect(try await db.pool.query("SELECT idempotency_key FROM tokenmill.jobs").rows.map { $0[0] } == ["f1"], "failed jobs are kept longer")
        #expect(try await db.pool.query("SELECT key FROM tokenmill.idempotency_keys ORDER BY key").rows.map { $0[0] } == ["k1", "k2"])
        let again = try await db.queue.enqueue(kind: "noop", payloads: lines(["k1", "k2", "k3", "f1", "new"]), options: EnqueueOptions(runAfterSeconds: 3600))
        #expect(again.inserted == 2 && again.duplicates == 3, "k1, k2 kept by the window, f1 still a row; k3's window had passed")
        // Expired keys are dropped by the next prune.
        try await db.pool.query("UPDATE tokenmill.idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = 'k1'")
        _ = try await db.queue.prune(policy)
        #expect(try await db.pool.query("SELECT key FROM tokenmill.idempotency_keys ORDER BY key").rows.map { $0[0] } == ["k2"])
        // The worker's retention loop prunes by itself.
        try await db.pool.query("UPDATE tokenmill.jobs SET state = 'succeeded', finished_at = now() - interval '8 days' WHERE idempotency_key = 'new'")
        var o = options()
        o.retention = RetentionPolicy(keepSucceededSeconds: 86400, keepFailedSeconds: 86400 * 60, keepKeysSeconds: 86400 * 30, intervalSeconds: 0.2)
        let w = try RunningWorker(url: db.url, registry: try registry(), options: o)
        let pruned = try await eventually { try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE idempotency_key = 'new'") == 0 }
        await w.stop()
        #expect(pruned)
        #expect(try await db.int("SELECT count(*) FROM tokenmill.idempotency_keys WHERE key = 'new'") == 1)
        await db.drop()
    }

    // MARK: Finding 7: connection limits

    @Test func workerStaysWithinItsConnectionLimitAndStatusSumsThem() async throws {
        let db = try await TestDatabase()
        let reg = try probeRegistry()
        try await db.register(reg)
        _ = try await insertJobs(db, kind: "pooluser", payloads: Array(repeating: "{}", count: 300))
        let app = "tmlimit\(UInt32.random(in: 0...UInt32.max))"
        var o = options(concurrency: 8)
        o.maxConnections = 3
        let w = try RunningWorker(url: db.url + "?application_name=\(app)", registry: reg, options: o)
        var most = 0
        while try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE state <> 'succeeded'") > 0 {
            most = max(most, try await db.int("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", [app]))
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        #expect(most >= 2 && most <= 3, "at most 3 connections, saw \(most)")
        var o2 = options()
        o2.maxConnections = 5
        let w2 = try RunningWorker(url: db.url, registry: reg, options: o2)
        #expect(try await eventually { try await db.int("SELECT count(*) FROM tokenmill.worker_status WHERE alive") == 2 })
        let (status, out, err) = try runTokenmill(["status", "--database-url", db.url])
        #expect(status == 0, "\(err)")
        #expect(out.contains("WORKERS (2 alive on 1 host(s), at most 8 PostgreSQL connections in all)"), "\(out)")
        await w.stop()
        await w2.stop()
        #expect(throws: QueueError.self) {
            var bad = options()
            bad.maxConnections = 2
            _ = try Worker(databaseURL: db.url, registry: reg, options: bad)
        }
        await db.drop()
    }

    // MARK: Finding 6: enqueue reads bytes

    @Test func enqueueReportsInvalidUTF8AndNULLinesByNumber() async throws {
        let db = try await TestDatabase()
        #expect(try runTokenmill(["migrate", "--database-url", db.url]).0 == 0)
        let path = NSTemporaryDirectory() + "tm-bytes-\(getpid()).jsonl"
        var bytes = Data(#"{"tag": "a"}"#.utf8) + Data([0x0A])
        bytes += Data(#"{"tag": "b"#.utf8) + Data([0xFF, 0xFE]) + Data(#""}"#.utf8) + Data([0x0A])
        bytes += Data(#"{"tag": "c\u0000"}"#.utf8) + Data([0x0A])
        bytes += Data(#"{"tag": "d"}"#.utf8) + Data([0x0A])
        try bytes.write(to: URL(fileURLWithPath: path))
        let (s1, _, e1) = try runTokenmill(["enqueue", "--database-url", db.url, "--kind", "noop", "--file", path])
        #expect(s1 != 0)
        #expect(e1.contains("line 2: invalid UTF-8 at byte 11"), "\(e1)")
        #expect(e1.contains("line 3:") && e1.contains("NUL"), "\(e1)")
        #expect(try await db.int("SELECT count(*) FROM tokenmill.jobs") == 0)
        let (s2, o2, e2) = try runTokenmill(["enqueue", "--database-url", db.url, "--kind", "noop", "--file", path, "--skip-bad-lines"])
        #expect(s2 == 0, "\(e2)")
        #expect(o2.contains("enqueued 2 noop job(s)") && o2.contains("2 bad line(s) skipped"), "\(o2)")
        #expect(try await db.pool.query("SELECT payload->>'tag' FROM tokenmill.jobs ORDER BY id").rows.map { $0[0] } == ["a", "d"])
        await db.drop()
    }

    // MARK: Finding 3: no password in any message or log line

    @Test func passwordsNeverReachTheOutput() async throws {
        let secret = "S3cretPw"
        let forms = [
            "postgresql://u:\(secret)@127.0.0.1:1/db",
            "postgresql://u@127.0.0.1:1/db?password=\(secret)",
            "postgresql://u@127.0.0.1:1/db?sslmode=disable&password=\(secret)&connect_timeout=2",
            "host=127.0.0.1 port=1 user=u password=\(secret) dbname=db",
            "host=127.0.0.1 port=1 password='\(secret) x' dbname=db",
        ]
        for url in forms {
            let (status, out, err) = try runTokenmill(["status", "--database-url", url])
            #expect(status != 0)
            #expect(err.contains("could not connect"), "\(err)")
            #expect(!(out + err).contains(secret), "\(url) leaked: \(err)")
        }
        // The worker retries and logs each failure: none of those lines carries the password.
        for url in [forms[1], forms[3]] {
            let p = try startTokenmill(["worker", "--database-url", url, "--kinds", "noop"], env: ["PGPASSWORD": "EnvS3cretPw"], output: true)
            try await Task.sleep(nanoseconds: 1_500_000_000)
            kill(p.processIdentifier, SIGTERM)
            let err = String(decoding: (p.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(err.contains("cannot register the worker"), "\(err)")
            #expect(!err.contains(secret), "\(err)")
        }
        // Log lines and metadata go through redaction, $PGPASSWORD's value included.
        let sink = LogSink()
        setenv("PGPASSWORD", "EnvS3cretPw", 1)
        defer { unsetenv("PGPASSWORD") }
        var logger = Logger(label: "t") { _ in RedactingLogHandler(sink) }
        logger.logLevel = .info
        for f in forms { logger.error("connecting to \(f) failed", metadata: ["url": .string(f)]) }
        logger.info("PGPASSWORD is EnvS3cretPw here")
        logger.error("cannot connect", error: ConnectFailure(url: forms[0]))
        #expect(sink.lines.count == forms.count + 2)
        #expect(sink.lines.last!.contains("ConnectFailure"), "\(sink.lines)")
        #expect(!sink.lines.joined().contains(secret) && !sink.lines.joined().contains("EnvS3cretPw"), "\(sink.lines)")
        #expect(sink.lines.allSatisfy { $0.contains("***") })
    }
}

/// A LogHandler that keeps what it is given.
final class LogSink: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var kept: [String] = []
    var lines: [String] { lock.lock(); defer { lock.unlock() }; return kept }
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        let error = event.error.map { e in " error=\(e) type=\((e as? RedactedError)?.originalType ?? "\(type(of: e))")" } ?? ""
        lock.lock()
        kept.append(event.message.description + " " + (event.metadata ?? [:]).map { "\($0.key)=\($0.value)" }.joined(separator: " ") + error)
        lock.unlock()
    }
}

/// An error whose description quotes the connection string it failed on.
struct ConnectFailure: Error, CustomStringConvertible {
    let url: String
    var description: String { "could not connect to \(url)" }
}
