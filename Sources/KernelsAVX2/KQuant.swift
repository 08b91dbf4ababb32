#if arch(x86_64)
import _Builtin_intrinsics.intel

/// A K-quant weight format: super-blocks of 256 elements in 8 groups of 32 with small integer
/// scales (and maybe mins), multiplied as ggml's `ggml_vec_dot_q*_K_q8_K` do: per group, the
/// unsigned quants · activations (vpmaddubsw) times the group's scales (vpmaddwd), summed in
/// Int32 over the super-block, then scaled by d · d_x in floats.
public protocol KQuantFormat {
    /// What `prepare` unpacks once per super-block (scales, mins).
    associatedtype Prep
    /// Bytes per super-block.
    static var bytes: Int { get }
    /// True when the format subtracts an integer offset (Q3_K: 4, Q6_K: 32) from its quants.
    static var hasOffset: Bool { get }
    /// log2 of that offset (Q3_K: 2, Q6_K: 5; 0 without one).
    static var offsetShift: Int32 { get }
    /// True when the format has per-group mins (Q2_K, Q4_K, Q5_K).
    static var hasMins: Bool { get }
    static func prepare(_ blk: UnsafeRawPointer) -> Prep
    /// Calls `body(g, quants, scales)` for the 8 groups: the 32 unsigned quants of group g, and
    /// 16 Int16 lanes with the scales of its pair sums (8 lanes for elements 0..<16, 8 for 16..<32).
    static func groups(_ blk: UnsafeRawPointer, _ prep: Prep, _ body: (Int, __m256i, __m256i) -> Void)
    /// Integer lanes added to the super-block's sum for the offset: −offset · Σ scale · Σx.
    static func offset(_ prep: Prep, _ x: Q8Activations, _ i: Int) -> __m256i
    /// Integer lanes of Σ min · Σx, multiplied by dmin · d_x and subtracted.
    static func mins(_ prep: Prep, _ x: Q8Activations, _ i: Int) -> __m256i
    /// The super-block scale d in lane 0 and, for formats with mins, the min scale dmin in lane 1
    /// (else 0).
    static func dAndDmin(_ blk: UnsafeRawPointer) -> __m128
    /// The integer coefficients of the super-block's offset or min term as 16-bit lanes, for
    /// kernels that multiply them with 16-bit activation sums of several sequences at once:
    /// the 8 mins per 32 elements (Q4_K, Q5_K; lanes 0..<8), or the 16 mins or scales per 16
    /// elements (Q2_K mins, Q3_K and Q6_K scales) when `termPer16`.
    static func termCoefficients(_ prep: Prep) -> __m256i
    /// True when `termCoefficients` has 16 coefficients, one per 16 elements.
    static var termPer16: Bool { get }
    /// The float factor of the term (before the activation scale): −dmin, or −offset · d.
    static func termFactor(_ blk: UnsafeRawPointer) -> Float
}

extension KQuantFormat {
    @inlinable @inline(__always) public static func offset(_ prep: Prep, _ x: Q8Activations, _ i: Int) -> __m256i { _mm256_setzero_si256() }
    @inlinable @inline(__always) public static func mins(_ prep: Prep, _ x: Q8Activations, _ i: Int) -> __m256i { _mm256_setzero_si256() }
    @inlinable public static var offsetShift: Int32 { 0 }
    /// Σ coefficient · Σx over the super-block's sixteen groups of 16 (`termPer16` formats), as
    /// eight Int32 lanes: one vpmaddwd of `termCoefficients` with Q8_K's Int16 per-16 sums.
    @inlinable @inline(__always) public static func sixteenTerm(_ prep: Prep, _ x: Q8Activations, _ i: Int) -> __m256i {
        _mm256_madd_epi16(termCoefficients(prep), load256(x.sum16 + 16 &* i))
    }
}

/// The fp16 pair (d, dmin) at `p + offset` converted by one vcvtph2ps into lanes 0 and 1.
@inlinable @inline(__always) func halfPair(_ p: UnsafeRawPointer, _ offset: Int) -> __m128 {
    _mm_cvtph_ps(_mm_cvtsi32_si128(Int32(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self))))
}

/// `y[s·ldy + r] = Σ_k W[r][k] · x_s[k]` for K-quant rows, the sequences in groups of up to four.
@inlinable @inline(__always)
public func kquantMat<F: KQuantFormat>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                                        _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int,
                                        _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    bySeqGroups(nSeq,
                { s in kquantRows(F.self, W4.self, rows, rowBytes, count, nb, st.row(x, s), st, y + s &* ldy, ldy) },
                { s in kquantRows(F.self, W3.self, rows, rowBytes, count, nb, st.row(x, s), st, y + s &* ldy, ldy) },
                { s in kquantRows(F.self, W2.self, rows, rowBytes, count, nb, st.row(x, s), st, y + s &* ldy, ldy) },
                { s in kquantRows(F.self, W1.self, rows, rowBytes, count, nb, st.row(x, s), st, y + s &* ldy, ldy) })
}

/// `W.n` sequences: each group is decoded once for all of them.
@inlinable @inline(__always)
func kquantRows<F: KQuantFormat, W: SeqWidth>(_: F.Type, _: W.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int,
                                              _ nb: Int, _ x: Q8Activations, _ st: Q8Strides,
                                              _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    let x1 = st.row(x, 1), x2 = st.row(x, 2), x3 = st.row(x, 3)
    let q0 = UnsafeRawPointer(x.q), q1 = UnsafeRawPointer(x1.q), q2 = UnsafeRawPointer(x2.q), q3 = UnsafeRawPointer(x3.q)
    let ahead = StreamPrefetch.at(W.n)
    for r in 0..<count {
        let row = rows + r &* rowBytes
        var a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps()
        for i in 0..<nb {
            let blk = row + i &* F.bytes
            // The weights stream from memory for any number of sequences (below the tiles' crossover); ask for them ahead.
            if ahead { prefetchStream(blk, F.bytes) }
            let prep = F.prepare(blk)
            var s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256(), s2 = _mm256_setzero_si256(), s3 = _mm256_setzero_si256()
            if F.hasOffset {
                s0 = F.offset(prep, x, i)
                if W.n > 1 { s1 = F.offset(prep, x1, i) }
                if W.n > 2 { s2 = F.offset(prep, x2, i) }
                if W.n > 3 { s3 = F.offset(prep, x3, i) }
            }
            let xo = 256 &* i
            F.groups(blk, prep) { g, q, sc in
                let o = xo &+ 32 &* g
                s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(_mm256_maddubs_epi16(q, load256(q0, o)), sc))
                if W.n > 1 { s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(_mm256_maddubs_epi16(q, load256(q1, o)), sc)) }
                if W.n > 2 { s2 = _mm256_add_epi32(s2, _mm256_madd_epi16(_mm256_maddubs_epi16(q, load256(q2, o)), sc)) }
                if W.n > 3 { s3 = _mm256_add_epi32(s3, _mm256_madd_epi16(_mm256_maddubs_epi16(q, load256(q3, o)), sc)) }
            }
            // d (lane 0) and dmin (lane 1), each times the sequence's activation scale in `finish`.
            let dd = F.dAndDmin(blk)
            @inline(__always) func finish(_ xa: Q8Activations, _ s: __m256i, _ a: inout __m256) {
                let f = _mm_mul_ps(dd, _mm_set1_ps(xa.d[i]))
                a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_broadcastss_ps(f), a)
                if F.hasMins { a = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(F.mins(prep, xa, i)), _mm256_broadcastss_ps(_mm_movehdup_ps(f)), a) }
            }
            finish(x, s0, &a0)
            if W.n > 1 { finish(x1, s1, &a1) }
            if W.n > 2 { finish(x2, s2, &a2) }
            if W.n > 3 { finish(x3, s3, &a3) }
        }
        y[r] = hsum(a0)
        if W.n > 1 { y[ldy &+ r] = hsum(a1) }
        if W.n > 2 { y[2 &* ldy &+ r] = hsum(a2) }
        if W.n > 3 { y[3 &* ldy &+ r] = hsum(a3) }
    }
}
#endif
