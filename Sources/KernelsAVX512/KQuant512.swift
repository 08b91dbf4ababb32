// K-quant kernels on 512-bit vectors: the formats of KernelsAVX2 (their `groups`, offsets and
// mins), two groups of 32 per vpmaddubsw/vpmaddwd, so each instruction serves 64 weights.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import KernelsAVX2

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

/// As KernelsAVX2's `kquantMat`, on 512-bit vectors, the sequences in groups of eight (then
/// four, then the 1-3 left over): each group of a super-block is decoded once per row for all
/// sequences of a group.
@inline(__always)
func kquantMat512<F: KQuantFormat>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                                   _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int,
                                   _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    var s = 0
    while s &+ 8 <= nSeq {
        kquantRows512(F.self, W8.self, rows, rowBytes, count, nb, st.row(x, s), st, y + s &* ldy, ldy)
        s &+= 8
    }
    let xs = st.row(x, s), ys = y + s &* ldy
    bySeqGroups(nSeq &- s,
                { s in kquantRows512(F.self, W4.self, rows, rowBytes, count, nb, st.row(xs, s), st, ys + s &* ldy, ldy) },
                { s in kquantRows512(F.self, W3.self, rows, rowBytes, count, nb, st.row(xs, s), st, ys + s &* ldy, ldy) },
                { s in kquantRows512(F.self, W2.self, rows, rowBytes, count, nb, st.row(xs, s), st, ys + s &* ldy, ldy) },
                { s in kquantRows512(F.self, W1.self, rows, rowBytes, count, nb, st.row(xs, s), st, ys + s &* ldy, ldy) })
}

/// `W.n` (1-4 or 8) sequences of one row at a time: per super-block, the integer sums of each
/// sequence stay in a register (two groups per vector); the offset and min terms (8 lanes) are
/// folded into the same float accumulator, so eight sequences need 16 accumulators.
@inline(__always)
func kquantRows512<F: KQuantFormat, W: SeqWidth>(_: F.Type, _: W.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int,
                                                 _ nb: Int, _ x: Q8Activations, _ st: Q8Strides,
                                                 _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    let x1 = st.row(x, 1), x2 = st.row(x, 2), x3 = st.row(x, 3), x4 = st.row(x, 4), x5 = st.row(x, 5), x6 = st.row(x, 6), x7 = st.row(x, 7)
    let q0 = UnsafeRawPointer(x.q), q1 = UnsafeRawPointer(x1.q), q2 = UnsafeRawPointer(x2.q), q3 = UnsafeRawPointer(x3.q)
    let q4 = UnsafeRawPointer(x4.q), q5 = UnsafeRawPointer(x5.q), q6 = UnsafeRawPointer(x6.q), q7 = UnsafeRawPointer(x7.q)
    for r in 0..<count {
        let row = rows + r &* rowBytes
        var a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps()
        var a4 = _mm512_setzero_ps(), a5 = _mm512_setzero_ps(), a6 = _mm512_setzero_ps(), a7 = _mm512_setzero_ps()
        for i in 0..<nb {
            let blk = row + i &* F.bytes
            let prep = F.prepare(blk)
            var s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512(), s2 = _mm512_setzero_si512(), s3 = _mm512_setzero_si512()
            var s4 = _mm512_setzero_si512(), s5 = _mm512_setzero_si512(), s6 = _mm512_setzero_si512(), s7 = _mm512_setzero_si512()
            let xo = 256 &* i
            var pq = _mm256_setzero_si256(), ps = _mm256_setzero_si256()
            F.groups(blk, prep) { g, q, sc in
                if g & 1 == 0 { pq = q; ps = sc; return }
                let qq = join512(pq, q), ss = join512(ps, sc)
                let o = xo &+ 32 &* (g &- 1)
                @inline(__always) func step(_ qx: UnsafeRawPointer, _ acc: inout __m512i) {
                    acc = _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(qq, load512(qx, o)), ss))
                }
                step(q0, &s0)
                if W.n > 1 { step(q1, &s1) }
                if W.n > 2 { step(q2, &s2) }
                if W.n > 3 { step(q3, &s3) }
                if W.n > 4 { step(q4, &s4); step(q5, &s5); step(q6, &s6); step(q7, &s7) }
            }
            let d = F.d(blk), dmin = F.hasMins ? F.dmin(blk) : 0
            @inline(__always) func finish(_ xa: Q8Activations, _ s: __m512i, _ a: inout __m512) {
                let dx = xa.d[i]
                var t = s
                // Offset and min terms in the low 8 lanes of the same accumulator.
                if F.hasOffset { t = _mm512_add_epi32(t, _mm512_zextsi256_si512(F.offset(prep, xa, i))) }
                a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t), _mm512_set1_ps(d * dx), a)
                if F.hasMins {
                    a = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(_mm512_zextsi256_si512(F.mins(prep, xa, i))), _mm512_set1_ps(dmin * dx), a)
                }
            }
            finish(x, s0, &a0)
            if W.n > 1 { finish(x1, s1, &a1) }
            if W.n > 2 { finish(x2, s2, &a2) }
            if W.n > 3 { finish(x3, s3, &a3) }
            if W.n > 4 { finish(x4, s4, &a4); finish(x5, s5, &a5); finish(x6, s6, &a6); finish(x7, s7, &a7) }
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
    /// Q4_K rows · Q8_K activations.
    @inline(never)
    public static func q4_K(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        kquantMat512(Q4_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q5_K rows · Q8_K activations.
    @inline(never)
    public static func q5_K(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        kquantMat512(Q5_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q6_K rows · Q8_K activations.
    @inline(never)
    public static func q6_K(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        kquantMat512(Q6_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
}
#endif
