import Dispatch

/// Runs data-parallel work on a fixed number of threads of its own (not Swift's cooperative pool).
///
/// `parallelFor(n) { i in ... }` calls the body once for every `i` in `0..<n`, spread over the
/// threads, and returns when all calls are done.
public final class ComputePool: @unchecked Sendable {
    /// Number of threads work is spread over (the calling thread counts as one).
    public let threadCount: Int

    public init(threads: Int) {
        self.threadCount = max(1, threads)
    }

    /// Calls `body(i)` for each `i` in `0..<n`, in parallel; returns when all are done.
    public func parallelFor(_ n: Int, _ body: (Int) -> Void) {
        if n <= 0 { return }
        if threadCount == 1 || n == 1 {
            for i in 0..<n { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: n, execute: body)
        }
    }

    /// Splits `0..<count` into `threadCount` contiguous chunks (aligned to `granularity`) and runs
    /// `body(range)` for each chunk in parallel.
    public func parallelChunks(_ count: Int, granularity: Int = 1, _ body: (Range<Int>) -> Void) {
        let units = (count + granularity - 1) / granularity
        let chunks = min(threadCount, units)
        if chunks <= 1 {
            body(0..<count)
            return
        }
        parallelFor(chunks) { c in
            let lo = units * c / chunks * granularity
            let hi = min(count, units * (c + 1) / chunks * granularity)
            if lo < hi { body(lo..<hi) }
        }
    }
}
