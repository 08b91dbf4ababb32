// Q2_K and Q3_K in the `rows8` layout (TensorKernels' Repack.swift; KernelsAVX512/CrumbRows8_512.swift has the
// layout) on AMX tiles: 16 rows (two groups of eight) times 16 sequences per tile, K = 64.
//
// Q2_K's quant word k = 4n + m of a row (bytes 8k ..< 8k + 8 of its 64) holds, in crumb j (bits 2j, 2j + 1 of each
// byte), elements 128n + 32j + 8m ..< + 8: sixteen t = 8n + 2j + m / 2, tile chunk c = 2n + j / 2 (elements
// 64c ..< 64c + 64), tile rows 8 (j mod 2) + 2m (the first four elements: each row's even dword, `vpermt2d`)
// and the next (the odd dword). Q3_K's high bits and quants are recoded at load (TensorKernels' `Q3_KBits`):
// sixteen t's elements 16t + 8h ..< + 8 go to chunk t / 4, tile rows 4 (t mod 4) + 2h and the next. Each weight is multiplied by its sixteen's scale before it goes into a
// tile, so the tile sums over a super-block are ggml's Σ_t scale_t · Σ q · x, whole:
// - Q2_K: q · scale ≤ 3 · 15 = 45 fits one unsigned byte; the second product per 64 elements takes the mins
//   instead of high bytes (a tile whose four bytes for each row are that row's 4-bit min of the sixteen), so
//   its sums are Σ_t min_t · Σx_t and y += dx · (d · Σ − dmin · Σ_t min_t · Σx_t) needs no float work per sixteen.
// - Q3_K: (q − 4) · scale, |q − 4| ≤ 4 and the signed scale −32 ... 31, reaches 128 once ((−4) · (−32)),
//   one past a signed byte: kept as two bytes as Q6_K is (signed high byte), two products per 64 elements;
//   y += dx · d · (256 · high + low), no term (the offset is in the weights).
#if arch(x86_64)
import _Builtin_intrinsics.intel
import CAMX
import KernelsAVX2
import KernelsAVX512

/// The tile rows of the 16 rows of one super-block at `p0` (rows 0-7) and `p1` (rows 8-15) of a crumb format:
/// `row(t, c, g, q)` for each 64-byte tile row, `q` its weights (16 rows' four bytes each, unsigned 0-3, or Q3_K's
/// 0-7 with its high bit as 4), `t` their sixteen, `c` the tile chunk and `g` the row in it.
@inline(__always)
func crumbTileRows<F: CrumbRows8>(_: F.Type, _ p0: UnsafeRawPointer, _ p1: UnsafeRawPointer,
                                  _ row: (_ t: Int, _ c: Int, _ g: Int, _ q: __m512i) -> Void) {
    let (ie, io) = dwordPicks()
    let m3 = _mm512_set1_epi8(3), four = _mm512_set1_epi8(4)
    if F.highBits {
        // Q3_K's recoded bits (`Q3_KBits`, TensorKernels/Formats/Q3_K.swift): triple g (words A, B, C at 112 + 192g)
        // holds sixteens k ..< k + 4, k = 8 (g / 2) + 4 (g % 2): bits 2-4 and 5-7 of A, B, C the first three (v, its
        // first and second 8 elements), and the crumbs in bits 0-1 of A and B with the high bits in bits 0 and 1 of C
        // the fourth. Sixteen t's elements 16t + 8h ..< + 8: chunk t / 4, tile rows 4 (t mod 4) + 2h (even dwords)
        // and the next (odd).
        let m7 = _mm512_set1_epi8(7)
        @inline(__always) func triple(_ g: Int) {
            @inline(__always) func word(_ w: Int) -> (__m512i, __m512i) {
                let at = F.quantsAt &+ 192 &* g &+ 64 &* w
                let g0 = _mm512_loadu_si512(p0 + at), g1 = _mm512_loadu_si512(p1 + at)
                return (_mm512_permutex2var_epi32(g0, ie, g1), _mm512_permutex2var_epi32(g0, io, g1))
            }
            let a = word(0), b = word(1), c = word(2), k = 8 &* (g >> 1) &+ 4 &* (g & 1)
            @inline(__always) func rows(_ t: Int, _ h: Int, _ q: (__m512i) -> __m512i, _ v: (__m512i, __m512i)) {
                row(t, t >> 2, 4 &* (t & 3) &+ 2 &* h, q(v.0))
                row(t, t >> 2, 4 &* (t & 3) &+ 2 &* h &+ 1, q(v.1))
            }
            @inline(__always) func both(_ t: Int, _ v: (__m512i, __m512i)) {
                rows(t, 0, { _mm512_and_si512(_mm512_srli_epi16($0, 2), m7) }, v)
                rows(t, 1, { _mm512_and_si512(_mm512_srli_epi16($0, 5), m7) }, v)
            }
            both(k, a); both(k &+ 1, b); both(k &+ 2, c)
            @inline(__always) func last(_ v: __m512i, _ high: __m512i) -> __m512i {
                _mm512_or_si512(_mm512_and_si512(v, m3), _mm512_and_si512(high, four))
            }
            rows(k &+ 3, 0, { $0 }, (last(a.0, _mm512_slli_epi16(c.0, 2)), last(a.1, _mm512_slli_epi16(c.1, 2))))
            rows(k &+ 3, 1, { $0 }, (last(b.0, _mm512_slli_epi16(c.0, 1)), last(b.1, _mm512_slli_epi16(c.1, 1))))
        }
        triple(0); triple(1); triple(2); triple(3)
        return
    }
    for m in 0..<4 {
        for n in 0..<2 {
            let at = F.quantsAt &+ 64 &* (4 &* n &+ m)
            let g0 = _mm512_loadu_si512(p0 + at), g1 = _mm512_loadu_si512(p1 + at)
            let e = _mm512_permutex2var_epi32(g0, ie, g1), o = _mm512_permutex2var_epi32(g0, io, g1)
            for j in 0..<4 {
                @inline(__always) func crumb(_ v: __m512i) -> __m512i {
                    _mm512_and_si512(j == 0 ? v : _mm512_srli_epi16(v, UInt32(2 &* j)), m3)
                }
                let t = 8 &* n &+ 2 &* j &+ m >> 1, c = 2 &* n &+ j >> 1, g = 8 &* (j & 1) &+ 2 &* m
                row(t, c, g, crumb(e))
                row(t, c, g &+ 1, crumb(o))
            }
        }
    }
}

/// Q2_K on tiles: each weight q times its sixteen's 4-bit scale in one unsigned byte (at most 45), and beside
/// it the sixteen's 4-bit min, 64 elements (four sixteens) a pair of products; no terms.
enum Q2_KTiles: AMXFormat {
    static var groupBlock: Int { Q2_KFormat.groupBlock }
    /// From half again `AMX.minSequences` (48): Q2_K's AVX-512 passes, its cheapest decoding, still win at 32.
    /// `bench-kernels --types q2_K --rows 8960 --cols 1536 --threads 2 --levels amx,avx512gfni` (tiles from 32
    /// against passes), two runs, ms: 32 sequences 1.56-1.57 against 1.26-1.28, 48 1.70-1.77 against 1.92, 64
    /// 1.94-2.08 against 2.38-2.69 (every other format's tiles at or ahead of its passes at 32).
    static var tilesFrom: Int { AMX.minSequences &+ AMX.minSequences / 2 }
    static var terms: Int { 0 }
    static var signedHigh: Bool { false }

    /// The 16 rows' d and dmin.
    struct Factors { var d: __m512, dmin: __m512 }

    /// The 16 rows of one super-block at `p0` (rows 0-7) and `p1` (rows 8-15): per 64 elements c a tile of 16
    /// rows of 64 bytes at `b + 2048 c`, row g holding elements 64c + 4g ..< + 4 of each of the 16 rows times
    /// their sixteen's scale, and at `+ 1024` the same rows' mins of that sixteen (four times each); d and dmin.
    @inline(__always)
    static func tiles(_ p0: UnsafeRawPointer, _ p1: UnsafeRawPointer, _ b: UnsafeMutableRawPointer) -> Factors {
        // Scale word w: each row's scale bytes of sixteens 8w ..< 8w + 8, scale in the low nibble, min in the high.
        let m4 = _mm512_set1_epi8(0xF)
        let w00 = _mm512_loadu_si512(p0 + 32), w01 = _mm512_loadu_si512(p0 + 96)
        let w10 = _mm512_loadu_si512(p1 + 32), w11 = _mm512_loadu_si512(p1 + 96)
        let s = (_mm512_and_si512(w00, m4), _mm512_and_si512(w01, m4), _mm512_and_si512(w10, m4), _mm512_and_si512(w11, m4))
        @inline(__always) func mins(_ v: __m512i) -> __m512i { _mm512_and_si512(_mm512_srli_epi16(v, 4), m4) }
        let mn = (mins(w00), mins(w01), mins(w10), mins(w11))
        crumbTileRows(Q2_KFormat.self, p0, p1) { t, c, g, q in
            let scale = t < 8 ? qwordScales(s.0, s.2, t) : qwordScales(s.1, s.3, t &- 8)
            scaledWeightRow(q, scale, b + (2048 &* c &+ 64 &* g), signedQ: false, high: false)
        }
        // Sixteen t's mins: the 16 rows' bytes (rows 0-7, 8-15), each made a dword of four copies (vpshufb per
        // 128-bit lane l: bytes 4l ..< 4l + 4 of the sixteen, each four times), for its four tile rows.
        var spread = SIMD64<UInt8>()
        for k in 0..<64 { spread[k] = UInt8(4 &* (k >> 4) &+ (k & 15) >> 2) }
        let fours = unsafeBitCast(spread, to: __m512i.self)
        for t in 0..<16 {
            let picked = t < 8 ? qwordPick(mn.0, mn.2, t) : qwordPick(mn.1, mn.3, t &- 8)
            let row = _mm512_shuffle_epi8(_mm512_broadcast_i32x4(picked), fours)
            let at = b + (2048 &* (t >> 2) &+ 1024 &+ 256 &* (t & 3))
            for k in 0..<4 { _mm512_storeu_si512(at + 64 &* k, row) }
        }
        return Factors(d: halves16(p0, p1), dmin: halves16(p0 + 16, p1 + 16))
    }

    @inline(__always)
    static func groupSums(_ x: Q8Activations, _ st: Q8Strides, _ s: Int, _ nb: Int, _ dst: UnsafeMutablePointer<Float>) {}

    /// out + dx · (d · Σ scale · q · x − dmin · Σ min · x): the low sums and the min sums.
    @inline(__always)
    static func finish(_ c: UnsafeRawPointer, _ f: Factors, _ g: UnsafePointer<Float>, _ dx: __m512, _ out: __m512) -> __m512 {
        let mins = _mm512_cvtepi32_ps(_mm512_loadu_si512(c + 1024))
        return _mm512_fnmadd_ps(mins, _mm512_mul_ps(f.dmin, dx), _mm512_fmadd_ps(scaledSums(c, high: false), _mm512_mul_ps(f.d, dx), out))
    }
}

/// Q3_K on tiles: each weight q − 4 times its sixteen's signed 6-bit scale as two bytes (signed high), 64
/// elements (four sixteens) a product; no terms.
enum Q3_KTiles: SignedScaledTiles {
    static var groupBlock: Int { Q3_KFormat.groupBlock }
    // Tiles from `AMX.minSequences` (32) as every format: they once began at 64 (building a super-block's tiles
    // cost more than 32 sequences' products saved), but since Q3_K's bits are recoded at load, tiles from 32
    // against from 64 (`bench-kernels --types q3_K --rows 8960 --cols 1536 --threads 2 --levels amx`, three
    // alternating runs, ms): 32 sequences 0.93-0.95 against 1.27-1.34, 48 1.09-1.13 against 1.79-1.89; from 16
    // level with the passes at 16 (0.73-0.77).

    /// The 16 rows of one super-block at `p0` (rows 0-7) and `p1` (rows 8-15): per 64 elements c a tile of 16
    /// rows of 64 bytes, row g holding elements 64c + 4g ..< + 4 of each of the 16 rows times their sixteen's
    /// scale (low bytes at `b + 2048 c`, high at `+ 1024`); and d.
    @inline(__always)
    static func tiles(_ p0: UnsafeRawPointer, _ p1: UnsafeRawPointer, _ b: UnsafeMutableRawPointer) -> RowScales {
        let off = _mm512_set1_epi8(32), four = _mm512_set1_epi8(4)
        let (u00, u01) = q3_KRows8Scales(p0), (u10, u11) = q3_KRows8Scales(p1)
        let s = (_mm512_sub_epi8(u00, off), _mm512_sub_epi8(u01, off), _mm512_sub_epi8(u10, off), _mm512_sub_epi8(u11, off))
        crumbTileRows(Q3_KFormat.self, p0, p1) { t, c, g, q in
            let scale = t < 8 ? qwordScales(s.0, s.2, t, signed: true) : qwordScales(s.1, s.3, t &- 8, signed: true)
            scaledWeightRow(_mm512_sub_epi8(q, four), scale, b + (2048 &* c &+ 64 &* g), signedQ: true)
        }
        return RowScales(d: halves16(p0, p1))
    }
}
#endif
