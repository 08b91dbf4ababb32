// Q6_K in the `rows8` layout (TensorKernels' Repack.swift and Formats/Q6_K.swift: per super-block of eight
// rows their d, the two scale words, then four units of six words, the ql and qh bits recoded at load,
// `Q6_KBits`) on AMX tiles: 16 rows times 16 sequences per tile, K = 64 per `tdpbsud` (low bytes) and `tdpbssd`
// (high bytes).
//
// Unit m holds groups (sixteens) 4m ..< 4m + 4, one tile chunk: per unit six word pairs (rows 0-7 and 8-15), each
// split into even and odd dwords (`vpermt2d`), give each group's two halves (a mask of bits 0-5, or for the last
// group the bits 6-7 of three words). Each weight q − 32 times its group's signed scale is
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
        let m3f = _mm512_set1_epi8(0x3F), offset = _mm512_set1_epi8(32)
        let a0 = _mm512_loadu_si512(p0 + 16), a1 = _mm512_loadu_si512(p1 + 16)
        let b0 = _mm512_loadu_si512(p0 + 80), b1 = _mm512_loadu_si512(p1 + 80)
        // The recoded words (`Q6_KBits`, TensorKernels/Formats/Q6_K.swift): unit m holds sixteens 4m ..< 4m + 4 (tile
        // chunk m), word 6m + k the value of sixteen 4m + k / 2, half k mod 2 (k < 6) in bits 0-5, and in bits 6-7 two
        // bits each of sixteen 4m + 3's halves (words 6m ..< 6m + 3, then 6m + 3 ..< 6m + 6). Sixteen t, half w: tile
        // rows 4 (t mod 4) + 2w (even dwords) and the next (odd).
        for m in 0..<4 {
            @inline(__always) func pair(_ k: Int) -> (__m512i, __m512i) {
                let at = Q6_KFormat.unitsAt &+ 384 &* m &+ 64 &* k
                let g0 = _mm512_loadu_si512(p0 + at), g1 = _mm512_loadu_si512(p1 + at)
                return (_mm512_permutex2var_epi32(g0, ie, g1), _mm512_permutex2var_epi32(g0, io, g1))
            }
            let w = (pair(0), pair(1), pair(2), pair(3), pair(4), pair(5))
            @inline(__always) func rows(_ t: Int, _ half: Int, _ q: (__m512i, __m512i)) {
                let scale = t < 8 ? qwordScales(a0, a1, t, signed: true) : qwordScales(b0, b1, t &- 8, signed: true)
                let at = b + (2048 &* (t >> 2) &+ 256 &* (t & 3) &+ 128 &* half)
                scaledWeightRow(_mm512_sub_epi8(q.0, offset), scale, at, signedQ: true)
                scaledWeightRow(_mm512_sub_epi8(q.1, offset), scale, at + 64, signedQ: true)
            }
            @inline(__always) func whole(_ v: (__m512i, __m512i)) -> (__m512i, __m512i) {
                (_mm512_and_si512(v.0, m3f), _mm512_and_si512(v.1, m3f))
            }
            let t = 4 &* m
            rows(t, 0, whole(w.0)); rows(t, 1, whole(w.1))
            rows(t &+ 1, 0, whole(w.2)); rows(t &+ 1, 1, whole(w.3))
            rows(t &+ 2, 0, whole(w.4)); rows(t &+ 2, 1, whole(w.5))
            rows(t &+ 3, 0, (q6SplitValue512(w.0.0, w.1.0, w.2.0), q6SplitValue512(w.0.1, w.1.1, w.2.1)))
            rows(t &+ 3, 1, (q6SplitValue512(w.3.0, w.4.0, w.5.0), q6SplitValue512(w.3.1, w.4.1, w.5.1)))
        }
        return RowScales(d: halves16(p0, p1))
    }
}
#endif
