// Q2_K and Q3_K in the `rows8` layout on 256-bit vectors (the layout and the AVX-512 kernel:
// KernelsAVX512/CrumbRows8_512.swift). A 256-bit load of a 64-byte word holds one half of the eight rows
// (rows 0-3, or 4-7), row r in qword r; each super-block is done for both halves before the next. Per
// sixteen, as on AVX-512, one crumb of the two words that hold it (Q3_K: its high bit moved to bit 2 by one
// shift, masked and or-ed in) through one `vpmaddubsw` each against the sequence's 8 activation bytes
// broadcast to every qword, added in Int16, then one `vpmaddwd` by the scale spread over the row's words
// (scale · 256). The min (Q2_K) or offset (Q3_K) term: the coefficients times the split activation sums of
// the sixteens, two `vpmaddubsw` and one `vpmaddwd` per byte half. Sequences in passes of two.
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Q2_K and Q3_K in the `rows8` layout: the super-block of eight rows and where its parts lie. Q2_K: d (16
/// bytes: row r's fp16 at 2r), dmin (16), the two scale words (2 × 64: row r's qword at 8r; word w holds the
/// scale bytes of sixteens 8w ..< 8w + 8), the eight quant words (64 each). Q3_K: d (16), scale bytes 8-11
/// (32: row r at 4r), scale bytes 0-7 (64), the four high-bit words (4 × 64), the eight quant words.
public protocol CrumbRows8: KQuantFormat {
    /// Bytes of one super-block of eight rows (8 · `bytes`).
    static var groupBlock: Int { get }
    /// Offset of the eight quant words.
    static var quantsAt: Int { get }
    /// Q3_K: the high-bit words (at 112) and the signed scales with their offset term.
    static var highBits: Bool { get }
}

extension Q2_KFormat: CrumbRows8 {
    @inlinable public static var groupBlock: Int { 672 }
    @inlinable public static var quantsAt: Int { 160 }
    @inlinable public static var highBits: Bool { false }
}

extension Q3_KFormat: CrumbRows8 {
    @inlinable public static var groupBlock: Int { 880 }
    @inlinable public static var quantsAt: Int { 368 }
    @inlinable public static var highBits: Bool { true }
}

/// Bytes per super-block and sequence of `kSplitSums16`: a_0..a_15, b_0..b_15, then Σ_t Σx_t as Int32.
public let splitSums16Bytes = 48

/// Σx_t of every sixteen t of every super-block of one sequence as bytes, Σx_t = 128 a_t + b_t (|Σx_t| ≤
/// 16 · 128, so a_t and b_t fit Int8), and the super-block's Σ_t Σx_t (`splitSums16Bytes` per super-block).
@inline(never)
public func kSplitSums16(_ x: Q8Activations, _ nb: Int, _ out: UnsafeMutableRawPointer) {
    for i in 0..<nb {
        let base = out + splitSums16Bytes &* i
        var total: Int32 = 0
        for t in 0..<16 {
            let s = Int(x.sum16[16 &* i &+ t]), a = (s &+ 64) >> 7
            base.storeBytes(of: Int8(truncatingIfNeeded: a), toByteOffset: t, as: Int8.self)
            base.storeBytes(of: Int8(truncatingIfNeeded: s &- 128 &* a), toByteOffset: 16 &+ t, as: Int8.self)
            total &+= Int32(truncatingIfNeeded: s)
        }
        base.storeBytes(of: total, toByteOffset: 32, as: Int32.self)
    }
}

/// Calls `body(s, split)` for every sequence s with its split sums (`kSplitSums16`, made once per call).
@inlinable @inline(__always)
public func withSplitSums16(_ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int, _ nb: Int, _ body: (UnsafeRawPointer) -> Void) {
    withUnsafeTemporaryAllocation(byteCount: nSeq &* splitSums16Bytes &* nb, alignment: 16) { buf in
        let split = buf.baseAddress!
        for s in 0..<nSeq { kSplitSums16(st.row(x, s), nb, split + s &* splitSums16Bytes &* nb) }
        body(UnsafeRawPointer(split))
    }
}

/// One group of eight rows for `W.n` (1 or 2) sequences: per super-block rows 0-3, then rows 4-7.
@inline(never)
func crumbRows8Group<F: CrumbRows8, W: SeqWidth>(_: F.Type, _: W.Type, _ group: UnsafeRawPointer, _ nb: Int,
                                                 _ x: Q8Activations, _ st: Q8Strides, _ split: UnsafeRawPointer,
                                                 _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    let x1 = st.row(x, 1)
    let q0 = UnsafeRawPointer(x.q), q1 = UnsafeRawPointer(x1.q)
    let m3 = splat8(3), m4 = splat8(0xF), four = splat8(4), ones = _mm256_set1_epi16(1), by128 = _mm256_set1_epi16(128)
    // vpshufb within 128-bit lanes: byte 0 of each qword into the high byte of each of its words, the low bytes
    // zero (0x80); + t picks byte t.
    let z: Int64 = 0x80, first = z | z << 16 | z << 32 | z << 48, second = first | 0x0800_0800_0800_0800
    let spread0 = _mm256_set_epi64x(second, first, second, first), ahead = StreamPrefetch.at(W.n)
    // Sequence k, rows 4h ..< 4h + 4: f[k][h].
    var f00 = _mm256_setzero_ps(), f01 = _mm256_setzero_ps(), f10 = _mm256_setzero_ps(), f11 = _mm256_setzero_ps()
    for i in 0..<nb {
        let p = group + i &* F.groupBlock
        if ahead { prefetchLines(p + 2 &* F.groupBlock, F.groupBlock) }
        @inline(__always) func rowsHalf(_ hh: Int, _ fa: inout __m256, _ fb: inout __m256) {
            let hb = 32 &* hh
            // The four rows' sixteen scales as the bytes of their qwords (sixteens 0-7, 8-15), and the unsigned
            // coefficients of the min or offset term, as on AVX-512.
            let scales: (__m256i, __m256i), terms: (__m256i, __m256i)
            if F.highBits {
                let w = load256(p, 48 &+ hb), a2 = _mm256_cvtepu32_epi64(load128(p, 16 &+ 16 &* hh))
                let lo03 = _mm256_set1_epi64x(0x0000_0000_0303_0303), hi03 = _mm256_set1_epi64x(0x0303_0303_0000_0000)
                let h0 = _mm256_or_si256(_mm256_and_si256(a2, lo03), _mm256_and_si256(_mm256_slli_epi64(a2, 30), hi03))
                let h1 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi64(a2, 4), lo03), _mm256_and_si256(_mm256_slli_epi64(a2, 26), hi03))
                let u0 = _mm256_or_si256(_mm256_and_si256(w, m4), _mm256_slli_epi64(h0, 4))
                let u1 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi64(w, 4), m4), _mm256_slli_epi64(h1, 4))
                scales = (_mm256_sub_epi8(u0, splat8(32)), _mm256_sub_epi8(u1, splat8(32)))
                terms = (u0, u1)
            } else {
                let w0 = load256(p, 32 &+ hb), w1 = load256(p, 96 &+ hb)
                scales = (_mm256_and_si256(w0, m4), _mm256_and_si256(w1, m4))
                terms = (_mm256_and_si256(_mm256_srli_epi64(w0, 4), m4), _mm256_and_si256(_mm256_srli_epi64(w1, 4), m4))
            }
            var s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256()
            let xo = 256 &* i
            /// Words m = 2h and 2h + 1 of half n: their crumb j is sixteen 8n + 2j + h.
            @inline(__always) func quad(_ n: Int, _ h: Int) {
                let va = load256(p, F.quantsAt &+ 64 &* (4 &* n &+ 2 &* h) &+ hb)
                let vb = load256(p, F.quantsAt &+ 64 &* (4 &* n &+ 2 &* h &+ 1) &+ hb)
                @inline(__always) func sixteen(_ j: Int) {
                    let t = 8 &* n &+ 2 &* j &+ h
                    @inline(__always) func crumb(_ v: __m256i, _ m: Int) -> __m256i {
                        let q = j == 0 ? _mm256_and_si256(v, m3) : _mm256_and_si256(_mm256_srli_epi16(v, Int32(2 &* j)), m3)
                        guard F.highBits else { return q }
                        // Bit 4n + j of each high-bit byte moved to bit 2 (worth 4) by one shift, then masked.
                        let hv = load256(p, 112 &+ 64 &* m &+ hb), b = Int32(4 &* n &+ j)
                        let high = _mm256_and_si256(b >= 2 ? _mm256_srli_epi16(hv, b &- 2) : _mm256_slli_epi16(hv, 2 &- b), four)
                        return _mm256_or_si256(q, high)
                    }
                    let qa = crumb(va, 2 &* h), qb = crumb(vb, 2 &* h &+ 1)
                    let sw = _mm256_shuffle_epi8(t < 8 ? scales.0 : scales.1, _mm256_add_epi8(spread0, splat8(UInt8(t & 7))))
                    let o = xo &+ 128 &* n &+ 32 &* j &+ 16 &* h
                    @inline(__always) func bcast(_ q: UnsafeRawPointer, _ at: Int) -> __m256i {
                        _mm256_set1_epi64x(q.loadUnaligned(fromByteOffset: at, as: Int64.self))
                    }
                    @inline(__always) func step(_ q: UnsafeRawPointer, _ s: inout __m256i) {
                        let sum = _mm256_add_epi16(_mm256_maddubs_epi16(qa, bcast(q, o)), _mm256_maddubs_epi16(qb, bcast(q, o &+ 8)))
                        s = _mm256_add_epi32(s, _mm256_madd_epi16(sum, sw))
                    }
                    step(q0, &s0)
                    if W.n > 1 { step(q1, &s1) }
                }
                sixteen(0); sixteen(1); sixteen(2); sixteen(3)
            }
            quad(0, 0); quad(0, 1); quad(1, 0); quad(1, 1)
            // d (and Q2_K's dmin) of the four rows, each in the row's two lanes.
            @inline(__always) func pairs(_ at: Int) -> __m256 {
                let v = _mm_loadl_epi64((p + at).assumingMemoryBound(to: __m128i.self))
                return _mm256_cvtph_ps(_mm_unpacklo_epi16(v, v))
            }
            let d = pairs(8 &* hh), d256 = _mm256_mul_ps(d, _mm256_set1_ps(1.0 / 256))
            let tf = F.highBits ? _mm256_mul_ps(d, _mm256_set1_ps(-4)) : _mm256_sub_ps(_mm256_setzero_ps(), pairs(16 &+ 8 &* hh))
            @inline(__always) func finish(_ k: Int, _ xa: Q8Activations, _ s: __m256i, _ f: inout __m256) {
                let sp = split + splitSums16Bytes &* (k &* nb &+ i)
                @inline(__always) func bytes(_ at: Int) -> __m256i { _mm256_set1_epi64x(sp.loadUnaligned(fromByteOffset: at, as: Int64.self)) }
                let ta = _mm256_add_epi16(_mm256_maddubs_epi16(terms.0, bytes(0)), _mm256_maddubs_epi16(terms.1, bytes(8)))
                let tb = _mm256_add_epi16(_mm256_maddubs_epi16(terms.0, bytes(16)), _mm256_maddubs_epi16(terms.1, bytes(24)))
                var m = _mm256_add_epi32(_mm256_madd_epi16(ta, by128), _mm256_madd_epi16(tb, ones))
                if F.highBits {
                    // Σ_t (u_t − 32) Σx_t: the −32 Σ_t Σx_t once per row (its even lane).
                    let total = sp.loadUnaligned(fromByteOffset: 32, as: Int32.self)
                    let c = 32 &* total
                    m = _mm256_sub_epi32(m, _mm256_set_epi32(0, c, 0, c, 0, c, 0, c))
                }
                let dx = _mm256_set1_ps(xa.d[i])
                f = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(d256, dx), f)
                f = _mm256_fmadd_ps(_mm256_cvtepi32_ps(m), _mm256_mul_ps(tf, dx), f)
            }
            finish(0, x, s0, &fa)
            if W.n > 1 { finish(1, x1, s1, &fb) }
        }
        rowsHalf(0, &f00, &f10)
        rowsHalf(1, &f01, &f11)
    }
    storeRowPairs256(W.n, (f00, f10, f10, f10), y, ldy)
    storeRowPairs256(W.n, (f01, f11, f11, f11), y + 4, ldy)
}

/// Every sequence against rows of eight groups: the split sums once, then per group the sequences in passes
/// of two (the group's bytes stay in cache between passes).
@inline(__always)
func crumbRows8Mat<F: CrumbRows8>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                                  _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    withSplitSums16(x, st, nSeq, nb) { split in
        var g = 0
        while g < count {
            let group = rows + g &* rowBytes
            var s = 0
            while s &+ 2 <= nSeq {
                crumbRows8Group(F.self, W2.self, group, nb, st.row(x, s), st, split + s &* splitSums16Bytes &* nb, y + (s &* ldy &+ g), ldy)
                s &+= 2
            }
            if s < nSeq {
                crumbRows8Group(F.self, W1.self, group, nb, st.row(x, s), st, split + s &* splitSums16Bytes &* nb, y + (s &* ldy &+ g), ldy)
            }
            g &+= 8
        }
    }
}

extension AVX2 {
    /// Q2_K rows in the `rows8` layout · Q8_K activations.
    @inline(never)
    public static func q2_KRows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        crumbRows8Mat(Q2_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q3_K rows in the `rows8` layout · Q8_K activations.
    @inline(never)
    public static func q3_KRows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        crumbRows8Mat(Q3_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
}
#endif
