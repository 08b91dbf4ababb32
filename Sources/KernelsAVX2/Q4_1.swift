#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Q4_1: fp16 d, fp16 m, 16 bytes of nibbles (as Q4_0); weight = d · nibble + m.
public enum Q4_1Format: Block32Format {
    @inlinable public static var bytes: Int { 20 }
    @inlinable public static var signed: Bool { false }
    @inlinable public static var offset: Int32 { 0 }
    @inlinable public static var quantBits: Int { 4 }
    @inlinable public static var tilesMinSeq: (avx2: Int, avx512: Int) { (avx2: 3, avx512: 3) }
    @inlinable public static var hasMin: Bool { true }
    @inlinable @inline(__always) public static func quants(_ p: UnsafeRawPointer) -> __m256i { nibbles32(p, 4) }
}

extension AVX2 {
    /// Q4_1 rows · Q8_1 activations.
    @inline(never)
    public static func q4_1(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        block32TiledMat(Q4_1Format.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
}
#endif
