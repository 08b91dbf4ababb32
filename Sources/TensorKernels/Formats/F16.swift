/// F16: IEEE half floats (blocks of one element), multiplied in floats.
enum F16Block {
    static let traits = FormatTraits(
        name: "f16", blockSize: 1, bytesPerBlock: 2,
        dequantize: { src, dst, count in VectorOps.f16ToF32(src.assumingMemoryBound(to: UInt16.self), dst, count) },
        quantize: { src, dst, count in VectorOps.f32ToF16(src, dst.assumingMemoryBound(to: UInt16.self), count) },
        quantizeWeighted: nil, activations: .float,
        rows: { _, w, x, nSeq, y, r0, r1 in
            MatMulEngine.floatRows(w, x, nSeq, y, r0, r1) { VectorOps.dotF16($0.assumingMemoryBound(to: UInt16.self), $1, $2) }
        })
}
