/// Converts rows of any supported `GGMLType` to `Float`.
public enum Dequantize {
    /// Writes `count` floats decoded from `src` (laid out as `type`) to `dst`.
    /// `count` must be a multiple of `type.blockSize`.
    public static func row(_ type: GGMLType, _ src: UnsafeRawPointer, into dst: UnsafeMutablePointer<Float>, count: Int) {
        switch type {
        case .f32:
            dst.update(from: src.assumingMemoryBound(to: Float.self), count: count)
        case .f16:
            let h = src.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { dst[i] = Float(Float16(bitPattern: h[i])) }
        case .bf16:
            let h = src.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { dst[i] = Float(bitPattern: UInt32(h[i]) << 16) }
        case .q8_0:
            for b in 0..<(count / 32) {
                let block = src + b * 34
                let d = Float(Float16(bitPattern: block.loadUnaligned(as: UInt16.self)))
                let qs = (block + 2).assumingMemoryBound(to: Int8.self)
                for j in 0..<32 { dst[b * 32 + j] = d * Float(qs[j]) }
            }
        default:
            fatalError("Dequantize.row: \(type) not implemented yet")
        }
    }
}
