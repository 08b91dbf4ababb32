// 32-block formats × Q8_0/Q8_1 for many sequences on AVX2: four weight rows interleaved at a
// time, the 256-bit counterpart of KernelsAVX512/Block32Tiles512.swift (docs/kernels.md, "Eight-row
// tiles"). Per block of four rows the quants are repacked once into four vectors of 8 bytes × 4
// rows, unsigned as stored (Q4_0/Q4_1 0...15, Q5_0/Q5_1 0...31); per sequence and block the four
// `vpmaddubsw` products (8 bytes of activations broadcast, shared by the four rows) add up in Int16
// (≤ 4 · 2 · 31 · 128 = 31744), one `vpmaddwd` against ones makes them Int32, the offset is
// −offset · Σx of the block, and one FMA scales the four rows. Q8_0 is not tiled here: its
// quants + 128 would overflow `vpmaddubsw`'s Int16 pairs, and its signed form cannot sum steps.
//
// A repacked block of four rows (`avx2Block32TileBytes`, 32-aligned): quants [element / 8][row 4]
// [8 bytes] (128 bytes), d [8 × Float] (lanes 2r, 2r+1 = row r), m [8 × Float] (lane 2r = row r's
// min, formats with a min).
#if arch(x86_64)
import _Builtin_intrinsics.intel

let avx2Block32TileBytes = 128 &+ 32 &+ 32

/// `[r0.q[t], r1.q[t], r2.q[t], r3.q[t]]` for t = 0...3: qword t of four rows' 32 bytes in one vector.
@inline(__always)
func transposeQwords4(_ r0: __m256i, _ r1: __m256i, _ r2: __m256i, _ r3: __m256i) -> (__m256i, __m256i, __m256i, __m256i) {
    // (vpermq / vperm2i128 / vpblendd are C macros that do not import: a lane swap by vpermd and
    // a blend by vpblendvb stand in.)
    let a = _mm256_unpacklo_epi64(r0, r1), b = _mm256_unpackhi_epi64(r0, r1)  // [r0q0 r1q0 | r0q2 r1q2], [r0q1 r1q1 | r0q3 r1q3]
    let c = _mm256_unpacklo_epi64(r2, r3), d = _mm256_unpackhi_epi64(r2, r3)  // rows 2, 3
    let swapHalves = _mm256_set_epi32(3, 2, 1, 0, 7, 6, 5, 4), high = _mm256_set_epi64x(-1, -1, 0, 0)
    @inline(__always) func swap(_ v: __m256i) -> __m256i { _mm256_permutevar8x32_epi32(v, swapHalves) }
    return (_mm256_blendv_epi8(a, swap(c), high), _mm256_blendv_epi8(b, swap(d), high),
            _mm256_blendv_epi8(swap(a), c, high), _mm256_blendv_epi8(swap(b), d, high))
}

@inline(__always) func store256(_ p: UnsafeMutableRawPointer, _ o: Int, _ v: __m256i) {
    _mm256_storeu_si256((p + o).assumingMemoryBound(to: __m256i.self), v)
}

/// Stores the results of `n` (1-4) sequences of a four-row tile: sequence k's accumulator holds
/// row r in lanes 2r and 2r+1, summed into `y[k·ldy + r]`.
@inline(__always)
func storeRowPairs256(_ n: Int, _ f: (__m256, __m256, __m256, __m256), _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    @inline(__always) func store(_ v: __m256, _ out: UnsafeMutablePointer<Float>) {
        // Pairwise sums, then the even lanes.
        let pairs = _mm256_hadd_ps(v, v)  // [r0 r1 r0 r1 | r2 r3 r2 r3]
        _mm_storeu_ps(out, _mm256_castps256_ps128(_mm256_permutevar8x32_ps(pairs, _mm256_set_epi32(0, 0, 0, 0, 5, 4, 1, 0))))
    }
    store(f.0, y)
    if n > 1 { store(f.1, y + ldy) }
    if n > 2 { store(f.2, y + 2 &* ldy) }
    if n > 3 { store(f.3, y + 3 &* ldy) }
}

/// `y[s·ldy + r] = W[r] · x_s` for four rows and `nSeq` activation rows: the rows' `nb` blocks
/// repacked into `tiles` (`nb · avx2Block32TileBytes`, 32-aligned), then four sequences at a time.
@inline(__always)
func block32FourRows<F: Block32Format>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ nb: Int, _ x: Q8Activations,
                                       _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int,
                                       _ tiles: UnsafeMutableRawPointer) {
    for b in 0..<nb {
        prefetchNextTile(rows, rowBytes, 4, b, nb)
        let dst = tiles + b &* avx2Block32TileBytes
        @inline(__always) func q(_ r: Int) -> __m256i { F.quants(rows + (r &* rowBytes &+ b &* F.bytes)) }
        let t = transposeQwords4(q(0), q(1), q(2), q(3))
        store256(dst, 0, t.0); store256(dst, 32, t.1); store256(dst, 64, t.2); store256(dst, 96, t.3)
        block32TileHeaders(F.self, 4, rows, rowBytes, b, (dst + 128).assumingMemoryBound(to: Float.self))
    }
    let offset = F.offset, ones = _mm256_set1_epi16(1), evenLanes = _mm256_set_epi32(0, -1, 0, -1, 0, -1, 0, -1)
    @inline(__always) func ld(_ p: UnsafeRawPointer, _ o: Int) -> __m256i { load256(p, o) }
    @inline(__always) func run<W: SeqWidth>(_: W.Type, _ s: Int) {
        let n = W.n
        let x0 = st.row(x, s), x1 = st.row(x, s &+ min(1, n &- 1)), x2 = st.row(x, s &+ min(2, n &- 1)), x3 = st.row(x, s &+ min(3, n &- 1))
        let q0 = UnsafeRawPointer(x0.q), q1 = UnsafeRawPointer(x1.q), q2 = UnsafeRawPointer(x2.q), q3 = UnsafeRawPointer(x3.q)
        var f0 = _mm256_setzero_ps(), f1 = _mm256_setzero_ps(), f2 = _mm256_setzero_ps(), f3 = _mm256_setzero_ps()
        for b in 0..<nb {
            let t = UnsafeRawPointer(tiles + b &* avx2Block32TileBytes)
            var p0 = _mm256_setzero_si256(), p1 = _mm256_setzero_si256(), p2 = _mm256_setzero_si256(), p3 = _mm256_setzero_si256()
            let xo = 32 &* b
            for step in 0..<4 {
                let w = ld(t, 32 &* step)
                let o = xo &+ 8 &* step
                @inline(__always) func mac(_ q: UnsafeRawPointer, _ p: inout __m256i) {
                    p = _mm256_add_epi16(p, _mm256_maddubs_epi16(w, _mm256_set1_epi64x(q.loadUnaligned(fromByteOffset: o, as: Int64.self))))
                }
                mac(q0, &p0)
                if n > 1 { mac(q1, &p1) }
                if n > 2 { mac(q2, &p2) }
                if n > 3 { mac(q3, &p3) }
            }
            let d = _mm256_load_ps((t + 128).assumingMemoryBound(to: Float.self))
            @inline(__always) func finish(_ xs: Q8Activations, _ p: __m256i, _ f: inout __m256) {
                var acc = _mm256_madd_epi16(p, ones)
                // −offset · Σx once per row (the even lane of its pair).
                if offset != 0 { acc = _mm256_add_epi32(acc, _mm256_and_si256(_mm256_set1_epi32(0 &- offset &* xs.sum32[b]), evenLanes)) }
                f = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), _mm256_mul_ps(d, _mm256_set1_ps(xs.d[b])), f)
                if F.hasMin { f = _mm256_fmadd_ps(_mm256_load_ps((t + 160).assumingMemoryBound(to: Float.self)), _mm256_set1_ps(xs.s[b]), f) }
            }
            finish(x0, p0, &f0)
            if n > 1 { finish(x1, p1, &f1) }
            if n > 2 { finish(x2, p2, &f2) }
            if n > 3 { finish(x3, p3, &f3) }
        }
        storeRowPairs256(n, (f0, f1, f2, f3), y + s &* ldy, ldy)
    }
    bySeqGroups(nSeq, { run(W4.self, $0) }, { run(W3.self, $0) }, { run(W2.self, $0) }, { run(W1.self, $0) })
}

/// Q4_0/Q4_1/Q5_0/Q5_1 rows · Q8_0/Q8_1 activations: four-row tiles from `F.tilesMinSeq.avx2`
/// sequences on (the rows left over, count mod 4, by the row kernel), else the row kernel.
@inline(__always)
func block32TiledMat<F: Block32Format>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                                       _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int,
                                       _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    byRowTiles(count, rowsPerTile: 4, scratchBytes: nb &* avx2Block32TileBytes, tiled: integerTiles(nSeq, from: F.tilesMinSeq.avx2),
               { r, tiles in block32FourRows(F.self, rows + r &* rowBytes, rowBytes, nb, x, st, nSeq, y + r, ldy, tiles) },
               { r in block32Mat(MaddDot.self, F.self, rows + r &* rowBytes, rowBytes, count &- r, nb, x, st, nSeq, y + r, ldy) })
}
#endif
