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
        rows8Pieces: rows8Pieces,
        rows8Bits: Rows8Bits(offsets: rows8Words, pack: Q6_KBits.pack, unpack: Q6_KBits.unpack))
    /// d, the two scale words, then per half n and unit h the qh words 2h, 2h + 1 and the ql words 2h, 2h + 1,
    /// 2h + 4, 2h + 5, recoded after they are gathered (`Q6_KBits`) into four units of six words that the kernels
    /// read in order (KernelsAVX512/Q6KRows8_512.swift).
    private static var rows8Pieces: [Rows8Piece] {
        [Rows8Piece(offset: 208, bytes: 2), Rows8Piece(offset: 192, bytes: 8), Rows8Piece(offset: 200, bytes: 8)]
            + rows8Words.map { Rows8Piece(offset: $0, bytes: 8) }
    }
    /// The GGUF offsets of the 24 quant words in the order the layout gathers them (then recoded: `Q6_KBits`).
    private static var rows8Words: [Int] {
        var offsets: [Int] = []
        for n in 0..<2 {
            for h in 0..<2 {
                let qh = 128 + 32 * n + 16 * h, ql = 64 * n + 16 * h
                offsets += [qh, qh + 8, ql, ql + 8, ql + 32, ql + 40]
            }
        }
        return offsets
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

/// Q6_K's 6-bit values in the `rows8` layout, recoded so that a kernel takes three of every four operands with one
/// mask.
///
/// The generic layout (`Repack`) gathers the 24 quant words of the GGUF block (ql and qh) side by side for the eight
/// rows, per half n and unit h the qh words 2h, 2h + 1 and the ql words 2h, 2h + 1, 2h + 4, 2h + 5 of the half: 24
/// words of 64 bytes at offset 144 of the group's super-block, row r's qword at 8r. Byte i of a row's qwords serves
/// its elements 8u + i (u = 0..<32) only, so each lane's 24 bytes are recoded on their own (a bijection) from the
/// 32 values q (0-63; ggml's quant + 32; sixteen t = u / 2, half w = u % 2). Unit m (words 6m ..< 6m + 6) holds
/// sixteens 4m ..< 4m + 4: word 6m + k has in bits 0-5 the value of u = 8m + k (k < 6: sixteens 4m, 4m + 1, 4m + 2,
/// both halves), and in bits 6-7 two bits of the unit's last sixteen: words 6m, 6m + 1, 6m + 2 bits 0-1, 2-3, 4-5 of
/// u = 8m + 6, words 6m + 3 ... 6m + 5 those of u = 8m + 7. So six of a unit's eight operands are one mask, the other
/// two three shifts, masks and ors (AVX2 about 2.75 operations an operand where the GGUF bits took 4.25).
enum Q6_KBits {
    /// Where the 24 words lie in the group's super-block (the kernels' `Q6_KFormat.unitsAt`).
    static let at = 144

    /// The gathered index of ql word `w` (0..<8) and qh word `w` (0..<4) of half `n`.
    @inline(__always) private static func qlWord(_ n: Int, _ w: Int) -> Int { 12 * n + 6 * ((w % 4) / 2) + 2 + w % 2 + (w >= 4 ? 2 : 0) }
    @inline(__always) private static func qhWord(_ n: Int, _ w: Int) -> Int { 12 * n + 6 * (w / 2) + w % 2 }

    /// Value u (element 8u + i in byte i) of a row's eight lanes from its gathered qwords `q` (ggml: the low four
    /// bits from ql byte l or l + 32 of the half, low or high nibble, the top two from bits 2 (quarter) of qh byte l).
    @inline(__always)
    private static func value(_ q: (Int) -> UInt64, _ u: Int) -> UInt64 {
        let n = u / 16, quarter = (u % 16) / 4, w = u % 4
        let low = (q(qlWord(n, (quarter % 2 == 0 ? 0 : 4) + w)) &>> UInt64(quarter < 2 ? 0 : 4)) & byteLanes(0xF)
        let top = (q(qhWord(n, w)) &>> UInt64(2 * quarter)) & byteLanes(3)
        return low | top &<< 4
    }

    /// The group's super-block at `p`, its 24 words as gathered, recoded in place (a row's eight lanes at once).
    static func pack(_ p: UnsafeMutableRawPointer) {
        for r in 0..<8 {
            let row = p + (at &+ 8 &* r)
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 24) { g in
                for k in 0..<24 { g[k] = row.load(fromByteOffset: 64 &* k, as: UInt64.self) }
                @inline(__always) func v(_ u: Int) -> UInt64 { value({ g[$0] }, u) }
                for m in 0..<4 {
                    let s0 = v(8 * m + 6), s1 = v(8 * m + 7)
                    for k in 0..<6 {
                        let s = k < 3 ? s0 : s1, part = (s &>> UInt64(2 * (k % 3))) & byteLanes(3)
                        row.storeBytes(of: v(8 * m + k) | part &<< 6, toByteOffset: 64 &* (6 &* m &+ k), as: UInt64.self)
                    }
                }
            }
        }
    }

    /// `rows` of the recoded super-block at `p` back as gathered: their qwords of the 24 words (row r's at 8r) written
    /// to `out` (1536 bytes).
    static func unpack(_ p: UnsafeRawPointer, rows: Range<Int>, into out: UnsafeMutableRawPointer) {
        for r in rows {
            let row = p + (at &+ 8 &* r), dst = out + 8 &* r
            @inline(__always) func word(_ k: Int) -> UInt64 { row.load(fromByteOffset: 64 &* k, as: UInt64.self) }
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 24) { g in
                for k in 0..<24 { g[k] = 0 }
                for m in 0..<4 {
                    @inline(__always) func split(_ k: Int) -> UInt64 {
                        var s: UInt64 = 0
                        for j in 0..<3 { s |= ((word(6 * m + k + j) &>> 6) & byteLanes(3)) &<< UInt64(2 * j) }
                        return s
                    }
                    @inline(__always) func put(_ u: Int, _ v: UInt64) {
                        let n = u / 16, quarter = (u % 16) / 4, w = u % 4
                        g[qlWord(n, (quarter % 2 == 0 ? 0 : 4) + w)] |= (v & byteLanes(0xF)) &<< UInt64(quarter < 2 ? 0 : 4)
                        g[qhWord(n, w)] |= ((v &>> 4) & byteLanes(3)) &<< UInt64(2 * quarter)
                    }
                    for k in 0..<6 { put(8 * m + k, word(6 * m + k) & byteLanes(0x3F)) }
                    put(8 * m + 6, split(0))
                    put(8 * m + 7, split(3))
                }
                for k in 0..<24 { dst.storeBytes(of: g[k], toByteOffset: 64 &* k, as: UInt64.self) }
            }
        }
    }
}
