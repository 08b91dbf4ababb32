// Q4_K × Q8_K for many sequences (prompt processing, wide batched decode): eight weight rows
// interleaved at a time, the idea behind ggml's repacked "q4_K 8x8" GEMM, but repacked on the fly
// into a small buffer instead of at load time, so the model file stays the one mapped copy.
//
// Why: the row-at-a-time kernel (KQuant512.swift) spends two multiply instructions per 64 weights
// and sequence (vpmaddubsw, then vpdpwssd by the group scale), because the 64 weights of one vector
// belong to two groups with different scales. Here one vector holds 8 bytes of the same group from
// eight rows, so four vpmaddubsw products (the group's 32 elements) add up in Int16 before a
// single vpdpwssd applies the eight rows' scales: five multiplies per 256 weights and sequence
// instead of eight, and the activations are one 8-byte broadcast per step.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import KernelsAVX2

/// From this many sequences on, `AVX512.q4_K` runs the eight-row tiles (below it, the cost of
/// repacking eight rows is not repaid). Measured with `bench-kernels --types q4_K --rows 1536
/// --cols 1536 --sequences 4,6,8,12,16,128 --levels avx512`, one thread, Xeon with AVX-512 VNNI,
/// GFLOP/s row kernel -> tiles: 4: 62 -> 57, 8: 88 -> 85, 12: 86 -> 98, 16: 106 -> 112-131,
/// 128: 84 -> 247.
public let q4KTilesMinSeq = 12

/// Bytes of one repacked super-block of eight rows: quants `[group 8][step 4][row 8][8 bytes]`,
/// group scales `[group 8][32 × Int16]` (lane 4r+p: row r), mins `[2][32 × Int16]` (lane 4r+j:
/// min of group j, then 4+j, of row r), d and dmin `[16 × Float]` each (lanes 2r, 2r+1: row r).
@usableFromInline let q4KTileBytes = 2048 + 512 + 128 + 64 + 64

/// Repacks super-block `i` of the eight rows at `rows` into `dst` (`q4KTileBytes`, 64-aligned):
/// the quants by an 8 x 4 qword transpose per chunk (qword t of chunk c of every row in one
/// vector), split into low and high nibbles; the scales and mins by one byte shuffle per group.
@inline(__always)
func repackQ4KTile(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ i: Int, _ dst: UnsafeMutableRawPointer) {
    let quants = dst, ds = (dst + 2688).assumingMemoryBound(to: Float.self), dmins = ds + 16
    let base = rows + i &* Q4_KFormat.bytes
    let m4 = _mm512_set1_epi8(0xF)
    @inline(__always) func chunk(_ r: Int, _ c: Int) -> __m256i {
        _mm256_loadu_si256((base + (r &* rowBytes &+ 16 &+ 32 &* c)).assumingMemoryBound(to: __m256i.self))
    }
    @inline(__always) func pair(_ r: Int, _ c: Int) -> __m512i {
        join512(chunk(r, c), chunk(r &+ 1, c))
    }
    // An 8 x 4 transpose of qwords: rows in pairs, then qword t of every row into one vector.
    let even4 = _mm512_set_epi64(13, 9, 5, 1, 12, 8, 4, 0), odd4 = _mm512_set_epi64(15, 11, 7, 3, 14, 10, 6, 2)
    let lowHalves = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0), highHalves = _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4)
    for c in 0..<4 {
        let z01 = pair(0, c), z23 = pair(2, c), z45 = pair(4, c), z67 = pair(6, c)
        let a = _mm512_permutex2var_epi64(z01, even4, z23), b = _mm512_permutex2var_epi64(z01, odd4, z23)  // rows 0-3: t 0,1 | t 2,3
        let e = _mm512_permutex2var_epi64(z45, even4, z67), f = _mm512_permutex2var_epi64(z45, odd4, z67)  // rows 4-7
        let steps = (_mm512_permutex2var_epi64(a, lowHalves, e), _mm512_permutex2var_epi64(a, highHalves, e),
                     _mm512_permutex2var_epi64(b, lowHalves, f), _mm512_permutex2var_epi64(b, highHalves, f))
        @inline(__always) func put(_ t: Int, _ raw: __m512i) {
            _mm512_store_si512(quants + (512 &* c &+ 64 &* t), _mm512_and_si512(raw, m4))
            _mm512_store_si512(quants + (512 &* c &+ 256 &+ 64 &* t), _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4))
        }
        put(0, steps.0); put(1, steps.1); put(2, steps.2); put(3, steps.3)
    }
    // Scales and mins: row r's eight bytes in qword r, then per group a shuffle that spreads byte
    // g of each row over its four Int16 lanes (the high bytes zero).
    var sc = SIMD8<UInt64>(), mn = SIMD8<UInt64>()
    for r in 0..<8 {
        let blk = base + r &* rowBytes
        let (s, m) = kScalesMins(blk + 4)
        sc[r] = s; mn[r] = m
        let d = half(blk, 0), dmin = half(blk, 2)
        ds[2 &* r] = d; ds[2 &* r &+ 1] = d
        dmins[2 &* r] = dmin; dmins[2 &* r &+ 1] = dmin
    }
    let scv = unsafeBitCast(sc, to: __m512i.self), mnv = unsafeBitCast(mn, to: __m512i.self)
    // Control for byte g of the qword of each row: in 128-bit lane l, rows 2l (bytes 0-7) and 2l+1 (8-15).
    let even = _mm512_set1_epi64(Int64(bitPattern: 0x8000_8000_8000_8000)), rowOfPair = _mm512_set_epi64(8, 0, 8, 0, 8, 0, 8, 0)
    @inline(__always) func spread(_ v: __m512i, _ g: Int) -> __m512i {
        let k = _mm512_or_si512(even, _mm512_mullo_epi64(_mm512_add_epi64(rowOfPair, _mm512_set1_epi64(Int64(g))), _mm512_set1_epi64(0x0001_0001_0001_0001)))
        return _mm512_shuffle_epi8(v, k)
    }
    for g in 0..<8 { _mm512_store_si512(dst + (2048 &+ 64 &* g), spread(scv, g)) }
    // Mins: lane 4r+j = min of group j (first vector) or 4+j (second) of row r.
    let lo = _mm512_or_si512(even, _mm512_add_epi64(_mm512_mullo_epi64(rowOfPair, _mm512_set1_epi64(0x0001_0001_0001_0001)), _mm512_set1_epi64(0x0003_0002_0001_0000)))
    _mm512_store_si512(dst + 2560, _mm512_shuffle_epi8(mnv, lo))
    _mm512_store_si512(dst + 2624, _mm512_shuffle_epi8(mnv, _mm512_add_epi64(lo, _mm512_set1_epi64(0x0004_0004_0004_0004))))
}

/// `y[s·ldy + r] = W[r] · x_s` for eight Q4_K rows and `nSeq` Q8_K activation rows, the rows'
/// `nb` super-blocks repacked into `tiles` (`nb · q4KTileBytes`, 64-aligned), then four sequences
/// at a time over them (each repacked step loaded once for the four).
@inline(__always)
func q4KEightRows512(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ nb: Int, _ x: Q8Activations, _ st: Q8Strides,
                     _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ tiles: UnsafeMutableRawPointer) {
    for i in 0..<nb { repackQ4KTile(rows, rowBytes, i, tiles + i &* q4KTileBytes) }
    @inline(__always) func ld(_ p: UnsafeRawPointer, _ o: Int) -> __m512i { _mm512_load_si512(p + o) }
    /// `W.n` (1-4) sequences from `s` on; each keeps sixteen float lanes (row r in lanes 2r, 2r+1).
    @inline(__always) func run<W: SeqWidth>(_: W.Type, _ s: Int) {
        let n = W.n
        let x0 = st.row(x, s), x1 = st.row(x, s &+ min(1, n &- 1)), x2 = st.row(x, s &+ min(2, n &- 1)), x3 = st.row(x, s &+ min(3, n &- 1))
        let q0 = UnsafeRawPointer(x0.q), q1 = UnsafeRawPointer(x1.q), q2 = UnsafeRawPointer(x2.q), q3 = UnsafeRawPointer(x3.q)
        var f0 = _mm512_setzero_ps(), f1 = _mm512_setzero_ps(), f2 = _mm512_setzero_ps(), f3 = _mm512_setzero_ps()
        for i in 0..<nb {
            let t = UnsafeRawPointer(tiles + i &* q4KTileBytes)
            var i0 = _mm512_setzero_si512(), i1 = _mm512_setzero_si512(), i2 = _mm512_setzero_si512(), i3 = _mm512_setzero_si512()
            let xo = 256 &* i
            for g in 0..<8 {
                var p0 = _mm512_setzero_si512(), p1 = _mm512_setzero_si512(), p2 = _mm512_setzero_si512(), p3 = _mm512_setzero_si512()
                for step in 0..<4 {
                    let w = ld(t, 256 &* g &+ 64 &* step)
                    let o = xo &+ 32 &* g &+ 8 &* step
                    @inline(__always) func mac(_ q: UnsafeRawPointer, _ p: inout __m512i) {
                        p = _mm512_add_epi16(p, _mm512_maddubs_epi16(w, _mm512_set1_epi64(q.loadUnaligned(fromByteOffset: o, as: Int64.self))))
                    }
                    mac(q0, &p0)
                    if n > 1 { mac(q1, &p1) }
                    if n > 2 { mac(q2, &p2) }
                    if n > 3 { mac(q3, &p3) }
                }
                let sc = ld(t, 2048 &+ 64 &* g)
                i0 = _mm512_dpwssd_epi32(i0, p0, sc)
                if n > 1 { i1 = _mm512_dpwssd_epi32(i1, p1, sc) }
                if n > 2 { i2 = _mm512_dpwssd_epi32(i2, p2, sc) }
                if n > 3 { i3 = _mm512_dpwssd_epi32(i3, p3, sc) }
            }
            let mlo = ld(t, 2560), mhi = ld(t, 2624)
            let d = _mm512_load_ps(t + 2688), dmin = _mm512_load_ps(t + 2752)
            @inline(__always) func finish(_ xs: Q8Activations, _ acc: __m512i, _ f: inout __m512) {
                // Σ_g min_g · Σq_g per row: the eight group sums as Int16, four per broadcast.
                let sums = _mm256_cvtepi32_epi16(_mm256_loadu_si256(UnsafeRawPointer(xs.sum32 + 8 &* i).assumingMemoryBound(to: __m256i.self)))
                let m = _mm512_dpwssd_epi32(_mm512_madd_epi16(mlo, _mm512_broadcastq_epi64(sums)), mhi,
                                            _mm512_broadcastq_epi64(_mm_unpackhi_epi64(sums, sums)))
                let dx = _mm512_set1_ps(xs.d[i])
                f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_mul_ps(d, dx), f)
                f = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(m), _mm512_mul_ps(dmin, dx), f)
            }
            finish(x0, i0, &f0)
            if n > 1 { finish(x1, i1, &f1) }
            if n > 2 { finish(x2, i2, &f2) }
            if n > 3 { finish(x3, i3, &f3) }
        }
        @inline(__always) func store(_ f: __m512, _ out: UnsafeMutablePointer<Float>) {
            // Row r = lanes 2r + 2r+1: add the odd lanes onto the even ones, keep the eight sums.
            let pairs = _mm512_add_ps(f, _mm512_castsi512_ps(_mm512_srli_epi64(_mm512_castps_si512(f), 32)))
            let eight = _mm256_castsi256_ps(_mm512_cvtepi64_epi32(_mm512_castps_si512(pairs)))
            _mm256_storeu_ps(out, eight)
        }
        store(f0, y + s &* ldy)
        if n > 1 { store(f1, y + (s &+ 1) &* ldy) }
        if n > 2 { store(f2, y + (s &+ 2) &* ldy) }
        if n > 3 { store(f3, y + (s &+ 3) &* ldy) }
    }
    bySeqGroups(nSeq, { run(W4.self, $0) }, { run(W3.self, $0) }, { run(W2.self, $0) }, { run(W1.self, $0) })
}

/// Q4_K rows · Q8_K activations for `nSeq >= q4KTilesMinSeq`: eight-row tiles, the rows left
/// over (count mod 8) by the row-at-a-time kernel.
@inline(__always)
func q4KTiles512(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                 _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    let full = count & ~7
    if full > 0 {
        withUnsafeTemporaryAllocation(byteCount: nb &* q4KTileBytes, alignment: 64) { buf in
            let tiles = buf.baseAddress!
            var r = 0
            while r < full {
                q4KEightRows512(rows + r &* rowBytes, rowBytes, nb, x, st, nSeq, y + r, ldy, tiles)
                r &+= 8
            }
        }
    }
    if full < count {
        kquantMat512(Q4_KFormat.self, rows + full &* rowBytes, rowBytes, count &- full, nb, x, st, nSeq, y + full, ldy)
    }
}
#endif
