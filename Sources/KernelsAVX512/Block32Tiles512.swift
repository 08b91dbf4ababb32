// 32-block formats × Q8_0/Q8_1 for many sequences (prompt processing, wide batched decode): eight
// weight rows interleaved at a time, as RowTiles512.swift does for the K-quants.
//
// Per block of eight rows the weights are repacked once into four vectors of 8 bytes × 8 rows,
// as unsigned bytes u = q + offset' (Q4_0/Q5_0: the stored quants 0...15 / 0...31, offset 8 / 16;
// Q8_0: q + 128, offset 128; Q4_1/Q5_1: the quants, offset 0). Each sequence then needs four
// vpdpbusd per block for all eight rows (u · x with x broadcast 8 bytes at a time), started from
// −offset' · Σx of the block (the activations' per-32 sums), and one float scale: the row-at-a-time
// kernels need one vpdpbusd per row and two blocks plus the sign handling and a float scale per
// row and block pair.
//
// A repacked block of eight rows (`block32TileBytes`, 64-aligned):
//   quants [element / 8][row 8][8 bytes]   256 bytes
//   d      [16 × Float], lanes 2r and 2r+1 = row r's scale
//   m      [16 × Float], lane 2r = row r's min, lane 2r+1 = 0 (formats with a min)
// Per sequence 16 Int32 lanes (row r in lanes 2r, 2r+1) per block, then floats.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import KernelsAVX2

/// Bytes of one repacked block of eight rows.
let block32TileBytes = 256 &+ 64 &+ 64

/// What `u` adds to a weight quant of `F` (the byte products are `u · x`).
@inlinable @inline(__always) public func block32UnsignedOffset<F: Block32Format>(_: F.Type) -> Int32 { F.signed ? 128 : F.offset }

/// `y[s·ldy + r] = W[r] · x_s` for eight rows of a 32-block format and `nSeq` activation rows:
/// the rows' `nb` blocks repacked into `tiles` (`nb · block32TileBytes`, 64-aligned), then four
/// sequences at a time over them.
@inline(__always)
func block32EightRows512<F: Block32Format>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ nb: Int, _ x: Q8Activations,
                                           _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int,
                                           _ tiles: UnsafeMutableRawPointer, _ starts: UnsafePointer<Int32>) {
    let flip = _mm256_set1_epi8(-128)
    for b in 0..<nb {
        prefetchNextTile(rows, rowBytes, 8, b, nb)
        let dst = tiles + b &* block32TileBytes
        @inline(__always) func u(_ r: Int) -> __m256i {
            let q = F.quants(rows + (r &* rowBytes &+ b &* F.bytes))
            return F.signed ? _mm256_xor_si256(q, flip) : q
        }
        let q = transposeQwords((u(0), u(1), u(2), u(3), u(4), u(5), u(6), u(7)))
        _mm512_store_si512(dst, q.0); _mm512_store_si512(dst + 64, q.1)
        _mm512_store_si512(dst + 128, q.2); _mm512_store_si512(dst + 192, q.3)
        block32TileHeaders(F.self, 8, rows, rowBytes, b, (dst + 256).assumingMemoryBound(to: Float.self))
    }
    block32EightRowsRun512(F.self, TileBuffer(tiles: UnsafeRawPointer(tiles)), nb, x, st, nSeq, y, ldy, starts)
}

/// Where the eight-row kernel reads a block of eight rows: its byte operands as four vectors
/// (vector `step`: elements 8·step..<8·step+8 of the eight rows, row r in qword r, as unsigned
/// bytes), the scales (row r's d in lanes 2r and 2r+1) and the mins (row r's m in lane 2r, 0 in
/// lane 2r+1; formats with a min).
protocol EightRowBlocks {
    /// Whether vectors 2 and 3 of `quants` are the high nibbles left in place, 16 · q (4-bit formats read
    /// in place: one mask where the nibble otherwise needs a shift and a mask); the kernel then
    /// multiplies the sums of vectors 0 and 1 by 16 before adding them and divides once at the end.
    var sixteenfoldHigh: Bool { get }
    func quants(_ b: Int) -> (__m512i, __m512i, __m512i, __m512i)
    func scales(_ b: Int) -> __m512
    func mins(_ b: Int) -> __m512
}

/// Blocks repacked per call into a 64-aligned buffer (`block32EightRows512`).
struct TileBuffer: EightRowBlocks {
    let tiles: UnsafeRawPointer
    var sixteenfoldHigh: Bool { false }
    @inline(__always) func quants(_ b: Int) -> (__m512i, __m512i, __m512i, __m512i) {
        let t = tiles + b &* block32TileBytes
        return (_mm512_load_si512(t), _mm512_load_si512(t + 64), _mm512_load_si512(t + 128), _mm512_load_si512(t + 192))
    }
    @inline(__always) func scales(_ b: Int) -> __m512 { _mm512_load_ps(tiles + (b &* block32TileBytes &+ 256)) }
    @inline(__always) func mins(_ b: Int) -> __m512 { _mm512_load_ps(tiles + (b &* block32TileBytes &+ 320)) }
}

/// The starting sums of `block32EightRowsRun512` for `nSeq` sequences from `x` into `starts` (`nSeq · nb`
/// Int32, sequence s at `s · nb`): −offset/2 · Σx of each block, for both lanes of a row's pair (whose float
/// sums are added at the end), made once per product so that the kernel broadcasts them from memory instead
/// of building them per block of eight rows. Nothing for formats without an offset (the kernel starts from 0).
@inline(__always)
func block32Starts<F: Block32Format>(_: F.Type, _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int, _ nb: Int,
                                     _ starts: UnsafeMutablePointer<Int32>) {
    let half = block32UnsignedOffset(F.self) / 2  // 0, 4, 8 or 64: the offsets are even
    if half == 0 { return }
    for s in 0..<nSeq {
        let sums = st.row(x, s).sum32, out = starts + s &* nb
        for b in 0..<nb { out[b] = 0 &- half &* sums[b] }
    }
}

/// `nSeq` sequences, four at a time, over the `nb` blocks of eight rows that `blocks` reads, from the
/// starting sums `starts` (`block32Starts` of the same `nSeq` sequences).
@inline(__always)
func block32EightRowsRun512<F: Block32Format, B: EightRowBlocks>(_: F.Type, _ blocks: B, _ nb: Int, _ x: Q8Activations,
                                                               _ st: Q8Strides, _ nSeq: Int,
                                                               _ y: UnsafeMutablePointer<Float>, _ ldy: Int,
                                                               _ starts: UnsafePointer<Int32>) {
    let offset = block32UnsignedOffset(F.self)
    let sixteen = blocks.sixteenfoldHigh
    @inline(__always) func run<W: SeqWidth>(_: W.Type, _ s: Int) {
        let n = W.n
        let x0 = st.row(x, s), x1 = st.row(x, s &+ min(1, n &- 1)), x2 = st.row(x, s &+ min(2, n &- 1)), x3 = st.row(x, s &+ min(3, n &- 1))
        let q0 = UnsafeRawPointer(x0.q), q1 = UnsafeRawPointer(x1.q), q2 = UnsafeRawPointer(x2.q), q3 = UnsafeRawPointer(x3.q)
        var f0 = _mm512_setzero_ps(), f1 = _mm512_setzero_ps(), f2 = _mm512_setzero_ps(), f3 = _mm512_setzero_ps()
        // The min terms, apart when the f are sixteenfold.
        var m0 = _mm512_setzero_ps(), m1 = _mm512_setzero_ps(), m2 = _mm512_setzero_ps(), m3 = _mm512_setzero_ps()
        for b in 0..<nb {
            // −offset/2 · Σx in both lanes of each row's pair.
            @inline(__always) func start(_ k: Int) -> __m512i {
                offset == 0 ? _mm512_setzero_si512() : _mm512_set1_epi32(starts[(s &+ k) &* nb &+ b])
            }
            var i0 = start(0), i1 = n > 1 ? start(1) : i0, i2 = n > 2 ? start(2) : i0, i3 = n > 3 ? start(3) : i0
            let xo = 32 &* b
            let w4 = blocks.quants(b)
            for step in 0..<4 {
                let w = step == 0 ? w4.0 : step == 1 ? w4.1 : step == 2 ? w4.2 : w4.3
                let o = xo &+ 8 &* step
                if sixteen && step == 2 {
                    i0 = _mm512_slli_epi32(i0, 4)
                    if n > 1 { i1 = _mm512_slli_epi32(i1, 4) }
                    if n > 2 { i2 = _mm512_slli_epi32(i2, 4) }
                    if n > 3 { i3 = _mm512_slli_epi32(i3, 4) }
                }
                @inline(__always) func mac(_ q: UnsafeRawPointer, _ acc: inout __m512i) {
                    acc = _mm512_dpbusd_epi32(acc, w, _mm512_set1_epi64(q.loadUnaligned(fromByteOffset: o, as: Int64.self)))
                }
                mac(q0, &i0)
                if n > 1 { mac(q1, &i1) }
                if n > 2 { mac(q2, &i2) }
                if n > 3 { mac(q3, &i3) }
            }
            let d = blocks.scales(b), m = F.hasMin ? blocks.mins(b) : _mm512_setzero_ps()
            @inline(__always) func finish(_ xs: Q8Activations, _ acc: __m512i, _ f: inout __m512, _ fm: inout __m512) {
                f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_mul_ps(d, _mm512_set1_ps(xs.d[b])), f)
                if F.hasMin {
                    if sixteen { fm = _mm512_fmadd_ps(m, _mm512_set1_ps(xs.s[b]), fm) } else { f = _mm512_fmadd_ps(m, _mm512_set1_ps(xs.s[b]), f) }
                }
            }
            finish(x0, i0, &f0, &m0)
            if n > 1 { finish(x1, i1, &f1, &m1) }
            if n > 2 { finish(x2, i2, &f2, &m2) }
            if n > 3 { finish(x3, i3, &f3, &m3) }
        }
        if sixteen {
            // Sixteenfold sums: a power of two, so f / 16 is what the plain sums would have given.
            let sixteenth = _mm512_set1_ps(0.0625)
            @inline(__always) func scaled(_ f: __m512, _ fm: __m512) -> __m512 {
                F.hasMin ? _mm512_fmadd_ps(f, sixteenth, fm) : _mm512_mul_ps(f, sixteenth)
            }
            f0 = scaled(f0, m0)
            if n > 1 { f1 = scaled(f1, m1) }
            if n > 2 { f2 = scaled(f2, m2) }
            if n > 3 { f3 = scaled(f3, m3) }
        }
        storeRowPairs512(n, (f0, f1, f2, f3), y + s &* ldy, ldy)
    }
    bySeqGroups(nSeq, { run(W4.self, $0) }, { run(W3.self, $0) }, { run(W2.self, $0) }, { run(W1.self, $0) })
}

/// 32-block rows · Q8_0/Q8_1 activations: eight-row tiles from `F.tilesMinSeq.avx512` sequences on
/// (the rows left over, count mod 8, by the row-at-a-time kernels), else the row-at-a-time kernels.
@inline(__always)
func block32TiledMat512<F: Block32Format>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                                       _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int,
                                       _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    // The scratch: the tile buffer, then the starting sums, made by the first tile for all.
    let tileBytes = nb &* block32TileBytes
    byRowTiles(count, rowsPerTile: 8, scratchBytes: tileBytes &+ 4 &* nSeq &* nb, tiled: integerTiles(nSeq, from: F.tilesMinSeq.avx512),
               { r, scratch in
                   let starts = (scratch + tileBytes).assumingMemoryBound(to: Int32.self)
                   if r == 0 { block32Starts(F.self, x, st, nSeq, nb, starts) }
                   block32EightRows512(F.self, rows + r &* rowBytes, rowBytes, nb, x, st, nSeq, y + r, ldy, scratch, starts)
               },
               { r in block32Mat512(F.self, rows + r &* rowBytes, rowBytes, count &- r, nb, x, st, nSeq, y + r, ldy) })
}
#endif
