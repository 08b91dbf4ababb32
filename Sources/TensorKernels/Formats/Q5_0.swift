import KernelsAVX2
#if arch(x86_64)
import KernelsAVX512
import KernelsAMX
#endif

/// Q5_0: 32 weights of 5 bits and one fp16 scale d, value d·(q - 16) (ggml `block_q5_0`: d, qh, qs[16]).
enum Q5_0Block: Block32 {
    static let traits = FormatTraits(
        block32: Q5_0Block.self, name: "q5_0",
        quantize: { legacyQuantizeRow(5, false, Q5_0Block.bytes, $0, $1, $2, nil) },
        quantizeWeighted: { legacyQuantizeRow(5, false, Q5_0Block.bytes, $0, $1, $2, $3) },
        kernels: kernels)
    #if arch(x86_64)
    private static let kernels = FormatTraits.LevelKernels(avx2: AVX2.q5_0, avx512: AVX512.q5_0,
                                                           avx2Rows8: AVX2.q5_0Rows8, avx512Rows8: AVX512.q5_0Rows8,
                                                           amxRows8: AMXKernels.q5_0Rows8)
    #else
    private static let kernels = FormatTraits.LevelKernels()
    #endif

    // MARK: Portable 8-bit decoding (`Block32`)

    static var bytes: Int { 22 }
    static var hasMin: Bool { false }
    @inline(__always) static func decode(_ p: UnsafeRawPointer) -> (SIMD16<Int16>, SIMD16<Int16>, Float, Float) {
        let qh = p.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
        let (e, o) = nibbles(p, 6)
        // q - 16 = nibble | (fifth bit clear ? 0xFFF0 : 0) in 16-bit two's complement: no subtraction.
        let (me, mo) = fifthBitMasks(~qh)
        return (asInt16(e) | me, asInt16(o) | mo, loadHalf(p, 0), 0)
    }

    // MARK: Floats

    /// One block to floats (ggml `dequantize_row_q5_0`).
    @inline(__always)
    static func dequantize(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = loadHalf(b, 0)
        let qh = b.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
        let qs = (b + 6).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            let h0 = Int((qh >> UInt32(j)) << 4) & 0x10
            let h1 = Int(qh >> UInt32(j + 12)) & 0x10
            y[j] = Float((Int(qs[j] & 0xF) | h0) - 16) * d
            y[j + 16] = Float((Int(qs[j] >> 4) | h1) - 16) * d
        }
    }
}
