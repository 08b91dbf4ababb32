// Q2_K and Q3_K in the `rows8` layout on 256-bit vectors (the layout and the AVX-512 kernel:
// KernelsAVX512/CrumbRows8_512.swift). A 256-bit load of a 64-byte word holds one half of the eight rows
// (rows 0-3, or 4-7), row r in qword r; each super-block is done for both halves before the next. Per
// sixteen, as on AVX-512, its two operands (Q2_K: one crumb of the two words that hold it, crumbs 1 and 3 in
// place, 4 q, against 4 · scale for crumbs 0 and 2; Q3_K: its recoded 3-bit values masked in place, 4 v, or the
// fourth sixteen of a triple, v, a crumb with its high bit or-ed in)
// through one `vpmaddubsw` each against the sequence's 8 activation bytes broadcast to every qword, added in
// Int16 (|Σ| ≤ 4 · 28 · 128), then one `vpmaddwd` by the scale spread over the row's words (scale · 256). The min (Q2_K) or offset (Q3_K) term: the coefficients times the split activation sums of
// the sixteens, two `vpmaddubsw` and one `vpmaddwd` per byte half. Sequences in passes of two; from
// `rows8TilesFrom` sequences on each half super-block is decoded once into a four-row tile of KQuantTiles.swift
// that all sequences read (`kRows8Mat`).
#if arch(x86_64)
import _Builtin_intrinsics.intel
import Prefetch

/// Q2_K and Q3_K in the `rows8` layout: the super-block of eight rows and where its parts lie. Q2_K: d (16
/// bytes: row r's fp16 at 2r), dmin (16), the two scale words (2 × 64: row r's qword at 8r; word w holds the
/// scale bytes of sixteens 8w ..< 8w + 8), the eight quant words (64 each). Q3_K: d (16), scale bytes 8-11
/// (32: row r at 4r), scale bytes 0-7 (64), then its high bits and quants recoded into four triples of words (12 ×
/// 64: TensorKernels' `Q3_KBits`).
public protocol CrumbRows8: KQuantFormat {
    /// Bytes of one super-block of eight rows (8 · `bytes`).
    static var groupBlock: Int { get }
    /// Offset of the eight quant words (Q3_K: of its twelve recoded words).
    static var quantsAt: Int { get }
    /// Q3_K: the recoded 3-bit values and the signed scales with their offset term.
    static var highBits: Bool { get }
}

extension Q2_KFormat: CrumbRows8 {
    @inlinable public static var groupBlock: Int { 672 }
    @inlinable public static var quantsAt: Int { 160 }
    @inlinable public static var highBits: Bool { false }
}

extension Q3_KFormat: CrumbRows8 {
    @inlinable public static var groupBlock: Int { 880 }
    @inlinable public static var quantsAt: Int { 112 }
    @inlinable public static var highBits: Bool { true }
}

/// Bytes per super-block and sequence of `kSplitSums16`: a_0..a_15, b_0..b_15, then Σ_t Σx_t as Int32.
@inlinable public var splitSums16Bytes: Int { 48 }

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

/// What rows 4h ..< 4h + 4 of a super-block contribute besides their sixteens: the coefficients of the min or
/// offset term (bytes, sixteens 0-7 and 8-15), d over the scale words' factor (d / 256; Q2_K d / 1024) and the
/// term's factor (−dmin, or −4 d), row r in lanes 2r, 2r + 1.
struct CrumbHeader256 {
    var terms: (__m256i, __m256i)
    var dScale: __m256, tf: __m256
}

/// Decodes rows 4hh ..< 4hh + 4 of the super-block of eight rows at `p`: calls `body(o, qa, qb, sw)` for each
/// sixteen, in the order the words lie, with its activations' offset in the super-block, the quants of the two
/// words that hold it and its scale spread over each row's words (scale · 256; Q2_K's crumbs 1 and 3 come as 4 q
/// and crumbs 0 and 2 with 4 · scale · 256); returns the rest.
@inline(__always)
func crumbDecodeHalf<F: CrumbRows8>(_: F.Type, _ p: UnsafeRawPointer, _ hh: Int,
                                    _ body: (Int, __m256i, __m256i, __m256i) -> Void) -> CrumbHeader256 {
    let m3 = splat8(3), m4 = splat8(0xF), four = splat8(4)
    // vpshufb within 128-bit lanes: byte 0 of each qword into the high byte of each of its words, the low bytes
    // zero (0x80); + t picks byte t.
    let z: Int64 = 0x80, first = z | z << 16 | z << 32 | z << 48, second = first | 0x0800_0800_0800_0800
    let spread0 = _mm256_set_epi64x(second, first, second, first)
    let hb = 32 &* hh
    // The four rows' sixteen scales as the bytes of their qwords (sixteens 0-7, 8-15), and the unsigned
    // coefficients of the min or offset term, as on AVX-512.
    let scales: (__m256i, __m256i), scales4: (__m256i, __m256i), terms: (__m256i, __m256i)
    if F.highBits {
        let w = load256(p, 48 &+ hb), a2 = _mm256_cvtepu32_epi64(load128(p, 16 &+ 16 &* hh))
        let lo03 = _mm256_set1_epi64x(0x0000_0000_0303_0303), hi03 = _mm256_set1_epi64x(0x0303_0303_0000_0000)
        let h0 = _mm256_or_si256(_mm256_and_si256(a2, lo03), _mm256_and_si256(_mm256_slli_epi64(a2, 30), hi03))
        let h1 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi64(a2, 4), lo03), _mm256_and_si256(_mm256_slli_epi64(a2, 26), hi03))
        let u0 = _mm256_or_si256(_mm256_and_si256(w, m4), _mm256_slli_epi64(h0, 4))
        let u1 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi64(w, 4), m4), _mm256_slli_epi64(h1, 4))
        scales = (_mm256_sub_epi8(u0, splat8(32)), _mm256_sub_epi8(u1, splat8(32)))
        // 4 (u − 32) = 4u − 128: 4u stays in its byte (u ≤ 63).
        scales4 = (_mm256_add_epi8(_mm256_slli_epi16(u0, 2), splat8(0x80)), _mm256_add_epi8(_mm256_slli_epi16(u1, 2), splat8(0x80)))
        terms = (u0, u1)
    } else {
        let w0 = load256(p, 32 &+ hb), w1 = load256(p, 96 &+ hb)
        scales = (_mm256_and_si256(w0, m4), _mm256_and_si256(w1, m4))
        scales4 = (_mm256_slli_epi16(scales.0, 2), _mm256_slli_epi16(scales.1, 2))
        terms = (_mm256_and_si256(_mm256_srli_epi64(w0, 4), m4), _mm256_and_si256(_mm256_srli_epi64(w1, 4), m4))
    }
    // Crumbs 1 and 3 masked in place (4 q; Q3_K's high bit then worth 16), crumbs 0 and 2 against 4 · scale, as on
    // AVX-512 (Q3_K's halves then sum apart: `crumbRows8Group`).
    let m12 = splat8(12)
    /// Sixteen t with its two operands, 4 q (`p2`) or q, and its scale spread.
    @inline(__always) func sixteen(_ t: Int, p2: Bool, _ qa: __m256i, _ qb: __m256i) {
        let sv = p2 ? (t < 8 ? scales.0 : scales.1) : (t < 8 ? scales4.0 : scales4.1)
        body(16 &* t, qa, qb, _mm256_shuffle_epi8(sv, _mm256_add_epi8(spread0, splat8(UInt8(t & 7)))))
    }
    if F.highBits {
        // Q3_K's recoded bits (`Q3_KBits`, TensorKernels/Formats/Q3_K.swift), as on AVX-512: per triple (A, B, C) of
        // sixteens k ..< k + 4, bits 2-4 and 5-7 of A, B, C are sixteens k, k + 1, k + 2 (4 v); sixteen k + 3 is the
        // crumbs in bits 0-1 of A and B with C's bits 0 and 1 moved to bit 2 (v).
        let m1c = splat8(0x1C)
        @inline(__always) func hi(_ v: __m256i) -> __m256i { _mm256_and_si256(_mm256_srli_epi16(v, 3), m1c) }
        @inline(__always) func last(_ v: __m256i, _ high: __m256i) -> __m256i {
            _mm256_or_si256(_mm256_and_si256(v, m3), _mm256_and_si256(high, four))
        }
        @inline(__always) func triple(_ g: Int) {
            let at = F.quantsAt &+ 192 &* g &+ hb
            let a = load256(p, at), b = load256(p, at &+ 64), c = load256(p, at &+ 128)
            let k = 8 &* (g >> 1) &+ 4 &* (g & 1)
            sixteen(k, p2: true, _mm256_and_si256(a, m1c), hi(a))
            sixteen(k &+ 1, p2: true, _mm256_and_si256(b, m1c), hi(b))
            sixteen(k &+ 2, p2: true, _mm256_and_si256(c, m1c), hi(c))
            sixteen(k &+ 3, p2: false, last(a, _mm256_slli_epi16(c, 2)), last(b, _mm256_slli_epi16(c, 1)))
        }
        triple(0); triple(1); triple(2); triple(3)
    } else {
        /// Words m = 2h and 2h + 1 of half n: their crumb j is sixteen 8n + 2j + h.
        @inline(__always) func quad(_ n: Int, _ h: Int) {
            let va = load256(p, F.quantsAt &+ 64 &* (4 &* n &+ 2 &* h) &+ hb)
            let vb = load256(p, F.quantsAt &+ 64 &* (4 &* n &+ 2 &* h &+ 1) &+ hb)
            let va4 = _mm256_srli_epi16(va, 4), vb4 = _mm256_srli_epi16(vb, 4)
            @inline(__always) func crumbs(_ j: Int) {
                @inline(__always) func crumb(_ v: __m256i, _ v4: __m256i) -> __m256i {
                    _mm256_and_si256(j < 2 ? v : v4, j & 1 == 0 ? m3 : m12)
                }
                sixteen(8 &* n &+ 2 &* j &+ h, p2: j & 1 == 1, crumb(va, va4), crumb(vb, vb4))
            }
            crumbs(0); crumbs(1); crumbs(2); crumbs(3)
        }
        quad(0, 0); quad(0, 1); quad(1, 0); quad(1, 1)
    }
    // d (and Q2_K's dmin) of the four rows, each in the row's two lanes.
    let d = halvesInPairs256(p, 8 &* hh)
    let tf = F.highBits ? _mm256_mul_ps(d, _mm256_set1_ps(-4)) : _mm256_sub_ps(_mm256_setzero_ps(), halvesInPairs256(p, 16 &+ 8 &* hh))
    return CrumbHeader256(terms: terms, dScale: _mm256_mul_ps(d, _mm256_set1_ps(1.0 / 1024)), tf: tf)
}

/// One group of eight rows at `base` for `W.n` (1 or 2) sequences: per super-block rows 0-3, then rows 4-7.
@inline(never)
func crumbRows8Group<F: CrumbRows8, W: SeqWidth>(_: F.Type, _: W.Type, _ base: UnsafeRawPointer,
                                                 _ nb: Int, _ x: Q8Activations, _ st: Q8Strides,
                                                 _ split: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    let x1 = st.row(x, 1)
    let q0 = UnsafeRawPointer(x.q), q1 = UnsafeRawPointer(x1.q)
    let ones = _mm256_set1_epi16(1), by128 = _mm256_set1_epi16(128)
    let ahead = StreamPrefetch.at(W.n)
    // Sequence k, rows 4h ..< 4h + 4: f[k][h].
    var f00 = _mm256_setzero_ps(), f01 = _mm256_setzero_ps(), f10 = _mm256_setzero_ps(), f11 = _mm256_setzero_ps()
    for i in 0..<nb {
        @inline(__always) func rowsHalf(_ hh: Int, _ fa: inout __m256, _ fb: inout __m256) {
            var s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256()
            // Q3_K: the second half's sixteens (elements 128 ..< 256) in sums of their own, so neither passes 2^31
            // (eight sixteens a dword, eight elements each: 8 · 1024 · 32 · 8 · 7 · 128 < 2^31).
            var t0 = _mm256_setzero_si256(), t1 = _mm256_setzero_si256()
            let xo = 256 &* i
            let hd = crumbDecodeHalf(F.self, base + i &* F.groupBlock, hh) { o, qa, qb, sw in
                // The super-block's lines (Q2_K 11, Q3_K 14) prefetched one per sixteen of the two halves (32).
                if ahead { prefetchSpread(base + i &* F.groupBlock, line: 16 &* hh &+ (o >> 4), of: F.groupBlock) }
                @inline(__always) func step(_ q: UnsafeRawPointer, _ s: inout __m256i) {
                    let at = xo &+ o
                    let sum = _mm256_add_epi16(_mm256_maddubs_epi16(qa, qwords256(q, at)), _mm256_maddubs_epi16(qb, qwords256(q, at &+ 8)))
                    s = _mm256_add_epi32(s, _mm256_madd_epi16(sum, sw))
                }
                if F.highBits && o >= 128 {
                    step(q0, &t0)
                    if W.n > 1 { step(q1, &t1) }
                } else {
                    step(q0, &s0)
                    if W.n > 1 { step(q1, &s1) }
                }
            }
            @inline(__always) func finish(_ k: Int, _ xa: Q8Activations, _ s: __m256i, _ t: __m256i, _ f: inout __m256) {
                let sp = split + splitSums16Bytes &* (k &* nb &+ i)
                let ta = _mm256_add_epi16(_mm256_maddubs_epi16(hd.terms.0, qwords256(sp, 0)), _mm256_maddubs_epi16(hd.terms.1, qwords256(sp, 8)))
                let tb = _mm256_add_epi16(_mm256_maddubs_epi16(hd.terms.0, qwords256(sp, 16)), _mm256_maddubs_epi16(hd.terms.1, qwords256(sp, 24)))
                var m = _mm256_add_epi32(_mm256_madd_epi16(ta, by128), _mm256_madd_epi16(tb, ones))
                if F.highBits {
                    // Σ_t (u_t − 32) Σx_t: the −32 Σ_t Σx_t once per row (its even lane).
                    let total = sp.loadUnaligned(fromByteOffset: 32, as: Int32.self)
                    let c = 32 &* total
                    m = _mm256_sub_epi32(m, _mm256_set_epi32(0, c, 0, c, 0, c, 0, c))
                }
                let dx = _mm256_set1_ps(xa.d[i])
                var sums = _mm256_cvtepi32_ps(s)
                if F.highBits { sums = _mm256_add_ps(sums, _mm256_cvtepi32_ps(t)) }
                f = _mm256_fmadd_ps(sums, _mm256_mul_ps(hd.dScale, dx), f)
                f = _mm256_fmadd_ps(_mm256_cvtepi32_ps(m), _mm256_mul_ps(hd.tf, dx), f)
            }
            finish(0, x, s0, t0, &fa)
            if W.n > 1 { finish(1, x1, s1, t1, &fb) }
        }
        rowsHalf(0, &f00, &f10)
        rowsHalf(1, &f01, &f11)
    }
    storeRowPairs256(W.n, (f00, f10, f10, f10), y, ldy)
    storeRowPairs256(W.n, (f01, f11, f11, f11), y + 4, ldy)
}

/// Every sequence against rows of eight groups: the split sums once, then per group the sequences in passes
/// of two (the group's bytes stay in cache between passes). From `rows8TilesFrom` sequences on the four-row tiles
/// run instead (`kRows8Mat`); they replaced an operand cache that every pass read from 32 sequences on (Q3_K).
@inline(__always)
func crumbRows8Mat<F: CrumbRows8>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                                  _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    withSplitSums16(x, st, nSeq, nb) { split in
        eachRows8Group(rows, rowBytes, count) { base, g in
            var s = 0
            while s &+ 2 <= nSeq {
                crumbRows8Group(F.self, W2.self, base, nb, st.row(x, s), st, split + s &* splitSums16Bytes &* nb, y + (s &* ldy &+ g), ldy)
                s &+= 2
            }
            if s < nSeq {
                crumbRows8Group(F.self, W1.self, base, nb, st.row(x, s), st, split + s &* splitSums16Bytes &* nb, y + (s &* ldy &+ g), ldy)
            }
        }
    }
}

/// Q2_K and Q3_K on the four-row tiles of KQuantTiles.swift: sixteen groups of sixteen, a coefficient per sixteen
/// (Q2_K its min, Q3_K its scale − 32, signed); the quants as `crumbDecodeHalf` gives them (crumbs 1 and 3 as 4 q)
/// with its spread scales (scale · 256, 4 · scale · 256 for crumbs 0 and 2), so the tiles add exactly the
/// products the row kernel does, and Q3_K's halves go to floats apart as there (`halfSums`).
extension QuadTileShape where Self: CrumbRows8 {
    static var groups: Int { 16 }
    static var termVectors: Int { 4 }
    static var termsPer16: Bool { true }
    static var halfSums: Bool { highBits }
}

extension QuadTileRows8 where Self: CrumbRows8 {
    /// Super-block `i` of rows 4h ..< 4h + 4 of the `rows8` group at `group` decoded into a four-row tile.
    @inline(__always)
    static func repack4(rows8 group: UnsafeRawPointer, half h: Int, _ i: Int, _ dst: UnsafeMutableRawPointer) {
        let hd = crumbDecodeHalf(Self.self, group + i &* groupBlock, h) { o, qa, qb, sw in
            // Elements o ..< o + 16: sixteen o / 16, its scales at 1024 + 32 · (o / 16).
            store256(dst, 4 &* o, qa); store256(dst, 4 &* o &+ 32, qb); store256(dst, 1024 &+ 2 &* o, sw)
        }
        let thirtyTwo = splat8(32)
        let c0 = highBits ? _mm256_sub_epi8(hd.terms.0, thirtyTwo) : hd.terms.0
        let c1 = highBits ? _mm256_sub_epi8(hd.terms.1, thirtyTwo) : hd.terms.1
        store256(dst, 1536, spreadBytes4(c0, 0, sameByte: false, signed: highBits))
        store256(dst, 1568, spreadBytes4(c0, 4, sameByte: false, signed: highBits))
        store256(dst, 1600, spreadBytes4(c1, 0, sameByte: false, signed: highBits))
        store256(dst, 1632, spreadBytes4(c1, 4, sameByte: false, signed: highBits))
        _mm256_storeu_ps((dst + 1664).assumingMemoryBound(to: Float.self), hd.dScale)
        _mm256_storeu_ps((dst + 1696).assumingMemoryBound(to: Float.self), hd.tf)
    }
    /// Below `rows8TilesFrom`: the passes of two sequences of `crumbRows8Mat`.
    static func rows8Passes(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                            _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        crumbRows8Mat(Self.self, rows, rowBytes, count, nb, x, st, nSeq, y, ldy)
    }
}

extension Q2_KFormat: QuadTileRows8 {
    /// From this many sequences on, the four-row tiles (below it passes of two). `bench-kernels --types q2_K,q3_K
    /// --rows 8960 --cols 1536 --threads 2 --levels avx2`, AMX Xeon, `TOKENMILL_INT_TILES_FROM=99` against `=1`, two
    /// alternating runs, ms passes -> tiles: Q2_K 2: 0.22-0.26 -> 0.29-0.30, 3: 0.35-0.39 -> 0.35, 4: 0.42-0.47 ->
    /// 0.41, 8: 0.82-0.88 -> 0.69-0.70, 16: 1.57-1.81 -> 1.32, 32: 3.2-3.6 -> 2.5; Q3_K 2: 0.30-0.37 -> 0.38, 3:
    /// 0.48-0.54 -> 0.42-0.43, 4: 0.57-0.62 -> 0.49-0.50, 8: 1.14-1.31 -> 0.79-0.81, 16: 2.2-2.4 -> 1.43-1.44, 32 (the
    /// operand cache the passes read before) 3.8-4.1 -> 2.7-2.8, 128: 11.8 -> 8.1 (Q2_K 11.0 -> 8.0). Rows of 8960
    /// (long rows: `quadTilesFrom` takes 8) Q3_K 8: 0.96 -> 0.84, 16: 1.89 -> 1.35, Q2_K 8: 0.71 -> 0.79, 16: 1.39
    /// -> 1.27.
    static var rows8TilesFrom: Int { 4 }
}

extension Q3_KFormat: QuadTileRows8 {
    /// From 3 sequences (Q2_K's comment has the figures).
    static var rows8TilesFrom: Int { 3 }
}

extension AVX2 {
    /// Q2_K rows in the `rows8` layout · Q8_K activations.
    @inline(never)
    public static func q2_KRows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        kRows8Mat(Q2_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q3_K rows in the `rows8` layout · Q8_K activations.
    @inline(never)
    public static func q3_KRows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        kRows8Mat(Q3_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
}
#endif
