import KernelsAVX2
#if arch(x86_64)
import KernelsAVX512
import KernelsAMX
#endif

/// Q5_1: 32 weights of 5 bits, an fp16 scale d and min m, value d·q + m (ggml `block_q5_1`: d, m, qh, qs[16]).
enum Q5_1Block: Block32 {
    static let traits = FormatTraits(
        block32: Q5_1Block.self, name: "q5_1",
        quantize: { legacyQuantizeRow(5, true, Q5_1Block.bytes, $0, $1, $2, nil) },
        quantizeWeighted: { legacyQuantizeRow(5, true, Q5_1Block.bytes, $0, $1, $2, $3) },
        kernels: kernels)
    #if arch(x86_64)
    private static let kernels = FormatTraits.LevelKernels(avx2: AVX2.q5_1, avx512: AVX512.q5_1,
                                                           avx2Rows8: AVX2.q5_1Rows8, avx512Rows8: AVX512.q5_1Rows8,
                                                           amxRows8: AMXKernels.q5_1Rows8)
    #else
    private static let kernels = FormatTraits.LevelKernels()
    #endif

    // MARK: Portable 8-bit decoding (`Block32`)

    static var bytes: Int { 24 }
    static var hasMin: Bool { true }
    @inline(__always) static func decode(_ p: UnsafeRawPointer) -> (SIMD16<Int16>, SIMD16<Int16>, Float, Float) {
        let qh = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        let (e, o) = nibbles(p, 8)
        let (he, ho) = fifthBits(qh)
        return (asInt16(e) | he, asInt16(o) | ho, loadHalf(p, 0), loadHalf(p, 2))
    }

    // MARK: Floats

    /// One block to floats (ggml `dequantize_row_q5_1`).
    @inline(__always)
    static func dequantize(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = loadHalf(b, 0), m = loadHalf(b, 2)
        let qh = b.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        let qs = (b + 8).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            let h0 = Int((qh >> UInt32(j)) << 4) & 0x10
            let h1 = Int(qh >> UInt32(j + 12)) & 0x10
            y[j] = Float(Int(qs[j] & 0xF) | h0) * d + m
            y[j + 16] = Float(Int(qs[j] >> 4) | h1) * d + m
        }
    }
}
