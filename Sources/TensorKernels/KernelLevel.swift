import CPUFeatures
import KernelsAVX2
#if arch(x86_64)
import KernelsAMX
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The instruction level the 8-bit integer kernels run at, chosen once at start from cpuid.
///
/// - `amx`: the `avx512gfni` level with AMX tiles (`tdpbsud`/`tdpbssd`) for products of 32 sequences and more,
///   where a format has a tile kernel (the K-quants and the 32-block formats; module KernelsAMX): Sapphire
///   Rapids and later, on Linux;
/// - `avx512gfni`: the `avx512` level with GFNI (`gf2p8affineqb`) where a format decodes faster with it (Q3_K;
///   module KernelsGFNI): Ice Lake, Sapphire Rapids and later, AMD Zen 4 and later;
/// - `avx512`: x86-64-v4 with AVX-512 VNNI (`vpdpbusd`), module KernelsAVX512 (Cascade Lake);
/// - `avx2`: x86-64-v3 (`vpmaddubsw` / `vpmaddwd`), module KernelsAVX2;
/// - `portable`: plain Swift SIMD (16-bit lanes) in this module: every host, and arm64.
///
/// `TOKENMILL_KERNELS=amx|avx512gfni|avx512|avx2|portable` forces a level (one the host can run), so tests and
/// benchmarks can compare them on one machine.
public enum KernelLevel: String, CaseIterable, Sendable, CustomStringConvertible {
    case amx, avx512gfni, avx512, avx2, portable

    /// The environment variable that forces a level.
    public static let environmentKey = "TOKENMILL_KERNELS"

    /// A forced level the host cannot run, or an unknown name.
    public struct Unsupported: Error, CustomStringConvertible {
        public let requested: String
        public let host: CPUFeatures
        public var description: String {
            let known = KernelLevel.allCases.map(\.rawValue).joined(separator: "|")
            if KernelLevel(rawValue: requested) == nil {
                return "\(KernelLevel.environmentKey)=\(requested) is not a kernel level (\(known))"
            }
            return "\(KernelLevel.environmentKey)=\(requested): this CPU cannot run that level (it has: \(host)); "
                + "levels it can run: \(KernelLevel.supported(by: host).map(\.rawValue).joined(separator: ", "))"
        }
    }

    /// Whether a host with `features` can run this level.
    public func runs(on features: CPUFeatures) -> Bool {
        #if arch(x86_64)
        switch self {
        case .amx:
            return features.meetsBaseline && features.hasAVX512GFNI && features.avx512vbmi && features.amxTile
                && features.amxInt8 && AMX.permissionGranted
        case .avx512gfni: return features.meetsBaseline && features.hasAVX512GFNI
        case .avx512: return features.meetsBaseline && features.hasAVX512VNNI
        case .avx2: return features.meetsBaseline
        case .portable: return true
        }
        #else
        return self == .portable
        #endif
    }

    /// Levels a host can run, fastest first.
    public static func supported(by features: CPUFeatures = .host) -> [KernelLevel] {
        allCases.filter { $0.runs(on: features) }
    }

    /// The fastest level the host runs.
    public static var best: KernelLevel { supported().first ?? .portable }

    /// The level named by `TOKENMILL_KERNELS`, or `best` when it is unset or empty.
    public static func fromEnvironment(_ value: String? = environmentValue()) throws(Unsupported) -> KernelLevel {
        guard let value, !value.isEmpty else { return best }
        guard let level = KernelLevel(rawValue: value.lowercased()), level.runs(on: .host) else {
            throw Unsupported(requested: value, host: .host)
        }
        return level
    }

    /// The raw value of `TOKENMILL_KERNELS`, if set.
    public static func environmentValue() -> String? {
        guard let p = getenv(environmentKey) else { return nil }
        return String(cString: p)
    }

    /// The level engines use by default: `fromEnvironment()`, or `best` if the variable names a
    /// level this host cannot run (the CLI reports that error at start).
    public static let current: KernelLevel = (try? fromEnvironment()) ?? best

    /// `TOKENMILL_INT_TILES_FROM` where it is set: the sequence count from which every format's
    /// integer tiles run, forced for measuring a host's crossovers (nil: each format's measured
    /// crossover; always nil where there are no tiles, off x86-64).
    public static var integerTilesFrom: Int? {
        #if arch(x86_64)
        integerTilesFromOverride
        #else
        nil
        #endif
    }

    /// Nanoseconds a `tdpbsud` (16 x 16 x 64) takes on this thread's AMX tile unit now (`AMX.probeNanoseconds`),
    /// where the host runs the `amx` level; nil elsewhere. The unit can be shared, so `bench` and
    /// `bench-kernels` print it beside their figures.
    public static func amxProbeNanoseconds() -> Double? {
        #if arch(x86_64)
        guard supported().contains(.amx) else { return nil }
        return AMX.probeNanoseconds()
        #else
        return nil
        #endif
    }

    /// From how many sequences a product runs on AMX tiles at the `amx` level (32, Q2_K from half again that; whole
    /// 16s of sequences, the rest on the `avx512gfni` kernels). Settable for tests (the llama.cpp conformance
    /// prompts are 24 tokens); nil off x86-64.
    public static var amxTilesFrom: Int? {
        get {
            #if arch(x86_64)
            AMX.minSequences
            #else
            nil
            #endif
        }
        set {
            #if arch(x86_64)
            if let newValue { AMX.minSequences = newValue }
            #endif
        }
    }

    /// From how many sequences per pass the streaming kernels prefetch their weights in software
    /// (`TOKENMILL_PREFETCH_FROM`; by default 1, 2 on AMD Zen 4: KernelsAVX2's `StreamPrefetch`); nil off x86-64.
    public static var streamPrefetchFrom: Int? {
        #if arch(x86_64)
        StreamPrefetch.from
        #else
        nil
        #endif
    }

    public var description: String { rawValue }
}
