// 32-block kernels on 512-bit vectors with vpdpbusd: two blocks per instruction. The formats'
// block layouts are KernelsAVX2's (`Block32Format`).
#if arch(x86_64)
import _Builtin_intrinsics.intel
import KernelsAVX2

/// As KernelsAVX2's `block32Mat`, two blocks per 512-bit vector (an odd last block on 256 bits),
/// the sequences in groups of eight (then four, then the 1-3 left over).
@inline(__always)
func block32Mat512<F: Block32Format>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                                     _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int,
                                     _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    var s = 0
    while s &+ 8 <= nSeq {
        if F.hasMin {
            block32Rows512(F.self, W8.self, rows, rowBytes, count, nb, st.row(x, s), st, y + s &* ldy, ldy)
        } else {
            block32RowPairs512(F.self, rows, rowBytes, count, nb, st.row(x, s), st, y + s &* ldy, ldy)
        }
        s &+= 8
    }
    let xs = st.row(x, s), ys = y + s &* ldy
    bySeqGroups(nSeq &- s,
                { s in block32Rows512(F.self, W4.self, rows, rowBytes, count, nb, st.row(xs, s), st, ys + s &* ldy, ldy) },
                { s in block32Rows512(F.self, W3.self, rows, rowBytes, count, nb, st.row(xs, s), st, ys + s &* ldy, ldy) },
                { s in block32Rows512(F.self, W2.self, rows, rowBytes, count, nb, st.row(xs, s), st, ys + s &* ldy, ldy) },
                // One sequence: two blocks per vector, per pair only what the weights need
                // (Block32Decode512.swift); Q8_0, whose quants need the sign handling either way, keeps
                // the 256-bit kernel (two blocks in flight in separate accumulators), which is as fast.
                { s in
                    if F.signed {
                        block32Mat(VNNIDot.self, F.self, rows, rowBytes, count, nb, st.row(xs, s), st, 1, ys + s &* ldy, ldy)
                    } else {
                        block32Row1x512(F.self, rows, rowBytes, count, nb, st.row(xs, s), ys + s &* ldy)
                    }
                })
}

/// Floats `p[0]` in lanes 0..<8 and `p[1]` in lanes 8..<16 (one load, one permute).
@inline(__always) func spreadPair(_ p: UnsafePointer<Float>) -> __m512 {
    let v = _mm512_castpd_ps(_mm512_broadcastsd_pd(_mm_load_sd(UnsafeRawPointer(p).assumingMemoryBound(to: Double.self))))
    return _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0), v)
}

/// `W.n` (1-4 or 8) sequences of one row at a time. Per pair of blocks the weights are decoded
/// once: formats with an offset (Q4_0, Q5_0) become signed quants `q − offset`, multiplied as
/// Q8_0's are (|w| times x with w's sign), so every format's block product is one vpdpbusd per
/// sequence; the float scale of both blocks is one multiply of the weight scales by the
/// sequence's two activation scales spread over their lanes.
@inline(__always)
func block32Rows512<F: Block32Format, W: SeqWidth>(_: F.Type, _: W.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int,
                                                   _ count: Int, _ nb: Int, _ x: Q8Activations, _ st: Q8Strides,
                                                   _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    let x1 = st.row(x, 1), x2 = st.row(x, 2), x3 = st.row(x, 3), x4 = st.row(x, 4), x5 = st.row(x, 5), x6 = st.row(x, 6), x7 = st.row(x, 7)
    let zero = _mm512_setzero_si512()
    let signed = block32Signed(F.self), ahead = StreamPrefetch.at(W.n)
    for r in 0..<count {
        let row = rows + r &* rowBytes
        var a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps()
        var a4 = _mm512_setzero_ps(), a5 = _mm512_setzero_ps(), a6 = _mm512_setzero_ps(), a7 = _mm512_setzero_ps()
        var m0: Float = 0, m1: Float = 0, m2: Float = 0, m3: Float = 0, m4: Float = 0, m5: Float = 0, m6: Float = 0, m7: Float = 0
        var b = 0
        while b &+ 2 <= nb {
            let p0 = row + b &* F.bytes, p1 = p0 + F.bytes
            if ahead { prefetchStream(p0, 2 &* F.bytes) }  // the rows stream from memory below the tiles' crossover
            var qw = join512(F.quants(p0), F.quants(p1))
            if F.offset != 0 { qw = _mm512_sub_epi8(qw, _mm512_set1_epi8(Int8(truncatingIfNeeded: F.offset))) }
            // Signed quants: |w| · (x negated where w < 0).
            let uw = signed ? _mm512_abs_epi8(qw) : qw
            let neg: __mmask64 = signed ? _mm512_movepi8_mask(qw) : 0
            let dw = _mm512_mask_mov_ps(_mm512_set1_ps(half(p0, 0)), 0xFF00, _mm512_set1_ps(half(p1, 0)))
            let mw0: Float = F.hasMin ? half(p0, 2) : 0, mw1: Float = F.hasMin ? half(p1, 2) : 0
            @inline(__always) func seq(_ xa: Q8Activations, _ a: inout __m512, _ m: inout Float) {
                var qy = load512(UnsafeRawPointer(xa.q), 32 &* b)
                if signed { qy = _mm512_mask_sub_epi8(qy, neg, zero, qy) }
                let dot = _mm512_dpbusd_epi32(zero, uw, qy)
                a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw, spreadPair(xa.d + b)), a)
                if F.hasMin { m += mw0 * xa.s[b] + mw1 * xa.s[b &+ 1] }
            }
            seq(x, &a0, &m0)
            if W.n > 1 { seq(x1, &a1, &m1) }
            if W.n > 2 { seq(x2, &a2, &m2) }
            if W.n > 3 { seq(x3, &a3, &m3) }
            if W.n > 4 { seq(x4, &a4, &m4); seq(x5, &a5, &m5); seq(x6, &a6, &m6); seq(x7, &a7, &m7) }
            b &+= 2
        }
        var t0 = _mm256_setzero_ps(), t1 = _mm256_setzero_ps(), t2 = _mm256_setzero_ps(), t3 = _mm256_setzero_ps()
        var t4 = _mm256_setzero_ps(), t5 = _mm256_setzero_ps(), t6 = _mm256_setzero_ps(), t7 = _mm256_setzero_ps()
        if b < nb {
            let p = row + b &* F.bytes
            let (qw, uw) = block32Quants(F.self, p)
            let dw = half(p, 0), mw: Float = F.hasMin ? half(p, 2) : 0
            block32Step(VNNIDot.self, F.self, qw, uw, dw, mw, x, b, &t0, &m0)
            if W.n > 1 { block32Step(VNNIDot.self, F.self, qw, uw, dw, mw, x1, b, &t1, &m1) }
            if W.n > 2 { block32Step(VNNIDot.self, F.self, qw, uw, dw, mw, x2, b, &t2, &m2) }
            if W.n > 3 { block32Step(VNNIDot.self, F.self, qw, uw, dw, mw, x3, b, &t3, &m3) }
            if W.n > 4 {
                block32Step(VNNIDot.self, F.self, qw, uw, dw, mw, x4, b, &t4, &m4)
                block32Step(VNNIDot.self, F.self, qw, uw, dw, mw, x5, b, &t5, &m5)
                block32Step(VNNIDot.self, F.self, qw, uw, dw, mw, x6, b, &t6, &m6)
                block32Step(VNNIDot.self, F.self, qw, uw, dw, mw, x7, b, &t7, &m7)
            }
        }
        y[r] = _mm512_reduce_add_ps(a0) + hsum256(t0) + m0
        if W.n > 1 { y[ldy &+ r] = _mm512_reduce_add_ps(a1) + hsum256(t1) + m1 }
        if W.n > 2 { y[2 &* ldy &+ r] = _mm512_reduce_add_ps(a2) + hsum256(t2) + m2 }
        if W.n > 3 { y[3 &* ldy &+ r] = _mm512_reduce_add_ps(a3) + hsum256(t3) + m3 }
        if W.n > 4 {
            y[4 &* ldy &+ r] = _mm512_reduce_add_ps(a4) + hsum256(t4) + m4
            y[5 &* ldy &+ r] = _mm512_reduce_add_ps(a5) + hsum256(t5) + m5
            y[6 &* ldy &+ r] = _mm512_reduce_add_ps(a6) + hsum256(t6) + m6
            y[7 &* ldy &+ r] = _mm512_reduce_add_ps(a7) + hsum256(t7) + m7
        }
    }
}
/// Eight sequences, two rows at a time, for formats without a min (Q4_0, Q5_0, Q8_0): the
/// activations are loaded and flipped to unsigned (x + 128) once for both rows, each sequence's
/// two activation scales spread once for both rows. The weights stay signed (`q − offset`):
/// vpdpbusd of (x + 128) with w, started from −128 · Σw (one vpdpbusd per row and block pair),
/// is Σ x · w exactly.
@inline(__always)
func block32RowPairs512<F: Block32Format>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                                          _ x: Q8Activations, _ st: Q8Strides, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    let x1 = st.row(x, 1), x2 = st.row(x, 2), x3 = st.row(x, 3), x4 = st.row(x, 4), x5 = st.row(x, 5), x6 = st.row(x, 6), x7 = st.row(x, 7)
    let zero = _mm512_setzero_si512(), flip = _mm512_set1_epi8(-128)
    var r = 0
    while r &+ 2 <= count {
        let rowA = rows + r &* rowBytes, rowB = rowA + rowBytes
        var a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps()
        var a4 = _mm512_setzero_ps(), a5 = _mm512_setzero_ps(), a6 = _mm512_setzero_ps(), a7 = _mm512_setzero_ps()
        var b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps(), b2 = _mm512_setzero_ps(), b3 = _mm512_setzero_ps()
        var b4 = _mm512_setzero_ps(), b5 = _mm512_setzero_ps(), b6 = _mm512_setzero_ps(), b7 = _mm512_setzero_ps()
        var b = 0
        while b &+ 2 <= nb {
            @inline(__always) func weights(_ row: UnsafeRawPointer) -> (__m512i, __m512i, __m512) {
                let p0 = row + b &* F.bytes, p1 = p0 + F.bytes
                var w = join512(F.quants(p0), F.quants(p1))
                if F.offset != 0 { w = _mm512_sub_epi8(w, _mm512_set1_epi8(Int8(truncatingIfNeeded: F.offset))) }
                // −128 · Σw per lane: the start of each sequence's vpdpbusd.
                let start = _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, flip, w))
                return (w, start, _mm512_mask_mov_ps(_mm512_set1_ps(half(p0, 0)), 0xFF00, _mm512_set1_ps(half(p1, 0))))
            }
            let (wA, sA, dA) = weights(rowA), (wB, sB, dB) = weights(rowB)
            @inline(__always) func seq(_ xa: Q8Activations, _ a: inout __m512, _ c: inout __m512) {
                let xu = _mm512_xor_si512(load512(UnsafeRawPointer(xa.q), 32 &* b), flip)
                let dx = spreadPair(xa.d + b)
                a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(sA, xu, wA)), _mm512_mul_ps(dA, dx), a)
                c = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(sB, xu, wB)), _mm512_mul_ps(dB, dx), c)
            }
            seq(x, &a0, &b0); seq(x1, &a1, &b1); seq(x2, &a2, &b2); seq(x3, &a3, &b3)
            seq(x4, &a4, &b4); seq(x5, &a5, &b5); seq(x6, &a6, &b6); seq(x7, &a7, &b7)
            b &+= 2
        }
        @inline(__always) func store(_ k: Int, _ xa: Q8Activations, _ a: __m512, _ c: __m512) {
            var ta = _mm256_setzero_ps(), tc = _mm256_setzero_ps(), ma: Float = 0, mc: Float = 0
            if b < nb {
                let pA = rowA + b &* F.bytes, pB = rowB + b &* F.bytes
                let (qA, uA) = block32Quants(F.self, pA), (qB, uB) = block32Quants(F.self, pB)
                block32Step(VNNIDot.self, F.self, qA, uA, half(pA, 0), 0, xa, b, &ta, &ma)
                block32Step(VNNIDot.self, F.self, qB, uB, half(pB, 0), 0, xa, b, &tc, &mc)
            }
            y[k &* ldy &+ r] = _mm512_reduce_add_ps(a) + hsum256(ta)
            y[k &* ldy &+ r &+ 1] = _mm512_reduce_add_ps(c) + hsum256(tc)
        }
        store(0, x, a0, b0); store(1, x1, a1, b1); store(2, x2, a2, b2); store(3, x3, a3, b3)
        store(4, x4, a4, b4); store(5, x5, a5, b5); store(6, x6, a6, b6); store(7, x7, a7, b7)
        r &+= 2
    }
    if r < count { block32Rows512(F.self, W8.self, rows + r &* rowBytes, rowBytes, 1, nb, x, st, y + r, ldy) }
}
#endif
