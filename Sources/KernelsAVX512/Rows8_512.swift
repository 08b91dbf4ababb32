// The nibble formats (Q4_0, Q4_1) in the `rows8` layout (TensorKernels' Repack.swift): the eight-row
// kernel of Block32Tiles512.swift reads each block of eight rows in place. A 512-bit load of the
// layout's 8-byte word j holds bytes 8j..<8j+8 of the eight rows, so its low nibbles are already the
// operand the tiles multiply for elements 8j..<8j+8 and its high nibbles the one for 16+8j..<24+8j:
// no per-call repack, and the same code serves one sequence and a prompt of hundreds.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import KernelsAVX2

/// Blocks of eight rows of a nibble format in the `rows8` layout, read in place.
struct Rows8NibbleBlocks<F: Block32Format>: EightRowBlocks {
    /// The group's first block.
    let group: UnsafeRawPointer

    @inline(__always) private func block(_ b: Int) -> UnsafeRawPointer { group + b &* (8 &* F.bytes) }

    @inline(__always) func quants(_ b: Int) -> (__m512i, __m512i, __m512i, __m512i) {
        let p = block(b), q = F.hasMin ? 32 : 16, m4 = _mm512_set1_epi8(0xF)
        prefetchLines(p + 2048, 8 &* F.bytes)
        let v0 = _mm512_loadu_si512(p + q), v1 = _mm512_loadu_si512(p + (q &+ 64))
        return (_mm512_and_si512(v0, m4), _mm512_and_si512(v1, m4),
                _mm512_and_si512(_mm512_srli_epi16(v0, 4), m4), _mm512_and_si512(_mm512_srli_epi16(v1, 4), m4))
    }

    /// The eight fp16 at `offset`, each widened into two lanes: as they are (`pairs`), or then 0.
    @inline(__always) private func halves(_ b: Int, _ offset: Int, pairs: Bool) -> __m512 {
        let h = _mm_loadu_si128((block(b) + offset).assumingMemoryBound(to: __m128i.self))
        let second = pairs ? h : _mm_setzero_si128()
        let lo = _mm_unpacklo_epi16(h, second), hi = _mm_unpackhi_epi16(h, second)
        return _mm512_cvtph_ps(_mm256_set_m128i(hi, lo))
    }
    @inline(__always) func scales(_ b: Int) -> __m512 { halves(b, 0, pairs: true) }
    @inline(__always) func mins(_ b: Int) -> __m512 { halves(b, 16, pairs: false) }
}

/// `y[s·ldy + r] = W[r] · x_s` for rows `0..<count` (a multiple of eight) in the `rows8` layout.
@inline(__always)
func rows8NibblesMat512<F: Block32Format>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                                          _ x: Q8Activations, _ st: Q8Strides, _ nSeq: Int,
                                          _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
    var g = 0
    while g < count {
        block32EightRowsRun512(F.self, Rows8NibbleBlocks<F>(group: rows + g &* rowBytes), nb, x, st, nSeq, y + g, ldy)
        g &+= 8
    }
}

extension AVX512 {
    /// Q4_0 rows in the `rows8` layout · Q8_0 activations.
    @inline(never)
    public static func q4_0Rows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        rows8NibblesMat512(Q4_0Format.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q4_1 rows in the `rows8` layout · Q8_1 activations.
    @inline(never)
    public static func q4_1Rows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        rows8NibblesMat512(Q4_1Format.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
}
#endif
