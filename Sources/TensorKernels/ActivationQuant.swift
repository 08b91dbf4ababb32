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
            var sum = 0
            for i in 0..<16 {
                let e = Int16((xb[2 * i] * inv).rounded(.toNearestOrEven))
                let o = Int16((xb[2 * i + 1] * inv).rounded(.toNearestOrEven))
                qb[i] = e; qb[16 + i] = o
                sum += Int(e) + Int(o)
            }
            if let q8 { copyBytes(qb, q8 + 32 * b) }
            sums?[b] = Int32(sum)
            // As ggml stores them in block_q8_0 / block_q8_1: the scale, and scale · Σq, in fp16.
            let dRaw = amax / 127
            d[b] = Float(Float16(dRaw))
            s[b] = Float(Float16(dRaw * Float(sum)))
        }
    }

    /// Super-blocks of 256 as ggml's `quantize_row_q8_K`: scale 1/(127/amax) in fp32 per 256 (even/odd layout per 32-group), plus the
    /// sums of the quants of every group of 32 (mins of Q4_K/Q5_K) and of 16 (mins of Q2_K).
    /// With `q8` also writes the quants as bytes in natural order.
    @inline(__always)
    static func q8K(_ x: UnsafePointer<Float>, _ n: Int, _ q: UnsafeMutablePointer<Int16>, _ d: UnsafeMutablePointer<Float>,
                    _ gsums: UnsafeMutablePointer<Int32>, _ bsums: UnsafeMutablePointer<Int32>, q8: UnsafeMutablePointer<Int8>? = nil) {
        for b in 0..<(n / 256) {
            let xb = x + 256 * b
            let amax = absMax(xb, 256)
            let inv: Float = amax > 0 ? 127 / amax : 0
            d[b] = amax > 0 ? 1 / inv : 0   // ggml's block_q8_K: d = 1/iscale, in fp32
            for g in 0..<8 {
                let xg = xb + 32 * g, qg = q + 256 * b + 32 * g
                var s0: Int32 = 0, s1: Int32 = 0
                for i in 0..<16 {
                    let e = Int16((xg[2 * i] * inv).rounded(.toNearestOrEven))
                    let o = Int16((xg[2 * i + 1] * inv).rounded(.toNearestOrEven))
                    qg[i] = e; qg[16 + i] = o
                    if i < 8 { s0 += Int32(e) + Int32(o) } else { s1 += Int32(e) + Int32(o) }
                }
                if let q8 { copyBytes(qg, q8 + 256 * b + 32 * g) }
                gsums[8 * b + g] = s0 + s1
                bsums[16 * b + 2 * g] = s0
                bsums[16 * b + 2 * g + 1] = s1
            }
        }
    }

    /// The 32 quants of a group (even/odd slots) as bytes in element order.
    @inline(__always)
    static func copyBytes(_ q: UnsafePointer<Int16>, _ out: UnsafeMutablePointer<Int8>) {
        let r = UnsafeRawPointer(q)
        let e = SIMD16<Int8>(truncatingIfNeeded: r.loadUnaligned(as: SIMD16<Int16>.self))
        let o = SIMD16<Int8>(truncatingIfNeeded: r.loadUnaligned(fromByteOffset: 32, as: SIMD16<Int16>.self))
        var v = SIMD32<Int8>()
        for i in 0..<16 { v[2 * i] = e[i]; v[2 * i + 1] = o[i] }
        UnsafeMutableRawPointer(out).storeBytes(of: v, as: SIMD32<Int8>.self)
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
        return m.max()
    }
}

