/// Reads an IEEE half at a byte offset (ggml stores block scales as `ggml_half`).
@inline(__always)
func loadHalf(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}

/// Stores a Float as an IEEE half (round to nearest even, like ggml's FP32_TO_FP16).
@inline(__always)
func storeHalf(_ v: Float, _ p: UnsafeMutableRawPointer, _ offset: Int) {
    p.storeBytes(of: Float16(v).bitPattern, toByteOffset: offset, as: UInt16.self)
}

/// Unpacks the 6-bit scale and min of sub-block `j` (0..<8) of a Q4_K / Q5_K block
/// (12 bytes at `q`): sub-blocks 0-3 keep them in the low 6 bits of bytes j and j+4,
/// sub-blocks 4-7 keep 4 low bits in byte j+4 and 2 high bits in the top of bytes j-4 / j.
@inline(__always)
func kScaleMin(_ j: Int, _ q: UnsafePointer<UInt8>) -> (scale: UInt8, min: UInt8) {
    if j < 4 {
        return (q[j] & 63, q[j + 4] & 63)
    }
    let sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4)
    let mn = (q[j + 4] >> 4) | ((q[j] >> 6) << 4)
    return (sc, mn)
}

/// Unpacks the sixteen signed 6-bit scales of a Q3_K block (12 bytes at `q`), already minus 32.
@inline(__always)
func q3KScale(_ j: Int, _ q: UnsafePointer<UInt8>) -> Int8 {
    let low = j < 8 ? q[j] & 0xF : q[j - 8] >> 4
    let high = (q[8 + j % 4] >> UInt8(2 * (j / 4))) & 3
    return Int8(bitPattern: low | (high << 4)) &- 32
}

/// Converts rows of any supported `GGMLType` to `Float`.
///
/// Block layouts are those of ggml (`ggml-common.h`); results equal ggml's `dequantize_row_*`.
public enum Dequantize {
    /// Writes `count` floats decoded from `src` (laid out as `type`) to `dst`.
    /// `count` must be a multiple of `type.blockSize`.
    public static func row(_ type: GGMLType, _ src: UnsafeRawPointer, into dst: UnsafeMutablePointer<Float>, count: Int) {
        precondition(count % type.blockSize == 0, "Dequantize.row: \(count) is not a multiple of \(type)'s block size \(type.blockSize)")
        let nb = count / type.blockSize
        let bpb = type.bytesPerBlock
        switch type {
        case .f32:
            dst.update(from: src.assumingMemoryBound(to: Float.self), count: count)
        case .f16:
            VectorOps.f16ToF32(src.assumingMemoryBound(to: UInt16.self), dst, count)
        case .bf16:
            VectorOps.bf16ToF32(src.assumingMemoryBound(to: UInt16.self), dst, count)
        case .q4_0:
            for i in 0..<nb { q4_0(src + i * bpb, dst + i * 32) }
        case .q4_1:
            for i in 0..<nb { q4_1(src + i * bpb, dst + i * 32) }
        case .q5_0:
            for i in 0..<nb { q5_0(src + i * bpb, dst + i * 32) }
        case .q5_1:
            for i in 0..<nb { q5_1(src + i * bpb, dst + i * 32) }
        case .q8_0:
            for i in 0..<nb { q8_0(src + i * bpb, dst + i * 32) }
        case .q8_1:
            for i in 0..<nb {
                let b = src + i * bpb
                let d = loadHalf(b, 0)
                let qs = (b + 4).assumingMemoryBound(to: Int8.self)
                for j in 0..<32 { dst[i * 32 + j] = Float(qs[j]) * d }
            }
        case .q2_K:
            for i in 0..<nb { q2_K(src + i * bpb, dst + i * 256) }
        case .q3_K:
            for i in 0..<nb { q3_K(src + i * bpb, dst + i * 256) }
        case .q4_K:
            for i in 0..<nb { q4_K(src + i * bpb, dst + i * 256) }
        case .q5_K:
            for i in 0..<nb { q5_K(src + i * bpb, dst + i * 256) }
        case .q6_K:
            for i in 0..<nb { q6_K(src + i * bpb, dst + i * 256) }
        case .q8_K:
            for i in 0..<nb {
                let b = src + i * bpb
                let d = b.loadUnaligned(as: Float.self)
                let qs = (b + 4).assumingMemoryBound(to: Int8.self)
                for j in 0..<256 { dst[i * 256 + j] = d * Float(qs[j]) }
            }
        }
    }

    // MARK: 32-element blocks

    @inline(__always)
    static func q4_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = loadHalf(b, 0)
        let qs = (b + 2).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            y[j] = Float(Int(qs[j] & 0xF) - 8) * d
            y[j + 16] = Float(Int(qs[j] >> 4) - 8) * d
        }
    }

    @inline(__always)
    static func q4_1(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = loadHalf(b, 0), m = loadHalf(b, 2)
        let qs = (b + 4).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            y[j] = Float(qs[j] & 0xF) * d + m
            y[j + 16] = Float(qs[j] >> 4) * d + m
        }
    }

    @inline(__always)
    static func q5_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = loadHalf(b, 0)
        let qh = b.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
        let qs = (b + 6).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            let h0 = Int((qh >> UInt32(j)) << 4) & 0x10
            let h1 = Int(qh >> UInt32(j + 12)) & 0x10
            y[j] = Float((Int(qs[j] & 0xF) | h0) - 16) * d
            y[j + 16] = Float((Int(qs[j] >> 4) | h1) - 16) * d
        }
    }

    @inline(__always)
    static func q5_1(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = loadHalf(b, 0), m = loadHalf(b, 2)
        let qh = b.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        let qs = (b + 8).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            let h0 = Int((qh >> UInt32(j)) << 4) & 0x10
            let h1 = Int(qh >> UInt32(j + 12)) & 0x10
            y[j] = Float(Int(qs[j] & 0xF) | h0) * d + m
            y[j + 16] = Float(Int(qs[j] >> 4) | h1) * d + m
        }
    }

    @inline(__always)
    static func q8_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = loadHalf(b, 0)
        let qs = (b + 2).assumingMemoryBound(to: Int8.self)
        for j in 0..<32 { y[j] = Float(qs[j]) * d }
    }

    // MARK: 256-element super-blocks

    static func q2_K(_ b: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
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

    static func q3_K(_ b: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
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

    static func q4_K(_ b: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = loadHalf(b, 0), dmin = loadHalf(b, 2)
        let scales = (b + 4).assumingMemoryBound(to: UInt8.self)
        var q = (b + 16).assumingMemoryBound(to: UInt8.self)
        var y = out
        for c in 0..<4 {
            let (s1, m1) = kScaleMin(2 * c, scales)
            let (s2, m2) = kScaleMin(2 * c + 1, scales)
            let d1 = d * Float(s1), mm1 = dmin * Float(m1)
            let d2 = d * Float(s2), mm2 = dmin * Float(m2)
            for l in 0..<32 { y[l] = d1 * Float(q[l] & 0xF) - mm1 }
            for l in 0..<32 { y[l + 32] = d2 * Float(q[l] >> 4) - mm2 }
            q += 32; y += 64
        }
    }

    static func q5_K(_ b: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
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

    static func q6_K(_ b: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
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
}
