#if arch(x86_64)
import KernelsAVX2
import KernelsAVX512
#endif

/// The signature of the 8-bit integer matrix kernels per instruction level (x86-64: KernelsAVX2,
/// KernelsAVX512), and the activations they read. Each format's `FormatTraits` entry holds its
/// kernels (`FormatTraits.kernel(_:)`); `nil` there means the portable kernels of `MatMulEngine`
/// serve that type/level. Off x86-64 no level has kernels: the same types, with no functions.
enum DecodeKernels {
    #if arch(x86_64)
    typealias Kernel = MatRowsKernel
    typealias Activations = Q8Activations
    typealias Strides = Q8Strides
    #else
    typealias Kernel = (UnsafeRawPointer, Int, Int, Int, Activations, Strides, Int, UnsafeMutablePointer<Float>, Int) -> Void
    struct Activations {
        var q: UnsafePointer<Int8>, d: UnsafePointer<Float>, s: UnsafePointer<Float>
        var sum32: UnsafePointer<Int32>, sum16: UnsafePointer<Int16>
        init(q: UnsafeMutablePointer<Int8>, d: UnsafeMutablePointer<Float>, s: UnsafeMutablePointer<Float>,
             sum32: UnsafeMutablePointer<Int32>, sum16: UnsafeMutablePointer<Int16>) {
            self.q = UnsafePointer(q); self.d = UnsafePointer(d); self.s = UnsafePointer(s)
            self.sum32 = UnsafePointer(sum32); self.sum16 = UnsafePointer(sum16)
        }
    }
    struct Strides { var q: Int, d: Int, s: Int, sum32: Int, sum16: Int }
    #endif
}
