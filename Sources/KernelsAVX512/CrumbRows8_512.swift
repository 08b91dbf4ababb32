// Q2_K and Q3_K in the `rows8` layout (TensorKernels' Repack.swift). Per super-block of eight rows:
// - Q2_K (672 bytes): d (16: row r's fp16 at 2r), dmin (16), the two 8-byte scale words of each row (2 × 64:
//   row r's qword at 8r; word w holds the scale bytes of sixteens 8w ..< 8w + 8, scale low nibble, min high),
//   then the eight 8-byte words of the 64 quant bytes (64 each);
// - Q3_K (880 bytes): d (16), the last 4 scale bytes a2 (32: row r at 4r), the first 8 a0 a1 (64), then the 32
//   high-bit and 64 quant bytes recoded at load into four triples of words (12 × 64, `Q3_KBits` in
//   TensorKernels/Formats/Q3_K.swift has the bits): triple g holds sixteens k ..< k + 4, k = 8 (g / 2) + 4 (g % 2),
//   the first three as 3-bit values in bits 2-4 and 5-7 of its three words, the fourth as crumbs in bits 0-1 of
//   the first two words with their high bits in bits 0 and 1 of the third.
// Q2_K's quant word k of a row (bytes 8k ..< 8k + 8 of the 64) is, for crumb j (bits 2j, 2j + 1), elements
// 128n + 32j + 8m ..< +8 with n = k / 4, m = k % 4: sixteen 8n + 2j + m / 2. Everything a row needs sits in that
// row's qword of a 512-bit vector, so one
// vector op serves eight rows (the per-row scale unpacking of the GGUF-layout kernel, most of its work, is
// done once for eight rows):
// - the sixteen scales of the eight rows come out of the scale words in a few qword-wide ops, each row's in its
//   qword as bytes (Q3_K: minus 32, signed);
// - per sixteen, its two operands (Q2_K: one crumb of the two words that hold it, a mask, and one shift by 4 a
//   word for crumbs 2 and 3: crumbs 1 and 3 masked in place, 4 q, against 4 · scale for crumbs 0 and 2; Q3_K: a
//   mask in place, 4 v, or a shift by 3 and a mask, and for the fourth sixteen of a triple a mask or'ed with a
//   shifted high bit, v, against 4 · scale) go through one `vpdpbusd` each against the sequence's 8 activation
//   bytes broadcast to every qword (a dword: four of a row's products); the sixteens go in pairs (Q2_K: crumbs 0
//   and 2, 1 and 3 of two words; Q3_K: sixteens t and t + 4, one from each triple of a half), whose dwords one
//   `vpackssdw` packs into words (exact: |Σ| ≤ 8 · 28 · 128 < 2^15) for one `vpdpwssd` by both sixteens' scales
//   spread over the words (`vpshufb` puts each scale byte in a word's high byte: scale · 256, signed; with the 4
//   of the operands in place the 1/1024 goes into the float factor);
// - Q2_K's min term Σ_t m_t · Σx_t and Q3_K's offset term −4 Σ_t s_t · Σx_t (as Σ_t u_t Σx_t − 32 Σ_t Σx_t, u_t =
//   s_t + 32 the unsigned 6-bit scale) are four `vpdpbusd` per super-block on the activation sums of the sixteens
//   split into bytes (Σx_t = 128 a_t + b_t, `kSplitSums16`), and for Q3_K one masked subtract.
// Sequences go in passes of up to four per group of eight rows, the group's bytes staying in L1 between passes;
// from `cachedFrom512` sequences on, the passes read the group's operands from a cache decoded once.
// Q3_K's fields come out of their bytes through a `ByteFields512`: shifts and masks
// (`ShiftFields512`, every AVX-512 host), or one `gf2p8affineqb` a field in KernelsGFNI, which instantiates these
// generic kernels with its own (the code below is `@inlinable` for that).
#if arch(x86_64)
import _Builtin_intrinsics.intel
import KernelsAVX2
import Prefetch

/// What a super-block of eight rows contributes besides its sixteens: the coefficients of the min or offset
/// term (bytes, sixteens 0-7 and 8-15), d over the scale words' factor (d / 1024) and the term's
/// factor (−dmin, or −4 d), row r in lanes 2r, 2r + 1.
@usableFromInline
struct CrumbHeader512 {
    @usableFromInline var terms: (__m512i, __m512i)
    @usableFromInline var dScale: __m512, tf: __m512
    @inlinable init(terms: (__m512i, __m512i), dScale: __m512, tf: __m512) { self.terms = terms; self.dScale = dScale; self.tf = tf }
}

/// Q3_K's sixteen 6-bit scales of each of the eight rows of the `rows8` super-block at `p`, unsigned (the
/// scale + 32), as the bytes of the row's qword: sixteens 0-7 in the first vector, 8-15 in the second. Scale
/// t < 8: low nibble of byte t of a0 a1, bits 4-5 from a2 (bits 2t' of byte t' = t % 4, + 2 for t ≥ 4); t ≥ 8
/// the high nibbles and bits 4 and 6 up (ggml's q3 scale unpacking, qword-wide).
@inlinable @inline(__always)
public func q3_KRows8Scales(_ p: UnsafeRawPointer) -> (__m512i, __m512i) {
    let m4 = _mm512_set1_epi8(0xF)
    let w = _mm512_loadu_si512(p + 48)
    let a2 = _mm512_cvtepu32_epi64(_mm256_loadu_si256((p + 16).assumingMemoryBound(to: __m256i.self)))
    let lo03 = _mm512_set1_epi64(0x0000_0000_0303_0303), hi03 = _mm512_set1_epi64(0x0303_0303_0000_0000)
    let h0 = _mm512_or_si512(_mm512_and_si512(a2, lo03), _mm512_and_si512(_mm512_slli_epi64(a2, 30), hi03))
    let h1 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi64(a2, 4), lo03), _mm512_and_si512(_mm512_slli_epi64(a2, 26), hi03))
    return (_mm512_or_si512(_mm512_and_si512(w, m4), _mm512_slli_epi64(h0, 4)),
            _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi64(w, 4), m4), _mm512_slli_epi64(h1, 4)))
}

/// The operands of two sixteens of eight rows, A and B: their activations' offsets in the super-block, each one's
/// quants in the two words that hold it (`qa`: its first 8 elements of each row, `qb`: the next 8), and both scales
/// · 256 as words in the order `vpackssdw` leaves the pair's sums (per 128-bit lane, rows r and r + 1: A's of r
/// twice, of r + 1 twice, then B's likewise).
@usableFromInline
struct CrumbPair512 {
    @usableFromInline var oA: Int, oB: Int
    @usableFromInline var qaA: __m512i, qbA: __m512i, qaB: __m512i, qbB: __m512i
    @usableFromInline var sw: __m512i
    @inlinable init(oA: Int, oB: Int, qaA: __m512i, qbA: __m512i, qaB: __m512i, qbB: __m512i, sw: __m512i) {
        self.oA = oA; self.oB = oB; self.qaA = qaA; self.qbA = qbA; self.qaB = qaB; self.qbB = qbB; self.sw = sw
    }
}

/// How a kernel takes a field of bits out of each byte and puts it where its products want it: with a shift and a
/// mask (`ShiftFields512`), or one GFNI `gf2p8affineqb` (KernelsGFNI), an 8 x 8 bit-matrix transform of every byte
/// that moves any bits to any places and clears the rest. The kernel generic over it (Q3_K's, below) is
/// `@inlinable`, so the GFNI module compiles its own specialisations with its own flags.
public protocol ByteFields512 {
    /// Bits `from ..< from + width` of each byte in bits `to ..< to + width`, the rest zero.
    static func field(_ v: __m512i, from: Int, width: Int, to: Int) -> __m512i
}

/// `ByteFields512` by a 16-bit shift and a mask (within each byte: the mask keeps only bits that came from the
/// same byte), two operations a field; one where the field stays in place.
public enum ShiftFields512: ByteFields512 {
    @inlinable @inline(__always)
    public static func field(_ v: __m512i, from: Int, width: Int, to: Int) -> __m512i {
        let mask = _mm512_set1_epi8(Int8(truncatingIfNeeded: ((1 &<< width) &- 1) &<< to))
        let moved = to > from ? _mm512_slli_epi16(v, UInt32(to &- from)) : to < from ? _mm512_srli_epi16(v, UInt32(from &- to)) : v
        return _mm512_and_si512(moved, mask)
    }
}

/// Decodes the super-block of eight rows at `p`: calls `body` for each pair of sixteens, in the order the words
/// lie; returns the rest.
@inlinable @inline(__always)
func crumbDecode512<F: CrumbRows8, D: ByteFields512>(_: F.Type, _: D.Type, _ p: UnsafeRawPointer,
                                                   _ body: (CrumbPair512) -> Void) -> CrumbHeader512 {
    let m3 = _mm512_set1_epi8(3), m12 = _mm512_set1_epi8(12), m4 = _mm512_set1_epi8(0xF)
    // vpshufb picks within 128-bit lanes (a lane's first qword, row r, at bytes 0-7, its second, row r + 1, at
    // 8-15) into the high byte of each word, the low bytes zero (0x80): byte 0 of row r into words 0-1 and of row
    // r + 1 into words 2-3 of both qwords; + tA in the first qword and + tB in the second picks scale bytes tA and
    // tB (0x80 + t still has the zeroing bit).
    let spread0 = _mm512_set1_epi64(0x0880_0880_0080_0080)
    // Each row's sixteen scales as the bytes of its qword in two vectors (sixteens 0-7, 8-15); `terms`: the
    // unsigned coefficients of the min (Q2_K) or offset (Q3_K) term, likewise.
    // Crumbs 1 and 3 of a byte are taken in place, masked but not shifted down (4 · q: a `vpand` alone, and one
    // shift by 4 a word serves crumbs 2 and 3; Q3_K's high bit then adds 16 instead of 4), so crumbs 0 and 2 get
    // 4 · scale (`scales4`) instead, and every sixteen contributes 1024 · scale · Σ q x. Q2_K scales ≤ 15: 4 ·
    // scale ≤ 60; Q3_K's signed 6-bit scales: 4 · scale = 4u − 128 (u the unsigned scale ≤ 63, so 4u stays in
    // its byte) is −128 ... 124, a signed byte. Q3_K's sums would pass 2^31 over a super-block (1024 · 32 · 16 ·
    // 7 · 128 a sixteen), so its halves add up apart (`crumbRows8Run`).
    let scales: (__m512i, __m512i), scales4: (__m512i, __m512i), terms: (__m512i, __m512i)
    if F.highBits {
        let (u0, u1) = q3_KRows8Scales(p)
        let off = _mm512_set1_epi8(32), off4 = _mm512_set1_epi8(-128)
        scales = (_mm512_sub_epi8(u0, off), _mm512_sub_epi8(u1, off))
        scales4 = (_mm512_add_epi8(_mm512_slli_epi16(u0, 2), off4), _mm512_add_epi8(_mm512_slli_epi16(u1, 2), off4))
        terms = (u0, u1)
    } else {
        let w0 = _mm512_loadu_si512(p + 32), w1 = _mm512_loadu_si512(p + 96)
        scales = (_mm512_and_si512(w0, m4), _mm512_and_si512(w1, m4))
        scales4 = (_mm512_slli_epi16(scales.0, 2), _mm512_slli_epi16(scales.1, 2))
        terms = (_mm512_and_si512(_mm512_srli_epi64(w0, 4), m4), _mm512_and_si512(_mm512_srli_epi64(w1, 4), m4))
    }
    /// Sixteens tA and tA + 4 (of one half) with their four operands, 4 q (`p2`) or q.
    @inline(__always) func pair(_ tA: Int, p2: Bool, _ qaA: __m512i, _ qbA: __m512i, _ qaB: __m512i, _ qbB: __m512i) {
        let tB = tA &+ 4
        let sv = p2 ? (tA < 8 ? scales.0 : scales.1) : (tA < 8 ? scales4.0 : scales4.1)
        let pick = _mm512_set_epi64(0, 0, 0, 0, 0, 0, Int64(tB & 7) &* 0x0100_0100_0100_0100, Int64(tA & 7) &* 0x0100_0100_0100_0100)
        let sw = _mm512_shuffle_epi8(sv, _mm512_add_epi8(spread0, _mm512_broadcast_i32x4(_mm512_castsi512_si128(pick))))
        body(CrumbPair512(oA: 16 &* tA, oB: 16 &* tB, qaA: qaA, qbA: qbA, qaB: qaB, qbB: qbB, sw: sw))
    }
    if F.highBits {
        // Q3_K's recoded bits (`Q3_KBits`, TensorKernels/Formats/Q3_K.swift): per half n the triples 2n and 2n + 1
        // (words A, B, C), sixteens k ..< k + 4 with k = 8n and 8n + 4. Sixteens k, k + 1, k + 2: bits 2-4 and 5-7 of
        // A, B, C, masked in place (4 v; the second after a shift by 3); sixteen k + 3: the crumbs in bits 0-1 of A
        // and B with the high bits in bits 0 and 1 of C moved to bit 2 (v). Pairs: sixteen k + s of both triples.
        let m1c = _mm512_set1_epi8(0x1C)
        @inline(__always) func lo(_ v: __m512i) -> __m512i { _mm512_and_si512(v, m1c) }
        @inline(__always) func hi(_ v: __m512i) -> __m512i { D.field(v, from: 5, width: 3, to: 2) }
        @inline(__always) func last(_ v: __m512i, _ c: __m512i, _ bit: Int) -> __m512i {
            _mm512_or_si512(_mm512_and_si512(v, m3), D.field(c, from: bit, width: 1, to: 2))
        }
        @inline(__always) func half(_ n: Int) {
            let w = p + (F.quantsAt &+ 384 &* n)
            let a0 = _mm512_loadu_si512(w), b0 = _mm512_loadu_si512(w + 64), c0 = _mm512_loadu_si512(w + 128)
            let a1 = _mm512_loadu_si512(w + 192), b1 = _mm512_loadu_si512(w + 256), c1 = _mm512_loadu_si512(w + 320)
            let k = 8 &* n
            pair(k, p2: true, lo(a0), hi(a0), lo(a1), hi(a1))
            pair(k &+ 1, p2: true, lo(b0), hi(b0), lo(b1), hi(b1))
            pair(k &+ 2, p2: true, lo(c0), hi(c0), lo(c1), hi(c1))
            pair(k &+ 3, p2: false, last(a0, c0, 0), last(b0, c0, 1), last(a1, c1, 0), last(b1, c1, 1))
        }
        half(0); half(1)
    } else {
        /// Words m = 2h and 2h + 1 of half n: their crumb j is sixteen 8n + 2j + h; the pairs are crumbs (0, 2) and
        /// (1, 3), each pair's two scales from one vector.
        @inline(__always) func quad(_ n: Int, _ h: Int) {
            let va = _mm512_loadu_si512(p + (F.quantsAt &+ 64 &* (4 &* n &+ 2 &* h)))
            let vb = _mm512_loadu_si512(p + (F.quantsAt &+ 64 &* (4 &* n &+ 2 &* h &+ 1)))
            let va4 = _mm512_srli_epi16(va, 4), vb4 = _mm512_srli_epi16(vb, 4)
            // Crumb j as q (j even) or 4 · q (j odd), from the byte or its high nibble.
            @inline(__always) func crumb(_ j: Int, _ v: __m512i, _ v4: __m512i) -> __m512i {
                _mm512_and_si512(j < 2 ? v : v4, j & 1 == 0 ? m3 : m12)
            }
            @inline(__always) func crumbs(_ j: Int) {
                pair(8 &* n &+ 2 &* j &+ h, p2: j == 1, crumb(j, va, va4), crumb(j, vb, vb4), crumb(j &+ 2, va, va4), crumb(j &+ 2, vb, vb4))
            }
            crumbs(0); crumbs(1)
        }
        quad(0, 0); quad(0, 1); quad(1, 0); quad(1, 1)
    }
    let d = halvesInPairs(p)
    // Q2_K: −dmin per min term; Q3_K: −4 d per offset term.
    let tf = F.highBits ? _mm512_mul_ps(d, _mm512_set1_ps(-4)) : _mm512_sub_ps(_mm512_setzero_ps(), halvesInPairs(p + 16))
    return CrumbHeader512(terms: terms, dScale: _mm512_mul_ps(d, _mm512_set1_ps(1.0 / 1024)), tf: tf)
}

/// A pair of sixteens of eight rows against `W.n` (1-4) sequences' activations from element `xo` of the
/// super-block: per sequence, each sixteen's two quant vectors through `vpdpbusd` against its 8 + 8 activation
/// bytes broadcast to every qword (each dword: a row's four products, |Σ| ≤ 8 · 28 · 128 < 2^15 over both), the
/// two sixteens' dwords packed into words (`vpackssdw`, exact), then one `vpdpwssd` by the pair's scale words into
/// the sequence's sums: per 128-bit lane, dwords 0 and 2 row r, 1 and 3 row r + 1 (`crumbRowPairs` reorders).
@inlinable @inline(__always)
func crumbPairSteps512<W: SeqWidth>(_: W.Type, _ xs: (Q8Activations, Q8Activations, Q8Activations, Q8Activations), _ xo: Int,
                                   _ c: CrumbPair512,
                                   _ s0: inout __m512i, _ s1: inout __m512i, _ s2: inout __m512i, _ s3: inout __m512i) {
    @inline(__always) func step(_ q: UnsafePointer<Int8>, _ s: inout __m512i) {
        let a = q + xo, zero = _mm512_setzero_si512()
        let tA = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, c.qaA, qwords(a + c.oA)), c.qbA, qwords(a + (c.oA &+ 8)))
        let tB = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, c.qaB, qwords(a + c.oB)), c.qbB, qwords(a + (c.oB &+ 8)))
        s = _mm512_dpwssd_epi32(s, _mm512_packs_epi32(tA, tB), c.sw)
    }
    step(xs.0.q, &s0)
    if W.n > 1 { step(xs.1.q, &s1) }
    if W.n > 2 { step(xs.2.q, &s2) }
    if W.n > 3 { step(xs.3.q, &s3) }
}

/// One sixteen of eight rows (`qa`: its first 8 elements of each row, `qb`: the next 8, unsigned bytes whose
/// pairwise products with Int8 stay within Int16 when added: Q6_K's 6-bit values) against `W.n` (1-4) sequences'
/// activations at element `at`: two `vpmaddubsw` added in Int16, then one `vpdpwssd` by the rows' scale words `sw`
/// into each sequence's sums (row r in lanes 2r, 2r + 1).
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

/// Sums of `crumbPairSteps512` (per 128-bit lane: r, r + 1, r, r + 1) in the order of the other terms (r, r, r + 1,
/// r + 1: row r in lanes 2r, 2r + 1).
@inlinable @inline(__always)
func crumbRowPairs(_ s: __m512i) -> __m512i {
    let lo: Int64 = 0x0B0A_0908_0302_0100, hi: Int64 = 0x0F0E_0D0C_0706_0504
    return _mm512_shuffle_epi8(s, _mm512_set_epi64(hi, lo, hi, lo, hi, lo, hi, lo))
}

/// Where a pass over a group of eight rows gets each super-block's operands: decoded in place, or from the
/// group's operand cache.
@usableFromInline
protocol CrumbOperands512 {
    /// Super-block `i` of the group (or its cache) at `base`: `body` per pair of sixteens, as `crumbDecode512`.
    static func block<F: CrumbRows8, D: ByteFields512>(_: F.Type, _: D.Type, _ base: UnsafeRawPointer, _ i: Int,
                                                     _ body: (CrumbPair512) -> Void) -> CrumbHeader512
}

@usableFromInline
enum CrumbInPlace: CrumbOperands512 {
    @inlinable @inline(__always)
    static func block<F: CrumbRows8, D: ByteFields512>(_: F.Type, _: D.Type, _ base: UnsafeRawPointer, _ i: Int,
                                                     _ body: (CrumbPair512) -> Void) -> CrumbHeader512 {
        crumbDecode512(F.self, D.self, base + i &* F.groupBlock, body)
    }
}

@usableFromInline
enum CrumbFromCache: CrumbOperands512 {
    @inlinable @inline(__always)
    static func block<F: CrumbRows8, D: ByteFields512>(_: F.Type, _: D.Type, _ base: UnsafeRawPointer, _ i: Int,
                                                     _ body: (CrumbPair512) -> Void) -> CrumbHeader512 {
        let c = base + i &* crumbCachedBlock
        // Written out eight times, not as a loop: since this code is `@inlinable` the optimizer leaves such a loop
        // rolled, 6-11% slower at 48-128 sequences.
        @inline(__always) func pair(_ k: Int) {
            // The order of `crumbDecode512`: Q2_K quad (n, h) = (k >> 2, (k >> 1) & 1), then pair j = k & 1; Q3_K
            // half n = k >> 2, then sixteen 8n + (k & 3).
            let oA = F.highBits ? 128 &* (k >> 2) &+ 16 &* (k & 3) : 128 &* (k >> 2) &+ 16 &* ((k >> 1) & 1) &+ 32 &* (k & 1)
            let e = c + 320 &* k
            body(CrumbPair512(oA: oA, oB: oA &+ 64, qaA: _mm512_load_si512(e), qbA: _mm512_load_si512(e + 64),
                              qaB: _mm512_load_si512(e + 128), qbB: _mm512_load_si512(e + 192), sw: _mm512_load_si512(e + 256)))
        }
        pair(0); pair(1); pair(2); pair(3); pair(4); pair(5); pair(6); pair(7)
        return CrumbHeader512(terms: (_mm512_load_si512(c + 2560), _mm512_load_si512(c + 2624)),
                              dScale: _mm512_load_ps(c + 2688), tf: _mm512_load_ps(c + 2752))
    }
}

/// One group of eight rows (or its operand cache) at `base` for `W.n` (1-4) sequences. Not inlined, as
/// `nibbleRows8Run`: each specialisation is compiled once with every intrinsic inline.
@inlinable @inline(never)
func crumbRows8Run<F: CrumbRows8, D: ByteFields512, W: SeqWidth, S: CrumbOperands512>(_: F.Type, _: D.Type, _: W.Type, _: S.Type,
                                                                                    _ base: UnsafeRawPointer,
                                                                           _ nb: Int, _ x: Q8Activations, _ st: Q8Strides,
                                                                           _ split: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    let xs = (x, st.row(x, 1), st.row(x, 2), st.row(x, 3))
    let ahead = S.self == CrumbInPlace.self && StreamPrefetch.at(W.n)
    var f0 = _mm512_setzero_ps(), f1 = _mm512_setzero_ps(), f2 = _mm512_setzero_ps(), f3 = _mm512_setzero_ps()
    for i in 0..<nb {
        var s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512(), s2 = _mm512_setzero_si512(), s3 = _mm512_setzero_si512()
        // Q3_K: the second half's sixteens (elements 128 ..< 256) in sums of their own, so neither passes 2^31
        // (four sixteens a dword: 4 · 1024 · 32 · 16 · 7 · 128 < 2^31).
        var t0 = _mm512_setzero_si512(), t1 = _mm512_setzero_si512(), t2 = _mm512_setzero_si512(), t3 = _mm512_setzero_si512()
        let xo = 256 &* i
        if ahead { prefetchStream(base + i &* F.groupBlock, F.groupBlock) }
        let hd = S.block(F.self, D.self, base, i) { c in
            if F.highBits && c.oA >= 128 {
                crumbPairSteps512(W.self, xs, xo, c, &t0, &t1, &t2, &t3)
            } else {
                crumbPairSteps512(W.self, xs, xo, c, &s0, &s1, &s2, &s3)
            }
        }
        @inline(__always) func finish(_ k: Int, _ xa: Q8Activations, _ s: __m512i, _ t: __m512i, _ f: inout __m512) {
            let sp = split + splitSums16Bytes &* (k &* nb &+ i)
            let a = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), hd.terms.0, qwords(sp)), hd.terms.1, qwords(sp + 8))
            var m = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_slli_epi32(a, 7), hd.terms.0, qwords(sp + 16)), hd.terms.1, qwords(sp + 24))
            if F.highBits {
                // Σ_t (u_t − 32) Σx_t: the −32 Σ_t Σx_t once per row (its even lane).
                let total = sp.loadUnaligned(fromByteOffset: 32, as: Int32.self)
                m = _mm512_mask_sub_epi32(m, 0x5555, m, _mm512_set1_epi32(32 &* total))
            }
            let dx = _mm512_set1_ps(xa.d[i])
            var sums = _mm512_cvtepi32_ps(crumbRowPairs(s))
            if F.highBits { sums = _mm512_add_ps(sums, _mm512_cvtepi32_ps(crumbRowPairs(t))) }
            f = _mm512_fmadd_ps(sums, _mm512_mul_ps(hd.dScale, dx), f)
            f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(m), _mm512_mul_ps(hd.tf, dx), f)
        }
        finish(0, xs.0, s0, t0, &f0)
        if W.n > 1 { finish(1, xs.1, s1, t1, &f1) }
        if W.n > 2 { finish(2, xs.2, s2, t2, &f2) }
        if W.n > 3 { finish(3, xs.3, s3, t3, &f3) }
    }
    storeRowPairs512(W.n, (f0, f1, f2, f3), y, ldy)
}

/// Bytes of one decoded super-block of eight rows in the operand cache: per pair of sixteens its four quant
/// vectors and its spread scales (320), then the header (256).
@inlinable var crumbCachedBlock: Int { 2816 }  // 8 · 320 + 256

/// The group of eight rows at `group` decoded into `cache` (`nb · crumbCachedBlock` bytes, 64-aligned).
@inlinable @inline(never)
func crumbRows8Fill<F: CrumbRows8, D: ByteFields512>(_: F.Type, _: D.Type, _ group: UnsafeRawPointer, _ nb: Int,
                                                   _ cache: UnsafeMutableRawPointer) {
    for i in 0..<nb {
        let p = group + i &* F.groupBlock, c = cache + i &* crumbCachedBlock
        prefetchLines(p + 2 &* F.groupBlock, F.groupBlock)
        var e = c
        let hd = crumbDecode512(F.self, D.self, p) { pr in
            _mm512_store_si512(e, pr.qaA); _mm512_store_si512(e + 64, pr.qbA)
            _mm512_store_si512(e + 128, pr.qaB); _mm512_store_si512(e + 192, pr.qbB); _mm512_store_si512(e + 256, pr.sw)
            e += 320
        }
        _mm512_store_si512(c + 2560, hd.terms.0); _mm512_store_si512(c + 2624, hd.terms.1)
        _mm512_store_ps(c + 2688, hd.dScale); _mm512_store_ps(c + 2752, hd.tf)
    }
}

extension CrumbRows8 {
    /// From this many sequences on, each group of eight rows is decoded once into an operand cache that every
    /// pass of four sequences reads (below it, each pass decodes in place: filling the cache writes 2.75 KiB per
    /// super-block of eight rows, which pays only when enough passes read it). `bench-kernels --rows 8960
    /// --cols 1536 --threads 2`, Zen 4, after the pairs of sixteens made decoding cheaper, two alternating runs
    /// with and without the cache (ms): Q3_K 16 sequences 1.09 / 0.98-1.03, level at 32, ahead from 48 (2.70-2.80
    /// / 2.83-2.88; 128: 7.0-7.3 / 7.8-8.4); Q2_K level at 16-64 (48: 2.46-2.48 / 2.39-2.40), ahead at 128
    /// (6.30-6.35 / 6.62-6.83).
    @inlinable static var cachedFrom512: Int { highBits ? 32 : 96 }
}

/// Every sequence against rows of eight groups: the activation sums split once (`kSplitSums16`), then per
/// group the sequences in passes of up to four; from `cachedFrom512` sequences on, each group decoded once
/// into a cache that every pass reads. Q3_K's fields taken out by `D` (any for Q2_K).
@inlinable @inline(__always)
public func crumbRows8Mat512<F: CrumbRows8, D: ByteFields512>(_: F.Type, _: D.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int,
                                                            _ count: Int, _ nb: Int, _ x: Q8Activations, _ st: Q8Strides,
                                                            _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    withSplitSums16(x, st, nSeq, nb) { split in
        @inline(__always) func groups(_ pass: (UnsafeRawPointer, Int) -> Void) { eachRows8Group(rows, rowBytes, count, pass) }
        @inline(__always) func splitOf(_ s: Int) -> UnsafeRawPointer { split + s &* splitSums16Bytes &* nb }
        if nSeq < F.cachedFrom512 {
            groups { group, g in
                @inline(__always) func run<W: SeqWidth>(_ w: W.Type, _ s: Int) {
                    crumbRows8Run(F.self, D.self, w, CrumbInPlace.self, group, nb, st.row(x, s), st, splitOf(s), y + (s &* ldy &+ g), ldy)
                }
                bySeqGroups(nSeq, { run(W4.self, $0) }, { run(W3.self, $0) }, { run(W2.self, $0) }, { run(W1.self, $0) })
            }
            return
        }
        withUnsafeTemporaryAllocation(byteCount: nb &* crumbCachedBlock, alignment: 64) { buf in
            let cache = buf.baseAddress!
            groups { group, g in
                crumbRows8Fill(F.self, D.self, group, nb, cache)
                @inline(__always) func run<W: SeqWidth>(_ w: W.Type, _ s: Int) {
                    crumbRows8Run(F.self, D.self, w, CrumbFromCache.self, UnsafeRawPointer(cache), nb, st.row(x, s), st, splitOf(s),
                                  y + (s &* ldy &+ g), ldy)
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
        crumbRows8Mat512(Q2_KFormat.self, ShiftFields512.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q3_K rows in the `rows8` layout · Q8_K activations.
    @inline(never)
    public static func q3_KRows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        crumbRows8Mat512(Q3_KFormat.self, ShiftFields512.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
}
#endif
