#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Q6_K super-block (210 bytes): 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16
/// signed scales (one per 16 elements), fp16 d; weight = d · scale · (q − 32). Half n (128
/// elements): group k (32 elements) takes nibbles from ql[64n + 32(k&1) ..] (low for k < 2, high
/// otherwise) and bits 2k, 2k+1 of qh[32n ..].
public enum Q6_KFormat: KQuantFormat {
    @inlinable public static var bytes: Int { 210 }
    @inlinable public static var hasOffset: Bool { true }
    @inlinable public static var hasMins: Bool { false }
    @inlinable public static var offsetShift: Int32 { 5 }
    @inlinable @inline(__always) public static func prepare(_ blk: UnsafeRawPointer) -> __m128i { load128(blk, 192) }
    @inlinable @inline(__always)
    public static func groups(_ blk: UnsafeRawPointer, _ sc: __m128i, _ body: (Int, __m256i, __m256i) -> Void) {
        let m4 = splat8(0xF), m3 = splat8(3), scales = Scales16(sc, signed: true)
        @inline(__always) func half128(_ n: Int) {
            let l0 = load256(blk, 64 &* n), l1 = load256(blk, 64 &* n &+ 32)
            let h = load256(blk, 128 &+ 32 &* n)
            @inline(__always) func group(_ k: Int, _ low: __m256i, _ hs: Int32) {
                let q = _mm256_or_si256(low, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, hs), m3), 4))
                let g = 4 &* n &+ k
                body(g, q, scales.group(g))
            }
            group(0, _mm256_and_si256(l0, m4), 0)
            group(1, _mm256_and_si256(l1, m4), 2)
            group(2, _mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), 4)
            group(3, _mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), 6)
        }
        half128(0); half128(1)
    }
    /// Σ scale·(q − 32)·x = Σ scale·q·x − 32 · Σ_g scale_g · Σx_g.
    @inlinable @inline(__always) public static func offset(_ sc: __m128i, _ x: Q8Activations, _ i: Int) -> __m256i {
        _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(sixteenTerm(sc, x, i), offsetShift))
    }
    @inlinable @inline(__always) public static func dAndDmin(_ blk: UnsafeRawPointer) -> __m128 { _mm_set_ss(half(blk, 208)) }
    @inlinable @inline(__always) public static func termCoefficients(_ sc: __m128i) -> __m256i { _mm256_cvtepi8_epi16(sc) }
    @inlinable public static var termPer16: Bool { true }
    @inlinable @inline(__always) public static func termFactor(_ blk: UnsafeRawPointer) -> Float { -32 * half(blk, 208) }
}

extension AVX2 {
    /// Q6_K rows · Q8_K activations.
    @inline(never)
    public static func q6_K(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        kquantTiledMat(Q6_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
}
#endif
