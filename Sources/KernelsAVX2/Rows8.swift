// Kernels on the `rows8` layout: weight rows repacked at load in groups of eight (TensorKernels'
// Repack.swift has the layout). Per block of eight rows the fp16 header fields of the eight rows
// sit side by side (16 bytes per field), then each 8-byte word of the quants for the eight rows
// (64 bytes per word). So one 256-bit load holds the same eight quant bytes of four rows, and the
// byte products of a block for eight rows end in one vector of eight row sums: per block for eight
// rows one scale conversion, one FMA, and no horizontal sum per row at the end. What the row
// kernels spend per block and row besides the byte products (docs/kernels.md, "Repacking at load")
// is spent once per eight rows here. Q5_0/Q5_1's fifth bits and quant words are recoded at load into five-bit
// values (TensorKernels' `Repack.toUnits`: a word T of top bits, then A_0 and A_1), read by `fiveBitOperands`.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import Prefetch

extension Block32Format {
    /// In a block of eight rows of the `rows8` layout: bytes of the fp16 fields (d, and m for the
    /// formats with a min; 16 bytes each), where Q5_0/Q5_1's units start (their 32-byte word T of top bits,
    /// `Repack.toUnits`).
    @inlinable public static var rows8Fields: Int { hasMin ? 32 : 16 }
    /// Where the 64-byte quant words start: after the fields and, for Q5, the units' word T (A_0 and A_1 here).
    @inlinable public static var rows8Quants: Int { quantBits == 5 ? rows8Fields &+ 32 : rows8Fields }
}

/// The operands of one block of eight rows: the eight byte vectors (`lo`/`hi` nibbles of word
/// j for rows 0-3 (`a`) and rows 4-7 (`b`): elements 8j..<8j+8 and 16+8j..<24+8j, fifth bits added),
/// and the scales and mins in the order the row sums come out of `vphaddd` (0 1 4 5 2 3 6 7).
public struct Rows8Operands {
    public var la0, la1, ha0, ha1, lb0, lb1, hb0, hb1: __m256i
    public var d, m: __m256
    /// Bytes of one block's operands in the cache of `rows8Nibbles` (`store`, `init(cached:)`).
    @inlinable public static var bytes: Int { 320 }

    /// Block `b` of the group at `group` (the `rows8` layout), expanded; `ahead`: prefetch the block `streamPrefetchBytes` on
    /// (`StreamPrefetch`).
    @inlinable @inline(__always)
    public init<F: Block32Format>(_: F.Type, _ group: UnsafeRawPointer, _ b: Int, ahead: Bool) {
        let m4 = splat8(0xF), order = rows8SumOrder
        let p = group + b &* (8 &* F.bytes), fields = F.rows8Fields, quants = F.rows8Quants
        if ahead { prefetchStream(p, 8 &* F.bytes) }
        let a0 = load256(p, quants), b0 = load256(p, quants &+ 32), a1 = load256(p, quants &+ 64), b1 = load256(p, quants &+ 96)
        if F.quantBits == 5 {
            // The units (`Repack.toUnits`): word j of rows 4h ..< 4h + 4 takes its top bits from T's field 2h + j.
            let t = load256(p, fields)
            (la0, ha0) = fiveBitOperands(a0, t, 0); (la1, ha1) = fiveBitOperands(a1, t, 1)
            (lb0, hb0) = fiveBitOperands(b0, t, 2); (lb1, hb1) = fiveBitOperands(b1, t, 3)
        } else {
            @inline(__always) func lo(_ v: __m256i) -> __m256i { _mm256_and_si256(v, m4) }
            @inline(__always) func hi(_ v: __m256i) -> __m256i { _mm256_and_si256(_mm256_srli_epi16(v, 4), m4) }
            la0 = lo(a0); ha0 = hi(a0); la1 = lo(a1); ha1 = hi(a1); lb0 = lo(b0); hb0 = hi(b0); lb1 = lo(b1); hb1 = hi(b1)
        }
        d = _mm256_permutevar8x32_ps(_mm256_cvtph_ps(load128(p, 0)), order)
        m = F.hasMin ? _mm256_permutevar8x32_ps(_mm256_cvtph_ps(load128(p, 16)), order) : _mm256_setzero_ps()
    }

    /// Operands stored by `store` at `p` (32-aligned).
    @inlinable @inline(__always)
    public init(cached p: UnsafeRawPointer) {
        @inline(__always) func ld(_ o: Int) -> __m256i { _mm256_load_si256(OpaquePointer(p + o)) }
        la0 = ld(0); la1 = ld(32); ha0 = ld(64); ha1 = ld(96); lb0 = ld(128); lb1 = ld(160); hb0 = ld(192); hb1 = ld(224)
        d = _mm256_load_ps((p + 256).assumingMemoryBound(to: Float.self))
        m = _mm256_load_ps((p + 288).assumingMemoryBound(to: Float.self))
    }

    @inlinable @inline(__always)
    public func store(_ p: UnsafeMutableRawPointer) {
        @inline(__always) func st(_ o: Int, _ v: __m256i) { _mm256_store_si256(OpaquePointer(p + o), v) }
        st(0, la0); st(32, la1); st(64, ha0); st(96, ha1); st(128, lb0); st(160, lb1); st(192, hb0); st(224, hb1)
        _mm256_store_ps((p + 256).assumingMemoryBound(to: Float.self), d)
        _mm256_store_ps((p + 288).assumingMemoryBound(to: Float.self), m)
    }
}

/// vphaddd of rows 0-3 and rows 4-7 leaves the row sums in the order 0 1 4 5 2 3 6 7 (its own inverse).
@inlinable @inline(__always) var rows8SumOrder: __m256i { _mm256_set_epi32(7, 6, 3, 2, 5, 4, 1, 0) }

/// The eight row sums of `W.n` sequences (`acc`, in `vphaddd`'s order) to `y` (sequence s at `y + s · ldy`), in row order.
@inlinable @inline(__always)
func storeRows8Sums<W: SeqWidth>(_: W.Type, _ acc: (__m256, __m256, __m256, __m256), _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    let order = rows8SumOrder
    _mm256_storeu_ps(y, _mm256_permutevar8x32_ps(acc.0, order))
    if W.n > 1 { _mm256_storeu_ps(y + ldy, _mm256_permutevar8x32_ps(acc.1, order)) }
    if W.n > 2 { _mm256_storeu_ps(y + 2 &* ldy, _mm256_permutevar8x32_ps(acc.2, order)) }
    if W.n > 3 { _mm256_storeu_ps(y + 3 &* ldy, _mm256_permutevar8x32_ps(acc.3, order)) }
}

/// `y[s·ldy + r] = W[r] · x_s` for rows `0..<count` (a multiple of eight) of a nibble format
/// (Q4_0, Q4_1, Q5_0, Q5_1) in the `rows8` layout; `rows` is the first row's group. Up to four
/// sequences (one pass) expand each block in place; more (prompts, wide batches) expand a group's
/// blocks once into a cache that every pass of four sequences reads.
@inlinable @inline(__always)
public func rows8Nibbles<F: Block32Format>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                                          _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int,
                                          _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    @inline(__always) func passes(_ y: UnsafeMutablePointer<Float>, _ operands: (Int) -> Rows8Operands) {
        bySeqGroups(nSeq,
                    { s in rows8Group(F.self, W4.self, nb, st.row(x, s), st, y + s &* ldy, ldy, operands) },
                    { s in rows8Group(F.self, W3.self, nb, st.row(x, s), st, y + s &* ldy, ldy, operands) },
                    { s in rows8Group(F.self, W2.self, nb, st.row(x, s), st, y + s &* ldy, ldy, operands) },
                    { s in rows8Group(F.self, W1.self, nb, st.row(x, s), st, y + s &* ldy, ldy, operands) })
    }
    let ahead = StreamPrefetch.at(nSeq)
    if nSeq <= 4 {
        eachRows8Group(rows, rowBytes, count) { group, g in
            passes(y + g) { Rows8Operands(F.self, group, $0, ahead: ahead) }
        }
        return
    }
    withUnsafeTemporaryAllocation(byteCount: nb &* Rows8Operands.bytes, alignment: 32) { buf in
        let cache = buf.baseAddress!
        eachRows8Group(rows, rowBytes, count) { group, g in
            for b in 0..<nb { Rows8Operands(F.self, group, b, ahead: ahead).store(cache + b &* Rows8Operands.bytes) }
            passes(y + g) { Rows8Operands(cached: cache + $0 &* Rows8Operands.bytes) }
        }
    }
}

/// `W.n` sequences over one group of eight rows, block `b`'s operands from `operands(b)`.
@inlinable @inline(__always)
func rows8Group<F: Block32Format, W: SeqWidth>(_: F.Type, _: W.Type, _ nb: Int, _ x: Q8Activations, _ st: Q8Strides,
                                               _ y: UnsafeMutablePointer<Float>, _ ldy: Int,
                                               _ operands: (Int) -> Rows8Operands) {
    let xs = (x, st.row(x, 1), st.row(x, 2), st.row(x, 3))
    let ones = _mm256_set1_epi16(1)
    var acc = (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps())
    for b in 0..<nb {
        let o = operands(b)
        @inline(__always) func add(_ xa: Q8Activations, _ a: inout __m256) {
            let q = UnsafeRawPointer(xa.q) + 32 &* b
            let x0 = qwords256(q, 0), x1 = qwords256(q, 8), x2 = qwords256(q, 16), x3 = qwords256(q, 24)
            // Pair sums in Int16: at most 4 · 2 · 31 · 128 = 31 744.
            let sa = _mm256_add_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(o.la0, x0), _mm256_maddubs_epi16(o.ha0, x2)),
                                      _mm256_add_epi16(_mm256_maddubs_epi16(o.la1, x1), _mm256_maddubs_epi16(o.ha1, x3)))
            let sb = _mm256_add_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(o.lb0, x0), _mm256_maddubs_epi16(o.hb0, x2)),
                                      _mm256_add_epi16(_mm256_maddubs_epi16(o.lb1, x1), _mm256_maddubs_epi16(o.hb1, x3)))
            var s32 = _mm256_hadd_epi32(_mm256_madd_epi16(sa, ones), _mm256_madd_epi16(sb, ones))
            if F.offset != 0 { s32 = _mm256_add_epi32(s32, _mm256_set1_epi32(0 &- F.offset &* xa.sum32[b])) }
            a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s32), _mm256_mul_ps(o.d, _mm256_broadcast_ss(xa.d + b)), a)
            if F.hasMin { a = _mm256_fmadd_ps(o.m, _mm256_broadcast_ss(xa.s + b), a) }
        }
        add(xs.0, &acc.0)
        if W.n > 1 { add(xs.1, &acc.1) }
        if W.n > 2 { add(xs.2, &acc.2) }
        if W.n > 3 { add(xs.3, &acc.3) }
    }
    storeRows8Sums(W.self, acc, y, ldy)
}

/// `y[s·ldy + r] = W[r] · x_s` for rows `0..<count` (a multiple of eight) of Q8_0 in the `rows8` layout. A
/// block's four 64-byte words are the eight rows' signed bytes as they are (row r in qword r), so a
/// 256-bit load is one word of four rows and the products are the row kernels' |w| · (x with w's sign).
/// Each word's pair sums are widened to 32 bits before the next is added (two words' Int16 pair sums
/// can pass 32 767). More than four sequences read each group in passes of four in place: a group's
/// blocks (8 · 34 bytes a block) stay in the L1/L2 between passes, and there is nothing to expand.
@inlinable @inline(__always)
public func rows8Q8_0(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                      _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    let ahead = StreamPrefetch.at(nSeq)
    eachRows8Group(rows, rowBytes, count) { group, g in
        // Only the first pass over a group prefetches (the later ones find it in the cache).
        bySeqGroups(nSeq,
                    { s in rows8Q8_0Group(W4.self, group, nb, st.row(x, s), st, y + g + s &* ldy, ldy, ahead && s == 0) },
                    { s in rows8Q8_0Group(W3.self, group, nb, st.row(x, s), st, y + g + s &* ldy, ldy, ahead && s == 0) },
                    { s in rows8Q8_0Group(W2.self, group, nb, st.row(x, s), st, y + g + s &* ldy, ldy, ahead && s == 0) },
                    { s in rows8Q8_0Group(W1.self, group, nb, st.row(x, s), st, y + g + s &* ldy, ldy, ahead && s == 0) })
    }
}

/// `W.n` sequences over one Q8_0 group of eight rows in the `rows8` layout.
@inlinable @inline(__always)
func rows8Q8_0Group<W: SeqWidth>(_: W.Type, _ group: UnsafeRawPointer, _ nb: Int, _ x: Q8Activations, _ st: Q8Strides,
                                 _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ ahead: Bool) {
    let xs = (x, st.row(x, 1), st.row(x, 2), st.row(x, 3))
    let ones = _mm256_set1_epi16(1), order = rows8SumOrder
    let quants = Q8_0Format.rows8Quants, blockBytes = 8 &* Q8_0Format.bytes
    var acc = (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps())
    for b in 0..<nb {
        let p = group + b &* blockBytes
        if ahead { prefetchStream(p, blockBytes) }
        let d = _mm256_permutevar8x32_ps(_mm256_cvtph_ps(load128(p, 0)), order)
        @inline(__always) func add(_ xa: Q8Activations, _ a: inout __m256) {
            let q = UnsafeRawPointer(xa.q) + 32 &* b
            @inline(__always) func word(_ j: Int) -> (__m256i, __m256i) {
                let xj = qwords256(q, 8 &* j)
                let wa = load256(p, quants &+ 64 &* j), wb = load256(p, quants &+ 64 &* j &+ 32)
                return (_mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(wa, wa), _mm256_sign_epi8(xj, wa)), ones),
                        _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(wb, wb), _mm256_sign_epi8(xj, wb)), ones))
            }
            let w0 = word(0), w1 = word(1), w2 = word(2), w3 = word(3)
            let sa = _mm256_add_epi32(_mm256_add_epi32(w0.0, w1.0), _mm256_add_epi32(w2.0, w3.0))
            let sb = _mm256_add_epi32(_mm256_add_epi32(w0.1, w1.1), _mm256_add_epi32(w2.1, w3.1))
            a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_hadd_epi32(sa, sb)), _mm256_mul_ps(d, _mm256_broadcast_ss(xa.d + b)), a)
        }
        add(xs.0, &acc.0)
        if W.n > 1 { add(xs.1, &acc.1) }
        if W.n > 2 { add(xs.2, &acc.2) }
        if W.n > 3 { add(xs.3, &acc.3) }
    }
    storeRows8Sums(W.self, acc, y, ldy)
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
    /// Q5_0 rows in the `rows8` layout · Q8_0 activations.
    @inline(never)
    public static func q5_0Rows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        rows8Nibbles(Q5_0Format.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q5_1 rows in the `rows8` layout · Q8_1 activations.
    @inline(never)
    public static func q5_1Rows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        rows8Nibbles(Q5_1Format.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q8_0 rows in the `rows8` layout · Q8_0 activations.
    @inline(never)
    public static func q8_0Rows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        rows8Q8_0(rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
}
#endif
