import KernelsAVX2
#if arch(x86_64)
import KernelsAVX512
import KernelsAMX
#endif

/// Q2_K: 256 weights of 2 bits in 16 groups of 16, each with a 4-bit scale and 4-bit min, under fp16
/// super-block scales d and dmin (ggml `block_q2_K`: scales[16], qs[64], d, dmin).
enum Q2_KBlock: KBlock {
    static let traits = FormatTraits(
        kquant: Q2_KBlock.self, name: "q2_K",
        quantize: { x, y, count in forEachBlock(Q2_KBlock.self, count) { Q2_KBlock.quantize(x + $0, y + $1) } },
        quantizeWeighted: { x, y, count, qw in forEachBlock(Q2_KBlock.self, count) { Q2_KBlock.quantizeWeighted(x + $0, qw + $0, y + $1) } },
        floatTiles: false, // Kernels.decodeFloatsK does not handle its mins
        kernels: kernels,
        // d and dmin, the two scale words, the eight quant words (KernelsAVX512/CrumbRows8_512.swift).
        rows8Pieces: [Rows8Piece(offset: 80, bytes: 2), Rows8Piece(offset: 82, bytes: 2)]
            + stride(from: 0, to: 80, by: 8).map { Rows8Piece(offset: $0, bytes: 8) })
    #if arch(x86_64)
    private static let kernels = FormatTraits.LevelKernels(avx2: AVX2.q2_K, avx512: AVX512.q2_K,
                                                           avx2Rows8: AVX2.q2_KRows8, avx512Rows8: AVX512.q2_KRows8,
                                                           amxRows8: AMXKernels.q2_KRows8)
    #else
    private static let kernels = FormatTraits.LevelKernels()
    #endif

    // MARK: Portable 8-bit decoding (`KBlock`)

    static var bytes: Int { 84 }
    static var hasMins: Bool { true }
    @inline(__always) static func groups(_ p: UnsafeRawPointer, _ group: (Int, SIMD16<Int16>, SIMD16<Int16>, Int32, Int32) -> Void) {
        let sc = p.assumingMemoryBound(to: UInt8.self)
        @inline(__always) func emit(_ n: Int, _ j4: Int, _ v: SIMD16<UInt16>) {
            let (e, o) = twoBits(v, UInt16(truncatingIfNeeded: j4))
            let g = 4 &* n &+ j4
            group(g, asInt16(e), asInt16(o), Int32(sc[2 &* g] & 0xF), Int32(sc[2 &* g &+ 1] & 0xF))
        }
        @inline(__always) func half(_ n: Int) {
            let v = p.loadUnaligned(fromByteOffset: 16 &+ 32 &* n, as: SIMD16<UInt16>.self)
            emit(n, 0, v); emit(n, 1, v); emit(n, 2, v); emit(n, 3, v)
        }
        half(0)
        half(1)
    }
    @inline(__always) static func scales(_ p: UnsafeRawPointer) -> (Float, Float) { (loadHalf(p, 80), loadHalf(p, 82)) }
    @inline(__always) static func minTerms(_ p: UnsafeRawPointer, _ gsums: UnsafePointer<Int32>, _ bsums: UnsafePointer<Int16>) -> SIMD8<Int32> {
        // Mins are the high nibbles of the 16 scale bytes.
        let w = p.loadUnaligned(as: SIMD4<UInt32>.self)
        let m0 = unsafeBitCast(spreadBytes(w[0], w[1], shift: 4) & 0xF, to: SIMD8<Int32>.self)
        let m1 = unsafeBitCast(spreadBytes(w[2], w[3], shift: 4) & 0xF, to: SIMD8<Int32>.self)
        let b = UnsafeRawPointer(bsums)
        return m0 &* SIMD8<Int32>(truncatingIfNeeded: b.loadUnaligned(as: SIMD8<Int16>.self))
            &+ m1 &* SIMD8<Int32>(truncatingIfNeeded: b.loadUnaligned(fromByteOffset: 16, as: SIMD8<Int16>.self))
    }

    // MARK: Floats

    /// One block to floats (ggml `dequantize_row_q2_K`).
    static func dequantize(_ b: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let scales = b.assumingMemoryBound(to: UInt8.self)
        let d = loadHalf(b, 80), dmin = loadHalf(b, 82)
        var y = out
        var q = (b + 16).assumingMemoryBound(to: UInt8.self)
        var isc = 0
        for _ in 0..<2 {
            var shift: UInt8 = 0
            for _ in 0..<4 {
                for half in 0..<2 {
                    let sc = scales[isc]; isc += 1
                    let dl = d * Float(sc & 0xF), ml = dmin * Float(sc >> 4)
                    for l in 0..<16 { y[l] = dl * Float((q[l + 16 * half] >> shift) & 3) - ml }
                    y += 16
                }
                shift += 2
            }
            q += 32
        }
    }

    // MARK: Quantization

    /// One super-block from floats (ggml `quantize_row_q2_K_ref`).
    static func quantize(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        withScratch { L, Laux, weights, scales, mins in
            let sc = y.assumingMemoryBound(to: UInt8.self)
            let q4scale: Float = 15
            var maxScale: Float = 0, maxMin: Float = 0
            for j in 0..<16 {
                for l in 0..<16 { weights[l] = abs(x[16 * j + l]) }
                scales[j] = makeQkxQuants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5, 0.1, 15, true)
                if scales[j] > maxScale { maxScale = scales[j] }
                if mins[j] > maxMin { maxMin = mins[j] }
            }
            if maxScale > 0 {
                let iscale = q4scale / maxScale
                for j in 0..<16 { sc[j] = UInt8(truncatingIfNeeded: nearestInt(iscale * scales[j])) }
                storeHalf(maxScale / q4scale, y, 80)
            } else {
                for j in 0..<16 { sc[j] = 0 }
                storeHalf(0, y, 80)
            }
            if maxMin > 0 {
                let iscale = q4scale / maxMin
                for j in 0..<16 { sc[j] |= UInt8(truncatingIfNeeded: nearestInt(iscale * mins[j]) << 4) }
                storeHalf(maxMin / q4scale, y, 82)
            } else {
                storeHalf(0, y, 82)
            }
            requantize(x, y, L)
        }
    }

    /// One super-block from floats weighted by `qw` (ggml `quantize_row_q2_K_impl`).
    static func quantizeWeighted(_ x: UnsafePointer<Float>, _ qw: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        withScratch { L, Laux, weight, scales, mins in
            withScratch { Ls, Lm, sw, _, _ in
                var sumx2: Float = 0
                for j in 0..<256 { sumx2 += x[j] * x[j] }
                let sigma2 = sumx2 / 256
                for j in 0..<16 {
                    sw[j] = importanceWeights(x + 16 * j, qw + 16 * j, 16, sigma2, into: weight)
                    scales[j] = makeQkxQuants(16, 3, x + 16 * j, weight, L + 16 * j, &mins[j], Laux, -0.9, 0.05, 36, false)
                }
                let dm = makeQpQuants(16, 15, scales, Ls, sw)
                let mm = makeQpQuants(16, 15, mins, Lm, sw)
                storeHalf(dm, y, 80)
                storeHalf(mm, y, 82)
                let sc = y.assumingMemoryBound(to: UInt8.self)
                for j in 0..<16 { sc[j] = Ls[j] | (Lm[j] << 4) }
                requantize(x, y, L)
            }
        }
    }

    /// Final Q2_K pass: re-derives every quant from the stored (rounded) scales and packs them.
    static func requantize(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, _ L: UnsafeMutablePointer<UInt8>) {
        let sc = y.assumingMemoryBound(to: UInt8.self)
        let dAll = loadHalf(y, 80), mAll = loadHalf(y, 82)
        for j in 0..<16 {
            let d = dAll * Float(sc[j] & 0xF)
            if d == 0 { continue }
            let dm = mAll * Float(sc[j] >> 4)
            for ii in 0..<16 {
                let l = nearestInt((x[16 * j + ii] + dm) / d)
                L[16 * j + ii] = UInt8(Swift.max(0, Swift.min(3, l)))
            }
        }
        pack2Bit(L, (y + 16).assumingMemoryBound(to: UInt8.self))
    }
}
