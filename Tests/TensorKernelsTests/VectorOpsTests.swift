import Foundation
import Testing
@testable import TensorKernels

/// Lengths that exercise the 32-, 8- and 1-wide loops.
let vectorLengths = [1, 7, 8, 33, 100, 1000]

@Test(arguments: vectorLengths)
func dotAndAxpyMatchScalarLoops(_ n: Int) {
    let a = randomFloats(n, seed: 3), b = randomFloats(n, seed: 4)
    var ref = 0.0
    for i in 0..<n { ref += Double(a[i]) * Double(b[i]) }
    #expect(abs(Double(VectorOps.dot(a, b, n)) - ref) < 1e-5 * Double(n))
    var y = b
    VectorOps.axpy(0.5, a, &y, n)
    #expect((0..<n).allSatisfy { abs(y[$0] - (b[$0] + 0.5 * a[$0])) < 1e-6 })
    var z = b
    VectorOps.add(a, into: &z, n)
    #expect((0..<n).allSatisfy { z[$0] == b[$0] + a[$0] })
    var s = a
    VectorOps.scale(&s, 3, n)
    #expect((0..<n).allSatisfy { s[$0] == a[$0] * 3 })
}

@Test(arguments: vectorLengths)
func rmsNormMatchesDefinition(_ n: Int) {
    let x = randomFloats(n, seed: 5), w = randomFloats(n, seed: 6)
    var out = [Float](repeating: 0, count: n)
    VectorOps.rmsNorm(x, w, &out, n, eps: 1e-6)
    let ms = x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(n)
    let inv = 1 / (ms + 1e-6).squareRoot()
    for i in 0..<n { #expect(abs(Double(out[i]) - Double(x[i]) * inv * Double(w[i])) < 1e-5) }
    // In place.
    var y = x
    y.withUnsafeMutableBufferPointer { VectorOps.rmsNorm($0.baseAddress!, w, $0.baseAddress!, n, eps: 1e-6) }
    #expect(y == out)
}

@Test(arguments: vectorLengths)
func softmaxIsStableAndNormalised(_ n: Int) {
    var x = randomFloats(n, seed: 8).map { $0 * 50 + 1000 } // large logits must not overflow
    let orig = x
    let sum = VectorOps.softmax(&x, n)
    let total = x.reduce(0.0) { $0 + Double($1) }
    #expect(abs(total - 1) < 1e-5)
    #expect(sum >= 1)
    let m = orig.max()!
    let z = orig.reduce(0.0) { $0 + exp(Double($1 - m)) }
    for i in 0..<n { #expect(abs(Double(x[i]) - exp(Double(orig[i] - m)) / z) < 1e-6) }
    #expect(VectorOps.max(orig, n) == m)
    #expect(VectorOps.argmax(orig, n) == orig.firstIndex(of: m))
}

@Test func swigluAndSilu() {
    let n = 19
    let g = randomFloats(n, seed: 9).map { $0 * 4 }, u = randomFloats(n, seed: 10)
    var out = [Float](repeating: 0, count: n)
    VectorOps.swiglu(g, u, &out, n)
    for i in 0..<n {
        let silu = Double(g[i]) / (1 + exp(-Double(g[i])))
        #expect(abs(Double(out[i]) - silu * Double(u[i])) < 1e-5)
    }
    var s = g
    VectorOps.silu(&s, n)
    for i in 0..<n { #expect(abs(Double(s[i]) - Double(g[i]) / (1 + exp(-Double(g[i])))) < 1e-5) }
}

@Test(arguments: vectorLengths)
func halfAndBFloatRowConversions(_ n: Int) {
    let x = randomFloats(n, seed: 11).map { $0 * 1000 }
    var h = [UInt16](repeating: 0, count: n)
    VectorOps.f32ToF16(x, &h, n)
    #expect((0..<n).allSatisfy { h[$0] == Float16(x[$0]).bitPattern })
    var back = [Float](repeating: 0, count: n)
    VectorOps.f16ToF32(h, &back, n)
    #expect((0..<n).allSatisfy { back[$0] == Float(Float16(bitPattern: h[$0])) })
    let bf = x.map { Quantize.bf16Bits($0) }
    VectorOps.bf16ToF32(bf, &back, n)
    #expect((0..<n).allSatisfy { back[$0] == Float(bitPattern: UInt32(bf[$0]) << 16) })
    // F16 dot / axpy against the converted floats.
    let b = randomFloats(n, seed: 12)
    var ref: Float = 0
    for i in 0..<n { ref += Float(Float16(bitPattern: h[i])) * b[i] }
    #expect(abs(VectorOps.dotF16(h, b, n) - ref) <= 1e-3 * max(1, abs(ref)))
    var y = b
    VectorOps.axpyF16(2, h, &y, n)
    #expect((0..<n).allSatisfy { abs(y[$0] - (b[$0] + 2 * Float(Float16(bitPattern: h[$0])))) <= 1e-3 * max(1, abs(y[$0])) })
}

@Test func vectorExpIsAccurateOverTheFloatRange() {
    var worst = 0.0
    var x: Float = -87
    while x < 88.2 {
        let v = SIMD8<Float>(x, x + 0.013, x + 0.029, x + 0.047, x + 0.061, x + 0.079, x + 0.083, x + 0.097)
        let e = VectorOps.exp(v)
        for k in 0..<8 {
            let ref = Foundation.exp(Double(v[k]))
            worst = max(worst, abs(Double(e[k]) - ref) / ref)
        }
        x += 0.1
    }
    #expect(worst < 5e-7, "worst relative error \(worst)")
    let extremes = VectorOps.exp(SIMD8<Float>(-1000, -100, 100, 1000, 0, 1, -1, 0.5))
    #expect(extremes[0] < 1e-37 && extremes[1] < 1e-37 && extremes[2] > 1e38 && extremes[3] > 1e38 && extremes[3].isFinite)
    #expect(extremes[4] == 1 && abs(extremes[5] - 2.7182817) < 1e-6)
}

/// The attention helpers over an F16 KV cache give the same numbers, bit for bit, as the plain
/// per-head, per-position forms they replace (`dotF16` per head and key; `axpyF16` per position
/// and head from zero): greedy outputs must not move when they are used.
@Test(arguments: [(64, 3, 21), (128, 6, 40), (80, 7, 9), (64, 1, 8), (72, 4, 5)])
func attentionF16HelpersMatchThePerHeadForms(_ shape: (dim: Int, heads: Int, positions: Int)) {
    let (dim, heads, n) = shape
    let keyStride = dim * 2 + 8  // two KV heads per row, padded: rows are not contiguous
    let keys = randomFloats(n * keyStride, seed: 21).map { Float16($0 * 3).bitPattern }
    let q = randomFloats(heads * dim, seed: 22)
    let scale: Float = 0.125
    var scores = [Float](repeating: .nan, count: heads * n)
    var scratch = [Float](repeating: 0, count: 8 * dim)
    VectorOps.scoresF16(keys: keys, keyStride: keyStride, count: n, queries: q, qStride: dim, heads: heads, dim: dim,
                        scale: scale, &scores, outStride: n, scratch: &scratch)
    var mismatches = 0
    for g in 0..<heads {
        for p in 0..<n {
            let want = keys.withUnsafeBufferPointer { k in
                q.withUnsafeBufferPointer { qb in VectorOps.dotF16(k.baseAddress! + p * keyStride, qb.baseAddress! + g * dim, dim) }
            } * scale
            if scores[g * n + p].bitPattern != want.bitPattern { mismatches += 1 }
        }
    }
    #expect(mismatches == 0, "scoresF16: \(mismatches) of \(heads * n) scores differ from dotF16")

    // Weighted sum of the values with softmax-like weights.
    let weights = randomFloats(heads * n, seed: 23).map { abs($0) }
    var out = [Float](repeating: .nan, count: heads * dim)
    VectorOps.weightedSumF16(weights, wStride: n, heads: heads, keys, rowStride: keyStride, count: n, width: dim,
                             &out, outStride: dim)
    mismatches = 0
    for g in 0..<heads {
        var want = [Float](repeating: 0, count: dim)
        for p in 0..<n {
            keys.withUnsafeBufferPointer { k in VectorOps.axpyF16(weights[g * n + p], k.baseAddress! + p * keyStride, &want, dim) }
        }
        for j in 0..<dim where out[g * dim + j].bitPattern != want[j].bitPattern { mismatches += 1 }
    }
    #expect(mismatches == 0, "weightedSumF16: \(mismatches) of \(heads * dim) sums differ from axpyF16")
}
