// The kernels of the `avx512gfni` level (TensorKernels' `KernelLevel`): the `avx512` level's, built with GFNI
// (x86-64-v4, AVX-512 VNNI and GFNI: Ice Lake, Sapphire Rapids and later, AMD Zen 4 and later), where a format
// decodes faster with `gf2p8affineqb`, an 8 x 8 bit-matrix transform of every byte that takes any bits of a byte
// to any places (and clears the rest) in one operation. Every other format runs the `avx512` kernels on this level.
//
// Q3_K in the `rows8` layout, the `avx512` level's generic kernel (KernelsAVX512/CrumbRows8_512.swift has the layout
// and the kernel) with `AffineFields512`: of each triple's eight 3-bit fields, six lie whole in a byte and two are
// split across bytes (crumbs in the first two words, their high bits in the third). With shifts and masks the
// whole fields at bits 5-7 cost two operations and the split ones three; with GFNI one and two (one transform puts
// the high bit in place, one `vpternlogq` joins it to the masked crumbs): 20 vector operations fewer a super-block
// of eight rows, of 221. (Q5_K's top bits the same way: 16 fewer of 218, read no faster; not kept.)
#if arch(x86_64)
import _Builtin_intrinsics.intel
import CGFNI
import KernelsAVX2
import KernelsAVX512

/// `ByteFields512` by GFNI, one `gf2p8affineqb` a field: byte 7 - i of the matrix names the source bits of result
/// bit i (one bit: that bit moves; none: the result bit is zero).
enum AffineFields512: ByteFields512 {
    @inline(__always)
    static func field(_ v: __m512i, from: Int, width: Int, to: Int) -> __m512i {
        var matrix: Int64 = 0
        for i in 0..<width { matrix |= Int64(1 &<< (from &+ i)) &<< (8 &* (7 &- to &- i)) }
        return tm_gf2p8affine(v, _mm512_set1_epi64(matrix))
    }
}

/// The `avx512gfni` level's own kernels.
public enum GFNI {
    /// Q3_K rows in the `rows8` layout · Q8_K activations (the `avx512` kernel with GFNI field decoding).
    @inline(never)
    public static func q3_KRows8(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                                 _ x: Q8Activations, _ strides: Q8Strides, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        crumbRows8Mat512(Q3_KFormat.self, AffineFields512.self, rows, rowBytes, count, blocks, x, strides, nSeq, y, ldy)
    }
}
#endif
