/// Q8_1: 32 quants of 8 bits with an fp16 scale d and fp16 d·Σq (ggml `block_q8_1`: d, s, qs[32]).
/// An activation format: never produced by the quantizer, not found in model files; as weights
/// it is decoded row by row and multiplied in floats.
enum Q8_1Block: BlockLayout {
    static let traits = FormatTraits(
        name: "q8_1", blockSize: Q8_1Block.elements, bytesPerBlock: Q8_1Block.bytes,
        dequantize: { src, dst, count in dequantizeBlocks(Q8_1Block.self, src, dst, count) },
        quantize: nil, quantizeWeighted: nil, activations: .float,
        rows: { e, w, x, nSeq, y, r0, r1 in e.dequantRows(w, x, nSeq, y, r0, r1) })

    static var elements: Int { 32 }
    static var bytes: Int { 36 }

    /// One block to floats.
    @inline(__always)
    static func dequantize(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = loadHalf(b, 0)
        let qs = (b + 4).assumingMemoryBound(to: Int8.self)
        for j in 0..<32 { y[j] = Float(qs[j]) * d }
    }
}
