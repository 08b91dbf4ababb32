// Kernels on the `rows8` layout: weight rows repacked at load in groups of eight (TensorKernels'
// Repack.swift has the layout). Per block of eight rows the fp16 header fields of the eight rows
// sit side by side (16 bytes per field), then each 8-byte word of the quants for the eight rows
// (64 bytes per word). So one 256-bit load holds the same eight quant bytes of four rows, and the
// byte products of a block for eight rows end in one vector of eight row sums: per block for eight
// rows one scale conversion, one FMA, and no horizontal sum per row at the end. What the row
// kernels spend per block and row besides the byte products (docs/kernels.md, "Repacking at load")
// is spent once per eight rows here.
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// `y[s·ldy + r] = W[r] · x_s` for rows `0..<count` (a multiple of eight) of a nibble format
/// (Q4_0, Q4_1) in the `rows8` layout; `rows` is the first row's group.
@inlinable @inline(__always)
public func rows8Nibbles<F: Block32Format>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                                          _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int,
                                          _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    bySeqGroups(nSeq,
                { s in rows8Nibbles(F.self, W4.self, rows, rowBytes, count, nb, st.row(x, s), st, y + s &* ldy, ldy) },
                { s in rows8Nibbles(F.self, W3.self, rows, rowBytes, count, nb, st.row(x, s), st, y + s &* ldy, ldy) },
                { s in rows8Nibbles(F.self, W2.self, rows, rowBytes, count, nb, st.row(x, s), st, y + s &* ldy, ldy) },
                { s in rows8Nibbles(F.self, W1.self, rows, rowBytes, count, nb, st.row(x, s), st, y + s &* ldy, ldy) })
}

/// `W.n` sequences over each group of eight rows; each block's nibbles are split once for all.
@inlinable @inline(__always)
func rows8Nibbles<F: Block32Format, W: SeqWidth>(_: F.Type, _: W.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int,
                                                 _ nb: Int, _ x: Q8Activations, _ st: Q8Strides,
                                                 _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    let xs = (x, st.row(x, 1), st.row(x, 2), st.row(x, 3))
    let ones = _mm256_set1_epi16(1), m4 = splat8(0xF)
    // vphaddd of rows 0-3 and rows 4-7 leaves the row sums in the order 0 1 4 5 2 3 6 7 (its own inverse).
    let order = _mm256_set_epi32(7, 6, 3, 2, 5, 4, 1, 0)
    // A block of eight rows: the d fields (16 bytes), the m fields (16, Q4_1), two 64-byte words.
    let groupBlock = 8 &* F.bytes, quants = F.hasMin ? 32 : 16
    var g = 0
    while g < count {
        let base = rows + g &* rowBytes
        var acc = (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps())
        for b in 0..<nb {
            let p = base + b &* groupBlock
            prefetchLines(p + 2048, groupBlock)
            // Word j of rows 0-3 and of rows 4-7: elements 8j..<8j+8 low, 16+8j..<24+8j high nibbles.
            let a0 = load256(p, quants), b0 = load256(p, quants &+ 32), a1 = load256(p, quants &+ 64), b1 = load256(p, quants &+ 96)
            @inline(__always) func lo(_ v: __m256i) -> __m256i { _mm256_and_si256(v, m4) }
            @inline(__always) func hi(_ v: __m256i) -> __m256i { _mm256_and_si256(_mm256_srli_epi16(v, 4), m4) }
            let la0 = lo(a0), ha0 = hi(a0), la1 = lo(a1), ha1 = hi(a1), lb0 = lo(b0), hb0 = hi(b0), lb1 = lo(b1), hb1 = hi(b1)
            let d = _mm256_permutevar8x32_ps(_mm256_cvtph_ps(load128(p, 0)), order)
            let m = F.hasMin ? _mm256_permutevar8x32_ps(_mm256_cvtph_ps(load128(p, 16)), order) : _mm256_setzero_ps()
            @inline(__always) func add(_ xa: Q8Activations, _ a: inout __m256) {
                let q = UnsafeRawPointer(xa.q) + 32 &* b
                @inline(__always) func x8(_ o: Int) -> __m256i { _mm256_set1_epi64x(q.loadUnaligned(fromByteOffset: o, as: Int64.self)) }
                let x0 = x8(0), x1 = x8(8), x2 = x8(16), x3 = x8(24)
                // Pair sums in Int16: at most 4 · 2 · 15 · 128 = 15 360.
                let sa = _mm256_add_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(la0, x0), _mm256_maddubs_epi16(ha0, x2)),
                                          _mm256_add_epi16(_mm256_maddubs_epi16(la1, x1), _mm256_maddubs_epi16(ha1, x3)))
                let sb = _mm256_add_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(lb0, x0), _mm256_maddubs_epi16(hb0, x2)),
                                          _mm256_add_epi16(_mm256_maddubs_epi16(lb1, x1), _mm256_maddubs_epi16(hb1, x3)))
                var s32 = _mm256_hadd_epi32(_mm256_madd_epi16(sa, ones), _mm256_madd_epi16(sb, ones))
                if F.offset != 0 { s32 = _mm256_add_epi32(s32, _mm256_set1_epi32(0 &- F.offset &* xa.sum32[b])) }
                a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s32), _mm256_mul_ps(d, _mm256_broadcast_ss(xa.d + b)), a)
                if F.hasMin { a = _mm256_fmadd_ps(m, _mm256_broadcast_ss(xa.s + b), a) }
            }
            add(xs.0, &acc.0)
            if W.n > 1 { add(xs.1, &acc.1) }
            if W.n > 2 { add(xs.2, &acc.2) }
            if W.n > 3 { add(xs.3, &acc.3) }
        }
        _mm256_storeu_ps(y + g, _mm256_permutevar8x32_ps(acc.0, order))
        if W.n > 1 { _mm256_storeu_ps(y + (ldy &+ g), _mm256_permutevar8x32_ps(acc.1, order)) }
        if W.n > 2 { _mm256_storeu_ps(y + (2 &* ldy &+ g), _mm256_permutevar8x32_ps(acc.2, order)) }
        if W.n > 3 { _mm256_storeu_ps(y + (3 &* ldy &+ g), _mm256_permutevar8x32_ps(acc.3, order)) }
        g &+= 8
    }
}

extension AVX2 {
    /// Q4_0 rows in the `rows8` layout · Q8_0 activations.
    @inline(never)
    public static func q4_0Rows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        rows8Nibbles(Q4_0Format.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q4_1 rows in the `rows8` layout · Q8_1 activations.
    @inline(never)
    public static func q4_1Rows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        rows8Nibbles(Q4_1Format.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
}
#endif
