#if arch(x86_64)
import KernelsAVX2
#endif

/// 8-bit activation quantization into the layout the kernels read.
///
/// Quants are stored as Int16, and inside every group of 32 elements in the order
/// "even elements, then odd elements" (element 2i at slot i, element 2i+1 at slot 16+i). That is
/// the order in which 16-bit lanes over pairs of weight bytes deliver the weights (low byte:
/// even element, high byte: odd element), so the kernels need no byte shuffles or widening.
enum ActivationQuant {
    /// Slot of element `k` (0..<32) of a group in the even/odd layout.
    @inline(__always) static func slot(_ k: Int) -> Int { (k & 1) == 0 ? k >> 1 : 16 + (k >> 1) }

    /// Blocks of 32 as ggml's x86 `quantize_row_q8_0`/`q8_1`: quants round(x · 127/amax) to nearest
    /// even, the scale amax/127 rounded to fp16, and `scale · Σq` per block rounded to fp16.
    /// With `q8`/`sums` also writes the quants as bytes in natural order and Σq per block (the
    /// layout of the integer kernels in KernelsAVX2/KernelsAVX512).
    @inline(__always)
    static func q8_0(_ x: UnsafePointer<Float>, _ n: Int, _ q: UnsafeMutablePointer<Int16>, _ d: UnsafeMutablePointer<Float>,
                     _ s: UnsafeMutablePointer<Float>, q8: UnsafeMutablePointer<Int8>? = nil, sums: UnsafeMutablePointer<Int32>? = nil) {
        for b in 0..<(n / 32) {
            let xb = x + 32 * b, qb = q + 32 * b
            let amax = absMax(xb, 32)
            let inv: Float = amax > 0 ? 127 / amax : 0
            let (s0, s1) = group(xb, inv, qb, q8.map { $0 + 32 * b })
            let sum = Int(s0 &+ s1)
            sums?[b] = Int32(sum)
            // As ggml stores them in block_q8_0 / block_q8_1: the scale, and scale · Σq, in fp16.
            let dRaw = amax / 127
            d[b] = Float(Float16(dRaw))
            s[b] = Float(Float16(dRaw * Float(sum)))
        }
    }

    /// Quantizes the 32 elements at `x` to round(x · inv) (nearest, ties to even; |x · inv| ≤ 127),
    /// stores them as Int16 in even/odd slots at `q` and, with `q8`, as bytes in element order;
    /// returns the sums of elements 0..<16 and 16..<32.
    @inline(__always)
    static func group(_ x: UnsafePointer<Float>, _ inv: Float, _ q: UnsafeMutablePointer<Int16>, _ q8: UnsafeMutablePointer<Int8>?) -> (Int32, Int32) {
        #if arch(x86_64)
        if let q8 { return quantizeGroup32(x, inv, q, q8) }
        #endif
        let r = UnsafeRawPointer(x)
        @inline(__always) func quarter(_ k: Int) -> SIMD8<Int32> {
            // Adding 1.5 · 2^23 rounds to an integer (ties to even) in the low mantissa bits.
            let v = r.loadUnaligned(fromByteOffset: 32 &* k, as: SIMD8<Float>.self) * inv + 12_582_912
            return unsafeBitCast(v, to: SIMD8<Int32>.self) &- 0x4B40_0000
        }
        let q0 = quarter(0), q1 = quarter(1), q2 = quarter(2), q3 = quarter(3)
        var e = SIMD16<Int16>(), o = SIMD16<Int16>()
        var v = SIMD32<Int8>()
        for i in 0..<4 {
            e[i] = Int16(truncatingIfNeeded: q0[2 * i]); o[i] = Int16(truncatingIfNeeded: q0[2 * i + 1])
            e[4 + i] = Int16(truncatingIfNeeded: q1[2 * i]); o[4 + i] = Int16(truncatingIfNeeded: q1[2 * i + 1])
            e[8 + i] = Int16(truncatingIfNeeded: q2[2 * i]); o[8 + i] = Int16(truncatingIfNeeded: q2[2 * i + 1])
            e[12 + i] = Int16(truncatingIfNeeded: q3[2 * i]); o[12 + i] = Int16(truncatingIfNeeded: q3[2 * i + 1])
        }
        let w = UnsafeMutableRawPointer(q)
        w.storeBytes(of: e, as: SIMD16<Int16>.self)
        w.storeBytes(of: o, toByteOffset: 32, as: SIMD16<Int16>.self)
        if let q8 {
            for i in 0..<8 {
                v[i] = Int8(truncatingIfNeeded: q0[i]); v[8 + i] = Int8(truncatingIfNeeded: q1[i])
                v[16 + i] = Int8(truncatingIfNeeded: q2[i]); v[24 + i] = Int8(truncatingIfNeeded: q3[i])
            }
            UnsafeMutableRawPointer(q8).storeBytes(of: v, as: SIMD32<Int8>.self)
        }
        return ((q0 &+ q1).wrappedSum(), (q2 &+ q3).wrappedSum())
    }

    /// Super-blocks of 256 as ggml's `quantize_row_q8_K`: scale 1/(127/amax) in fp32 per 256 (even/odd layout per 32-group), plus the
    /// sums of the quants of every group of 32 (mins of Q4_K/Q5_K) and of 16 (Q2_K's mins, Q3_K's and Q6_K's
    /// offsets; Int16, as ggml's `bsums`).
    /// With `q8` also writes the quants as bytes in natural order.
    @inline(__always)
    static func q8K(_ x: UnsafePointer<Float>, _ n: Int, _ q: UnsafeMutablePointer<Int16>, _ d: UnsafeMutablePointer<Float>,
                    _ gsums: UnsafeMutablePointer<Int32>, _ bsums: UnsafeMutablePointer<Int16>, q8: UnsafeMutablePointer<Int8>? = nil) {
        for b in 0..<(n / 256) {
            let xb = x + 256 * b
            let amax = absMax(xb, 256)
            let inv: Float = amax > 0 ? 127 / amax : 0
            d[b] = amax > 0 ? 1 / inv : 0   // ggml's block_q8_K: d = 1/iscale, in fp32
            for g in 0..<8 {
                let (s0, s1) = group(xb + 32 * g, inv, q + 256 * b + 32 * g, q8.map { $0 + 256 * b + 32 * g })
                gsums[8 * b + g] = s0 &+ s1
                bsums[16 * b + 2 * g] = Int16(truncatingIfNeeded: s0)  // |Σ| ≤ 16 · 127: ggml's int16 bsums
                bsums[16 * b + 2 * g + 1] = Int16(truncatingIfNeeded: s1)
            }
        }
    }

    @inline(__always)
    static func absMax(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        let r = UnsafeRawPointer(x)
        var m = SIMD8<Float>()
        for k in 0..<(n / 8) {
            let v = unsafeBitCast(unsafeBitCast(r.loadUnaligned(fromByteOffset: 32 * k, as: SIMD8<Float>.self), to: SIMD8<UInt32>.self) & 0x7fff_ffff,
                                  to: SIMD8<Float>.self)
            m = m.replacing(with: v, where: v .> m)
        }
        // Not `m.max()`: it stayed an unspecialised call here (0.75% of a SmolLM2 decode profile).
        return VectorOps.hmax(m)
    }
}

