// Q6_K in the `rows8` layout (TensorKernels' Repack.swift and Formats/Q6_K.swift: per super-block of eight
// rows their d, the two scale words, then per half n and unit h the qh words 2h, 2h + 1 and the ql words
// 2h, 2h + 1, 2h + 4, 2h + 5 of the eight rows) on AMX tiles: 16 rows times 16 sequences per tile, K = 16
// (one group of the super-block, one signed scale each) per `tdpbsud`.
//
// Group j = 8n + h + 2q (elements 16j ..< 16j + 16) takes its low four bits from ql words 2h, 2h + 1 (q even)
// or 2h + 4, 2h + 5 (q odd), low nibbles for q < 2 and high ones above, and its top two bits from bits 2q,
// 2q + 1 of the qh words: per (n, h) six word pairs (rows 0-7 and 8-15), each split into even and odd
// dwords (`vpermt2d`), make the four rows of four groups' tiles. The weights stay unsigned (0 ..< 64); the
// offset 32 is taken off per sequence with its per-16 sum: y += dx · d · Σ_j scale_j · (C_j − 32 Σx_j).
#if arch(x86_64)
import _Builtin_intrinsics.intel
import CAMX
import KernelsAVX2
import KernelsAVX512

/// Q6_K on tiles: sixteen groups of 16 a super-block; the group terms are 32 · Σx per 16.
enum Q6_KTiles: AMXFormat {
    static var groupBlock: Int { 1680 }
    static var groups: Int { 16 }
    static var k: Int { 16 }

    /// The 16 rows' signed scales of groups 0-7 and 8-15, and d.
    struct Factors { var low: GroupFactors, high: GroupFactors, d: __m512 }

    /// The 16 rows of one super-block at `p0` (rows 0-7) and `p1` (rows 8-15) as sixteen weight tiles
    /// (group j's 256 bytes at `b + 256 j`: row g holds elements 4g ..< 4g + 4 of each of the 16 rows), and
    /// their factors (groups 0-7, then 8-15).
    @inline(__always)
    static func tiles(_ p0: UnsafeRawPointer, _ p1: UnsafeRawPointer, _ b: UnsafeMutableRawPointer) -> Factors {
        let (ie, io) = dwordPicks()
        let m4 = _mm512_set1_epi8(0xF), m30 = _mm512_set1_epi8(0x30)
        for unit in 0..<4 {
            let n = unit >> 1, h = unit & 1, base = 144 &+ 384 &* unit
            for w in 0..<2 {
                @inline(__always) func pair(_ m: Int) -> (__m512i, __m512i) {
                    let g0 = _mm512_loadu_si512(p0 + (base &+ 64 &* m)), g1 = _mm512_loadu_si512(p1 + (base &+ 64 &* m))
                    return (_mm512_permutex2var_epi32(g0, ie, g1), _mm512_permutex2var_epi32(g0, io, g1))
                }
                let qh = pair(w), la = pair(2 &+ w), lb = pair(4 &+ w)
                // Rows 2w (even dwords) and 2w + 1 (odd) of the four groups 8n + h + 2q.
                @inline(__always) func rows(_ q: Int, _ low: (__m512i, __m512i), _ high: (__m512i, __m512i)) {
                    let t = b + (256 &* (8 &* n &+ h &+ 2 &* q) &+ 128 &* w)
                    _mm512_storeu_si512(t, _mm512_or_si512(low.0, high.0))
                    _mm512_storeu_si512(t + 64, _mm512_or_si512(low.1, high.1))
                }
                @inline(__always) func map(_ v: (__m512i, __m512i), _ f: (__m512i) -> __m512i) -> (__m512i, __m512i) { (f(v.0), f(v.1)) }
                rows(0, map(la) { _mm512_and_si512($0, m4) }, map(qh) { _mm512_and_si512(_mm512_slli_epi16($0, 4), m30) })
                rows(1, map(lb) { _mm512_and_si512($0, m4) }, map(qh) { _mm512_and_si512(_mm512_slli_epi16($0, 2), m30) })
                rows(2, map(la) { _mm512_and_si512(_mm512_srli_epi16($0, 4), m4) }, map(qh) { _mm512_and_si512($0, m30) })
                rows(3, map(lb) { _mm512_and_si512(_mm512_srli_epi16($0, 4), m4) }, map(qh) { _mm512_and_si512(_mm512_srli_epi16($0, 2), m30) })
            }
        }
        let a0 = _mm512_loadu_si512(p0 + 16), a1 = _mm512_loadu_si512(p1 + 16)
        let b0 = _mm512_loadu_si512(p0 + 80), b1 = _mm512_loadu_si512(p1 + 80)
        return Factors(low: qwordBytes8(a0, a1, signed: true), high: qwordBytes8(b0, b1, signed: true), d: halves16(p0, p1))
    }

    @inline(__always)
    static func groupSums(_ x: Q8Activations, _ st: Q8Strides, _ s: Int, _ nb: Int, _ dst: UnsafeMutablePointer<Float>) {
        let src = x.sum16 + s &* st.sum16
        for k in 0..<(nb &* 16) { dst[k] = 32 * Float(src[k]) }
    }

    /// out + dx · d · Σ_j scale_j · (C_j − 32 Σx_j).
    @inline(__always)
    static func finish(_ c: UnsafeRawPointer, _ f: Factors, _ g: UnsafePointer<Float>, _ dx: __m512, _ out: __m512) -> __m512 {
        @inline(__always) func group(_ j: Int, _ s: __m512, _ acc: __m512) -> __m512 {
            let v = _mm512_cvtepi32_ps(_mm512_loadu_si512(c + 1024 &* j))
            return _mm512_fmadd_ps(_mm512_sub_ps(v, _mm512_set1_ps(g[j])), s, acc)
        }
        let a = f.low, b = f.high
        var acc = group(0, a.0, _mm512_setzero_ps())
        acc = group(1, a.1, acc); acc = group(2, a.2, acc); acc = group(3, a.3, acc); acc = group(4, a.4, acc)
        acc = group(5, a.5, acc); acc = group(6, a.6, acc); acc = group(7, a.7, acc)
        acc = group(8, b.0, acc); acc = group(9, b.1, acc); acc = group(10, b.2, acc); acc = group(11, b.3, acc)
        acc = group(12, b.4, acc); acc = group(13, b.5, acc); acc = group(14, b.6, acc); acc = group(15, b.7, acc)
        return _mm512_fmadd_ps(acc, _mm512_mul_ps(f.d, dx), out)
    }
}

extension AMXKernels {
    /// Q6_K rows in the `rows8` layout · Q8_K activations: whole 16s of rows and sequences on tiles, the
    /// rest (and products of fewer than 16 sequences) by `AVX512.q6_KRows8`.
    @inline(never)
    public static func q6_KRows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        amxRows(Q6_KTiles.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy, fallback: AVX512.q6_KRows8)
    }
}
#endif
