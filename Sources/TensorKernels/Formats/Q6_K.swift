import KernelsAVX2
#if arch(x86_64)
import KernelsAVX512
import KernelsAMX
#endif

/// Q6_K: 256 weights of 6 bits (4 in ql, 2 in qh) in 16 groups of 16 with signed 8-bit scales under
/// one fp16 scale d (ggml `block_q6_K`: ql[128], qh[64], scales[16], d).
enum Q6_KBlock: KBlock {
    static let traits = FormatTraits(
        kquant: Q6_KBlock.self, name: "q6_K",
        quantize: { x, y, count in forEachBlock(Q6_KBlock.self, count) { Q6_KBlock.quantize(x + $0, nil, y + $1) } },
        quantizeWeighted: { x, y, count, qw in forEachBlock(Q6_KBlock.self, count) { Q6_KBlock.quantize(x + $0, qw + $0, y + $1) } },
        kernels: kernels,
        rows8Pieces: rows8Pieces)
    /// d, the two scale words, then per half n and unit h the qh words 2h, 2h + 1 and the ql words 2h, 2h + 1,
    /// 2h + 4, 2h + 5: the order the AVX-512 kernel reads them (KernelsAVX512/Q6KRows8_512.swift).
    private static var rows8Pieces: [Rows8Piece] {
        var offsets: [Int] = []
        for n in 0..<2 {
            for h in 0..<2 {
                let qh = 128 + 32 * n + 16 * h, ql = 64 * n + 16 * h
                offsets += [qh, qh + 8, ql, ql + 8, ql + 32, ql + 40]
            }
        }
        return [Rows8Piece(offset: 208, bytes: 2), Rows8Piece(offset: 192, bytes: 8), Rows8Piece(offset: 200, bytes: 8)]
            + offsets.map { Rows8Piece(offset: $0, bytes: 8) }
    }
    #if arch(x86_64)
    private static let kernels = FormatTraits.LevelKernels(avx2: AVX2.q6_K, avx512: AVX512.q6_K,
                                                           avx2Rows8: AVX2.q6_KRows8, avx512Rows8: AVX512.q6_KRows8,
                                                           amxRows8: AMXKernels.q6_KRows8)
    #else
    private static let kernels = FormatTraits.LevelKernels()
    #endif

    // MARK: Portable 8-bit decoding (`KBlock`)

    static var bytes: Int { 210 }
    static var hasMins: Bool { false }
    @inline(__always) static func groups(_ p: UnsafeRawPointer, _ group: (Int, SIMD16<Int16>, SIMD16<Int16>, Int32, Int32) -> Void) {
        let sc = (p + 192).assumingMemoryBound(to: Int8.self)
        let bias = SIMD16<Int16>(repeating: 32)
        // Written out so every shift is a constant.
        @inline(__always) func emit(_ g: Int, _ v: SIMD16<UInt16>, _ h: SIMD16<UInt16>, _ ns: UInt16, _ hs: UInt16) {
            let e = ((v &>> ns) & 0xF) | (((h &>> hs) & 3) &<< 4)
            let o = ((v &>> (ns &+ 8)) & 0xF) | (((h &>> (hs &+ 8)) & 3) &<< 4)
            group(g, asInt16(e) &- bias, asInt16(o) &- bias, Int32(sc[2 &* g]), Int32(sc[2 &* g &+ 1]))
        }
        @inline(__always) func half(_ n: Int) {
            let h = p.loadUnaligned(fromByteOffset: 128 &+ 32 &* n, as: SIMD16<UInt16>.self)
            let l01 = p.loadUnaligned(fromByteOffset: 64 &* n, as: SIMD16<UInt16>.self)
            let l23 = p.loadUnaligned(fromByteOffset: 64 &* n &+ 32, as: SIMD16<UInt16>.self)
            emit(4 &* n, l01, h, 0, 0)
            emit(4 &* n &+ 1, l23, h, 0, 2)
            emit(4 &* n &+ 2, l01, h, 4, 4)
            emit(4 &* n &+ 3, l23, h, 4, 6)
        }
        half(0)
        half(1)
    }
    @inline(__always) static func scales(_ p: UnsafeRawPointer) -> (Float, Float) { (loadHalf(p, 208), 0) }
    @inline(__always) static func minTerms(_ p: UnsafeRawPointer, _ gsums: UnsafePointer<Int32>, _ bsums: UnsafePointer<Int16>) -> SIMD8<Int32> { SIMD8() }

    // MARK: Floats

    /// One block to floats (ggml `dequantize_row_q6_K`).
    static func dequantize(_ b: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        var ql = b.assumingMemoryBound(to: UInt8.self)
        var qh = (b + 128).assumingMemoryBound(to: UInt8.self)
        var sc = (b + 192).assumingMemoryBound(to: Int8.self)
        let d = loadHalf(b, 208)
        var y = out
        for _ in 0..<2 {
            for l in 0..<32 {
                let isc = l / 16
                let q1 = Int((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32
                let q2 = Int((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32
                let q3 = Int((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32
                let q4 = Int((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32
                y[l] = d * Float(sc[isc]) * Float(q1)
                y[l + 32] = d * Float(sc[isc + 2]) * Float(q2)
                y[l + 64] = d * Float(sc[isc + 4]) * Float(q3)
                y[l + 96] = d * Float(sc[isc + 6]) * Float(q4)
            }
            y += 128; ql += 64; qh += 32; sc += 8
        }
    }

    // MARK: Quantization

    /// One super-block from floats, weighted by `qw` when given (ggml `quantize_row_q6_K_ref` / `_impl`).
    static func quantize(_ x: UnsafePointer<Float>, _ qw: UnsafePointer<Float>?, _ y: UnsafeMutableRawPointer) {
        withScratch { Lu, _, _, scales, _ in
            let L = UnsafeMutableRawPointer(Lu).assumingMemoryBound(to: Int8.self)
            var maxScale: Float = 0, maxAbsScale: Float = 0
            for ib in 0..<16 {
                let s = makeQxQuants(16, 32, x + 16 * ib, L + 16 * ib, qw.map { $0 + 16 * ib })
                scales[ib] = s
                if abs(s) > maxAbsScale { maxAbsScale = abs(s); maxScale = s }
            }
            if maxAbsScale < groupMaxEps {
                y.initializeMemory(as: UInt8.self, repeating: 0, count: 210)
                return
            }
            let iscale = -128 / maxScale
            storeHalf(1 / iscale, y, 208)
            let sc = (y + 192).assumingMemoryBound(to: Int8.self)
            for ib in 0..<16 { sc[ib] = Int8(truncatingIfNeeded: Swift.min(127, nearestInt(iscale * scales[ib]))) }
            let dAll = loadHalf(y, 208)
            for j in 0..<16 {
                let d = dAll * Float(sc[j])
                if d == 0 { continue }
                for ii in 0..<16 {
                    let l = nearestInt(x[16 * j + ii] / d)
                    L[16 * j + ii] = Int8(Swift.max(-32, Swift.min(31, l)) + 32)
                }
            }
            var ql = y.assumingMemoryBound(to: UInt8.self)
            var qh = (y + 128).assumingMemoryBound(to: UInt8.self)
            let Lb = UnsafeMutableRawPointer(L).assumingMemoryBound(to: UInt8.self)
            for j in stride(from: 0, to: 256, by: 128) {
                for l in 0..<32 {
                    let q1 = Lb[j + l] & 0xF, q2 = Lb[j + l + 32] & 0xF
                    let q3 = Lb[j + l + 64] & 0xF, q4 = Lb[j + l + 96] & 0xF
                    ql[l] = q1 | (q3 << 4)
                    ql[l + 32] = q2 | (q4 << 4)
                    qh[l] = (Lb[j + l] >> 4) | ((Lb[j + l + 32] >> 4) << 2) | ((Lb[j + l + 64] >> 4) << 4) | ((Lb[j + l + 96] >> 4) << 6)
                }
                ql += 64; qh += 32
            }
        }
    }
}
