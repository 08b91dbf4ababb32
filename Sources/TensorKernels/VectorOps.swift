import Foundation
import Prefetch

/// Allocation-free SIMD helpers over raw `Float` rows for the forward pass.
///
/// All pointers may alias only where stated; lengths are element counts.
public enum VectorOps {
    /// Σ a[i]·b[i] over `n` elements (8-wide FMA, four accumulators).
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= n {
            s0.addProduct(ra.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self), rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
            s1.addProduct(ra.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self), rb.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self))
            s2.addProduct(ra.loadUnaligned(fromByteOffset: 4 * i + 64, as: SIMD8<Float>.self), rb.loadUnaligned(fromByteOffset: 4 * i + 64, as: SIMD8<Float>.self))
            s3.addProduct(ra.loadUnaligned(fromByteOffset: 4 * i + 96, as: SIMD8<Float>.self), rb.loadUnaligned(fromByteOffset: 4 * i + 96, as: SIMD8<Float>.self))
            i += 32
        }
        while i + 8 <= n {
            s0.addProduct(ra.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self), rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
            i += 8
        }
        var s = hsum((s0 + s1) + (s2 + s3))
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// Horizontal sum of 8 lanes.
    @inline(__always)
    public static func hsum(_ v: SIMD8<Float>) -> Float {
        let h = v.lowHalf + v.highHalf
        let q = h.lowHalf + h.highHalf
        return q[0] + q[1]
    }

    /// Largest of 8 lanes, lane by lane (the standard library's `SIMD.max()` can stay an unspecialised call in
    /// a hot loop).
    @inline(__always)
    static func hmax(_ v: SIMD8<Float>) -> Float {
        var m = v[0]
        for k in 1..<8 { m = Swift.max(m, v[k]) }
        return m
    }

    /// Horizontal sum of 8 integer lanes.
    @inline(__always)
    static func hsum(_ v: SIMD8<Int32>) -> Int32 {
        let h = v.lowHalf &+ v.highHalf
        let q = h.lowHalf &+ h.highHalf
        return q[0] &+ q[1]
    }

    /// y[i] += alpha · x[i] for `n` elements (`x` and `y` must not overlap unless equal).
    @inline(__always)
    public static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
        let va = SIMD8<Float>(repeating: alpha)
        var i = 0
        while i + 8 <= n {
            var v = ry.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            v.addProduct(va, rx.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
            ry.storeBytes(of: v, toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { y[i] += alpha * x[i]; i += 1 }
    }

    /// x[i] *= s for `n` elements.
    @inline(__always)
    public static func scale(_ x: UnsafeMutablePointer<Float>, _ s: Float, _ n: Int) {
        let r = UnsafeMutableRawPointer(x)
        var i = 0
        while i + 8 <= n {
            r.storeBytes(of: r.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) * s, toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { x[i] *= s; i += 1 }
    }

    /// y[i] += x[i] for `n` elements (residual connections).
    @inline(__always)
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, _ n: Int) {
        let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
        var i = 0
        while i + 8 <= n {
            let v = ry.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) + rx.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            ry.storeBytes(of: v, toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { y[i] += x[i]; i += 1 }
    }

    /// RMS normalisation: out[i] = x[i] / sqrt(mean(x²) + eps) · weight[i].
    /// `out` may equal `x`. Squares are summed in 8 Float lanes, reduced in Double.
    public static func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                               _ n: Int, eps: Float) {
        let rx = UnsafeRawPointer(x)
        var acc = SIMD8<Float>()
        var i = 0
        while i + 8 <= n {
            let v = rx.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            acc.addProduct(v, v)
            i += 8
        }
        var ss = Double(hsum(acc))
        while i < n { ss += Double(x[i]) * Double(x[i]); i += 1 }
        let s = Float(1.0 / (ss / Double(n) + Double(eps)).squareRoot())
        let rw = UnsafeRawPointer(weight), ro = UnsafeMutableRawPointer(out)
        i = 0
        while i + 8 <= n {
            let v = rx.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) * s * rw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            ro.storeBytes(of: v, toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { out[i] = x[i] * s * weight[i]; i += 1 }
    }

    /// Largest element of `x[0..<n]` (n > 0).
    public static func max(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        let r = UnsafeRawPointer(x)
        var m = -Float.infinity
        var i = 0
        if n >= 8 {
            var v = SIMD8<Float>(repeating: -.infinity)
            while i + 8 <= n {
                let w = r.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                v = v.replacing(with: w, where: w .> v)
                i += 8
            }
            m = hmax(v)
        }
        while i < n { m = Swift.max(m, x[i]); i += 1 }
        return m
    }

    /// Index of the largest element of `x[0..<n]` (the first one on ties; n > 0). NaNs are skipped.
    public static func argmax(_ x: UnsafePointer<Float>, _ n: Int) -> Int {
        let m = max(x, n)
        for i in 0..<n where x[i] == m { return i }
        return 0
    }

    /// e^x lane-wise, relative error below 3e-7 over the float range (inputs are clamped to
    /// [-87.3, 88.3], so huge inputs give ~2e38, not infinity, and tiny ones ~1e-38).
    /// Range reduction x = n·ln2 + r with |r| ≤ ln2/2, a degree-6 minimax polynomial for e^r,
    /// and 2^n built directly in the exponent bits.
    @inline(__always)
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var v = x.replacing(with: 88.3, where: x .> 88.3)
        v = v.replacing(with: -87.3, where: v .< -87.3)
        // n = round(v / ln2) via the 1.5·2^23 trick (its low mantissa bits then hold n).
        let t = v * 1.442695040888963 + 12582912
        let n = t - 12582912
        let r = (v - n * 0.693359375) - n * -2.12194440e-4
        var p = SIMD8<Float>(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let er = (p * r * r + r) + 1
        let ni = unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((ni &+ 127) &<< 23, to: SIMD8<Float>.self)
        return er * scale
    }

    /// Numerically stable softmax in place over `n` elements; returns the normaliser Σ exp(x - max)
    /// (useful for log-probabilities: log p_i = x_i - max - log(sum)).
    @discardableResult
    public static func softmax(_ x: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
        if n <= 0 { return 0 }
        let m = max(x, n)
        let r = UnsafeMutableRawPointer(x)
        var acc = SIMD8<Float>()
        var i = 0
        while i + 8 <= n {
            let e = exp(r.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) - m)
            r.storeBytes(of: e, toByteOffset: 4 * i, as: SIMD8<Float>.self)
            acc += e
            i += 8
        }
        var sum = Double(hsum(acc))
        while i < n {
            let e = expf(x[i] - m)
            x[i] = e
            sum += Double(e)
            i += 1
        }
        scale(x, Float(1 / sum), n)
        return Float(sum)
    }

    /// SwiGLU: out[i] = silu(gate[i]) · up[i] with silu(v) = v / (1 + e^-v). `out` may equal `gate` or `up`.
    public static func swiglu(_ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
        let rg = UnsafeRawPointer(gate), ru = UnsafeRawPointer(up), ro = UnsafeMutableRawPointer(out)
        var i = 0
        while i + 8 <= n {
            let g = rg.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            let u = ru.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            ro.storeBytes(of: g / (1 + exp(-g)) * u, toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n {
            let g = gate[i]
            out[i] = g / (1 + expf(-g)) * up[i]
            i += 1
        }
    }

    /// SiLU in place: x[i] = x[i] / (1 + e^-x[i]).
    public static func silu(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        let r = UnsafeMutableRawPointer(x)
        var i = 0
        while i + 8 <= n {
            let v = r.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            r.storeBytes(of: v / (1 + exp(-v)), toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { x[i] = x[i] / (1 + expf(-x[i])); i += 1 }
    }

    /// Converts `n` IEEE halves (bit patterns) to floats.
    @inline(__always)
    public static func f16ToF32(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        let rs = UnsafeRawPointer(src), rd = UnsafeMutableRawPointer(dst)
        var i = 0
        while i + 8 <= n {
            let h = rs.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<Float16>.self)
            rd.storeBytes(of: SIMD8<Float>(h), toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { dst[i] = Float(Float16(bitPattern: src[i])); i += 1 }
    }

    /// Converts `n` floats to IEEE halves (bit patterns), rounding to nearest even.
    @inline(__always)
    public static func f32ToF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, _ n: Int) {
        let rs = UnsafeRawPointer(src), rd = UnsafeMutableRawPointer(dst)
        var i = 0
        while i + 8 <= n {
            let f = rs.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            rd.storeBytes(of: SIMD8<Float16>(f), toByteOffset: 2 * i, as: SIMD8<Float16>.self)
            i += 8
        }
        while i < n { dst[i] = Float16(src[i]).bitPattern; i += 1 }
    }

    /// Converts `n` bfloat16 values (bit patterns) to floats.
    @inline(__always)
    public static func bf16ToF32(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        let rs = UnsafeRawPointer(src), rd = UnsafeMutableRawPointer(dst)
        var i = 0
        while i + 8 <= n {
            // Two bf16 per 32-bit lane: the even element moves up 16 bits, the odd one is masked.
            let w = rs.loadUnaligned(fromByteOffset: 2 * i, as: SIMD4<UInt32>.self)
            let e = w &<< 16, o = w & 0xFFFF_0000
            let v = SIMD8<UInt32>(e[0], o[0], e[1], o[1], e[2], o[2], e[3], o[3])
            rd.storeBytes(of: v, toByteOffset: 4 * i, as: SIMD8<UInt32>.self)
            i += 8
        }
        while i < n { dst[i] = Float(bitPattern: UInt32(src[i]) << 16); i += 1 }
    }

    /// Σ a[i]·b[i] where `a` holds IEEE halves (an F16 KV-cache row) and `b` floats.
    @inline(__always)
    public static func dotF16(_ a: UnsafePointer<UInt16>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            s0.addProduct(SIMD8<Float>(ra.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<Float16>.self)), rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
            s1.addProduct(SIMD8<Float>(ra.loadUnaligned(fromByteOffset: 2 * i + 16, as: SIMD8<Float16>.self)), rb.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self))
            i += 16
        }
        while i + 8 <= n {
            s0.addProduct(SIMD8<Float>(ra.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<Float16>.self)), rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
            i += 8
        }
        var s = hsum(s0 + s1)
        while i < n { s += Float(Float16(bitPattern: a[i])) * b[i]; i += 1 }
        return s
    }

    /// y[i] += alpha · a[i] where `a` holds IEEE halves (attention over an F16 V cache).
    @inline(__always)
    public static func axpyF16(_ alpha: Float, _ a: UnsafePointer<UInt16>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let ra = UnsafeRawPointer(a), ry = UnsafeMutableRawPointer(y)
        let va = SIMD8<Float>(repeating: alpha)
        var i = 0
        while i + 8 <= n {
            var v = ry.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            v.addProduct(va, SIMD8<Float>(ra.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<Float16>.self)))
            ry.storeBytes(of: v, toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { y[i] += alpha * Float(Float16(bitPattern: a[i])); i += 1 }
    }
    /// `dotF16(k, q + g·qStride, n) · scale` into `out[g·outStride]` for each of `heads` query rows (the heads of
    /// one KV head's group against one cached key): the key row converted to floats once (into `scratch`, `n`
    /// floats), not once per head, and each dot the same sums in the same order as `dotF16` (the conversion
    /// is exact), so the scores are the same numbers.
    @inline(__always)
    public static func dotsF16(_ k: UnsafePointer<UInt16>, _ q: UnsafePointer<Float>, qStride: Int, heads: Int, _ n: Int,
                               scale: Float, _ out: UnsafeMutablePointer<Float>, outStride: Int, scratch: UnsafeMutablePointer<Float>) {
        f16ToF32(k, scratch, n)
        let whole = n & ~7
        for g in 0..<heads {
            var s = hsum(dotLanes(UnsafeRawPointer(scratch), UnsafeRawPointer(q + g &* qStride), whole))
            var i = whole
            while i < n { s += scratch[i] * q[g &* qStride &+ i]; i += 1 }
            out[g &* outStride] = s * scale
        }
    }

    /// The lanes of `dotF16`'s sum over the first `n` floats of `a` and `b` (`n` a multiple of 8), before
    /// its horizontal sum: sixteen at a time into two accumulators, a last eight into the first.
    @inline(__always)
    static func dotLanes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> SIMD8<Float> {
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            s0.addProduct(a.loadUnaligned(fromByteOffset: 4 &* i, as: SIMD8<Float>.self), b.loadUnaligned(fromByteOffset: 4 &* i, as: SIMD8<Float>.self))
            s1.addProduct(a.loadUnaligned(fromByteOffset: 4 &* i &+ 32, as: SIMD8<Float>.self),
                          b.loadUnaligned(fromByteOffset: 4 &* i &+ 32, as: SIMD8<Float>.self))
            i += 16
        }
        if i < n { s0.addProduct(a.loadUnaligned(fromByteOffset: 4 &* i, as: SIMD8<Float>.self), b.loadUnaligned(fromByteOffset: 4 &* i, as: SIMD8<Float>.self)) }
        return s0 + s1
    }

    /// Scores of `heads` query rows against `n` cached keys (IEEE halves, `keyStride` apart):
    /// `out[g·outStride + p] = dotF16(k_p, q + g·qStride, dim) · scale`, the same numbers as `dotsF16` per
    /// position. Eight keys at a time: each converted once into `scratch` (8·`dim` floats), each head's eight
    /// dots computed side by side and their horizontal sums done together, by the same pairwise additions as
    /// `hsum` (halves, then quarters, then the last pair), into one vector of eight scores. One dot's
    /// reduction alone is a chain of shuffles and adds longer than its multiplications for a 64-wide head
    /// (the per-position form was 18% of a SmolLM2 decode profile at 256 tokens of context).
    ///
    /// The cache is read from memory (the weights' stream evicts it every token) in short runs that the
    /// hardware prefetchers pick up late, so the loads waited: the keys two blocks ahead are prefetched, and
    /// with `values` the rows of the same positions that the weighted sum reads next (`valueStride` apart).
    public static func scoresF16(keys k: UnsafePointer<UInt16>, keyStride: Int, count n: Int, queries q: UnsafePointer<Float>,
                                 qStride: Int, heads: Int, dim: Int, scale: Float, _ out: UnsafeMutablePointer<Float>,
                                 outStride: Int, scratch: UnsafeMutablePointer<Float>,
                                 prefetching values: UnsafePointer<UInt16>? = nil, valueStride: Int = 0) {
        @inline(__always) func fetch(_ rows: UnsafePointer<UInt16>, _ stride: Int, _ from: Int, _ to: Int) {
            for r in from..<to { prefetchLines(UnsafeRawPointer(rows + r &* stride), 2 &* dim) }
        }
        var p = 0
        if dim % 8 == 0 {
            let sr = UnsafeRawPointer(scratch)
            let vscale = SIMD8<Float>(repeating: scale)
            fetch(k, keyStride, 0, min(n, 16))
            while p + 8 <= n {
                fetch(k, keyStride, min(n, p &+ 16), min(n, p &+ 24))
                if let values { fetch(values, valueStride, p, p &+ 8) }
                for r in 0..<8 { f16ToF32(k + (p &+ r) &* keyStride, scratch + r &* dim, dim) }
                for g in 0..<heads {
                    let qr = UnsafeRawPointer(q + g &* qStride)
                    @inline(__always) func dot(_ r: Int) -> SIMD8<Float> { dotLanes(sr + 4 &* r &* dim, qr, dim) }
                    let sums = hsums(dot(0), dot(1), dot(2), dot(3), dot(4), dot(5), dot(6), dot(7)) * vscale
                    UnsafeMutableRawPointer(out + (g &* outStride &+ p)).storeBytes(of: sums, as: SIMD8<Float>.self)
                }
                p += 8
            }
        }
        while p < n {
            dotsF16(k + p &* keyStride, q, qStride: qStride, heads: heads, dim, scale: scale, out + p, outStride: outStride,
                    scratch: scratch)
            p += 1
        }
    }

    /// `hsum` of eight vectors at once: lane r of the result is `hsum(v_r)`, bit for bit (the same
    /// additions of the same operands: halves, then quarters, then the last pair).
    @inline(__always)
    static func hsums(_ v0: SIMD8<Float>, _ v1: SIMD8<Float>, _ v2: SIMD8<Float>, _ v3: SIMD8<Float>,
                      _ v4: SIMD8<Float>, _ v5: SIMD8<Float>, _ v6: SIMD8<Float>, _ v7: SIMD8<Float>) -> SIMD8<Float> {
        // Halves: t_r = [h(v_r) | h(v_r+4)], h(v) = v.lowHalf + v.highHalf.
        @inline(__always) func halves(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
            SIMD8(lowHalf: a.lowHalf, highHalf: b.lowHalf) + SIMD8(lowHalf: a.highHalf, highHalf: b.highHalf)
        }
        let t0 = halves(v0, v4), t1 = halves(v1, v5), t2 = halves(v2, v6), t3 = halves(v3, v7)
        // Quarters, within each 128-bit lane: [x0, x1, y0, y1] + [x2, x3, y2, y3].
        @inline(__always) func quarters(_ x: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float> {
            SIMD8(x[0], x[1], y[0], y[1], x[4], x[5], y[4], y[5]) + SIMD8(x[2], x[3], y[2], y[3], x[6], x[7], y[6], y[7])
        }
        let u = quarters(t0, t1), w = quarters(t2, t3)
        // The last pair: [u0, u2, w0, w2] + [u1, u3, w1, w3] per 128-bit lane.
        return SIMD8(u[0], u[2], w[0], w[2], u[4], u[6], w[4], w[6]) + SIMD8(u[1], u[3], w[1], w[3], u[5], u[7], w[5], w[7])
    }

    /// `out[g·outStride + j] = Σ_p w[g·wStride + p] · rows[p·rowStride + j]` for j < `width` and each of `heads`
    /// weight rows, `rows` IEEE halves (the weighted sum of one KV head's cached values for the heads of its
    /// group). Sixteen columns at a time for up to four heads in registers over every position: each half is
    /// converted once per four heads and `out` written once, where `axpyF16` per position and head converted
    /// every value once per head and loaded and stored `out` each time. Each sum adds the positions in order
    /// with one fused multiply-add each, as `axpyF16` from zero does: the same numbers.
    @inline(__always)
    public static func weightedSumF16(_ w: UnsafePointer<Float>, wStride: Int, heads: Int, _ rows: UnsafePointer<UInt16>, rowStride: Int,
                                      count n: Int, width: Int, _ out: UnsafeMutablePointer<Float>, outStride: Int) {
        var g = 0
        while g < heads {
            switch heads - g {
            case 1: weightedSumF16Heads(W1.self, w + g &* wStride, wStride, rows, rowStride, n, width, out + g &* outStride, outStride)
            case 2: weightedSumF16Heads(W2.self, w + g &* wStride, wStride, rows, rowStride, n, width, out + g &* outStride, outStride)
            case 3: weightedSumF16Heads(W3.self, w + g &* wStride, wStride, rows, rowStride, n, width, out + g &* outStride, outStride)
            default: weightedSumF16Heads(W4.self, w + g &* wStride, wStride, rows, rowStride, n, width, out + g &* outStride, outStride)
            }
            g += 4
        }
    }
}

/// `weightedSumF16` for `H.n` (1-4) heads, their accumulators in registers.
@inline(__always)
private func weightedSumF16Heads<H: SeqWidth>(_: H.Type, _ w: UnsafePointer<Float>, _ wStride: Int, _ rows: UnsafePointer<UInt16>,
                                               _ rowStride: Int, _ n: Int, _ width: Int, _ out: UnsafeMutablePointer<Float>, _ outStride: Int) {
    let raw = UnsafeRawPointer(rows)
    @inline(__always) func halves(_ p: Int, _ j: Int) -> SIMD8<Float> {
        SIMD8<Float>(raw.loadUnaligned(fromByteOffset: 2 &* (p &* rowStride &+ j), as: SIMD8<Float16>.self))
    }
    var j = 0
    while j + 16 <= width {
        var a0 = SIMD8<Float>(), b0 = SIMD8<Float>(), a1 = SIMD8<Float>(), b1 = SIMD8<Float>()
        var a2 = SIMD8<Float>(), b2 = SIMD8<Float>(), a3 = SIMD8<Float>(), b3 = SIMD8<Float>()
        for p in 0..<n {
            let v0 = halves(p, j), v1 = halves(p, j &+ 8)
            let s0 = SIMD8<Float>(repeating: w[p])
            a0.addProduct(s0, v0); b0.addProduct(s0, v1)
            if H.n > 1 { let s = SIMD8<Float>(repeating: w[wStride &+ p]); a1.addProduct(s, v0); b1.addProduct(s, v1) }
            if H.n > 2 { let s = SIMD8<Float>(repeating: w[2 &* wStride &+ p]); a2.addProduct(s, v0); b2.addProduct(s, v1) }
            if H.n > 3 { let s = SIMD8<Float>(repeating: w[3 &* wStride &+ p]); a3.addProduct(s, v0); b3.addProduct(s, v1) }
        }
        @inline(__always) func store(_ k: Int, _ a: SIMD8<Float>, _ b: SIMD8<Float>) {
            let o = UnsafeMutableRawPointer(out + (k &* outStride &+ j))
            o.storeBytes(of: a, as: SIMD8<Float>.self)
            o.storeBytes(of: b, toByteOffset: 32, as: SIMD8<Float>.self)
        }
        store(0, a0, b0)
        if H.n > 1 { store(1, a1, b1) }
        if H.n > 2 { store(2, a2, b2) }
        if H.n > 3 { store(3, a3, b3) }
        j += 16
    }
    while j + 8 <= width {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        for p in 0..<n {
            let v = halves(p, j)
            a0.addProduct(SIMD8<Float>(repeating: w[p]), v)
            if H.n > 1 { a1.addProduct(SIMD8<Float>(repeating: w[wStride &+ p]), v) }
            if H.n > 2 { a2.addProduct(SIMD8<Float>(repeating: w[2 &* wStride &+ p]), v) }
            if H.n > 3 { a3.addProduct(SIMD8<Float>(repeating: w[3 &* wStride &+ p]), v) }
        }
        @inline(__always) func store(_ k: Int, _ a: SIMD8<Float>) {
            UnsafeMutableRawPointer(out + (k &* outStride &+ j)).storeBytes(of: a, as: SIMD8<Float>.self)
        }
        store(0, a0)
        if H.n > 1 { store(1, a1) }
        if H.n > 2 { store(2, a2) }
        if H.n > 3 { store(3, a3) }
        j += 8
    }
    // Columns past the last eight (a head width that is not a multiple of 8), one at a time.
    while j < width {
        for k in 0..<H.n {
            var s: Float = 0
            for p in 0..<n { s += w[k &* wStride &+ p] * Float(Float16(bitPattern: rows[p &* rowStride &+ j])) }
            out[k &* outStride &+ j] = s
        }
        j += 1
    }
}
