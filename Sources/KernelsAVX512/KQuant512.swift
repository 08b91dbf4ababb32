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
    let v8 = unsafeBitCast(v, to: SIMD8<Float>.self)
    let s4 = v8.lowHalf + v8.highHalf, s2 = s4.lowHalf + s4.highHalf
    return s2[0] + s2[1]
}

/// As KernelsAVX2's `kquantMat`, on 512-bit vectors.
@inline(__always)
func kquantMat512<F: KQuantFormat>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                                   _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int,
                                   _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    bySeqGroups(nSeq,
                { s in kquantRows512(F.self, W4.self, rows, rowBytes, count, nb, st.row(x, s), st, y + s &* ldy, ldy) },
                { s in kquantRows512(F.self, W3.self, rows, rowBytes, count, nb, st.row(x, s), st, y + s &* ldy, ldy) },
                { s in kquantRows512(F.self, W2.self, rows, rowBytes, count, nb, st.row(x, s), st, y + s &* ldy, ldy) },
                { s in kquantRows512(F.self, W1.self, rows, rowBytes, count, nb, st.row(x, s), st, y + s &* ldy, ldy) })
}

@inline(__always)
func kquantRows512<F: KQuantFormat, W: SeqWidth>(_: F.Type, _: W.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int,
                                                 _ nb: Int, _ x: Q8Activations, _ st: Q8Strides,
                                                 _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    let x1 = st.row(x, 1), x2 = st.row(x, 2), x3 = st.row(x, 3)
    let q0 = UnsafeRawPointer(x.q), q1 = UnsafeRawPointer(x1.q), q2 = UnsafeRawPointer(x2.q), q3 = UnsafeRawPointer(x3.q)
    for r in 0..<count {
        let row = rows + r &* rowBytes
        var a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps()
        // Offset and min terms (8 lanes).
        var c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps(), c2 = _mm256_setzero_ps(), c3 = _mm256_setzero_ps()
        for i in 0..<nb {
            let blk = row + i &* F.bytes
            let prep = F.prepare(blk)
            var s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512(), s2 = _mm512_setzero_si512(), s3 = _mm512_setzero_si512()
            let xo = 256 &* i
            var pq = _mm256_setzero_si256(), ps = _mm256_setzero_si256()
            F.groups(blk, prep) { g, q, sc in
                if g & 1 == 0 { pq = q; ps = sc; return }
                let qq = join512(pq, q), ss = join512(ps, sc)
                let o = xo &+ 32 &* (g &- 1)
                s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(_mm512_maddubs_epi16(qq, load512(q0, o)), ss))
                if W.n > 1 { s1 = _mm512_add_epi32(s1, _mm512_madd_epi16(_mm512_maddubs_epi16(qq, load512(q1, o)), ss)) }
                if W.n > 2 { s2 = _mm512_add_epi32(s2, _mm512_madd_epi16(_mm512_maddubs_epi16(qq, load512(q2, o)), ss)) }
                if W.n > 3 { s3 = _mm512_add_epi32(s3, _mm512_madd_epi16(_mm512_maddubs_epi16(qq, load512(q3, o)), ss)) }
            }
            let d = F.d(blk), dmin = F.hasMins ? F.dmin(blk) : 0
            @inline(__always) func finish(_ xa: Q8Activations, _ s: __m512i, _ a: inout __m512, _ c: inout __m256) {
                let dd = d * xa.d[i]
                a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_set1_ps(dd), a)
                if F.hasOffset { c = _mm256_fmadd_ps(_mm256_cvtepi32_ps(F.offset(prep, xa, i)), _mm256_set1_ps(dd), c) }
                if F.hasMins { c = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(F.mins(prep, xa, i)), _mm256_set1_ps(dmin * xa.d[i]), c) }
            }
            finish(x, s0, &a0, &c0)
            if W.n > 1 { finish(x1, s1, &a1, &c1) }
            if W.n > 2 { finish(x2, s2, &a2, &c2) }
            if W.n > 3 { finish(x3, s3, &a3, &c3) }
        }
        y[r] = _mm512_reduce_add_ps(a0) + hsum256(c0)
        if W.n > 1 { y[ldy &+ r] = _mm512_reduce_add_ps(a1) + hsum256(c1) }
        if W.n > 2 { y[2 &* ldy &+ r] = _mm512_reduce_add_ps(a2) + hsum256(c2) }
        if W.n > 3 { y[3 &* ldy &+ r] = _mm512_reduce_add_ps(a3) + hsum256(c3) }
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
