import KernelsAVX2

/// The portable (plain Swift SIMD) 8-bit and float kernels of `MatMulEngine`: the decoding
/// protocols the formats' block types implement (`Block32`, `KBlock`), the bit-field helpers they
/// share, and the row kernels generic over them (`Kernels`), specialised per format where its
/// `FormatTraits` entry is built.

/// Compile-time number of rows a kernel serves per pass: sequences per pass over the weights, or heads per
/// pass over the cached values (`VectorOps.weightedSumF16`).
protocol SeqWidth { static var n: Int { get } }
enum W1: SeqWidth { static var n: Int { 1 } }
enum W2: SeqWidth { static var n: Int { 2 } }
enum W3: SeqWidth { static var n: Int { 3 } }
enum W4: SeqWidth { static var n: Int { 4 } }

/// Adds adjacent Int16 lanes into Int32 lanes (what `pmaddwd` against ones does).
@inline(__always) func pairSum(_ p: SIMD16<Int16>) -> SIMD8<Int32> {
    let u = unsafeBitCast(p, to: SIMD8<Int32>.self)
    return ((u &<< 16) &>> 16) &+ (u &>> 16)
}

@inline(__always) func asInt16(_ v: SIMD16<UInt16>) -> SIMD16<Int16> { unsafeBitCast(v, to: SIMD16<Int16>.self) }

/// 16 lanes of two 8-lane halves.
@inline(__always) func join(_ a: SIMD8<UInt16>, _ b: SIMD8<UInt16>) -> SIMD16<UInt16> { SIMD16<UInt16>(lowHalf: a, highHalf: b) }

/// The fifth bits of a Q5_0/Q5_1 block (bit j of `qh` belongs to element j) moved to bit 15 of
/// 16-bit lanes, for the even and the odd elements in lane order. Even lane i holds element 2i, so
/// it needs bit 2i of `qh`: lanes 0..<8 test bits of the low 16-bit half, lanes 8..<16 of the
/// high half, each lane with its own one-bit mask, and a per-lane power-of-two multiply moves the
/// masked bit to bit 15. (Per-lane variable shifts, or shift pairs with constant vectors, compile
/// to long shuffle sequences; this form is ~2x faster per block.)
@inline(__always) func fifthBitsAtTop(_ qh: UInt32) -> (SIMD16<UInt16>, SIMD16<UInt16>) {
    let lo = UInt16(truncatingIfNeeded: qh), hi = UInt16(truncatingIfNeeded: qh >> 16)
    let hv = SIMD16<UInt16>(lowHalf: SIMD8(repeating: lo), highHalf: SIMD8(repeating: hi))
    let mE = SIMD16<UInt16>(1, 4, 16, 64, 256, 1024, 4096, 16384, 1, 4, 16, 64, 256, 1024, 4096, 16384)
    let kE = SIMD16<UInt16>(32768, 8192, 2048, 512, 128, 32, 8, 2, 32768, 8192, 2048, 512, 128, 32, 8, 2)
    return ((hv & mE) &* kE, (hv & (mE &<< 1)) &* (kE &>> 1))
}

/// The fifth bits as 0 or 16 per lane (a logical shift brings bit 15 down to bit 4).
@inline(__always) func fifthBits(_ qh: UInt32) -> (SIMD16<Int16>, SIMD16<Int16>) {
    let (e, o) = fifthBitsAtTop(qh)
    return (asInt16(e &>> 11), asInt16(o &>> 11))
}

/// The fifth bits as -16 (0xFFF0) or 0 per lane: an arithmetic shift spreads bit 15 down to bit 4.
@inline(__always) func fifthBitMasks(_ qh: UInt32) -> (SIMD16<Int16>, SIMD16<Int16>) {
    let (e, o) = fifthBitsAtTop(qh)
    return (asInt16(e) &>> 11, asInt16(o) &>> 11)
}

/// A 32-element weight block decoded to integers: value = d · q + m.
protocol Block32: BlockLayout {
    /// Whether the block has a min m (an fp16 at byte 2, as Q4_1/Q5_1 lay it out: the float tiles read it there).
    static var hasMin: Bool { get }
    /// Quants of the even and the odd elements (see `ActivationQuant`), the scale d and offset m.
    static func decode(_ p: UnsafeRawPointer) -> (SIMD16<Int16>, SIMD16<Int16>, Float, Float)
}

extension Block32 {
    @inline(__always) static var elements: Int { 32 }
}

/// Nibbles of 16 Q4/Q5 bytes: lanes 0..<8 from the low nibbles (elements 0..<16), lanes 8..<16
/// from the high nibbles (elements 16..<32); even elements from the low byte of each pair.
@inline(__always) func nibbles(_ p: UnsafeRawPointer, _ offset: Int) -> (SIMD16<UInt16>, SIMD16<UInt16>) {
    let v = p.loadUnaligned(fromByteOffset: offset, as: SIMD8<UInt16>.self)
    let w = join(v, v &>> 4)
    return (w & 0xF, (w &>> 8) & 0xF)
}

/// A 256-element K-quant super-block, visited as 8 groups of 32.
protocol KBlock: BlockLayout {
    static var hasMins: Bool { get }
    /// Calls `group(j, even, odd, scaleLo, scaleHi)` for each 32-element group j (0..<8) with the
    /// quants in even/odd order and the integer scales of elements 0..<16 and 16..<32 of the group.
    static func groups(_ p: UnsafeRawPointer, _ group: (Int, SIMD16<Int16>, SIMD16<Int16>, Int32, Int32) -> Void)
    /// Super-block scale d and min scale dmin (0 for types without mins).
    static func scales(_ p: UnsafeRawPointer) -> (Float, Float)
    /// Lane-wise min · (activation quant sum) products whose total is the super-block's min
    /// term: `gsums` holds its 8 per-32 activation sums, `bsums` its 16 per-16 sums.
    static func minTerms(_ p: UnsafeRawPointer, _ gsums: UnsafePointer<Int32>, _ bsums: UnsafePointer<Int16>) -> SIMD8<Int32>
}

extension KBlock {
    @inline(__always) static var elements: Int { 256 }
}

/// The 8 bytes of two words, one per Int32 lane (in memory order), shifted right by `shift`.
@inline(__always) func spreadBytes(_ lo: UInt32, _ hi: UInt32, shift: UInt32) -> SIMD8<UInt32> {
    let v = SIMD8<UInt32>(lowHalf: SIMD4<UInt32>(repeating: lo), highHalf: SIMD4<UInt32>(repeating: hi))
    return v &>> (SIMD8<UInt32>(0, 8, 16, 24, 0, 8, 16, 24) &+ shift)
}

/// 2-bit fields of 32 quant bytes (Q2_K / Q3_K low bits): group `j4` of a 128-element half.
@inline(__always) func twoBits(_ v: SIMD16<UInt16>, _ j4: UInt16) -> (SIMD16<UInt16>, SIMD16<UInt16>) {
    ((v &>> (2 &* j4)) & 3, (v &>> (2 &* j4 &+ 8)) & 3)
}

enum Kernels {
    /// Dot products of one row of 32-blocks with `W.n` activation rows (quantized, stride `xStride`
    /// elements; scales and scaled sums with stride `dStride` blocks). Written out per width:
    /// loops over the sequences would keep the accumulators in memory.
    @inline(__always)
    static func block32<B: Block32, W: SeqWidth>(_: B.Type, _: W.Type, _ row: UnsafeRawPointer, _ nb: Int,
                                                   _ x: UnsafePointer<Int16>, _ xStride: Int,
                                                   _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Float>, _ dStride: Int) -> SIMD4<Float> {
        let rx = UnsafeRawPointer(x)
        @inline(__always) func step(_ e: SIMD16<Int16>, _ o: SIMD16<Int16>, _ d: Float, _ m: Float, _ b: Int, _ s: Int,
                                    _ a: inout SIMD8<Float>, _ mm: inout Float) {
            let xo = 2 &* (s &* xStride &+ 32 &* b)
            let p = e &* rx.loadUnaligned(fromByteOffset: xo, as: SIMD16<Int16>.self)
                &+ o &* rx.loadUnaligned(fromByteOffset: xo + 32, as: SIMD16<Int16>.self)
            a.addProduct(SIMD8<Float>(pairSum(p)), SIMD8<Float>(repeating: d * xd[s * dStride + b]))
            if B.hasMin { mm += m * xs[s * dStride + b] }
        }
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var m0: Float = 0, m1: Float = 0, m2: Float = 0, m3: Float = 0
        if W.n == 1 {
            // One sequence: two blocks per step into separate accumulators, so consecutive FMAs
            // do not wait on each other.
            var b = 0
            while b + 2 <= nb {
                let (e0, o0, d0, mn0) = B.decode(row + b * B.bytes)
                step(e0, o0, d0, mn0, b, 0, &a0, &m0)
                let (e1, o1, d1, mn1) = B.decode(row + (b + 1) * B.bytes)
                step(e1, o1, d1, mn1, b + 1, 0, &a1, &m1)
                b += 2
            }
            if b < nb {
                let (e0, o0, d0, mn0) = B.decode(row + b * B.bytes)
                step(e0, o0, d0, mn0, b, 0, &a0, &m0)
            }
            return SIMD4<Float>(VectorOps.hsum(a0 + a1) + (m0 + m1), 0, 0, 0)
        }
        for b in 0..<nb {
            let (e, o, d, m) = B.decode(row + b * B.bytes)
            step(e, o, d, m, b, 0, &a0, &m0)
            step(e, o, d, m, b, 1, &a1, &m1)
            step(e, o, d, m, b, 2, &a2, &m2)
            step(e, o, d, m, b, 3, &a3, &m3)
        }
        return SIMD4<Float>(VectorOps.hsum(a0) + m0, VectorOps.hsum(a1) + m1, VectorOps.hsum(a2) + m2, VectorOps.hsum(a3) + m3)
    }

    /// Dot products of one row of K-quant super-blocks with `W.n` (1 or 4) activation rows.
    @inline(__always)
    static func kquant<B: KBlock, W: SeqWidth>(_: B.Type, _: W.Type, _ row: UnsafeRawPointer, _ nb: Int,
                                                 _ x: UnsafePointer<Int16>, _ xStride: Int,
                                                 _ xd: UnsafePointer<Float>, _ dStride: Int,
                                                 _ gsums: UnsafePointer<Int32>, _ gStride: Int,
                                                 _ bsums: UnsafePointer<Int16>) -> SIMD4<Float> {
        let rx = UnsafeRawPointer(x)
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var mv0 = SIMD8<Float>(), mv1 = SIMD8<Float>(), mv2 = SIMD8<Float>(), mv3 = SIMD8<Float>()
        if W.n == 1 {
            // One sequence: integer accumulation over the super-block, one conversion at its end.
            for b in 0..<nb {
                let blk = row + b * B.bytes
                var isum = SIMD8<Int32>()
                B.groups(blk) { j, e, o, sLo, sHi in
                    let scale = SIMD8<Int32>(lowHalf: SIMD4<Int32>(repeating: sLo), highHalf: SIMD4<Int32>(repeating: sHi))
                    let xo = 2 &* (256 &* b &+ 32 &* j)
                    let p = e &* rx.loadUnaligned(fromByteOffset: xo, as: SIMD16<Int16>.self)
                        &+ o &* rx.loadUnaligned(fromByteOffset: xo + 32, as: SIMD16<Int16>.self)
                    isum &+= pairSum(p) &* scale
                }
                let (d, dmin) = B.scales(blk)
                let dx = xd[b]
                a0.addProduct(SIMD8<Float>(isum), SIMD8<Float>(repeating: d * dx))
                if B.hasMins { mv0.addProduct(SIMD8<Float>(B.minTerms(blk, gsums + 8 * b, bsums + 16 * b)), SIMD8<Float>(repeating: dmin * dx)) }
            }
            return SIMD4<Float>(VectorOps.hsum(a0 - mv0), 0, 0, 0)
        }
        for b in 0..<nb {
            let blk = row + b * B.bytes
            var f0 = SIMD8<Int32>(), f1 = SIMD8<Int32>(), f2 = SIMD8<Int32>(), f3 = SIMD8<Int32>()
            B.groups(blk) { j, e, o, sLo, sHi in
                let scale = SIMD8<Int32>(lowHalf: SIMD4<Int32>(repeating: sLo), highHalf: SIMD4<Int32>(repeating: sHi))
                @inline(__always) func step(_ s: Int, _ acc: inout SIMD8<Int32>) {
                    let xo = 2 &* (s &* xStride &+ 256 &* b &+ 32 &* j)
                    let p = e &* rx.loadUnaligned(fromByteOffset: xo, as: SIMD16<Int16>.self)
                        &+ o &* rx.loadUnaligned(fromByteOffset: xo + 32, as: SIMD16<Int16>.self)
                    acc &+= pairSum(p) &* scale
                }
                step(0, &f0)
                if W.n == 4 { step(1, &f1); step(2, &f2); step(3, &f3) }
            }
            let (d, dmin) = B.scales(blk)
            @inline(__always) func finish(_ s: Int, _ f: SIMD8<Float>, _ a: inout SIMD8<Float>, _ mv: inout SIMD8<Float>) {
                let dx = xd[s * dStride + b]
                a.addProduct(f, SIMD8<Float>(repeating: d * dx))
                if B.hasMins {
                    let t = B.minTerms(blk, gsums + s * gStride + 8 * b, bsums + 2 * (s * gStride + 8 * b))
                    mv.addProduct(SIMD8<Float>(t), SIMD8<Float>(repeating: dmin * dx))
                }
            }
            finish(0, SIMD8<Float>(f0), &a0, &mv0)
            if W.n == 4 { finish(1, SIMD8<Float>(f1), &a1, &mv1); finish(2, SIMD8<Float>(f2), &a2, &mv2); finish(3, SIMD8<Float>(f3), &a3, &mv3) }
        }
        return SIMD4<Float>(VectorOps.hsum(a0 - mv0), VectorOps.hsum(a1 - mv1), VectorOps.hsum(a2 - mv2), VectorOps.hsum(a3 - mv3))
    }

    /// One row of 32-blocks decoded to floats, each group in `ActivationQuant.slot` order.
    @inline(__always)
    static func decodeFloats<B: Block32>(_: B.Type, _ row: UnsafeRawPointer, _ nb: Int, _ out: UnsafeMutablePointer<Float>,
                                         withMin: Bool = true) {
        let o = UnsafeMutableRawPointer(out)
        for b in 0..<nb {
            let (e, od, d, blockMin) = B.decode(row + b * B.bytes)
            let m = withMin ? blockMin : 0
            let ue = unsafeBitCast(e, to: SIMD8<Int32>.self), uo = unsafeBitCast(od, to: SIMD8<Int32>.self)
            let dv = SIMD8<Float>(repeating: d), mv = SIMD8<Float>(repeating: m)
            let base = 128 * b
            // e lanes 2l / 2l+1 hold elements 4l / 4l+2; o lanes hold 4l+1 / 4l+3.
            o.storeBytes(of: SIMD8<Float>((ue &<< 16) &>> 16) * dv + mv, toByteOffset: base, as: SIMD8<Float>.self)
            o.storeBytes(of: SIMD8<Float>(ue &>> 16) * dv + mv, toByteOffset: base + 32, as: SIMD8<Float>.self)
            o.storeBytes(of: SIMD8<Float>((uo &<< 16) &>> 16) * dv + mv, toByteOffset: base + 64, as: SIMD8<Float>.self)
            o.storeBytes(of: SIMD8<Float>(uo &>> 16) * dv + mv, toByteOffset: base + 96, as: SIMD8<Float>.self)
        }
    }

    /// One row of K-quant super-blocks decoded to floats, each group of 32 in the order of
    /// `decodeFloats`. Q4_K/Q5_K mins come from their packed scale bytes (Q2_K is not handled).
    @inline(__always)
    static func decodeFloatsK<B: KBlock>(_: B.Type, _ row: UnsafeRawPointer, _ nb: Int, _ out: UnsafeMutablePointer<Float>) {
        let o = UnsafeMutableRawPointer(out)
        for b in 0..<nb {
            let blk = row + b * B.bytes
            let (d, dmin) = B.scales(blk)
            let mins = B.hasMins ? kScalesMins(blk + 4).mins : 0
            B.groups(blk) { j, e, od, sLo, sHi in
                let ue = unsafeBitCast(e, to: SIMD8<Int32>.self), uo = unsafeBitCast(od, to: SIMD8<Int32>.self)
                let dv = SIMD8<Float>(lowHalf: SIMD4(repeating: d * Float(sLo)), highHalf: SIMD4(repeating: d * Float(sHi)))
                let m: Float = B.hasMins ? -dmin * Float(UInt8(truncatingIfNeeded: mins >> UInt64(8 &* j))) : 0
                let mv = SIMD8<Float>(repeating: m)
                let base = 1024 &* b &+ 128 &* j
                o.storeBytes(of: SIMD8<Float>((ue &<< 16) &>> 16) * dv + mv, toByteOffset: base, as: SIMD8<Float>.self)
                o.storeBytes(of: SIMD8<Float>(ue &>> 16) * dv + mv, toByteOffset: base + 32, as: SIMD8<Float>.self)
                o.storeBytes(of: SIMD8<Float>((uo &<< 16) &>> 16) * dv + mv, toByteOffset: base + 64, as: SIMD8<Float>.self)
                o.storeBytes(of: SIMD8<Float>(uo &>> 16) * dv + mv, toByteOffset: base + 96, as: SIMD8<Float>.self)
            }
        }
    }

    /// `y[s·ldy + i] = Σ_k w[i·ldw + k] · x[s·ldx + k]` for four rows i and four sequences s:
    /// sixteen accumulators, eight loads per sixteen FMAs.
    @inline(__always)
    static func tile4x4(_ w: UnsafePointer<Float>, _ ldw: Int, _ x: UnsafePointer<Float>, _ ldx: Int, _ n: Int,
                        _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        // One pointer per row and sequence and one wrapping byte offset: checked index arithmetic
        // here costs an add and a branch per load (a third of the loop's instructions).
        let a0p = UnsafeRawPointer(w), a1p = a0p + 4 * ldw, a2p = a0p + 8 * ldw, a3p = a0p + 12 * ldw
        let b0p = UnsafeRawPointer(x), b1p = b0p + 4 * ldx, b2p = b0p + 8 * ldx, b3p = b0p + 12 * ldx
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c02 = SIMD8<Float>(), c03 = SIMD8<Float>()
        var c10 = SIMD8<Float>(), c11 = SIMD8<Float>(), c12 = SIMD8<Float>(), c13 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c22 = SIMD8<Float>(), c23 = SIMD8<Float>()
        var c30 = SIMD8<Float>(), c31 = SIMD8<Float>(), c32 = SIMD8<Float>(), c33 = SIMD8<Float>()
        var k = 0
        let end = 4 &* n
        while k < end {
            let a0 = a0p.loadUnaligned(fromByteOffset: k, as: SIMD8<Float>.self)
            let a1 = a1p.loadUnaligned(fromByteOffset: k, as: SIMD8<Float>.self)
            let a2 = a2p.loadUnaligned(fromByteOffset: k, as: SIMD8<Float>.self)
            let a3 = a3p.loadUnaligned(fromByteOffset: k, as: SIMD8<Float>.self)
            let b0 = b0p.loadUnaligned(fromByteOffset: k, as: SIMD8<Float>.self)
            c00.addProduct(a0, b0); c10.addProduct(a1, b0); c20.addProduct(a2, b0); c30.addProduct(a3, b0)
            let b1 = b1p.loadUnaligned(fromByteOffset: k, as: SIMD8<Float>.self)
            c01.addProduct(a0, b1); c11.addProduct(a1, b1); c21.addProduct(a2, b1); c31.addProduct(a3, b1)
            let b2 = b2p.loadUnaligned(fromByteOffset: k, as: SIMD8<Float>.self)
            c02.addProduct(a0, b2); c12.addProduct(a1, b2); c22.addProduct(a2, b2); c32.addProduct(a3, b2)
            let b3 = b3p.loadUnaligned(fromByteOffset: k, as: SIMD8<Float>.self)
            c03.addProduct(a0, b3); c13.addProduct(a1, b3); c23.addProduct(a2, b3); c33.addProduct(a3, b3)
            k &+= 32
        }
        y[0] = VectorOps.hsum(c00); y[1] = VectorOps.hsum(c10); y[2] = VectorOps.hsum(c20); y[3] = VectorOps.hsum(c30)
        y[ldy] = VectorOps.hsum(c01); y[ldy + 1] = VectorOps.hsum(c11); y[ldy + 2] = VectorOps.hsum(c21); y[ldy + 3] = VectorOps.hsum(c31)
        let y2 = y + 2 * ldy, y3 = y + 3 * ldy
        y2[0] = VectorOps.hsum(c02); y2[1] = VectorOps.hsum(c12); y2[2] = VectorOps.hsum(c22); y2[3] = VectorOps.hsum(c32)
        y3[0] = VectorOps.hsum(c03); y3[1] = VectorOps.hsum(c13); y3[2] = VectorOps.hsum(c23); y3[3] = VectorOps.hsum(c33)
    }

    /// Σ a[i]·b[i] with `a` bfloat16 bit patterns.
    @inline(__always)
    static func dotBF16(_ a: UnsafePointer<UInt16>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var s0 = SIMD8<Float>()
        var i = 0
        while i + 8 <= n {
            let h = ra.loadUnaligned(fromByteOffset: 2 * i, as: SIMD4<UInt32>.self)
            // Two bf16 per 32-bit lane: low halves shifted up, high halves masked in place.
            let lo = unsafeBitCast(h &<< 16, to: SIMD4<Float>.self), hi = unsafeBitCast(h & 0xFFFF_0000, to: SIMD4<Float>.self)
            let bv = rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            // b in matching order: even elements with lo, odd with hi.
            let be = SIMD4<Float>(bv[0], bv[2], bv[4], bv[6]), bo = SIMD4<Float>(bv[1], bv[3], bv[5], bv[7])
            s0.addProduct(SIMD8<Float>(lowHalf: lo, highHalf: hi), SIMD8<Float>(lowHalf: be, highHalf: bo))
            i += 8
        }
        var s = VectorOps.hsum(s0)
        while i < n { s += Float(bitPattern: UInt32(a[i]) << 16) * b[i]; i += 1 }
        return s
    }
}
