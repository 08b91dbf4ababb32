// The kernels of the `avx512gfni` level (TensorKernels' `KernelLevel`): the `avx512` level's, built with GFNI
// (x86-64-v4, AVX-512 VNNI and GFNI: Ice Lake, Sapphire Rapids and later, AMD Zen 4 and later), where a format
// decodes faster with `gf2p8affineqb`, an 8 x 8 bit-matrix transform of every byte that takes any bits of a byte
// to any places (and clears the rest) in one operation. Every other format runs the `avx512` kernels on this level.
//
// Q3_K in the `rows8` layout (KernelsAVX512/CrumbRows8_512.swift has the layout and the kernel): of each triple's
// eight 3-bit fields, six lie whole in a byte and two are split across bytes (crumbs in the first two words, their
// high bits in the third). With shifts and masks the whole fields at bits 5-7 cost two operations and the split
// ones three; with GFNI one and two (one transform puts the high bit in place, one `vpternlogq` joins it to the
// masked crumbs): 20 vector operations fewer a super-block of eight rows, of about 167.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import CGFNI
import KernelsAVX2
import KernelsAVX512

/// `Q3Fields512` by GFNI, one `gf2p8affineqb` a field: byte 7 - i of the matrix names the source bit of result
/// bit i.
enum AffineFields512: Q3Fields512 {
    @inline(__always)
    static func high(_ v: __m512i) -> __m512i {
        // Result bits 2, 3, 4 from bits 5, 6, 7: matrix bytes 5, 4, 3 = 0x20, 0x40, 0x80.
        tm_gf2p8affine(v, _mm512_set1_epi64(0x0000_2040_8000_0000))
    }
    @inline(__always)
    static func top(_ v: __m512i, bit: Int) -> __m512i {
        // Result bit 2 from bit `bit`: matrix byte 5.
        tm_gf2p8affine(v, _mm512_set1_epi64(bit == 0 ? 0x0000_0100_0000_0000 : 0x0000_0200_0000_0000))
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
