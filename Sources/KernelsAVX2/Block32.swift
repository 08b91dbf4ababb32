#if arch(x86_64)
import _Builtin_intrinsics.intel

/// The integer kernels of this level, one per weight format (the files named after the formats).
public enum AVX2 {}

/// A weight format of 32-element blocks (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0): each block is an fp16
/// scale d, maybe an fp16 min m, and 32 quants; weight = d · (quant − offset) + m.
public protocol Block32Format {
    /// Bytes per block.
    static var bytes: Int { get }
    /// The block's 32 quants as bytes in element order: unsigned, or signed when `signed`.
    static func quants(_ p: UnsafeRawPointer) -> __m256i
    /// True for signed quants (Q8_0).
    static var signed: Bool { get }
    /// Subtracted from every unsigned quant (8 for Q4_0, 16 for Q5_0).
    static var offset: Int32 { get }
    /// True when the block has an fp16 min at byte 2 (Q4_1, Q5_1).
    static var hasMin: Bool { get }
    /// Bits per quant: 4 (nibbles in the block's last 16 bytes), 5 (nibbles as for 4, the fifth
    /// bits as a 32-bit mask right after the header), or 8 (32 signed bytes after the scale).
    static var quantBits: Int { get }
    /// From this many sequences on, the tiles run instead of the row kernels: AVX2's four-row tiles
    /// (`Int.max`: none, Q8_0) and AVX-512's eight-row tiles. Measured from memory per format and
    /// level with `TOKENMILL_INT_TILES_FROM` (docs/kernels.md, "Crossovers per format from memory").
    static var tilesMinSeq: (avx2: Int, avx512: Int) { get }
}

/// `y[s·ldy + r] = Σ_b d_w·d_x · Σ_i (q_i − offset)·x_i (+ m_w · s_x)`, as ggml's
/// `ggml_vec_dot_q*_q8_0/q8_1`: the integer block dot product is exact, then scaled in floats.
@inlinable @inline(__always)
public func block32Mat<D: ByteDot, F: Block32Format>(_: D.Type, _: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int,
                                                      _ count: Int, _ nb: Int, _ x: Q8Activations, _ st: Q8Strides,
                                                      _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    bySeqGroups(nSeq,
                { s in block32Rows(D.self, F.self, W4.self, rows, rowBytes, count, nb, st.row(x, s), st, y + s &* ldy, ldy) },
                { s in block32Rows(D.self, F.self, W3.self, rows, rowBytes, count, nb, st.row(x, s), st, y + s &* ldy, ldy) },
                { s in block32Rows(D.self, F.self, W2.self, rows, rowBytes, count, nb, st.row(x, s), st, y + s &* ldy, ldy) },
                { s in
                    if F.signed {
                        block32Row1(D.self, F.self, rows, rowBytes, count, nb, st.row(x, s), y + s &* ldy)
                    } else {
                        block32Row1Unsigned(D.self, F.self, rows, rowBytes, count, nb, st.row(x, s), y + s &* ldy)
                    }
                })
}

/// True when the kernels multiply `F`'s quants as signed bytes: Q8_0's, and the offset formats'
/// `q − offset` (Q4_0, Q5_0), so the offset costs one subtraction per block instead of a
/// correction per block and sequence.
@inlinable @inline(__always)
public func block32Signed<F: Block32Format>(_: F.Type) -> Bool { F.signed || F.offset != 0 }

/// The block's quants `qw` (signed `q − offset` for the offset formats) and the unsigned
/// operand `uw` of the byte products (|qw| when signed).
@inlinable @inline(__always)
public func block32Quants<F: Block32Format>(_: F.Type, _ p: UnsafeRawPointer) -> (qw: __m256i, uw: __m256i) {
    var qw = F.quants(p)
    if F.offset != 0 { qw = _mm256_sub_epi8(qw, _mm256_set1_epi8(Int8(truncatingIfNeeded: F.offset))) }
    return (qw, block32Signed(F.self) ? _mm256_sign_epi8(qw, qw) : qw)
}

/// The dot product of one block with one sequence's activations, accumulated into `acc`/`mins`.
@inlinable @inline(__always)
public func block32Step<D: ByteDot, F: Block32Format>(_: D.Type, _: F.Type, _ qw: __m256i, _ uw: __m256i, _ dw: Float, _ mw: Float,
                                               _ x: Q8Activations, _ b: Int, _ acc: inout __m256, _ mins: inout Float) {
    let qy = load256(UnsafeRawPointer(x.q), 32 &* b)
    // Signed weights: |w| · (x with w's sign), an unsigned × signed product with the same sum.
    let dot = D.dot(_mm256_setzero_si256(), uw, block32Signed(F.self) ? _mm256_sign_epi8(qy, qw) : qy)
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(dw * x.d[b]), acc)
    if F.hasMin { mins += mw * x.s[b] }
}

/// One sequence: two blocks per step into separate accumulators, so consecutive FMAs do not wait
/// on each other.
@inlinable @inline(__always)
func block32Row1<D: ByteDot, F: Block32Format>(_: D.Type, _: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int,
                                               _ count: Int, _ nb: Int, _ x: Q8Activations, _ y: UnsafeMutablePointer<Float>) {
    let ahead = StreamPrefetch.at(1)
    for r in 0..<count {
        let row = rows + r &* rowBytes
        var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
        var min0: Float = 0, min1: Float = 0
        @inline(__always) func block(_ b: Int, _ acc: inout __m256, _ mins: inout Float) {
            let p = row + b &* F.bytes
            let (qw, uw) = block32Quants(F.self, p)
            block32Step(D.self, F.self, qw, uw, half(p, 0), F.hasMin ? half(p, 2) : 0, x, b, &acc, &mins)
        }
        var b = 0
        while b &+ 2 <= nb {
            if ahead { prefetchStream(row + b &* F.bytes, 2 &* F.bytes) }
            block(b, &acc0, &min0)
            block(b &+ 1, &acc1, &min1)
            b &+= 2
        }
        if b < nb { block(b, &acc0, &min0) }
        y[r] = hsum(_mm256_add_ps(acc0, acc1)) + (min0 + min1)
    }
}

/// `W.n` (2-4) sequences: each block is decoded once for all of them.
@inlinable @inline(__always)
func block32Rows<D: ByteDot, F: Block32Format, W: SeqWidth>(_: D.Type, _: F.Type, _: W.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int,
                                                            _ count: Int, _ nb: Int, _ x: Q8Activations, _ st: Q8Strides,
                                                            _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    let x1 = st.row(x, 1), x2 = st.row(x, 2), x3 = st.row(x, 3), ahead = StreamPrefetch.at(W.n)
    for r in 0..<count {
        let row = rows + r &* rowBytes
        var a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps()
        var m0: Float = 0, m1: Float = 0, m2: Float = 0, m3: Float = 0
        for b in 0..<nb {
            let p = row + b &* F.bytes
            if ahead { prefetchStream(p, F.bytes) }  // the rows stream from memory below the tiles' crossover
            let (qw, uw) = block32Quants(F.self, p)
            let dw = half(p, 0), mw: Float = F.hasMin ? half(p, 2) : 0
            block32Step(D.self, F.self, qw, uw, dw, mw, x, b, &a0, &m0)
            if W.n > 1 { block32Step(D.self, F.self, qw, uw, dw, mw, x1, b, &a1, &m1) }
            if W.n > 2 { block32Step(D.self, F.self, qw, uw, dw, mw, x2, b, &a2, &m2) }
            if W.n > 3 { block32Step(D.self, F.self, qw, uw, dw, mw, x3, b, &a3, &m3) }
        }
        y[r] = hsum(a0) + m0
        if W.n > 1 { y[ldy &+ r] = hsum(a1) + m1 }
        if W.n > 2 { y[2 &* ldy &+ r] = hsum(a2) + m2 }
        if W.n > 3 { y[3 &* ldy &+ r] = hsum(a3) + m3 }
    }
}
#endif
