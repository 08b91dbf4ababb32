// The 32-block formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) in the `rows8` layout (TensorKernels' Repack.swift;
// KernelsAVX512/Rows8_512.swift reads it) on AMX tiles: 16 rows (two groups of eight) times 16 sequences,
// K = 32 (one block) per tile product.
//
// A block's float scales d_w · d_x change with both the row and the sequence, so the integer sums cannot
// run on across blocks as the K-quants' do (NibbleKAMX.swift): each block has a sum tile of its own (tiles
// 0-3, four blocks a round), and AVX-512 scales its 16 x 16 sums once, as the other levels scale each
// block's integer sum: y += d_w · d_x · Σ (q − offset) · x (+ m_w · s_x for the formats with a min). A
// `tdp*` takes the same time at K = 32 as at 64, so a block of 16 rows and 16 sequences costs one product.
//
// The weight tiles of eight blocks (256 elements) of 16 rows are built once for every sequence: per block
// of each group of eight rows `rows8Operands` gives four vectors of eight elements (row r in qword r), and
// one `vpermt2d` each picks the two groups' even and odd dwords, the tile rows of elements 4g ..< 4g + 4.
// Q4_0/Q5_0/Q8_0 keep q − offset as signed bytes (`tdpbssd`), so the tiles' sums are ggml's integer sums
// as they are; Q4_1/Q5_1 keep q unsigned (`tdpbsud`) and add the min term in floats.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import CAMX
import KernelsAVX2
import KernelsAVX512
import Prefetch

/// A 32-block format's tiles: whole 16s of rows and sequences (`AMXTileRunner`).
enum Block32Tiles<F: Block32Format>: AMXTileRunner {
    /// Blocks whose weight tiles are built at once (8: 256 elements, 4 KiB of tiles, as a K-quant super-block).
    static var chunk: Int { 8 }

    /// Rows `0..<count` (a multiple of 16) times sequences `0..<nSeq` (a multiple of 16).
    ///
    /// Per 16 rows and eight blocks the weight tiles (4 KiB) and the rows' d (and m) are made once; per 16
    /// sequences one product per block into its own sum tile, four at a time, then AVX-512 scales each
    /// block's sums into the sequence's 16 outputs, while the next 16 sequences' activations are prefetched.
    @inline(__always)
    static func run(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                    _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        let offset = block32UnsignedOffset(F.self), signedWeights = offset != 0
        let tileBytes = 512 &* chunk, factorBytes = 128 &* chunk, sumBytes = 1024 &* chunk, outBytes = nSeq &* 64
        withUnsafeTemporaryAllocation(byteCount: tileBytes &+ factorBytes &+ sumBytes &+ outBytes, alignment: 64) { buf in
            let bt = buf.baseAddress!
            // Block j's d of the 16 rows at `d + 16 j`, its m at `m + 16 j`.
            let d = (bt + tileBytes).assumingMemoryBound(to: Float.self), m = d + 16 &* chunk
            let ct = bt + (tileBytes &+ factorBytes)
            let out = (ct + sumBytes).assumingMemoryBound(to: Float.self)
            let (ie, io) = dwordPicks()
            let off = _mm512_set1_epi8(Int8(truncatingIfNeeded: offset))
            let blockBytes = 8 &* F.bytes, groups = nSeq >> 4
            @inline(__always) func activations(_ k: Int, _ b: Int) -> UnsafeRawPointer {
                UnsafeRawPointer(x.q + (16 &* k &* st.q &+ 32 &* b))
            }
            TileConfig(aBytes: 32, sumTiles: 4).with {
                var r = 0
                while r < count {
                    for k in 0..<(nSeq &* 16) { out[k] = 0 }
                    let g0 = rows + r &* rowBytes, g1 = g0 + 8 &* rowBytes
                    var b0 = 0
                    while b0 < nb {
                        let n = min(chunk, nb &- b0)
                        for j in 0..<n {
                            let pa = g0 + (b0 &+ j) &* blockBytes, pb = g1 + (b0 &+ j) &* blockBytes
                            let qa = rows8Operands(F.self, pa), qb = rows8Operands(F.self, pb)
                            let t = bt + 512 &* j
                            @inline(__always) func put(_ a: __m512i, _ b: __m512i, _ v: Int) {
                                let a = signedWeights ? _mm512_sub_epi8(a, off) : a, b = signedWeights ? _mm512_sub_epi8(b, off) : b
                                _mm512_store_si512(t + 128 &* v, _mm512_permutex2var_epi32(a, ie, b))
                                _mm512_store_si512(t + (128 &* v &+ 64), _mm512_permutex2var_epi32(a, io, b))
                            }
                            put(qa.0, qb.0, 0); put(qa.1, qb.1, 1); put(qa.2, qb.2, 2); put(qa.3, qb.3, 3)
                            _mm512_store_ps(d + 16 &* j, halves16(pa, pb))
                            if F.hasMin { _mm512_store_ps(m + 16 &* j, halves16(pa + 16, pb + 16)) }
                        }
                        for k in 0..<groups {
                            // The next 16 sequences' activations of these blocks (or the first 16's of the next
                            // blocks) into L1 while these run.
                            let kn = k &+ 1 < groups ? k &+ 1 : 0, bn = k &+ 1 < groups ? b0 : b0 &+ n
                            if bn < nb { for t in 0..<16 { prefetchLines(activations(kn, bn) + t &* st.q, 32 &* min(chunk, nb &- bn)) } }
                            blockProducts(activations(k, b0), st.q, UnsafeRawPointer(bt), ct, n, signed: signedWeights)
                            // Four sequences at a time, so that each block's d (and m) is loaded once for four.
                            for t0 in stride(from: 0, to: 16, by: 4) {
                                let s0 = 16 &* k &+ t0, o = out + 16 &* s0
                                var acc = (_mm512_loadu_ps(o), _mm512_loadu_ps(o + 16), _mm512_loadu_ps(o + 32), _mm512_loadu_ps(o + 48))
                                for j in 0..<n {
                                    let dj = _mm512_load_ps(d + 16 &* j), mj = F.hasMin ? _mm512_load_ps(m + 16 &* j) : dj
                                    let c = ct + (1024 &* j &+ 64 &* t0)
                                    @inline(__always) func scale(_ i: Int, _ a: __m512) -> __m512 {
                                        let s = s0 &+ i
                                        let v = _mm512_cvtepi32_ps(_mm512_load_si512(c + 64 &* i))
                                        let a = _mm512_fmadd_ps(v, _mm512_mul_ps(dj, _mm512_set1_ps(x.d[s &* st.d &+ b0 &+ j])), a)
                                        return F.hasMin ? _mm512_fmadd_ps(mj, _mm512_set1_ps(x.s[s &* st.s &+ b0 &+ j]), a) : a
                                    }
                                    acc = (scale(0, acc.0), scale(1, acc.1), scale(2, acc.2), scale(3, acc.3))
                                }
                                _mm512_storeu_ps(o, acc.0); _mm512_storeu_ps(o + 16, acc.1)
                                _mm512_storeu_ps(o + 32, acc.2); _mm512_storeu_ps(o + 48, acc.3)
                            }
                        }
                        b0 &+= n
                    }
                    for s in 0..<nSeq { _mm512_storeu_ps(y + (s &* ldy &+ r), _mm512_loadu_ps(out + 16 &* s)) }
                    r &+= 16
                }
            }
        }
    }

    /// The tile products of `n` blocks (1 ... `chunk`) for 16 sequences: block j's activations at `a + 32 j`
    /// (`lda` bytes from one sequence to the next), its weight tile at `b + 512 j` (eight rows of 64 bytes),
    /// its 16 x 16 Int32 sums stored at `c + 1024 j` (sequence t's at `+ 64 t`). Four blocks a round, one sum
    /// tile each; signed weights (`tdpbssd`) or unsigned (`tdpbsud`).
    @inline(__always)
    static func blockProducts(_ a: UnsafeRawPointer, _ lda: Int, _ b: UnsafeRawPointer, _ c: UnsafeMutableRawPointer,
                              _ n: Int, signed: Bool) {
        var j = 0
        while j < n {
            let left = n &- j, a = a + 32 &* j, b = b + 512 &* j, c = c + 1024 &* j
            tm_tile_zero0()
            tm_tile_load4(a, lda); tm_tile_load6(b, 64)
            if signed { tm_tile_dpbssd_0_4_6() } else { tm_tile_dpbsud_0_4_6() }
            if left > 1 {
                tm_tile_zero1()
                tm_tile_load5(a + 32, lda); tm_tile_load7(b + 512, 64)
                if signed { tm_tile_dpbssd_1_5_7() } else { tm_tile_dpbsud_1_5_7() }
            }
            if left > 2 {
                tm_tile_zero2()
                tm_tile_load4(a + 64, lda); tm_tile_load6(b + 1024, 64)
                if signed { tm_tile_dpbssd_2_4_6() } else { tm_tile_dpbsud_2_4_6() }
            }
            if left > 3 {
                tm_tile_zero3()
                tm_tile_load5(a + 96, lda); tm_tile_load7(b + 1536, 64)
                if signed { tm_tile_dpbssd_3_5_7() } else { tm_tile_dpbsud_3_5_7() }
            }
            tm_tile_store0(c, 64)
            if left > 1 { tm_tile_store1(c + 1024, 64) }
            if left > 2 { tm_tile_store2(c + 2048, 64) }
            if left > 3 { tm_tile_store3(c + 3072, 64) }
            j &+= 4
        }
    }
}
#endif
