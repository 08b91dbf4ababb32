import KernelsAVX2
#if arch(x86_64)
import KernelsAVX512
import KernelsGFNI
import KernelsAMX
#endif

/// Q3_K: 256 weights of 3 bits (2 low bits in qs, the third in hmask) in 16 groups of 16 with signed
/// 6-bit scales under one fp16 scale d (ggml `block_q3_K`: hmask[32], qs[64], scales[12], d).
enum Q3_KBlock: KBlock {
    static let traits = FormatTraits(
        kquant: Q3_KBlock.self, name: "q3_K",
        quantize: { x, y, count in forEachBlock(Q3_KBlock.self, count) { Q3_KBlock.quantize(x + $0, y + $1) } },
        quantizeWeighted: { x, y, count, qw in forEachBlock(Q3_KBlock.self, count) { Q3_KBlock.quantizeWeighted(x + $0, qw + $0, y + $1) } },
        kernels: kernels,
        // d, the scale bytes 8-11 and 0-7, the four high-bit words, the eight quant words
        // (KernelsAVX512/CrumbRows8_512.swift).
        rows8Pieces: [Rows8Piece(offset: 108, bytes: 2), Rows8Piece(offset: 104, bytes: 4), Rows8Piece(offset: 96, bytes: 8)]
            + stride(from: 0, to: 96, by: 8).map { Rows8Piece(offset: $0, bytes: 8) },
        rows8Bits: Rows8Bits(offsets: Array(stride(from: 0, to: 96, by: 8)), pack: Q3_KBits.pack, unpack: Q3_KBits.unpack))
    #if arch(x86_64)
    private static let kernels = FormatTraits.LevelKernels(avx2: AVX2.q3_K, avx512: AVX512.q3_K,
                                                           avx2Rows8: AVX2.q3_KRows8, avx512Rows8: AVX512.q3_KRows8,
                                                           gfniRows8: GFNI.q3_KRows8, amxRows8: AMXKernels.q3_KRows8)
    #else
    private static let kernels = FormatTraits.LevelKernels()
    #endif

    // MARK: Portable 8-bit decoding (`KBlock`)

    static var bytes: Int { 110 }
    static var hasMins: Bool { false }
    @inline(__always) static func groups(_ p: UnsafeRawPointer, _ group: (Int, SIMD16<Int16>, SIMD16<Int16>, Int32, Int32) -> Void) {
        let sc = (p + 96).assumingMemoryBound(to: UInt8.self)
        let hm = p.loadUnaligned(as: SIMD16<UInt16>.self)
        let four = SIMD16<UInt16>(repeating: 4)
        @inline(__always) func emit(_ n: Int, _ j4: Int, _ v: SIMD16<UInt16>) {
            let (le, lo) = twoBits(v, UInt16(truncatingIfNeeded: j4))
            let bit = UInt16(truncatingIfNeeded: 4 &* n &+ j4)
            // High bit set: value = low bits; clear: low bits - 4.
            let e = asInt16(le | (((hm &>> bit) & 1) &<< 2)) &- asInt16(four)
            let o = asInt16(lo | (((hm &>> (bit &+ 8)) & 1) &<< 2)) &- asInt16(four)
            let g = 4 &* n &+ j4
            group(g, e, o, Int32(q3KScale(2 &* g, sc)), Int32(q3KScale(2 &* g &+ 1, sc)))
        }
        @inline(__always) func half(_ n: Int) {
            let v = p.loadUnaligned(fromByteOffset: 32 &+ 32 &* n, as: SIMD16<UInt16>.self)
            emit(n, 0, v); emit(n, 1, v); emit(n, 2, v); emit(n, 3, v)
        }
        half(0)
        half(1)
    }
    @inline(__always) static func scales(_ p: UnsafeRawPointer) -> (Float, Float) { (loadHalf(p, 108), 0) }
    @inline(__always) static func minTerms(_ p: UnsafeRawPointer, _ gsums: UnsafePointer<Int32>, _ bsums: UnsafePointer<Int16>) -> SIMD8<Int32> { SIMD8() }

    // MARK: Floats

    /// One block to floats (ggml `dequantize_row_q3_K`).
    static func dequantize(_ b: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let hm = b.assumingMemoryBound(to: UInt8.self)
        var q = (b + 32).assumingMemoryBound(to: UInt8.self)
        let sc = (b + 96).assumingMemoryBound(to: UInt8.self)
        let d = loadHalf(b, 108)
        var y = out
        var isc = 0
        var m: UInt8 = 1
        for _ in 0..<2 {
            var shift: UInt8 = 0
            for _ in 0..<4 {
                for half in 0..<2 {
                    let dl = d * Float(q3KScale(isc, sc)); isc += 1
                    for l in 0..<16 {
                        let k = l + 16 * half
                        let v = Int((q[k] >> shift) & 3) - ((hm[k] & m) != 0 ? 0 : 4)
                        y[l] = dl * Float(v)
                    }
                    y += 16
                }
                shift += 2
                m <<= 1
            }
            q += 32
        }
    }

    // MARK: Quantization

    /// One super-block from floats (ggml `quantize_row_q3_K_ref`).
    static func quantize(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        withScratch { Lu, _, _, scales, _ in
            let L = UnsafeMutableRawPointer(Lu).assumingMemoryBound(to: Int8.self)
            let sc = (y + 96).assumingMemoryBound(to: UInt8.self)
            var maxScale: Float = 0, amax: Float = 0
            for j in 0..<16 {
                scales[j] = makeQ3Quants(16, 4, x + 16 * j, L + 16 * j)
                let s = abs(scales[j])
                if s > amax { amax = s; maxScale = scales[j] }
            }
            for j in 0..<12 { sc[j] = 0 }
            if maxScale != 0 {
                let iscale = -32 / maxScale
                for j in 0..<16 {
                    var l = Int(Int8(truncatingIfNeeded: nearestInt(iscale * scales[j])))
                    l = Swift.max(-32, Swift.min(31, l)) + 32
                    packQ3Scale(j, l, sc)
                }
                storeHalf(1 / iscale, y, 108)
            } else {
                storeHalf(0, y, 108)
            }
            finish(x, y, L)
        }
    }

    /// One super-block from floats weighted by `qw` (ggml `quantize_row_q3_K_impl`).
    static func quantizeWeighted(_ x: UnsafePointer<Float>, _ qw: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        withScratch { Lu, Lsu, weight, scales, sw in
            let L = UnsafeMutableRawPointer(Lu).assumingMemoryBound(to: Int8.self)
            let Ls = UnsafeMutableRawPointer(Lsu).assumingMemoryBound(to: Int8.self)
            var sumx2: Float = 0
            for j in 0..<256 { sumx2 += x[j] * x[j] }
            let sigma2 = 2 * sumx2 / 256
            for j in 0..<16 {
                sw[j] = importanceWeights(x + 16 * j, qw + 16 * j, 16, sigma2, into: weight)
                scales[j] = makeQxQuants(16, 4, x + 16 * j, L + 16 * j, weight)
            }
            let sc = (y + 96).assumingMemoryBound(to: UInt8.self)
            for j in 0..<12 { sc[j] = 0 }
            let dBlock = makeQxQuants(16, 32, scales, Ls, sw)
            for j in 0..<16 { packQ3Scale(j, Int(Ls[j]), sc) }
            storeHalf(dBlock, y, 108)
            finish(x, y, L)
        }
    }

    /// Stores 6-bit scale `l` (0..<64) of sub-block `j` into the 12 Q3_K scale bytes.
    @inline(__always)
    static func packQ3Scale(_ j: Int, _ l: Int, _ sc: UnsafeMutablePointer<UInt8>) {
        if j < 8 {
            sc[j] = UInt8(l & 0xF)
        } else {
            sc[j - 8] |= UInt8((l & 0xF) << 4)
        }
        sc[j % 4 + 8] |= UInt8(truncatingIfNeeded: (l >> 4) << (2 * (j / 4)))
    }

    static func finish(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, _ L: UnsafeMutablePointer<Int8>) {
        let sc = (y + 96).assumingMemoryBound(to: UInt8.self)
        let dAll = loadHalf(y, 108)
        for j in 0..<16 {
            let d = dAll * Float(q3KScale(j, sc))
            if d == 0 { continue }
            for ii in 0..<16 {
                let l = nearestInt(x[16 * j + ii] / d)
                L[16 * j + ii] = Int8(Swift.max(-4, Swift.min(3, l)) + 4)
            }
        }
        let hmask = y.assumingMemoryBound(to: UInt8.self)
        for j in 0..<32 { hmask[j] = 0 }
        var m = 0
        var hm: UInt8 = 1
        for j in 0..<256 {
            if L[j] > 3 {
                hmask[m] |= hm
                L[j] -= 4
            }
            m += 1
            if m == 32 { m = 0; hm <<= 1 }
        }
        UnsafeMutableRawPointer(L).withMemoryRebound(to: UInt8.self, capacity: 256) {
            pack2Bit($0, (y + 32).assumingMemoryBound(to: UInt8.self))
        }
    }
}

/// Unpacks the sixteen signed 6-bit scales of a Q3_K block (12 bytes at `q`), already minus 32.
@inline(__always)
func q3KScale(_ j: Int, _ q: UnsafePointer<UInt8>) -> Int8 {
    let low = j < 8 ? q[j] & 0xF : q[j - 8] >> 4
    let high = (q[8 + j % 4] >> UInt8(2 * (j / 4))) & 3
    return Int8(bitPattern: low | (high << 4)) &- 32
}

/// Q3_K's 3-bit values in the `rows8` layout, recoded so that a kernel takes most of an operand with one mask.
///
/// The generic layout (`Repack`) puts the four high-bit words and the eight quant words of the GGUF block (96
/// bytes) side by side for the eight rows: 12 words of 64 bytes at offset 112 of the group's super-block, row r's
/// qword at 8r, byte i of a qword holding byte 8k + i of the row's block. Every byte of them serves elements 8u + i
/// (u = 0..<32) of its row only, so the 12 bytes of lane i of row r are recoded on their own (a bijection):
/// element 8u + i has the 3-bit value v = crumb + 4 · high (the unsigned quant, q + 4), sixteen t = u / 2, half
/// h = u % 2. Triple g (words 3g, 3g + 1, 3g + 2) holds sixteens k, k + 1, k + 2 and k + 3 with k = 8 (g / 2) + 4
/// (g % 2):
/// - word 3g (A): bits 0-1 the crumb of (k + 3, h 0), bits 2-4 v of (k, 0), bits 5-7 v of (k, 1);
/// - word 3g + 1 (B): bits 0-1 the crumb of (k + 3, 1), bits 2-4 and 5-7 v of (k + 1, 0) and (k + 1, 1);
/// - word 3g + 2 (C): bit 0 the high bit of (k + 3, 0), bit 1 that of (k + 3, 1), bits 2-4 and 5-7 v of (k + 2, 0)
///   and (k + 2, 1).
/// So an operand of sixteens k to k + 2 is one mask (4 v, bits 2-4), or a shift by 3 and a mask, and one of
/// sixteen k + 3 a mask of A or B with C's bit shifted to bit 2 or'ed in (v): 1.9 vector ops an operand on
/// AVX-512, 2.1 on AVX2, where the GGUF bits took 2.9 and 4.2 (each crumb masked, its high bit shifted to it and
/// or'ed in). Sixteens k and k + 4 of a half pair up in the kernels (KernelsAVX512/CrumbRows8_512.swift).
enum Q3_KBits {
    /// Where the 12 words lie in the group's super-block (the kernels' `Q3_KFormat.quantsAt`).
    static let at = 112

    /// Value u (element 8u + i in byte i) of a row's eight lanes from its GGUF-order qwords `q` (high-bit words 0-3,
    /// quant words 4-11): the crumb or'ed with the high bit as 4, a byte each.
    @inline(__always)
    private static func value(gguf q: (Int) -> UInt64, _ u: Int) -> UInt64 {
        let high = (q(u % 4) &>> UInt64(u / 4)) & byteLanes(1)
        return ((q(4 + 4 * (u / 16) + u % 4) &>> UInt64(2 * ((u % 16) / 4))) & byteLanes(3)) | high &<< 2
    }

    /// The group's super-block at `p`, its 12 words in the generic layout, recoded in place (a row's eight lanes at
    /// once, in its qwords).
    static func pack(_ p: UnsafeMutableRawPointer) {
        for r in 0..<8 {
            let row = p + (at &+ 8 &* r)
            var q = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
            withUnsafeMutableBytes(of: &q) { b in
                for k in 0..<12 { b.storeBytes(of: row.load(fromByteOffset: 64 &* k, as: UInt64.self), toByteOffset: 8 &* k, as: UInt64.self) }
                @inline(__always) func v(_ u: Int) -> UInt64 { value(gguf: { b.load(fromByteOffset: 8 &* $0, as: UInt64.self) }, u) }
                for g in 0..<4 {
                    let k = 8 * (g / 2) + 4 * (g % 2)
                    @inline(__always) func pair(_ t: Int) -> UInt64 { v(2 * t) &<< 2 | v(2 * t + 1) &<< 5 }
                    let d0 = v(2 * (k + 3)), d1 = v(2 * (k + 3) + 1)
                    let a = (d0 & byteLanes(3)) | pair(k), bb = (d1 & byteLanes(3)) | pair(k + 1)
                    let c = ((d0 &>> 2) & byteLanes(1)) | ((d1 &>> 2) & byteLanes(1)) &<< 1 | pair(k + 2)
                    row.storeBytes(of: a, toByteOffset: 64 &* (3 &* g), as: UInt64.self)
                    row.storeBytes(of: bb, toByteOffset: 64 &* (3 &* g &+ 1), as: UInt64.self)
                    row.storeBytes(of: c, toByteOffset: 64 &* (3 &* g &+ 2), as: UInt64.self)
                }
            }
        }
    }

    /// `rows` of the recoded super-block at `p` back in GGUF order: their qwords of the 12 words (high-bit words 0-3,
    /// quant words 4-11, row r's qword at 8r) written to `out` (768 bytes).
    static func unpack(_ p: UnsafeRawPointer, rows: Range<Int>, into out: UnsafeMutableRawPointer) {
        for r in rows {
            let row = p + (at &+ 8 &* r), dst = out + 8 &* r
            @inline(__always) func w(_ k: Int) -> UInt64 { row.load(fromByteOffset: 64 &* k, as: UInt64.self) }
            var q = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
            withUnsafeMutableBytes(of: &q) { b in
                @inline(__always) func add(_ k: Int, _ bits: UInt64) {
                    b.storeBytes(of: b.load(fromByteOffset: 8 &* k, as: UInt64.self) | bits, toByteOffset: 8 &* k, as: UInt64.self)
                }
                /// Value u into its high-bit and quant words.
                @inline(__always) func put(_ u: Int, _ v: UInt64) {
                    add(u % 4, ((v &>> 2) & byteLanes(1)) &<< UInt64(u / 4))
                    add(4 + 4 * (u / 16) + u % 4, (v & byteLanes(3)) &<< UInt64(2 * ((u % 16) / 4)))
                }
                for g in 0..<4 {
                    let k = 8 * (g / 2) + 4 * (g % 2)
                    let a = w(3 * g), bb = w(3 * g + 1), c = w(3 * g + 2)
                    @inline(__always) func both(_ t: Int, _ x: UInt64) { put(2 * t, (x &>> 2) & byteLanes(7)); put(2 * t + 1, (x &>> 5) & byteLanes(7)) }
                    both(k, a); both(k + 1, bb); both(k + 2, c)
                    put(2 * (k + 3), (a & byteLanes(3)) | (c & byteLanes(1)) &<< 2)
                    put(2 * (k + 3) + 1, (bb & byteLanes(3)) | (c & byteLanes(2)) &<< 1)
                }
                for k in 0..<12 { dst.storeBytes(of: b.load(fromByteOffset: 8 &* k, as: UInt64.self), toByteOffset: 64 &* k, as: UInt64.self) }
            }
        }
    }
}
