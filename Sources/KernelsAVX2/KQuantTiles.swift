// Q2_K, Q3_K, Q4_K, Q5_K and Q6_K × Q8_K for many sequences on AVX2: four weight rows interleaved at a time, the
// 256-bit counterpart of KernelsAVX512/RowTiles512.swift (docs/kernels.md, "Eight-row tiles").
// One vector holds 8 bytes of one scale group from four rows, so the `vpmaddubsw` products of a
// group add up in Int16 (Q4_K: four steps, ≤ 4 · 2 · 15 · 128; Q6_K and the crumb formats: two, ≤ 2 · 2 · 63 · 128) before
// one `vpmaddwd` applies the four rows' group scales; mins (Q2_K, Q4_K, Q5_K) and the offsets (Q6_K's −32,
// quants stored unsigned; Q3_K's −4, by its signed scales) are `vpmaddwd` of coefficient vectors with the
// activation sums.
//
// A repacked super-block of four rows (`F.avx2TileBytes`, 32-aligned):
//   quants [element / 8][row 4][8 bytes]   1024 bytes
//   scales [group][16 × Int16], lane 4r+p = row r's scale of the group
//   terms  [F.termVectors][16 × Int16], lane 4r+j = row r's coefficient of activation sum 4v+j
//   d, t   [8 × Float] each, lanes 2r and 2r+1 = row r's d, and its factor of the sum terms
#if arch(x86_64)
import _Builtin_intrinsics.intel
import Prefetch

/// The shape of a K-quant format's AVX2 four-row tiles: what `quadTilesRun` reads.
protocol QuadTileShape: KQuantFormat {
    /// Scale groups per super-block (8 of 32 elements, or 16 of 16).
    static var groups: Int { get }
    /// Vectors of min or offset coefficients (lane 4r + j: row r's coefficient of activation sum 4v + j).
    static var termVectors: Int { get }
    /// Whether those sums are of sixteen elements (else of 32).
    static var termsPer16: Bool { get }
    /// Whether the first eight groups' sums go to floats before the last eight's are added (Q3_K: a whole
    /// super-block's could pass 2^31, as in the `rows8` row kernel).
    static var halfSums: Bool { get }
}

extension QuadTileShape {
    static var avx2TileBytes: Int { 1024 &+ 32 &* (groups &+ termVectors) &+ 64 }
    static var halfSums: Bool { false }
}

/// A K-quant format the AVX2 four-row tiles can run from the GGUF layout.
protocol QuadTileFormat: QuadTileShape {
    /// From this many sequences on, the AVX2 kernels of Q4_K, Q5_K and Q6_K run the four-row tiles: Q4_K 4, Q5_K 5,
    /// Q6_K 6. `bench-kernels --types q4_K,q6_K --hot --rows 1024 --cols 1536 --sequences 3,4,5,6,8
    /// --threads 1 --levels avx2`, Zen 5, two alternating runs, ms row kernel -> tiles: Q4_K 3: 0.064
    /// -> 0.064, 4: 0.099 -> 0.070, 6: 0.146 -> 0.092, 8: 0.196 -> 0.121; Q6_K 4: 0.103 -> 0.106, 6:
    /// 0.162 -> 0.160, 8: 0.212 -> 0.163. From memory (`TOKENMILL_INT_TILES_FROM=99` against `=1`,
    /// `--rows 8960 --cols 1536 --threads 2`, three alternating runs, median GB/s row kernel -> tiles):
    /// Q4_K 2: 28.5 -> 27.0, 3: 22.7 -> 21.4, 4: 16.0 -> 19.4; Q6_K 4: 20.3 -> 19.5 (18.6 -> 18.2), 5:
    /// 13.8 -> 16.5, 6: 13.4 -> 14.4 (12.1 -> 13.4), 8: 10.4 -> 11.9. (An earlier Xeon, with the kernels
    /// of 2026-12-02, had the row kernel ahead at 8 and the tiles from 12.)
    static var tilesMinSeq: Int { get }
    /// Repacks super-block `i` of the four rows at `rows` into `dst` (layout above).
    static func repack4(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ i: Int, _ dst: UnsafeMutableRawPointer)
}

/// Four rows' 8 bytes (row r in qword r of `v`) spread to Int16 lanes 4r+p: byte `first + p` of
/// row r (`sameByte`: byte `first` for all four), zero- or sign-extended.
@inline(__always)
func spreadBytes4(_ v: __m256i, _ first: Int, sameByte: Bool, signed: Bool) -> __m256i {
    // Rows 2l and 2l+1 sit in 128-bit lane l at bytes 0-7 and 8-15 (vpshufb stays within a lane).
    @inline(__always) func control(_ base: Int) -> Int64 {
        var v: UInt64 = 0
        for p in 0..<4 {
            let b = UInt64(base &+ (sameByte ? 0 : p))
            v |= (signed ? (b << 8 | 0x80) : (b | 0x8000)) << (16 &* UInt64(p))
        }
        return Int64(bitPattern: v)
    }
    let even = control(first), odd = control(8 &+ first)
    let spread = _mm256_shuffle_epi8(v, _mm256_set_epi64x(odd, even, odd, even))
    return signed ? _mm256_srai_epi16(spread, 8) : spread
}

/// Q4_K and Q5_K share their tiles: eight groups of 32 with a min each (Q5_K's quants 5-bit: a group's four steps
/// stay within Int16, 4 · 2 · 31 · 128), filled by `nibbleRepack4`.
extension QuadTileShape where Self: NibbleRows8 {
    static var groups: Int { 8 }
    static var termVectors: Int { 2 }
    static var termsPer16: Bool { false }
}

extension QuadTileFormat where Self: NibbleRows8 {
    @inline(__always)
    static func repack4(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ i: Int, _ dst: UnsafeMutableRawPointer) {
        nibbleRepack4(Self.self, rows, rowBytes, i, dst)
    }
}

extension Q4_KFormat: QuadTileFormat {
    static var tilesMinSeq: Int { 4 }
}

extension Q5_KFormat: QuadTileFormat {
    /// From 5 sequences: `bench-kernels --types q5_K --rows 8960 --cols 1536 --threads 2 --levels avx2`, AMX Xeon,
    /// `TOKENMILL_INT_TILES_FROM=99` against `=1`, two alternating runs, ms row kernel -> tiles: 4: 0.567-0.573 ->
    /// 0.624-0.644, 5: 0.699-0.704 -> 0.604-0.611, 6: 0.90-0.94 -> 0.72-0.75, 8: 1.12 -> 0.81-0.86, 12: 1.71-1.73
    /// -> 1.08-1.13 (from cache, 2048 x 1536, one thread, the tiles lead from 4: 0.223 -> 0.203).
    static var tilesMinSeq: Int { 5 }
}

/// Super-block `i` of four Q4_K or Q5_K rows of the GGUF layout at `rows` into a four-row tile: the nibble chunks
/// transposed to the tile's quant vectors (Q5_K: with the fifth bits of its qh bytes, transposed alike).
@inline(__always)
func nibbleRepack4<F: NibbleRows8>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ i: Int, _ dst: UnsafeMutableRawPointer) {
    let base = rows + i &* F.bytes, quantsAt = F.fifthBits ? 48 : 16
    let m4 = _mm256_set1_epi8(0xF)
    @inline(__always) func rowsAt(_ o: Int) -> (__m256i, __m256i, __m256i, __m256i) {
        transposeQwords4(load256(base, o), load256(base, rowBytes &+ o), load256(base, 2 &* rowBytes &+ o), load256(base, 3 &* rowBytes &+ o))
    }
    let h = F.fifthBits ? rowsAt(16) : (m4, m4, m4, m4)
    for c in 0..<4 {
        let q = rowsAt(quantsAt &+ 32 &* c)
        @inline(__always) func put(_ t: Int, _ raw: __m256i, _ fw: __m256i) {
            var lo = _mm256_and_si256(raw, m4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4)
            if F.fifthBits { lo = _mm256_or_si256(lo, fifthBit(fw, 2 &* c)); hi = _mm256_or_si256(hi, fifthBit(fw, 2 &* c &+ 1)) }
            store256(dst, 32 &* (8 &* c &+ t), lo)        // group 2c
            store256(dst, 32 &* (8 &* c &+ 4 &+ t), hi)   // group 2c+1
        }
        put(0, q.0, h.0); put(1, q.1, h.1); put(2, q.2, h.2); put(3, q.3, h.3)
    }
    var sc = SIMD4<UInt64>(), mn = SIMD4<UInt64>()
    tileRowHeaders(4, base, rowBytes, (dst + (1024 &+ 32 &* 10)).assumingMemoryBound(to: Float.self),
                   { blk in (half(blk, 0), -half(blk, 2)) }, { r, blk in (sc[r], mn[r]) = kScalesMins(blk + 4) })
    Q4_KFormat.storeScalesMins4(sc, mn, dst)
}

extension Q4_KFormat {
    /// The tile's scale vectors (group g: the four rows' scales of g in their four word lanes) and its two
    /// min-coefficient vectors, from the four rows' `kScalesMins` (row r in lane r).
    @inline(__always)
    static func storeScalesMins4(_ sc: SIMD4<UInt64>, _ mn: SIMD4<UInt64>, _ dst: UnsafeMutableRawPointer) {
        let scv = unsafeBitCast(sc, to: __m256i.self), mnv = unsafeBitCast(mn, to: __m256i.self)
        for g in 0..<8 { store256(dst, 1024 &+ 32 &* g, spreadBytes4(scv, g, sameByte: true, signed: false)) }
        store256(dst, 1024 &+ 256, spreadBytes4(mnv, 0, sameByte: false, signed: false))
        store256(dst, 1024 &+ 288, spreadBytes4(mnv, 4, sameByte: false, signed: false))
    }
}

extension Q6_KFormat: QuadTileFormat {
    static var tilesMinSeq: Int { 6 }
    static var groups: Int { 16 }
    static var termVectors: Int { 4 }
    static var termsPer16: Bool { true }
    @inline(__always)
    static func repack4(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ i: Int, _ dst: UnsafeMutableRawPointer) {
        let base = rows + i &* bytes
        let m4 = _mm256_set1_epi8(0xF), m3 = _mm256_set1_epi8(3)
        /// Elements 128n + 32k ..< +32 of row r, unsigned (q, not q − 32).
        @inline(__always) func decoded(_ r: Int, _ n: Int, _ k: Int) -> __m256i {
            let l = load256(base, r &* rowBytes &+ 64 &* n &+ 32 &* (k & 1))
            let h = load256(base, r &* rowBytes &+ 128 &+ 32 &* n)
            let low = k < 2 ? _mm256_and_si256(l, m4) : _mm256_and_si256(_mm256_srli_epi16(l, 4), m4)
            return _mm256_or_si256(low, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, Int32(2 &* k)), m3), 4))
        }
        for n in 0..<2 {
            for k in 0..<4 {
                let q = transposeQwords4(decoded(0, n, k), decoded(1, n, k), decoded(2, n, k), decoded(3, n, k))
                let o = 32 &* (16 &* n &+ 4 &* k)  // element 128n + 32k, 8 per 32 bytes
                store256(dst, o, q.0); store256(dst, o &+ 32, q.1); store256(dst, o &+ 64, q.2); store256(dst, o &+ 96, q.3)
            }
        }
        var s0 = SIMD4<UInt64>(), s1 = SIMD4<UInt64>()
        tileRowHeaders(4, base, rowBytes, (dst + (1024 &+ 32 &* 20)).assumingMemoryBound(to: Float.self),
                       { blk in (half(blk, 208), -32 * half(blk, 208)) }, { r, blk in
            s0[r] = blk.loadUnaligned(fromByteOffset: 192, as: UInt64.self)
            s1[r] = blk.loadUnaligned(fromByteOffset: 200, as: UInt64.self)
        })
        let v0 = unsafeBitCast(s0, to: __m256i.self), v1 = unsafeBitCast(s1, to: __m256i.self)
        for g in 0..<8 {
            store256(dst, 1024 &+ 32 &* g, spreadBytes4(v0, g, sameByte: true, signed: true))
            store256(dst, 1024 &+ 32 &* (8 &+ g), spreadBytes4(v1, g, sameByte: true, signed: true))
        }
        store256(dst, 1024 &+ 512, spreadBytes4(v0, 0, sameByte: false, signed: true))
        store256(dst, 1024 &+ 544, spreadBytes4(v0, 4, sameByte: false, signed: true))
        store256(dst, 1024 &+ 576, spreadBytes4(v1, 0, sameByte: false, signed: true))
        store256(dst, 1024 &+ 608, spreadBytes4(v1, 4, sameByte: false, signed: true))
    }
}

/// `y[s·ldy + r] = W[r] · x_s` for four rows and `nSeq` Q8_K activation rows: the rows' `nb`
/// super-blocks repacked into `tiles`, then the sequences over them (the next four rows prefetched meanwhile).
@inline(__always)
func kquantFourRows<F: QuadTileFormat>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ nb: Int, _ x: Q8Activations,
                                       _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int,
                                       _ tiles: UnsafeMutableRawPointer) {
    for i in 0..<nb { F.repack4(rows, rowBytes, i, tiles + i &* F.avx2TileBytes) }
    quadTilesRun(F.self, tiles, nb, x, st, nSeq, y, ldy, prefetching: rows + 4 &* rowBytes, 4 &* rowBytes)
}

/// `y[s·ldy + r]` for the four rows repacked in `tiles` (`nb` super-blocks) and `nSeq` sequences, four at a time;
/// over the first pass's super-blocks, `nextBytes` at `next` prefetched a slice at a time (the weights the next
/// tiles are filled from: read while these compute, instead of in a burst while those are filled, which left the
/// memory idle during the multiply and measured 10-20% slower from memory, docs/kernels.md).
@inline(__always)
func quadTilesRun<F: QuadTileShape>(_: F.Type, _ tiles: UnsafeMutableRawPointer, _ nb: Int, _ x: Q8Activations,
                                     _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int,
                                     prefetching next: UnsafeRawPointer? = nil, _ nextBytes: Int = 0) {
    let tileBytes = F.avx2TileBytes, groups = F.groups, steps = 32 / F.groups
    let termsAt = 1024 &+ 32 &* groups, dAt = termsAt &+ 32 &* F.termVectors
    /// Four Int16 activation sums from `p` as one broadcast qword.
    @inline(__always) func sums4(_ p: UnsafePointer<Int32>) -> __m256i {
        let v = SIMD4<Int16>(truncatingIfNeeded: UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Int32>.self))
        return _mm256_set1_epi64x(unsafeBitCast(v, to: Int64.self))
    }
    @inline(__always) func sums4(_ p: UnsafePointer<Int16>) -> __m256i {
        _mm256_set1_epi64x(UnsafeRawPointer(p).loadUnaligned(as: Int64.self))
    }
    @inline(__always) func run<W: SeqWidth>(_: W.Type, _ s: Int) {
        let n = W.n
        let x0 = st.row(x, s), x1 = st.row(x, s &+ min(1, n &- 1)), x2 = st.row(x, s &+ min(2, n &- 1)), x3 = st.row(x, s &+ min(3, n &- 1))
        let q0 = UnsafeRawPointer(x0.q), q1 = UnsafeRawPointer(x1.q), q2 = UnsafeRawPointer(x2.q), q3 = UnsafeRawPointer(x3.q)
        var f0 = _mm256_setzero_ps(), f1 = _mm256_setzero_ps(), f2 = _mm256_setzero_ps(), f3 = _mm256_setzero_ps()
        for i in 0..<nb {
            if let next, s == 0 { let from = nextBytes &* i / nb; prefetchLines(next + from, nextBytes &* (i &+ 1) / nb &- from) }
            let t = UnsafeRawPointer(tiles + i &* tileBytes)
            var i0 = _mm256_setzero_si256(), i1 = _mm256_setzero_si256(), i2 = _mm256_setzero_si256(), i3 = _mm256_setzero_si256()
            let xo = 256 &* i
            let d = _mm256_loadu_ps((t + dAt).assumingMemoryBound(to: Float.self))
            /// The integer sums so far into the floats (`halfSums`: after the first eight groups, then at the end).
            @inline(__always) func flush() {
                @inline(__always) func add(_ xs: Q8Activations, _ acc: inout __m256i, _ f: inout __m256) {
                    f = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), _mm256_mul_ps(d, _mm256_set1_ps(xs.d[i])), f)
                    acc = _mm256_setzero_si256()
                }
                add(x0, &i0, &f0)
                if n > 1 { add(x1, &i1, &f1) }
                if n > 2 { add(x2, &i2, &f2) }
                if n > 3 { add(x3, &i3, &f3) }
            }
            for g in 0..<groups {
                var p0 = _mm256_setzero_si256(), p1 = _mm256_setzero_si256(), p2 = _mm256_setzero_si256(), p3 = _mm256_setzero_si256()
                for step in 0..<steps {
                    let e = 8 &* (steps &* g &+ step)
                    let w = load256(t, 4 &* e)
                    @inline(__always) func mac(_ q: UnsafeRawPointer, _ p: inout __m256i) {
                        p = _mm256_add_epi16(p, _mm256_maddubs_epi16(w, _mm256_set1_epi64x(q.loadUnaligned(fromByteOffset: xo &+ e, as: Int64.self))))
                    }
                    mac(q0, &p0)
                    if n > 1 { mac(q1, &p1) }
                    if n > 2 { mac(q2, &p2) }
                    if n > 3 { mac(q3, &p3) }
                }
                let sc = load256(t, 1024 &+ 32 &* g)
                i0 = _mm256_add_epi32(i0, _mm256_madd_epi16(p0, sc))
                if n > 1 { i1 = _mm256_add_epi32(i1, _mm256_madd_epi16(p1, sc)) }
                if n > 2 { i2 = _mm256_add_epi32(i2, _mm256_madd_epi16(p2, sc)) }
                if n > 3 { i3 = _mm256_add_epi32(i3, _mm256_madd_epi16(p3, sc)) }
                if F.halfSums && g == 7 { flush() }
            }
            flush()
            let tf = _mm256_loadu_ps((t + (dAt &+ 32)).assumingMemoryBound(to: Float.self))
            @inline(__always) func finish(_ xs: Q8Activations, _ f: inout __m256) {
                @inline(__always) func term(_ v: Int, _ sums: __m256i) -> __m256i { _mm256_madd_epi16(load256(t, termsAt &+ 32 &* v), sums) }
                var m: __m256i
                if F.termsPer16 {
                    let p = xs.sum16 + 16 &* i
                    m = _mm256_add_epi32(_mm256_add_epi32(term(0, sums4(p)), term(1, sums4(p + 4))),
                                         _mm256_add_epi32(term(2, sums4(p + 8)), term(3, sums4(p + 12))))
                } else {
                    let p = xs.sum32 + 8 &* i
                    m = _mm256_add_epi32(term(0, sums4(p)), term(1, sums4(p + 4)))
                }
                f = _mm256_fmadd_ps(_mm256_cvtepi32_ps(m), _mm256_mul_ps(tf, _mm256_set1_ps(xs.d[i])), f)
            }
            finish(x0, &f0)
            if n > 1 { finish(x1, &f1) }
            if n > 2 { finish(x2, &f2) }
            if n > 3 { finish(x3, &f3) }
        }
        storeRowPairs256(n, (f0, f1, f2, f3), y + s &* ldy, ldy)
    }
    bySeqGroups(nSeq, { run(W4.self, $0) }, { run(W3.self, $0) }, { run(W2.self, $0) }, { run(W1.self, $0) })
}

/// From how many sequences a matrix of `nb` super-blocks a row runs the four-row tiles: from `short` (the format's
/// crossover, measured on rows of 1536) while a row's tiles, `nb · avx2TileBytes`, take at most 20 KiB, else from 8.
/// Every pass of four sequences reads the tiles again; larger than about half an L1 data cache they come from L2
/// and the tiles lose their lead at a few sequences. AMX Xeon, `avx2`, two threads, `rows8` layout, ms passes ->
/// tiles (`TOKENMILL_INT_TILES_FROM=99` against `=3`, two alternating runs): 1536 columns (Q6_K 10 KiB of tiles) Q6_K
/// 3: 0.61 -> 0.51; 2560 (17 KiB) Q6_K 3: 0.85-0.88 -> 0.80, Q4_K 5: 0.79-0.84 -> 0.73-0.75; 3584 (24 KiB) Q6_K 3:
/// 1.22 -> 1.44, 5: 1.65-1.68 -> 1.52-1.57, Q4_K (20 KiB) 5: 1.12 -> 1.11-1.12, 8: 1.59 -> 1.43-1.45; 8960 (60 and
/// 49 KiB) Q6_K 5: 1.03 -> 1.16, 8: 1.36-1.38 -> 1.34-1.36, 16: 2.51-2.54 -> 1.97-2.03, Q4_K 5: 0.71-0.72 ->
/// 0.89-0.93, 8: 1.01-1.02 -> 1.04-1.09, 16: 1.85-1.86 -> 1.62-1.67.
@inline(__always)
func quadTilesFrom<F: QuadTileShape>(_: F.Type, _ short: Int, _ nb: Int) -> Int {
    nb &* F.avx2TileBytes <= 20 &* 1024 ? short : max(short, 8)
}

/// Q4_K/Q5_K/Q6_K rows · Q8_K activations: four-row tiles from `F.tilesMinSeq` sequences on (8 for long rows,
/// `quadTilesFrom`; the rows left over, count mod 4, by the row kernel), else the row kernel.
@inline(__always)
func kquantTiledMat<F: QuadTileFormat>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                                       _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int,
                                       _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    byRowTiles(count, rowsPerTile: 4, scratchBytes: nb &* F.avx2TileBytes, tiled: integerTiles(nSeq, from: quadTilesFrom(F.self, F.tilesMinSeq, nb)),
               { r, tiles in kquantFourRows(F.self, rows + r &* rowBytes, rowBytes, nb, x, st, nSeq, y + r, ldy, tiles) },
               { r in kquantMat(F.self, rows + r &* rowBytes, rowBytes, count &- r, nb, x, st, nSeq, y + r, ldy) })
}
#endif
