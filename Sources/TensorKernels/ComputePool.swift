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

/// A unit of parallel work for `ComputePool.parallelFor(_:job:)`: subclasses override
/// `execute(i)`, which is called once for every index, from several threads at once.
///
/// A class rather than a protocol so that the pool can hold the job unretained
/// (`Unmanaged`) and call it through its vtable: retaining and releasing one shared object
/// per job on every thread moved its reference count's cache line between the cores for
/// each of the hundreds of products a decode step issues (`swift_release` was 4% of a
/// SmolLM2 decode profile). The caller of `parallelFor` keeps the job alive until it returns.
/// For the same reason a subclass that calls back into its owner holds it as `Unmanaged` and calls
/// through `_withUnsafeGuaranteedRef`: Swift retains and releases an `unowned(unsafe)` reference
/// around every call made through it, on every thread, for every item.
open class ComputeJob {
    public init() {}
    /// Runs item `index` of the job.
    open func execute(_ index: Int) {
        fatalError("ComputeJob subclasses must override execute(_:)")
    }
}

/// State shared between the pool's owner and its worker threads.
final class PoolShared: @unchecked Sendable {
    let workerCount: Int
    let spin: Int
    /// Bumped (by the submitter) to publish a job; idle workers wait for it to change.
    let generation = Atomic<Int>(0)
    /// The current job's items in one contiguous segment per thread (the caller's is segment 0,
    /// worker w's segment w + 1), each a word on a cache line of its own: job number (bits 48...),
    /// end (bits 24..<48, exclusive) and front (bits 0..<24) of the items still unclaimed. A thread
    /// takes its own segment's items from the front, in order, then the other segments' from their
    /// ends; all by compare-and-swap. So each thread walks one contiguous run of items (for a matrix
    /// product, one contiguous run of weight rows: the memory sees one stream per thread, not
    /// tiles handed out in turn) while a thread that is late, descheduled or asleep still has its
    /// items done by the others. The job number makes a claim attempted with a stale word fail, so
    /// a worker that wakes late can never take an item of a job it did not see published.
    let segments: UnsafeMutablePointer<Atomic<UInt64>>
    /// Words between consecutive segments (64 bytes: no two on one cache line).
    static let segmentStride = 8
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
    /// Unretained: `parallelFor(_:job:)`'s caller holds the job until `run` returns.
    var job: Unmanaged<ComputeJob>?
    private var jobNumber: UInt64 = 0

    static let maxItems = 1 << 24

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init(workers: Int, spin: Int) {
        self.workerCount = workers
        self.spin = spin
        segments = .allocate(capacity: (workers + 1) * Self.segmentStride)
        for k in 0..<((workers + 1) * Self.segmentStride) { (segments + k).initialize(to: Atomic<UInt64>(0)) }
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
        segments.deinitialize(count: (workerCount + 1) * Self.segmentStride)
        segments.deallocate()
    }

    func tryBegin() -> Bool {
        busy.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged
    }

    /// Claims an item of the current job for the thread whose segment is `home`: the front of its
    /// own segment, else the end of another's (the next ones first), or nil when none is left.
    @inline(__always)
    func claim(_ home: Int) -> Int? {
        if let i = take(home, front: true) { return i }
        let count = workerCount + 1
        var k = home + 1
        while k < home + count {
            if let i = take(k < count ? k : k - count, front: false) { return i }
            k += 1
        }
        return nil
    }

    /// One item of segment `k`: its first (front) or its last.
    @inline(__always)
    private func take(_ k: Int, front: Bool) -> Int? {
        let word = segments + k * Self.segmentStride
        var t = word.pointee.load(ordering: .acquiring)
        while true {
            let first = t & 0xFF_FFFF, end = (t >> 24) & 0xFF_FFFF
            if first >= end { return nil }
            let next = front ? t &+ 1 : t &- (1 << 24)
            let (exchanged, original) = word.pointee.compareExchange(expected: t, desired: next, ordering: .acquiring)
            if exchanged { return Int(front ? first : end &- 1) }
            t = original
        }
    }

    func run(n: Int, body: ((Int) -> Void)?, job: ComputeJob?) {
        precondition(n < Self.maxItems, "ComputePool: \(n) items is more than one job can carry (\(Self.maxItems)); split the work")
        self.body = body
        self.job = job.map { Unmanaged.passUnretained($0) }
        done.store(0, ordering: .relaxed)
        jobNumber &+= 1
        let count = workerCount + 1
        for k in 0..<count {
            let first = UInt64(n * k / count), end = UInt64(n * (k + 1) / count)
            (segments + k * Self.segmentStride).pointee.store((jobNumber << 48) | (end << 24) | first, ordering: .releasing)
        }
        generation.wrappingAdd(1, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(cond)
            pthread_mutex_unlock(mutex)
        }
        // The caller works too (through the unretained reference as well: a strong call here was
        // compiled as a retain and release per item, on the count the workers' threads read).
        var mine = 0
        let unretained = self.job
        while let i = claim(0) {
            if let job = unretained { job._withUnsafeGuaranteedRef { $0.execute(i) } } else { body!(i) }
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
            let finished = drain(home: index + 1)
            // Only now, with this thread's references to the job dropped (they lived in
            // `drain`), may the submitter count these items as finished.
            if finished > 0 { done.wrappingAdd(finished, ordering: .releasing) }
        }
    }

    /// Runs items of the current job until none are left; returns how many it ran.
    @inline(never)
    func drain(home: Int) -> Int {
        guard let first = claim(home) else { return 0 }
        let job = self.job, body = self.body
        var i = first, count = 0
        while true {
            if let job = job { job._withUnsafeGuaranteedRef { $0.execute(i) } } else { body!(i) }
            count += 1
            guard let next = claim(home) else { return count }
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
