// Q4_K in the `rows8` layout on 256-bit vectors (the layout: TensorKernels' Repack.swift; the AVX-512 kernel,
// which serves Q5_K too: KernelsAVX512/KQuantRows8_512.swift). A 256-bit load of a 64-byte word holds one half
// of the eight rows (rows 0-3, or 4-7), row r in qword r; each super-block is done for both halves before the
// next (two passes over a group would pull the lines at twice the rate the first pass uses them and leave the
// memory idle in the second). Without `vpdpbusd`, the products of a group add up in Int16 before the group's
// scale is applied (the idea of the four-row tiles): per 8-byte word one `vpmaddubsw` per nibble half against
// the sequence's 8 activation bytes broadcast to every qword, four words of a group added in Int16 (at most
// 4 · 2 · 15 · 127), then one `vpmaddwd` by the rows' scales (each row's scale spread over its four words by
// one `vpshufb`). The min term: the mins (unsigned bytes) times the activation sums split into bytes
// (Σx_g = 128 a_g + b_g), two `vpmaddubsw` and two `vpmaddwd` per super-block. Up to seven sequences run this
// kernel (passes of two); from eight on, the four-row tiles of KQuantTiles.swift, repacked from the layout without a
// transpose. docs/kernels.md has the figures.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import Prefetch

extension Q4_KFormat {
    /// Bytes of one super-block of eight rows in the `rows8` layout (8 · 144): d, dmin, the scale words
    /// w0 (at 32) and w1 w2 (at 64), then the sixteen nibble words at 128.
    @inlinable public static var groupBlock: Int { 1152 }
}

extension Q5_KFormat {
    /// The same for Q5_K (8 · 176): Q4_K's header, then its quants at 128, recoded at load (`unitsAt`).
    @inlinable public static var groupBlock: Int { 1408 }
    /// Where Q5_K's quants lie in a super-block of eight rows, recoded at load (TensorKernels' `Q5_KBits` states and
    /// makes it): four units of five words (320 bytes), unit c (groups 2c and 2c + 1) at `unitsAt + 320c`: T, then
    /// A_0 ... A_3. Byte i of row r's qword in A_j holds v(2c, 8j + i) in bits 3-7 and the low three bits of
    /// v(2c + 1, 8j + i) in bits 0-2, whose top two bits are bits 2j, 2j + 1 of byte i of row r's qword in T (v(g, l):
    /// element 32g + l of the row, 0 ... 31).
    @inlinable public static var unitsAt: Int { 128 }
}

/// Q4_K and Q5_K in the `rows8` layout: where a super-block of eight rows (`groupBlock`) keeps its nibble
/// words (Q4_K), or whether it has fifth bits (Q5_K: its quants recoded at `Q5_KFormat.unitsAt` instead). (Public
/// for the AVX-512 kernel and the AMX tiles of the same layout.)
public protocol NibbleRows8: KQuantFormat {
    static var groupBlock: Int { get }
    /// Offset of the sixteen nibble words in it.
    static var nibblesAt: Int { get }
    static var fifthBits: Bool { get }
}

extension Q4_KFormat: NibbleRows8 {
    @inlinable public static var nibblesAt: Int { 128 }
    @inlinable public static var fifthBits: Bool { false }
}

extension Q5_KFormat: NibbleRows8 {
    /// Unused: Q5_K's quants are recoded (`unitsAt`).
    @inlinable public static var nibblesAt: Int { 384 }
    @inlinable public static var fifthBits: Bool { true }
}

/// Bit `g` of each byte of `h` as 16 (bit 4) in that byte, zero elsewhere: Q5_K's fifth bit of group `g`
/// where its nibble wants it (one shift and a mask; a 16-bit shift by at most 4 keeps bit 4 of each byte
/// within that byte).
@inlinable @inline(__always)
public func fifthBit(_ h: __m256i, _ g: Int) -> __m256i {
    let sixteen = _mm256_set1_epi8(0x10)
    return _mm256_and_si256(g <= 4 ? _mm256_slli_epi16(h, Int32(4 &- g)) : _mm256_srli_epi16(h, Int32(g &- 4)), sixteen)
}

/// Σx_g of every super-block of one sequence as bytes: a_0..a_7 then b_0..b_7 with Σx_g = 128 a_g + b_g
/// (|Σx_g| ≤ 32 · 127, so a_g and b_g fit Int8).
@inline(never)
public func kSplitSums(_ x: Q8Activations, _ nb: Int, _ out: UnsafeMutablePointer<Int8>) {
    let sums = x.sum32, dst = UnsafeMutableRawPointer(out)
    for i in 0..<(8 &* nb) {
        let s = Int(sums[i]), a = (s &+ 64) >> 7
        let g = i & 7, base = 16 &* (i >> 3)
        dst.storeBytes(of: Int8(truncatingIfNeeded: a), toByteOffset: base &+ g, as: Int8.self)
        dst.storeBytes(of: Int8(truncatingIfNeeded: s &- 128 &* a), toByteOffset: base &+ 8 &+ g, as: Int8.self)
    }
}

/// Word `j` of chunk `c` (groups 2c and 2c + 1) of rows 4h ..< 4h + 4 (`hb` = 32h) of the super-block of eight rows
/// at `p`: the operands of group 2c and of group 2c + 1, elements 8j ..< 8j + 8 of the four rows (row r in qword r).
/// Q4_K: the nibble word's low and high nibbles. Q5_K (recoded at load, `Q5_KFormat.unitsAt`): word A_j's bits 3-7
/// shifted down, and its bits 0-2 with the unit's word T's bits 2j, 2j + 1 moved to bits 3-4 (`t`: T, loaded once a
/// chunk by `nibbleRows8Top`; `fiveBitOperands`).
@inlinable @inline(__always)
func nibbleRows8Word<F: NibbleRows8>(_: F.Type, _ p: UnsafeRawPointer, _ hb: Int, _ c: Int, _ j: Int, _ t: __m256i) -> (__m256i, __m256i) {
    if !F.fifthBits {
        let m4 = splat8(0xF), v = load256(p, F.nibblesAt &+ 64 &* (4 &* c &+ j) &+ hb)
        return (_mm256_and_si256(v, m4), _mm256_and_si256(_mm256_srli_epi16(v, 4), m4))
    }
    return fiveBitOperands(load256(p, Q5_KFormat.unitsAt &+ 320 &* c &+ 64 &* (1 &+ j) &+ hb), t, j)
}

/// Q5_K: chunk `c`'s word T of rows 4h ..< 4h + 4 (the top bits of group 2c + 1); Q4_K: unused (zero).
@inlinable @inline(__always)
func nibbleRows8Top<F: NibbleRows8>(_: F.Type, _ p: UnsafeRawPointer, _ hb: Int, _ c: Int) -> __m256i {
    F.fifthBits ? load256(p, Q5_KFormat.unitsAt &+ 320 &* c &+ hb) : _mm256_setzero_si256()
}

/// One group of eight rows of Q4_K or Q5_K for `W.n` (1 or 2) sequences: per super-block rows 0-3, then rows 4-7.
@inline(never)
func nibbleKRows8Group<F: NibbleRows8, W: SeqWidth>(_: F.Type, _: W.Type, _ group: UnsafeRawPointer, _ nb: Int,
                                                    _ x: Q8Activations, _ st: Q8Strides, _ split: UnsafePointer<Int8>,
                                                    _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    let x1 = st.row(x, 1)
    let q0 = UnsafeRawPointer(x.q), q1 = UnsafeRawPointer(x1.q)
    let ones = _mm256_set1_epi16(1), by128 = _mm256_set1_epi16(128)
    let lo3f = _mm256_set1_epi64x(0x0000_0000_3F3F_3F3F), hi0f = _mm256_set1_epi64x(0x0F0F_0F0F_0000_0000)
    let hi30 = _mm256_set1_epi64x(0x3030_3030_0000_0000)
    // vpshufb within 128-bit lanes (a lane's first qword at bytes 0-7, its second at 8-15): byte 0 of each
    // qword into its four words' low bytes, the high bytes zero (0x80); + g picks group g.
    let z: Int64 = 0x80
    let first = z << 8 | z << 24 | z << 40 | z << 56, second = first | 0x0008_0008_0008_0008
    let spread0 = _mm256_set_epi64x(second, first, second, first), ahead = StreamPrefetch.at(W.n)
    // Sequence k, rows 4h ..< 4h + 4: f[k][h].
    var f00 = _mm256_setzero_ps(), f01 = _mm256_setzero_ps(), f10 = _mm256_setzero_ps(), f11 = _mm256_setzero_ps()
    for i in 0..<nb {
        let p = group + i &* F.groupBlock
        @inline(__always) func rowsHalf(_ h: Int, _ f0: inout __m256, _ f1: inout __m256) {
            let hb = 32 &* h
            // The four rows' scales and mins as the bytes of their qwords (kScalesMins, four rows at once).
            let a = _mm256_cvtepu32_epi64(load128(p, 32 &+ 16 &* h)), b = load256(p, 64 &+ hb)
            let scales = _mm256_or_si256(_mm256_or_si256(_mm256_and_si256(a, lo3f), _mm256_and_si256(b, hi0f)),
                                         _mm256_and_si256(_mm256_slli_epi64(a, 30), hi30))
            let mins = _mm256_or_si256(_mm256_or_si256(_mm256_and_si256(b, lo3f), _mm256_and_si256(_mm256_srli_epi64(b, 4), hi0f)),
                                       _mm256_and_si256(_mm256_slli_epi64(b, 30), hi30))
            var s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256()
            let xo = 256 &* i
            @inline(__always) func chunk(_ c: Int) {
                var l0 = _mm256_setzero_si256(), h0 = _mm256_setzero_si256(), l1 = _mm256_setzero_si256(), h1 = _mm256_setzero_si256()
                let t = nibbleRows8Top(F.self, p, hb, c)
                @inline(__always) func word(_ j: Int) {
                    // The super-block's 18 (Q5_K: 22) lines prefetched one per word of the two halves (32 words).
                    if ahead { prefetchSpread(p, line: 16 &* h &+ 4 &* c &+ j, of: F.groupBlock) }
                    let (lo, hi) = nibbleRows8Word(F.self, p, hb, c, j, t)
                    let o = xo &+ 64 &* c &+ 8 &* j
                    l0 = _mm256_add_epi16(l0, _mm256_maddubs_epi16(lo, qwords256(q0, o)))
                    h0 = _mm256_add_epi16(h0, _mm256_maddubs_epi16(hi, qwords256(q0, o &+ 32)))
                    if W.n > 1 {
                        l1 = _mm256_add_epi16(l1, _mm256_maddubs_epi16(lo, qwords256(q1, o)))
                        h1 = _mm256_add_epi16(h1, _mm256_maddubs_epi16(hi, qwords256(q1, o &+ 32)))
                    }
                }
                word(0); word(1); word(2); word(3)
                let gl = _mm256_set1_epi8(CChar(2 &* c)), gh = _mm256_set1_epi8(CChar(2 &* c &+ 1))
                let sl = _mm256_shuffle_epi8(scales, _mm256_add_epi8(spread0, gl)), sh = _mm256_shuffle_epi8(scales, _mm256_add_epi8(spread0, gh))
                s0 = _mm256_add_epi32(s0, _mm256_add_epi32(_mm256_madd_epi16(l0, sl), _mm256_madd_epi16(h0, sh)))
                if W.n > 1 { s1 = _mm256_add_epi32(s1, _mm256_add_epi32(_mm256_madd_epi16(l1, sl), _mm256_madd_epi16(h1, sh))) }
            }
            chunk(0); chunk(1); chunk(2); chunk(3)
            // d and dmin of the four rows, each in the row's two lanes.
            let d = halvesInPairs256(p, 8 &* h), dmin = halvesInPairs256(p, 16 &+ 8 &* h)
            @inline(__always) func finish(_ k: Int, _ xa: Q8Activations, _ s: __m256i, _ f: inout __m256) {
                let sp = UnsafeRawPointer(split + k &* 16 &* nb + 16 &* i)
                let ta = _mm256_maddubs_epi16(mins, qwords256(sp, 0)), tb = _mm256_maddubs_epi16(mins, qwords256(sp, 8))
                let m = _mm256_add_epi32(_mm256_madd_epi16(ta, by128), _mm256_madd_epi16(tb, ones))
                let dx = _mm256_set1_ps(xa.d[i])
                f = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(d, dx), f)
                f = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(m), _mm256_mul_ps(dmin, dx), f)
            }
            finish(0, x, s0, &f0)
            if W.n > 1 { finish(1, x1, s1, &f1) }
        }
        rowsHalf(0, &f00, &f10)
        rowsHalf(1, &f01, &f11)
    }
    storeRowPairs256(W.n, (f00, f10, f10, f10), y, ldy)
    storeRowPairs256(W.n, (f01, f11, f11, f11), y + 4, ldy)
}

/// Every sequence against rows of eight groups of Q4_K or Q5_K: the split sums once, then per group the sequences in
/// passes of two (the group's bytes stay in cache between passes).
@inline(__always)
func nibbleKRows8Mat<F: NibbleRows8>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                                     _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    withUnsafeTemporaryAllocation(of: Int8.self, capacity: nSeq &* 16 &* nb) { buf in
        let split = buf.baseAddress!
        for s in 0..<nSeq { kSplitSums(st.row(x, s), nb, split + s &* 16 &* nb) }
        rows8GroupsInPairs(rows, rowBytes, count, nSeq, { group, g, s in
            nibbleKRows8Group(F.self, W2.self, group, nb, st.row(x, s), st, split + s &* 16 &* nb, y + (s &* ldy &+ g), ldy)
        }, { group, g, s in
            nibbleKRows8Group(F.self, W1.self, group, nb, st.row(x, s), st, split + s &* 16 &* nb, y + (s &* ldy &+ g), ldy)
        })
    }
}

/// Per group of eight rows (`group`, its first row `g`), the sequences in passes of two (`two(group, g, s)`) and a
/// last pass of one (`one`); the group's bytes stay in cache between passes.
@inline(__always)
func rows8GroupsInPairs(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nSeq: Int,
                        _ two: (UnsafeRawPointer, Int, Int) -> Void, _ one: (UnsafeRawPointer, Int, Int) -> Void) {
    eachRows8Group(rows, rowBytes, count) { group, g in
        var s = 0
        while s &+ 2 <= nSeq { two(group, g, s); s &+= 2 }
        if s < nSeq { one(group, g, s) }
    }
}

extension NibbleRows8 {
    /// Super-block `i` of rows 4h ..< 4h + 4 of the `rows8` group at `group` into the four-row tile layout
    /// (KQuantTiles.swift; `repack4` from the GGUF layout): the layout's 8-byte words of those rows are
    /// already the tiles' quant vectors, so there is no transpose, only the operands' decoding (`nibbleRows8Word`).
    @inline(__always)
    static func repack4(rows8 group: UnsafeRawPointer, half h: Int, _ i: Int, _ dst: UnsafeMutableRawPointer) {
        let p = group + i &* groupBlock, hb = 32 &* h
        for c in 0..<4 {
            let top = nibbleRows8Top(Self.self, p, hb, c)
            for t in 0..<4 {
                let (lo, hi) = nibbleRows8Word(Self.self, p, hb, c, t, top)
                store256(dst, 32 &* (8 &* c &+ t), lo)        // group 2c
                store256(dst, 32 &* (8 &* c &+ 4 &+ t), hi)   // group 2c+1
            }
        }
        var sc = SIMD4<UInt64>(), mn = SIMD4<UInt64>()
        let d = (dst + (1024 &+ 32 &* 10)).assumingMemoryBound(to: Float.self), t = d + 8
        for r in 0..<4 {
            let row = 4 &* h &+ r, w12 = p.loadUnaligned(fromByteOffset: 64 &+ 8 &* row, as: UInt64.self)
            (sc[r], mn[r]) = kScalesMins(p.loadUnaligned(fromByteOffset: 32 &+ 4 &* row, as: UInt32.self),
                                         UInt32(truncatingIfNeeded: w12), UInt32(truncatingIfNeeded: w12 >> 32))
            let dr = half(p, 2 &* row), mr = -half(p, 16 &+ 2 &* row)
            d[2 &* r] = dr; d[2 &* r &+ 1] = dr; t[2 &* r] = mr; t[2 &* r &+ 1] = mr
        }
        Q4_KFormat.storeScalesMins4(sc, mn, dst)
    }
}

/// A K-quant format whose `rows8` layout fills the four-row tiles of KQuantTiles.swift without a transpose
/// (the layout's 8-byte words of four rows are already the tiles' quant vectors).
protocol QuadTileRows8: QuadTileShape {
    /// From this many sequences on, the format's `rows8` kernel runs the tiles filled from the layout (rows
    /// up to 20 KiB of tiles; longer ones from 8, `quadTilesFrom`).
    static var rows8TilesFrom: Int { get }
    /// Below `rows8TilesFrom`: the format's `rows8` row kernel (`MatRowsKernel`'s arguments).
    static func rows8Passes(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                            _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int)
    /// Bytes of one super-block of eight rows in the `rows8` layout.
    static var groupBlock: Int { get }
    /// Super-block `i` of rows 4h ..< 4h + 4 of the `rows8` group at `group` into the four-row tile at `dst`.
    static func repack4(rows8 group: UnsafeRawPointer, half h: Int, _ i: Int, _ dst: UnsafeMutableRawPointer)
}

/// A format in the `rows8` layout from its tiles' crossover on (`rows8TilesFrom`): per group
/// of eight rows and half, the four-row tiles of KQuantTiles.swift, filled from the layout (they beat the `rows8`
/// row kernel there). The tiles are filled from cache: the group's bytes were prefetched while the group before
/// multiplied (its first half's multiply asks for the first half of the next group's bytes, the second half's for
/// the rest), so the memory is read while the tiles compute, not in a burst as they are filled.
@inline(never)
func kRows8QuadTiles<F: QuadTileRows8>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                                       _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    withUnsafeTemporaryAllocation(byteCount: nb &* F.avx2TileBytes, alignment: 64) { buf in
        let tiles = buf.baseAddress!
        eachRows8Group(rows, rowBytes, count) { group, g in
            for h in 0..<2 {
                for i in 0..<nb { F.repack4(rows8: group, half: h, i, tiles + i &* F.avx2TileBytes) }
                quadTilesRun(F.self, tiles, nb, x, st, nSeq, y + (g &+ 4 &* h), ldy,
                             prefetching: group + rowBytes &* (8 &+ 4 &* h), 4 &* rowBytes)
            }
        }
    }
}

/// Rows of a format in the `rows8` layout · Q8_K activations: the four-row tiles from `F.rows8TilesFrom`
/// sequences on (8 for long rows, `quadTilesFrom`), below it the format's `rows8` row kernel (`F.rows8Passes`).
@inline(__always)
func kRows8Mat<F: QuadTileRows8>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                                 _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    if integerTiles(nSeq, from: quadTilesFrom(F.self, F.rows8TilesFrom, nb)) {
        kRows8QuadTiles(F.self, rows, rowBytes, count, nb, x, st, nSeq, y, ldy)
    } else {
        F.rows8Passes(rows, rowBytes, count, nb, x, st, nSeq, y, ldy)
    }
}

extension Q4_KFormat: QuadTileRows8 {
    /// From this many sequences on, the four-row tiles (below it the `rows8` row kernel, in passes of two
    /// sequences). 3 until 2026-12-05 (measured from cache on a Zen 5 host), then 8 (the Zen 4 host from memory,
    /// while the tiles prefetched the next group in one burst as they filled the first half: passes -> tiles 3:
    /// 0.375 -> 0.64-0.66 ms, 8: 0.87-0.89 -> 0.97-1.14, 16: 1.65-1.69 -> 1.45-1.47). Since the tiles prefetch the
    /// next group over their multiply (`quadTilesRun`'s `prefetching`), on the AMX Xeon at `avx2` (`bench-kernels
    /// --types q4_K --rows 8960 --cols 1536 --threads 2 --levels avx2`, `TOKENMILL_INT_TILES_FROM=99` against `=1`,
    /// two alternating runs, ms): 3: 0.370-0.380 -> 0.411-0.429, 4: 0.435-0.444 -> 0.452-0.459, 5: 0.518-0.519 ->
    /// 0.460-0.464, 6: 0.622-0.633 -> 0.582-0.590, 8: 0.80-0.81 -> 0.69-0.71; from cache (2048 x 1536, one thread)
    /// 4: 0.145 -> 0.155, 5: 0.192 -> 0.184.
    static var rows8TilesFrom: Int { 5 }
    static func rows8Passes(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                            _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        nibbleKRows8Mat(Q4_KFormat.self, rows, rowBytes, count, nb, x, st, nSeq, y, ldy)
    }
}

extension Q5_KFormat: QuadTileRows8 {
    /// From this many sequences on, the four-row tiles (below it the `rows8` row kernel, in passes of two
    /// sequences): on the AMX Xeon at `avx2` (`bench-kernels --types q5_K --rows 8960 --cols 1536 --threads 2 --levels
    /// avx2`, `TOKENMILL_INT_TILES_FROM=99` against `=1`, two alternating runs, ms passes -> tiles) 2: 0.312-0.318 ->
    /// 0.416-0.428, 3: 0.438-0.446 -> 0.420-0.429, 4: 0.551-0.561 -> 0.462-0.467, 5: 0.645-0.663 -> 0.491-0.529. Earlier
    /// than Q4_K's 5: a Q5_K word costs the passes three operations more than a Q4_K word, the tiles none.
    static var rows8TilesFrom: Int { 3 }
    static func rows8Passes(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                            _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        nibbleKRows8Mat(Q5_KFormat.self, rows, rowBytes, count, nb, x, st, nSeq, y, ldy)
    }
}

extension AVX2 {
    /// Q4_K rows in the `rows8` layout · Q8_K activations.
    @inline(never)
    public static func q4_KRows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        kRows8Mat(Q4_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q5_K rows in the `rows8` layout (quants recoded at load, `Q5_KFormat.unitsAt`) · Q8_K activations.
    @inline(never)
    public static func q5_KRows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        kRows8Mat(Q5_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q6_K rows in the `rows8` layout · Q8_K activations.
    @inline(never)
    public static func q6_KRows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        kRows8Mat(Q6_KFormat.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
}
#endif
