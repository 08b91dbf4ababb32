#if arch(x86_64)
import _Builtin_intrinsics.intel.cpuid
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The instruction-set extensions of the host CPU that TokenMill's kernels use, as cpuid reports
/// them; on Linux only those the kernel also lists in /proc/cpuinfo (it drops the extensions
/// whose register state it does not save, e.g. AVX-512 when XCR0 lacks the ZMM states).
///
/// This module is built for plain x86-64, so it can run on any host: the CLI asks it whether the
/// host meets the x86-64-v3 baseline the rest of the binary is built for before running any of it.
public struct CPUFeatures: Sendable, Equatable, CustomStringConvertible {
    public var avx2 = false
    public var fma = false
    public var f16c = false
    public var bmi2 = false
    public var avx512f = false
    public var avx512bw = false
    public var avx512vl = false
    public var avx512vnni = false
    public var avxvnni = false
    /// GFNI (`gf2p8affineqb`: any bits of a byte to any places) and AVX-512 VBMI (byte permutes and
    /// `vpmultishiftqb`): Ice Lake, Sapphire Rapids and later, AMD Zen 4 and later.
    public var gfni = false, avx512vbmi = false
    /// AMX tile registers and their 8-bit multiply (`tdpbusd` and kin): Sapphire Rapids and later.
    public var amxTile = false, amxInt8 = false
    /// True on arm64 (Advanced SIMD is part of the base architecture).
    public var neon = false
    /// The cpuid vendor string ("AuthenticAMD", "GenuineIntel"; empty off x86-64).
    public var vendor = ""
    /// The display family and model (cpuid leaf 1 with the extended fields folded in: AMD Zen 4 is
    /// family 0x19, Zen 5 0x1A); 0 off x86-64.
    public var family = 0, model = 0

    public init() {}

    /// The host's features, read once.
    public static let host = CPUFeatures.detect()

    /// x86-64-v3 (AVX2, FMA, F16C, BMI2), what the compute modules are built for on x86-64;
    /// always true on other architectures.
    public var meetsBaseline: Bool {
        #if arch(x86_64)
        return avx2 && fma && f16c && bmi2
        #else
        return true
        #endif
    }

    /// AMD Zen 4: family 19h with AVX-512 (Zen 3, the same family, has none).
    public var isAMDZen4: Bool { vendor == "AuthenticAMD" && family == 0x19 && avx512f }

    /// What the `KernelsAVX512` level needs: AVX-512 F/BW/VL and AVX-512 VNNI.
    public var hasAVX512VNNI: Bool { avx512f && avx512bw && avx512vl && avx512vnni }

    /// What the `KernelsGFNI` level needs: that and GFNI.
    public var hasAVX512GFNI: Bool { hasAVX512VNNI && gfni }

    /// The baseline extensions the host lacks, by name (empty when it meets the baseline).
    public var missingBaseline: [String] {
        #if arch(x86_64)
        return [("avx2", avx2), ("fma", fma), ("f16c", f16c), ("bmi2", bmi2)].filter { !$0.1 }.map(\.0)
        #else
        return []
        #endif
    }

    /// Flags present, space-separated, as /proc/cpuinfo names them.
    public var description: String {
        let all = [("avx2", avx2), ("fma", fma), ("f16c", f16c), ("bmi2", bmi2), ("avx512f", avx512f),
                   ("avx512bw", avx512bw), ("avx512vl", avx512vl), ("avx512_vnni", avx512vnni),
                   ("avx512vbmi", avx512vbmi), ("gfni", gfni), ("avx_vnni", avxvnni), ("amx_tile", amxTile), ("amx_int8", amxInt8), ("neon", neon)]
        let present = all.filter { $0.1 }.map(\.0)
        return present.isEmpty ? "(none of avx2/fma/f16c/avx512/neon)" : present.joined(separator: " ")
    }

    static func detect() -> CPUFeatures {
        var f = CPUFeatures()
        #if arch(x86_64)
        var a: UInt32 = 0, b: UInt32 = 0, c: UInt32 = 0, d: UInt32 = 0
        guard __get_cpuid_count(0, 0, &a, &b, &c, &d) != 0 else { return f }
        let maxLeaf = a
        let vendor = [b, d, c].flatMap { w in (0..<4).map { UInt8(truncatingIfNeeded: w >> (8 * $0)) } }
        guard __get_cpuid_count(1, 0, &a, &b, &c, &d) != 0 else { return f }
        let baseFamily = Int((a >> 8) & 0xF), baseModel = Int((a >> 4) & 0xF)
        let family = baseFamily == 0xF ? baseFamily + Int((a >> 20) & 0xFF) : baseFamily
        let model = baseFamily == 0xF || baseFamily == 6 ? Int((a >> 16) & 0xF) << 4 | baseModel : baseModel
        f.vendor = String(decoding: vendor, as: UTF8.self); f.family = family; f.model = model
        let osxsave = c & (1 << 27) != 0, avx = c & (1 << 28) != 0
        f.fma = c & (1 << 12) != 0
        f.f16c = c & (1 << 29) != 0
        // AVX state must be enabled by the OS (OSXSAVE; XGETBV is only reachable as a C macro).
        if !(avx && osxsave) { f.fma = false; f.f16c = false; return f }
        if maxLeaf >= 7, __get_cpuid_count(7, 0, &a, &b, &c, &d) != 0 {
            f.avx2 = b & (1 << 5) != 0
            f.bmi2 = b & (1 << 8) != 0
            f.avx512f = b & (1 << 16) != 0
            f.avx512bw = b & (1 << 30) != 0
            f.avx512vl = b & (1 << 31) != 0
            f.avx512vnni = c & (1 << 11) != 0
            f.avx512vbmi = c & (1 << 1) != 0
            f.gfni = c & (1 << 8) != 0
            f.amxTile = d & (1 << 24) != 0
            f.amxInt8 = d & (1 << 25) != 0
            if __get_cpuid_count(7, 1, &a, &b, &c, &d) != 0 { f.avxvnni = a & (1 << 4) != 0 }
        }
        #if os(Linux)
        if let flags = procCpuinfoFlags() {
            f.avx2 = f.avx2 && flags.contains("avx2"); f.fma = f.fma && flags.contains("fma")
            f.f16c = f.f16c && flags.contains("f16c"); f.bmi2 = f.bmi2 && flags.contains("bmi2")
            f.avx512f = f.avx512f && flags.contains("avx512f"); f.avx512bw = f.avx512bw && flags.contains("avx512bw")
            f.avx512vl = f.avx512vl && flags.contains("avx512vl")
            f.avx512vnni = f.avx512vnni && flags.contains("avx512_vnni"); f.avxvnni = f.avxvnni && flags.contains("avx_vnni")
            f.amxTile = f.amxTile && flags.contains("amx_tile"); f.amxInt8 = f.amxInt8 && flags.contains("amx_int8")
            f.avx512vbmi = f.avx512vbmi && flags.contains("avx512vbmi"); f.gfni = f.gfni && flags.contains("gfni")
        }
        #endif
        #elseif arch(arm64)
        f.neon = true
        #endif
        return f
    }

    #if os(Linux)
    /// The flags of the first processor in /proc/cpuinfo, or nil if it cannot be read.
    static func procCpuinfoFlags() -> Set<Substring>? {
        guard let file = fopen("/proc/cpuinfo", "r") else { return nil }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>? = nil
        var cap = 0
        defer { free(line) }
        while getline(&line, &cap, file) > 0, let line {
            let text = String(cString: line)
            if text.hasPrefix("flags"), let colon = text.firstIndex(of: ":") {
                return Set(text[text.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\n" }))
            }
        }
        return nil
    }
    #endif
}
