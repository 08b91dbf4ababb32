// Q4_K and Q5_K in the `rows8` layout (TensorKernels' Repack.swift): per super-block of eight rows, the
// rows' d (16 bytes) and dmin (16), the first scale word w0 of each row (32: row r at 4r), the other two
// scale words w1, w2 (64: row r's qword at 8r), then the quants as 8-byte words of the eight rows (64 bytes
// each: row r's word at 8r): Q4_K's 128 nibble bytes as sixteen words; Q5_K's 160 bytes of nibbles and fifth
// bits recoded at load into four units of five words (KernelsAVX2's `Q5_KFormat.unitsAt`, TensorKernels'
// `Q5_KBits`). Everything a row needs sits in that row's qword of a 512-bit vector, so one vector op serves
// eight rows and no per-row reduction is left until the end:
// - the 6-bit scales and mins of the eight rows come out of w0/w1/w2 in a dozen qword-wide ops per
//   super-block, each row's eight scales in its qword as bytes (and the mins likewise);
// - word j of chunk c (elements 64c + 8j ..< 64c + 8j + 8 of group 2c, and the same + 32 of group 2c + 1) is
//   one load; Q4_K: a mask and an `andnot` give its two nibbles; Q5_K: a mask gives group 2c's values as 8v,
//   and its low three bits or'ed with two bits of the unit's first word (shifted and masked once a chunk)
//   group 2c + 1's; one `vpdpbusd` per half against the sequence's 8 activation bytes broadcast to every
//   qword adds four products into each of the row's two dword lanes;
// - Q5_K: per group one `vpshufb` spreads each row's scale over its two lanes and one `vpmulld` applies it
//   (group 2c + 1's times 8, to match group 2c's 8v; the total is scaled by 1/8 in floats, exactly);
//   Q4_K: the high nibbles are used in place, as 16 · q, and per pair of groups the two sums (each within
//   Int16) pack into the words of one dword (the high group's shifted by 12, one `vpslld` and one
//   `vpternlog`), which one `vpdpwssd` multiplies by both groups' scales (one `vpshufb`) and adds;
// - the min term Σ_g m_g · Σx_g is two `vpdpbusd` per super-block: the sums Σx_g (|Σx_g| ≤ 32 · 127) are
//   split once per product into bytes a_g, b_g with Σx_g = 128 · a_g + b_g, both within Int8.
// The block is read in the order it lies: from memory that order is worth several points of the stream.
// Sequences go in passes of up to four per group of eight rows, the group's bytes staying in L1 between
// passes. From cache one sequence reads 1.6-2x as fast as the row-at-a-time kernel, from memory at 90-94% of
// the streaming read against 85-88% (docs/kernels.md); from 2 to 32 sequences at or above the GGUF layout's
// kernels and tiles, at 128 within 5% of the tiles.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import KernelsAVX2
import Prefetch

/// The eight rows' 6-bit scales and mins of one Q4_K/Q5_K super-block in the `rows8` layout at `p` (the
/// first scale words at 32, the other two at 64), each row's eight as the bytes of its qword (ggml's
/// `get_scale_min_k4`, eight rows at once): (scales, mins).
@inlinable @inline(__always)
public func rows8ScalesMins(_ p: UnsafeRawPointer) -> (__m512i, __m512i) {
    let lo3f = _mm512_set1_epi64(0x0000_0000_3F3F_3F3F), hi0f = _mm512_set1_epi64(0x0F0F_0F0F_0000_0000)
    let hi30 = _mm512_set1_epi64(0x3030_3030_0000_0000)
    let a = _mm512_cvtepu32_epi64(_mm256_loadu_si256((p + 32).assumingMemoryBound(to: __m256i.self)))
    let b = _mm512_loadu_si512(p + 64)
    let scales = _mm512_or_si512(_mm512_or_si512(_mm512_and_si512(a, lo3f), _mm512_and_si512(b, hi0f)),
                                 _mm512_and_si512(_mm512_slli_epi64(a, 30), hi30))
    let mins = _mm512_or_si512(_mm512_or_si512(_mm512_and_si512(b, lo3f), _mm512_and_si512(_mm512_srli_epi64(b, 4), hi0f)),
                               _mm512_and_si512(_mm512_slli_epi64(b, 30), hi30))
    return (scales, mins)
}

/// Q5_K (`Q5_KFormat.unitsAt`): bits 2j, 2j + 1 of each byte of a unit's first word `t` (the top two bits of group
/// 2c + 1's values of word j) in bits 3-4, the rest zero (also the AMX tiles' decoding, KernelsAMX/NibbleKAMX.swift).
/// With GFNI's transform in place of the shift and mask (`ByteFields512`; 16 vector operations fewer a super-block of
/// eight rows, 218 -> 202) the one-sequence kernel read no faster (docs/kernels.md), so every level runs this one.
@inlinable @inline(__always)
public func q5TopBits512(_ t: __m512i, _ j: Int) -> __m512i {
    let shifted = j == 0 ? _mm512_slli_epi16(t, 3) : j == 1 ? _mm512_slli_epi16(t, 1) : j == 2 ? _mm512_srli_epi16(t, 1) : _mm512_srli_epi16(t, 3)
    return _mm512_and_si512(shifted, _mm512_set1_epi8(0x18))
}

/// The two operands in a 512-bit load `a` of a word A of five-bit values recoded into units (Q5_K's `Q5_KBits`, read
/// so by the AMX tiles; Q5_0/Q5_1's `Repack.toUnits`): the value in bits 3-7, shifted down and masked, and the value
/// whose low three bits are bits 0-2, its top two bits from bits 2j, 2j + 1 of the unit's word `t` (`q5TopBits512`).
/// KernelsAVX2's `fiveBitOperands` on 512 bits.
@inlinable @inline(__always)
public func fiveBitOperands512(_ a: __m512i, _ t: __m512i, _ j: Int) -> (__m512i, __m512i) {
    (_mm512_and_si512(_mm512_srli_epi16(a, 3), _mm512_set1_epi8(0x1F)),
     _mm512_or_si512(_mm512_and_si512(a, _mm512_set1_epi8(7)), q5TopBits512(t, j)))
}

/// One group of eight rows for `W.n` sequences. Not inlined: its callers' closures (the tables'
/// buffer, the passes) then stay small, and each specialisation is compiled once with every intrinsic
/// inline (inlined into a heap-allocating closure, the intrinsics became calls).
@inline(never)
private func nibbleRows8Run<F: NibbleRows8, W: SeqWidth>(_: F.Type, _: W.Type, _ group: UnsafeRawPointer, _ nb: Int,
                                                         _ x: Q8Activations, _ st: Q8Strides, _ split: UnsafePointer<Int8>,
                                                         _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    let xs = (x, st.row(x, 1), st.row(x, 2), st.row(x, 3))
    let m4 = _mm512_set1_epi8(0xF), m7 = _mm512_set1_epi8(7), mF8 = _mm512_set1_epi8(-8)
    // vpshufb picks within 128-bit lanes (a lane's first qword at bytes 0-7, its second at 8-15): byte 0 of
    // each qword into both of its dwords, the rest zero (0x80); + 2c + k picks group 2c + k.
    let z: Int64 = 0x80
    let first = z << 8 | z << 16 | z << 24 | z << 40 | z << 48 | z << 56, second = first | 0x0000_0008_0000_0008
    let spread0 = _mm512_set_epi64(second, first, second, first, second, first, second, first), one = _mm512_set1_epi8(1)
    // Q4_K: group 2c's scale into the low word of each of the row's dwords and group 2c + 1's into the high word
    // (+ 2c picks them), for one vpdpwssd on both halves' sums packed as words.
    let pairFirst: Int64 = -0x7FFE_7FFF_7FFE_8000, pairSecond = pairFirst + 0x0008_0008_0008_0008
    let pairs0 = _mm512_set_epi64(pairSecond, pairFirst, pairSecond, pairFirst, pairSecond, pairFirst, pairSecond, pairFirst)
    let lowWords = _mm512_set1_epi32(0xFFFF)
    let ahead = StreamPrefetch.at(W.n)
    var f0 = _mm512_setzero_ps(), f1 = _mm512_setzero_ps(), f2 = _mm512_setzero_ps(), f3 = _mm512_setzero_ps()
    for i in 0..<nb {
        let p = group + i &* F.groupBlock
        if ahead { prefetchStream(p, F.groupBlock) }
        let (scales, mins) = rows8ScalesMins(p)
        var s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512(), s2 = _mm512_setzero_si512(), s3 = _mm512_setzero_si512()
        let xo = 256 &* i
        @inline(__always) func chunk(_ c: Int, _ spread: __m512i) {
            var l0 = _mm512_setzero_si512(), l1 = _mm512_setzero_si512(), l2 = _mm512_setzero_si512(), l3 = _mm512_setzero_si512()
            var h0 = _mm512_setzero_si512(), h1 = _mm512_setzero_si512(), h2 = _mm512_setzero_si512(), h3 = _mm512_setzero_si512()
            // Q5_K: the top two bits of group 2c + 1's values of word j (bits 2j, 2j + 1 of the unit's first word) in
            // bits 3-4, each a 16-bit shift and a mask.
            let tops: (__m512i, __m512i, __m512i, __m512i)
            if F.fifthBits {
                let t = _mm512_loadu_si512(p + (Q5_KFormat.unitsAt &+ 320 &* c))
                tops = (q5TopBits512(t, 0), q5TopBits512(t, 1), q5TopBits512(t, 2), q5TopBits512(t, 3))
            } else {
                tops = (m4, m4, m4, m4)
            }
            @inline(__always) func word(_ j: Int) {
                let v = F.fifthBits ? m4 : _mm512_loadu_si512(p + (F.nibblesAt &+ 64 &* (4 &* c &+ j)))
                let lo: __m512i, hi: __m512i
                if F.fifthBits {
                    // Q5_K (TensorKernels' Q5_KBits): group 2c as 8v in place, group 2c + 1's low three bits or'ed
                    // with its top two, moved from the unit's first word once a chunk.
                    let a = _mm512_loadu_si512(p + (Q5_KFormat.unitsAt &+ 320 &* c &+ 64 &* (j &+ 1)))
                    lo = _mm512_and_si512(a, mF8)
                    hi = _mm512_or_si512(_mm512_and_si512(a, m7), j == 0 ? tops.0 : j == 1 ? tops.1 : j == 2 ? tops.2 : tops.3)
                } else {
                    // Q4_K: the high nibbles stay where they are (16 · q, one op instead of a shift and a mask);
                    // their sums are divided by 16 once per group, exactly.
                    lo = _mm512_and_si512(v, m4)
                    hi = _mm512_andnot_si512(m4, v)
                }
                let o = xo &+ 64 &* c &+ 8 &* j
                @inline(__always) func step(_ q: UnsafePointer<Int8>, _ l: inout __m512i, _ h: inout __m512i) {
                    l = _mm512_dpbusd_epi32(l, lo, qwords(q + o))
                    h = _mm512_dpbusd_epi32(h, hi, qwords(q + (o &+ 32)))
                }
                step(xs.0.q, &l0, &h0)
                if W.n > 1 { step(xs.1.q, &l1, &h1) }
                if W.n > 2 { step(xs.2.q, &l2, &h2) }
                if W.n > 3 { step(xs.3.q, &l3, &h3) }
            }
            word(0); word(1); word(2); word(3)
            let sl = F.fifthBits ? _mm512_shuffle_epi8(scales, spread) : _mm512_shuffle_epi8(scales, _mm512_add_epi8(pairs0, _mm512_sub_epi8(spread, spread0)))
            // Q5_K: group 2c's sums are 8 times its values' (8v), so group 2c + 1's scale is taken 8 times.
            let sh = F.fifthBits ? _mm512_slli_epi32(_mm512_shuffle_epi8(scales, _mm512_add_epi8(spread, one)), 3) : sl
            @inline(__always) func scale(_ s: inout __m512i, _ l: __m512i, _ h: __m512i) {
                if F.fifthBits {
                    s = _mm512_add_epi32(s, _mm512_add_epi32(_mm512_mullo_epi32(l, sl), _mm512_mullo_epi32(h, sh)))
                } else {
                    // Q4_K: each lane's sum of 16 products is within Int16 (|Σ| ≤ 16 · 15 · 128), the high half's
                    // as 16 · H: H << 16 = h << 12 exactly, so the two pack into one dword's words (H high, l low)
                    // and one vpdpwssd by the paired scales multiplies and adds both.
                    s = _mm512_dpwssd_epi32(s, _mm512_or_si512(_mm512_slli_epi32(h, 12), _mm512_and_si512(l, lowWords)), sl)
                }
            }
            scale(&s0, l0, h0)
            if W.n > 1 { scale(&s1, l1, h1) }
            if W.n > 2 { scale(&s2, l2, h2) }
            if W.n > 3 { scale(&s3, l3, h3) }
        }
        let two = _mm512_add_epi8(one, one)
        let spread2 = _mm512_add_epi8(spread0, two), spread4 = _mm512_add_epi8(spread2, two), spread6 = _mm512_add_epi8(spread4, two)
        chunk(0, spread0); chunk(1, spread2); chunk(2, spread4); chunk(3, spread6)
        let d = halvesInPairs(p), dmin = halvesInPairs(p + 16)
        @inline(__always) func finish(_ k: Int, _ xa: Q8Activations, _ s: __m512i, _ f: inout __m512) {
            let sp = UnsafeRawPointer(split + k &* 16 &* nb + 16 &* i)
            let m = _mm512_dpbusd_epi32(_mm512_slli_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), mins, qwords(sp)), 7),
                                        mins, qwords(sp + 8))
            let dx = _mm512_set1_ps(xa.d[i])
            // Q5_K: the scaled sums are 8 times ggml's (exact in Float: a power of two).
            f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(d, F.fifthBits ? _mm512_set1_ps(xa.d[i] * 0.125) : dx), f)
            f = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(m), _mm512_mul_ps(dmin, dx), f)
        }
        finish(0, xs.0, s0, &f0)
        if W.n > 1 { finish(1, xs.1, s1, &f1) }
        if W.n > 2 { finish(2, xs.2, s2, &f2) }
        if W.n > 3 { finish(3, xs.3, s3, &f3) }
    }
    storeRowPairs512(W.n, (f0, f1, f2, f3), y, ldy)
}

/// Every sequence against rows of eight groups: the activation sums split once (`kSplitSums`), then per
/// group the sequences in passes of up to four (the group's 8 · rowBytes stay in L1 between passes).
@inline(__always)
private func kRows8Mat<F: NibbleRows8>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                                       _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    withUnsafeTemporaryAllocation(of: Int8.self, capacity: nSeq &* 16 &* nb) { buf in
        let split = buf.baseAddress!
        for s in 0..<nSeq { kSplitSums(st.row(x, s), nb, split + s &* 16 &* nb) }
        eachRows8Group(rows, rowBytes, count) { group, g in
            @inline(__always) func run<W: SeqWidth>(_ w: W.Type, _ s: Int) {
                nibbleRows8Run(F.self, w, group, nb, st.row(x, s), st, split + s &* 16 &* nb, y + (s &* ldy &+ g), ldy)
            }
            bySeqGroups(nSeq, { run(W4.self, $0) }, { run(W3.self, $0) }, { run(W2.self, $0) }, { run(W1.self, $0) })
        }
    }
}

extension AVX512 {
    /// Q4_K rows in the `rows8` layout · Q8_K activations.
    @inline(never)
    public static func q4_KRows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        kRows8Mat(Q4_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q5_K rows in the `rows8` layout · Q8_K activations.
    @inline(never)
    public static func q5_KRows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        kRows8Mat(Q5_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
}
#endif
