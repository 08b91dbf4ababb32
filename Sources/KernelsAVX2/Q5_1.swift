#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Q5_1: fp16 d, fp16 m, 32 fifth bits, 16 bytes of nibbles; weight = d · (nibble | fifth << 4) + m.
public enum Q5_1Format: Block32Format {
    @inlinable public static var bytes: Int { 24 }
    @inlinable public static var signed: Bool { false }
    @inlinable public static var offset: Int32 { 0 }
    @inlinable public static var quantBits: Int { 5 }
    @inlinable public static var tilesMinSeq: (avx2: Int, avx512: Int) { (avx2: 3, avx512: 2) }
    @inlinable public static var hasMin: Bool { true }
    @inlinable @inline(__always) public static func quants(_ p: UnsafeRawPointer) -> __m256i {
        _mm256_or_si256(nibbles32(p, 8), fifthBits32(p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
    }
}

extension AVX2 {
    /// Q5_1 rows · Q8_1 activations.
    @inline(never)
    public static func q5_1(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        block32TiledMat(Q5_1Format.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
}
#endif
