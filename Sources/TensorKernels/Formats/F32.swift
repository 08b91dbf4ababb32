/// F32: plain 32-bit floats (blocks of one element), multiplied in floats.
enum F32Block {
    static let traits = FormatTraits(
        name: "f32", blockSize: 1, bytesPerBlock: 4,
        dequantize: { src, dst, count in dst.update(from: src.assumingMemoryBound(to: Float.self), count: count) },
        quantize: { src, dst, count in dst.copyMemory(from: src, byteCount: count * 4) },
        quantizeWeighted: nil, activations: .float,
        rows: { _, w, x, nSeq, y, r0, r1 in
            MatMulEngine.floatRows(w, x, nSeq, y, r0, r1) { VectorOps.dot($0.assumingMemoryBound(to: Float.self), $1, $2) }
        })
}
