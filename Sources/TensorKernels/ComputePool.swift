import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs data-parallel work on a fixed set of persistent threads of its own (not Swift's
/// cooperative pool, not Dispatch).
///
/// `parallelFor(n) { i in ... }` calls the body once for every `i` in `0..<n`, spread over the
/// threads (the calling thread is one of them, items are handed out dynamically), and returns
/// when all calls are done. Idle workers spin briefly for the next job (a decode step issues
/// several matrix products per layer back to back), then park on a condition variable, so an
/// idle pool uses no CPU.
///
/// One job runs at a time: a `parallelFor` issued while another is running (from a body, or
/// from a second thread) runs serially on its caller instead of waiting.
public final class ComputePool: @unchecked Sendable {
    /// Number of threads work is spread over (the calling thread counts as one).
    public let threadCount: Int
    private let shared: PoolShared
    private var workers: [Thread] = []

    /// Starts `threads - 1` worker threads (at least one thread in all: the caller's).
    /// `spinIterations` is how long an idle worker polls before parking.
    public init(threads: Int, spinIterations: Int = 200_000) {
        self.threadCount = max(1, threads)
        self.shared = PoolShared(workers: threadCount - 1, spin: spinIterations)
        for w in 0..<(threadCount - 1) {
            let s = shared
            let t = Thread { s.workerLoop(index: w) }
            t.name = "tokenmill-compute-\(w + 1)"
            t.stackSize = 1 << 20
            workers.append(t)
            t.start()
        }
    }

    deinit { shared.shutdown() }

    /// Workers currently parked on the condition variable (idle beyond their spin time).
    public var parkedWorkerCount: Int { shared.sleepers.load(ordering: .relaxed) }

    /// Calls `body(i)` for each `i` in `0..<n`, in parallel; returns when all are done.
    public func parallelFor(_ n: Int, _ body: (Int) -> Void) {
        if n <= 0 { return }
        if threadCount == 1 || n == 1 || !shared.tryBegin() {
            for i in 0..<n { body(i) }
            return
        }
        // (Making the closure escapable costs one small heap allocation per call; hot callers
        // such as MatMulEngine use `parallelFor(_:job:)` instead.)
        withoutActuallyEscaping(body) { escapable in
            shared.run(n: n, body: escapable, job: nil)
        }
    }

    /// Calls `job.execute(i)` for each `i` in `0..<n`, in parallel; returns when all are done.
    /// Unlike the closure form this never allocates, so it suits per-token hot paths.
    public func parallelFor(_ n: Int, job: ComputeJob) {
        if n <= 0 { return }
        if threadCount == 1 || n == 1 || !shared.tryBegin() {
            for i in 0..<n { job.execute(i) }
            return
        }
        shared.run(n: n, body: nil, job: job)
    }

    /// Splits `0..<count` into `threadCount` contiguous chunks (aligned to `granularity`) and runs
    /// `body(range)` for each chunk in parallel.
    public func parallelChunks(_ count: Int, granularity: Int = 1, _ body: (Range<Int>) -> Void) {
        let g = max(1, granularity)
        let units = (count + g - 1) / g
        let chunks = min(threadCount, units)
        if chunks <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        parallelFor(chunks) { c in
            let lo = units * c / chunks * g
            let hi = min(count, units * (c + 1) / chunks * g)
            if lo < hi { body(lo..<hi) }
        }
    }
}

/// A unit of parallel work for `ComputePool.parallelFor(_:job:)`: `execute(i)` is called once
/// for every index, from several threads at once.
public protocol ComputeJob: AnyObject {
    func execute(_ index: Int)
}

/// State shared between the pool's owner and its worker threads.
final class PoolShared: @unchecked Sendable {
    let workerCount: Int
    let spin: Int
    /// Bumped (by the submitter) to publish a job; idle workers wait for it to change.
    let generation = Atomic<Int>(0)
    /// Item tickets of the current job: job number (bits 48...), item count (bits 24..<48) and
    /// next item (bits 0..<24), claimed by compare-and-swap. The job number makes a claim
    /// attempted with a stale ticket fail, so a worker that wakes late can never take an item
    /// of a job it did not see published; the count lets it stop without reading job state.
    let ticket = Atomic<UInt64>(0)
    /// Items finished in the current job. The submitter waits for this to reach the item count
    /// only: a worker that never got an item (asleep, descheduled) is never waited for.
    let done = Atomic<Int>(0)
    /// Workers parked (or about to park) on the condition variable.
    let sleepers = Atomic<Int>(0)
    /// 1 while a job is being run (guards against nested or concurrent submissions).
    let busy = Atomic<Int>(0)
    let stopping = Atomic<Bool>(false)

    /// Job description, written before the ticket is published; read only by a thread holding a
    /// claimed item, which keeps the job from finishing.
    var body: ((Int) -> Void)?
    var job: ComputeJob?
    private var jobNumber: UInt64 = 0

    static let maxItems = 1 << 24

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init(workers: Int, spin: Int) {
        self.workerCount = workers
        self.spin = spin
        mutex.initialize(to: pthread_mutex_t())
        cond.initialize(to: pthread_cond_t())
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        pthread_cond_destroy(cond)
        mutex.deallocate()
        cond.deallocate()
    }

    func tryBegin() -> Bool {
        busy.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged
    }

    /// Claims the next item of the current job, or nil when it has none left.
    @inline(__always)
    func claim() -> Int? {
        var t = ticket.load(ordering: .acquiring)
        while true {
            let index = Int(t & 0xFF_FFFF), count = Int((t >> 24) & 0xFF_FFFF)
            if index >= count { return nil }
            let (exchanged, original) = ticket.compareExchange(expected: t, desired: t &+ 1, ordering: .acquiring)
            if exchanged { return index }
            t = original
        }
    }

    func run(n: Int, body: ((Int) -> Void)?, job: ComputeJob?) {
        precondition(n < Self.maxItems, "ComputePool: \(n) items is more than one job can carry (\(Self.maxItems)); split the work")
        self.body = body
        self.job = job
        done.store(0, ordering: .relaxed)
        jobNumber &+= 1
        ticket.store((jobNumber << 48) | (UInt64(n) << 24), ordering: .releasing)
        generation.wrappingAdd(1, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(cond)
            pthread_mutex_unlock(mutex)
        }
        // The caller works too.
        var mine = 0
        while let i = claim() {
            if let job = job { job.execute(i) } else { body!(i) }
            mine += 1
        }
        // Wait for items other threads are still running.
        if mine < n {
            var spins = 0
            while done.load(ordering: .acquiring) + mine < n {
                spins += 1
                if spins > 100_000 { sched_yield() }
            }
        }
        self.body = nil
        self.job = nil
        busy.store(0, ordering: .releasing)
    }

    func workerLoop(index: Int) {
        // Generation 0 is "no job yet": a thread that starts late must still see job 1.
        var seen = 0
        while true {
            // Spin, then park, until a new job is published.
            var g = generation.load(ordering: .acquiring)
            var spins = 0
            while g == seen && spins < spin {
                spins += 1
                g = generation.load(ordering: .acquiring)
            }
            if g == seen {
                pthread_mutex_lock(mutex)
                sleepers.wrappingAdd(1, ordering: .sequentiallyConsistent)
                while generation.load(ordering: .sequentiallyConsistent) == seen {
                    pthread_cond_wait(cond, mutex)
                }
                sleepers.wrappingSubtract(1, ordering: .sequentiallyConsistent)
                pthread_mutex_unlock(mutex)
                g = generation.load(ordering: .acquiring)
            }
            seen = g
            if stopping.load(ordering: .acquiring) { return }
            let finished = drain()
            // Only now, with this thread's references to the job dropped (they lived in
            // `drain`), may the submitter count these items as finished.
            if finished > 0 { done.wrappingAdd(finished, ordering: .releasing) }
        }
    }

    /// Runs items of the current job until none are left; returns how many it ran.
    @inline(never)
    func drain() -> Int {
        guard let first = claim() else { return 0 }
        let job = self.job, body = self.body
        var i = first, count = 0
        while true {
            if let job = job { job.execute(i) } else { body!(i) }
            count += 1
            guard let next = claim() else { return count }
            i = next
        }
    }

    func shutdown() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        generation.wrappingAdd(1, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }
}
