import KernelsAVX2
#if arch(x86_64)
import KernelsAVX512
import KernelsAMX
#endif

/// Q8_0: 32 weights of 8 bits and one fp16 scale d, value d·q (ggml `block_q8_0`: d, qs[32]).
enum Q8_0Block: Block32 {
    static let traits = FormatTraits(
        block32: Q8_0Block.self, name: "q8_0",
        quantize: { x, y, count in forEachBlock(Q8_0Block.self, count) { Q8_0Block.quantize(x + $0, y + $1) } },
        quantizeWeighted: nil, // ggml ignores importance for Q8_0
        kernels: kernels)
    #if arch(x86_64)
    private static let kernels = FormatTraits.LevelKernels(avx2: AVX2.q8_0, avx512: AVX512.q8_0, avx2Rows8: AVX2.q8_0Rows8,
                                                           avx512Rows8: AVX512.q8_0Rows8, amxRows8: AMXKernels.q8_0Rows8)
    #else
    private static let kernels = FormatTraits.LevelKernels()
    #endif

    // MARK: Portable 8-bit decoding (`Block32`)

    static var bytes: Int { 34 }
    static var hasMin: Bool { false }
    @inline(__always) static func decode(_ p: UnsafeRawPointer) -> (SIMD16<Int16>, SIMD16<Int16>, Float, Float) {
        let v = p.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int16>.self)
        return ((v &<< 8) &>> 8, v &>> 8, loadHalf(p, 0), 0)
    }

    // MARK: Floats

    /// One block to floats (ggml `dequantize_row_q8_0`).
    @inline(__always)
    static func dequantize(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = loadHalf(b, 0)
        let qs = (b + 2).assumingMemoryBound(to: Int8.self)
        for j in 0..<32 { y[j] = Float(qs[j]) * d }
    }

    /// One block from floats (ggml `quantize_row_q8_0_ref`).
    static func quantize(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for j in 0..<32 { amax = Swift.max(amax, abs(x[j])) }
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(d, y, 0)
        let qs = (y + 2).assumingMemoryBound(to: Int8.self)
        for j in 0..<32 { qs[j] = Int8((x[j] * id).rounded()) }
    }
}
