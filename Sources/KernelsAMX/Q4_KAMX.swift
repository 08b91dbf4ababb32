// Q4_K in the `rows8` layout (TensorKernels' Repack.swift; KernelsAVX512/KQuantRows8_512.swift has the
// layout) on AMX tiles: 16 rows (two groups of eight) times 16 sequences per tile, K = 32 (one group of
// the super-block) per `tdpbsud`.
//
// Per super-block of the 16 rows, once for every sequence: nibble word w of a group (bytes 8w ..< 8w + 8 of
// each row's 128 nibble bytes: elements 8(w mod 4) ..< + 8 of groups 2(w / 4) (low nibbles) and
// 2(w / 4) + 1 (high)) gives, with the other group's word, rows 2(w mod 4) and 2(w mod 4) + 1 of both
// groups' weight tiles (one `vpermt2d` picks each row's even or odd dword, a mask or a shift and a mask
// the nibbles); the rows' scales and mins become floats per group. Then per 16 sequences: eight tile
// products (the activations read in place, 32 bytes of each of 16 sequences' rows), their sums stored and
// scaled: y += dx · (d · Σ_j scale_j · C_j − dmin · Σ_j min_j · Σx_j).
#if arch(x86_64)
import _Builtin_intrinsics.intel
import CAMX
import KernelsAVX2
import KernelsAVX512

/// Q4_K on tiles: eight groups of 32 a super-block; the group terms are Σx per 32.
enum Q4_KTiles: AMXFormat {
    static var groupBlock: Int { Q4_KFormat.groupBlock }
    static var groups: Int { 8 }
    static var k: Int { 32 }

    /// The 16 rows' scales and mins per group (the 6-bit integers), d and dmin.
    struct Factors { var scales: GroupFactors, mins: GroupFactors, d: __m512, dmin: __m512 }

    /// The 16 rows of one super-block at `p0` (rows 0-7) and `p1` (rows 8-15) as eight weight tiles (group j's
    /// 512 bytes at `b + 512 j`: row g holds elements 4g ..< 4g + 4 of each of the 16 rows), and their factors.
    @inline(__always)
    static func tiles(_ p0: UnsafeRawPointer, _ p1: UnsafeRawPointer, _ b: UnsafeMutableRawPointer) -> Factors {
        let m4 = _mm512_set1_epi8(0xF)
        let (ie, io) = dwordPicks()
        for w in 0..<16 {
            let g0 = _mm512_loadu_si512(p0 + (128 &+ 64 &* w)), g1 = _mm512_loadu_si512(p1 + (128 &+ 64 &* w))
            let e = _mm512_permutex2var_epi32(g0, ie, g1), o = _mm512_permutex2var_epi32(g0, io, g1)
            let lo = b + (1024 &* (w >> 2) &+ 128 &* (w & 3)), hi = lo + 512
            _mm512_storeu_si512(lo, _mm512_and_si512(e, m4))
            _mm512_storeu_si512(lo + 64, _mm512_and_si512(o, m4))
            _mm512_storeu_si512(hi, _mm512_and_si512(_mm512_srli_epi16(e, 4), m4))
            _mm512_storeu_si512(hi + 64, _mm512_and_si512(_mm512_srli_epi16(o, 4), m4))
        }
        // Each row's eight 6-bit scales and mins as the bytes of its qword (as KQuantRows8_512.swift decodes them).
        let lo3f = _mm512_set1_epi64(0x0000_0000_3F3F_3F3F), hi0f = _mm512_set1_epi64(0x0F0F_0F0F_0000_0000)
        let hi30 = _mm512_set1_epi64(0x3030_3030_0000_0000)
        @inline(__always) func scalesMins(_ p: UnsafeRawPointer) -> (__m512i, __m512i) {
            let a = _mm512_cvtepu32_epi64(_mm256_loadu_si256((p + 32).assumingMemoryBound(to: __m256i.self)))
            let b = _mm512_loadu_si512(p + 64)
            let scales = _mm512_or_si512(_mm512_or_si512(_mm512_and_si512(a, lo3f), _mm512_and_si512(b, hi0f)),
                                         _mm512_and_si512(_mm512_slli_epi64(a, 30), hi30))
            let mins = _mm512_or_si512(_mm512_or_si512(_mm512_and_si512(b, lo3f), _mm512_and_si512(_mm512_srli_epi64(b, 4), hi0f)),
                                       _mm512_and_si512(_mm512_slli_epi64(b, 30), hi30))
            return (scales, mins)
        }
        let (s0, n0) = scalesMins(p0), (s1, n1) = scalesMins(p1)
        return Factors(scales: qwordBytes8(s0, s1), mins: qwordBytes8(n0, n1), d: halves16(p0, p1), dmin: halves16(p0 + 16, p1 + 16))
    }

    @inline(__always)
    static func groupSums(_ x: Q8Activations, _ st: Q8Strides, _ s: Int, _ nb: Int, _ dst: UnsafeMutablePointer<Float>) {
        let src = x.sum32 + s &* st.sum32
        for k in 0..<(nb &* 8) { dst[k] = Float(src[k]) }
    }

    /// out + dx · (d · Σ_j scale_j · C_j − dmin · Σ_j min_j · Σx_j).
    @inline(__always)
    static func finish(_ c: UnsafeRawPointer, _ f: Factors, _ g: UnsafePointer<Float>, _ dx: __m512, _ out: __m512) -> __m512 {
        let sc = f.scales, mn = f.mins
        @inline(__always) func group(_ j: Int, _ s: __m512, _ m: __m512, _ acc: (__m512, __m512)) -> (__m512, __m512) {
            let v = _mm512_cvtepi32_ps(_mm512_loadu_si512(c + 1024 &* j))
            return (_mm512_fmadd_ps(v, s, acc.0), _mm512_fmadd_ps(m, _mm512_set1_ps(g[j]), acc.1))
        }
        var acc = group(0, sc.0, mn.0, (_mm512_setzero_ps(), _mm512_setzero_ps()))
        acc = group(1, sc.1, mn.1, acc); acc = group(2, sc.2, mn.2, acc); acc = group(3, sc.3, mn.3, acc)
        acc = group(4, sc.4, mn.4, acc); acc = group(5, sc.5, mn.5, acc); acc = group(6, sc.6, mn.6, acc)
        acc = group(7, sc.7, mn.7, acc)
        return _mm512_fnmadd_ps(acc.1, _mm512_mul_ps(f.dmin, dx), _mm512_fmadd_ps(acc.0, _mm512_mul_ps(f.d, dx), out))
    }
}

extension AMXKernels {
    /// Q4_K rows in the `rows8` layout · Q8_K activations: whole 16s of rows and sequences on tiles, the
    /// rest (and products of fewer than 16 sequences) by `AVX512.q4_KRows8`.
    @inline(never)
    public static func q4_KRows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        amxRows(Q4_KTiles.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy, fallback: AVX512.q4_KRows8)
    }
}
#endif
