// Q6_K in the `rows8` layout (TensorKernels' Repack.swift and Formats/Q6_K.swift: per super-block of eight
// rows their d, the two scale words, then per half n and unit h the qh words 2h, 2h + 1 and the ql words
// 2h, 2h + 1, 2h + 4, 2h + 5 of the eight rows) on AMX tiles: 16 rows times 16 sequences per tile, K = 64
// per `tdpbsud` (low bytes) and `tdpbssd` (high bytes).
//
// Group j = 8n + h + 2q (elements 16j ..< 16j + 16) takes its low four bits from ql words 2h, 2h + 1 (q even)
// or 2h + 4, 2h + 5 (q odd), low nibbles for q < 2 and high ones above, and its top two bits from bits 2q,
// 2q + 1 of the qh words: per (n, h) six word pairs (rows 0-7 and 8-15), each split into even and odd
// dwords (`vpermt2d`), make four rows of four groups. Each weight q − 32 times its group's signed scale is
// kept as two bytes (`scaledWeightRow`), so one product covers 64 elements (four groups) and the tile sums
// are the super-block's integer sum: y += dx · d · (256 · high + low).
#if arch(x86_64)
import _Builtin_intrinsics.intel
import CAMX
import KernelsAVX2
import KernelsAVX512

/// Q6_K on tiles: each weight q − 32 times its group's signed scale (at most 32 · 128 = 4096 in magnitude:
/// a low byte and a signed high byte), 64 elements (four groups) a product; no terms (the offset is in the
/// weights).
enum Q6_KTiles: SignedScaledTiles {
    static var groupBlock: Int { Q6_KFormat.groupBlock }

    /// The 16 rows of one super-block at `p0` (rows 0-7) and `p1` (rows 8-15): per 64 elements c (groups 4c
    /// ..< 4c + 4) a tile of 16 rows of 64 bytes, row g holding elements 64c + 4g ..< + 4 of each of the 16
    /// rows, times the group's scale (low bytes at `b + 2048 c`, high at `+ 1024`); and d.
    @inline(__always)
    static func tiles(_ p0: UnsafeRawPointer, _ p1: UnsafeRawPointer, _ b: UnsafeMutableRawPointer) -> RowScales {
        let (ie, io) = dwordPicks()
        let m4 = _mm512_set1_epi8(0xF), m30 = _mm512_set1_epi8(0x30), offset = _mm512_set1_epi8(32)
        let a0 = _mm512_loadu_si512(p0 + 16), a1 = _mm512_loadu_si512(p1 + 16)
        let b0 = _mm512_loadu_si512(p0 + 80), b1 = _mm512_loadu_si512(p1 + 80)
        for unit in 0..<4 {
            let n = unit >> 1, h = unit & 1, base = 144 &+ 384 &* unit
            // The signed scales of the unit's four groups j = 8n + h + 2q, once for both halves w.
            @inline(__always) func scale(_ q: Int) -> __m512i {
                let j = 8 &* n &+ h &+ 2 &* q
                return j < 8 ? qwordScales(a0, a1, j, signed: true) : qwordScales(b0, b1, j &- 8, signed: true)
            }
            let scales = (scale(0), scale(1), scale(2), scale(3))
            for w in 0..<2 {
                @inline(__always) func pair(_ m: Int) -> (__m512i, __m512i) {
                    let g0 = _mm512_loadu_si512(p0 + (base &+ 64 &* m)), g1 = _mm512_loadu_si512(p1 + (base &+ 64 &* m))
                    return (_mm512_permutex2var_epi32(g0, ie, g1), _mm512_permutex2var_epi32(g0, io, g1))
                }
                let qh = pair(w), la = pair(2 &+ w), lb = pair(4 &+ w)
                // Rows 2w (even dwords) and 2w + 1 (odd) of group j = 8n + h + 2q, as signed q − 32 times its scale.
                @inline(__always) func rows(_ q: Int, _ low: (__m512i, __m512i), _ high: (__m512i, __m512i)) {
                    let j = 8 &* n &+ h &+ 2 &* q
                    let scale = q == 0 ? scales.0 : q == 1 ? scales.1 : q == 2 ? scales.2 : scales.3
                    let t = b + (2048 &* (j >> 2) &+ 256 &* (j & 3) &+ 128 &* w)
                    scaledWeightRow(_mm512_sub_epi8(_mm512_or_si512(low.0, high.0), offset), scale, t, signedQ: true)
                    scaledWeightRow(_mm512_sub_epi8(_mm512_or_si512(low.1, high.1), offset), scale, t + 64, signedQ: true)
                }
                @inline(__always) func map(_ v: (__m512i, __m512i), _ f: (__m512i) -> __m512i) -> (__m512i, __m512i) { (f(v.0), f(v.1)) }
                rows(0, map(la) { _mm512_and_si512($0, m4) }, map(qh) { _mm512_and_si512(_mm512_slli_epi16($0, 4), m30) })
                rows(1, map(lb) { _mm512_and_si512($0, m4) }, map(qh) { _mm512_and_si512(_mm512_slli_epi16($0, 2), m30) })
                rows(2, map(la) { _mm512_and_si512(_mm512_srli_epi16($0, 4), m4) }, map(qh) { _mm512_and_si512($0, m30) })
                rows(3, map(lb) { _mm512_and_si512(_mm512_srli_epi16($0, 4), m4) }, map(qh) { _mm512_and_si512(_mm512_srli_epi16($0, 2), m30) })
            }
        }
        return RowScales(d: halves16(p0, p1))
    }
}
#endif
