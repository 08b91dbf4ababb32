#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Q3_K super-block (110 bytes): 32 bytes of high bits, 64 bytes of 2-bit pairs, 12 bytes of
/// sixteen 6-bit scales (offset 32), fp16 d. Element 128n + 32j + l (l < 32): low bits
/// (qs[32n + l] >> 2j) & 3, high bit (hmask[l] >> (4n + j)) & 1, scale 8n + 2j + l/16;
/// weight = d · (scale − 32) · (low | high << 2 − 4).
public enum Q3_KFormat: KQuantFormat {
    @inlinable public static var bytes: Int { 110 }
    @inlinable public static var hasOffset: Bool { true }
    @inlinable public static var hasMins: Bool { false }
    @inlinable public static var offsetShift: Int32 { 2 }
    @inlinable @inline(__always) public static func prepare(_ blk: UnsafeRawPointer) -> __m128i { q3Scales(blk + 96) }
    @inlinable @inline(__always)
    public static func groups(_ blk: UnsafeRawPointer, _ sc: __m128i, _ body: (Int, __m256i, __m256i) -> Void) {
        let m3 = splat8(3), four = splat8(4), scales = Scales16(sc, signed: true)
        let hm = load256(blk, 0)
        @inline(__always) func half128(_ n: Int) {
            let qs = load256(blk, 32 &+ 32 &* n)
            @inline(__always) func group(_ j: Int32) {
                let low = _mm256_and_si256(_mm256_srli_epi16(qs, 2 &* j), m3)
                // Bit 4n + j of each mask byte moved to bit 2 (worth 4) by one shift, then masked.
                let b = 4 &* Int32(n) &+ j
                let high = _mm256_and_si256(b >= 2 ? _mm256_srli_epi16(hm, b &- 2) : _mm256_slli_epi16(hm, 2 &- b), four)
                let g = 4 &* n &+ Int(j)
                body(g, _mm256_or_si256(low, high), scales.group(g))
            }
            group(0); group(1); group(2); group(3)
        }
        half128(0); half128(1)
    }
    /// Σ scale·(u − 4)·x = Σ scale·u·x − 4 · Σ_g scale_g · Σx_g.
    @inlinable @inline(__always) public static func offset(_ sc: __m128i, _ x: Q8Activations, _ i: Int) -> __m256i {
        _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(sixteenTerm(sc, x, i), offsetShift))
    }
    @inlinable @inline(__always) public static func dAndDmin(_ blk: UnsafeRawPointer) -> __m128 { _mm_set_ss(half(blk, 108)) }
    @inlinable @inline(__always) public static func termCoefficients(_ sc: __m128i) -> __m256i { _mm256_cvtepi8_epi16(sc) }
    @inlinable public static var termPer16: Bool { true }
    @inlinable @inline(__always) public static func termFactor(_ blk: UnsafeRawPointer) -> Float { -4 * half(blk, 108) }
}

/// The sixteen signed scales of a Q3_K block (12 bytes at `p`), one per byte, as ggml's x86 code
/// unpacks them.
@inlinable @inline(__always) func q3Scales(_ p: UnsafeRawPointer) -> __m128i {
    let a0 = p.loadUnaligned(as: UInt32.self), a1 = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
    let a2 = p.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
    let k1: UInt32 = 0x0303_0303, k2: UInt32 = 0x0f0f_0f0f
    let s3 = ((a1 >> 4) & k2) | (((a2 >> 6) & k1) << 4)
    let s2 = ((a0 >> 4) & k2) | (((a2 >> 4) & k1) << 4)
    let s1 = (a1 & k2) | (((a2 >> 2) & k1) << 4)
    let s0 = (a0 & k2) | ((a2 & k1) << 4)
    let v = _mm_set_epi32(Int32(bitPattern: s3), Int32(bitPattern: s2), Int32(bitPattern: s1), Int32(bitPattern: s0))
    return _mm_sub_epi8(v, _mm_set1_epi8(32))
}

extension AVX2 {
    /// Q3_K rows · Q8_K activations.
    @inline(never)
    public static func q3_K(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        kquantMat(Q3_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
}
#endif
