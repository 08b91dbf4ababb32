#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Q5_0: fp16 d, 32 fifth bits (bit j for element j), 16 bytes of nibbles (as Q4_0);
/// weight = d · ((nibble | fifth bit << 4) − 16).
public enum Q5_0Format: Block32Format {
    @inlinable public static var bytes: Int { 22 }
    @inlinable public static var signed: Bool { false }
    @inlinable public static var offset: Int32 { 16 }
    @inlinable public static var quantBits: Int { 5 }
    @inlinable public static var tilesMinSeq: (avx2: Int, avx512: Int) { (avx2: 2, avx512: 2) }
    @inlinable public static var hasMin: Bool { false }
    @inlinable @inline(__always) public static func quants(_ p: UnsafeRawPointer) -> __m256i {
        _mm256_or_si256(nibbles32(p, 6), fifthBits32(p.loadUnaligned(fromByteOffset: 2, as: UInt32.self)))
    }
}

extension AVX2 {
    /// Q5_0 rows · Q8_0 activations.
    @inline(never)
    public static func q5_0(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        block32TiledMat(Q5_0Format.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
}
#endif
