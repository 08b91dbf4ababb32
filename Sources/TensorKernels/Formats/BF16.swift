/// BF16: bfloat16, the top half of an IEEE single (blocks of one element), multiplied in floats.
enum BF16Block {
    static let traits = FormatTraits(
        name: "bf16", blockSize: 1, bytesPerBlock: 2,
        dequantize: { src, dst, count in VectorOps.bf16ToF32(src.assumingMemoryBound(to: UInt16.self), dst, count) },
        quantize: { src, dst, count in
            let o = dst.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { o[i] = Quantize.bf16Bits(src[i]) }
        },
        quantizeWeighted: nil, activations: .float,
        rows: { _, w, x, nSeq, y, r0, r1 in
            MatMulEngine.floatRows(w, x, nSeq, y, r0, r1) { Kernels.dotBF16($0.assumingMemoryBound(to: UInt16.self), $1, $2) }
        })
}

extension Quantize {
    /// ggml's `ggml_compute_fp32_to_bf16`: round to nearest even, NaN kept quiet.
    @inline(__always)
    static func bf16Bits(_ f: Float) -> UInt16 {
        let u = f.bitPattern
        if u & 0x7fff_ffff > 0x7f80_0000 { return UInt16(truncatingIfNeeded: u >> 16) | 64 }
        return UInt16(truncatingIfNeeded: (u &+ (0x7fff &+ ((u >> 16) & 1))) >> 16)
    }
}
