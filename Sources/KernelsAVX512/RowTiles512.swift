// K-quant × Q8_K for many sequences (prompt processing, wide batched decode): eight weight rows
// interleaved at a time, the idea behind ggml's repacked "8x8" K-quant GEMMs, but repacked on the
// fly into a small buffer instead of at load time, so the model file stays the one mapped copy.
//
// Why: the row-at-a-time kernels (KQuant512.swift) spend two multiply instructions per 64 weights
// and sequence (vpmaddubsw, then vpdpwssd by the group scale), because the 64 weights of one
// vector belong to two groups with different scales. Here one vector holds 8 bytes of the same
// scale group from eight rows, so the vpmaddubsw products of a whole group add up in Int16 before
// a single vpdpwssd applies the eight rows' scales (Q4_K: four products per group of 32, Q6_K: two
// per group of 16), and the activations are one 8-byte broadcast per step shared by eight rows.
//
// A repacked super-block of eight rows (`F.tileBytes`, 64-aligned):
//   quants  [element / 8][row 8][8 bytes]        2048 bytes, unsigned (Q4_K 0...15, Q6_K 0...63)
//   scales  [group][32 × Int16], lane 4r+p = row r's scale of the group
//   terms   [F.termVectors][32 × Int16], lane 4r+j = row r's coefficient of activation sum 4v+j
//   d, t    [16 × Float] each, lanes 2r and 2r+1 = row r's d, and its factor of the sum terms
// Per sequence the integer products accumulate in 16 Int32 lanes (row r in lanes 2r, 2r+1), the
// sum terms in another 16, and both go to floats once per super-block.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import KernelsAVX2

/// A K-quant format the eight-row tiles can run: its repacking and the shape of its groups.
protocol RowTileFormat {
    /// Bytes of one super-block of one row in the model file.
    static var blockBytes: Int { get }
    /// Scale groups per super-block (8 of 32 elements, or 16 of 16).
    static var groups: Int { get }
    /// Int16 vectors of sum-term coefficients per super-block (each covers four sums of eight rows).
    static var termVectors: Int { get }
    /// The sum terms use the activations' sums per 16 elements (else per 32).
    static var termsPer16: Bool { get }
    /// From this many sequences on, `AVX512.q4_K` and `AVX512.q6_K` run the eight-row tiles (below
    /// it, the cost of repacking eight rows is not repaid): Q4_K 4, Q6_K 8. Per sequence the tiles
    /// spend five multiply instructions per super-block and row where the row kernel spends eight
    /// (docs/kernels.md, "Eight-row tiles"); the repack is paid once per call. Measured with `bench-kernels --types q4_K,q6_K --hot --rows 1024 --cols 1536 --sequences
    /// 3,4,5,6,8 --threads 1 --levels avx512`, Zen 5, two alternating runs, ms row kernel -> tiles:
    /// Q4_K 3: 0.047 -> 0.041, 4: 0.060 -> 0.047, 6: 0.093 -> 0.059, 8: 0.119 -> 0.068; Q6_K 3: 0.048 ->
    /// 0.061, 4: 0.062 -> 0.066, 6: 0.092 -> 0.082, 8: 0.102 -> 0.094. From memory
    /// (`TOKENMILL_INT_TILES_FROM=99` against `=1`, `--rows 8960 --cols 1536 --threads 2`, three
    /// alternating runs, median GB/s row kernel -> tiles): Q4_K 3: 28.2 -> 24.6, 4: 22.9 -> 22.8, 6:
    /// 14.5 -> 20.4; Q6_K 4: 32.6 -> 25.1 (28.5 -> 21.2), 6: 20.9 -> 19.6 (17.7 -> 17.9), 8: 19.3 ->
    /// 18.1 (16.3 -> 16.8), 12: 10.9 -> 14.2, so 8 stays. (An earlier Xeon, with the kernels of
    /// 2026-12-02, had Q4_K even at 8 and the tiles ahead from 12.)
    static var tilesMinSeq: Int { get }
    /// Repacks super-block `i` of the eight rows at `rows` into `dst` (layout above).
    static func repack(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ i: Int, _ dst: UnsafeMutableRawPointer)
}

extension RowTileFormat {
    static var tileBytes: Int { 2048 &+ 64 &* (groups &+ termVectors) &+ 128 }
    static var steps: Int { 32 / groups }  // 8-byte steps per group
}

/// `[v0.q[t], v1.q[t], ..., v7.q[t]]` for t = 0...3: qword t of eight rows' 32 bytes in one vector.
@inline(__always)
func transposeQwords(_ v: (__m256i, __m256i, __m256i, __m256i, __m256i, __m256i, __m256i, __m256i))
    -> (__m512i, __m512i, __m512i, __m512i) {
    let even4 = _mm512_set_epi64(13, 9, 5, 1, 12, 8, 4, 0), odd4 = _mm512_set_epi64(15, 11, 7, 3, 14, 10, 6, 2)
    let lowHalves = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0), highHalves = _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4)
    let z01 = join512(v.0, v.1), z23 = join512(v.2, v.3), z45 = join512(v.4, v.5), z67 = join512(v.6, v.7)
    let a = _mm512_permutex2var_epi64(z01, even4, z23), b = _mm512_permutex2var_epi64(z01, odd4, z23)  // rows 0-3: t 0,1 | t 2,3
    let e = _mm512_permutex2var_epi64(z45, even4, z67), f = _mm512_permutex2var_epi64(z45, odd4, z67)  // rows 4-7
    return (_mm512_permutex2var_epi64(a, lowHalves, e), _mm512_permutex2var_epi64(a, highHalves, e),
            _mm512_permutex2var_epi64(b, lowHalves, f), _mm512_permutex2var_epi64(b, highHalves, f))
}

/// Eight rows' 8 bytes (row r in qword r) spread to Int16 lanes 4r+p, p = 0...3: byte
/// `first + p` of row r (`sameByte`: byte `first` in all four), zero-extended or sign-extended.
@inline(__always)
func spreadBytes(_ v: __m512i, _ first: Int, sameByte: Bool, signed: Bool) -> __m512i {
    // In 128-bit lane l: rows 2l (bytes 0-7) and 2l+1 (bytes 8-15).
    let rowOfPair = _mm512_set_epi64(8, 0, 8, 0, 8, 0, 8, 0)
    let lanes = sameByte ? _mm512_set1_epi64(0) : _mm512_set1_epi64(0x0003_0002_0001_0000)
    let src = _mm512_add_epi64(_mm512_mullo_epi64(_mm512_add_epi64(rowOfPair, _mm512_set1_epi64(Int64(first))),
                                                  _mm512_set1_epi64(0x0001_0001_0001_0001)), lanes)
    if signed {  // the byte into the high half of each Int16, then an arithmetic shift
        let k = _mm512_or_si512(_mm512_slli_epi16(src, 8), _mm512_set1_epi16(0x80))
        return _mm512_srai_epi16(_mm512_shuffle_epi8(v, k), 8)
    }
    return _mm512_shuffle_epi8(v, _mm512_or_si512(src, _mm512_set1_epi16(Int16(bitPattern: 0x8000))))
}

/// Stores the results of `n` (1-4) sequences of an eight-row tile: sequence k's accumulator holds
/// row r in lanes 2r and 2r+1, summed into `y[k·ldy + r]`.
@inlinable @inline(__always)
func storeRowPairs512(_ n: Int, _ f: (__m512, __m512, __m512, __m512), _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    @inline(__always) func store(_ v: __m512, _ out: UnsafeMutablePointer<Float>) {
        // Add the odd lanes onto the even ones, keep the eight even lanes.
        let pairs = _mm512_add_ps(v, _mm512_castsi512_ps(_mm512_srli_epi64(_mm512_castps_si512(v), 32)))
        _mm256_storeu_ps(out, _mm256_castsi256_ps(_mm512_cvtepi64_epi32(_mm512_castps_si512(pairs))))
    }
    store(f.0, y)
    if n > 1 { store(f.1, y + ldy) }
    if n > 2 { store(f.2, y + 2 &* ldy) }
    if n > 3 { store(f.3, y + 3 &* ldy) }
}

extension Q4_KFormat: RowTileFormat {
    static var tilesMinSeq: Int { 4 }
    static var blockBytes: Int { bytes }
    static var groups: Int { 8 }
    static var termVectors: Int { 2 }
    static var termsPer16: Bool { false }
    /// Quants: chunk c's 32 bytes of eight rows transposed by qwords, then split into low nibbles
    /// (group 2c) and high (2c+1). Terms: the mins (group j, then 4+j), factor −dmin.
    @inline(__always)
    static func repack(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ i: Int, _ dst: UnsafeMutableRawPointer) {
        let base = rows + i &* bytes
        let m4 = _mm512_set1_epi8(0xF)
        @inline(__always) func chunk(_ r: Int, _ c: Int) -> __m256i {
            _mm256_loadu_si256((base + (r &* rowBytes &+ 16 &+ 32 &* c)).assumingMemoryBound(to: __m256i.self))
        }
        for c in 0..<4 {
            let q = transposeQwords((chunk(0, c), chunk(1, c), chunk(2, c), chunk(3, c), chunk(4, c), chunk(5, c), chunk(6, c), chunk(7, c)))
            @inline(__always) func put(_ t: Int, _ raw: __m512i) {
                _mm512_store_si512(dst + (512 &* c &+ 64 &* t), _mm512_and_si512(raw, m4))
                _mm512_store_si512(dst + (512 &* c &+ 256 &+ 64 &* t), _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4))
            }
            put(0, q.0); put(1, q.1); put(2, q.2); put(3, q.3)
        }
        var sc = SIMD8<UInt64>(), mn = SIMD8<UInt64>()
        tileRowHeaders(8, base, rowBytes, (dst + (2048 &+ 64 &* 10)).assumingMemoryBound(to: Float.self),
                       { blk in (half(blk, 0), -half(blk, 2)) }, { r, blk in (sc[r], mn[r]) = kScalesMins(blk + 4) })
        let scv = unsafeBitCast(sc, to: __m512i.self), mnv = unsafeBitCast(mn, to: __m512i.self)
        for g in 0..<8 { _mm512_store_si512(dst + (2048 &+ 64 &* g), spreadBytes(scv, g, sameByte: true, signed: false)) }
        _mm512_store_si512(dst + (2048 &+ 512), spreadBytes(mnv, 0, sameByte: false, signed: false))
        _mm512_store_si512(dst + (2048 &+ 576), spreadBytes(mnv, 4, sameByte: false, signed: false))
    }
}

extension Q6_KFormat: RowTileFormat {
    static var tilesMinSeq: Int { 8 }
    static var blockBytes: Int { bytes }
    static var groups: Int { 16 }
    static var termVectors: Int { 4 }
    static var termsPer16: Bool { true }
    /// Quants: each row's 6-bit values (q, not q − 32) decoded in natural order 32 at a time, the
    /// eight rows transposed by qwords. Terms: the signed scales again, factor −32·d (the offset).
    @inline(__always)
    static func repack(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ i: Int, _ dst: UnsafeMutableRawPointer) {
        let base = rows + i &* bytes
        let m4 = _mm256_set1_epi8(0xF), m3 = _mm256_set1_epi8(3)
        /// Elements 128n + 32k ..< +32 of row r.
        @inline(__always) func decoded(_ r: Int, _ n: Int, _ k: Int) -> __m256i {
            let blk = base + r &* rowBytes
            let l = _mm256_loadu_si256((blk + (64 &* n &+ 32 &* (k & 1))).assumingMemoryBound(to: __m256i.self))
            let h = _mm256_loadu_si256((blk + (128 &+ 32 &* n)).assumingMemoryBound(to: __m256i.self))
            let low = k < 2 ? _mm256_and_si256(l, m4) : _mm256_and_si256(_mm256_srli_epi16(l, 4), m4)
            return _mm256_or_si256(low, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, Int32(2 &* k)), m3), 4))
        }
        for n in 0..<2 {
            for k in 0..<4 {
                let q = transposeQwords((decoded(0, n, k), decoded(1, n, k), decoded(2, n, k), decoded(3, n, k),
                                         decoded(4, n, k), decoded(5, n, k), decoded(6, n, k), decoded(7, n, k)))
                let o = 64 &* (16 &* n &+ 4 &* k)  // element 128n + 32k, 8 per 64 bytes
                _mm512_store_si512(dst + o, q.0); _mm512_store_si512(dst + (o &+ 64), q.1)
                _mm512_store_si512(dst + (o &+ 128), q.2); _mm512_store_si512(dst + (o &+ 192), q.3)
            }
        }
        var s0 = SIMD8<UInt64>(), s1 = SIMD8<UInt64>()
        tileRowHeaders(8, base, rowBytes, (dst + (2048 &+ 64 &* 20)).assumingMemoryBound(to: Float.self),
                       { blk in (half(blk, 208), -32 * half(blk, 208)) }, { r, blk in
            s0[r] = blk.loadUnaligned(fromByteOffset: 192, as: UInt64.self)
            s1[r] = blk.loadUnaligned(fromByteOffset: 200, as: UInt64.self)
        })
        let v0 = unsafeBitCast(s0, to: __m512i.self), v1 = unsafeBitCast(s1, to: __m512i.self)
        for g in 0..<8 {
            _mm512_store_si512(dst + (2048 &+ 64 &* g), spreadBytes(v0, g, sameByte: true, signed: true))
            _mm512_store_si512(dst + (2048 &+ 64 &* (8 &+ g)), spreadBytes(v1, g, sameByte: true, signed: true))
        }
        _mm512_store_si512(dst + (2048 &+ 1024), spreadBytes(v0, 0, sameByte: false, signed: true))
        _mm512_store_si512(dst + (2048 &+ 1088), spreadBytes(v0, 4, sameByte: false, signed: true))
        _mm512_store_si512(dst + (2048 &+ 1152), spreadBytes(v1, 0, sameByte: false, signed: true))
        _mm512_store_si512(dst + (2048 &+ 1216), spreadBytes(v1, 4, sameByte: false, signed: true))
    }
}

/// `y[s·ldy + r] = W[r] · x_s` for eight rows and `nSeq` Q8_K activation rows: the rows' `nb`
/// super-blocks repacked into `tiles` (`nb · F.tileBytes`, 64-aligned), then four sequences at a
/// time over them (each repacked step loaded once for the four).
@inline(__always)
func eightRows512<F: RowTileFormat>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ nb: Int, _ x: Q8Activations,
                                    _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int,
                                    _ tiles: UnsafeMutableRawPointer) {
    let tileBytes = F.tileBytes, groups = F.groups, steps = F.steps
    let scalesAt = 2048, termsAt = 2048 &+ 64 &* groups, dAt = termsAt &+ 64 &* F.termVectors
    for i in 0..<nb { prefetchNextTile(rows, rowBytes, 8, i, nb); F.repack(rows, rowBytes, i, tiles + i &* tileBytes) }
    @inline(__always) func ld(_ p: UnsafeRawPointer, _ o: Int) -> __m512i { _mm512_load_si512(p + o) }
    /// `W.n` (1-4) sequences from `s` on; each keeps sixteen float lanes (row r in lanes 2r, 2r+1).
    @inline(__always) func run<W: SeqWidth>(_: W.Type, _ s: Int) {
        let n = W.n
        let x0 = st.row(x, s), x1 = st.row(x, s &+ min(1, n &- 1)), x2 = st.row(x, s &+ min(2, n &- 1)), x3 = st.row(x, s &+ min(3, n &- 1))
        let q0 = UnsafeRawPointer(x0.q), q1 = UnsafeRawPointer(x1.q), q2 = UnsafeRawPointer(x2.q), q3 = UnsafeRawPointer(x3.q)
        var f0 = _mm512_setzero_ps(), f1 = _mm512_setzero_ps(), f2 = _mm512_setzero_ps(), f3 = _mm512_setzero_ps()
        for i in 0..<nb {
            let t = UnsafeRawPointer(tiles + i &* tileBytes)
            var i0 = _mm512_setzero_si512(), i1 = _mm512_setzero_si512(), i2 = _mm512_setzero_si512(), i3 = _mm512_setzero_si512()
            let xo = 256 &* i
            for g in 0..<groups {
                var p0 = _mm512_setzero_si512(), p1 = _mm512_setzero_si512(), p2 = _mm512_setzero_si512(), p3 = _mm512_setzero_si512()
                for step in 0..<steps {
                    let e = 8 &* (steps &* g &+ step)  // first element of this step
                    let w = ld(t, 8 &* e)
                    let o = xo &+ e
                    @inline(__always) func mac(_ q: UnsafeRawPointer, _ p: inout __m512i) {
                        p = _mm512_add_epi16(p, _mm512_maddubs_epi16(w, _mm512_set1_epi64(q.loadUnaligned(fromByteOffset: o, as: Int64.self))))
                    }
                    mac(q0, &p0)
                    if n > 1 { mac(q1, &p1) }
                    if n > 2 { mac(q2, &p2) }
                    if n > 3 { mac(q3, &p3) }
                }
                let sc = ld(t, scalesAt &+ 64 &* g)
                i0 = _mm512_dpwssd_epi32(i0, p0, sc)
                if n > 1 { i1 = _mm512_dpwssd_epi32(i1, p1, sc) }
                if n > 2 { i2 = _mm512_dpwssd_epi32(i2, p2, sc) }
                if n > 3 { i3 = _mm512_dpwssd_epi32(i3, p3, sc) }
            }
            let d = _mm512_load_ps(t + dAt), tf = _mm512_load_ps(t + (dAt &+ 64))
            @inline(__always) func finish(_ xs: Q8Activations, _ acc: __m512i, _ f: inout __m512) {
                // The sum terms: the activation sums as Int16, four per broadcast, against the coefficients.
                @inline(__always) func sums8(_ p: UnsafePointer<Int32>) -> __m128i {
                    _mm256_cvtepi32_epi16(_mm256_loadu_si256(UnsafeRawPointer(p).assumingMemoryBound(to: __m256i.self)))
                }
                @inline(__always) func sums8(_ p: UnsafePointer<Int16>) -> __m128i {
                    _mm_loadu_si128(UnsafeRawPointer(p).assumingMemoryBound(to: __m128i.self))
                }
                @inline(__always) func term(_ v: Int, _ s4: __m128i, _ acc: __m512i) -> __m512i {
                    _mm512_dpwssd_epi32(acc, ld(t, termsAt &+ 64 &* v), _mm512_broadcastq_epi64(s4))
                }
                var m: __m512i
                if F.termsPer16 {
                    let a = sums8(xs.sum16 + 16 &* i), b = sums8(xs.sum16 + (16 &* i &+ 8))
                    m = term(0, a, _mm512_setzero_si512()); m = term(1, _mm_unpackhi_epi64(a, a), m)
                    m = term(2, b, m); m = term(3, _mm_unpackhi_epi64(b, b), m)
                } else {
                    let a = sums8(xs.sum32 + 8 &* i)
                    m = term(0, a, _mm512_setzero_si512()); m = term(1, _mm_unpackhi_epi64(a, a), m)
                }
                let dx = _mm512_set1_ps(xs.d[i])
                f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_mul_ps(d, dx), f)
                f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(m), _mm512_mul_ps(tf, dx), f)
            }
            finish(x0, i0, &f0)
            if n > 1 { finish(x1, i1, &f1) }
            if n > 2 { finish(x2, i2, &f2) }
            if n > 3 { finish(x3, i3, &f3) }
        }
        storeRowPairs512(n, (f0, f1, f2, f3), y + s &* ldy, ldy)
    }
    bySeqGroups(nSeq, { run(W4.self, $0) }, { run(W3.self, $0) }, { run(W2.self, $0) }, { run(W1.self, $0) })
}

/// Q4_K/Q6_K rows · Q8_K activations: eight-row tiles from `F.tilesMinSeq` sequences on (the
/// rows left over, count mod 8, by the row-at-a-time kernel), else the row-at-a-time kernel.
@inline(__always)
func kquantTiledMat512<F: RowTileFormat & KQuantPairs512>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                                                  _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int,
                                                  _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    byRowTiles(count, rowsPerTile: 8, scratchBytes: nb &* F.tileBytes, tiled: integerTiles(nSeq, from: F.tilesMinSeq),
               { r, tiles in eightRows512(F.self, rows + r &* rowBytes, rowBytes, nb, x, st, nSeq, y + r, ldy, tiles) },
               { r in kquantMat512(F.self, rows + r &* rowBytes, rowBytes, count &- r, nb, x, st, nSeq, y + r, ldy) })
}
#endif
