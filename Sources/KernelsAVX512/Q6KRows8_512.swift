// Q6_K in the `rows8` layout (TensorKernels' Repack.swift). A super-block of eight rows (1680 bytes) holds the
// rows' d (16 bytes: row r's fp16 at 2r), their two scale words (2 × 64: row r's qword at 8r; word w holds the
// signed scales of sixteens 8w ..< 8w + 8), then four units m of six 8-byte words of the eight rows (64 bytes each,
// row r's word at 8r): the file's ql and qh bits recoded at load (`Q6_KBits`, TensorKernels/Formats/Q6_K.swift),
// unit m for sixteens 4m ..< 4m + 4. Word 6m + k holds in bits 0-5 the 6-bit values (unsigned 0...63) of sixteen
// 4m + k / 2, its first 8 elements (k even) or the next 8, of eight rows: one mask an operand; sixteen 4m + 3 lies in
// the words' bits 6-7, two bits a word (its first 8 elements in words 6m ..< 6m + 3, the next in 6m + 3 ..< 6m + 6):
// three shifts, masks and ors an operand. The words lie in the order the kernel reads them (from memory the order
// a kernel walks a block in is worth several points of the stream: docs/kernels.md).
// Per sixteen and sequence: two `vpmaddubsw` against the sequence's 8 activation bytes broadcast to every
// qword, added in Int16 (|Σ| ≤ 2 · 2 · 63 · 128), and one `vpdpwssd` by the rows' scale spread over each
// row's four words (one `vpshufb` of the scales widened to Int16 once per super-block). The offset −32 is
// −32 Σ_t scale_t · Σx_t: four `vpdpwssd` of the same widened scales against Q8_K's sums per sixteen.
// Every sequence count reads the layout in place, in passes of up to four per group of eight rows (the
// group's bytes staying in L1 or L2 between passes). Filling the GGUF layout's eight-row tiles from this layout
// instead (decoded once per group, then read by every pass) was measured and not kept: from memory, two
// threads, 16 sequences 10-15% slower than the passes, 64 and 128 within ±3% (docs/kernels.md).
#if arch(x86_64)
import _Builtin_intrinsics.intel
import KernelsAVX2
import Prefetch

/// The eight rows' sixteen scales widened to Int16 in four vectors: word 4r + j of vector v is row r's scale of
/// sixteen 4v + j (the sum terms' coefficients, and what each sixteen's scale is spread from).
@inline(__always)
private func q6Scales16(_ p: UnsafeRawPointer) -> (__m512i, __m512i, __m512i, __m512i) {
    let w0 = _mm512_loadu_si512(p + 16), w1 = _mm512_loadu_si512(p + 80)
    return (spreadBytes(w0, 0, sameByte: false, signed: true), spreadBytes(w0, 4, sameByte: false, signed: true),
            spreadBytes(w1, 0, sameByte: false, signed: true), spreadBytes(w1, 4, sameByte: false, signed: true))
}

/// The operand of a unit's last sixteen (`Q6_KBits`): bits 6-7 of words `a`, `b`, `c` as the value's bits 0-1, 2-3
/// and 4-5 (also the AMX tiles' decoding, KernelsAMX/Q6_KAMX.swift).
@inlinable @inline(__always)
public func q6SplitValue512(_ a: __m512i, _ b: __m512i, _ c: __m512i) -> __m512i {
    let m3 = _mm512_set1_epi8(3), m0c = _mm512_set1_epi8(0x0C), m30 = _mm512_set1_epi8(0x30)
    let low = _mm512_and_si512(_mm512_srli_epi16(a, 6), m3)
    return _mm512_or_si512(_mm512_or_si512(low, _mm512_and_si512(_mm512_srli_epi16(b, 4), m0c)),
                           _mm512_and_si512(_mm512_srli_epi16(c, 2), m30))
}

/// Decodes the super-block of eight rows at `p`: calls `body(t, qa, qb, sw)` for each sixteen t, in the order
/// its words lie (0 ..< 16), with elements 16t ..< 16t + 8 (`qa`) and 16t + 8 ..< 16t + 16 (`qb`) of the eight rows
/// (unsigned 6-bit: q + 32) and the rows' scale of sixteen t in each of the row's four words (`sw`); returns
/// the widened scales (`q6Scales16`), the coefficients of the offset term.
@inline(__always)
private func q6Rows8Decode(_ p: UnsafeRawPointer, _ body: (Int, __m512i, __m512i, __m512i) -> Void) -> (__m512i, __m512i, __m512i, __m512i) {
    let scales = q6Scales16(p)
    let m3f = _mm512_set1_epi8(0x3F)
    // Word j of each qword into all four of its words: bytes 2j, 2j + 1 (second qword of a lane: + 8).
    @inline(__always) func spread(_ j: Int64) -> __m512i {
        let lo = (2 &* j | (2 &* j &+ 1) << 8) &* 0x0001_0001_0001_0001, hi = lo &+ 0x0808_0808_0808_0808
        return _mm512_set_epi64(hi, lo, hi, lo, hi, lo, hi, lo)
    }
    let sp = (spread(0), spread(1), spread(2), spread(3))
    @inline(__always) func emit(_ t: Int, _ qa: __m512i, _ qb: __m512i) {
        let v = t >> 2, s = v == 0 ? scales.0 : v == 1 ? scales.1 : v == 2 ? scales.2 : scales.3
        let j = t & 3, c = j == 0 ? sp.0 : j == 1 ? sp.1 : j == 2 ? sp.2 : sp.3
        body(t, qa, qb, _mm512_shuffle_epi8(s, c))
    }
    /// Unit m of the recoded words (`Q6_KBits`, TensorKernels/Formats/Q6_K.swift): sixteens 4m, 4m + 1, 4m + 2 in
    /// bits 0-5 of its words (one mask an operand), sixteen 4m + 3 in their bits 6-7, two bits a word.
    @inline(__always) func unit(_ m: Int) {
        let at = Q6_KFormat.unitsAt &+ 384 &* m
        @inline(__always) func word(_ k: Int) -> __m512i { _mm512_loadu_si512(p + (at &+ 64 &* k)) }
        let w0 = word(0), w1 = word(1), w2 = word(2), w3 = word(3), w4 = word(4), w5 = word(5)
        @inline(__always) func whole(_ w: __m512i) -> __m512i { _mm512_and_si512(w, m3f) }
        let t = 4 &* m
        emit(t, whole(w0), whole(w1))
        emit(t &+ 1, whole(w2), whole(w3))
        emit(t &+ 2, whole(w4), whole(w5))
        emit(t &+ 3, q6SplitValue512(w0, w1, w2), q6SplitValue512(w3, w4, w5))
    }
    unit(0); unit(1); unit(2); unit(3)
    return scales
}

/// One group of eight rows for `W.n` (1-4) sequences, the layout read in place. Not inlined, as
/// `nibbleRows8Run`: each specialisation is compiled once with every intrinsic inline.
@inline(never)
private func q6Rows8Run<W: SeqWidth>(_: W.Type, _ group: UnsafeRawPointer, _ nb: Int, _ x: Q8Activations, _ st: Q8Strides,
                                     _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    let xs = (x, st.row(x, 1), st.row(x, 2), st.row(x, 3))
    let ahead = StreamPrefetch.at(W.n)
    var f0 = _mm512_setzero_ps(), f1 = _mm512_setzero_ps(), f2 = _mm512_setzero_ps(), f3 = _mm512_setzero_ps()
    for i in 0..<nb {
        let p = group + i &* Q6_KFormat.groupBlock
        if ahead { prefetchStream(p, Q6_KFormat.groupBlock) }
        var s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512(), s2 = _mm512_setzero_si512(), s3 = _mm512_setzero_si512()
        let xo = 256 &* i
        let terms = q6Rows8Decode(p) { t, qa, qb, sw in
            sixteenSteps512(W.self, xs, xo &+ 16 &* t, qa, qb, sw, &s0, &s1, &s2, &s3)
        }
        let d = halvesInPairs(p)
        @inline(__always) func finish(_ xa: Q8Activations, _ s: __m512i, _ f: inout __m512) {
            // Σ_t scale_t · Σx_t (the sums four at a time against the widened scales), then s − 32 · that:
            // |s| ≤ 16 · 2 · 32256 · 128 and 32 · |m| ≤ 32 · 4 · 2 · 2032 · 128, within Int32.
            let b = UnsafeRawPointer(xa.sum16 + 16 &* i)
            var m = _mm512_dpwssd_epi32(_mm512_setzero_si512(), terms.0, qwords(b))
            m = _mm512_dpwssd_epi32(m, terms.1, qwords(b + 8))
            m = _mm512_dpwssd_epi32(m, terms.2, qwords(b + 16))
            m = _mm512_dpwssd_epi32(m, terms.3, qwords(b + 24))
            let total = _mm512_sub_epi32(s, _mm512_slli_epi32(m, 5))
            f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total), _mm512_mul_ps(d, _mm512_set1_ps(xa.d[i])), f)
        }
        finish(xs.0, s0, &f0)
        if W.n > 1 { finish(xs.1, s1, &f1) }
        if W.n > 2 { finish(xs.2, s2, &f2) }
        if W.n > 3 { finish(xs.3, s3, &f3) }
    }
    storeRowPairs512(W.n, (f0, f1, f2, f3), y, ldy)
}

extension AVX512 {
    /// Q6_K rows in the `rows8` layout · Q8_K activations.
    @inline(never)
    public static func q6_KRows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        eachRows8Group(rows, rowBytes, count) { group, g in
            @inline(__always) func run<W: SeqWidth>(_ w: W.Type, _ s: Int) {
                q6Rows8Run(w, group, blocks, strides.row(x, s), strides, y + (s &* ldy &+ g), ldy)
            }
            bySeqGroups(nSeq, { run(W4.self, $0) }, { run(W3.self, $0) }, { run(W2.self, $0) }, { run(W1.self, $0) })
        }
    }
}
#endif
