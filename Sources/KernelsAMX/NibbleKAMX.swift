// Q4_K and Q5_K in the `rows8` layout (TensorKernels' Repack.swift; KernelsAVX512/KQuantRows8_512.swift has the
// layout) on AMX tiles: 16 rows (two groups of eight) times 16 sequences per tile, K = 64 (two groups of
// the super-block, their scales folded into the weights as two bytes) per pair of `tdpbsud`.
//
// Per super-block of the 16 rows, once for every sequence: nibble word w of a group (bytes 8w ..< 8w + 8 of
// each row's 128 nibble bytes: elements 8(w mod 4) ..< + 8 of groups 2(w / 4) (low nibbles) and
// 2(w / 4) + 1 (high)) gives, with the other group's word, two rows of both groups' part of a tile (one
// `vpermt2d` picks each row's even or odd dword, a mask or a shift and a mask the nibbles; Q5_K's values, recoded
// at load (KernelsAVX2's `Q5_KFormat.unitsAt`), are taken from word A_w of unit c, a shift and a mask (group 2c) or
// a mask or'ed with two bits of the unit's first word (group 2c + 1), before the pick); each weight times
// its group's scale (Q4_K at most 15 · 63 = 945, Q5_K 31 · 63 = 1953) is kept as a low byte and a high byte
// (`scaledWeightRow`), so the tile sums over a super-block are ggml's Σ scale · q · x, whole. Then per 16
// sequences: eight tile products (the activations read in place, 64 bytes of each of 16 sequences' rows),
// two sums stored and scaled: y += dx · (d · (256 · high + low) − dmin · Σ_j min_j · Σx_j).
#if arch(x86_64)
import _Builtin_intrinsics.intel
import CAMX
import KernelsAVX2
import KernelsAVX512

/// Q4_K or Q5_K on tiles (`NibbleRows8`: where the layout keeps Q4_K's nibble words, or whether it holds Q5_K's
/// recoded values): each weight times its group's 6-bit scale (Q4_K at most 15 · 63 = 945: a low byte
/// and a high byte of 0-3; Q5_K at most 31 · 63 = 1953, a high byte of 0-7), 64 elements (two groups) a
/// product; the terms are Σx per 32 for the mins.
enum NibbleKTiles<F: NibbleRows8>: AMXFormat {
    static var groupBlock: Int { F.groupBlock }
    static var terms: Int { 8 }
    static var signedHigh: Bool { false }

    /// The 16 rows' mins per group (the 6-bit integers), d and dmin.
    struct Factors { var mins: GroupFactors, d: __m512, dmin: __m512 }

    /// The 16 rows of one super-block at `p0` (rows 0-7) and `p1` (rows 8-15): per 64 elements c (groups 2c
    /// and 2c + 1) a tile of 16 rows of 64 bytes, row g holding elements 64c + 4g ..< + 4 of each of the 16
    /// rows, times the group's scale (low bytes at `b + 2048 c`, high at `+ 1024`); and their factors.
    @inline(__always)
    static func tiles(_ p0: UnsafeRawPointer, _ p1: UnsafeRawPointer, _ b: UnsafeMutableRawPointer) -> Factors {
        // Each row's eight 6-bit scales and mins as the bytes of its qword.
        let (s0, n0) = rows8ScalesMins(p0), (s1, n1) = rows8ScalesMins(p1)
        let m4 = _mm512_set1_epi8(0xF)
        let (ie, io) = dwordPicks()
        for c in 0..<4 {
            let sl = qwordScales(s0, s1, 2 &* c), sh = qwordScales(s0, s1, 2 &* c &+ 1)
            let t = b + 2048 &* c
            // Q5_K: unit c's first word (the top bits of group 2c + 1) of both groups of eight rows; bits 2w, 2w + 1 of it
            // are moved to bits 3-4 per word (`fiveBitOperands512`; KernelsAVX2's `Q5_KFormat.unitsAt`).
            let unit = Q5_KFormat.unitsAt &+ 320 &* c
            let top = F.fifthBits ? (_mm512_loadu_si512(p0 + unit), _mm512_loadu_si512(p1 + unit)) : (m4, m4)
            // Nibble word w (bytes 8w ..< 8w + 8 of the chunk): elements 8w ..< 8w + 8 of group 2c (low nibbles:
            // tile rows 2w, 2w + 1) and of group 2c + 1 (high: rows 8 + 2w, 9 + 2w).
            for w in 0..<4 {
                let q: (__m512i, __m512i, __m512i, __m512i)
                if F.fifthBits {
                    // Q5_K: word A_w of the unit: group 2c's values in bits 3-7, group 2c + 1's low three bits in bits 0-2.
                    let at = unit &+ 64 &* (w &+ 1)
                    let (l0, h0) = fiveBitOperands512(_mm512_loadu_si512(p0 + at), top.0, w)
                    let (l1, h1) = fiveBitOperands512(_mm512_loadu_si512(p1 + at), top.1, w)
                    q = (_mm512_permutex2var_epi32(l0, ie, l1), _mm512_permutex2var_epi32(l0, io, l1),
                         _mm512_permutex2var_epi32(h0, ie, h1), _mm512_permutex2var_epi32(h0, io, h1))
                } else {
                    let at = F.nibblesAt &+ 64 &* (4 &* c &+ w)
                    let g0 = _mm512_loadu_si512(p0 + at), g1 = _mm512_loadu_si512(p1 + at)
                    let e = _mm512_permutex2var_epi32(g0, ie, g1), o = _mm512_permutex2var_epi32(g0, io, g1)
                    q = (_mm512_and_si512(e, m4), _mm512_and_si512(o, m4),
                         _mm512_and_si512(_mm512_srli_epi16(e, 4), m4), _mm512_and_si512(_mm512_srli_epi16(o, 4), m4))
                }
                scaledWeightRow(q.0, sl, t + 128 &* w, signedQ: false)
                scaledWeightRow(q.1, sl, t + (128 &* w &+ 64), signedQ: false)
                scaledWeightRow(q.2, sh, t + (512 &+ 128 &* w), signedQ: false)
                scaledWeightRow(q.3, sh, t + (576 &+ 128 &* w), signedQ: false)
            }
        }
        return Factors(mins: qwordBytes8(n0, n1), d: halves16(p0, p1), dmin: halves16(p0 + 16, p1 + 16))
    }

    @inline(__always)
    static func groupSums(_ x: Q8Activations, _ st: Q8Strides, _ s: Int, _ nb: Int, _ dst: UnsafeMutablePointer<Float>) {
        let src = x.sum32 + s &* st.sum32
        for k in 0..<(nb &* 8) { dst[k] = Float(src[k]) }
    }

    /// out + dx · (d · Σ scale · q · x − dmin · Σ_j min_j · Σx_j).
    @inline(__always)
    static func finish(_ c: UnsafeRawPointer, _ f: Factors, _ g: UnsafePointer<Float>, _ dx: __m512, _ out: __m512) -> __m512 {
        _mm512_fnmadd_ps(minTerms(f.mins, g), _mm512_mul_ps(f.dmin, dx), _mm512_fmadd_ps(scaledSums(c), _mm512_mul_ps(f.d, dx), out))
    }
}
#endif
