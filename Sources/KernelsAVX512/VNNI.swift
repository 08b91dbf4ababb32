// 8-bit integer decode kernels for x86-64-v4 with AVX-512 VNNI (vpdpbusd on 256-bit vectors).
// Built for x86-64-v4 + AVX-512 VNNI; TensorKernels calls it only where cpuid reports AVX-512
// F/BW/VL and VNNI (see TensorKernels' KernelLevel). On other architectures it is empty.
//
// The formats' block layouts are KernelsAVX2's; the kernels here run on 512-bit vectors: two
// 32-blocks per vpdpbusd (Block32_512.swift; vpdpbusd replaces vpmaddubsw + vpmaddwd + vpaddd),
// two K-quant groups per vpmaddubsw/vpmaddwd (KQuant512.swift; their per-16/32 integer scales
// need vpmaddwd after the byte products, where VNNI saves nothing).
#if arch(x86_64)
import _Builtin_intrinsics.intel
import KernelsAVX2

/// vpdpbusd (EVEX, AVX-512 VL + VNNI).
public enum VNNIDot: ByteDot {
    @inlinable @inline(__always)
    public static func dot(_ acc: __m256i, _ u: __m256i, _ s: __m256i) -> __m256i {
        _mm256_mask_dpbusd_epi32(acc, 0xFF, u, s)
    }
}

/// The integer kernels of this level; from `Block32Format.tilesMinSeq` / `RowTileFormat.tilesMinSeq` sequences
/// on, eight-row tiles (Block32Tiles512.swift, RowTiles512.swift).
public enum AVX512 {
    /// Q4_0 rows · Q8_0 activations.
    @inline(never)
    public static func q4_0(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        block32TiledMat512(Q4_0Format.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q4_1 rows · Q8_1 activations.
    @inline(never)
    public static func q4_1(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        block32TiledMat512(Q4_1Format.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q5_0 rows · Q8_0 activations.
    @inline(never)
    public static func q5_0(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        block32TiledMat512(Q5_0Format.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q5_1 rows · Q8_1 activations.
    @inline(never)
    public static func q5_1(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        block32TiledMat512(Q5_1Format.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
    /// Q8_0 rows · Q8_0 activations.
    @inline(never)
    public static func q8_0(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        block32TiledMat512(Q8_0Format.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
}
#endif
