import KernelsAVX2
#if arch(x86_64)
import KernelsAVX512
import KernelsAMX
#endif

/// Q4_K: 256 weights of 4 bits in 8 groups of 32, each with a 6-bit scale and 6-bit min, under fp16
/// super-block scales d and dmin (ggml `block_q4_K`: d, dmin, scales[12], qs[128]).
enum Q4_KBlock: KBlock {
    static let traits = FormatTraits(
        kquant: Q4_KBlock.self, name: "q4_K",
        quantize: { x, y, count in forEachBlock(Q4_KBlock.self, count) { q45_K(15, x + $0, y + $1) } },
        quantizeWeighted: { x, y, count, qw in forEachBlock(Q4_KBlock.self, count) { q45_KWeighted(15, x + $0, qw + $0, y + $1) } },
        kernels: kernels, rows8Pieces: Repack.headerFirst(blockBytes: 144, header: 4))
    #if arch(x86_64)
    private static let kernels = FormatTraits.LevelKernels(avx2: AVX2.q4_K, avx512: AVX512.q4_K,
                                                           avx2Rows8: AVX2.q4_KRows8, avx512Rows8: AVX512.q4_KRows8,
                                                           amxRows8: AMXKernels.q4_KRows8)
    #else
    private static let kernels = FormatTraits.LevelKernels()
    #endif

    // MARK: Portable 8-bit decoding (`KBlock`)

    static var bytes: Int { 144 }
    static var hasMins: Bool { true }
    @inline(__always) static func groups(_ p: UnsafeRawPointer, _ group: (Int, SIMD16<Int16>, SIMD16<Int16>, Int32, Int32) -> Void) {
        let scales = kScalesMins(p + 4).scales
        @inline(__always) func chunk(_ c: Int) {
            let v = p.loadUnaligned(fromByteOffset: 16 &+ 32 &* c, as: SIMD16<UInt16>.self)
            let s0 = Int32(truncatingIfNeeded: (scales >> UInt64(16 &* c)) & 0xFF)
            let s1 = Int32(truncatingIfNeeded: (scales >> UInt64(16 &* c &+ 8)) & 0xFF)
            group(2 &* c, asInt16(v & 0xF), asInt16((v &>> 8) & 0xF), s0, s0)
            group(2 &* c &+ 1, asInt16((v &>> 4) & 0xF), asInt16(v &>> 12), s1, s1)
        }
        chunk(0); chunk(1); chunk(2); chunk(3)
    }
    @inline(__always) static func scales(_ p: UnsafeRawPointer) -> (Float, Float) { (loadHalf(p, 0), loadHalf(p, 2)) }
    @inline(__always) static func minTerms(_ p: UnsafeRawPointer, _ gsums: UnsafePointer<Int32>, _ bsums: UnsafePointer<Int16>) -> SIMD8<Int32> {
        let mins = kScalesMins(p + 4).mins
        let v = spreadBytes(UInt32(truncatingIfNeeded: mins), UInt32(truncatingIfNeeded: mins >> 32), shift: 0) & 0xFF
        return unsafeBitCast(v, to: SIMD8<Int32>.self) &* UnsafeRawPointer(gsums).loadUnaligned(as: SIMD8<Int32>.self)
    }

    // MARK: Floats

    /// One block to floats (ggml `dequantize_row_q4_K`).
    static func dequantize(_ b: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = loadHalf(b, 0), dmin = loadHalf(b, 2)
        let scales = (b + 4).assumingMemoryBound(to: UInt8.self)
        var q = (b + 16).assumingMemoryBound(to: UInt8.self)
        var y = out
        for c in 0..<4 {
            let (s1, m1) = kScaleMin(2 * c, scales)
            let (s2, m2) = kScaleMin(2 * c + 1, scales)
            let d1 = d * Float(s1), mm1 = dmin * Float(m1)
            let d2 = d * Float(s2), mm2 = dmin * Float(m2)
            for l in 0..<32 { y[l] = d1 * Float(q[l] & 0xF) - mm1 }
            for l in 0..<32 { y[l + 32] = d2 * Float(q[l] >> 4) - mm2 }
            q += 32; y += 64
        }
    }
}
