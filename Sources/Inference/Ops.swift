// Small vector helpers used by the forward pass, written as plain loops.
// They mirror TensorKernels' planned `VectorOps` and can be swapped for it one call at a time.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum Ops {
    // Signatures match TensorKernels.VectorOps, so the swap is a rename.

    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func loadHalf8(_ p: UnsafePointer<UInt16>, _ i: Int) -> SIMD8<Float> {
        SIMD8<Float>(UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float16>.self))
    }

    @inline(__always)
    static func lanesSum(_ v: SIMD8<Float>) -> Float {
        let h = v.lowHalf + v.highHalf
        let q = h.lowHalf + h.highHalf
        return q[0] + q[1]
    }

}

// MARK: Vectorized exp for whole-vocabulary softmax work (sampler, log-probabilities)

extension Ops {
    /// e^x for 8 lanes (Cephes-style range reduction and polynomial, ~1e-7 relative error;
    /// inputs clamped to [-87.3, 88.3]).
    @inline(__always)
    static func exp8(_ v: SIMD8<Float>) -> SIMD8<Float> {
        var x = pointwiseMin(pointwiseMax(v, SIMD8(repeating: -87.3)), SIMD8(repeating: 88.3))
        // Round x·log2(e) to the nearest integer with the 1.5·2^23 trick (no out-of-line rounding calls).
        let magic = SIMD8<Float>(repeating: 12_582_912)
        let t = x * 1.442_695_04 + magic
        let fx = t - magic
        let n = unsafeBitCast(t, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
        x -= fx * 0.693_359_375
        x -= fx * -2.121_944_4e-4
        let z = x * x
        var y = SIMD8<Float>(repeating: 1.987_569_15e-4)
        y = y * x + 1.398_199_950_7e-3
        y = y * x + 8.333_451_907_3e-3
        y = y * x + 4.166_579_589_4e-2
        y = y * x + 1.666_666_545_9e-1
        y = y * x + 5.000_000_120_1e-1
        y = y * z + x + 1
        let pow2 = unsafeBitCast((n &+ 127) &<< 23, to: SIMD8<Float>.self)
        return y * pow2
    }

    /// Largest of `x[0..<n]` (n > 0).
    static func maxValue(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        let r = UnsafeRawPointer(x)
        var m = -Float.infinity
        var i = 0
        if n >= 8 {
            var v = SIMD8<Float>(repeating: -.infinity)
            while i + 8 <= n {
                v = pointwiseMax(v, r.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
                i += 8
            }
            m = v.max()
        }
        while i < n { m = max(m, x[i]); i += 1 }
        return m
    }

    /// Writes `e^((x[i] - m) · s)` to `out` (when given) and returns their sum.
    static func expShifted(_ x: UnsafePointer<Float>, _ n: Int, minus m: Float, scale s: Float,
                           into out: UnsafeMutablePointer<Float>?) -> Double {
        let r = UnsafeRawPointer(x)
        var acc = SIMD8<Float>(repeating: 0)
        var total: Double = 0
        var i = 0
        var blocks = 0
        while i + 8 <= n {
            let e = exp8((r.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) - m) * s)
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
