import KernelsAVX2
#if arch(x86_64)
import KernelsAVX512
import KernelsAMX
#endif

/// Q4_1: 32 weights of 4 bits, an fp16 scale d and min m, value d·q + m (ggml `block_q4_1`: d, m, qs[16]).
enum Q4_1Block: Block32 {
    static let traits = FormatTraits(
        block32: Q4_1Block.self, name: "q4_1",
        quantize: { legacyQuantizeRow(4, true, Q4_1Block.bytes, $0, $1, $2, nil) },
        quantizeWeighted: { legacyQuantizeRow(4, true, Q4_1Block.bytes, $0, $1, $2, $3) },
        kernels: kernels)
    #if arch(x86_64)
    private static let kernels = FormatTraits.LevelKernels(avx2: AVX2.q4_1, avx512: AVX512.q4_1,
                                                           avx2Rows8: AVX2.q4_1Rows8, avx512Rows8: AVX512.q4_1Rows8,
                                                           amxRows8: AMXKernels.q4_1Rows8)
    #else
    private static let kernels = FormatTraits.LevelKernels()
    #endif

    // MARK: Portable 8-bit decoding (`Block32`)

    static var bytes: Int { 20 }
    static var hasMin: Bool { true }
    @inline(__always) static func decode(_ p: UnsafeRawPointer) -> (SIMD16<Int16>, SIMD16<Int16>, Float, Float) {
        let (e, o) = nibbles(p, 4)
        return (asInt16(e), asInt16(o), loadHalf(p, 0), loadHalf(p, 2))
    }

    // MARK: Floats

    /// One block to floats (ggml `dequantize_row_q4_1`).
    @inline(__always)
    static func dequantize(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = loadHalf(b, 0), m = loadHalf(b, 2)
        let qs = (b + 4).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            y[j] = Float(qs[j] & 0xF) * d + m
            y[j + 16] = Float(qs[j] >> 4) * d + m
        }
    }
}
