#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Q4_K super-block (144 bytes): fp16 d, fp16 dmin, 12 bytes of eight 6-bit scales and mins,
/// 128 bytes of nibbles: chunk c (32 bytes) holds elements 64c..<64c+32 in its low nibbles and
/// 64c+32..<64c+64 in its high nibbles. weight = d·scale_g·q − dmin·min_g per group g of 32.
public enum Q4_KFormat: KQuantFormat {
    @inlinable public static var bytes: Int { 144 }
    @inlinable public static var hasOffset: Bool { false }
    @inlinable public static var hasMins: Bool { true }
    /// Scale bytes (low 8 bytes of the vector) and min bytes.
    @inlinable @inline(__always) public static func prepare(_ blk: UnsafeRawPointer) -> (__m128i, UInt64) {
        let (s, m) = kScalesMins(blk + 4)
        return (_mm_cvtsi64_si128(Int64(bitPattern: s)), m)
    }
    @inlinable @inline(__always)
    public static func groups(_ blk: UnsafeRawPointer, _ prep: (__m128i, UInt64), _ body: (Int, __m256i, __m256i) -> Void) {
        nibbleGroups(blk, 16, prep.0, _mm256_setzero_si256(), false, body)
    }
    @inlinable @inline(__always) public static func mins(_ prep: (__m128i, UInt64), _ x: Q8Activations, _ i: Int) -> __m256i {
        _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(Int64(bitPattern: prep.1))), load256(x.sum32 + 8 &* i))
    }
    @inlinable @inline(__always) public static func dAndDmin(_ blk: UnsafeRawPointer) -> __m128 { halfPair(blk, 0) }
    @inlinable @inline(__always) public static func termCoefficients(_ prep: (__m128i, UInt64)) -> __m256i {
        _mm256_zextsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(Int64(bitPattern: prep.1))))
    }
    @inlinable public static var termPer16: Bool { false }
    @inlinable @inline(__always) public static func termFactor(_ blk: UnsafeRawPointer) -> Float { -half(blk, 2) }
}

/// Q5_K super-block (176 bytes): Q4_K's header, 32 bytes of fifth bits (bit g of byte i for
/// element i of group g), then Q4_K's nibbles at byte 48.
public enum Q5_KFormat: KQuantFormat {
    @inlinable public static var bytes: Int { 176 }
    @inlinable public static var hasOffset: Bool { false }
    @inlinable public static var hasMins: Bool { true }
    @inlinable @inline(__always) public static func prepare(_ blk: UnsafeRawPointer) -> (__m128i, UInt64) { Q4_KFormat.prepare(blk) }
    @inlinable @inline(__always)
    public static func groups(_ blk: UnsafeRawPointer, _ prep: (__m128i, UInt64), _ body: (Int, __m256i, __m256i) -> Void) {
        nibbleGroups(blk, 48, prep.0, load256(blk, 16), true, body)
    }
    @inlinable @inline(__always) public static func mins(_ prep: (__m128i, UInt64), _ x: Q8Activations, _ i: Int) -> __m256i {
        Q4_KFormat.mins(prep, x, i)
    }
    @inlinable @inline(__always) public static func dAndDmin(_ blk: UnsafeRawPointer) -> __m128 { halfPair(blk, 0) }
    @inlinable @inline(__always) public static func termCoefficients(_ prep: (__m128i, UInt64)) -> __m256i {
        _mm256_zextsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(Int64(bitPattern: prep.1))))
    }
    @inlinable public static var termPer16: Bool { false }
    @inlinable @inline(__always) public static func termFactor(_ blk: UnsafeRawPointer) -> Float { -half(blk, 2) }
}

/// The 8 groups of a Q4_K/Q5_K super-block: nibbles at `quantsAt`, fifth bits `h` when `highBits`.
@inlinable @inline(__always)
func nibbleGroups(_ blk: UnsafeRawPointer, _ quantsAt: Int, _ sc: __m128i, _ h: __m256i, _ highBits: Bool,
                  _ body: (Int, __m256i, __m256i) -> Void) {
    let m4 = splat8(0xF)
    // The eight scales as words in both lanes, once per super-block: each group's scale is then one
    // in-lane vpshufb (was a vpshufb and a cross-lane widening per group).
    let scales = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sc))
    @inline(__always) func scale(_ g: Int) -> __m256i {
        _mm256_shuffle_epi8(scales, _mm256_set1_epi16(wordPicker(g)))
    }
    @inline(__always) func chunk(_ c: Int32) {
        let q = load256(blk, quantsAt &+ 32 &* Int(c))
        var lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4)
        if highBits {
            lo = _mm256_or_si256(lo, fifthBit(h, 2 &* Int(c)))
            hi = _mm256_or_si256(hi, fifthBit(h, 2 &* Int(c) &+ 1))
        }
        let g = 2 &* Int(c)
        body(g, lo, scale(g))
        body(g &+ 1, hi, scale(g &+ 1))
    }
    chunk(0); chunk(1); chunk(2); chunk(3)
}

extension AVX2 {
    /// Q4_K rows · Q8_K activations.
    @inline(never)
    public static func q4_K(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        kquantTiledMat(Q4_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }

    /// Q5_K rows · Q8_K activations.
    @inline(never)
    public static func q5_K(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        kquantTiledMat(Q5_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
}
#endif
