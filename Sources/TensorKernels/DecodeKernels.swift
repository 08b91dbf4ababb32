#if arch(x86_64)
import KernelsAVX2
import KernelsAVX512
#endif

/// The 8-bit integer matrix kernels per weight type and instruction level (x86-64: KernelsAVX2,
/// KernelsAVX512). `nil` means the portable kernels of `MatMulEngine` serve that type/level.
enum DecodeKernels {
    #if arch(x86_64)
    typealias Kernel = MatRowsKernel
    typealias Activations = Q8Activations
    typealias Strides = Q8Strides

    static func kernel(_ type: GGMLType, _ level: KernelLevel) -> Kernel? {
        switch level {
        case .portable: return nil
        case .avx2:
            switch type {
            case .q4_0: return AVX2.q4_0
            case .q4_1: return AVX2.q4_1
            case .q5_0: return AVX2.q5_0
            case .q5_1: return AVX2.q5_1
            case .q8_0: return AVX2.q8_0
            case .q2_K: return AVX2.q2_K
            case .q3_K: return AVX2.q3_K
            case .q4_K: return AVX2.q4_K
            case .q5_K: return AVX2.q5_K
            case .q6_K: return AVX2.q6_K
            default: return nil
            }
        case .avx512:
            switch type {
            case .q4_0: return AVX512.q4_0
            case .q4_1: return AVX512.q4_1
            case .q5_0: return AVX512.q5_0
            case .q5_1: return AVX512.q5_1
            case .q8_0: return AVX512.q8_0
            case .q2_K: return AVX512.q2_K
            case .q3_K: return AVX512.q3_K
            case .q4_K: return AVX512.q4_K
            case .q5_K: return AVX512.q5_K
            case .q6_K: return AVX512.q6_K
            default: return nil
            }
        }
    }
    #else
    typealias Kernel = (UnsafeRawPointer, Int, Int, Int, Activations, Strides, Int, UnsafeMutablePointer<Float>, Int) -> Void
    struct Activations {
        var q: UnsafePointer<Int8>, d: UnsafePointer<Float>, s: UnsafePointer<Float>
        var sum32: UnsafePointer<Int32>, sum16: UnsafePointer<Int32>
        init(q: UnsafeMutablePointer<Int8>, d: UnsafeMutablePointer<Float>, s: UnsafeMutablePointer<Float>,
             sum32: UnsafeMutablePointer<Int32>, sum16: UnsafeMutablePointer<Int32>) {
            self.q = UnsafePointer(q); self.d = UnsafePointer(d); self.s = UnsafePointer(s)
            self.sum32 = UnsafePointer(sum32); self.sum16 = UnsafePointer(sum16)
        }
    }
    struct Strides { var q: Int, d: Int, s: Int, sum32: Int, sum16: Int }
    static func kernel(_ type: GGMLType, _ level: KernelLevel) -> Kernel? { nil }
    #endif
}
