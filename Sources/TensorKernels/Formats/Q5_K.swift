import KernelsAVX2
#if arch(x86_64)
import KernelsAVX512
import KernelsAMX
#endif

/// Q5_K: Q4_K's layout with a fifth bit per weight in qh (ggml `block_q5_K`: d, dmin, scales[12],
/// qh[32], qs[128]).
enum Q5_KBlock: KBlock {
    static let traits = FormatTraits(
        kquant: Q5_KBlock.self, name: "q5_K",
        quantize: { x, y, count in forEachBlock(Q5_KBlock.self, count) { q45_K(31, x + $0, y + $1) } },
        quantizeWeighted: { x, y, count, qw in forEachBlock(Q5_KBlock.self, count) { q45_KWeighted(31, x + $0, qw + $0, y + $1) } },
        kernels: kernels, rows8Pieces: Repack.headerFirst(blockBytes: 176, header: 4))
    #if arch(x86_64)
    // Repacked on AVX-512 only: on AVX2 the `rows8` layout (Q4_K's kernel and tiles with the fifth bits) read
    // as fast as the file layout for one and two sequences and 6-18% slower from three on (docs/kernels.md).
    private static let kernels = FormatTraits.LevelKernels(avx2: AVX2.q5_K, avx512: AVX512.q5_K, avx512Rows8: AVX512.q5_KRows8,
                                                           amxRows8: AMXKernels.q5_KRows8)
    #else
    private static let kernels = FormatTraits.LevelKernels()
    #endif

    // MARK: Portable 8-bit decoding (`KBlock`)

    static var bytes: Int { 176 }
    static var hasMins: Bool { true }
    @inline(__always) static func groups(_ p: UnsafeRawPointer, _ group: (Int, SIMD16<Int16>, SIMD16<Int16>, Int32, Int32) -> Void) {
        let scales = kScalesMins(p + 4).scales
        let h = p.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt16>.self)
        @inline(__always) func chunk(_ c: Int) {
            let v = p.loadUnaligned(fromByteOffset: 48 &+ 32 &* c, as: SIMD16<UInt16>.self)
            let s0 = Int32(truncatingIfNeeded: (scales >> UInt64(16 &* c)) & 0xFF)
            let s1 = Int32(truncatingIfNeeded: (scales >> UInt64(16 &* c &+ 8)) & 0xFF)
            let b0 = UInt16(truncatingIfNeeded: 2 &* c), b1 = UInt16(truncatingIfNeeded: 2 &* c &+ 1)
            let he0 = ((h &>> b0) & 1) &<< 4, ho0 = ((h &>> (b0 &+ 8)) & 1) &<< 4
            let he1 = ((h &>> b1) & 1) &<< 4, ho1 = ((h &>> (b1 &+ 8)) & 1) &<< 4
            group(2 &* c, asInt16((v & 0xF) | he0), asInt16(((v &>> 8) & 0xF) | ho0), s0, s0)
            group(2 &* c &+ 1, asInt16(((v &>> 4) & 0xF) | he1), asInt16((v &>> 12) | ho1), s1, s1)
        }
        chunk(0); chunk(1); chunk(2); chunk(3)
    }
    @inline(__always) static func scales(_ p: UnsafeRawPointer) -> (Float, Float) { (loadHalf(p, 0), loadHalf(p, 2)) }
    @inline(__always) static func minTerms(_ p: UnsafeRawPointer, _ gsums: UnsafePointer<Int32>, _ bsums: UnsafePointer<Int16>) -> SIMD8<Int32> {
        Q4_KBlock.minTerms(p, gsums, bsums)
    }

    // MARK: Floats

    /// One block to floats (ggml `dequantize_row_q5_K`).
    static func dequantize(_ b: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = loadHalf(b, 0), dmin = loadHalf(b, 2)
        let scales = (b + 4).assumingMemoryBound(to: UInt8.self)
        let qh = (b + 16).assumingMemoryBound(to: UInt8.self)
        var ql = (b + 48).assumingMemoryBound(to: UInt8.self)
        var y = out
        var u1: UInt8 = 1, u2: UInt8 = 2
        for c in 0..<4 {
            let (s1, m1) = kScaleMin(2 * c, scales)
            let (s2, m2) = kScaleMin(2 * c + 1, scales)
            let d1 = d * Float(s1), mm1 = dmin * Float(m1)
            let d2 = d * Float(s2), mm2 = dmin * Float(m2)
            for l in 0..<32 { y[l] = d1 * Float(Int(ql[l] & 0xF) + (qh[l] & u1 != 0 ? 16 : 0)) - mm1 }
            for l in 0..<32 { y[l + 32] = d2 * Float(Int(ql[l] >> 4) + (qh[l] & u2 != 0 ? 16 : 0)) - mm2 }
            ql += 32; y += 64
            u1 <<= 2; u2 <<= 2
        }
    }
}
