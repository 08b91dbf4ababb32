#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Q4_0: fp16 d, 16 bytes of nibbles (element j in the low nibble of byte j, j+16 in its high
/// nibble); weight = d · (nibble − 8).
public enum Q4_0Format: Block32Format {
    @inlinable public static var bytes: Int { 18 }
    @inlinable public static var signed: Bool { false }
    @inlinable public static var offset: Int32 { 8 }
    @inlinable public static var quantBits: Int { 4 }
    @inlinable public static var tilesMinSeq: (avx2: Int, avx512: Int) { (avx2: 4, avx512: 2) }
    @inlinable public static var hasMin: Bool { false }
    @inlinable @inline(__always) public static func quants(_ p: UnsafeRawPointer) -> __m256i { nibbles32(p, 2) }
}

extension AVX2 {
    /// Q4_0 rows · Q8_0 activations.
    @inline(never)
    public static func q4_0(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        block32TiledMat(Q4_0Format.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
}
#endif
