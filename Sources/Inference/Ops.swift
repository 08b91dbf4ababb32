// Small vector helpers used by the forward pass, written as plain loops.
// They mirror TensorKernels' planned `VectorOps` and can be swapped for it one call at a time.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum Ops {
    /// `out[i] = x[i] / sqrt(mean(x²) + eps) * w[i]` (sum of squares in double, as ggml does).
    @inline(__always)
    static func rmsNorm(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int, eps: Float) {
        var sum: Double = 0
        for i in 0..<n { sum += Double(x[i] * x[i]) }
        let mean = Float(sum / Double(n))
        let scale = 1 / (mean + eps).squareRoot()
        for i in 0..<n { out[i] = x[i] * scale * w[i] }
    }

    /// In-place softmax over `n` values (sum in double).
    @inline(__always)
    static func softmax(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        var m = -Float.infinity
        for i in 0..<n where x[i] > m { m = x[i] }
        var sum: Double = 0
        for i in 0..<n {
            let e = expf(x[i] - m)
            x[i] = e
            sum += Double(e)
        }
        let inv = Float(1 / sum)
        for i in 0..<n { x[i] *= inv }
    }

    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc: Float = 0
        for i in 0..<n { acc += a[i] * b[i] }
        return acc
    }

    @inline(__always)
    static func dotF16(_ a: UnsafePointer<Float>, _ b: UnsafePointer<UInt16>, _ n: Int) -> Float {
        var acc: Float = 0
        for i in 0..<n { acc += a[i] * Float(Float16(bitPattern: b[i])) }
        return acc
    }

    /// `y += a * x`.
    @inline(__always)
    static func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] += a * x[i] }
    }

    @inline(__always)
    static func axpyF16(_ a: Float, _ x: UnsafePointer<UInt16>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] += a * Float(Float16(bitPattern: x[i])) }
    }

    /// `gate[i] = silu(gate[i]) * up[i]`.
    @inline(__always)
    static func swiglu(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
        for i in 0..<n {
            let g = gate[i]
            gate[i] = g / (1 + expf(-g)) * up[i]
        }
    }

    @inline(__always)
    static func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) {
        for i in 0..<n { x[i] += y[i] }
    }

    @inline(__always)
    static func toF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, _ n: Int) {
        for i in 0..<n { dst[i] = Float16(src[i]).bitPattern }
    }
}
