// The sampler's one SIMD helper that TensorKernels' VectorOps has no twin for.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TensorKernels

enum Ops {
    /// Writes `e^((x[i] - m) · s)` to `out` (when given) and returns their sum.
    static func expShifted(_ x: UnsafePointer<Float>, _ n: Int, minus m: Float, scale s: Float,
                           into out: UnsafeMutablePointer<Float>?) -> Double {
        let r = UnsafeRawPointer(x)
        var acc = SIMD8<Float>(repeating: 0)
        var total: Double = 0
        var i = 0
        var blocks = 0
        while i + 8 <= n {
            let e = VectorOps.exp((r.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) - m) * s)
            if let out { UnsafeMutableRawPointer(out).storeBytes(of: e, toByteOffset: 4 * i, as: SIMD8<Float>.self) }
            acc += e
            i += 8
            blocks += 1
            if blocks == 256 {  // flush to double now and then, so the float partial sums stay accurate
                total += Double(acc.sum())
                acc = SIMD8(repeating: 0)
                blocks = 0
            }
        }
        total += Double(acc.sum())
        while i < n {
            let e = expf((x[i] - m) * s)
            out?[i] = e
            total += Double(e)
            i += 1
        }
        return total
    }
}
