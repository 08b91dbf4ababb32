// The K-quant formats' groups two at a time on 512-bit vectors: the one place where a format's
// super-block layout meets `kquantRows512` (as `KQuantFormat.groups` is on 256-bit vectors). Each
// pair is one or two loads, one variable shift and one mask, the pair's scales one vpermw of the
// block's scales widened once to words.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import KernelsAVX2

/// A K-quant format whose super-block `kquantRows512` multiplies two groups per instruction.
protocol KQuantPairs512: KQuantFormat {
    /// Calls `body(g, quants, scales)` for g = 0, 2, 4, 6: the unsigned quants of groups g (bytes
    /// 0..<32) and g + 1 (32..<64), and the 32 word scales of their pair sums (16 per group).
    static func pairs512(_ blk: UnsafeRawPointer, _ prep: Prep, _ body: (Int, __m512i, __m512i) -> Void)
    /// True when `pairs512` hands over each quant already multiplied by its scale (a byte: Q2_K's
    /// 2-bit quants times 4-bit scales are at most 45), so one vpdpbusd per sequence takes the
    /// place of vpmaddubsw and vpmaddwd, and the scales argument is unused.
    static var prescaled: Bool { get }
}

extension KQuantPairs512 {
    @inline(__always) static var prescaled: Bool { false }
}

extension Q4_KFormat: KQuantPairs512 {
    /// Chunk c (32 bytes at 16 + 32c) holds groups 2c (low nibbles) and 2c + 1 (high nibbles).
    @inline(__always) static func pairs512(_ blk: UnsafeRawPointer, _ prep: (__m128i, UInt64), _ body: (Int, __m512i, __m512i) -> Void) {
        nibblePairs512(blk, 16, prep.0, nil, body)
    }
}

extension Q5_KFormat: KQuantPairs512 {
    /// Q4_K's nibbles at byte 48, and fifth bits: bit g of byte l is element l of group g.
    @inline(__always) static func pairs512(_ blk: UnsafeRawPointer, _ prep: (__m128i, UInt64), _ body: (Int, __m512i, __m512i) -> Void) {
        nibblePairs512(blk, 48, prep.0, broadcast256(blk, 16), body)
    }
}

extension Q2_KFormat: KQuantPairs512 {
    @inline(__always) static var prescaled: Bool { true }
    /// A scale per 16 elements, so each 128-bit lane of a pair (groups g, g + 1) is one sixteen
    /// with one scale s, and a vpshufb of the lane's table [0, s, 2s, 3s] turns its quants into
    /// quant · scale. The tables of all sixteen scales fill one zmm: dword 4j + p (lane j, dword p)
    /// serves lane j of pair p, so the pair's indices are quant + 4p.
    @inline(__always) static func pairs512(_ blk: UnsafeRawPointer, _ prep: (__m128i, __m128i), _ body: (Int, __m512i, __m512i) -> Void) {
        // Byte 4j + p = scale of sixteen 4p + j; widened to dwords and times 0x03020100: [0, s, 2s, 3s].
        let transposed = _mm_shuffle_epi8(prep.0, _mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15))
        let tables = _mm512_mullo_epi32(_mm512_cvtepu8_epi32(transposed), _mm512_set1_epi32(0x0302_0100))
        let unused = _mm512_setzero_si512()
        crumbPairs512(blk, 16) { g, q in
            body(g, _mm512_shuffle_epi8(tables, _mm512_or_si512(q, _mm512_set1_epi8(CChar(2 &* g)))), unused)  // + 4p, p = g / 2
        }
    }
}

extension Q3_KFormat: KQuantPairs512 {
    /// Q2_K's low bits at byte 32, a high bit (bit g of the 32 mask bytes, for group g) worth 4;
    /// signed scales, one per 16 elements, widened once to words for the pairs' vpermw.
    @inline(__always) static func pairs512(_ blk: UnsafeRawPointer, _ prep: __m128i, _ body: (Int, __m512i, __m512i) -> Void) {
        let scales = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(prep))  // vpermw reads words 0..<16 only
        let high = broadcast256(blk, 0), four = _mm512_set1_epi8(4)
        crumbPairs512(blk, 32) { g, q in
            let qq = _mm512_mask_add_epi8(q, _mm512_test_epi8_mask(high, halves8(1 << g, 1 << (g &+ 1))), q, four)
            body(g, qq, _mm512_permutexvar_epi16(quarters16(2 &* g), scales))
        }
    }
}

extension Q6_KFormat: KQuantPairs512 {
    /// Half n's 64 nibble bytes are one zmm whose halves are groups 4n and 4n + 1 (low nibbles) or
    /// 4n + 2 and 4n + 3 (high nibbles); their high bit pairs (bits 2k, 2k + 1 of the half's 32 qh
    /// bytes, k the group in the half) move to bits 4-5 by one variable shift of the qh bytes in
    /// both halves, and join with one or (a vpternlog).
    @inline(__always) static func pairs512(_ blk: UnsafeRawPointer, _ prep: __m128i, _ body: (Int, __m512i, __m512i) -> Void) {
        let sc16 = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(prep))  // vpermw reads words 0..<16 only
        let m4 = _mm512_set1_epi8(0xF), m30 = _mm512_set1_epi8(0x30)
        @inline(__always) func join(_ nib: __m512i, _ hi: __m512i) -> __m512i {
            _mm512_or_si512(_mm512_and_si512(nib, m4), _mm512_and_si512(hi, m30))
        }
        for n in 0..<2 {
            let l = _mm512_loadu_si512(blk + 64 &* n)
            let h = broadcast256(blk, 128 &+ 32 &* n)
            let g = 4 &* n
            body(g, join(l, _mm512_sllv_epi16(h, halves16(4, 2))), _mm512_permutexvar_epi16(quarters16(2 &* g), sc16))
            body(g &+ 2, join(_mm512_srli_epi16(l, 4), _mm512_srlv_epi16(h, halves16(0, 2))),
                 _mm512_permutexvar_epi16(quarters16(2 &* g &+ 4), sc16))
        }
    }
}

/// Q4_K/Q5_K: chunk c (32 bytes at `quantsAt + 32c`) in both halves, one variable shift, one mask;
/// with `fifth` (the 32 fifth-bit bytes in both halves) a byte test against `1 << g` per half gives
/// the mask of 16s. One scale per group: `sc` holds the eight as bytes.
@inline(__always)
func nibblePairs512(_ blk: UnsafeRawPointer, _ quantsAt: Int, _ sc: __m128i, _ fifth: __m512i?,
                    _ body: (Int, __m512i, __m512i) -> Void) {
    let sc16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(sc))  // vpermw reads words 0..<8 only
    let shift = halves16(0, 4), m4 = _mm512_set1_epi8(0xF)
    for c in 0..<4 {
        var qq = _mm512_and_si512(_mm512_srlv_epi16(broadcast256(blk, quantsAt &+ 32 &* c), shift), m4)
        if let h = fifth {
            qq = _mm512_mask_add_epi8(qq, _mm512_test_epi8_mask(h, halves8(1 << (2 &* c), 1 << (2 &* c &+ 1))), qq,
                                      _mm512_set1_epi8(16))
        }
        body(2 &* c, qq, _mm512_permutexvar_epi16(halves16(Int16(2 &* c), Int16(2 &* c &+ 1)), sc16))
    }
}

/// Q2_K/Q3_K: group 4n + j is bits 2j..<2j+2 of the 32 bytes at `quantsAt + 32n`, so a pair of
/// groups is one variable shift of those bytes in both halves and one mask: calls `body(g, quants)`
/// for g = 0, 2, 4, 6 with the 2-bit quants of groups g (bytes 0..<32) and g + 1 (32..<64).
@inline(__always)
func crumbPairs512(_ blk: UnsafeRawPointer, _ quantsAt: Int, _ body: (Int, __m512i) -> Void) {
    let m3 = _mm512_set1_epi8(3)
    for n in 0..<2 {
        let raw = broadcast256(blk, quantsAt &+ 32 &* n)
        for j in stride(from: 0, to: 4, by: 2) {
            body(4 &* n &+ j, _mm512_and_si512(_mm512_srlv_epi16(raw, halves16(Int16(2 &* j), Int16(2 &* j &+ 2))), m3))
        }
    }
}

/// The 8 bytes at `p` in every qword (a sequence's activation bytes against eight rows' words in the `rows8`
/// kernels).
@inlinable @inline(__always) func qwords(_ p: UnsafeRawPointer) -> __m512i {
    _mm512_set1_epi64(p.loadUnaligned(as: Int64.self))
}

/// The 32 bytes at `p + offset` in both halves of a 512-bit vector.
@inline(__always) func broadcast256(_ p: UnsafeRawPointer, _ offset: Int) -> __m512i {
    _mm512_broadcast_i64x4(_mm256_loadu_si256((p + offset).assumingMemoryBound(to: __m256i.self)))
}

/// Word lanes 0..<16 `lo`, 16..<32 `hi`.
@inline(__always) func halves16(_ lo: Int16, _ hi: Int16) -> __m512i {
    _mm512_mask_mov_epi16(_mm512_set1_epi16(lo), 0xFFFF_0000, _mm512_set1_epi16(hi))
}

/// Byte lanes 0..<32 `lo`, 32..<64 `hi`.
@inline(__always) func halves8(_ lo: Int, _ hi: Int) -> __m512i {
    _mm512_mask_mov_epi8(_mm512_set1_epi8(CChar(truncatingIfNeeded: lo)), 0xFFFF_FFFF_0000_0000,
                         _mm512_set1_epi8(CChar(truncatingIfNeeded: hi)))
}

/// Word lanes in four runs of eight: `s`, `s + 1`, `s + 2`, `s + 3` (the word indices of the
/// scales of four sixteens, for a pair of 32-element groups' pair sums).
@inline(__always) func quarters16(_ s: Int) -> __m512i {
    let a = _mm512_mask_mov_epi16(_mm512_set1_epi16(Int16(s)), 0x0000_FF00, _mm512_set1_epi16(Int16(s &+ 1)))
    return _mm512_mask_mov_epi16(_mm512_mask_mov_epi16(a, 0x00FF_0000, _mm512_set1_epi16(Int16(s &+ 2))),
                                 0xFF00_0000, _mm512_set1_epi16(Int16(s &+ 3)))
}

#endif
