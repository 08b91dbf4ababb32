// The `amx` kernel level: the AVX-512 level's kernels, with products of 32 sequences and more (prompt
// processing, wide batches) on the AMX tile unit where a format has a tile kernel. Built for x86-64-v4 +
// AVX-512 VNNI/VBMI + AMX-TILE/AMX-INT8; only called where cpuid reports AMX and Linux grants its state.
//
// One `tdpbsud` multiplies a 16 x 64 tile of signed activation bytes (16 sequences) by a 64 x 16 tile of
// unsigned weight bytes (16 rows, stored four bytes of K per dword) into 16 x 16 Int32 sums, in the same
// time for any K, while a K-quant's scale changes every 32 (Q4_K) or 16 (Q6_K) elements. So each weight is
// multiplied by its group's integer scale first and kept as two bytes (low and high; `scaledWeightRow`):
// two products per 64 elements sum a whole super-block in the tiles, and AVX-512 scales the two sums once
// per sequence and super-block (`AMXFormat.finish`). The 32-block formats' scales change with the block
// on both sides (d_w · d_x), so they take one product per block instead, each into a sum tile of its own
// (Block32AMX.swift). docs/kernels.md has the measurements.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import CAMX
import CPUFeatures
import KernelsAVX2
import KernelsAVX512
import KernelsGFNI
import Prefetch
#if canImport(Glibc)
import Glibc
#endif

/// The host's AMX tile unit: whether it is there and Linux lets this process use it.
public enum AMX {
    /// Whether Linux granted this process the tile data state (`arch_prctl(ARCH_REQ_XCOMP_PERM)`, asked
    /// once, on first use): without it the first tile instruction faults. Ask only where cpuid reports AMX.
    public static let permissionGranted: Bool = tm_amx_request_permission() == 0

    /// Sequences per tile: the sequences beyond the last whole 16 of a product run the AVX-512 kernels.
    public static let tileSequences = 16

    /// Products of fewer sequences run the AVX-512 kernels: each super-block's weight tiles are built once
    /// per product, which 16 sequences do not repay (`bench-kernels --types q4_K,q6_K --rows 8960 --cols
    /// 1536 --sequences 16,32,48 --levels amx,avx512`, two runs: at 16 Q4_K 0.92-1.37x and Q6_K 0.73-0.82x, at 32
    /// Q4_K 1.00-1.96x and Q6_K 1.03-1.45x; docs/kernels.md). Settable so tests can run a tiny model's
    /// 24-token prompt on tiles (`KernelLevel.amxTilesFrom`).
    nonisolated(unsafe) public static var minSequences = 32

    /// Nanoseconds one `tdpbsud` of 16 x 16 x 64 takes on this thread's tile unit: `count` products into two
    /// sum tiles in turn (no product waits for the one before), timed on the monotonic clock. The tile unit of
    /// a core can be shared (SMT, or a virtual machine's neighbours), so this moves with the host's load; it
    /// tells how to read the `amx` level's figures of the same minute. Call only where the level runs.
    public static func probeNanoseconds(count: Int = 100_000) -> Double {
        withUnsafeTemporaryAllocation(byteCount: 2048, alignment: 64) { buf in
            let p = buf.baseAddress!
            p.initializeMemory(as: UInt8.self, repeating: 1, count: 2048)
            return TileConfig(aBytes: 64).with {
                tm_tile_zero0(); tm_tile_zero1()
                tm_tile_load4(p, 64); tm_tile_load6(p + 1024, 64); tm_tile_load7(p + 1024, 64)
                var t0 = timespec(), t1 = timespec()
                clock_gettime(CLOCK_MONOTONIC, &t0)
                for _ in 0..<(count / 2) { tm_tile_dpbsud_0_4_6(); tm_tile_dpbsud_1_4_7() }
                tm_tile_store0(p, 64); tm_tile_store1(p + 1024, 64)  // wait for both sums' products
                clock_gettime(CLOCK_MONOTONIC, &t1)
                let ns = Double(t1.tv_sec - t0.tv_sec) * 1e9 + Double(t1.tv_nsec - t0.tv_nsec)
                return ns / Double(count / 2 * 2)
            }
        }
    }
}

/// The `amx` level's kernels: the K-quants' rows in the `rows8` layout · Q8_K activations, and the 32-block
/// formats' · Q8_0/Q8_1, whole 16s of rows and sequences on tiles (from `AMX.minSequences`, Q2_K from half again
/// that), the rest by the format's `avx512gfni` kernel (GFNI's Q3_K, the AVX-512 level's for the others). The K-quants' tiles are in NibbleKAMX.swift (`NibbleKTiles`: Q4_K,
/// Q5_K), Q6_KAMX.swift (`Q6_KTiles`) and CrumbKAMX.swift (`Q2_KTiles`, `Q3_KTiles`), the 32-block formats' in
/// Block32AMX.swift (`Block32Tiles`).
public enum AMXKernels {
    public static let q4_KRows8: MatRowsKernel = { amxRows(KQuantTiles<NibbleKTiles<Q4_KFormat>>.self, $0, $1, $2, $3, $4, $5, $6, $7, $8, fallback: AVX512.q4_KRows8) }
    public static let q5_KRows8: MatRowsKernel = { amxRows(KQuantTiles<NibbleKTiles<Q5_KFormat>>.self, $0, $1, $2, $3, $4, $5, $6, $7, $8, fallback: AVX512.q5_KRows8) }
    public static let q6_KRows8: MatRowsKernel = { amxRows(KQuantTiles<Q6_KTiles>.self, $0, $1, $2, $3, $4, $5, $6, $7, $8, fallback: AVX512.q6_KRows8) }
    public static let q2_KRows8: MatRowsKernel = { amxRows(KQuantTiles<Q2_KTiles>.self, $0, $1, $2, $3, $4, $5, $6, $7, $8, fallback: AVX512.q2_KRows8) }
    public static let q3_KRows8: MatRowsKernel = { amxRows(KQuantTiles<Q3_KTiles>.self, $0, $1, $2, $3, $4, $5, $6, $7, $8, fallback: GFNI.q3_KRows8) }
    public static let q4_0Rows8: MatRowsKernel = { amxRows(Block32Tiles<Q4_0Format>.self, $0, $1, $2, $3, $4, $5, $6, $7, $8, fallback: AVX512.q4_0Rows8) }
    public static let q4_1Rows8: MatRowsKernel = { amxRows(Block32Tiles<Q4_1Format>.self, $0, $1, $2, $3, $4, $5, $6, $7, $8, fallback: AVX512.q4_1Rows8) }
    public static let q5_0Rows8: MatRowsKernel = { amxRows(Block32Tiles<Q5_0Format>.self, $0, $1, $2, $3, $4, $5, $6, $7, $8, fallback: AVX512.q5_0Rows8) }
    public static let q5_1Rows8: MatRowsKernel = { amxRows(Block32Tiles<Q5_1Format>.self, $0, $1, $2, $3, $4, $5, $6, $7, $8, fallback: AVX512.q5_1Rows8) }
    public static let q8_0Rows8: MatRowsKernel = { amxRows(Block32Tiles<Q8_0Format>.self, $0, $1, $2, $3, $4, $5, $6, $7, $8, fallback: AVX512.q8_0Rows8) }
}

/// What runs whole 16s of rows and sequences of a product on tiles (`amxRows`): `KQuantTiles` for the
/// K-quants, `Block32Tiles` for the 32-block formats.
protocol AMXTileRunner {
    /// From how many sequences a product runs on tiles (whole 16s of them).
    static var tilesFrom: Int { get }
    /// Rows `0..<count` (a multiple of 16) times sequences `0..<nSeq` (a multiple of 16).
    static func run(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                    _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int)
}

extension AMXTileRunner {
    static var tilesFrom: Int { AMX.minSequences }
}

/// A K-quant format's tiles (`amxTiles`).
enum KQuantTiles<F: AMXFormat>: AMXTileRunner {
    static var tilesFrom: Int { F.tilesFrom }
    @inline(__always)
    static func run(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                    _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        amxTiles(F.self, rows, rowBytes, count, nb, x, st, nSeq, y, ldy)
    }
}

/// The tile configuration of the kernels: palette 1; tiles 0 ..< `sumTiles` (2 or 4) hold 16 x 16 Int32 sums
/// (64 bytes a row), 4-5 the activations of 16 sequences (16 rows of `aBytes`), 6-7 the weights of 16 rows
/// (`aBytes / 4` rows of 64 bytes: four bytes of K for each of the 16 rows); the other tiles are left
/// unconfigured.
struct TileConfig {
    var bytes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

    init(aBytes: Int, sumTiles: Int = 2) {
        withUnsafeMutableBytes(of: &bytes) { b in
            b[0] = 1  // palette
            func tile(_ t: Int, rows: Int, rowBytes: Int) {
                b[16 + 2 * t] = UInt8(rowBytes & 0xFF); b[17 + 2 * t] = UInt8(rowBytes >> 8)
                b[48 + t] = UInt8(rows)
            }
            for t in 0..<sumTiles { tile(t, rows: 16, rowBytes: 64) }
            for t in 4..<6 { tile(t, rows: 16, rowBytes: aBytes) }
            for t in 6..<8 { tile(t, rows: aBytes / 4, rowBytes: 64) }
        }
    }

    /// Loads the configuration into this thread's tile unit, runs `body`, and releases the tiles.
    @inline(__always)
    func with<R>(_ body: () -> R) -> R {
        var copy = bytes
        withUnsafeBytes(of: &copy) { tm_tile_loadconfig($0.baseAddress!) }
        defer { tm_tile_release() }
        return body()
    }
}

/// The tile products of one super-block for 16 sequences, on weights whose group scales are folded in as
/// two bytes (`scaledWeightRow`): per 64 elements c (activations at `a + 64 c`, `lda` bytes from one
/// sequence to the next; weight tiles at `b + 2048 c`, low bytes, and `+ 1024`, high bytes), one product
/// into the low sums (tile 0) and one into the high sums (tile 1; signed high bytes with `signedHigh`).
/// The two 16 x 16 Int32 sums are stored at `c` (low) and `c + 1024` (high), sequence t's at `+ 64 t`.
/// (Q2_K's "high" tiles hold its mins: CrumbKAMX.swift.)
@inline(__always)
func scaledProducts(_ a: UnsafeRawPointer, _ lda: Int, _ b: UnsafeRawPointer, _ c: UnsafeMutableRawPointer, signedHigh: Bool) {
    tm_tile_zero0(); tm_tile_zero1()
    for half in 0..<2 {
        let a = a + 128 &* half, b = b + 4096 &* half
        tm_tile_load4(a, lda); tm_tile_load6(b, 64); tm_tile_load7(b + 1024, 64)
        tm_tile_dpbsud_0_4_6()
        if signedHigh { tm_tile_dpbssd_1_4_7() } else { tm_tile_dpbsud_1_4_7() }
        tm_tile_load5(a + 64, lda); tm_tile_load6(b + 2048, 64); tm_tile_load7(b + 3072, 64)
        tm_tile_dpbsud_0_5_6()
        if signedHigh { tm_tile_dpbssd_1_5_7() } else { tm_tile_dpbsud_1_5_7() }
    }
    tm_tile_store0(c, 64); tm_tile_store1(c + 1024, 64)
}

/// One 64-byte row of a weight tile (16 rows' four bytes of K) times each row's integer scale (`scale`:
/// the row's scale in both 16-bit halves of its dword), stored as the products' low bytes at `lo` and
/// high bytes at `lo + 1024`: product = 256 · high + low, low unsigned, high signed where `q` is (as the
/// 16-bit product's top byte). `q`'s bytes are unsigned or, with `signedQ`, signed. Without `high` (every
/// product below 256) only the low bytes are stored.
@inline(__always)
func scaledWeightRow(_ q: __m512i, _ scale: __m512i, _ lo: UnsafeMutableRawPointer, signedQ: Bool, high: Bool = true) {
    let even = signedQ ? _mm512_srai_epi16(_mm512_slli_epi16(q, 8), 8) : _mm512_and_si512(q, _mm512_set1_epi16(0xFF))
    let odd = signedQ ? _mm512_srai_epi16(q, 8) : _mm512_srli_epi16(q, 8)
    let pe = _mm512_mullo_epi16(even, scale), po = _mm512_mullo_epi16(odd, scale)
    let oddBytes: __mmask64 = 0xAAAA_AAAA_AAAA_AAAA
    _mm512_storeu_si512(lo, _mm512_mask_blend_epi8(oddBytes, pe, _mm512_slli_epi16(po, 8)))
    if high { _mm512_storeu_si512(lo + 1024, _mm512_mask_blend_epi8(oddBytes, _mm512_srli_epi16(pe, 8), po)) }
}

/// One sequence's 16 sums of `scaledProducts` at `c` (its row of the low sums; the high sums' at `c + 1024`)
/// as floats: 256 · high + low (integers that floats hold exactly below 2^24), or the low sums alone.
@inline(__always)
func scaledSums(_ c: UnsafeRawPointer, high: Bool = true) -> __m512 {
    let low = _mm512_cvtepi32_ps(_mm512_loadu_si512(c))
    return high ? _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_loadu_si512(c + 1024)), _mm512_set1_ps(256), low) : low
}

/// Byte j of each qword of two vectors (eight rows' qwords each): sixteen bytes, rows 0-7 from `a`, 8-15
/// from `b` (one `vpermt2b`).
@inline(__always)
func qwordPick(_ a: __m512i, _ b: __m512i, _ j: Int) -> __m128i {
    var idx = SIMD64<UInt8>(repeating: 0)
    for n in 0..<8 { idx[n] = UInt8(8 &* n &+ j); idx[n &+ 8] = UInt8(64 &+ 8 &* n &+ j) }
    return _mm512_castsi512_si128(_mm512_permutex2var_epi8(a, unsafeBitCast(idx, to: __m512i.self), b))
}

/// Byte j of each qword of two vectors (eight rows' qwords each; unsigned, or signed with `signed`) as
/// each row's 16-bit scale in both halves of its dword (rows 0-7 from `a`, 8-15 from `b`).
@inline(__always)
func qwordScales(_ a: __m512i, _ b: __m512i, _ j: Int, signed: Bool = false) -> __m512i {
    let picked = qwordPick(a, b, j)
    let v = _mm512_and_si512(signed ? _mm512_cvtepi8_epi32(picked) : _mm512_cvtepu8_epi32(picked), _mm512_set1_epi32(0xFFFF))
    return _mm512_or_si512(v, _mm512_slli_epi32(v, 16))
}

/// Eight per-group float factors of 16 rows (scales, mins): group j's in `.j`, row n in lane n.
typealias GroupFactors = (__m512, __m512, __m512, __m512, __m512, __m512, __m512, __m512)

/// Σ_j `mins.j` · g[j] over eight groups: 16 rows' mins of each group times one sequence's Σx of it.
@inline(__always)
func minTerms(_ mins: GroupFactors, _ g: UnsafePointer<Float>) -> __m512 {
    var m = _mm512_mul_ps(mins.0, _mm512_set1_ps(g[0]))
    m = _mm512_fmadd_ps(mins.1, _mm512_set1_ps(g[1]), m); m = _mm512_fmadd_ps(mins.2, _mm512_set1_ps(g[2]), m)
    m = _mm512_fmadd_ps(mins.3, _mm512_set1_ps(g[3]), m); m = _mm512_fmadd_ps(mins.4, _mm512_set1_ps(g[4]), m)
    m = _mm512_fmadd_ps(mins.5, _mm512_set1_ps(g[5]), m); m = _mm512_fmadd_ps(mins.6, _mm512_set1_ps(g[6]), m)
    return _mm512_fmadd_ps(mins.7, _mm512_set1_ps(g[7]), m)
}

/// Byte j of each qword of two vectors (eight rows' qwords each, unsigned) as sixteen float lanes, rows 0-7
/// from `a`, 8-15 from `b`.
@inline(__always)
func qwordBytes(_ a: __m512i, _ b: __m512i, _ j: Int) -> __m512 {
    _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(qwordPick(a, b, j)))
}

/// All eight bytes of each qword of two vectors as eight float vectors (`qwordBytes` j = 0..<8).
@inline(__always)
func qwordBytes8(_ a: __m512i, _ b: __m512i) -> GroupFactors {
    (qwordBytes(a, b, 0), qwordBytes(a, b, 1), qwordBytes(a, b, 2), qwordBytes(a, b, 3),
     qwordBytes(a, b, 4), qwordBytes(a, b, 5), qwordBytes(a, b, 6), qwordBytes(a, b, 7))
}

/// The dword indices that pick each row's even (or odd) dword of eight rows' qwords in each of two vectors
/// (`vpermt2d`): rows 0-7 from the first, 8-15 from the second.
@inline(__always)
func dwordPicks() -> (even: __m512i, odd: __m512i) {
    var even = SIMD16<Int32>(), odd = SIMD16<Int32>()
    for n in 0..<8 {
        even[n] = Int32(2 &* n); even[n &+ 8] = Int32(16 &+ 2 &* n)
        odd[n] = Int32(2 &* n &+ 1); odd[n &+ 8] = Int32(17 &+ 2 &* n)
    }
    return (unsafeBitCast(even, to: __m512i.self), unsafeBitCast(odd, to: __m512i.self))
}

/// Eight fp16 of each of two groups (at `p0` and `p1`) as sixteen floats.
@inline(__always)
func halves16(_ p0: UnsafeRawPointer, _ p1: UnsafeRawPointer) -> __m512 {
    _mm512_cvtph_ps(_mm256_set_m128i(_mm_loadu_si128(p1.assumingMemoryBound(to: __m128i.self)),
                                     _mm_loadu_si128(p0.assumingMemoryBound(to: __m128i.self))))
}
/// A K-quant format on AMX tiles, in the `rows8` layout: how one super-block of 16 rows becomes weight
/// tiles and float factors, and how a sequence's group sums finish each output.
protocol AMXFormat {
    /// The format's `rows8` super-block of eight rows, in bytes.
    static var groupBlock: Int { get }
    /// Float terms per sequence and super-block that `finish` reads (`groupSums`).
    static var terms: Int { get }
    /// Whether the high bytes of the scaled weights are signed (`scaledProducts`).
    static var signedHigh: Bool { get }
    /// From how many sequences this format's products run on tiles (by default `AMX.minSequences`).
    static var tilesFrom: Int { get }
    /// The float factors of a super-block's 16 rows (what `finish` needs).
    associatedtype Factors
    /// Writes the super-block's weight tiles (16 rows: `p0` rows 0-7, `p1` rows 8-15), each weight times its
    /// group's integer scale as two bytes (`scaledWeightRow`), to `b` as `scaledProducts` reads them (8 KiB),
    /// and returns their factors.
    static func tiles(_ p0: UnsafeRawPointer, _ p1: UnsafeRawPointer, _ b: UnsafeMutableRawPointer) -> Factors
    /// Sequence `s`'s activation terms for every super-block (`nb · terms` floats) into `dst`.
    static func groupSums(_ x: Q8Activations, _ st: Q8Strides, _ s: Int, _ nb: Int, _ dst: UnsafeMutablePointer<Float>)
    /// One sequence's 16 outputs `out` plus this super-block's: `c` its row of the low sums (the high sums'
    /// at `c + 1024`), `g` its terms of this super-block, `dx` its activation scale in every lane. The
    /// sums are ggml's integer sums (whole in the tiles; 256 · high + low and the min terms are integers that
    /// floats hold exactly below 2^24), scaled once, as on the other levels.
    static func finish(_ c: UnsafeRawPointer, _ f: Factors, _ g: UnsafePointer<Float>, _ dx: __m512, _ out: __m512) -> __m512
}

extension AMXFormat {
    static var tilesFrom: Int { AMX.minSequences }
}

/// A K-quant whose offset is in its tile weights, signed q − offset times its group's signed scale as two
/// bytes (Q3_K, Q6_K): no terms, and y += dx · d · (256 · high + low).
protocol SignedScaledTiles: AMXFormat where Factors == RowScales {}

/// The 16 rows' d of a super-block (`SignedScaledTiles`).
struct RowScales { var d: __m512 }

extension SignedScaledTiles {
    static var terms: Int { 0 }
    static var signedHigh: Bool { true }

    @inline(__always)
    static func groupSums(_ x: Q8Activations, _ st: Q8Strides, _ s: Int, _ nb: Int, _ dst: UnsafeMutablePointer<Float>) {}

    /// out + dx · d · Σ scale · (q − offset) · x.
    @inline(__always)
    static func finish(_ c: UnsafeRawPointer, _ f: RowScales, _ g: UnsafePointer<Float>, _ dx: __m512, _ out: __m512) -> __m512 {
        _mm512_fmadd_ps(scaledSums(c), _mm512_mul_ps(f.d, dx), out)
    }
}

/// Rows `0..<count` (a multiple of 16) times sequences `0..<nSeq` (a multiple of 16) of format `F`.
///
/// Per 16 rows and super-block, the weight tiles are built once (8 KiB, L1) for every sequence; per 16
/// sequences eight tile products run on the tile unit and their two sums are scaled by AVX-512 (`F.finish`),
/// while the next 16 sequences' activations are prefetched from L2.
@inline(__always)
func amxTiles<F: AMXFormat>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                            _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    let terms = F.terms, sumBytes = 2048
    let termsBytes = nSeq &* nb &* terms &* 4, outBytes = nSeq &* 64
    withUnsafeTemporaryAllocation(byteCount: 8192 &+ sumBytes &+ termsBytes &+ outBytes, alignment: 64) { buf in
        let bt = buf.baseAddress!, ct = bt + 8192
        let g = (ct + sumBytes).assumingMemoryBound(to: Float.self)
        let out = (ct + (sumBytes &+ termsBytes)).assumingMemoryBound(to: Float.self)
        for s in 0..<nSeq { F.groupSums(x, st, s, nb, g + s &* nb &* terms) }
        let blocks = nSeq >> 4
        @inline(__always) func activations(_ k: Int, _ i: Int) -> UnsafeRawPointer {
            UnsafeRawPointer(x.q + (16 &* k &* st.q &+ 256 &* i))
        }
        TileConfig(aBytes: 64).with {
            var r = 0
            while r < count {
                for k in 0..<(nSeq &* 16) { out[k] = 0 }
                for i in 0..<nb {
                    let p0 = rows + (r &* rowBytes &+ i &* F.groupBlock)
                    let f = F.tiles(p0, p0 + 8 &* rowBytes, bt)
                    for k in 0..<blocks {
                        // The next 16 sequences' activations (16 rows of 256 bytes, from L2) into L1 while these run.
                        let kn = k &+ 1 < blocks ? k &+ 1 : 0, inext = k &+ 1 < blocks ? i : i &+ 1
                        if inext < nb { for t in 0..<16 { prefetchLines(activations(kn, inext) + t &* st.q, 256) } }
                        scaledProducts(activations(k, i), st.q, UnsafeRawPointer(bt), ct, signedHigh: F.signedHigh)
                        let cb = UnsafeRawPointer(ct)
                        for t in 0..<16 {
                            let s = 16 &* k &+ t, o = out + 16 &* s
                            _mm512_storeu_ps(o, F.finish(cb + 64 &* t, f, g + (s &* nb &+ i) &* terms,
                                                         _mm512_set1_ps(x.d[s &* st.d &+ i]), _mm512_loadu_ps(o)))
                        }
                    }
                }
                for s in 0..<nSeq { _mm512_storeu_ps(y + (s &* ldy &+ r), _mm512_loadu_ps(out + 16 &* s)) }
                r &+= 16
            }
        }
    }
}

/// A product split between the tiles of `R` (whole 16s of rows and sequences) and `fallback` (the AVX-512
/// kernel of the format: the rows and sequences left over, and products of fewer than `R.tilesFrom`).
@inline(__always)
func amxRows<R: AMXTileRunner>(_: R.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                           _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int,
                           fallback: MatRowsKernel) {
    let r16 = count / 16 * 16, s16 = nSeq / AMX.tileSequences * AMX.tileSequences
    guard r16 > 0, s16 > 0, nSeq >= R.tilesFrom else { return fallback(rows, rowBytes, count, nb, x, st, nSeq, y, ldy) }
    R.run(rows, rowBytes, r16, nb, x, st, s16, y, ldy)
    if r16 < count { fallback(rows + r16 &* rowBytes, rowBytes, count &- r16, nb, x, st, s16, y + r16, ldy) }
    if s16 < nSeq { fallback(rows, rowBytes, count, nb, st.row(x, s16), st, nSeq &- s16, y + s16 &* ldy, ldy) }
}
#endif
