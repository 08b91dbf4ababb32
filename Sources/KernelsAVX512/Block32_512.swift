// 32-block kernels on 512-bit vectors with vpdpbusd: two blocks per instruction. The formats'
// block layouts are KernelsAVX2's (`Block32Format`).
#if arch(x86_64)
import _Builtin_intrinsics.intel
import KernelsAVX2

/// As KernelsAVX2's `block32Mat`, two blocks per 512-bit vector (an odd last block on 256 bits).
@inline(__always)
func block32Mat512<F: Block32Format>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                                     _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int,
                                     _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    bySeqGroups(nSeq,
                { s in block32Rows512(F.self, W4.self, rows, rowBytes, count, nb, st.row(x, s), st, y + s &* ldy, ldy) },
                { s in block32Rows512(F.self, W3.self, rows, rowBytes, count, nb, st.row(x, s), st, y + s &* ldy, ldy) },
                { s in block32Rows512(F.self, W2.self, rows, rowBytes, count, nb, st.row(x, s), st, y + s &* ldy, ldy) },
                { s in block32Rows512(F.self, W1.self, rows, rowBytes, count, nb, st.row(x, s), st, y + s &* ldy, ldy) })
}

@inline(__always)
func block32Rows512<F: Block32Format, W: SeqWidth>(_: F.Type, _: W.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int,
                                                   _ count: Int, _ nb: Int, _ x: Q8Activations, _ st: Q8Strides,
                                                   _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    let x1 = st.row(x, 1), x2 = st.row(x, 2), x3 = st.row(x, 3)
    let zero = _mm512_setzero_si512()
    for r in 0..<count {
        let row = rows + r &* rowBytes
        var a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps()
        var m0: Float = 0, m1: Float = 0, m2: Float = 0, m3: Float = 0
        var b = 0
        while b &+ 2 <= nb {
            let p0 = row + b &* F.bytes, p1 = p0 + F.bytes
            let qw = join512(F.quants(p0), F.quants(p1))
            // Signed quants: |w| · (x negated where w < 0).
            let uw = F.signed ? _mm512_abs_epi8(qw) : qw
            let neg: __mmask64 = F.signed ? _mm512_movepi8_mask(qw) : 0
            let dw0 = half(p0, 0), dw1 = half(p1, 0)
            let mw0: Float = F.hasMin ? half(p0, 2) : 0, mw1: Float = F.hasMin ? half(p1, 2) : 0
            @inline(__always) func seq(_ xa: Q8Activations, _ a: inout __m512, _ m: inout Float) {
                var qy = load512(UnsafeRawPointer(xa.q), 32 &* b)
                if F.signed { qy = _mm512_mask_sub_epi8(qy, neg, zero, qy) }
                var dot = _mm512_dpbusd_epi32(zero, uw, qy)
                if F.offset != 0 {
                    // Σ (u − offset)·x = Σ u·x − offset·Σx: lane 0 for the first block, lane 8 for the second.
                    let o = _mm512_mask_set1_epi32(_mm512_maskz_set1_epi32(0x0001, F.offset &* xa.sum32[b]), 0x0100,
                                                   F.offset &* xa.sum32[b &+ 1])
                    dot = _mm512_sub_epi32(dot, o)
                }
                let dd = _mm512_mask_mov_ps(_mm512_set1_ps(dw0 * xa.d[b]), 0xFF00, _mm512_set1_ps(dw1 * xa.d[b &+ 1]))
                a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), dd, a)
                if F.hasMin { m += mw0 * xa.s[b] + mw1 * xa.s[b &+ 1] }
            }
            seq(x, &a0, &m0)
            if W.n > 1 { seq(x1, &a1, &m1) }
            if W.n > 2 { seq(x2, &a2, &m2) }
            if W.n > 3 { seq(x3, &a3, &m3) }
            b &+= 2
        }
        var t0 = _mm256_setzero_ps(), t1 = _mm256_setzero_ps(), t2 = _mm256_setzero_ps(), t3 = _mm256_setzero_ps()
        if b < nb {
            let p = row + b &* F.bytes
            let (qw, uw) = block32Quants(F.self, p)
            let dw = half(p, 0), mw: Float = F.hasMin ? half(p, 2) : 0
            block32Step(VNNIDot.self, F.self, qw, uw, dw, mw, x, b, &t0, &m0)
            if W.n > 1 { block32Step(VNNIDot.self, F.self, qw, uw, dw, mw, x1, b, &t1, &m1) }
            if W.n > 2 { block32Step(VNNIDot.self, F.self, qw, uw, dw, mw, x2, b, &t2, &m2) }
            if W.n > 3 { block32Step(VNNIDot.self, F.self, qw, uw, dw, mw, x3, b, &t3, &m3) }
        }
        y[r] = _mm512_reduce_add_ps(a0) + hsum256(t0) + m0
        if W.n > 1 { y[ldy &+ r] = _mm512_reduce_add_ps(a1) + hsum256(t1) + m1 }
        if W.n > 2 { y[2 &* ldy &+ r] = _mm512_reduce_add_ps(a2) + hsum256(t2) + m2 }
        if W.n > 3 { y[3 &* ldy &+ r] = _mm512_reduce_add_ps(a3) + hsum256(t3) + m3 }
    }
}
#endif
