import KernelsAVX2
#if arch(x86_64)
import KernelsAVX512
import KernelsAMX
#endif

/// Q4_0: 32 weights of 4 bits and one fp16 scale d, value d·(q - 8) (ggml `block_q4_0`: d, qs[16]).
enum Q4_0Block: Block32 {
    static let traits = FormatTraits(
        block32: Q4_0Block.self, name: "q4_0",
        quantize: { legacyQuantizeRow(4, false, Q4_0Block.bytes, $0, $1, $2, nil) },
        quantizeWeighted: { legacyQuantizeRow(4, false, Q4_0Block.bytes, $0, $1, $2, $3) },
        kernels: kernels)
    #if arch(x86_64)
    private static let kernels = FormatTraits.LevelKernels(avx2: AVX2.q4_0, avx512: AVX512.q4_0,
                                                           avx2Rows8: AVX2.q4_0Rows8, avx512Rows8: AVX512.q4_0Rows8,
                                                           amxRows8: AMXKernels.q4_0Rows8)
    #else
    private static let kernels = FormatTraits.LevelKernels()
    #endif

    // MARK: Portable 8-bit decoding (`Block32`)

    static var bytes: Int { 18 }
    static var hasMin: Bool { false }
    @inline(__always) static func decode(_ p: UnsafeRawPointer) -> (SIMD16<Int16>, SIMD16<Int16>, Float, Float) {
        let (e, o) = nibbles(p, 2)
        let eight = SIMD16<Int16>(repeating: 8)
        return (asInt16(e) &- eight, asInt16(o) &- eight, loadHalf(p, 0), 0)
    }

    // MARK: Floats

    /// One block to floats (ggml `dequantize_row_q4_0`).
    @inline(__always)
    static func dequantize(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = loadHalf(b, 0)
        let qs = (b + 2).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            y[j] = Float(Int(qs[j] & 0xF) - 8) * d
            y[j + 16] = Float(Int(qs[j] >> 4) - 8) * d
        }
    }
}
