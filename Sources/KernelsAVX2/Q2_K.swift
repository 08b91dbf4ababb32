#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Q2_K super-block (84 bytes): 16 bytes of 4-bit scale (low) and min (high) per 16 elements,
/// 64 bytes of 2-bit quants, fp16 d, fp16 dmin. Element 128n + 32j + l: (qs[32n + l] >> 2j) & 3,
/// scale byte 8n + 2j + l/16; weight = d · scale · q − dmin · min.
public enum Q2_KFormat: KQuantFormat {
    @inlinable public static var bytes: Int { 84 }
    @inlinable public static var hasOffset: Bool { false }
    @inlinable public static var hasMins: Bool { true }
    /// The 16 scales and the 16 mins, one per byte.
    @inlinable @inline(__always) public static func prepare(_ blk: UnsafeRawPointer) -> (__m128i, __m128i) {
        let raw = load128(blk, 0), m4 = _mm_set1_epi8(0xF)
        return (_mm_and_si128(raw, m4), _mm_and_si128(_mm_srli_epi16(raw, 4), m4))
    }
    @inlinable @inline(__always)
    public static func groups(_ blk: UnsafeRawPointer, _ prep: (__m128i, __m128i), _ body: (Int, __m256i, __m256i) -> Void) {
        let m3 = splat8(3), scales = Scales16(prep.0, signed: false)
        @inline(__always) func half128(_ n: Int) {
            let qs = load256(blk, 16 &+ 32 &* n)
            @inline(__always) func group(_ j: Int32) {
                let g = 4 &* n &+ Int(j)
                body(g, _mm256_and_si256(_mm256_srli_epi16(qs, 2 &* j), m3), scales.group(g))
            }
            group(0); group(1); group(2); group(3)
        }
        half128(0); half128(1)
    }
    @inlinable @inline(__always) public static func mins(_ prep: (__m128i, __m128i), _ x: Q8Activations, _ i: Int) -> __m256i {
        sixteenTerm(prep, x, i)
    }
    @inlinable @inline(__always) public static func dAndDmin(_ blk: UnsafeRawPointer) -> __m128 { halfPair(blk, 80) }
    @inlinable @inline(__always) public static func termCoefficients(_ prep: (__m128i, __m128i)) -> __m256i { _mm256_cvtepu8_epi16(prep.1) }
    @inlinable public static var termPer16: Bool { true }
    @inlinable @inline(__always) public static func termFactor(_ blk: UnsafeRawPointer) -> Float { -half(blk, 82) }
}

extension AVX2 {
    /// Q2_K rows · Q8_K activations.
    @inline(never)
    public static func q2_K(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        kquantMat(Q2_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
}
#endif
