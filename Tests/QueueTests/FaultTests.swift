import Foundation
import PostgresClient
import Testing
@testable import Queue
import QueueCore

/// Runs a command (posix_spawn + waitpid, output to a temp file), waiting for it; returns its status and
/// output. Not Foundation.Process: a server started by pg_ctl keeps running and confused its exit tracking.
@discardableResult
func sh(_ args: [String]) throws -> (Int32, String) {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("tm-sh-\(UInt32.random(in: 0...UInt32.max)).out").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
    let cmd = args.map(quote).joined(separator: " ") + " >" + quote(path) + " 2>&1 </dev/null"
    let argv: [UnsafeMutablePointer<CChar>?] = [String](["/bin/sh", "-c", cmd]).map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ)
    guard rc == 0 else { throw QueueError.invalidArgument("posix_spawn failed: \(rc)") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let data = FileManager.default.contents(atPath: path) ?? Data()
    return ((status >> 8) & 0xFF, String(decoding: data, as: UTF8.self))
}

/// A throwaway PostgreSQL server (initdb into a temp dir, its own port) that a test may restart.
final class ThrowawayServer: @unchecked Sendable {
    let dir: String
    let port: Int
    let bin: String
    let asPostgres: [String]

    init() throws {
        var b = ProcessInfo.processInfo.environment["TOKENMILL_PG_BIN"] ?? ""
        if b.isEmpty {
            let roots = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
            guard let v = roots.sorted(by: { (Int($0) ?? 0) < (Int($1) ?? 0) }).last else {
                throw QueueError.notFound("PostgreSQL binaries not found: set TOKENMILL_PG_BIN (ops/pg.sh does)")
            }
            b = "/usr/lib/postgresql/\(v)/bin"
        }
        bin = b
        // Below Linux's ephemeral range (32768-60999): a restart must find its port still free, not
        // taken as the source port of some client connection meanwhile.
        port = Int.random(in: 21000...29000)
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("tm-pg-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        asPostgres = getuid() == 0 ? ["runuser", "-u", "postgres", "--"] : []
        if getuid() == 0 { try sh(["chown", "postgres:postgres", dir]) }
        let (s, out) = try sh(asPostgres + ["\(bin)/initdb", "-D", "\(dir)/data", "-U", "tokenmill", "--auth=trust", "-E", "UTF8"])
        guard s == 0 else { throw QueueError.invalidArgument("initdb failed: \(out)") }
        try start()
    }

    var url: String { "postgresql://tokenmill@127.0.0.1:\(port)/postgres" }

    func start() throws {
        let (s, out) = try sh(asPostgres + ["\(bin)/pg_ctl", "-D", "\(dir)/data", "-l", "\(dir)/log", "-w", "-t", "30",
                                            "-o", "-p \(port) -k \(dir) -c listen_addresses=127.0.0.1 -c fsync=off", "start"])
        guard s == 0 else { throw QueueError.invalidArgument("pg_ctl start failed: \(out)") }
    }

    func stop() throws {
        try sh(asPostgres + ["\(bin)/pg_ctl", "-D", "\(dir)/data", "-m", "fast", "-w", "stop"])
    }

    func destroy() {
        _ = try? stop()
        try? FileManager.default.removeItem(atPath: dir)
    }
}

/// Starts `tokenmill worker --database-url <db> <args>` as a child process.
private func workerProcess(_ db: TestDatabase, _ args: [String]) throws -> Process {
    let p = Process()
    p.executableURL = try tokenmillBinary()
    p.arguments = ["worker", "--database-url", db.url] + args
    try p.run()
    return p
}

/// Waits until `n` running noop jobs have started their handlers. Claimed is not started: under load a
/// claim can come well before its handler starts, and a SIGTERM in between rightly hands the job back.
/// The noop handler reports progress from its first 50 ms step; the worker writes it at its next
/// heartbeat (lease / 3).
private func handlersStarted(_ db: TestDatabase, _ n: Int) async throws -> Bool {
    try await eventually {
        try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE state = 'running' AND progress IS NOT NULL") == n
    }
}

@Suite(.serialized) struct FaultTests {
    @Test func killedWorkerProcessIsRescuedWithinTwoLeases() async throws {
        let db = try await TestDatabase()
        let (ms, mout, merr) = try runTokenmill(["migrate", "--database-url", db.url])
        #expect(ms == 0, "\(mout)\(merr)")
        let ids = try await insertJobs(db, kind: "noop", payloads: Array(repeating: #"{"sleep_ms": 600}"#, count: 3))
        let p = try workerProcess(db, ["--concurrency", "4", "--lease-seconds", "1", "--log-level", "error"])
        // Wait until the child holds all three jobs, with sleep jobs long enough to still be running.
        try await db.pool.query("UPDATE tokenmill.jobs SET payload = '{\"sleep_ms\": 30000}'")
        let held = try await eventually(timeout: 20) {
            try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE state = 'running' AND locked_by LIKE $1", ["%:\(p.processIdentifier):%"]) == 3
        }
        #expect(held)
        // The rescuer is a second worker process, started before the kill, so the measurement is the
        // queue's (lease lapse + rescue period + claim), not this test process's scheduling under load.
        let rescuer = try workerProcess(db, ["--concurrency", "4", "--lease-seconds", "1", "--log-level", "error"])
        defer { if rescuer.isRunning { rescuer.terminate(); rescuer.waitUntilExit() } }
        let registered = try await eventually(timeout: 20) {
            try await db.int("SELECT count(*) FROM tokenmill.workers WHERE pid = $1 AND state = 'running'", [Int(rescuer.processIdentifier)]) == 1
        }
        #expect(registered)
        try await db.pool.query("UPDATE tokenmill.jobs SET payload = '{}'")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let killedAt = Date()
        let done = try await eventually(timeout: 20) {
            try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE state = 'succeeded' AND attempt = 2") == 3
        }
        // When the last rerun finished, by the database's clock (same host), not when this test noticed.
        let finished = try await db.pool.query("SELECT extract(epoch FROM max(finished_at))::float8 FROM tokenmill.jobs")
        let rerunAfter = (try finished.rows.first?.decodeIfPresent(0, as: Double.self) ?? .infinity) - killedAt.timeIntervalSince1970
        #expect(done)
        #expect(rerunAfter < 2 * 1 + 1.5, "rescued and rerun \(rerunAfter)s after the kill (lease 1 s)")
        let errs = try await db.pool.query("SELECT errors->0->>'error', last_error FROM tokenmill.jobs WHERE id = ANY($1::bigint[])", [PostgresArray(ids)])
        for r in errs.rows {
            #expect(r[0] == "lease expired")
            #expect(r[1]?.contains("stopped heartbeating during attempt 1") == true)
        }
        await db.drop()
    }

    @Test func killedWorkerHoldingReservedJobsLosesNoneOfThem() async throws {
        let db = try await TestDatabase()
        _ = try runTokenmill(["migrate", "--database-url", db.url])
        let ids = try await insertJobs(db, kind: "noop", payloads: Array(repeating: #"{"sleep_ms": 30000}"#, count: 6))
        let p = try workerProcess(db, ["--concurrency", "2", "--reserve", "3", "--lease-seconds", "1",
                       "--log-level", "error"])
        // Two run, three wait in reserve (claimed, leased), one stays available.
        let mine = "%:\(p.processIdentifier):%"
        let held = try await eventually(timeout: 20) {
            try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE state = 'running' AND locked_by LIKE $1", [mine]) == 5
        }
        #expect(held)
        #expect(try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE state = 'available'") == 1)
        // Reserved jobs are heartbeated like running ones: every lease stays in the future past several lease periods.
        try await Task.sleep(nanoseconds: 2_500_000_000)
        #expect(try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE state = 'running' AND locked_until > now() AND locked_by LIKE $1", [mine]) == 5)
        #expect(try await db.int("SELECT running_jobs FROM tokenmill.workers WHERE pid = $1", [Int(p.processIdentifier)]) == 2,
                "only `concurrency` handlers run; the rest wait in reserve")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        try await db.pool.query("UPDATE tokenmill.jobs SET payload = '{}'")
        var o = options(lease: 1)
        o.rescueSeconds = 0.2
        let w = try RunningWorker(url: db.url, registry: try registry(), options: o)
        let done = try await eventually(timeout: 20) {
            try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE state = 'succeeded'") == 6
        }
        await w.stop()
        #expect(done, "every job, reserved ones included, ran again after its lease lapsed")
        #expect(try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE id = ANY($1::bigint[]) AND attempt = 2 AND errors->0->>'error' = 'lease expired'",
                                 [PostgresArray(ids)]) == 5)
        await db.drop()
    }

    @Test func gracefulShutdownHandsReservedJobsBackAtOnce() async throws {
        let db = try await TestDatabase()
        _ = try runTokenmill(["migrate", "--database-url", db.url])
        let ids = try await insertJobs(db, kind: "noop", payloads: Array(repeating: #"{"sleep_ms": 8000}"#, count: 3))
        let p = try workerProcess(db, ["--concurrency", "1", "--reserve", "2", "--grace-seconds", "30",
                       "--lease-seconds", "3", "--log-level", "error"])
        #expect(try await eventually { try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE state = 'running'") == 3 })
        // The one handler has started (8 s of work leave room for the checks below on a loaded machine).
        #expect(try await handlersStarted(db, 1))
        kill(p.processIdentifier, SIGTERM)
        // The two reserved jobs come back while the running one still has its grace period to finish.
        let back = try await eventually(timeout: 5) {
            try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE state = 'available' AND attempt = 0") == 2
        }
        #expect(back)
        #expect(try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE state = 'running' AND attempt = 1") == 1)
        p.waitUntilExit()
        #expect(p.terminationReason == .exit && p.terminationStatus == 0)
        let rows = try await db.pool.query("SELECT state::text, attempt, errors->-1->>'error' FROM tokenmill.jobs WHERE id = ANY($1::bigint[]) ORDER BY state::text", [PostgresArray(ids)]).rows
        #expect(rows.map { $0[0] } == ["available", "available", "succeeded"])
        #expect(rows.filter { $0[0] == "available" }.allSatisfy { $0[1] == "0" && $0[2]?.contains("handed back") == true })
        await db.drop()
    }

    @Test func sigtermShutsTheWorkerBinaryDownGracefully() async throws {
        let db = try await TestDatabase()
        _ = try runTokenmill(["migrate", "--database-url", db.url])
        // The short job runs 8 s, so this test still sees it running (with the progress its 0.5 s
        // heartbeat writes) when two busy cores delay the polling below; at 2 s and at 4 s a loaded CI
        // host saw it finish first.
        let short = try await insertJobs(db, kind: "noop", payloads: [#"{"sleep_ms": 8000}"#])
        let long = try await insertJobs(db, kind: "noop", payloads: [#"{"sleep_ms": 60000}"#])
        // A 10 s grace: the short job, started before the SIGTERM, finishes inside it even when a
        // parallel suite slows this child process down; the 60 s job cannot, and is handed back.
        let p = try workerProcess(db, ["--concurrency", "2", "--grace-seconds", "10", "--lease-seconds", "1.5",
                                       "--log-level", "error"])
        #expect(try await eventually { try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE state = 'running'") == 2 })
        #expect(try await handlersStarted(db, 2))
        let t0 = Date()
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(Date().timeIntervalSince(t0) < 18)
        #expect(p.terminationReason == .exit && p.terminationStatus == 0)
        #expect(try await db.pool.query("SELECT state::text, attempt FROM tokenmill.jobs WHERE id = $1", [short[0]]).rows[0].values == ["succeeded", "1"])
        #expect(try await db.pool.query("SELECT state::text, attempt FROM tokenmill.jobs WHERE id = $1", [long[0]]).rows[0].values == ["available", "0"])
        #expect(try await db.int("SELECT count(*) FROM tokenmill.worker_status WHERE state = 'stopped' AND NOT alive") == 1)
        await db.drop()
    }

    @Test func handlerThatCrashesItsWorkerAffectsNoOtherJob() async throws {
        let db = try await TestDatabase()
        _ = try runTokenmill(["migrate", "--database-url", db.url])
        // The first attempt aborts the whole worker process; the second one succeeds.
        let crash = try await insertJobs(db, kind: "noop", payloads: [#"{"crash_times": 1}"#], maxAttempts: 3)
        let others = try await insertJobs(db, kind: "noop", payloads: ["{}", "{}"])
        // No reserve: a job held in reserve by the crashing process would have that attempt counted.
        let (status, _, err) = try runTokenmill(["worker", "--database-url", db.url, "--concurrency", "1", "--reserve", "0",
                                                 "--lease-seconds", "1", "--claim-batch", "1", "--log-level", "error"])
        #expect(status != 0)
        #expect(err.contains("crashes the worker on purpose"))
        let reg = try registry()
        let w = try RunningWorker(url: db.url, registry: reg, options: options(lease: 1))
        let settled = try await eventually(timeout: 15) {
            try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE state = 'succeeded'") == 3
        }
        await w.stop()
        #expect(settled)
        let row = try await db.pool.query("SELECT state::text, attempt, last_error, errors->0->>'error' FROM tokenmill.jobs WHERE id = $1", [crash[0]]).rows[0]
        #expect(row[0] == "succeeded" && row[1] == "2")
        #expect(row[2]?.contains("lease expired: worker") == true)
        #expect(row[3] == "lease expired")
        #expect(try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE id = ANY($1::bigint[]) AND state = 'succeeded' AND attempt = 1", [PostgresArray(others)]) == 2)
        await db.drop()
    }

    @Test func databaseRestartUnderRunningWorkers() async throws {
        let server = try ThrowawayServer()
        defer { server.destroy() }
        let db = try await TestDatabase(server: server.url)
        let reg = try registry()
        try await db.register(reg)
        let n = 400
        let b = try await db.queue.enqueue(kind: "noop", payloads: (1...n).map { PayloadLine(line: $0, json: #"{"sleep_ms": 20, "result": \#($0)}"#) },
                                           options: EnqueueOptions(batchName: "restart"))
        let workers = try (0..<2).map { _ in try RunningWorker(url: db.url, registry: reg, options: options(lease: 4, concurrency: 4)) }
        #expect(try await eventually(timeout: 30) { try await db.int("SELECT completed FROM tokenmill.batches WHERE id = $1", [b.batchID]) >= 60 })
        try server.stop()
        try await Task.sleep(nanoseconds: 1_500_000_000) // down for a while: workers log and back off
        try server.start()
        let done = await eventually(timeout: 60) {
            (try? await db.int("SELECT completed FROM tokenmill.batches WHERE id = $1", [b.batchID])) == n
        }
        for w in workers { await w.stop() }
        #expect(done)
        #expect(try await db.int("SELECT count(*) FROM tokenmill.jobs WHERE state = 'succeeded'") == n)
        #expect(try await db.int("SELECT count(*) FROM tokenmill.job_results") == n)
        #expect(try await db.int("SELECT count(DISTINCT result) FROM tokenmill.job_results") == n)
        #expect(try await db.pool.query("SELECT status, total, completed, failed FROM tokenmill.batches WHERE id = $1", [b.batchID]).rows[0].values
                == ["completed", "\(n)", "\(n)", "0"])
        await db.drop()
    }
}
