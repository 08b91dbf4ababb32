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
/// repacking eight rows is not repaid; `bench-kernels --sequences` measures the crossover).
public let q4KTilesMinSeq = 16

/// Bytes of one repacked super-block of eight rows: quants `[group 8][step 4][row 8][8 bytes]`,
/// group scales `[group 8][32 × Int16]` (lane 4r+p: row r), mins `[2][32 × Int16]` (lane 4r+j:
/// min of group j, then 4+j, of row r), d and dmin `[16 × Float]` each (lanes 2r, 2r+1: row r).
@usableFromInline let q4KTileBytes = 2048 + 512 + 128 + 64 + 64

/// Repacks super-block `i` of the eight rows at `rows` into `dst` (`q4KTileBytes`, 64-aligned).
@inline(__always)
func repackQ4KTile(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ i: Int, _ dst: UnsafeMutableRawPointer) {
    let quants = dst, scales = dst + 2048, mins = dst + 2560, ds = (dst + 2688).assumingMemoryBound(to: Float.self)
    let dmins = ds + 16
    let m4 = _mm256_set1_epi8(0xF)
    for r in 0..<8 {
        let blk = rows + (r &* rowBytes &+ i &* Q4_KFormat.bytes)
        let (sc, mn) = kScalesMins(blk + 4)
        let d = half(blk, 0), dmin = half(blk, 2)
        ds[2 &* r] = d; ds[2 &* r &+ 1] = d
        dmins[2 &* r] = dmin; dmins[2 &* r &+ 1] = dmin
        for g in 0..<8 {
            let s = UInt64(truncatingIfNeeded: sc >> (8 &* UInt64(g))) & 0xFF
            (scales + (64 &* g &+ 8 &* r)).storeBytes(of: s &* 0x0001_0001_0001_0001, as: UInt64.self)
        }
        // Four Int16 lanes per row and vector: mins of groups 0-3, then 4-7.
        let lo = UInt64(mn & 0xFF) | UInt64((mn >> 8) & 0xFF) << 16 | UInt64((mn >> 16) & 0xFF) << 32 | UInt64((mn >> 24) & 0xFF) << 48
        let hiBytes = mn >> 32
        let hi = UInt64(hiBytes & 0xFF) | UInt64((hiBytes >> 8) & 0xFF) << 16 | UInt64((hiBytes >> 16) & 0xFF) << 32 | UInt64((hiBytes >> 24) & 0xFF) << 48
        (mins + 8 &* r).storeBytes(of: lo, as: UInt64.self)
        (mins + (64 &+ 8 &* r)).storeBytes(of: hi, as: UInt64.self)
        for c in 0..<4 {
            let q = _mm256_loadu_si256((blk + (16 &+ 32 &* c)).assumingMemoryBound(to: __m256i.self))
            let low = unsafeBitCast(_mm256_and_si256(q, m4), to: SIMD4<UInt64>.self)
            let high = unsafeBitCast(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), to: SIMD4<UInt64>.self)
            let g0 = quants + (512 &* c &+ 8 &* r), g1 = g0 + 256  // groups 2c and 2c+1
            for t in 0..<4 {
                (g0 + 64 &* t).storeBytes(of: low[t], as: UInt64.self)
                (g1 + 64 &* t).storeBytes(of: high[t], as: UInt64.self)
            }
        }
    }
}

/// `y[s·ldy + r] = W[r] · x_s` for eight Q4_K rows and `nSeq` Q8_K activation rows, the rows'
/// `nb` super-blocks repacked into `tiles` (`nb · q4KTileBytes`, 64-aligned), then two sequences
/// at a time over them.
@inline(__always)
func q4KEightRows512(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ nb: Int, _ x: Q8Activations, _ st: Q8Strides,
                     _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ tiles: UnsafeMutableRawPointer) {
    for i in 0..<nb { repackQ4KTile(rows, rowBytes, i, tiles + i &* q4KTileBytes) }
    @inline(__always) func ld(_ p: UnsafeRawPointer, _ o: Int) -> __m512i { _mm512_load_si512(p + o) }
    /// The sixteen float lanes of sequence `xa` (row r in lanes 2r and 2r + 1), `W.n` = 1 or 2.
    @inline(__always) func run<W: SeqWidth>(_: W.Type, _ s: Int) {
        let xa = st.row(x, s), xb = st.row(x, s &+ (W.n > 1 ? 1 : 0))
        let qa = UnsafeRawPointer(xa.q), qb = UnsafeRawPointer(xb.q)
        var fa = _mm512_setzero_ps(), fb = _mm512_setzero_ps()
        for i in 0..<nb {
            let t = UnsafeRawPointer(tiles + i &* q4KTileBytes)
            var ia = _mm512_setzero_si512(), ib = _mm512_setzero_si512()
            let xo = 256 &* i
            for g in 0..<8 {
                var pa = _mm512_setzero_si512(), pb = _mm512_setzero_si512()
                for step in 0..<4 {
                    let w = ld(t, 256 &* g &+ 64 &* step)
                    let o = xo &+ 32 &* g &+ 8 &* step
                    pa = _mm512_add_epi16(pa, _mm512_maddubs_epi16(w, _mm512_set1_epi64(qa.loadUnaligned(fromByteOffset: o, as: Int64.self))))
                    if W.n > 1 {
                        pb = _mm512_add_epi16(pb, _mm512_maddubs_epi16(w, _mm512_set1_epi64(qb.loadUnaligned(fromByteOffset: o, as: Int64.self))))
                    }
                }
                let sc = ld(t, 2048 &+ 64 &* g)
                ia = _mm512_dpwssd_epi32(ia, pa, sc)
                if W.n > 1 { ib = _mm512_dpwssd_epi32(ib, pb, sc) }
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
            finish(xa, ia, &fa)
            if W.n > 1 { finish(xb, ib, &fb) }
        }
        @inline(__always) func store(_ f: __m512, _ out: UnsafeMutablePointer<Float>) {
            // Row r = lanes 2r + 2r+1: add the odd lanes onto the even ones, keep the eight sums.
            let pairs = _mm512_add_ps(f, _mm512_castsi512_ps(_mm512_srli_epi64(_mm512_castps_si512(f), 32)))
            let eight = _mm256_castsi256_ps(_mm512_cvtepi64_epi32(_mm512_castps_si512(pairs)))
            _mm256_storeu_ps(out, eight)
        }
        store(fa, y + s &* ldy)
        if W.n > 1 { store(fb, y + (s &+ 1) &* ldy) }
    }
    var s = 0
    while s &+ 2 <= nSeq { run(W2.self, s); s &+= 2 }
    if s < nSeq { run(W1.self, s) }
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
