import Testing
import Foundation
@testable import CPUFeatures

@Test func hostFeaturesAgreeWithProcCpuinfo() throws {
    let f = CPUFeatures.host
    #if os(Linux) && arch(x86_64)
    // The kernel lists a flag only if the CPU has it and the OS enabled its register state.
    let text = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
    let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("flags") })
    let flags = Set(line.split(separator: ":")[1].split(separator: " ").map(String.init))
    #expect(f.avx2 == flags.contains("avx2"))
    #expect(f.fma == flags.contains("fma"))
    #expect(f.f16c == flags.contains("f16c"))
    #expect(f.bmi2 == flags.contains("bmi2"))
    #expect(f.avx512f == flags.contains("avx512f"))
    #expect(f.avx512bw == flags.contains("avx512bw"))
    #expect(f.avx512vl == flags.contains("avx512vl"))
    #expect(f.avx512vnni == flags.contains("avx512_vnni"))
    #expect(f.avxvnni == flags.contains("avx_vnni"))
    #expect(f.gfni == flags.contains("gfni"))
    #expect(f.avx512vbmi == flags.contains("avx512vbmi"))
    #endif
    #expect(f.missingBaseline.isEmpty == f.meetsBaseline)
}

@Test func missingBaselineNamesWhatIsAbsent() {
    var f = CPUFeatures()
    f.avx2 = true; f.fma = true; f.bmi2 = true
    #if arch(x86_64)
    #expect(f.missingBaseline == ["f16c"])
    #expect(!f.meetsBaseline)
    f.f16c = true
    #expect(f.meetsBaseline)
    #endif
    #expect(f.description.contains("avx2"))
}

@Test func vendorFamilyAndModelAgreeWithProcCpuinfo() throws {
    #if os(Linux) && arch(x86_64)
    let f = CPUFeatures.host
    let text = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
    func field(_ name: String) throws -> String {
        let pairs = text.split(separator: "\n").map { $0.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false) }
        let pair = try #require(pairs.first { $0.count == 2 && $0[0].trimmingCharacters(in: .whitespaces) == name }, "no \(name) in /proc/cpuinfo")
        return pair[1].trimmingCharacters(in: .whitespaces)
    }
    // /proc/cpuinfo prints the display family and model in decimal, the extended fields folded in as here.
    #expect(f.vendor == (try field("vendor_id")))
    #expect(f.family == Int(try field("cpu family")))
    #expect(f.model == Int(try field("model")))
    #endif
}

@Test func zen4IsAMDFamily19hWithAVX512() {
    var f = CPUFeatures()
    f.vendor = "AuthenticAMD"; f.family = 0x19; f.avx512f = true
    #expect(f.isAMDZen4)
    f.avx512f = false  // Zen 3: the same family, no AVX-512
    #expect(!f.isAMDZen4)
    f.avx512f = true; f.family = 0x1A  // Zen 5
    #expect(!f.isAMDZen4)
    f.family = 0x19; f.vendor = "GenuineIntel"
    #expect(!f.isAMDZen4)
}
