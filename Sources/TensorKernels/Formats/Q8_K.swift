/// Q8_K: 256 quants of 8 bits with a float scale d and the sums of each 16 (ggml `block_q8_K`: d,
/// qs[256], bsums[16]). The activation format of the K-quants' dot products in ggml; not found in
/// model files, and as weights decoded row by row and multiplied in floats.
enum Q8_KBlock: BlockLayout {
    static let traits = FormatTraits(
        name: "q8_K", blockSize: Q8_KBlock.elements, bytesPerBlock: Q8_KBlock.bytes,
        dequantize: { src, dst, count in dequantizeBlocks(Q8_KBlock.self, src, dst, count) },
        quantize: { x, y, count in forEachBlock(Q8_KBlock.self, count) { Q8_KBlock.quantize(x + $0, y + $1) } },
        quantizeWeighted: nil, // ggml ignores importance for Q8_K
        activations: .float,
        rows: { e, w, x, nSeq, y, r0, r1 in e.dequantRows(w, x, nSeq, y, r0, r1) })

    static var elements: Int { 256 }
    static var bytes: Int { 292 }

    /// One super-block to floats.
    @inline(__always)
    static func dequantize(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = b.loadUnaligned(as: Float.self)
        let qs = (b + 4).assumingMemoryBound(to: Int8.self)
        for j in 0..<256 { y[j] = d * Float(qs[j]) }
    }

    /// One super-block from floats (ggml `quantize_row_q8_K_ref`).
    static func quantize(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        let (max, amax) = signedAbsMax(x, 256)
        let qs = (y + 4).assumingMemoryBound(to: Int8.self)
        let bsums = (y + 260).assumingMemoryBound(to: Int16.self)
        if amax == 0 {
            y.storeBytes(of: Float(0), as: Float.self)
            for j in 0..<256 { qs[j] = 0 }
            for j in 0..<16 { bsums[j] = 0 }
            return
        }
        let iscale = -127 / max
        for j in 0..<256 { qs[j] = Int8(Swift.min(127, nearestInt(iscale * x[j]))) }
        for j in 0..<16 {
            var s = 0
            for i in 0..<16 { s += Int(qs[16 * j + i]) }
            bsums[j] = Int16(s)
        }
        y.storeBytes(of: 1 / iscale, as: Float.self)
    }
}
