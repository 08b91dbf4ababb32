// K-quant kernels on 512-bit vectors: the formats of KernelsAVX2 (their `groups`, offsets and
// mins), two groups of 32 per vpmaddubsw/vpmaddwd, so each instruction serves 64 weights.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import KernelsAVX2
import Prefetch

/// `[lo | hi]` as one 512-bit vector.
@inline(__always) func join512(_ lo: __m256i, _ hi: __m256i) -> __m512i {
    _mm512_mask_broadcast_i64x4(_mm512_castsi256_si512(lo), 0xF0, hi)
}

@inline(__always) func load512(_ p: UnsafeRawPointer, _ offset: Int) -> __m512i {
    _mm512_loadu_si512(p + offset)
}

@inline(__always) func hsum256(_ v: __m256) -> Float {
    let s4 = v.lowHalf + v.highHalf, s2 = s4.lowHalf + s4.highHalf
    return s2[0] + s2[1]
}

@inline(__always) func hsum128(_ v: __m128) -> Float {
    let s2 = v.lowHalf + v.highHalf
    return s2[0] + s2[1]
}

/// As KernelsAVX2's `kquantMat`, on 512-bit vectors, the sequences in groups of eight (then
/// four, then the 1-3 left over): each group of a super-block is decoded once per row for all
/// sequences of a group.
@inline(__always)
func kquantMat512<F: KQuantPairs512>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                                   _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int,
                                   _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    var s = 0
    if nSeq >= 8 {
        // Per super-block, for eight sequences: their activation sums as Int16 (8 or 16 each)
        // and their activation scales spread over the lanes of their sums' products.
        let terms = F.termPer16 ? 16 : 8
        let sums = UnsafeMutablePointer<Int16>.allocate(capacity: nb &* 8 &* terms)
        let scales = UnsafeMutablePointer<Float>.allocate(capacity: nb &* 8 &* terms / 2)
        defer { sums.deallocate(); scales.deallocate() }
        while s &+ 8 <= nSeq {
            let xs = st.row(x, s)
            for k in 0..<8 {
                let xa = st.row(xs, k)
                for i in 0..<nb {
                    let o = (i &* 8 &+ k) &* terms
                    if F.termPer16 {
                        (sums + o).update(from: xa.sum16 + 16 &* i, count: 16)
                        _mm256_storeu_ps(scales + o / 2, _mm256_set1_ps(xa.d[i]))
                    } else {
                        narrowSums(xa.sum32 + 8 &* i, sums + o)
                        _mm_storeu_ps(scales + o / 2, _mm_set1_ps(xa.d[i]))
                    }
                }
            }
            kquantRows512(F.self, W8.self, rows, rowBytes, count, nb, xs, st, sums, scales, y + s &* ldy, ldy)
            s &+= 8
        }
    }
    let xs = st.row(x, s), ys = y + s &* ldy
    let none = UnsafePointer<Int16>(bitPattern: 16)!, noScales = UnsafePointer<Float>(bitPattern: 16)!
    bySeqGroups(nSeq &- s,
                { s in kquantRows512(F.self, W4.self, rows, rowBytes, count, nb, st.row(xs, s), st, none, noScales, ys + s &* ldy, ldy) },
                { s in kquantRows512(F.self, W3.self, rows, rowBytes, count, nb, st.row(xs, s), st, none, noScales, ys + s &* ldy, ldy) },
                { s in kquantRows512(F.self, W2.self, rows, rowBytes, count, nb, st.row(xs, s), st, none, noScales, ys + s &* ldy, ldy) },
                { s in kquantRows512(F.self, W1.self, rows, rowBytes, count, nb, st.row(xs, s), st, none, noScales, ys + s &* ldy, ldy) })
}

/// Eight Int32 sums at `src` stored as eight Int16 at `dst`.
@inline(__always) func narrowSums(_ src: UnsafePointer<Int32>, _ dst: UnsafeMutablePointer<Int16>) {
    let v = _mm256_loadu_si256(UnsafeRawPointer(src).assumingMemoryBound(to: __m256i.self))
    _mm_storeu_si128(UnsafeMutableRawPointer(dst).assumingMemoryBound(to: __m128i.self), _mm256_cvtepi32_epi16(v))
}

/// `W.n` (1-4 or 8) sequences of one row at a time: per super-block, the integer sums of each
/// sequence stay in a register (two groups per vector). With 1-4 sequences the offset and min
/// terms (8 lanes) are folded into each sequence's accumulator per super-block; with eight,
/// they come from the tables of `kquantMat512` (`sums`, `scales`): one vpmaddwd covers the
/// term of four sequences (8 terms each) or two (16 terms each), accumulated per row and
/// added to each sequence's lanes at the end.
@inline(__always)
func kquantRows512<F: KQuantPairs512, W: SeqWidth>(_: F.Type, _: W.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int,
                                                 _ nb: Int, _ x: Q8Activations, _ st: Q8Strides,
                                                 _ sums: UnsafePointer<Int16>, _ scales: UnsafePointer<Float>,
                                                 _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    let x1 = st.row(x, 1), x2 = st.row(x, 2), x3 = st.row(x, 3), x4 = st.row(x, 4), x5 = st.row(x, 5), x6 = st.row(x, 6), x7 = st.row(x, 7)
    let q0 = UnsafeRawPointer(x.q), q1 = UnsafeRawPointer(x1.q), q2 = UnsafeRawPointer(x2.q), q3 = UnsafeRawPointer(x3.q)
    let q4 = UnsafeRawPointer(x4.q), q5 = UnsafeRawPointer(x5.q), q6 = UnsafeRawPointer(x6.q), q7 = UnsafeRawPointer(x7.q)
    let tables = W.n == 8, ahead = StreamPrefetch.at(W.n)
    let rs = UnsafeRawPointer(sums)
    for r in 0..<count {
        let row = rows + r &* rowBytes
        var a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps()
        var a4 = _mm512_setzero_ps(), a5 = _mm512_setzero_ps(), a6 = _mm512_setzero_ps(), a7 = _mm512_setzero_ps()
        // Offset/min terms of eight sequences (tables only).
        var t0 = _mm512_setzero_ps(), t1 = _mm512_setzero_ps(), t2 = _mm512_setzero_ps(), t3 = _mm512_setzero_ps()
        // Min terms of 1-4 sequences (no tables).
        var m0 = _mm256_setzero_ps(), m1 = _mm256_setzero_ps(), m2 = _mm256_setzero_ps(), m3 = _mm256_setzero_ps()
        for i in 0..<nb {
            let blk = row + i &* F.bytes
            // The weights stream from memory for any number of sequences (below the tiles' crossover); ask for them ahead.
            if ahead { prefetchStream(blk, F.bytes) }
            let prep = F.prepare(blk)
            var s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512(), s2 = _mm512_setzero_si512(), s3 = _mm512_setzero_si512()
            var s4 = _mm512_setzero_si512(), s5 = _mm512_setzero_si512(), s6 = _mm512_setzero_si512(), s7 = _mm512_setzero_si512()
            let xo = 256 &* i
            /// Groups g and g + 1 (quants `qq`, pair-sum scales `ss`) for every sequence.
            @inline(__always) func pair(_ g: Int, _ qq: __m512i, _ ss: __m512i) {
                let o = xo &+ 32 &* g
                // vpdpwssd (AVX-512 VNNI) = vpmaddwd + vpaddd in one instruction; quants that carry
                // their scales need only the byte products, one vpdpbusd.
                @inline(__always) func step(_ qx: UnsafeRawPointer, _ acc: inout __m512i) {
                    if F.prescaled {
                        acc = _mm512_dpbusd_epi32(acc, qq, load512(qx, o))
                    } else {
                        acc = _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(qq, load512(qx, o)), ss)
                    }
                }
                step(q0, &s0)
                if W.n > 1 { step(q1, &s1) }
                if W.n > 2 { step(q2, &s2) }
                if W.n > 3 { step(q3, &s3) }
                if W.n > 4 { step(q4, &s4); step(q5, &s5); step(q6, &s6); step(q7, &s7) }
            }
            F.pairs512(blk, prep, pair)
            // d (lane 0) and dmin (lane 1), each times the sequence's activation scale in `finish`.
            let dd = F.dAndDmin(blk)
            @inline(__always) func finish(_ xa: Q8Activations, _ s: __m512i, _ a: inout __m512, _ m: inout __m256) {
                let f = _mm_mul_ps(dd, _mm_set1_ps(xa.d[i]))
                var t = s
                if !tables {
                    // The offset term in the low 8 lanes of the same sum (masked: a zero extension of the
                    // 256-bit term compiles to a vpexpandq); the min term into its own accumulator `m`,
                    // so the float chain per super-block is one FMA.
                    if F.hasOffset { t = _mm512_mask_add_epi32(t, 0x00FF, t, _mm512_castsi256_si512(F.offset(prep, xa, i))) }
                    if F.hasMins { m = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(F.mins(prep, xa, i)), _mm256_broadcastss_ps(_mm_movehdup_ps(f)), m) }
                }
                a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t), _mm512_broadcastss_ps(f), a)
            }
            finish(x, s0, &a0, &m0)
            if W.n > 1 { finish(x1, s1, &a1, &m1) }
            if W.n > 2 { finish(x2, s2, &a2, &m2) }
            if W.n > 3 { finish(x3, s3, &a3, &m3) }
            if W.n > 4 { finish(x4, s4, &a4, &m0); finish(x5, s5, &a5, &m0); finish(x6, s6, &a6, &m0); finish(x7, s7, &a7, &m0) }
            if tables {
                let coef = F.termCoefficients(prep), f = _mm512_set1_ps(F.termFactor(blk))
                let unit = F.termPer16 ? 2 &* i : i
                @inline(__always) func term(_ c: __m512i, _ z: Int, _ acc: inout __m512) {
                    let byteOffset: Int = 128 &* unit &+ 64 &* z
                    let prod = _mm512_madd_epi16(c, load512(rs, byteOffset))
                    let sc = _mm512_loadu_ps(scales + (32 &* unit &+ 16 &* z))
                    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(prod), _mm512_mul_ps(f, sc), acc)
                }
                if F.termPer16 {
                    let c = _mm512_broadcast_i64x4(coef)
                    term(c, 0, &t0); term(c, 1, &t1); term(c, 2, &t2); term(c, 3, &t3)
                } else {
                    let c = _mm512_broadcast_i32x4(_mm256_castsi256_si128(coef))
                    term(c, 0, &t0); term(c, 1, &t1)
                }
            }
        }
        if tables {
            // The term lanes of sequence k: 4 per sequence (8 terms) or 8 (16 terms).
            if F.termPer16 {
                a0 = _mm512_mask_add_ps(a0, 0x00FF, a0, t0); a1 = _mm512_mask_add_ps(a1, 0xFF00, a1, t0)
                a2 = _mm512_mask_add_ps(a2, 0x00FF, a2, t1); a3 = _mm512_mask_add_ps(a3, 0xFF00, a3, t1)
                a4 = _mm512_mask_add_ps(a4, 0x00FF, a4, t2); a5 = _mm512_mask_add_ps(a5, 0xFF00, a5, t2)
                a6 = _mm512_mask_add_ps(a6, 0x00FF, a6, t3); a7 = _mm512_mask_add_ps(a7, 0xFF00, a7, t3)
            } else {
                a0 = _mm512_mask_add_ps(a0, 0x000F, a0, t0); a1 = _mm512_mask_add_ps(a1, 0x00F0, a1, t0)
                a2 = _mm512_mask_add_ps(a2, 0x0F00, a2, t0); a3 = _mm512_mask_add_ps(a3, 0xF000, a3, t0)
                a4 = _mm512_mask_add_ps(a4, 0x000F, a4, t1); a5 = _mm512_mask_add_ps(a5, 0x00F0, a5, t1)
                a6 = _mm512_mask_add_ps(a6, 0x0F00, a6, t1); a7 = _mm512_mask_add_ps(a7, 0xF000, a7, t1)
            }
        }
        if F.hasMins && !tables {
            @inline(__always) func fold(_ a: inout __m512, _ m: __m256) { a = _mm512_add_ps(a, _mm512_zextps256_ps512(m)) }
            fold(&a0, m0)
            if W.n > 1 { fold(&a1, m1) }
            if W.n > 2 { fold(&a2, m2) }
            if W.n > 3 { fold(&a3, m3) }
        }
        y[r] = _mm512_reduce_add_ps(a0)
        if W.n > 1 { y[ldy &+ r] = _mm512_reduce_add_ps(a1) }
        if W.n > 2 { y[2 &* ldy &+ r] = _mm512_reduce_add_ps(a2) }
        if W.n > 3 { y[3 &* ldy &+ r] = _mm512_reduce_add_ps(a3) }
        if W.n > 4 {
            y[4 &* ldy &+ r] = _mm512_reduce_add_ps(a4); y[5 &* ldy &+ r] = _mm512_reduce_add_ps(a5)
            y[6 &* ldy &+ r] = _mm512_reduce_add_ps(a6); y[7 &* ldy &+ r] = _mm512_reduce_add_ps(a7)
        }
    }
}

extension AVX512 {
    /// Q2_K rows · Q8_K activations.
    @inline(never)
    public static func q2_K(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        kquantMat512(Q2_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q3_K rows · Q8_K activations.
    @inline(never)
    public static func q3_K(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        kquantMat512(Q3_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q4_K rows · Q8_K activations: eight-row tiles from `RowTileFormat.tilesMinSeq` sequences on
    /// (RowTiles512.swift), else a row at a time.
    @inline(never)
    public static func q4_K(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        kquantTiledMat512(Q4_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q5_K rows · Q8_K activations.
    @inline(never)
    public static func q5_K(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        kquantMat512(Q5_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q6_K rows · Q8_K activations: eight-row tiles from `RowTileFormat.tilesMinSeq` sequences on
    /// (RowTiles512.swift), else a row at a time.
    @inline(never)
    public static func q6_K(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        kquantTiledMat512(Q6_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
}
#endif
