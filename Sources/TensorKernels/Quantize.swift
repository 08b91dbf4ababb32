/// Converts float rows to ggml's quantized block formats.
///
/// Without `importance` the output is byte-for-byte what llama.cpp's reference quantizers
/// (`quantize_row_*_ref`, reached through `ggml_quantize_chunk` with no imatrix) produce: the
/// same search for scales and mins, the same float evaluation order, the same rounding.
/// With `importance` (an imatrix row: per-column mean squared activation, `count` values) the
/// error is weighted like ggml's `quantize_row_*_impl(..., quant_weights)`; `count` is then the
/// length of one tensor row, because the Q4_0/Q4_1/Q5_0/Q5_1 weighting uses the whole row's
/// variance.
public enum Quantize {
    /// Types `row` can produce.
    public static let supportedTypes: [GGMLType] = [
        .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K,
    ]

    /// Quantizes `count` floats at `src` into `type.byteCount(elements: count)` bytes at `dst`.
    /// `count` must be a multiple of `type.blockSize`; `importance`, when given, holds `count` weights.
    /// Q8_0, Q8_K and the float types ignore `importance` (as ggml does).
    public static func row(_ type: GGMLType, _ src: UnsafePointer<Float>, into dst: UnsafeMutableRawPointer,
                           count: Int, importance: UnsafePointer<Float>? = nil) {
        precondition(count % type.blockSize == 0, "Quantize.row: \(count) is not a multiple of \(type)'s block size \(type.blockSize)")
        let nb = count / type.blockSize
        let bpb = type.bytesPerBlock
        switch type {
        case .f32:
            dst.copyMemory(from: src, byteCount: count * 4)
        case .f16:
            VectorOps.f32ToF16(src, dst.assumingMemoryBound(to: UInt16.self), count)
        case .bf16:
            let o = dst.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { o[i] = bf16Bits(src[i]) }
        case .q8_0:
            for i in 0..<nb { q8_0(src + 32 * i, dst + bpb * i) }
        case .q8_1:
            fatalError("Quantize.row: q8_1 is an activation-only format; not supported")
        case .q8_K:
            for i in 0..<nb { q8_K(src + 256 * i, dst + bpb * i) }
        case .q4_0, .q4_1, .q5_0, .q5_1:
            if let qw = importance {
                var sumx2: Float = 0
                for j in 0..<count { sumx2 += src[j] * src[j] }
                let sigma2 = sumx2 / Float(count)
                for i in 0..<nb { legacyWeighted(type, src + 32 * i, qw + 32 * i, sigma2, dst + bpb * i) }
            } else {
                for i in 0..<nb { legacyRef(type, src + 32 * i, dst + bpb * i) }
            }
        case .q2_K:
            for i in 0..<nb {
                if let qw = importance { q2_KWeighted(src + 256 * i, qw + 256 * i, dst + bpb * i) } else { q2_K(src + 256 * i, dst + bpb * i) }
            }
        case .q3_K:
            for i in 0..<nb {
                if let qw = importance { q3_KWeighted(src + 256 * i, qw + 256 * i, dst + bpb * i) } else { q3_K(src + 256 * i, dst + bpb * i) }
            }
        case .q4_K, .q5_K:
            let nmax = type == .q4_K ? 15 : 31
            for i in 0..<nb {
                if let qw = importance {
                    q45_KWeighted(nmax, src + 256 * i, qw + 256 * i, dst + bpb * i)
                } else {
                    q45_K(nmax, src + 256 * i, dst + bpb * i)
                }
            }
        case .q6_K:
            for i in 0..<nb { q6_K(src + 256 * i, importance.map { $0 + 256 * i }, dst + bpb * i) }
        }
    }

    /// Quantizes a `rows × cols` float matrix (row-major) into `dst` (`rows · type.byteCount(elements: cols)`
    /// bytes), rows spread over `pool`'s threads. `importance` (one value per column) applies to
    /// every row, as llama-quantize applies an imatrix entry to a tensor.
    public static func matrix(_ type: GGMLType, _ src: UnsafePointer<Float>, rows: Int, cols: Int,
                              into dst: UnsafeMutableRawPointer, importance: UnsafePointer<Float>? = nil,
                              pool: ComputePool? = nil) {
        let rowBytes = type.byteCount(elements: cols)
        let work = { (r: Int) in
            row(type, src + r * cols, into: dst + r * rowBytes, count: cols, importance: importance)
        }
        if let pool = pool {
            let chunk = 16
            pool.parallelFor((rows + chunk - 1) / chunk) { c in
                for r in (c * chunk)..<min(rows, (c + 1) * chunk) { work(r) }
            }
        } else {
            for r in 0..<rows { work(r) }
        }
    }

    /// ggml's `ggml_compute_fp32_to_bf16`: round to nearest even, NaN kept quiet.
    @inline(__always)
    static func bf16Bits(_ f: Float) -> UInt16 {
        let u = f.bitPattern
        if u & 0x7fff_ffff > 0x7f80_0000 { return UInt16(truncatingIfNeeded: u >> 16) | 64 }
        return UInt16(truncatingIfNeeded: (u &+ (0x7fff &+ ((u >> 16) & 1))) >> 16)
    }

    // MARK: - Shared helpers (same arithmetic as ggml-quants.c)

    static let groupMaxEps: Float = 1e-15

    /// Round to nearest, ties to even, through the 1.5·2^23 trick ggml uses (`nearest_int`).
    @inline(__always)
    static func nearestInt(_ f: Float) -> Int {
        let v = f + 12582912
        return Int(v.bitPattern & 0x007f_ffff) - 0x0040_0000
    }

    /// Symmetric quantization of `n` values to `-nmax..<nmax` (stored +nmax in `L`) with a
    /// weighted least-squares scale search (ggml `make_qx_quants`, rmse_type 1).
    /// Weights are `qw[i]` when given, else `x[i]²`.
    static func makeQxQuants(_ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<Int8>,
                             _ qw: UnsafePointer<Float>?) -> Float {
        var max: Float = 0, amax: Float = 0
        for i in 0..<n {
            let ax = abs(x[i])
            if ax > amax { amax = ax; max = x[i] }
        }
        if amax < groupMaxEps {
            for i in 0..<n { L[i] = 0 }
            return 0
        }
        @inline(__always) func weight(_ i: Int) -> Float { qw != nil ? qw![i] : x[i] * x[i] }
        var iscale = Float(-nmax) / max
        var sumlx: Float = 0, suml2: Float = 0
        for i in 0..<n {
            var l = nearestInt(iscale * x[i])
            l = Swift.max(-nmax, Swift.min(nmax - 1, l))
            L[i] = Int8(l + nmax)
            let w = weight(i)
            sumlx += w * x[i] * Float(l)
            suml2 += w * Float(l) * Float(l)
        }
        var scale: Float = suml2 != 0 ? sumlx / suml2 : 0
        var best = scale * sumlx
        for step in -9...9 where step != 0 {
            iscale = -(Float(nmax) + 0.1 * Float(step)) / max
            sumlx = 0; suml2 = 0
            for i in 0..<n {
                var l = nearestInt(iscale * x[i])
                l = Swift.max(-nmax, Swift.min(nmax - 1, l))
                let w = weight(i)
                sumlx += w * x[i] * Float(l)
                suml2 += w * Float(l) * Float(l)
            }
            if suml2 > 0 && sumlx * sumlx > best * suml2 {
                for i in 0..<n {
                    let l = nearestInt(iscale * x[i])
                    L[i] = Int8(nmax + Swift.max(-nmax, Swift.min(nmax - 1, l)))
                }
                scale = sumlx / suml2
                best = scale * sumlx
            }
        }
        return scale
    }

    /// ggml `make_q3_quants` with do_rmse: start from the max-based scale, then move single
    /// values while the weighted (x²) least-squares fit improves.
    static func makeQ3Quants(_ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<Int8>) -> Float {
        var max: Float = 0, amax: Float = 0
        for i in 0..<n {
            let ax = abs(x[i])
            if ax > amax { amax = ax; max = x[i] }
        }
        if amax < groupMaxEps {
            for i in 0..<n { L[i] = 0 }
            return 0
        }
        let iscale = Float(-nmax) / max
        var sumlx: Float = 0, suml2: Float = 0
        for i in 0..<n {
            var l = nearestInt(iscale * x[i])
            l = Swift.max(-nmax, Swift.min(nmax - 1, l))
            L[i] = Int8(l)
            let w = x[i] * x[i]
            sumlx += w * x[i] * Float(l)
            suml2 += w * Float(l) * Float(l)
        }
        for _ in 0..<5 {
            var changed = 0
            for i in 0..<n {
                let w = x[i] * x[i]
                var slx = sumlx - w * x[i] * Float(L[i])
                if slx > 0 {
                    var sl2 = suml2 - w * Float(L[i]) * Float(L[i])
                    var newL = nearestInt(x[i] * sl2 / slx)
                    newL = Swift.max(-nmax, Swift.min(nmax - 1, newL))
                    if newL != Int(L[i]) {
                        slx += w * x[i] * Float(newL)
                        sl2 += w * Float(newL) * Float(newL)
                        if sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2 {
                            L[i] = Int8(newL); sumlx = slx; suml2 = sl2
                            changed += 1
                        }
                    }
                }
            }
            if changed == 0 { break }
        }
        for i in 0..<n { L[i] += Int8(nmax) }
        return suml2 > 0 ? sumlx / suml2 : 0
    }

    /// Asymmetric quantization to `0...nmax` with scale and min found by a weighted
    /// least-squares search over `nstep+1` candidate scales (ggml `make_qkx2_quants` when
    /// `useMad` selects the error norm; `make_qkx3_quants` is the same search with `max <= min`
    /// as the degenerate test, which only differs for NaN input). Returns the scale; `theMin`
    /// receives minus the offset.
    static func makeQkxQuants(_ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ weights: UnsafePointer<Float>,
                              _ L: UnsafeMutablePointer<UInt8>, _ theMin: inout Float, _ Laux: UnsafeMutablePointer<UInt8>,
                              _ rmin: Float, _ rdelta: Float, _ nstep: Int, _ useMad: Bool) -> Float {
        var min = x[0], max = x[0]
        var sumW = weights[0]
        var sumX = sumW * x[0]
        for i in 1..<n {
            if x[i] < min { min = x[i] }
            if x[i] > max { max = x[i] }
            let w = weights[i]
            sumW += w
            sumX += w * x[i]
        }
        if min > 0 { min = 0 }
        if !(max > min) {
            for i in 0..<n { L[i] = 0 }
            theMin = -min
            return 0
        }
        var iscale = Float(nmax) / (max - min)
        var scale = 1 / iscale
        var bestError: Float = 0
        for i in 0..<n {
            let l = nearestInt(iscale * (x[i] - min))
            L[i] = UInt8(Swift.max(0, Swift.min(nmax, l)))
            var diff = scale * Float(L[i]) + min - x[i]
            diff = useMad ? abs(diff) : diff * diff
            bestError += weights[i] * diff
        }
        if nstep < 1 {
            theMin = -min
            return scale
        }
        for step in 0...nstep {
            iscale = (rmin + rdelta * Float(step) + Float(nmax)) / (max - min)
            var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
            for i in 0..<n {
                var l = nearestInt(iscale * (x[i] - min))
                l = Swift.max(0, Swift.min(nmax, l))
                Laux[i] = UInt8(l)
                let w = weights[i]
                let fl = Float(l)
                sumL += w * fl
                sumL2 += w * fl * fl
                sumXL += w * fl * x[i]
            }
            let D = sumW * sumL2 - sumL * sumL
            if D > 0 {
                var thisScale = (sumW * sumXL - sumX * sumL) / D
                var thisMin = (sumL2 * sumX - sumL * sumXL) / D
                if thisMin > 0 {
                    thisMin = 0
                    thisScale = sumXL / sumL2
                }
                var curError: Float = 0
                for i in 0..<n {
                    var diff = thisScale * Float(Laux[i]) + thisMin - x[i]
                    diff = useMad ? abs(diff) : diff * diff
                    curError += weights[i] * diff
                }
                if curError < bestError {
                    for i in 0..<n { L[i] = Laux[i] }
                    bestError = curError
                    scale = thisScale
                    min = thisMin
                }
            }
        }
        theMin = -min
        return scale
    }

    /// Quantizes non-negative `x` (block scales or mins) to `0...nmax` minimising the
    /// `qw`-weighted error (ggml `make_qp_quants`).
    static func makeQpQuants(_ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<UInt8>,
                             _ qw: UnsafePointer<Float>) -> Float {
        var max: Float = 0
        for i in 0..<n { max = Swift.max(max, x[i]) }
        if max < groupMaxEps {
            for i in 0..<n { L[i] = 0 }
            return 0
        }
        var iscale = Float(nmax) / max
        for i in 0..<n { L[i] = UInt8(truncatingIfNeeded: nearestInt(iscale * x[i])) }
        let scale = 1 / iscale
        var bestMse: Float = 0
        for i in 0..<n {
            let diff = x[i] - scale * Float(L[i])
            bestMse += qw[i] * diff * diff
        }
        for step in -4...4 where step != 0 {
            let iscaleIs = (0.1 * Float(step) + Float(nmax)) / max
            let scaleIs = 1 / iscaleIs
            var mse: Float = 0
            for i in 0..<n {
                var l = nearestInt(iscaleIs * x[i])
                l = Swift.min(nmax, l)
                let diff = x[i] - scaleIs * Float(l)
                mse += qw[i] * diff * diff
            }
            if mse < bestMse {
                bestMse = mse
                iscale = iscaleIs
            }
        }
        var sumlx: Float = 0, suml2: Float = 0
        for i in 0..<n {
            var l = nearestInt(iscale * x[i])
            l = Swift.min(nmax, l)
            L[i] = UInt8(truncatingIfNeeded: l)
            let w = qw[i]
            sumlx += w * x[i] * Float(l)
            suml2 += w * Float(l) * Float(l)
        }
        for _ in 0..<5 {
            var changed = 0
            for i in 0..<n {
                let w = qw[i]
                var slx = sumlx - w * x[i] * Float(L[i])
                var sl2 = suml2 - w * Float(L[i]) * Float(L[i])
                if slx > 0 && sl2 > 0 {
                    var newL = nearestInt(x[i] * sl2 / slx)
                    newL = Swift.min(nmax, newL)
                    if newL != Int(L[i]) {
                        slx += w * x[i] * Float(newL)
                        sl2 += w * Float(newL) * Float(newL)
                        if slx * slx * suml2 > sumlx * sumlx * sl2 {
                            L[i] = UInt8(truncatingIfNeeded: newL); sumlx = slx; suml2 = sl2
                            changed += 1
                        }
                    }
                }
            }
            if changed == 0 { break }
        }
        return suml2 > 0 ? sumlx / suml2 : 0
    }

    // MARK: - 32-element blocks

    static func q8_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for j in 0..<32 { amax = Swift.max(amax, abs(x[j])) }
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(d, y, 0)
        let qs = (y + 2).assumingMemoryBound(to: Int8.self)
        for j in 0..<32 { qs[j] = Int8((x[j] * id).rounded()) }
    }

    static func q8_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        var max: Float = 0, amax: Float = 0
        for j in 0..<256 {
            let ax = abs(x[j])
            if ax > amax { amax = ax; max = x[j] }
        }
        let qs = (y + 4).assumingMemoryBound(to: Int8.self)
        let bsums = (y + 260).assumingMemoryBound(to: Int16.self)
        if amax == 0 {
            y.storeBytes(of: Float(0), as: Float.self)
            for j in 0..<256 { qs[j] = 0 }
            for j in 0..<16 { bsums[j] = 0 }
            return
        }
        let iscale = -127 / max
        for j in 0..<256 { qs[j] = Int8(Swift.min(127, nearestInt(iscale * x[j]))) }
        for j in 0..<16 {
            var s = 0
            for i in 0..<16 { s += Int(qs[16 * j + i]) }
            bsums[j] = Int16(s)
        }
        y.storeBytes(of: 1 / iscale, as: Float.self)
    }

    /// Packs 32 quants (values in 0..<32) as Q4/Q5 nibbles plus, for 5-bit types, the qh word.
    @inline(__always)
    static func packLegacy(_ L: UnsafePointer<UInt8>, _ qs: UnsafeMutablePointer<UInt8>) -> UInt32 {
        var qh: UInt32 = 0
        for j in 0..<16 {
            let a = L[j], b = L[j + 16]
            qs[j] = (a & 0xF) | ((b & 0xF) << 4)
            qh |= UInt32((a & 0x10) >> 4) << UInt32(j)
            qh |= UInt32((b & 0x10) >> 4) << UInt32(j + 16)
        }
        return qh
    }

    static func legacyRef(_ type: GGMLType, _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { Lb in
            let L = Lb.baseAddress!
            switch type {
            case .q4_0, .q5_0:
                let half: Float = type == .q4_0 ? 8 : 16
                let top = type == .q4_0 ? 15 : 31
                var amax: Float = 0, max: Float = 0
                for j in 0..<32 where amax < abs(x[j]) { amax = abs(x[j]); max = x[j] }
                let d = max / -half
                let id: Float = d != 0 ? 1 / d : 0
                storeHalf(d, y, 0)
                for j in 0..<32 { L[j] = UInt8(Swift.min(top, Int(x[j] * id + (half + 0.5)))) }
                if type == .q4_0 {
                    _ = packLegacy(L, (y + 2).assumingMemoryBound(to: UInt8.self))
                } else {
                    let qh = packLegacy(L, (y + 6).assumingMemoryBound(to: UInt8.self))
                    y.storeBytes(of: qh, toByteOffset: 2, as: UInt32.self)
                }
            default: // q4_1, q5_1
                var min = Float.greatestFiniteMagnitude, max = -Float.greatestFiniteMagnitude
                for j in 0..<32 {
                    if x[j] < min { min = x[j] }
                    if x[j] > max { max = x[j] }
                }
                let levels: Float = type == .q4_1 ? 15 : 31
                let d = (max - min) / levels
                let id: Float = d != 0 ? 1 / d : 0
                storeHalf(d, y, 0)
                storeHalf(min, y, 2)
                for j in 0..<32 {
                    let v = Int((x[j] - min) * id + 0.5)
                    L[j] = UInt8(type == .q4_1 ? Swift.min(15, v) : v & 0xFF)
                }
                if type == .q4_1 {
                    _ = packLegacy(L, (y + 4).assumingMemoryBound(to: UInt8.self))
                } else {
                    let qh = packLegacy(L, (y + 8).assumingMemoryBound(to: UInt8.self))
                    y.storeBytes(of: qh, toByteOffset: 4, as: UInt32.self)
                }
            }
        }
    }

    static func legacyWeighted(_ type: GGMLType, _ x: UnsafePointer<Float>, _ qw: UnsafePointer<Float>, _ sigma2: Float,
                               _ y: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { wb in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { lb in
                let weight = wb.baseAddress!, L = lb.baseAddress!, Laux = L + 32
                for j in 0..<32 { weight[j] = qw[j] * (sigma2 + x[j] * x[j]).squareRoot() }
                switch type {
                case .q4_0, .q5_0:
                    let nmax = type == .q4_0 ? 8 : 16
                    let d = L.withMemoryRebound(to: Int8.self, capacity: 32) { makeQxQuants(32, nmax, x, $0, weight) }
                    storeHalf(d, y, 0)
                    if type == .q4_0 {
                        _ = packLegacy(L, (y + 2).assumingMemoryBound(to: UInt8.self))
                    } else {
                        let qh = packLegacy(L, (y + 6).assumingMemoryBound(to: UInt8.self))
                        y.storeBytes(of: qh, toByteOffset: 2, as: UInt32.self)
                    }
                default:
                    var min: Float = 0
                    let d = makeQkxQuants(32, type == .q4_1 ? 15 : 31, x, weight, L, &min, Laux, -0.9, 0.05, 36, false)
                    storeHalf(d, y, 0)
                    storeHalf(-min, y, 2)
                    if type == .q4_1 {
                        _ = packLegacy(L, (y + 4).assumingMemoryBound(to: UInt8.self))
                    } else {
                        let qh = packLegacy(L, (y + 8).assumingMemoryBound(to: UInt8.self))
                        y.storeBytes(of: qh, toByteOffset: 4, as: UInt32.self)
                    }
                }
            }
        }
    }

    // MARK: - K-quants (256-element super-blocks)

    /// Packs 2-bit values of 256 quants the Q2_K / Q3_K way: byte l of each 32-byte half holds
    /// elements l, l+32, l+64, l+96 of that 128-element half.
    @inline(__always)
    static func pack2Bit(_ L: UnsafePointer<UInt8>, _ qs: UnsafeMutablePointer<UInt8>) {
        for j in stride(from: 0, to: 256, by: 128) {
            for l in 0..<32 {
                qs[j / 4 + l] = L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6)
            }
        }
    }

    static func q2_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
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
            q2_KRequantize(x, y, L)
        }
    }

    static func q2_KWeighted(_ x: UnsafePointer<Float>, _ qw: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        withScratch { L, Laux, weight, scales, mins in
            withScratch { Ls, Lm, sw, _, _ in
                var sumx2: Float = 0
                for j in 0..<256 { sumx2 += x[j] * x[j] }
                let sigma2 = sumx2 / 256
                for j in 0..<16 {
                    for l in 0..<16 { weight[l] = qw[16 * j + l] * (sigma2 + x[16 * j + l] * x[16 * j + l]).squareRoot() }
                    var s: Float = 0
                    for l in 0..<16 { s += weight[l] }
                    sw[j] = s
                    scales[j] = makeQkxQuants(16, 3, x + 16 * j, weight, L + 16 * j, &mins[j], Laux, -0.9, 0.05, 36, false)
                }
                let dm = makeQpQuants(16, 15, scales, Ls, sw)
                let mm = makeQpQuants(16, 15, mins, Lm, sw)
                storeHalf(dm, y, 80)
                storeHalf(mm, y, 82)
                let sc = y.assumingMemoryBound(to: UInt8.self)
                for j in 0..<16 { sc[j] = Ls[j] | (Lm[j] << 4) }
                q2_KRequantize(x, y, L)
            }
        }
    }

    /// Final Q2_K pass: re-derives every quant from the stored (rounded) scales and packs them.
    static func q2_KRequantize(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, _ L: UnsafeMutablePointer<UInt8>) {
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

    static func q3_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
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
            q3_KFinish(x, y, L)
        }
    }

    static func q3_KWeighted(_ x: UnsafePointer<Float>, _ qw: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        withScratch { Lu, Lsu, weight, scales, sw in
            let L = UnsafeMutableRawPointer(Lu).assumingMemoryBound(to: Int8.self)
            let Ls = UnsafeMutableRawPointer(Lsu).assumingMemoryBound(to: Int8.self)
            var sumx2: Float = 0
            for j in 0..<256 { sumx2 += x[j] * x[j] }
            let sigma2 = 2 * sumx2 / 256
            for j in 0..<16 {
                for l in 0..<16 { weight[l] = qw[16 * j + l] * (sigma2 + x[16 * j + l] * x[16 * j + l]).squareRoot() }
                var s: Float = 0
                for l in 0..<16 { s += weight[l] }
                sw[j] = s
                scales[j] = makeQxQuants(16, 4, x + 16 * j, L + 16 * j, weight)
            }
            let sc = (y + 96).assumingMemoryBound(to: UInt8.self)
            for j in 0..<12 { sc[j] = 0 }
            let dBlock = makeQxQuants(16, 32, scales, Ls, sw)
            for j in 0..<16 { packQ3Scale(j, Int(Ls[j]), sc) }
            storeHalf(dBlock, y, 108)
            q3_KFinish(x, y, L)
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

    static func q3_KFinish(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, _ L: UnsafeMutablePointer<Int8>) {
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

    /// Q4_K (`nmax` 15) and Q5_K (`nmax` 31) reference quantizer.
    static func q45_K(_ nmax: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        withScratch { L, Laux, weights, scales, mins in
            var maxScale: Float = 0, maxMin: Float = 0
            let (rmin, nstep): (Float, Int) = nmax == 15 ? (-1, 20) : (-0.5, 15)
            for j in 0..<8 {
                var sumx2: Float = 0
                for l in 0..<32 { sumx2 += x[32 * j + l] * x[32 * j + l] }
                let avx = (sumx2 / 32).squareRoot()
                for l in 0..<32 { weights[l] = avx + abs(x[32 * j + l]) }
                scales[j] = makeQkxQuants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1, nstep, false)
                if scales[j] > maxScale { maxScale = scales[j] }
                if mins[j] > maxMin { maxMin = mins[j] }
            }
            let invScale: Float = maxScale > 0 ? 63 / maxScale : 0
            let invMin: Float = maxMin > 0 ? 63 / maxMin : 0
            let sc = (y + 4).assumingMemoryBound(to: UInt8.self)
            for j in 0..<8 {
                let ls = Swift.min(63, UInt8(truncatingIfNeeded: nearestInt(invScale * scales[j])))
                let lm = Swift.min(63, UInt8(truncatingIfNeeded: nearestInt(invMin * mins[j])))
                packKScale(j, ls, lm, sc)
            }
            storeHalf(maxScale / 63, y, 0)
            storeHalf(maxMin / 63, y, 2)
            q45_KFinish(nmax, x, y, L)
        }
    }

    static func q45_KWeighted(_ nmax: Int, _ x: UnsafePointer<Float>, _ qw: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        withScratch { L, Laux, weights, scales, mins in
            withScratch { Ls, Lm, sw, _, _ in
                var sumx2: Float = 0
                for l in 0..<256 { sumx2 += x[l] * x[l] }
                let sigma2 = 2 * sumx2 / 256
                for j in 0..<8 {
                    for l in 0..<32 { weights[l] = qw[32 * j + l] * (sigma2 + x[32 * j + l] * x[32 * j + l]).squareRoot() }
                    var s: Float = 0
                    for l in 0..<32 { s += weights[l] }
                    sw[j] = s
                    scales[j] = makeQkxQuants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -0.9, 0.05, 36, false)
                }
                let dBlock = makeQpQuants(8, 63, scales, Ls, sw)
                let mBlock = makeQpQuants(8, 63, mins, Lm, sw)
                let sc = (y + 4).assumingMemoryBound(to: UInt8.self)
                for j in 0..<8 { packKScale(j, Swift.min(63, Ls[j]), Swift.min(63, Lm[j]), sc) }
                storeHalf(dBlock, y, 0)
                storeHalf(mBlock, y, 2)
                q45_KFinish(nmax, x, y, L)
            }
        }
    }

    /// Stores 6-bit scale and min of sub-block `j` into the 12 Q4_K/Q5_K scale bytes.
    @inline(__always)
    static func packKScale(_ j: Int, _ ls: UInt8, _ lm: UInt8, _ sc: UnsafeMutablePointer<UInt8>) {
        if j < 4 {
            sc[j] = ls
            sc[j + 4] = lm
        } else {
            sc[j + 4] = (ls & 0xF) | ((lm & 0xF) << 4)
            sc[j - 4] |= (ls >> 4) << 6
            sc[j] |= (lm >> 4) << 6
        }
    }

    static func q45_KFinish(_ nmax: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, _ L: UnsafeMutablePointer<UInt8>) {
        let sc = UnsafePointer((y + 4).assumingMemoryBound(to: UInt8.self))
        let dAll = loadHalf(y, 0), mAll = loadHalf(y, 2)
        for j in 0..<8 {
            let (s, m) = kScaleMin(j, sc)
            let d = dAll * Float(s)
            if d == 0 { continue }
            let dm = mAll * Float(m)
            for ii in 0..<32 {
                let l = nearestInt((x[32 * j + ii] + dm) / d)
                L[32 * j + ii] = UInt8(Swift.max(0, Swift.min(nmax, l)))
            }
        }
        if nmax == 15 {
            var q = (y + 16).assumingMemoryBound(to: UInt8.self)
            for j in stride(from: 0, to: 256, by: 64) {
                for l in 0..<32 { q[l] = L[j + l] | (L[j + l + 32] << 4) }
                q += 32
            }
        } else {
            let qh = (y + 16).assumingMemoryBound(to: UInt8.self)
            var ql = (y + 48).assumingMemoryBound(to: UInt8.self)
            for j in 0..<32 { qh[j] = 0 }
            var m1: UInt8 = 1, m2: UInt8 = 2
            for n in stride(from: 0, to: 256, by: 64) {
                for j in 0..<32 {
                    var l1 = L[n + j]
                    if l1 > 15 { l1 -= 16; qh[j] |= m1 }
                    var l2 = L[n + j + 32]
                    if l2 > 15 { l2 -= 16; qh[j] |= m2 }
                    ql[j] = l1 | (l2 << 4)
                }
                m1 <<= 2; m2 <<= 2
                ql += 32
            }
        }
    }

    static func q6_K(_ x: UnsafePointer<Float>, _ qw: UnsafePointer<Float>?, _ y: UnsafeMutableRawPointer) {
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

    /// Stack scratch for one super-block: L (256), Laux (32), 32 weights, 16 scales, 16 mins.
    @inline(__always)
    static func withScratch<R>(_ body: (UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<Float>,
                                        UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> R) -> R {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256 + 32) { bytes in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 64) { floats in
                let b = bytes.baseAddress!, f = floats.baseAddress!
                b.initialize(repeating: 0, count: 288)
                f.initialize(repeating: 0, count: 64)
                return body(b, b + 256, f, f + 32, f + 48)
            }
        }
    }
}
