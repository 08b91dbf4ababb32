// Q6_K in the `rows8` layout on 256-bit vectors (the layout: TensorKernels' Repack.swift and
// KernelsAVX512/Q6KRows8_512.swift, whose kernel this one follows). A 256-bit load of a 64-byte word holds one
// half of the eight rows (rows 0-3, or 4-7), row r in qword r; each super-block is done for both halves before
// the next. Per operand (elements 16t ..< 16t + 8 or the next 8 of four rows) one mask of a recoded word, or for
// the last sixteen of a unit three shifts, masks and ors of the unit's bits 6-7 (`Q6_KBits`); per sixteen and
// sequence two
// `vpmaddubsw` against the sequence's 8 activation bytes broadcast to every qword, added in Int16 (|Σ| ≤ 2 · 2
// · 63 · 128), and one `vpmaddwd` by the rows' scale spread over each row's four words (one `vpshufb` of the
// scales widened to Int16 once per super-block and half). The offset −32: four `vpmaddwd` of the widened
// scales against Q8_K's sums per sixteen. Up to seven sequences run this kernel (passes of two); from
// `rows8TilesFrom` (8) on, the four-row tiles of KQuantTiles.swift, filled from the same decoding (the
// operands and spread scales are the tiles' as they are: no transpose). docs/kernels.md has the figures.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import Prefetch

extension Q6_KFormat {
    /// Bytes of one super-block of eight rows in the `rows8` layout (8 · 210): d (16), the two scale words (2 ·
    /// 64), then the four units of six recoded quant words (64 each; TensorKernels' `Q6_KBits`).
    @inlinable public static var groupBlock: Int { 1680 }
    /// Where the four units of six recoded quant words start in it (TensorKernels' `Q6_KBits` makes them).
    @inlinable public static var unitsAt: Int { 144 }
}

/// Decodes rows 4hr ..< 4hr + 4 of the super-block of eight rows at `p`: calls `body(t, qa, qb, sw)` for each
/// sixteen t, in the order its words lie, with elements 16t ..< 16t + 8 (`qa`) and the next 8 (`qb`) of the four
/// rows (unsigned: q + 32) and the rows' scale of sixteen t in each of the row's four words (`sw`); returns the
/// scales widened to Int16 (vector v, word 4r + j: row r's scale of sixteen 4v + j), the offset term's coefficients.
@inline(__always)
func q6Rows8Decode256(_ p: UnsafeRawPointer, _ hr: Int, _ body: (Int, __m256i, __m256i, __m256i) -> Void)
    -> (__m256i, __m256i, __m256i, __m256i) {
    let hoff = 32 &* hr
    let w0 = load256(p, 16 &+ hoff), w1 = load256(p, 80 &+ hoff)
    let scales = (spreadBytes4(w0, 0, sameByte: false, signed: true), spreadBytes4(w0, 4, sameByte: false, signed: true),
                  spreadBytes4(w1, 0, sameByte: false, signed: true), spreadBytes4(w1, 4, sameByte: false, signed: true))
    let m3f = splat8(0x3F), m3 = splat8(3), m0c = splat8(0x0C), m30 = splat8(0x30)
    // Word j of each qword into all four of its words: bytes 2j, 2j + 1 (second qword of a lane: + 8).
    @inline(__always) func spread(_ j: Int64) -> __m256i {
        let lo = (2 &* j | (2 &* j &+ 1) << 8) &* 0x0001_0001_0001_0001, hi = lo &+ 0x0808_0808_0808_0808
        return _mm256_set_epi64x(hi, lo, hi, lo)
    }
    let sp = (spread(0), spread(1), spread(2), spread(3))
    @inline(__always) func emit(_ t: Int, _ qa: __m256i, _ qb: __m256i) {
        let v = t >> 2, s = v == 0 ? scales.0 : v == 1 ? scales.1 : v == 2 ? scales.2 : scales.3
        let j = t & 3, c = j == 0 ? sp.0 : j == 1 ? sp.1 : j == 2 ? sp.2 : sp.3
        body(t, qa, qb, _mm256_shuffle_epi8(s, c))
    }
    /// Unit m of the recoded words (`Q6_KBits`), as on AVX-512: sixteens 4m ..< 4m + 3 in bits 0-5 (one mask an
    /// operand), sixteen 4m + 3 in bits 6-7 of the unit's words.
    @inline(__always) func unit(_ m: Int) {
        let at = Q6_KFormat.unitsAt &+ 384 &* m &+ hoff
        let w0 = load256(p, at), w1 = load256(p, at &+ 64), w2 = load256(p, at &+ 128), w3 = load256(p, at &+ 192)
        let w4 = load256(p, at &+ 256), w5 = load256(p, at &+ 320)
        @inline(__always) func whole(_ w: __m256i) -> __m256i { _mm256_and_si256(w, m3f) }
        @inline(__always) func split(_ a: __m256i, _ b: __m256i, _ c: __m256i) -> __m256i {
            let low = _mm256_and_si256(_mm256_srli_epi16(a, 6), m3)
            return _mm256_or_si256(_mm256_or_si256(low, _mm256_and_si256(_mm256_srli_epi16(b, 4), m0c)),
                                   _mm256_and_si256(_mm256_srli_epi16(c, 2), m30))
        }
        let t = 4 &* m
        emit(t, whole(w0), whole(w1))
        emit(t &+ 1, whole(w2), whole(w3))
        emit(t &+ 2, whole(w4), whole(w5))
        emit(t &+ 3, split(w0, w1, w2), split(w3, w4, w5))
    }
    unit(0); unit(1); unit(2); unit(3)
    return scales
}

/// One group of eight rows for `W.n` (1 or 2) sequences: per super-block rows 0-3, then rows 4-7.
@inline(never)
func q6KRows8Group<W: SeqWidth>(_: W.Type, _ group: UnsafeRawPointer, _ nb: Int, _ x: Q8Activations, _ st: Q8Strides,
                                _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    let x1 = st.row(x, 1)
    let ahead = StreamPrefetch.at(W.n)
    // Sequence k, rows 4h ..< 4h + 4: f[k][h].
    var f00 = _mm256_setzero_ps(), f01 = _mm256_setzero_ps(), f10 = _mm256_setzero_ps(), f11 = _mm256_setzero_ps()
    for i in 0..<nb {
        let p = group + i &* Q6_KFormat.groupBlock
        if ahead { prefetchStream(p, Q6_KFormat.groupBlock) }
        let xo = 256 &* i
        @inline(__always) func rowsHalf(_ hr: Int, _ f0: inout __m256, _ f1: inout __m256) {
            var s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256()
            let terms = q6Rows8Decode256(p, hr) { t, qa, qb, sw in
                let at = xo &+ 16 &* t
                @inline(__always) func step(_ q: UnsafePointer<Int8>, _ s: inout __m256i) {
                    let sum = _mm256_add_epi16(_mm256_maddubs_epi16(qa, qwords256(q, at)), _mm256_maddubs_epi16(qb, qwords256(q, at &+ 8)))
                    s = _mm256_add_epi32(s, _mm256_madd_epi16(sum, sw))
                }
                step(x.q, &s0)
                if W.n > 1 { step(x1.q, &s1) }
            }
            let d = halvesInPairs256(p, 8 &* hr)
            @inline(__always) func finish(_ xa: Q8Activations, _ s: __m256i, _ f: inout __m256) {
                // Σ_t scale_t · Σx_t, the sums four at a time against the widened scales; then s − 32 · that.
                let b = UnsafeRawPointer(xa.sum16 + 16 &* i)
                let m = _mm256_add_epi32(_mm256_add_epi32(_mm256_madd_epi16(terms.0, qwords256(b, 0)), _mm256_madd_epi16(terms.1, qwords256(b, 8))),
                                         _mm256_add_epi32(_mm256_madd_epi16(terms.2, qwords256(b, 16)), _mm256_madd_epi16(terms.3, qwords256(b, 24))))
                let total = _mm256_sub_epi32(s, _mm256_slli_epi32(m, 5))
                f = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), _mm256_mul_ps(d, _mm256_set1_ps(xa.d[i])), f)
            }
            finish(x, s0, &f0)
            if W.n > 1 { finish(x1, s1, &f1) }
        }
        rowsHalf(0, &f00, &f10)
        rowsHalf(1, &f01, &f11)
    }
    storeRowPairs256(W.n, (f00, f10, f10, f10), y, ldy)
    storeRowPairs256(W.n, (f01, f11, f11, f11), y + 4, ldy)
}

/// Every sequence against rows of eight groups, per group in passes of two (the group's bytes stay in cache
/// between passes).
@inline(never)
func q6KRows8Groups(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                    _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    rows8GroupsInPairs(rows, rowBytes, count, nSeq, { group, g, s in
        q6KRows8Group(W2.self, group, nb, st.row(x, s), st, y + (s &* ldy &+ g), ldy)
    }, { group, g, s in
        q6KRows8Group(W1.self, group, nb, st.row(x, s), st, y + (s &* ldy &+ g), ldy)
    })
}

extension Q6_KFormat {
    /// Super-block `i` of rows 4h ..< 4h + 4 of the `rows8` group at `group` into the four-row tile layout
    /// (KQuantTiles.swift; `repack4` from the GGUF layout): `q6Rows8Decode256`'s operands, spread scales and
    /// widened scales are the tile's quants, scales and sum terms as they are.
    @inline(__always)
    static func repack4(rows8 group: UnsafeRawPointer, half h: Int, _ i: Int, _ dst: UnsafeMutableRawPointer) {
        let p = group + i &* groupBlock
        let terms = q6Rows8Decode256(p, h) { t, qa, qb, sw in
            store256(dst, 64 &* t, qa); store256(dst, 64 &* t &+ 32, qb); store256(dst, 1024 &+ 32 &* t, sw)
        }
        store256(dst, 1536, terms.0); store256(dst, 1568, terms.1); store256(dst, 1600, terms.2); store256(dst, 1632, terms.3)
        let d = halvesInPairs256(p, 8 &* h)
        _mm256_store_ps((dst + 1664).assumingMemoryBound(to: Float.self), d)
        _mm256_store_ps((dst + 1696).assumingMemoryBound(to: Float.self), _mm256_mul_ps(d, _mm256_set1_ps(-32)))
    }
}

extension Q6_KFormat: QuadTileRows8 {
    /// From this many sequences on, Q6_K in the `rows8` layout runs the four-row tiles (below it the `rows8` row
    /// kernel, in passes of two sequences). 8 on the Zen 4 host while the tiles prefetched in bursts (from memory
    /// passes -> tiles 4: 0.78-0.81 -> 0.90 ms, 8: 1.25-1.35 -> 1.22-1.33). With the prefetch spread over the
    /// tiles' multiply, on the AMX Xeon at `avx2` (`bench-kernels --types q6_K --rows 8960 --cols 1536 --threads 2
    /// --levels avx2`, `TOKENMILL_INT_TILES_FROM=99` against `=1`, two alternating runs, ms): 2: 0.432-0.442 ->
    /// 0.488-0.506, 3: 0.605-0.609 -> 0.502-0.522, 4: 0.68-0.69 -> 0.54-0.55, 6: 0.93-0.94 -> 0.67, 8: 1.19-1.21 ->
    /// 0.82-0.83; from cache (2048 x 1536, one thread) 3: 0.172 -> 0.142.
    static var rows8TilesFrom: Int { 3 }
    static func rows8Passes(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                            _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        q6KRows8Groups(rows, rowBytes, count, nb, x, st, nSeq, y, ldy)
    }
}
#endif
