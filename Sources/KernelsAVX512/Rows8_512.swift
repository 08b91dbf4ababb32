// The 32-block formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) in the `rows8` layout (TensorKernels' Repack.swift): the
// eight-row kernel of Block32Tiles512.swift reads each block of eight rows in place. A 512-bit load of
// the layout's 8-byte word j holds bytes 8j..<8j+8 of the eight rows, so its low nibbles are already
// the operand the tiles multiply for elements 8j..<8j+8 and its high nibbles the one for
// 16+8j..<24+8j: no per-call repack, and the same code serves one sequence and a prompt of hundreds.
// Read in place (one to four sequences) the 4-bit formats keep their high nibbles where they are, as
// 16 · q (one mask instead of a shift and a mask; `EightRowBlocks.sixteenfoldHigh`).
// The Q5 formats' quants are recoded at load into five-bit values (Repack.toUnits): per operand a shift and a mask,
// or a mask, a shifted field of the units' word T and one `vpternlog`, for eight rows. Q8_0's four words are the
// operands as they are, made unsigned by flipping their sign bits (the tiles' u = q + 128, started from −128 · Σx).
#if arch(x86_64)
import _Builtin_intrinsics.intel
import KernelsAVX2
import Prefetch

/// Blocks of eight rows of a 32-block format in the `rows8` layout, read in place.
struct Rows8Blocks<F: Block32Format>: EightRowBlocks {
    /// The group's first block.
    let group: UnsafeRawPointer
    /// Prefetch each block `streamPrefetchBytes` on (`StreamPrefetch`).
    let ahead: Bool
    /// 4-bit formats: the high nibbles in place, as 16 · q (`EightRowBlocks.sixteenfoldHigh`); false where
    /// the operands are stored for a tile buffer.
    let inPlace: Bool

    var sixteenfoldHigh: Bool { inPlace && F.quantBits == 4 }

    @inline(__always) private func block(_ b: Int) -> UnsafeRawPointer { group + b &* (8 &* F.bytes) }

    @inline(__always) func quants(_ b: Int) -> (__m512i, __m512i, __m512i, __m512i) {
        let p = block(b)
        if ahead { prefetchStream(p, 8 &* F.bytes) }
        return rows8Operands(F.self, p, sixteenfoldHigh: sixteenfoldHigh)
    }

    /// The eight fp16 at `offset`, each widened into two lanes: as they are (`pairs`), or then 0.
    @inline(__always) private func halves(_ b: Int, _ offset: Int, pairs: Bool) -> __m512 {
        halvesInPairs(block(b) + offset, pairs: pairs)
    }
    @inline(__always) func scales(_ b: Int) -> __m512 { halves(b, 0, pairs: true) }
    @inline(__always) func mins(_ b: Int) -> __m512 { halves(b, 16, pairs: false) }
}

/// The byte operands of one block of eight rows of a 32-block format in the `rows8` layout (at `p`): four
/// vectors, vector j elements 8j ..< 8j + 8 of the eight rows (row r in qword r) as unsigned bytes u = q +
/// offset' (Q4_0/Q4_1 nibbles 0...15, Q5_0/Q5_1 0...31 with their fifth bits, Q8_0 q + 128). With
/// `sixteenfoldHigh` (4-bit formats) vectors 2 and 3 are the high nibbles left in place, 16 · q.
@inlinable @inline(__always)
public func rows8Operands<F: Block32Format>(_: F.Type, _ p: UnsafeRawPointer, sixteenfoldHigh: Bool = false)
    -> (__m512i, __m512i, __m512i, __m512i) {
    let fields = F.rows8Fields, q = F.rows8Quants
    let m4 = _mm512_set1_epi8(0xF)
    if F.quantBits == 8 {
        let flip = _mm512_set1_epi8(-128)
        @inline(__always) func u(_ j: Int) -> __m512i { _mm512_xor_si512(_mm512_loadu_si512(p + (q &+ 64 &* j)), flip) }
        return (u(0), u(1), u(2), u(3))
    }
    let v0 = _mm512_loadu_si512(p + q), v1 = _mm512_loadu_si512(p + (q &+ 64))
    if sixteenfoldHigh && F.quantBits == 4 {
        return (_mm512_and_si512(v0, m4), _mm512_and_si512(v1, m4), _mm512_andnot_si512(m4, v0), _mm512_andnot_si512(m4, v1))
    }
    if F.quantBits == 5 {
        // The units (Repack.toUnits): A_j (v0, v1) holds v(8j + i) in bits 3-7 and the low three bits of v(16 + 8j + i)
        // in bits 0-2; T's field 2h + j (bits 4h + 2j, + 1) their top two bits for rows 4h ..< 4h + 4. T for rows 0-3 in
        // the low 256 bits, shifted down by 4 for rows 4-7 in the high ones: field j of each half in bits 2j, 2j + 1.
        let t = _mm256_loadu_si256((p + fields).assumingMemoryBound(to: __m256i.self))
        let both = _mm512_mask_broadcast_i64x4(_mm512_castsi256_si512(t), 0xF0, _mm256_srli_epi16(t, 4))
        let (l0, h0) = fiveBitOperands512(v0, both, 0), (l1, h1) = fiveBitOperands512(v1, both, 1)
        return (l0, l1, h0, h1)
    }
    return (_mm512_and_si512(v0, m4), _mm512_and_si512(v1, m4),
            _mm512_and_si512(_mm512_srli_epi16(v0, 4), m4), _mm512_and_si512(_mm512_srli_epi16(v1, 4), m4))
}

/// The eight fp16 at `p` widened to floats, row r's in lanes 2r and 2r + 1 (`pairs`), or in lane 2r and 0
/// in 2r + 1: the lane order of the eight-row kernels' sums.
@inlinable @inline(__always) func halvesInPairs(_ p: UnsafeRawPointer, pairs: Bool = true) -> __m512 {
    let h = _mm_loadu_si128(p.assumingMemoryBound(to: __m128i.self))
    let second = pairs ? h : _mm_setzero_si128()
    return _mm512_cvtph_ps(_mm256_set_m128i(_mm_unpackhi_epi16(h, second), _mm_unpacklo_epi16(h, second)))
}

/// `y[s·ldy + r] = W[r] · x_s` for rows `0..<count` (a multiple of eight) in the `rows8` layout. Up to
/// four sequences (one pass) read the blocks in place; more sequences (several passes: prompts, wide
/// batches) read each group's operands expanded once into a tile buffer, so the nibble split and the
/// fifth bits are not redone per pass.
@inline(__always)
func rows8Mat512<F: Block32Format>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                                          _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int,
                                          _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    let ahead = StreamPrefetch.at(nSeq)
    if nSeq <= 4 {
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: nSeq &* nb) { buf in
            let starts = buf.baseAddress!
            block32Starts(F.self, x, st, nSeq, nb, starts)
            eachRows8Group(rows, rowBytes, count) { group, g in
                block32EightRowsRun512(F.self, Rows8Blocks<F>(group: group, ahead: ahead, inPlace: true), nb, x, st,
                                       nSeq, y + g, ldy, starts)
            }
        }
        return
    }
    // The tile buffer, then the starting sums.
    withUnsafeTemporaryAllocation(byteCount: nb &* block32TileBytes &+ 4 &* nSeq &* nb, alignment: 64) { buf in
        let tiles = buf.baseAddress!, starts = (tiles + nb &* block32TileBytes).assumingMemoryBound(to: Int32.self)
        block32Starts(F.self, x, st, nSeq, nb, starts)
        eachRows8Group(rows, rowBytes, count) { start, g in
            let group = Rows8Blocks<F>(group: start, ahead: ahead, inPlace: false)
            for b in 0..<nb {
                let t = tiles + b &* block32TileBytes, q = group.quants(b)
                _mm512_store_si512(t, q.0); _mm512_store_si512(t + 64, q.1)
                _mm512_store_si512(t + 128, q.2); _mm512_store_si512(t + 192, q.3)
                _mm512_store_ps(t + 256, group.scales(b))
                if F.hasMin { _mm512_store_ps(t + 320, group.mins(b)) }
            }
            block32EightRowsRun512(F.self, TileBuffer(tiles: UnsafeRawPointer(tiles)), nb, x, st, nSeq, y + g, ldy, starts)
        }
    }
}

extension AVX512 {
    /// Q4_0 rows in the `rows8` layout · Q8_0 activations.
    @inline(never)
    public static func q4_0Rows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        rows8Mat512(Q4_0Format.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q4_1 rows in the `rows8` layout · Q8_1 activations.
    @inline(never)
    public static func q4_1Rows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        rows8Mat512(Q4_1Format.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q5_0 rows in the `rows8` layout · Q8_0 activations.
    @inline(never)
    public static func q5_0Rows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        rows8Mat512(Q5_0Format.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q5_1 rows in the `rows8` layout · Q8_1 activations.
    @inline(never)
    public static func q5_1Rows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        rows8Mat512(Q5_1Format.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q8_0 rows in the `rows8` layout · Q8_0 activations.
    @inline(never)
    public static func q8_0Rows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        rows8Mat512(Q8_0Format.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
}
#endif
