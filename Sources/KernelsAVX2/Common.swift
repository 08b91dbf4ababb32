// 8-bit integer decode kernels for x86-64-v3 (AVX2: vpmaddubsw / vpmaddwd), one file per weight
// format. This module is built for x86-64-v3; TensorKernels calls it only where cpuid reports
// AVX2 (see TensorKernels' KernelLevel). On other architectures it is empty.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import CPUFeatures
import Prefetch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One activation row quantized to 8 bits exactly as ggml's `quantize_row_q8_0`/`q8_1`
/// (blocks of 32) or `quantize_row_q8_K` (super-blocks of 256), in natural element order.
public struct Q8Activations {
    /// Quants, one per element.
    public var q: UnsafePointer<Int8>
    /// Scale per block (per 32 for Q8_0/Q8_1, per 256 for Q8_K).
    public var d: UnsafePointer<Float>
    /// Q8_1's fp16-rounded `d · Σq` per block of 32 (the min terms of Q4_1/Q5_1).
    public var s: UnsafePointer<Float>
    /// Σq per 32 elements.
    public var sum32: UnsafePointer<Int32>
    /// Σq per 16 elements as Int16 (Q8_K's `bsums`; only filled for super-blocks).
    public var sum16: UnsafePointer<Int16>

    public init(q: UnsafePointer<Int8>, d: UnsafePointer<Float>, s: UnsafePointer<Float>,
                sum32: UnsafePointer<Int32>, sum16: UnsafePointer<Int16>) {
        self.q = q; self.d = d; self.s = s; self.sum32 = sum32; self.sum16 = sum16
    }
}

/// Distances between consecutive sequences' activation rows in the arrays of `Q8Activations`, in
/// elements of each array.
public struct Q8Strides {
    public var q: Int, d: Int, s: Int, sum32: Int, sum16: Int
    public init(q: Int, d: Int, s: Int, sum32: Int, sum16: Int) {
        self.q = q; self.d = d; self.s = s; self.sum32 = sum32; self.sum16 = sum16
    }
    /// Activation row `k` of a product.
    @inlinable @inline(__always)
    public func row(_ x: Q8Activations, _ k: Int) -> Q8Activations {
        Q8Activations(q: x.q + k &* q, d: x.d + k &* d, s: x.s + k &* s, sum32: x.sum32 + k &* sum32, sum16: x.sum16 + k &* sum16)
    }
}

/// An integer matrix kernel: `y[s·ldy + r] = Σ_k W[r][k] · x_s[k]` for `count` rows of `rowBytes`
/// bytes starting at `rows` (each `blocks` blocks of 32, or super-blocks of 256 for K-quants)
/// and `nSeq` activation rows (`x`, then every `strides` further). Each decoded weight block
/// serves up to four sequences.
public typealias MatRowsKernel = (_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                  _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int,
                                  _ y: UnsafeMutablePointer<Float>, _ ldy: Int) -> Void

/// How many sequences one pass over a weight block serves (1...4, 8), fixed at compile time so the
/// accumulators of unused sequences vanish.
public protocol SeqWidth { static var n: Int { get } }
public enum W1: SeqWidth { @inlinable public static var n: Int { 1 } }
public enum W2: SeqWidth { @inlinable public static var n: Int { 2 } }
public enum W3: SeqWidth { @inlinable public static var n: Int { 3 } }
public enum W4: SeqWidth { @inlinable public static var n: Int { 4 } }
/// Eight sequences: the AVX-512 tiles (32 vector registers) keep eight sequences' accumulators.
public enum W8: SeqWidth { @inlinable public static var n: Int { 8 } }

/// Runs `body(group, g)` for each group of eight rows of a matrix in the `rows8` layout (`count` rows, a
/// multiple of eight, `rowBytes` bytes a row): `group` the group's first byte, `g` its first row.
@inlinable @inline(__always)
public func eachRows8Group(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ body: (UnsafeRawPointer, Int) -> Void) {
    var g = 0
    while g < count { body(rows + g &* rowBytes, g); g &+= 8 }
}

/// Runs `body` over the sequences in groups of four, then the 1-3 left over, each with its
/// compile-time width.
@inlinable @inline(__always)
public func bySeqGroups(_ nSeq: Int, _ body4: (Int) -> Void, _ body3: (Int) -> Void, _ body2: (Int) -> Void, _ body1: (Int) -> Void) {
    var s = 0
    while s &+ 4 <= nSeq { body4(s); s &+= 4 }
    switch nSeq &- s {
    case 3: body3(s)
    case 2: body2(s)
    case 1: body1(s)
    default: break
    }
}

/// The per-row header part of a K-quant tile repack (this level's four-row tiles and
/// KernelsAVX512's eight-row ones): for each of `rows` rows, `factors(block)` gives the row's
/// super-block scale d and the factor t of its sum terms, written to lanes 2r and 2r+1 of `d`
/// (`2 · rows` floats) and of the `2 · rows` floats after them; `each(r, block)` reads the rest.
@inlinable @inline(__always)
public func tileRowHeaders(_ rows: Int, _ base: UnsafeRawPointer, _ rowBytes: Int, _ d: UnsafeMutablePointer<Float>,
                           _ factors: (UnsafeRawPointer) -> (d: Float, t: Float), _ each: (Int, UnsafeRawPointer) -> Void) {
    let t = d + 2 &* rows
    for r in 0..<rows {
        let blk = base + r &* rowBytes
        let f = factors(blk)
        d[2 &* r] = f.d; d[2 &* r &+ 1] = f.d
        t[2 &* r] = f.t; t[2 &* r &+ 1] = f.t
        each(r, blk)
    }
}

/// The per-row header part of a 32-block tile repack (this level's four-row tiles and
/// KernelsAVX512's eight-row ones): block `b` of each of `rows` rows gives its scale d to lanes 2r
/// and 2r+1 of `d` (`2 · rows` floats) and, for formats with a min, its min to lane 2r (lane 2r+1
/// zero) of the `2 · rows` floats after them.
@inlinable @inline(__always)
public func block32TileHeaders<F: Block32Format>(_: F.Type, _ rows: Int, _ base: UnsafeRawPointer, _ rowBytes: Int, _ b: Int,
                                                 _ d: UnsafeMutablePointer<Float>) {
    let m = d + 2 &* rows
    for r in 0..<rows {
        let p = base + (r &* rowBytes &+ b &* F.bytes)
        let scale = half(p, 0)
        d[2 &* r] = scale; d[2 &* r &+ 1] = scale
        if F.hasMin { m[2 &* r] = half(p, 2); m[2 &* r &+ 1] = 0 }
    }
}

/// The environment variable that moves every integer tile crossover: `TOKENMILL_INT_TILES_FROM=N`
/// runs the integer GEMM tiles from N sequences on, for every format and level, in place of each
/// format's measured crossover (`tilesMinSeq`); `1` always, a large N never. For measuring a host's
/// own crossovers (`bench-kernels --sequences 2,3,4,6,8`, `bench --sequences ...`), not for serving.
public let integerTilesFromKey = "TOKENMILL_INT_TILES_FROM"

/// `TOKENMILL_INT_TILES_FROM` as a positive count, or nil (unset, empty or not a positive number:
/// the measured crossovers). Read once, at first use.
public let integerTilesFromOverride: Int? = integerTilesFrom(parsing: getenv(integerTilesFromKey).map { String(cString: $0) })

/// A value of `TOKENMILL_INT_TILES_FROM` as a sequence count: a positive integer, else nil.
public func integerTilesFrom(parsing raw: String?) -> Int? {
    guard let raw, let n = Int(raw), n > 0 else { return nil }
    return n
}

/// Whether `nSeq` sequences run a format's integer tiles: from its measured crossover `measured`,
/// or from `TOKENMILL_INT_TILES_FROM` where that is set; never where the format has none on the
/// level (`measured == Int.max`), whatever the override says.
@inlinable @inline(__always)
public func integerTiles(_ nSeq: Int, from measured: Int) -> Bool {
    measured != .max && nSeq >= (integerTilesFromOverride ?? measured)
}

/// When the streaming kernels (the row kernels below the tiles' crossover, the one-sequence decode kernels and
/// the `rows8` kernels, which read each weight from memory once per pass, in order) also ask for their weights
/// ahead in software: from `from` sequences per pass on. The hardware's stream prefetch is enough on some hosts
/// and not on others (docs/kernels.md, "Decode prefetch"): from 1 (always) by default; from 2 on AMD Zen 4, where
/// it measured slower for one sequence and faster for six and sixteen; `TOKENMILL_PREFETCH_FROM=N` decides
/// instead (1: always, 99: never). The tiles' prefetch of their next tile (a side-by-side read no hardware
/// prefetcher follows) is not affected.
public enum StreamPrefetch {
    public static let environmentKey = "TOKENMILL_PREFETCH_FROM"

    /// The sequence count per pass from which the streaming kernels prefetch.
    public static let from: Int = getenv(environmentKey).flatMap { Int(String(cString: $0)) }.map { max(1, $0) } ?? defaultForHost

    /// What this host gets without the environment setting.
    public static var defaultForHost: Int { CPUFeatures.host.isAMDZen4 ? 2 : 1 }

    /// Whether a pass over the weights with `sequences` sequences prefetches. Read once per kernel call into a
    /// local (a global's lazy initialisation costs a call per access).
    @inline(__always) public static func at(_ sequences: Int) -> Bool { sequences >= from }
}

/// How far ahead of the block or super-block it multiplies a streaming kernel prefetches its weights: the row
/// kernels of the GGUF layout (a tile's rows lie one after another, so this runs on into the next rows) and the
/// `rows8` kernels (the groups of eight rows lie one after another too). One distance in bytes for every format
/// and layout: a fixed count of blocks ahead is 1.3 KiB for Q2_K but 3.4 KiB for Q6_K, and the short ones
/// left the 2- and 3-bit formats waiting on memory. `bench-kernels --rows 8960 --cols 1536 --threads 1`, Intel
/// Xeon (AMX host), avx512 level, %op of the stream at two blocks ahead (2 KiB for the 32-block formats) and
/// at 4 KiB, two alternating rounds: Q2_K 81 / 92-93, Q3_K 81-82 / 87, Q4_0 85-89 / 91, Q4_1 88 / 92, Q5_0 87 /
/// 90-92, Q4_K, Q5_K, Q6_K and Q8_0 unchanged (91-100); 2.5, 3, 5 KiB between. The GGUF-layout row kernels
/// (what the `avx2` level runs for Q8_0 and Q5_K) prefetched 1 KiB ahead: same host, `avx2`, one thread, two
/// alternating rounds of 1, 2, 4, 6 and 8 KiB: Q8_0 66-70 / 79-84 / 88-91 / 88-94 / 89-92, Q5_K 62-65 / 75-78 /
/// 83-85 / 84-85 / 87.
public let streamPrefetchBytes = 4096

/// How far ahead a streaming kernel also asks for its weights into the L2 only (`prefetcht1`): the far half of a
/// two-level prefetch (`prefetchStream`). With the L1 prefetch alone the `rows8` kernels read 84-97% of the streaming
/// read (Intel AMX host, two threads); each line also asked for into the L2 a further 4 KiB on, they read 5-23% faster
/// (docs/kernels.md, "Two levels: 4 KiB into the L1, 8 KiB into the L2").
public let streamPrefetchL2Bytes = 8192

/// Prefetches the cache lines of the `bytes`-byte block at `p`'s place `streamPrefetchBytes` on into every level and
/// `streamPrefetchL2Bytes` on into the L2 (the streaming kernels' prefetch of the weights they read next; the rows
/// and the `rows8` groups lie one after another, so it runs on into the next rows).
@inlinable @inline(__always)
public func prefetchStream(_ p: UnsafeRawPointer, _ bytes: Int) {
    var o = 0
    while o < bytes { prefetchStreamLine(p + o); o &+= 64 }
}

/// The two-level prefetch of one line: the line `streamPrefetchBytes` after `p` into every level, the one
/// `streamPrefetchL2Bytes` after it into the L2.
@inlinable @inline(__always)
public func prefetchStreamLine(_ p: UnsafeRawPointer) {
    prefetch(p + streamPrefetchBytes)
    prefetchL2(p + streamPrefetchL2Bytes)
}

/// The two-level prefetch (`prefetchStreamLine`) of line `line` of the `bytes`-byte super-block at `p` (nothing past its
/// end): a kernel that calls it once per step with the step's index spreads the super-block's prefetches over its work
/// instead of issuing them together at its start (the AVX2 `rows8` kernels of Q4_K, Q2_K and Q3_K:
/// docs/kernels.md, "Spread over the super-block").
@inlinable @inline(__always)
public func prefetchSpread(_ p: UnsafeRawPointer, line: Int, of bytes: Int) {
    if 64 &* line < bytes { prefetchStreamLine(p + 64 &* line) }
}

/// Prefetches slice `i` of `n` of the next tile's weights (the `rowsPerTile` rows after the tile at
/// `rows`; a tile's rows are consecutive), for a tiled kernel's repack of block `i` of its own `n`:
/// the repack reads its rows side by side, a pattern the hardware's stream prefetch does not
/// follow, so without it each tile waits on the memory (2.5x slower from memory than the row
/// kernel at 8960x1536, as fast from cache).
@inlinable @inline(__always)
public func prefetchNextTile(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ rowsPerTile: Int, _ i: Int, _ n: Int) {
    let span = rowsPerTile &* rowBytes, from = span &* i / n
    prefetchLines(rows + (span &+ from), span &* (i &+ 1) / n &- from)
}

/// The row-tile driver of the tiled kernels (this level's and KernelsAVX512's): `tile(r, scratch)`
/// for each whole tile of `rowsPerTile` rows starting at row `r`, all with one scratch buffer of
/// `scratchBytes` bytes (64-aligned, on the stack where it fits), then `rest(r)` for the rows
/// left over from row `r` on, if any. With `tiled` false, `rest(0)` does everything.
@inlinable @inline(__always)
public func byRowTiles(_ count: Int, rowsPerTile: Int, scratchBytes: Int, tiled: Bool,
                       _ tile: (Int, UnsafeMutableRawPointer) -> Void, _ rest: (Int) -> Void) {
    let full = tiled ? count / rowsPerTile &* rowsPerTile : 0
    if full > 0 {
        withUnsafeTemporaryAllocation(byteCount: scratchBytes, alignment: 64) { buf in
            var r = 0
            while r < full { tile(r, buf.baseAddress!); r &+= rowsPerTile }
        }
    }
    if full < count { rest(full) }
}

/// `acc + Σ u·s` over groups of four bytes into eight Int32 lanes, `u` unsigned and `s` signed
/// bytes: vpmaddubsw + vpmaddwd on AVX2, vpdpbusd with AVX-512 VNNI. Callers keep every pair
/// sum of `u·s` within Int16 (vpmaddubsw saturates; vpdpbusd does not), so both agree exactly.
public protocol ByteDot {
    static func dot(_ acc: __m256i, _ u: __m256i, _ s: __m256i) -> __m256i
}

/// vpmaddubsw, then vpmaddwd against ones.
public enum MaddDot: ByteDot {
    @inlinable @inline(__always)
    public static func dot(_ acc: __m256i, _ u: __m256i, _ s: __m256i) -> __m256i {
        _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)))
    }
}

@inlinable @inline(__always) func load256(_ p: UnsafeRawPointer) -> __m256i {
    _mm256_loadu_si256(p.assumingMemoryBound(to: __m256i.self))
}

@inlinable @inline(__always) func load256(_ p: UnsafeRawPointer, _ offset: Int) -> __m256i {
    _mm256_loadu_si256((p + offset).assumingMemoryBound(to: __m256i.self))
}

/// The 8 bytes at `p + offset` in every qword (a sequence's activation bytes against four rows' words in the
/// `rows8` kernels).
@inlinable @inline(__always) func qwords256(_ p: UnsafeRawPointer, _ offset: Int) -> __m256i {
    _mm256_set1_epi64x(p.loadUnaligned(fromByteOffset: offset, as: Int64.self))
}

/// The four fp16 at `p + offset` widened to floats, each in two lanes (row r's in lanes 2r and 2r + 1: the
/// lane order of the four-row sums of the `rows8` K-quant kernels).
@inlinable @inline(__always) func halvesInPairs256(_ p: UnsafeRawPointer, _ offset: Int) -> __m256 {
    let v = _mm_loadl_epi64((p + offset).assumingMemoryBound(to: __m128i.self))
    return _mm256_cvtph_ps(_mm_unpacklo_epi16(v, v))
}

@inlinable @inline(__always) func load128(_ p: UnsafeRawPointer, _ offset: Int) -> __m128i {
    _mm_loadu_si128((p + offset).assumingMemoryBound(to: __m128i.self))
}

/// The fp16 at byte `offset` of `p`, as Float.
@inlinable @inline(__always) public func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}

@inlinable @inline(__always) func hsum(_ v: __m256) -> Float {
    let s4 = v.lowHalf + v.highHalf, s2 = s4.lowHalf + s4.highHalf
    return s2[0] + s2[1]
}

@inlinable @inline(__always) func splat8(_ v: UInt8) -> __m256i { _mm256_set1_epi8(CChar(bitPattern: v)) }

/// The two operands in a 256-bit load `a` of a word A of five-bit values recoded into units (Q5_K's `Q5_KBits`,
/// Q5_0/Q5_1's `Repack.toUnits`): the value in bits 3-7 of each byte, shifted down and masked; and the value whose
/// low three bits are bits 0-2, its top two bits taken from bits 2k, 2k + 1 of the same byte of the unit's word `t`
/// to bits 3-4. The 16-bit shifts move bits across a byte boundary only where the masks drop them.
@inlinable @inline(__always)
public func fiveBitOperands(_ a: __m256i, _ t: __m256i, _ k: Int) -> (__m256i, __m256i) {
    let top = k < 2 ? _mm256_slli_epi16(t, Int32(3 &- 2 &* k)) : _mm256_srli_epi16(t, Int32(2 &* k &- 3))
    return (_mm256_and_si256(_mm256_srli_epi16(a, 3), splat8(0x1F)),
            _mm256_or_si256(_mm256_and_si256(a, splat8(7)), _mm256_and_si256(top, splat8(0x18))))
}

/// 32 bytes from the 16 at `p + offset`: low nibbles (elements 0..<16), then high nibbles (16..<32).
@inlinable @inline(__always) func nibbles32(_ p: UnsafeRawPointer, _ offset: Int) -> __m256i {
    // The 16 bytes in both lanes (a broadcast load: no shuffle instruction), the high lane shifted
    // to the high nibbles.
    let t = _mm256_broadcastsi128_si256(load128(p, offset))
    return _mm256_and_si256(_mm256_srlv_epi32(t, _mm256_set_epi32(4, 4, 4, 4, 0, 0, 0, 0)), splat8(0xF))
}

/// 0x10 in byte j where bit j of `qh` is set (the fifth bits of Q5_0/Q5_1), else 0.
@inlinable @inline(__always) func fifthBits32(_ qh: UInt32) -> __m256i {
    let shuf = _mm256_set_epi64x(0x0303_0303_0303_0303, 0x0202_0202_0202_0202, 0x0101_0101_0101_0101, 0)
    let v = _mm256_shuffle_epi8(_mm256_set1_epi32(Int32(bitPattern: qh)), shuf)
    let set = _mm256_cmpeq_epi8(_mm256_or_si256(v, _mm256_set1_epi64x(0x7fbf_dfef_f7fb_fdfe)), _mm256_set1_epi64x(-1))
    return _mm256_and_si256(set, splat8(0x10))
}

/// The sixteen scale bytes of a per-16 K-quant super-block (Q2_K, Q3_K, Q6_K) widened once to
/// words and laid out for `group(_:)`: words 0..<8 in both lanes, words 8..<16 in both lanes.
/// Three shuffles per super-block, then one in-lane vpshufb per group (instead of a vpshufb and a
/// cross-lane widening per group). Q4_K/Q5_K, one scale per group, do the same in `nibbleGroups`.
public struct Scales16 {
    @usableFromInline let low: __m256i, high: __m256i
    @inlinable @inline(__always) init(_ sc: __m128i, signed: Bool) {
        let w = signed ? _mm256_cvtepi8_epi16(sc) : _mm256_cvtepu8_epi16(sc)
        low = _mm256_permutevar8x32_epi32(w, _mm256_set_epi32(3, 2, 1, 0, 3, 2, 1, 0))
        high = _mm256_permutevar8x32_epi32(w, _mm256_set_epi32(7, 6, 5, 4, 7, 6, 5, 4))
    }
    /// The 16 pair-sum scales of group g (0..<8): scale 2g in the low lane, 2g + 1 in the high one.
    @inlinable @inline(__always) func group(_ g: Int) -> __m256i {
        let w0 = (2 &* g) & 7
        return _mm256_shuffle_epi8(g < 4 ? low : high, _mm256_set_m128i(_mm_set1_epi16(wordPicker(w0 &+ 1)), _mm_set1_epi16(wordPicker(w0))))
    }
}

/// The vpshufb control word that copies word `w` (0..<8) of a 128-bit lane.
@inlinable @inline(__always) func wordPicker(_ w: Int) -> Int16 { Int16(truncatingIfNeeded: 2 &* w | (2 &* w &+ 1) << 8) }

#endif
