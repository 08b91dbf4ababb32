import Foundation

/// How many sequences a worker decodes at once under `--concurrency auto`: as many as the free
/// memory holds KV caches for, next to the models' weights, up to a ceiling past which a CPU's
/// batched decode step stops gaining (it turns compute-bound).
public struct ConcurrencyPlan: Sendable, Equatable, CustomStringConvertible {
    /// One model the worker is expected to load.
    public struct ModelNeeds: Sendable, Equatable {
        public var name: String
        /// Weight bytes (mapped from the file, resident once used).
        public var weightsBytes: Int
        /// KV cache bytes one sequence takes at the engine's context length.
        public var kvBytesPerSequence: Int
        public init(name: String, weightsBytes: Int, kvBytesPerSequence: Int) {
            self.name = name
            self.weightsBytes = weightsBytes
            self.kvBytesPerSequence = kvBytesPerSequence
        }
    }

    /// Most sequences chosen: on 2-16 cores, decode throughput measured still rises from 8 to 16
    /// sequences (Qwen2.5 0.5B/1.5B: 1.33x/1.36x) and flattens beyond.
    public static let ceiling = 16
    /// Without any model to size for (no pending jobs name one).
    public static let fallback = 8
    /// Share of available memory the plan may use (the rest is left to the system and other processes).
    public static let memoryShare = 0.8

    public var sequences: Int
    public var why: String

    public var description: String { "\(sequences) sequences (\(why))" }

    /// - Parameters:
    ///   - models: the models jobs will load (each gets its own engine with `sequences` KV slots).
    ///   - availableBytes: memory available now (nil: unknown, only the ceiling applies).
    public static func plan(models: [ModelNeeds], availableBytes: Int?) -> ConcurrencyPlan {
        guard !models.isEmpty else {
            return ConcurrencyPlan(sequences: fallback, why: "no pending generate/distill job names a model; default")
        }
        let weights = models.reduce(0) { $0 + $1.weightsBytes }
        let kvPerSequence = max(1, models.reduce(0) { $0 + $1.kvBytesPerSequence })
        let names = models.map(\.name).joined(separator: ", ")
        guard let available = availableBytes else {
            return ConcurrencyPlan(sequences: ceiling, why: "\(names); free memory unknown, ceiling \(ceiling)")
        }
        let budget = Double(available) * memoryShare - Double(weights)
        let fits = budget > 0 ? Int(budget / Double(kvPerSequence)) : 0
        let n = max(1, min(ceiling, fits))
        let why = "\(names): weights \(mib(weights)) + KV \(mib(kvPerSequence))/sequence; "
            + "\(mib(available)) available, \(Int(memoryShare * 100))% used: fits \(fits), ceiling \(ceiling)"
        return ConcurrencyPlan(sequences: n, why: why)
    }

    /// `MemAvailable` from /proc/meminfo, in bytes (nil where there is none).
    public static func availableMemory(meminfo: String? = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) -> Int? {
        guard let text = meminfo else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, let kib = Int(parts[1]) { return kib * 1024 }
        }
        return nil
    }

    private static func mib(_ bytes: Int) -> String { String(format: "%.0f MiB", Double(bytes) / 1_048_576) }
}
