#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Q8_0: fp16 d, 32 signed bytes; weight = d · q.
public enum Q8_0Format: Block32Format {
    @inlinable public static var bytes: Int { 34 }
    @inlinable public static var signed: Bool { true }
    @inlinable public static var offset: Int32 { 0 }
    @inlinable public static var quantBits: Int { 8 }
    @inlinable public static var tilesMinSeq: (avx2: Int, avx512: Int) { (avx2: .max, avx512: 4) }
    @inlinable public static var hasMin: Bool { false }
    @inlinable @inline(__always) public static func quants(_ p: UnsafeRawPointer) -> __m256i { load256(p, 2) }
}

extension AVX2 {
    /// Q8_0 rows · Q8_0 activations.
    @inline(never)
    public static func q8_0(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        block32Mat(MaddDot.self, Q8_0Format.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
}
#endif
