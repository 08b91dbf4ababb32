import Testing
import CPUFeatures
@testable import TensorKernels

/// A host with the x86-64-v3 baseline only (AVX2, FMA, F16C, BMI2), to which each test adds features.
private func avx2Host() -> CPUFeatures {
    var f = CPUFeatures()
    f.avx2 = true; f.fma = true; f.f16c = true; f.bmi2 = true
    return f
}

/// That and AVX-512 VNNI (Cascade Lake).
private func cascadeLake() -> CPUFeatures {
    var f = avx2Host()
    f.avx512f = true; f.avx512bw = true; f.avx512vl = true; f.avx512vnni = true
    return f
}

#if arch(x86_64)
@Test func eachLevelNeedsWhatItsModuleIsBuiltFor() {
    // Cascade Lake: AVX-512 VNNI without GFNI runs `avx512`, not `avx512gfni` (its module is built with -mgfni).
    let clx = cascadeLake()
    #expect(KernelLevel.supported(by: clx) == [.avx512, .avx2, .portable])
    // Ice Lake, Zen 4: GFNI too, no AMX.
    var icx = clx
    icx.gfni = true; icx.avx512vbmi = true
    #expect(KernelLevel.supported(by: icx) == [.avx512gfni, .avx512, .avx2, .portable])
    // AMX tiles without GFNI or VBMI (no such CPU; the `amx` module is built with both) do not make the `amx` level.
    var odd = clx
    odd.amxTile = true; odd.amxInt8 = true
    #expect(!KernelLevel.amx.runs(on: odd))
    // AVX2 only (the fleet host): `avx2`, and GFNI alone adds nothing.
    var avx2 = avx2Host()
    avx2.gfni = true
    #expect(KernelLevel.supported(by: avx2) == [.avx2, .portable])
}
#endif

@Test func theGFNILevelHasItsOwnQ3KKernelAndRunsTheAVX512OnesElsewhere() {
    #if arch(x86_64)
    let q3 = GGMLType.q3_K.traits, q4 = GGMLType.q4_K.traits
    #expect(q3.rows8Kernel(.avx512gfni) != nil)
    // Q4_K has no GFNI kernel: the level runs `avx512`'s.
    #expect(q4.gfniRows8 == nil && q4.rows8Kernel(.avx512gfni) != nil)
    #expect(q3.gfniRows8 != nil)
    #else
    #expect(GGMLType.q3_K.traits.rows8Kernel(.avx512gfni) == nil)
    #endif
}
