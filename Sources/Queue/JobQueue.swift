import Foundation
import PostgresClient
import QueueCore

/// A finished attempt, written back by `JobQueue.finish` under the completion fence.
public struct Completion: Sendable {
    public enum Outcome: Sendable {
        /// The handler succeeded.
        case succeeded(JobResult)
        /// The handler failed; retry after `retryAfterSeconds`, or fail for good when nil.
        case failed(message: String, retryAfterSeconds: Double?)
    }
    public let jobID: Int64
    public let attempt: Int
    public let outcome: Outcome

    public init(jobID: Int64, attempt: Int, outcome: Outcome) {
        self.jobID = jobID
        self.attempt = attempt
        self.outcome = outcome
    }
}

/// Options for `JobQueue.enqueue`.
public struct EnqueueOptions: Sendable {
    public var batchName: String?
    public var priority: Int = 0
    /// Seconds from now before the jobs may run (0 = now).
    public var runAfterSeconds: Double = 0
    public var maxAttempts: Int = 5
    public init(batchName: String? = nil, priority: Int = 0, runAfterSeconds: Double = 0, maxAttempts: Int = 5) {
        self.batchName = batchName
        self.priority = priority
        self.runAfterSeconds = runAfterSeconds
        self.maxAttempts = maxAttempts
    }
}

/// What `enqueue` did.
public struct EnqueueSummary: Sendable {
    public let batchID: Int64
    /// Jobs inserted.
    public let inserted: Int
    /// Lines whose idempotency key already existed for this kind (not inserted again): a job row with
    /// that key, or a pruned one whose key is still kept (tokenmill.idempotency_keys).
    public let duplicates: Int
}

/// The SQL side of the queue: every statement the CLI and the workers run against tokenmill.jobs.
public struct JobQueue: Sendable {
    public let pool: PostgresPool

    /// A job row `j` that this worker's lease lapsed on while it could not reach the database, and
    /// that nobody has claimed since: rescue made it retryable (or failed, attempts used up) and left
    /// locked_by and attempt alone. Together with `j.attempt = <ours> AND j.locked_by = <us>` it lets the
    /// worker take its own job back instead of throwing finished work away. A claim by another worker
    /// raises the attempt, a cancel sets another state: both end the fence for good.
    static let reclaimable = "(j.state IN ('retryable', 'failed') AND j.errors -> -1 ->> 'error' = 'lease expired')"

    public init(pool: PostgresPool) { self.pool = pool }

    // MARK: Enqueue

    /// Loads valid payloads as one batch: COPY into a temporary table, then one INSERT ... SELECT that
    /// skips idempotency-key duplicates (so the insert trigger sends one NOTIFY for the whole file).
    public func enqueue(kind: String, payloads: [PayloadLine], options: EnqueueOptions) async throws -> EnqueueSummary {
        guard options.maxAttempts >= 1 else { throw QueueError.invalidArgument("--max-attempts must be at least 1") }
        var chunks: [[UInt8]] = []
        var buf: [UInt8] = []
        buf.reserveCapacity(1 << 20)
        for p in payloads {
            buf.append(contentsOf: String(p.line).utf8); buf.append(0x09)
            buf.append(contentsOf: copyTextEscape(p.json).utf8); buf.append(0x09)
            if let k = p.idempotencyKey { buf.append(contentsOf: copyTextEscape(k).utf8) } else { buf.append(contentsOf: "\\N".utf8) }
            buf.append(0x0A)
            if buf.count > (1 << 20) { chunks.append(buf); buf.removeAll(keepingCapacity: true) }
        }
        if !buf.isEmpty { chunks.append(buf) }
        let name = options.batchName
        let frozenChunks = chunks
        return try await pool.withConnection { conn in
            try await conn.withBlocking { c in
                try c.transaction { tx in
                    let batchID: Int64 = try tx.query(
                        "INSERT INTO tokenmill.batches (name, kind) VALUES ($1, $2) RETURNING id", [name, kind]
                    ).rows[0].decode(0)
                    try tx.execute("""
                        CREATE TEMP TABLE tokenmill_stage (line int, payload jsonb, idempotency_key text) ON COMMIT DROP
                        """)
                    try tx.copyIn("COPY tokenmill_stage (line, payload, idempotency_key) FROM STDIN", chunks: frozenChunks)
                    let ins = try tx.query("""
                        INSERT INTO tokenmill.jobs (batch_id, kind, payload, priority, run_after, max_attempts, idempotency_key)
                        SELECT $1, $2, payload, $3, now() + make_interval(secs => $4), $5, idempotency_key
                          FROM tokenmill_stage s
                         WHERE s.idempotency_key IS NULL
                            OR NOT EXISTS (SELECT 1 FROM tokenmill.idempotency_keys k
                                            WHERE k.kind = $2 AND k.key = s.idempotency_key AND k.expires_at > now())
                         ORDER BY line
                        ON CONFLICT (kind, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
                        """, [batchID, kind, options.priority, options.runAfterSeconds, options.maxAttempts])
                    if ins.affectedRows == 0 {
                        // Nothing new: close the empty batch at once.
                        try tx.query("UPDATE tokenmill.batches SET status = 'completed', finished_at = now() WHERE id = $1", [batchID])
                    }
                    return EnqueueSummary(batchID: batchID, inserted: ins.affectedRows, duplicates: payloads.count - ins.affectedRows)
                }
            }
        }
    }

    // MARK: Claim, heartbeat, finish

    /// Claims up to `limit` jobs of `kinds` (highest priority, then earliest run_after, then oldest) in one
    /// short statement with FOR UPDATE SKIP LOCKED, giving each a lease of `leaseSeconds`.
    public func claim(workerID: String, kinds: [String], limit: Int, leaseSeconds: Double) async throws -> [ClaimedJob] {
        guard limit > 0, !kinds.isEmpty else { return [] }
        let r = try await pool.query("""
            WITH c AS (
                SELECT id FROM tokenmill.jobs
                 WHERE state IN ('available', 'retryable') AND run_after <= now() AND kind = ANY($1::text[])
                 ORDER BY priority DESC, run_after, id
                 LIMIT $2
                 FOR UPDATE SKIP LOCKED)
            UPDATE tokenmill.jobs j
               SET state = 'running', attempt = j.attempt + 1, locked_by = $3,
                   locked_until = now() + make_interval(secs => $4), started_at = now(), progress = NULL
              FROM c WHERE j.id = c.id
            RETURNING j.id, j.batch_id, j.kind, j.payload::text, j.attempt, j.max_attempts
            """, [PostgresArray(kinds), limit, workerID, leaseSeconds])
        return try r.rows.map { row in
            ClaimedJob(id: try row.decode(0), batchID: try row.decodeIfPresent(1), kind: try row.decode(2),
                       payload: Data((row[3] ?? "{}").utf8), attempt: try row.decode(4), maxAttempts: try row.decode(5),
                       lockedBy: workerID)
        }.sorted { $0.id < $1.id }
    }

    /// Extends the leases of `held` jobs (id, attempt, progress JSON or nil) and records the worker's
    /// heartbeat. A held job whose lease lapsed while this worker was cut off from the database is taken
    /// back if no other worker claimed it since (fenced by attempt; see `reclaimable`). Returns the ids whose lease is still this worker's (or that were locked by another
    /// transaction at that instant, checked again next time); the others were cancelled or taken over.
    public func heartbeat(workerID: String, held: [(id: Int64, attempt: Int, progress: String?)], leaseSeconds: Double,
                          runningJobs: Int, succeeded: Int, failed: Int, state: String = "running") async throws -> Set<Int64> {
        // Rows another transaction holds right now (e.g. this worker's own result write) are skipped,
        // not waited for (waiting in arbitrary order could deadlock), and reported as still held.
        let r = try await pool.query("""
            WITH p AS (SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[]) AS p(id, attempt, progress)),
            l AS (SELECT j.id FROM tokenmill.jobs j JOIN p ON p.id = j.id ORDER BY j.id FOR UPDATE OF j SKIP LOCKED),
            h AS (
                UPDATE tokenmill.jobs j
                   SET locked_until = now() + make_interval(secs => $4),
                       progress = coalesce(p.progress::jsonb, j.progress),
                       state = 'running', finished_at = NULL,
                       errors = CASE WHEN j.state = 'running' THEN j.errors
                                     ELSE j.errors || jsonb_build_array(jsonb_build_object('attempt', j.attempt, 'at', now(),
                                          'worker', j.locked_by, 'error', 'lease re-claimed by its worker after reconnecting')) END
                  FROM p JOIN l ON l.id = p.id
                 WHERE j.id = p.id AND j.attempt = p.attempt AND j.locked_by = $5
                   AND (j.state = 'running' OR \(JobQueue.reclaimable))
                RETURNING j.id),
            w AS (
                UPDATE tokenmill.workers
                   SET last_heartbeat = now(), running_jobs = $6, jobs_succeeded = $7, jobs_failed = $8,
                       state = $9, stopped_at = NULL
                 WHERE id = $5)
            SELECT id FROM h
            UNION ALL
            SELECT p.id FROM p WHERE NOT EXISTS (SELECT 1 FROM l WHERE l.id = p.id)
            """, [PostgresArray(held.map { $0.id }), PostgresArray(held.map { $0.attempt }),
                  PostgresArray(texts: held.map { $0.progress }), leaseSeconds, workerID,
                  runningJobs, succeeded, failed, state])
        return Set(try r.rows.map { try $0.decode(0, as: Int64.self) })
    }

    /// Writes finished attempts back. Each write is fenced on (id, attempt, locked_by = workerID,
    /// state = running, or lapsed while cut off and not claimed since: `reclaimable`): a worker whose lease was taken over (or whose job was cancelled) changes
    /// nothing. Successes without statements go in one batched statement; a success with statements
    /// runs them in the same transaction as its fenced update, only if the fence held.
    /// Returns the ids whose write was accepted (the rest were fenced out).
    public func finish(workerID: String, _ completions: [Completion]) async throws -> Set<Int64> {
        if completions.isEmpty { return [] }
        var plain: [(Int64, Int, String?)] = []
        var withStatements: [(Int64, Int, JobResult)] = []
        var failures: [(Int64, Int, String, Double?)] = []
        for c in completions {
            switch c.outcome {
            case let .succeeded(r):
                if r.statements.isEmpty { plain.append((c.jobID, c.attempt, r.resultJSON)) }
                else { withStatements.append((c.jobID, c.attempt, r)) }
            case let .failed(m, after):
                failures.append((c.jobID, c.attempt, m, after))
            }
        }
        let plainC = plain, failuresC = failures
        var accepted: Set<Int64> = try await pool.withConnection { conn in
            try await conn.withBlocking { c in
                var ok = Set<Int64>()
                if !plainC.isEmpty {
                    let r = try c.query("""
                        WITH d AS (SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[]) AS d(id, attempt, result)),
                        u AS (
                            UPDATE tokenmill.jobs j
                               SET state = 'succeeded', finished_at = now(), locked_until = NULL
                              FROM d
                             WHERE j.id = d.id AND j.attempt = d.attempt AND j.locked_by = $4
                               AND (j.state = 'running' OR \(JobQueue.reclaimable))
                            RETURNING j.id, j.batch_id, j.attempt, d.result),
                        ins AS (
                            INSERT INTO tokenmill.job_results (job_id, batch_id, attempt, result)
                            SELECT id, batch_id, attempt, result::jsonb FROM u WHERE result IS NOT NULL
                            ON CONFLICT (job_id) DO UPDATE
                               SET result = excluded.result, attempt = excluded.attempt, created_at = now())
                        SELECT id FROM u
                        """, [PostgresArray(plainC.map { $0.0 }), PostgresArray(plainC.map { $0.1 }),
                              PostgresArray(texts: plainC.map { $0.2 }), workerID])
                    for row in r.rows { ok.insert(try row.decode(0)) }
                }
                if !failuresC.isEmpty {
                    let r = try c.query("""
                        WITH d AS (SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::float8[])
                                            AS d(id, attempt, message, retry_after))
                        UPDATE tokenmill.jobs j
                           SET state = CASE WHEN d.retry_after IS NULL THEN 'failed'::tokenmill.job_state
                                            ELSE 'retryable'::tokenmill.job_state END,
                               run_after = CASE WHEN d.retry_after IS NULL THEN j.run_after
                                                ELSE now() + make_interval(secs => d.retry_after) END,
                               finished_at = CASE WHEN d.retry_after IS NULL THEN now() END,
                               locked_until = NULL,
                               last_error = d.message,
                               errors = j.errors || jsonb_build_array(jsonb_build_object(
                                   'attempt', j.attempt, 'at', now(), 'worker', j.locked_by, 'error', d.message,
                                   'retry_after_seconds', d.retry_after))
                          FROM d
                         WHERE j.id = d.id AND j.attempt = d.attempt AND j.locked_by = $5
                           AND (j.state = 'running' OR \(JobQueue.reclaimable))
                        RETURNING j.id
                        """, [PostgresArray(failuresC.map { $0.0 }), PostgresArray(failuresC.map { $0.1 }),
                              PostgresArray(failuresC.map { $0.2 }),
                              PostgresArray(texts: failuresC.map { $0.3.map { String($0) } }), workerID])
                    for row in r.rows { ok.insert(try row.decode(0)) }
                }
                return ok
            }
        }
        for (id, attempt, result) in withStatements {
            do {
                if try await finishWithStatements(workerID: workerID, id: id, attempt: attempt, result: result) {
                    accepted.insert(id)
                }
            } catch let e as PostgresError where !e.isConnectionError {
                // The handler's own SQL failed: that is the job's failure, not the worker's.
                let msg = "result statements failed: \(e)"
                let r = try await finish(workerID: workerID, [Completion(jobID: id, attempt: attempt,
                                                                         outcome: .failed(message: msg, retryAfterSeconds: nil))])
                accepted.formUnion(r)
            }
        }
        return accepted
    }

    private func finishWithStatements(workerID: String, id: Int64, attempt: Int, result: JobResult) async throws -> Bool {
        try await pool.withConnection { conn in
            try await conn.withBlocking { c in
                try c.transaction { tx in
                    let u = try tx.query("""
                        UPDATE tokenmill.jobs j SET state = 'succeeded', finished_at = now(), locked_until = NULL
                         WHERE j.id = $1 AND j.attempt = $2 AND j.locked_by = $3
                           AND (j.state = 'running' OR \(JobQueue.reclaimable))
                        RETURNING j.batch_id
                        """, [id, attempt, workerID])
                    guard let row = u.rows.first else { return false }
                    for s in result.statements { try tx.query(s.sql, s.params) }
                    if let json = result.resultJSON {
                        try tx.query("""
                            INSERT INTO tokenmill.job_results (job_id, batch_id, attempt, result) VALUES ($1, $2, $3, $4::jsonb)
                            ON CONFLICT (job_id) DO UPDATE SET result = excluded.result, attempt = excluded.attempt, created_at = now()
                            """, [id, try row.decodeIfPresent(0, as: Int64.self), attempt, json])
                    }
                    return true
                }
            }
        }
    }

    /// Hands running jobs back to the queue (graceful shutdown past the grace period): they become
    /// available again at once and the interrupted attempt is not counted. Fenced like completion.
    @discardableResult
    public func handBack(workerID: String, jobs: [(id: Int64, attempt: Int)]) async throws -> Int {
        if jobs.isEmpty { return 0 }
        return try await pool.query("""
            UPDATE tokenmill.jobs j
               SET state = 'available', attempt = j.attempt - 1, locked_until = NULL, run_after = now(),
                   errors = j.errors || jsonb_build_array(jsonb_build_object('attempt', j.attempt, 'at', now(),
                            'worker', j.locked_by, 'error', 'handed back at worker shutdown (attempt not counted)'))
              FROM unnest($1::bigint[], $2::int[]) AS d(id, attempt)
             WHERE j.id = d.id AND j.attempt = d.attempt AND j.locked_by = $3 AND j.state = 'running'
            """, [PostgresArray(jobs.map { $0.id }), PostgresArray(jobs.map { $0.attempt }), workerID]).affectedRows
    }

    /// Rescues jobs whose lease lapsed (their worker died or lost the database): back to retryable at
    /// once, or failed when attempts are used up; the error history says what happened.
    /// Also marks workers that stopped heartbeating as stopped. Returns the rescued job ids.
    ///
    /// A lease does not run out while the database itself is down: after a server restart every lease
    /// gets two more lease periods (the holder's, from tokenmill.workers; at least one period plus 6 s,
    /// more than the workers' 5 s reconnect back-off) from the moment the server came back, so workers
    /// that kept computing through the outage reconnect and heartbeat before anyone rescues their jobs
    /// (one period was not always enough: the server's start time is taken before its recovery ends,
    /// and a worker's next heartbeat may be a back-off away, more on a loaded host). `held` are jobs
    /// the calling worker itself still runs: never rescued by it.
    @discardableResult
    public func rescueExpired(limit: Int = 1000, held: [Int64] = []) async throws -> [Int64] {
        let r = try await pool.query("""
            WITH r AS (
                SELECT j.id FROM tokenmill.jobs j LEFT JOIN tokenmill.workers w ON w.id = j.locked_by
                 WHERE j.state = 'running' AND j.locked_until < now()
                   AND NOT (j.id = ANY($2::bigint[]))
                   AND pg_postmaster_start_time() + make_interval(secs => greatest(2 * coalesce(w.lease_seconds, 0), coalesce(w.lease_seconds, 0) + 6)) < now()
                 ORDER BY j.locked_until LIMIT $1
                 FOR UPDATE OF j SKIP LOCKED)
            UPDATE tokenmill.jobs j
               SET state = CASE WHEN j.attempt >= j.max_attempts THEN 'failed'::tokenmill.job_state
                                ELSE 'retryable'::tokenmill.job_state END,
                   finished_at = CASE WHEN j.attempt >= j.max_attempts THEN now() END,
                   run_after = now(), locked_until = NULL,
                   last_error = format('lease expired: worker %s stopped heartbeating during attempt %s of %s '
                                       '(killed, crashed, or cut off from the database)', j.locked_by, j.attempt, j.max_attempts),
                   errors = j.errors || jsonb_build_array(jsonb_build_object('attempt', j.attempt, 'at', now(),
                            'worker', j.locked_by, 'error', 'lease expired'))
              FROM r WHERE j.id = r.id
            RETURNING j.id
            """, [limit, PostgresArray(held)])
        try await pool.query("""
            UPDATE tokenmill.workers SET state = 'stopped', stopped_at = now()
             WHERE state <> 'stopped' AND last_heartbeat < now() - make_interval(secs => 3 * lease_seconds)
            """)
        return try r.rows.map { try $0.decode(0) }
    }

    // MARK: Workers

    /// Registers (or re-registers) a worker row.
    public func registerWorker(id: String, host: String, pid: Int, kinds: [String], concurrency: Int, leaseSeconds: Double,
                               maxConnections: Int? = nil) async throws {
        try await pool.query("""
            INSERT INTO tokenmill.workers (id, host, pid, kinds, concurrency, lease_seconds, max_connections)
            VALUES ($1, $2, $3, $4::text[], $5, $6, $7)
            ON CONFLICT (id) DO UPDATE SET state = 'running', last_heartbeat = now(), stopped_at = NULL
            """, [id, host, pid, PostgresArray(kinds), concurrency, leaseSeconds, maxConnections])
    }

    /// Marks a worker stopped.
    public func unregisterWorker(id: String, succeeded: Int, failed: Int) async throws {
        try await pool.query("""
            UPDATE tokenmill.workers SET state = 'stopped', stopped_at = now(), running_jobs = 0,
                   jobs_succeeded = $2, jobs_failed = $3, last_heartbeat = now()
             WHERE id = $1
            """, [id, succeeded, failed])
    }

    // MARK: Operations

    /// Cancels one job if it has not finished: a queued job never starts; a running one stops at its
    /// worker's next heartbeat. Returns false if the job does not exist or already finished.
    public func cancelJob(_ id: Int64) async throws -> Bool {
        try await pool.query("""
            UPDATE tokenmill.jobs SET state = 'cancelled', finished_at = now(), locked_until = NULL,
                   last_error = coalesce(last_error, 'cancelled')
             WHERE id = $1 AND state IN ('available', 'retryable', 'running')
            """, [id]).affectedRows == 1
    }

    /// Cancels every unfinished job of a batch and marks the batch cancelled. Returns the number of jobs cancelled.
    public func cancelBatch(_ id: Int64) async throws -> Int {
        try await pool.withConnection { conn in
            try await conn.withBlocking { c in
                try c.transaction { tx in
                    guard try tx.query("SELECT 1 FROM tokenmill.batches WHERE id = $1 FOR UPDATE", [id]).rows.count == 1 else {
                        throw QueueError.notFound("no batch with id \(id)")
                    }
                    // Mark the batch first so the jobs trigger keeps it 'cancelled' rather than 'completed'.
                    try tx.query("""
                        UPDATE tokenmill.batches SET status = 'cancelled', finished_at = coalesce(finished_at, now())
                         WHERE id = $1 AND status <> 'completed'
                        """, [id])
                    return try tx.query("""
                        UPDATE tokenmill.jobs SET state = 'cancelled', finished_at = now(), locked_until = NULL,
                               last_error = coalesce(last_error, 'cancelled')
                         WHERE batch_id = $1 AND state IN ('available', 'retryable', 'running')
                        """, [id]).affectedRows
                }
            }
        }
    }

    /// Makes the failed jobs of a batch available again with fresh attempts. Returns how many.
    public func retryFailed(batch id: Int64) async throws -> Int {
        try await pool.withConnection { conn in
            try await conn.withBlocking { c in
                try c.transaction { tx in
                    guard try tx.query("SELECT 1 FROM tokenmill.batches WHERE id = $1", [id]).rows.count == 1 else {
                        throw QueueError.notFound("no batch with id \(id)")
                    }
                    let n = try tx.query("""
                        UPDATE tokenmill.jobs SET state = 'available', attempt = 0, run_after = now(), finished_at = NULL,
                               locked_by = NULL, locked_until = NULL
                         WHERE batch_id = $1 AND state = 'failed'
                        """, [id]).affectedRows
                    if n > 0 {
                        try tx.query("UPDATE tokenmill.batches SET status = 'in_progress', finished_at = NULL WHERE id = $1", [id])
                    }
                    return n
                }
            }
        }
    }

    /// Deletes finished job rows that finished more than `olderThanSeconds` ago. Results, outputs and
    /// batch counts are kept, and so are idempotency keys for `keepKeysSeconds` after the job finished.
    /// Returns the number deleted.
    public func prune(olderThanSeconds: Double, keepKeysSeconds: Double = RetentionPolicy().keepKeysSeconds) async throws -> Int {
        try await prune(RetentionPolicy(keepSucceededSeconds: olderThanSeconds, keepFailedSeconds: olderThanSeconds,
                                        keepKeysSeconds: keepKeysSeconds))
    }

    /// Deletes finished job rows past `policy`'s ages (succeeded, then failed and cancelled), at most
    /// `limit` per statement until none is left; the idempotency key of each deleted job moves to
    /// tokenmill.idempotency_keys for `policy.keepKeysSeconds` from its finish, so enqueue keeps skipping
    /// it; expired keys are dropped. Only one caller prunes at a time (others return 0 at once).
    public func prune(_ policy: RetentionPolicy, limit: Int = 10_000) async throws -> Int {
        var total = 0
        while true {
            let n: Int? = try await pool.withConnection { conn in
                try await conn.withBlocking { c in
                    try c.transaction { tx in
                        let got: Bool = try tx.query("SELECT pg_try_advisory_xact_lock($1)", [JobQueue.pruneLockKey]).rows[0].decode(0)
                        guard got else { return nil }
                        let r = try tx.query("""
                            WITH victims AS (
                                SELECT id FROM tokenmill.jobs
                                 WHERE (state = 'succeeded' AND finished_at < now() - make_interval(secs => $1))
                                    OR (state IN ('failed', 'cancelled') AND finished_at < now() - make_interval(secs => $2))
                                 ORDER BY finished_at LIMIT $4),
                            d AS (
                                DELETE FROM tokenmill.jobs j USING victims v
                                 WHERE j.id = v.id
                                   AND ((j.state = 'succeeded' AND j.finished_at < now() - make_interval(secs => $1))
                                        OR (j.state IN ('failed', 'cancelled') AND j.finished_at < now() - make_interval(secs => $2)))
                                RETURNING j.id, j.kind, j.idempotency_key, j.finished_at),
                            k AS (
                                INSERT INTO tokenmill.idempotency_keys (kind, key, job_id, finished_at, expires_at)
                                SELECT kind, idempotency_key, id, finished_at, finished_at + make_interval(secs => $3) FROM d
                                 WHERE idempotency_key IS NOT NULL AND finished_at + make_interval(secs => $3) > now()
                                ON CONFLICT (kind, key) DO UPDATE
                                   SET job_id = excluded.job_id, finished_at = excluded.finished_at,
                                       expires_at = greatest(tokenmill.idempotency_keys.expires_at, excluded.expires_at))
                            SELECT count(*)::int FROM d
                            """, [policy.keepSucceededSeconds, policy.keepFailedSeconds, policy.keepKeysSeconds, limit])
                        let deleted: Int = try r.rows[0].decode(0)
                        if deleted < limit {
                            try tx.query("DELETE FROM tokenmill.idempotency_keys WHERE expires_at < now()")
                        }
                        return deleted
                    }
                }
            }
            guard let n else { return total }
            total += n
            if n < limit { return total }
        }
    }

    /// Advisory lock key of `prune` ("TMPRUNE!").
    static let pruneLockKey: Int64 = 0x544D_5052_554E_4521
}

/// How long finished jobs are kept (the worker's retention loop and `tokenmill prune`).
public struct RetentionPolicy: Sendable, Equatable {
    /// Succeeded job rows are deleted this long after they finished (default 7 days).
    public var keepSucceededSeconds: Double = 7 * 86400
    /// Failed and cancelled job rows are kept longer, for inspection (default 30 days).
    public var keepFailedSeconds: Double = 30 * 86400
    /// Idempotency keys of deleted jobs keep blocking re-enqueues this long after the job finished
    /// (default 30 days; a key whose window already passed is not kept).
    public var keepKeysSeconds: Double = 30 * 86400
    /// How often a worker prunes (default every 10 minutes).
    public var intervalSeconds: Double = 600

    public init(keepSucceededSeconds: Double = 7 * 86400, keepFailedSeconds: Double = 30 * 86400,
                keepKeysSeconds: Double = 30 * 86400, intervalSeconds: Double = 600) {
        self.keepSucceededSeconds = keepSucceededSeconds
        self.keepFailedSeconds = keepFailedSeconds
        self.keepKeysSeconds = keepKeysSeconds
        self.intervalSeconds = intervalSeconds
    }
}
