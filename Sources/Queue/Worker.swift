import Foundation
import Logging
import PostgresClient
import QueueCore
import ServiceLifecycle

/// Settings of a worker daemon.
public struct WorkerOptions: Sendable {
    /// Handler invocations run at once.
    public var concurrency: Int = 4
    /// Jobs claimed ahead and held ready beyond `concurrency`, so a freed slot is refilled at once
    /// instead of after a claim round trip. A reserved job holds a lease like a running one (it is
    /// heartbeated; if the worker dies it is rescued when the lease lapses, that attempt counted) and
    /// is handed back at once on graceful shutdown (attempt not counted).
    public var reserve: Int = 0
    /// Kinds to claim (nil = every kind in the registry). Must be registered kinds.
    public var kinds: [String]? = nil
    /// Lease a claim holds; heartbeats extend it. A lapsed lease is rescued by any worker.
    public var leaseSeconds: Double = 10
    /// Heartbeat period (default a third of the lease).
    public var heartbeatSeconds: Double? = nil
    /// Claim attempt period when no NOTIFY arrives (the polling fallback).
    public var pollSeconds: Double = 2
    /// How often this worker looks for lapsed leases.
    public var rescueSeconds: Double = 1
    /// On graceful shutdown, how long running jobs may take to finish before they are handed back.
    public var gracePeriodSeconds: Double = 10
    /// Most jobs claimed per round trip.
    public var maxClaimBatch: Int = 64
    public var retryPolicy = RetryPolicy()
    /// Unique worker id, used as locked_by (default host:pid:random).
    public var workerID: String = WorkerOptions.defaultWorkerID()
    /// Most PostgreSQL connections this worker opens, all together (default 4, at least 3): one for
    /// LISTEN, one for handlers' own queries, the rest for claims, heartbeats, results and pruning.
    public var maxConnections: Int = 4
    /// Pruning of finished jobs by this worker (nil: never; `tokenmill prune` by hand).
    public var retention: RetentionPolicy? = RetentionPolicy()

    public init() {}

    /// How `maxConnections` is shared: one LISTEN connection, a quarter (at least one) for handlers'
    /// own queries, the rest for the queue's statements.
    public static func connectionSplit(_ maxConnections: Int) -> (listen: Int, handlers: Int, queue: Int) {
        let handlers = max(1, (maxConnections - 1) / 4)
        return (1, handlers, maxConnections - 1 - handlers)
    }

    public static func defaultWorkerID() -> String {
        "\(ProcessInfo.processInfo.hostName):\(getpid()):\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
    }
}

/// The worker daemon: claims jobs of its kinds, runs up to `concurrency` handlers at once, heartbeats
/// their leases, writes results back fenced, rescues lapsed leases, and shuts down gracefully.
/// It is a swift-service-lifecycle `Service`: run it in a `ServiceGroup` (SIGTERM/SIGINT = graceful
/// shutdown), or call `run()` and `shutdown()` yourself.
public final class Worker: Service, @unchecked Sendable {
    public let options: WorkerOptions
    public let registry: JobRegistry
    public let databaseURL: String
    private let logger: Logger
    private let pool: PostgresPool
    /// Connections for handlers' own queries, apart from the worker's, so a busy handler can never
    /// starve heartbeats and claims. Opened lazily.
    private let handlerPool: PostgresPool
    private let queue: JobQueue
    private let kinds: [String]

    private struct Running {
        let job: ClaimedJob
        let context: JobContext
        var task: Task<Void, Never>?
        /// Finished and waiting for its write; still heartbeated so the lease holds until written.
        var awaitingWrite = false
        /// Claimed and held in reserve: no handler started yet.
        var reserved = false
    }

    private let lock = NSLock()
    // Never held across an await.
    private func acquire() { lock.lock() }
    private func release() { lock.unlock() }
    private var running: [Int64: Running] = [:]
    private var executing = 0
    /// Reserved jobs in claim order (also in `running`, with `reserved` set).
    private var reserveQueue: [Int64] = []
    /// Time spent in claim and result-writing round trips (reported when the worker stops).
    private var claimTime = (calls: 0, seconds: 0.0, jobs: 0)
    private var writeTime = (calls: 0, seconds: 0.0, jobs: 0)
    /// Handler starts that found a job waiting in reserve vs. slots that had to wait for a claim.
    private var startsFromReserve = 0
    private var pendingWrites: [Completion] = []
    /// A claim and this worker's own rescue never overlap: the rescue spares the jobs this worker
    /// holds, and a claim landing between its snapshot of them and its query (a starved process can
    /// take longer than a lease there) would have its fresh job rescued from under it.
    private var claimInFlight = false
    private var rescueInFlight = false
    private var stopping = false
    private var succeededCount = 0
    private var failedCount = 0
    private var listenerConnection: PostgresConnection?

    private let claimSignal = WakeSignal()
    private let writeSignal = WakeSignal()

    /// Creates a worker. Throws if `options.kinds` names a kind the registry lacks.
    public init(databaseURL: String, registry: JobRegistry, options: WorkerOptions = WorkerOptions(),
                logger: Logger = Logger(label: "tokenmill.worker")) throws {
        self.options = options
        self.registry = registry
        self.databaseURL = databaseURL
        var l = logger
        l[metadataKey: "worker"] = .string(options.workerID)
        self.logger = l
        guard options.maxConnections >= 3 else {
            throw QueueError.invalidArgument("--max-connections must be at least 3 (one to LISTEN, one for handlers, one for the queue)")
        }
        let split = WorkerOptions.connectionSplit(options.maxConnections)
        self.pool = PostgresPool(url: databaseURL, maxConnections: split.queue)
        self.handlerPool = PostgresPool(url: databaseURL, maxConnections: split.handlers)
        self.queue = JobQueue(pool: pool)
        let k = options.kinds ?? registry.kinds
        for kind in k where registry.handler(for: kind) == nil {
            throw QueueError.unknownKind(kind, known: registry.kinds)
        }
        guard !k.isEmpty else { throw QueueError.invalidArgument("the worker has no job kinds to run") }
        guard options.concurrency >= 1 else { throw QueueError.invalidArgument("--concurrency must be at least 1") }
        guard options.reserve >= 0 else { throw QueueError.invalidArgument("--reserve must be 0 or more") }
        self.kinds = k
    }

    /// Jobs finished successfully / failed (including retries scheduled) by this worker so far.
    public var counts: (succeeded: Int, failed: Int) {
        acquire(); defer { release() }
        return (succeededCount, failedCount)
    }

    /// Starts a graceful shutdown: stop claiming, let running jobs finish within the grace period,
    /// hand the rest back. `run()` returns when done.
    public func shutdown() {
        acquire()
        let was = stopping
        stopping = true
        let l = listenerConnection
        release()
        if was { return }
        logger.info("shutting down: no new claims; waiting up to \(options.gracePeriodSeconds)s for running jobs")
        claimSignal.signal()
        writeSignal.signal()
        l?.interrupt()
    }

    private var isStopping: Bool { acquire(); defer { release() }; return stopping }

    /// Runs until `shutdown()`, a graceful shutdown of the enclosing ServiceGroup, or task cancellation.
    public func run() async throws {
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await runLoops()
            } onGracefulShutdown: { [self] in
                shutdown()
            }
        } onCancel: { [self] in
            shutdown()
        }
    }

    /// Sleeps (returns early on task cancellation).
    private func sleep(_ seconds: Double) async {
        try? await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1e9))
    }

    private var heartbeatSeconds: Double { options.heartbeatSeconds ?? max(0.2, options.leaseSeconds / 3) }

    private func runLoops() async throws {
        // Register, retrying while the database is unreachable.
        var delay = 0.2
        while true {
            do {
                try await Migrator.registerKinds(registry, pool: pool)
                try await queue.registerWorker(id: options.workerID, host: ProcessInfo.processInfo.hostName,
                                               pid: Int(getpid()), kinds: kinds, concurrency: options.concurrency,
                                               leaseSeconds: options.leaseSeconds, maxConnections: options.maxConnections)
                break
            } catch {
                if isStopping { await pool.close(); return }
                logger.error("cannot register the worker: \(error); retrying in \(String(format: "%.1f", delay))s")
                await sleep(delay)
                delay = min(delay * 2, 5)
            }
        }
        logger.info("worker started: kinds \(kinds.joined(separator: ",")), concurrency \(options.concurrency), reserve \(options.reserve), lease \(options.leaseSeconds)s, at most \(options.maxConnections) connections")

        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.listenLoop() }
            group.addTask { await self.heartbeatLoop() }
            group.addTask { await self.rescueLoop() }
            group.addTask { await self.writeLoop() }
            if let policy = self.options.retention { group.addTask { await self.retentionLoop(policy) } }
            await self.claimLoop()
            await self.drain()
            self.acquire(); let done = self.running.isEmpty && self.pendingWrites.isEmpty; self.release()
            _ = done
            self.writeSignal.signal()
            group.cancelAll()
            self.acquire(); let l = self.listenerConnection; self.release()
            l?.interrupt()
            await group.waitForAll()
        }
        let c = counts
        do { try await queue.unregisterWorker(id: options.workerID, succeeded: c.succeeded, failed: c.failed) } catch {
            logger.warning("could not mark the worker stopped: \(error)")
        }
        await pool.close()
        await handlerPool.close()
        acquire()
        let timing = String(format: "claims %d (%d jobs, %.3fs), result writes %d (%d jobs, %.3fs), %d starts from reserve",
                            claimTime.calls, claimTime.jobs, claimTime.seconds, writeTime.calls, writeTime.jobs, writeTime.seconds,
                            startsFromReserve)
        release()
        logger.info("worker stopped: \(c.succeeded) succeeded, \(c.failed) failed; \(timing)")
        if let p = ProcessInfo.processInfo.environment["TOKENMILL_PROFILE"], !p.isEmpty, p != "0" {
            FileHandle.standardError.write(Data("tokenmill worker profile: \(timing)\n".utf8))
        }
    }

    // MARK: Claiming and running

    private func claimLoop() async {
        var errorDelay = 0.2
        while !isStopping {
            acquire()
            let free = options.concurrency + options.reserve - executing - reserveQueue.count
            release()
            if free <= 0 {
                await claimSignal.wait(timeout: options.pollSeconds)
                continue
            }
            let want = min(free, options.maxClaimBatch)
            guard await exclusive(\.claimInFlight, against: \.rescueInFlight) else { return }
            let jobs: [ClaimedJob]
            do {
                let t0 = Date()
                jobs = try await queue.claim(workerID: options.workerID, kinds: kinds, limit: want, leaseSeconds: options.leaseSeconds)
                acquire()
                claimTime.calls += 1; claimTime.seconds += Date().timeIntervalSince(t0); claimTime.jobs += jobs.count
                release()
                errorDelay = 0.2
            } catch {
                setFlag(\.claimInFlight, false)
                logger.error("claim failed: \(error); retrying in \(String(format: "%.1f", errorDelay))s")
                await claimSignal.wait(timeout: errorDelay)
                errorDelay = min(errorDelay * 2, 5)
                continue
            }
            for job in jobs { admit(job) }
            setFlag(\.claimInFlight, false)
            if jobs.count < want {
                await claimSignal.wait(timeout: options.pollSeconds)
            }
        }
    }

    /// Takes a freshly claimed job: runs it when a slot is free, else holds it in reserve.
    private func admit(_ job: ClaimedJob) {
        let context = JobContext(workerID: options.workerID, pool: handlerPool, logger: logger)
        acquire()
        if stopping {
            // Claimed while shutting down: give it straight back.
            running[job.id] = Running(job: job, context: context, task: nil)
            release()
            return
        }
        if executing >= options.concurrency {
            running[job.id] = Running(job: job, context: context, task: nil, reserved: true)
            reserveQueue.append(job.id)
            release()
            return
        }
        executing += 1
        running[job.id] = Running(job: job, context: context, task: nil)
        release()
        start(job, context)
    }

    /// Starts the oldest reserved job if a slot is free (called when a job finishes).
    private func startFromReserve() {
        acquire()
        guard !stopping, executing < options.concurrency, !reserveQueue.isEmpty else { release(); return }
        let id = reserveQueue.removeFirst()
        guard let r = running[id], r.reserved else { release(); return }
        running[id]!.reserved = false
        executing += 1
        startsFromReserve += 1
        release()
        start(r.job, r.context)
    }

    /// Runs a job's handler; the caller has counted it in `executing`.
    private func start(_ job: ClaimedJob, _ context: JobContext) {
        guard let handler = registry.handler(for: job.kind) else {
            finished(job, context, .failed(message: "no handler for job kind '\(job.kind)' in this worker", retryAfterSeconds: nil))
            return
        }
        // The same schema check as enqueue, before any compute: a payload inserted by hand with SQL
        // fails at once, naming the field.
        if let problem = registry.payloadProblem(kind: job.kind, payload: job.payload) {
            logger.warning("job \(job.id): \(problem)")
            finished(job, context, .failed(message: problem, retryAfterSeconds: nil))
            return
        }
        let task = Task { [self] in
            let outcome: Completion.Outcome
            do {
                let r = try await handler.run(job, context: context)
                if let j = r.resultJSON, (try? JSONValue.parse(j)) == nil {
                    outcome = .failed(message: "handler returned a result that is not valid JSON", retryAfterSeconds: nil)
                } else {
                    outcome = .succeeded(r)
                }
            } catch {
                let failure = JobError.classifying(error, cancelled: context.isCancelled)
                switch failureDisposition(attempt: job.attempt, maxAttempts: job.maxAttempts, permanent: failure.isPermanent,
                                          policy: options.retryPolicy) {
                case .fail: outcome = .failed(message: failure.description, retryAfterSeconds: nil)
                case let .retry(after): outcome = .failed(message: failure.description, retryAfterSeconds: after)
                }
            }
            finished(job, context, outcome)
        }
        acquire()
        if running[job.id] != nil { running[job.id]!.task = task }
        release()
    }

    private func finished(_ job: ClaimedJob, _ context: JobContext, _ outcome: Completion.Outcome) {
        acquire()
        executing -= 1
        if context.cancelledByQueue || running[job.id] == nil {
            // Cancelled, lease lost or handed back: nothing to write.
            running[job.id] = nil
            release()
            startFromReserve()
            claimSignal.signal()
            return
        }
        running[job.id]!.awaitingWrite = true
        pendingWrites.append(Completion(jobID: job.id, attempt: job.attempt, outcome: outcome))
        release()
        startFromReserve()
        writeSignal.signal()
        claimSignal.signal()
    }

    // MARK: Writing results

    private func writeLoop() async {
        var errorDelay = 0.1
        while true {
            acquire()
            let batch = pendingWrites
            pendingWrites.removeAll()
            let stop = stopping && running.isEmpty
            release()
            if batch.isEmpty {
                if stop || Task.isCancelled { return }
                await writeSignal.wait(timeout: 1)
                continue
            }
            do {
                let t0 = Date()
                let accepted = try await queue.finish(workerID: options.workerID, batch)
                errorDelay = 0.1
                acquire()
                writeTime.calls += 1; writeTime.seconds += Date().timeIntervalSince(t0); writeTime.jobs += batch.count
                for c in batch {
                    running[c.jobID] = nil
                    guard accepted.contains(c.jobID) else { continue }
                    if case .succeeded = c.outcome { succeededCount += 1 } else { failedCount += 1 }
                }
                release()
                for c in batch where !accepted.contains(c.jobID) {
                    logger.warning("job \(c.jobID) attempt \(c.attempt): result discarded, the job was cancelled or its lease was taken over")
                }
            } catch {
                logger.error("writing \(batch.count) results failed: \(error); retrying in \(String(format: "%.1f", errorDelay))s")
                acquire()
                pendingWrites.insert(contentsOf: batch, at: 0)
                release()
                if Task.isCancelled && isStopping { return }
                await writeSignal.wait(timeout: errorDelay)
                errorDelay = min(errorDelay * 2, 5)
            }
        }
    }

    // MARK: Heartbeat, rescue, LISTEN

    private func heartbeatLoop() async {
        while !Task.isCancelled {
            await sleep(heartbeatSeconds)
            if Task.isCancelled { return }
            await heartbeatOnce()
        }
    }

    private func heartbeatOnce() async {
        acquire()
        let held = running.values.map { r in (id: r.job.id, attempt: r.job.attempt, progress: r.context.takeProgressJSON()) }
        let (n, s, f) = (executing, succeededCount, failedCount)
        let state = stopping ? "stopping" : "running"
        release()
        do {
            let kept = try await queue.heartbeat(workerID: options.workerID, held: held, leaseSeconds: options.leaseSeconds,
                                                 runningJobs: n, succeeded: s, failed: f, state: state)
            var lost: [Running] = []
            acquire()
            for h in held where !kept.contains(h.id) {
                if let r = running[h.id] {
                    if r.reserved {
                        // Cancelled or taken over before it started: just forget it.
                        running[h.id] = nil
                        reserveQueue.removeAll { $0 == h.id }
                        continue
                    }
                    lost.append(r)
                    if r.awaitingWrite { continue } // the write will be fenced out and logged
                    r.context.markCancelled()
                }
            }
            release()
            for r in lost where !r.awaitingWrite {
                logger.info("job \(r.job.id) attempt \(r.job.attempt) was cancelled or its lease taken over; stopping it")
                r.task?.cancel()
            }
        } catch {
            logger.error("heartbeat failed: \(error)")
        }
    }

    /// Sets `mine` once `other` is clear (polling every 5 ms: a rescue is one short query); false if
    /// the worker began stopping or the task was cancelled meanwhile.
    private func exclusive(_ mine: ReferenceWritableKeyPath<Worker, Bool>, against other: ReferenceWritableKeyPath<Worker, Bool>) async -> Bool {
        while true {
            acquire()
            if stopping || Task.isCancelled { release(); return false }
            if !self[keyPath: other] { self[keyPath: mine] = true; release(); return true }
            release()
            await sleep(0.005)
        }
    }

    private func setFlag(_ flag: ReferenceWritableKeyPath<Worker, Bool>, _ value: Bool) {
        acquire(); self[keyPath: flag] = value; release()
    }

    private func rescueLoop() async {
        while !Task.isCancelled && !isStopping {
            guard await exclusive(\.rescueInFlight, against: \.claimInFlight) else { return }
            do {
                acquire(); let held = Array(running.keys); release()
                let ids = try await queue.rescueExpired(held: held)
                setFlag(\.rescueInFlight, false)
                if !ids.isEmpty {
                    logger.warning("rescued \(ids.count) jobs whose lease expired: \(ids.prefix(10).map(String.init).joined(separator: ","))")
                    claimSignal.signal()
                }
            } catch {
                setFlag(\.rescueInFlight, false)
                logger.debug("rescue failed: \(error)")
            }
            await sleep(options.rescueSeconds)
        }
    }

    /// Prunes finished jobs every `policy.intervalSeconds` (the first time shortly after start). Every
    /// worker runs it; an advisory lock lets one prune at a time.
    private func retentionLoop(_ policy: RetentionPolicy) async {
        await sleep(min(5, policy.intervalSeconds))
        while !Task.isCancelled && !isStopping {
            do {
                let n = try await queue.prune(policy)
                if n > 0 { logger.info("retention: pruned \(n) finished job row(s)") }
            } catch {
                logger.warning("retention: pruning failed: \(error)")
            }
            await sleep(policy.intervalSeconds)
        }
    }

    private func listenLoop() async {
        var delay = 0.2
        while !isStopping && !Task.isCancelled {
            do {
                let c = try await PostgresConnection.connect(url: databaseURL, label: "tokenmill.listen")
                acquire(); listenerConnection = c; let stop = stopping; release()
                defer { Task { await c.close() } }
                if stop { return }
                try await c.listen("tokenmill_jobs")
                delay = 0.2
                claimSignal.signal() // anything inserted while we were not listening
                while !isStopping && !Task.isCancelled {
                    let notes = try await c.waitForNotifications(timeout: 60)
                    if !notes.isEmpty { claimSignal.signal() }
                }
                acquire(); listenerConnection = nil; release()
            } catch {
                acquire(); listenerConnection = nil; release()
                if isStopping { return }
                logger.error("LISTEN connection failed: \(error); reconnecting in \(String(format: "%.1f", delay))s (polling meanwhile)")
                await sleep(delay)
                delay = min(delay * 2, 5)
            }
        }
    }

    // MARK: Shutdown

    private func drain() async {
        let deadline = Date().addingTimeInterval(options.gracePeriodSeconds)
        // Reserved jobs never started: hand them back at once, before waiting for the running ones.
        acquire()
        let reserved = reserveQueue.compactMap { running[$0] }.map { (id: $0.job.id, attempt: $0.job.attempt) }
        for id in reserveQueue { running[id] = nil }
        reserveQueue.removeAll()
        release()
        if !reserved.isEmpty {
            logger.info("handing back \(reserved.count) reserved job(s) that had not started")
            await handBack(reserved)
        }
        while true {
            acquire()
            let n = executing
            release()
            if n == 0 { break }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { break }
            await claimSignal.wait(timeout: min(left, 0.2))
        }
        // Past the grace period: stop what still runs and hand it back.
        acquire()
        var back: [(id: Int64, attempt: Int)] = []
        var tasks: [Task<Void, Never>] = []
        for (id, r) in running where !r.awaitingWrite {
            back.append((id, r.job.attempt))
            r.context.markCancelled()
            if let t = r.task { tasks.append(t) }
            running[id] = nil
        }
        release()
        for t in tasks { t.cancel() }
        if !back.isEmpty {
            logger.warning("grace period over: handing back \(back.count) running jobs")
            await handBack(back)
        }
        // Let pending writes go out (bounded: their leases lapse anyway if the database is gone).
        let writeDeadline = Date().addingTimeInterval(max(5, options.leaseSeconds))
        while Date() < writeDeadline {
            acquire()
            let busy = !pendingWrites.isEmpty || running.values.contains { $0.awaitingWrite }
            release()
            if !busy { break }
            writeSignal.signal()
            await claimSignal.wait(timeout: 0.05)
        }
    }

    /// Hands jobs back (a few tries; if the database stays away their leases lapse and they are rescued).
    private func handBack(_ jobs: [(id: Int64, attempt: Int)]) async {
        var tries = 0
        while true {
            do {
                try await queue.handBack(workerID: options.workerID, jobs: jobs)
                return
            } catch {
                tries += 1
                if tries >= 5 {
                    logger.error("could not hand back jobs (\(error)); their leases will lapse and they will be rescued")
                    return
                }
                try? await Task.sleep(nanoseconds: 500_000_000)
            }
        }
    }
}
