// Q2_K and Q3_K in the `rows8` layout (TensorKernels' Repack.swift). Per super-block of eight rows:
// - Q2_K (672 bytes): d (16: row r's fp16 at 2r), dmin (16), the two 8-byte scale words of each row (2 × 64:
//   row r's qword at 8r; word w holds the scale bytes of sixteens 8w ..< 8w + 8, scale low nibble, min high),
//   then the eight 8-byte words of the 64 quant bytes (64 each);
// - Q3_K (880 bytes): d (16), the last 4 scale bytes a2 (32: row r at 4r), the first 8 a0 a1 (64), the four
//   words of the 32 high-bit bytes (4 × 64), then the eight quant words.
// Quant word k of a row (bytes 8k ..< 8k + 8 of the 64) is, for crumb j (bits 2j, 2j + 1), elements
// 128n + 32j + 8m ..< +8 with n = k / 4, m = k % 4: sixteen 8n + 2j + m / 2. Q3_K's high bit of those elements is
// bit 4n + j of high-bit word m. Everything a row needs sits in that row's qword of a 512-bit vector, so one
// vector op serves eight rows (the per-row scale unpacking of the GGUF-layout kernel, most of its work, is
// done once for eight rows):
// - the sixteen scales of the eight rows come out of the scale words in a few qword-wide ops, each row's in its
//   qword as bytes (Q3_K: minus 32, signed);
// - per sixteen, one crumb of the two words that hold it (a shift and a mask; Q3_K: a byte test of the high-bit
//   word and a masked add of 4) goes through one `vpmaddubsw` each against the sequence's 8 activation bytes
//   broadcast to every qword, the two added in Int16 (|Σ| ≤ 4 · 7 · 128), then one `vpdpwssd` by the scale
//   spread over the row's words (`vpshufb` puts the scale byte in each word's high byte: scale · 256, signed,
//   and the 1/256 goes into the float factor);
// - Q2_K's min term Σ_t m_t · Σx_t and Q3_K's offset term −4 Σ_t s_t · Σx_t (as Σ_t u_t Σx_t − 32 Σ_t Σx_t, u_t =
//   s_t + 32 the unsigned 6-bit scale) are four `vpdpbusd` per super-block on the activation sums of the sixteens
//   split into bytes (Σx_t = 128 a_t + b_t, `kSplitSums16`), and for Q3_K one masked subtract.
// Sequences go in passes of up to four per group of eight rows, the group's bytes staying in L1 between passes;
// from `cachedFrom512` sequences on, the passes read the group's operands from a cache decoded once.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import KernelsAVX2
import Prefetch

/// What a super-block of eight rows contributes besides its sixteens: the coefficients of the min or offset
/// term (bytes, sixteens 0-7 and 8-15), d / 256 and the term's factor (−dmin, or −4 d), row r in lanes 2r, 2r + 1.
struct CrumbHeader512 {
    var terms: (__m512i, __m512i)
    var d256: __m512, tf: __m512
}

/// Decodes the super-block of eight rows at `p`: calls `body(o, qa, qb, sw)` for each sixteen, in the order
/// the words lie, with its activations' offset in the super-block, the quants of the two words that hold it and
/// its scale spread over each row's words (scale · 256); returns the rest.
@inline(__always)
func crumbDecode512<F: CrumbRows8>(_: F.Type, _ p: UnsafeRawPointer, _ body: (Int, __m512i, __m512i, __m512i) -> Void) -> CrumbHeader512 {
    let m3 = _mm512_set1_epi8(3), m4 = _mm512_set1_epi8(0xF), four = _mm512_set1_epi8(4)
    // vpshufb picks within 128-bit lanes (a lane's first qword at bytes 0-7, its second at 8-15): byte 0 of each
    // qword into the high byte of each of its words, the low bytes zero (0x80); + t picks byte t (0x80 + t
    // still has the zeroing bit).
    let z: Int64 = 0x80, first = z | z << 16 | z << 32 | z << 48, second = first | 0x0800_0800_0800_0800
    let spread0 = _mm512_set_epi64(second, first, second, first, second, first, second, first)
    // Each row's sixteen scales as the bytes of its qword in two vectors (sixteens 0-7, 8-15); `terms`: the
    // unsigned coefficients of the min (Q2_K) or offset (Q3_K) term, likewise.
    let scales: (__m512i, __m512i), terms: (__m512i, __m512i)
    if F.highBits {
        // Scale t < 8: low nibble of byte t of a0 a1, bits 4-5 from a2 (bits 2t' of byte t' = t % 4, + 2 for
        // t ≥ 4); t ≥ 8 the high nibbles and bits 4 and 6 up (ggml's q3 scale unpacking, qword-wide).
        let w = _mm512_loadu_si512(p + 48)
        let a2 = _mm512_cvtepu32_epi64(_mm256_loadu_si256((p + 16).assumingMemoryBound(to: __m256i.self)))
        let lo03 = _mm512_set1_epi64(0x0000_0000_0303_0303), hi03 = _mm512_set1_epi64(0x0303_0303_0000_0000)
        let h0 = _mm512_or_si512(_mm512_and_si512(a2, lo03), _mm512_and_si512(_mm512_slli_epi64(a2, 30), hi03))
        let h1 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi64(a2, 4), lo03), _mm512_and_si512(_mm512_slli_epi64(a2, 26), hi03))
        let u0 = _mm512_or_si512(_mm512_and_si512(w, m4), _mm512_slli_epi64(h0, 4))
        let u1 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi64(w, 4), m4), _mm512_slli_epi64(h1, 4))
        let off = _mm512_set1_epi8(32)
        scales = (_mm512_sub_epi8(u0, off), _mm512_sub_epi8(u1, off))
        terms = (u0, u1)
    } else {
        let w0 = _mm512_loadu_si512(p + 32), w1 = _mm512_loadu_si512(p + 96)
        scales = (_mm512_and_si512(w0, m4), _mm512_and_si512(w1, m4))
        terms = (_mm512_and_si512(_mm512_srli_epi64(w0, 4), m4), _mm512_and_si512(_mm512_srli_epi64(w1, 4), m4))
    }
    let hb = F.highBits ? (_mm512_loadu_si512(p + 112), _mm512_loadu_si512(p + 176), _mm512_loadu_si512(p + 240),
                           _mm512_loadu_si512(p + 304))
                        : (m3, m3, m3, m3)
    /// Words m = 2h and 2h + 1 of half n: their crumb j is sixteen 8n + 2j + h.
    @inline(__always) func quad(_ n: Int, _ h: Int) {
        let va = _mm512_loadu_si512(p + (F.quantsAt &+ 64 &* (4 &* n &+ 2 &* h)))
        let vb = _mm512_loadu_si512(p + (F.quantsAt &+ 64 &* (4 &* n &+ 2 &* h &+ 1)))
        let ha = h == 0 ? hb.0 : hb.2, hbb = h == 0 ? hb.1 : hb.3
        @inline(__always) func sixteen(_ j: Int) {
            let t = 8 &* n &+ 2 &* j &+ h
            @inline(__always) func crumb(_ v: __m512i, _ hv: __m512i) -> __m512i {
                var q = j == 0 ? _mm512_and_si512(v, m3) : _mm512_and_si512(_mm512_srli_epi16(v, UInt32(2 &* j)), m3)
                if F.highBits {
                    q = _mm512_mask_add_epi8(q, _mm512_test_epi8_mask(hv, _mm512_set1_epi8(CChar(truncatingIfNeeded: 1 << (4 &* n &+ j)))), q, four)
                }
                return q
            }
            let sw = _mm512_shuffle_epi8(t < 8 ? scales.0 : scales.1, _mm512_add_epi8(spread0, _mm512_set1_epi8(CChar(t & 7))))
            body(128 &* n &+ 32 &* j &+ 16 &* h, crumb(va, ha), crumb(vb, hbb), sw)
        }
        sixteen(0); sixteen(1); sixteen(2); sixteen(3)
    }
    quad(0, 0); quad(0, 1); quad(1, 0); quad(1, 1)
    let d = halvesInPairs(p)
    // Q2_K: −dmin per min term; Q3_K: −4 d per offset term.
    let tf = F.highBits ? _mm512_mul_ps(d, _mm512_set1_ps(-4)) : _mm512_sub_ps(_mm512_setzero_ps(), halvesInPairs(p + 16))
    return CrumbHeader512(terms: terms, d256: _mm512_mul_ps(d, _mm512_set1_ps(1.0 / 256)), tf: tf)
}

/// One sixteen of eight rows (`qa`: its first 8 elements of each row, `qb`: the next 8, unsigned bytes whose
/// pairwise products with Int8 stay within Int16 when added: Q2_K/Q3_K crumbs, Q6_K's 6-bit values) against `W.n`
/// (1-4) sequences' activations at element `at`: two `vpmaddubsw` added in Int16, then one `vpdpwssd` by the rows'
/// scale words `sw` into each sequence's sums (row r in lanes 2r, 2r + 1).
@inline(__always)
func sixteenSteps512<W: SeqWidth>(_: W.Type, _ xs: (Q8Activations, Q8Activations, Q8Activations, Q8Activations), _ at: Int,
                                  _ qa: __m512i, _ qb: __m512i, _ sw: __m512i,
                                  _ s0: inout __m512i, _ s1: inout __m512i, _ s2: inout __m512i, _ s3: inout __m512i) {
    @inline(__always) func step(_ q: UnsafePointer<Int8>, _ s: inout __m512i) {
        let sum = _mm512_add_epi16(_mm512_maddubs_epi16(qa, qwords(q + at)), _mm512_maddubs_epi16(qb, qwords(q + (at &+ 8))))
        s = _mm512_dpwssd_epi32(s, sum, sw)
    }
    step(xs.0.q, &s0)
    if W.n > 1 { step(xs.1.q, &s1) }
    if W.n > 2 { step(xs.2.q, &s2) }
    if W.n > 3 { step(xs.3.q, &s3) }
}

/// Where a pass over a group of eight rows gets each super-block's operands: decoded in place, or from the
/// group's operand cache.
private protocol CrumbOperands512 {
    /// Super-block `i` of the group (or its cache) at `base`: `body(o, qa, qb, sw)` per sixteen, as `crumbDecode512`.
    static func block<F: CrumbRows8>(_: F.Type, _ base: UnsafeRawPointer, _ i: Int,
                                     _ body: (Int, __m512i, __m512i, __m512i) -> Void) -> CrumbHeader512
}

private enum InPlace: CrumbOperands512 {
    @inline(__always)
    static func block<F: CrumbRows8>(_: F.Type, _ base: UnsafeRawPointer, _ i: Int,
                                     _ body: (Int, __m512i, __m512i, __m512i) -> Void) -> CrumbHeader512 {
        crumbDecode512(F.self, base + i &* F.groupBlock, body)
    }
}

private enum FromCache: CrumbOperands512 {
    @inline(__always)
    static func block<F: CrumbRows8>(_: F.Type, _ base: UnsafeRawPointer, _ i: Int,
                                     _ body: (Int, __m512i, __m512i, __m512i) -> Void) -> CrumbHeader512 {
        let c = base + i &* crumbCachedBlock
        for k in 0..<16 {
            // The order of `crumbDecode512`: quad (n, h) = (k >> 3, (k >> 2) & 1), then j = k & 3.
            let o = 128 &* (k >> 3) &+ 16 &* ((k >> 2) & 1) &+ 32 &* (k & 3)
            body(o, _mm512_load_si512(c + 192 &* k), _mm512_load_si512(c + (192 &* k &+ 64)), _mm512_load_si512(c + (192 &* k &+ 128)))
        }
        return CrumbHeader512(terms: (_mm512_load_si512(c + 3072), _mm512_load_si512(c + 3136)),
                              d256: _mm512_load_ps(c + 3200), tf: _mm512_load_ps(c + 3264))
    }
}

/// One group of eight rows (or its operand cache) at `base` for `W.n` (1-4) sequences. Not inlined, as
/// `nibbleRows8Run`: each specialisation is compiled once with every intrinsic inline.
@inline(never)
private func crumbRows8Run<F: CrumbRows8, W: SeqWidth, S: CrumbOperands512>(_: F.Type, _: W.Type, _: S.Type, _ base: UnsafeRawPointer,
                                                                           _ nb: Int, _ x: Q8Activations, _ st: Q8Strides,
                                                                           _ split: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    let xs = (x, st.row(x, 1), st.row(x, 2), st.row(x, 3))
    let ahead = S.self == InPlace.self && StreamPrefetch.at(W.n)
    var f0 = _mm512_setzero_ps(), f1 = _mm512_setzero_ps(), f2 = _mm512_setzero_ps(), f3 = _mm512_setzero_ps()
    for i in 0..<nb {
        var s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512(), s2 = _mm512_setzero_si512(), s3 = _mm512_setzero_si512()
        let xo = 256 &* i
        if ahead { prefetchLines(base + (i &+ 2) &* F.groupBlock, F.groupBlock) }
        let hd = S.block(F.self, base, i) { o, qa, qb, sw in
            sixteenSteps512(W.self, xs, xo &+ o, qa, qb, sw, &s0, &s1, &s2, &s3)
        }
        @inline(__always) func finish(_ k: Int, _ xa: Q8Activations, _ s: __m512i, _ f: inout __m512) {
            let sp = split + splitSums16Bytes &* (k &* nb &+ i)
            let a = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), hd.terms.0, qwords(sp)), hd.terms.1, qwords(sp + 8))
            var m = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_slli_epi32(a, 7), hd.terms.0, qwords(sp + 16)), hd.terms.1, qwords(sp + 24))
            if F.highBits {
                // Σ_t (u_t − 32) Σx_t: the −32 Σ_t Σx_t once per row (its even lane).
                let total = sp.loadUnaligned(fromByteOffset: 32, as: Int32.self)
                m = _mm512_mask_sub_epi32(m, 0x5555, m, _mm512_set1_epi32(32 &* total))
            }
            let dx = _mm512_set1_ps(xa.d[i])
            f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(hd.d256, dx), f)
            f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(m), _mm512_mul_ps(hd.tf, dx), f)
        }
        finish(0, xs.0, s0, &f0)
        if W.n > 1 { finish(1, xs.1, s1, &f1) }
        if W.n > 2 { finish(2, xs.2, s2, &f2) }
        if W.n > 3 { finish(3, xs.3, s3, &f3) }
    }
    storeRowPairs512(W.n, (f0, f1, f2, f3), y, ldy)
}

/// Bytes of one decoded super-block of eight rows in the operand cache: per sixteen its two quant vectors and
/// its spread scales (192), then the header (256).
private var crumbCachedBlock: Int { 3328 }  // 16 · 192 + 256

/// The group of eight rows at `group` decoded into `cache` (`nb · crumbCachedBlock` bytes, 64-aligned).
@inline(never)
private func crumbRows8Fill<F: CrumbRows8>(_: F.Type, _ group: UnsafeRawPointer, _ nb: Int, _ cache: UnsafeMutableRawPointer) {
    for i in 0..<nb {
        let p = group + i &* F.groupBlock, c = cache + i &* crumbCachedBlock
        prefetchLines(p + 2 &* F.groupBlock, F.groupBlock)
        var k = 0
        let hd = crumbDecode512(F.self, p) { _, qa, qb, sw in
            _mm512_store_si512(c + 192 &* k, qa); _mm512_store_si512(c + (192 &* k &+ 64), qb); _mm512_store_si512(c + (192 &* k &+ 128), sw)
            k &+= 1
        }
        _mm512_store_si512(c + 3072, hd.terms.0); _mm512_store_si512(c + 3136, hd.terms.1)
        _mm512_store_ps(c + 3200, hd.d256); _mm512_store_ps(c + 3264, hd.tf)
    }
}

extension CrumbRows8 {
    /// From this many sequences on, each group of eight rows is decoded once into an operand cache that every
    /// pass of four sequences reads (below it, each pass decodes in place: filling the cache writes 3.3 KiB per
    /// super-block of eight rows, which pays only when enough passes read it). `bench-kernels --rows 8960
    /// --cols 1536 --threads 2`, Zen 4: Q3_K level at 12, ahead from 16 (128 sequences 12.5-13.2 -> 8.3 ms);
    /// Q2_K, whose decode is cheaper, level at 32, ahead from 64 (128: 8.7-9.3 -> 7.6-8.0 ms).
    static var cachedFrom512: Int { highBits ? 16 : 48 }
}

/// Every sequence against rows of eight groups: the activation sums split once (`kSplitSums16`), then per
/// group the sequences in passes of up to four; from `cachedFrom512` sequences on, each group decoded once
/// into a cache that every pass reads.
@inline(__always)
private func crumbRows8Mat512<F: CrumbRows8>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                                             _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    withSplitSums16(x, st, nSeq, nb) { split in
        @inline(__always) func groups(_ pass: (UnsafeRawPointer, Int) -> Void) { eachRows8Group(rows, rowBytes, count, pass) }
        @inline(__always) func splitOf(_ s: Int) -> UnsafeRawPointer { split + s &* splitSums16Bytes &* nb }
        if nSeq < F.cachedFrom512 {
            groups { group, g in
                @inline(__always) func run<W: SeqWidth>(_ w: W.Type, _ s: Int) {
                    crumbRows8Run(F.self, w, InPlace.self, group, nb, st.row(x, s), st, splitOf(s), y + (s &* ldy &+ g), ldy)
                }
                bySeqGroups(nSeq, { run(W4.self, $0) }, { run(W3.self, $0) }, { run(W2.self, $0) }, { run(W1.self, $0) })
            }
            return
        }
        withUnsafeTemporaryAllocation(byteCount: nb &* crumbCachedBlock, alignment: 64) { buf in
            let cache = buf.baseAddress!
            groups { group, g in
                crumbRows8Fill(F.self, group, nb, cache)
                @inline(__always) func run<W: SeqWidth>(_ w: W.Type, _ s: Int) {
                    crumbRows8Run(F.self, w, FromCache.self, UnsafeRawPointer(cache), nb, st.row(x, s), st, splitOf(s), y + (s &* ldy &+ g), ldy)
                }
                bySeqGroups(nSeq, { run(W4.self, $0) }, { run(W3.self, $0) }, { run(W2.self, $0) }, { run(W1.self, $0) })
            }
        }
    }
}

extension AVX512 {
    /// Q2_K rows in the `rows8` layout · Q8_K activations.
    @inline(never)
    public static func q2_KRows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        crumbRows8Mat512(Q2_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q3_K rows in the `rows8` layout · Q8_K activations.
    @inline(never)
    public static func q3_KRows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        crumbRows8Mat512(Q3_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
}
#endif
