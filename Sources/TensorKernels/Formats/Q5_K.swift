import KernelsAVX2
#if arch(x86_64)
import KernelsAVX512
import KernelsAMX
#endif

/// Q5_K: Q4_K's layout with a fifth bit per weight in qh (ggml `block_q5_K`: d, dmin, scales[12],
/// qh[32], qs[128]).
enum Q5_KBlock: KBlock {
    static let traits = FormatTraits(
        kquant: Q5_KBlock.self, name: "q5_K",
        quantize: { x, y, count in forEachBlock(Q5_KBlock.self, count) { q45_K(31, x + $0, y + $1) } },
        quantizeWeighted: { x, y, count, qw in forEachBlock(Q5_KBlock.self, count) { q45_KWeighted(31, x + $0, qw + $0, y + $1) } },
        kernels: kernels, rows8Pieces: Repack.headerFirst(blockBytes: 176, header: 4),
        // The fifth-bit and nibble words (GGUF bytes 16 ..< 176) recoded into five-bit values (`Q5_KBits`).
        rows8Bits: Rows8Bits(offsets: Array(stride(from: 16, to: 176, by: 8)), pack: Q5_KBits.pack, unpack: Q5_KBits.unpack))
    #if arch(x86_64)
    private static let kernels = FormatTraits.LevelKernels(avx2: AVX2.q5_K, avx512: AVX512.q5_K, avx2Rows8: AVX2.q5_KRows8, avx512Rows8: AVX512.q5_KRows8,
                                                           amxRows8: AMXKernels.q5_KRows8)
    #else
    private static let kernels = FormatTraits.LevelKernels()
    #endif

    // MARK: Portable 8-bit decoding (`KBlock`)

    static var bytes: Int { 176 }
    static var hasMins: Bool { true }
    @inline(__always) static func groups(_ p: UnsafeRawPointer, _ group: (Int, SIMD16<Int16>, SIMD16<Int16>, Int32, Int32) -> Void) {
        let scales = kScalesMins(p + 4).scales
        let h = p.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt16>.self)
        @inline(__always) func chunk(_ c: Int) {
            let v = p.loadUnaligned(fromByteOffset: 48 &+ 32 &* c, as: SIMD16<UInt16>.self)
            let s0 = Int32(truncatingIfNeeded: (scales >> UInt64(16 &* c)) & 0xFF)
            let s1 = Int32(truncatingIfNeeded: (scales >> UInt64(16 &* c &+ 8)) & 0xFF)
            let b0 = UInt16(truncatingIfNeeded: 2 &* c), b1 = UInt16(truncatingIfNeeded: 2 &* c &+ 1)
            let he0 = ((h &>> b0) & 1) &<< 4, ho0 = ((h &>> (b0 &+ 8)) & 1) &<< 4
            let he1 = ((h &>> b1) & 1) &<< 4, ho1 = ((h &>> (b1 &+ 8)) & 1) &<< 4
            group(2 &* c, asInt16((v & 0xF) | he0), asInt16(((v &>> 8) & 0xF) | ho0), s0, s0)
            group(2 &* c &+ 1, asInt16(((v &>> 4) & 0xF) | he1), asInt16((v &>> 12) | ho1), s1, s1)
        }
        chunk(0); chunk(1); chunk(2); chunk(3)
    }
    @inline(__always) static func scales(_ p: UnsafeRawPointer) -> (Float, Float) { (loadHalf(p, 0), loadHalf(p, 2)) }
    @inline(__always) static func minTerms(_ p: UnsafeRawPointer, _ gsums: UnsafePointer<Int32>, _ bsums: UnsafePointer<Int16>) -> SIMD8<Int32> {
        Q4_KBlock.minTerms(p, gsums, bsums)
    }

    // MARK: Floats

    /// One block to floats (ggml `dequantize_row_q5_K`).
    static func dequantize(_ b: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = loadHalf(b, 0), dmin = loadHalf(b, 2)
        let scales = (b + 4).assumingMemoryBound(to: UInt8.self)
        let qh = (b + 16).assumingMemoryBound(to: UInt8.self)
        var ql = (b + 48).assumingMemoryBound(to: UInt8.self)
        var y = out
        var u1: UInt8 = 1, u2: UInt8 = 2
        for c in 0..<4 {
            let (s1, m1) = kScaleMin(2 * c, scales)
            let (s2, m2) = kScaleMin(2 * c + 1, scales)
            let d1 = d * Float(s1), mm1 = dmin * Float(m1)
            let d2 = d * Float(s2), mm2 = dmin * Float(m2)
            for l in 0..<32 { y[l] = d1 * Float(Int(ql[l] & 0xF) + (qh[l] & u1 != 0 ? 16 : 0)) - mm1 }
            for l in 0..<32 { y[l + 32] = d2 * Float(Int(ql[l] >> 4) + (qh[l] & u2 != 0 ? 16 : 0)) - mm2 }
            ql += 32; y += 64
            u1 <<= 2; u2 <<= 2
        }
    }
}

/// Q5_K's quants in the `rows8` layout, recoded at load so that most operands of the kernels are one vector operation
/// (KernelsAVX512/KQuantRows8_512.swift, KernelsAMX/NibbleKAMX.swift). The layout gathers the four fifth-bit words
/// (at `at`: word j, row r's qword at 64j + 8r, byte i its `qh[8j + i]`) and then the sixteen nibble words (word 4c + j
/// at `at + 256 + 64 (4c + j)`, byte i its `qs[32c + 8j + i]`): value v(g, 8j + i) of group g = 2c + h (element 32g +
/// 8j + i) is nibble h of that byte or'ed with bit g of the fifth-bit byte as 16. Recoded, the same 1280 bytes hold
/// four units, one a chunk c (groups 2c and 2c + 1), of five words at `at + 320c`: first T, whose byte i holds the two
/// top bits of v(2c + 1, 8j + i) in bits 2j, 2j + 1 (j = 0 ..< 4), then A_0 ... A_3, byte i of A_j holding v(2c, 8j + i)
/// in bits 3-7 and the three low bits of v(2c + 1, 8j + i) in bits 0-2. So the group 2c operand of word j is A_j masked
/// in place (8v, one operation; the kernels scale the other group by 8 to match, and the sum by 1/8), and group
/// 2c + 1's is A_j's low three bits or'ed with T's bits 2j, 2j + 1 moved to bits 3-4 (a shift and a mask, once a chunk,
/// and one `vpternlogq`): two operations an operand on average where the nibbles and fifth bits took three and a half
/// (a shift, a mask, and a bit test and a masked add, or the compiler's shifts and `vpternlogq`). Each row's lanes
/// are its own (row r's qword of each word), so a row is recoded and undone on its own.
enum Q5_KBits {
    /// Where the 20 words lie in the group's super-block (the kernels' `Q5_KFormat.unitsAt`).
    static let at = 128

    /// One word of a unit from eight five-bit values in byte lanes of the group taken in place (`even`) and eight of
    /// the other (`odd`): A (`even` in bits 3-7, `odd`'s low three bits in bits 0-2) and `odd`'s top two bits (in bits 0-1
    /// of each lane, for the unit's word T). Q5_0/Q5_1's units are the same (`Repack.toUnits`).
    @inline(__always)
    static func unitWord(even: UInt64, odd: UInt64) -> (a: UInt64, top: UInt64) {
        (even &<< 3 | odd & byteLanes(7), (odd &>> 3) & byteLanes(3))
    }

    /// `unitWord` undone: the two values of each lane from A and the top two bits (`top`, in bits 0-1 of each lane).
    @inline(__always)
    static func unitValues(a: UInt64, top: UInt64) -> (even: UInt64, odd: UInt64) {
        ((a &>> 3) & byteLanes(0x1F), a & byteLanes(7) | top &<< 3)
    }

    /// The group's super-block at `p`, its 20 words as gathered, recoded in place (a row's eight lanes at once).
    static func pack(_ p: UnsafeMutableRawPointer) {
        for r in 0..<8 {
            let row = p + (at &+ 8 &* r)
            var qh = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
            withUnsafeMutableBytes(of: &qh) { h in
                for j in 0..<4 { h.storeBytes(of: row.load(fromByteOffset: 64 &* j, as: UInt64.self), toByteOffset: 8 &* j, as: UInt64.self) }
            }
            for c in 0..<4 {
                var units = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
                withUnsafeMutableBytes(of: &units) { u in
                    var top: UInt64 = 0
                    for j in 0..<4 {
                        let q = row.load(fromByteOffset: 256 &+ 64 &* (4 &* c &+ j), as: UInt64.self)
                        let h = withUnsafeBytes(of: qh) { $0.load(fromByteOffset: 8 &* j, as: UInt64.self) }
                        let even = (q & byteLanes(0xF)) | ((h &>> UInt64(2 &* c)) & byteLanes(1)) &<< 4
                        let odd = ((q &>> 4) & byteLanes(0xF)) | ((h &>> UInt64(2 &* c &+ 1)) & byteLanes(1)) &<< 4
                        let word = unitWord(even: even, odd: odd)
                        u.storeBytes(of: word.a, toByteOffset: 8 &* (j &+ 1), as: UInt64.self)
                        top |= word.top &<< UInt64(2 &* j)
                    }
                    u.storeBytes(of: top, toByteOffset: 0, as: UInt64.self)
                }
                withUnsafeBytes(of: units) { u in
                    for k in 0..<5 { row.storeBytes(of: u.load(fromByteOffset: 8 &* k, as: UInt64.self), toByteOffset: 320 &* c &+ 64 &* k, as: UInt64.self) }
                }
            }
        }
    }

    /// `rows` of the recoded super-block at `p` back as gathered: their qwords of the 20 words (row r's at 8r) written
    /// to `out` (1280 bytes).
    static func unpack(_ p: UnsafeRawPointer, rows: Range<Int>, into out: UnsafeMutableRawPointer) {
        for r in rows {
            let row = p + (at &+ 8 &* r), dst = out + 8 &* r
            var qh = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
            withUnsafeMutableBytes(of: &qh) { h in
                for c in 0..<4 {
                    let top = row.load(fromByteOffset: 320 &* c, as: UInt64.self)
                    for j in 0..<4 {
                        let a = row.load(fromByteOffset: 320 &* c &+ 64 &* (j &+ 1), as: UInt64.self)
                        let (even, odd) = unitValues(a: a, top: (top &>> UInt64(2 &* j)) & byteLanes(3))
                        dst.storeBytes(of: even & byteLanes(0xF) | (odd & byteLanes(0xF)) &<< 4, toByteOffset: 256 &+ 64 &* (4 &* c &+ j), as: UInt64.self)
                        let bits = ((even &>> 4) & byteLanes(1)) &<< UInt64(2 &* c) | ((odd &>> 4) & byteLanes(1)) &<< UInt64(2 &* c &+ 1)
                        h.storeBytes(of: h.load(fromByteOffset: 8 &* j, as: UInt64.self) | bits, toByteOffset: 8 &* j, as: UInt64.self)
                    }
                }
                for j in 0..<4 { dst.storeBytes(of: h.load(fromByteOffset: 8 &* j, as: UInt64.self), toByteOffset: 64 &* j, as: UInt64.self) }
            }
        }
    }
}
