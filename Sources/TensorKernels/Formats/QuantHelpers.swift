/// What the formats' files share: fp16 fields of blocks, and the scale searches and packings of
/// ggml's quantisers (the same arithmetic as ggml-quants.c, so that every quantiser stays
/// bit-exact with llama-quantize).

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

/// Each byte of a qword set to `b`: the mask of that byte value in every lane (the `rows8` recodings work on a row's
/// eight byte lanes at once: `Q3_KBits`, `Q5_KBits`, `Q6_KBits`, `Repack.toUnits`).
@inline(__always)
func byteLanes(_ b: UInt64) -> UInt64 { b &* 0x0101_0101_0101_0101 }

// MARK: - Scale searches

let groupMaxEps: Float = 1e-15

/// Round to nearest, ties to even, through the 1.5·2^23 trick ggml uses (`nearest_int`).
@inline(__always)
func nearestInt(_ f: Float) -> Int {
    let v = f + 12582912
    return Int(v.bitPattern & 0x007f_ffff) - 0x0040_0000
}

/// The value of largest magnitude among `x[0..<n]` (the first on ties) and that magnitude.
@inline(__always)
func signedAbsMax(_ x: UnsafePointer<Float>, _ n: Int) -> (max: Float, amax: Float) {
    var max: Float = 0, amax: Float = 0
    for i in 0..<n {
        let ax = abs(x[i])
        if ax > amax { amax = ax; max = x[i] }
    }
    return (max, amax)
}

/// ggml's importance weights of one group, `qw[i] · √(σ² + x[i]²)`, written to `w`; returns their sum.
@inline(__always)
@discardableResult
func importanceWeights(_ x: UnsafePointer<Float>, _ qw: UnsafePointer<Float>, _ n: Int, _ sigma2: Float,
                       into w: UnsafeMutablePointer<Float>) -> Float {
    for i in 0..<n { w[i] = qw[i] * (sigma2 + x[i] * x[i]).squareRoot() }
    var s: Float = 0
    for i in 0..<n { s += w[i] }
    return s
}

/// Symmetric quantization of `n` values to `-nmax..<nmax` (stored +nmax in `L`) with a
/// weighted least-squares scale search (ggml `make_qx_quants`, rmse_type 1).
/// Weights are `qw[i]` when given, else `x[i]²`.
func makeQxQuants(_ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<Int8>,
                  _ qw: UnsafePointer<Float>?) -> Float {
    let (max, amax) = signedAbsMax(x, n)
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
func makeQ3Quants(_ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<Int8>) -> Float {
    let (max, amax) = signedAbsMax(x, n)
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
func makeQkxQuants(_ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ weights: UnsafePointer<Float>,
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
func makeQpQuants(_ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<UInt8>,
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

/// Stack scratch for one super-block: L (256), Laux (32), 32 weights, 16 scales, 16 mins.
func withScratch<R>(_ body: (UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<Float>,
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

// MARK: - Q4_0, Q4_1, Q5_0, Q5_1 (32-element blocks of 4 or 5 bits)

/// Packs 32 quants (values in 0..<32) as Q4/Q5 nibbles plus, for 5-bit types, the qh word.
@inline(__always)
func packLegacy(_ L: UnsafePointer<UInt8>, _ qs: UnsafeMutablePointer<UInt8>) -> UInt32 {
    var qh: UInt32 = 0
    for j in 0..<16 {
        let a = L[j], b = L[j + 16]
        qs[j] = (a & 0xF) | ((b & 0xF) << 4)
        qh |= UInt32((a & 0x10) >> 4) << UInt32(j)
        qh |= UInt32((b & 0x10) >> 4) << UInt32(j + 16)
    }
    return qh
}

/// Packs the 32 quants `L` (0..<32) of a Q4_0/Q5_0 (`bits` 4/5) or Q4_1/Q5_1 (`withMin`) block after
/// its fp16 scale (and min): the nibbles, for 5 bits after the word of fifth bits.
@inline(__always)
func storeLegacyQuants(_ bits: Int, _ withMin: Bool, _ L: UnsafePointer<UInt8>, _ y: UnsafeMutableRawPointer) {
    let head = withMin ? 4 : 2
    if bits == 4 {
        _ = packLegacy(L, (y + head).assumingMemoryBound(to: UInt8.self))
    } else {
        let qh = packLegacy(L, (y + head + 4).assumingMemoryBound(to: UInt8.self))
        y.storeBytes(of: qh, toByteOffset: head, as: UInt32.self)
    }
}

/// Q4_0/Q5_0 (`bits` 4/5, no min) or Q4_1/Q5_1 (`withMin`) reference quantizer of one block.
func legacyRef(_ bits: Int, _ withMin: Bool, _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { Lb in
        let L = Lb.baseAddress!
        if !withMin {
            let half: Float = bits == 4 ? 8 : 16
            let top = bits == 4 ? 15 : 31
            var amax: Float = 0, max: Float = 0
            for j in 0..<32 where amax < abs(x[j]) { amax = abs(x[j]); max = x[j] }
            let d = max / -half
            let id: Float = d != 0 ? 1 / d : 0
            storeHalf(d, y, 0)
            for j in 0..<32 { L[j] = UInt8(Swift.min(top, Int(x[j] * id + (half + 0.5)))) }
            storeLegacyQuants(bits, withMin, L, y)
        } else {
            var min = Float.greatestFiniteMagnitude, max = -Float.greatestFiniteMagnitude
            for j in 0..<32 {
                if x[j] < min { min = x[j] }
                if x[j] > max { max = x[j] }
            }
            let levels: Float = bits == 4 ? 15 : 31
            let d = (max - min) / levels
            let id: Float = d != 0 ? 1 / d : 0
            storeHalf(d, y, 0)
            storeHalf(min, y, 2)
            for j in 0..<32 {
                let v = Int((x[j] - min) * id + 0.5)
                L[j] = UInt8(bits == 4 ? Swift.min(15, v) : v & 0xFF)
            }
            storeLegacyQuants(bits, withMin, L, y)
        }
    }
}

/// Q4_0/Q5_0 or Q4_1/Q5_1 importance-weighted quantizer of one block (`sigma2`: the row's mean square).
func legacyWeighted(_ bits: Int, _ withMin: Bool, _ x: UnsafePointer<Float>, _ qw: UnsafePointer<Float>, _ sigma2: Float,
                    _ y: UnsafeMutableRawPointer) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { wb in
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { lb in
            let weight = wb.baseAddress!, L = lb.baseAddress!, Laux = L + 32
            importanceWeights(x, qw, 32, sigma2, into: weight)
            if !withMin {
                let nmax = bits == 4 ? 8 : 16
                let d = L.withMemoryRebound(to: Int8.self, capacity: 32) { makeQxQuants(32, nmax, x, $0, weight) }
                storeHalf(d, y, 0)
                storeLegacyQuants(bits, withMin, L, y)
            } else {
                var min: Float = 0
                let d = makeQkxQuants(32, bits == 4 ? 15 : 31, x, weight, L, &min, Laux, -0.9, 0.05, 36, false)
                storeHalf(d, y, 0)
                storeHalf(-min, y, 2)
                storeLegacyQuants(bits, withMin, L, y)
            }
        }
    }
}

/// A row of Q4_0/Q4_1/Q5_0/Q5_1 blocks (`bytes` each): with `importance`, weighted by it and by the
/// row's variance (ggml's `quantize_row_*_impl`), else the reference quantizer.
@inline(__always)
func legacyQuantizeRow(_ bits: Int, _ withMin: Bool, _ bytes: Int, _ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer,
                       _ count: Int, _ importance: UnsafePointer<Float>?) {
    let nb = count / 32
    if let qw = importance {
        var sumx2: Float = 0
        for j in 0..<count { sumx2 += src[j] * src[j] }
        let sigma2 = sumx2 / Float(count)
        for i in 0..<nb { legacyWeighted(bits, withMin, src + 32 * i, qw + 32 * i, sigma2, dst + bytes * i) }
    } else {
        for i in 0..<nb { legacyRef(bits, withMin, src + 32 * i, dst + bytes * i) }
    }
}

// MARK: - K-quants (256-element super-blocks)

/// Packs 2-bit values of 256 quants the Q2_K / Q3_K way: byte l of each 32-byte half holds
/// elements l, l+32, l+64, l+96 of that 128-element half.
@inline(__always)
func pack2Bit(_ L: UnsafePointer<UInt8>, _ qs: UnsafeMutablePointer<UInt8>) {
    for j in stride(from: 0, to: 256, by: 128) {
        for l in 0..<32 {
            qs[j / 4 + l] = L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6)
        }
    }
}

// MARK: - Q4_K and Q5_K (the same scales, 4 or 5 bits)

/// Q4_K (`nmax` 15) and Q5_K (`nmax` 31) reference quantizer.
func q45_K(_ nmax: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
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

func q45_KWeighted(_ nmax: Int, _ x: UnsafePointer<Float>, _ qw: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
    withScratch { L, Laux, weights, scales, mins in
        withScratch { Ls, Lm, sw, _, _ in
            var sumx2: Float = 0
            for l in 0..<256 { sumx2 += x[l] * x[l] }
            let sigma2 = 2 * sumx2 / 256
            for j in 0..<8 {
                sw[j] = importanceWeights(x + 32 * j, qw + 32 * j, 32, sigma2, into: weights)
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
func packKScale(_ j: Int, _ ls: UInt8, _ lm: UInt8, _ sc: UnsafeMutablePointer<UInt8>) {
    if j < 4 {
        sc[j] = ls
        sc[j + 4] = lm
    } else {
        sc[j + 4] = (ls & 0xF) | ((lm & 0xF) << 4)
        sc[j - 4] |= (ls >> 4) << 6
        sc[j] |= (lm >> 4) << 6
    }
}

func q45_KFinish(_ nmax: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, _ L: UnsafeMutablePointer<UInt8>) {
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
