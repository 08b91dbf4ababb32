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
