import Foundation
import TensorKernels
import Testing
@testable import Inference

private func sampler(_ p: SamplingParams, vocab: Int = 8) -> Sampler { Sampler(params: p, vocab: vocab) }

private let logits: [Float] = [1.0, 3.0, 2.0, -1.0, 0.5, 2.5, -3.0, 0.0]  // order: 1, 5, 2, 0, 4, 7, 3, 6

@Test func topKKeepsTheKLargestInOrder() {
    let s = sampler(SamplingParams(temperature: 1, topK: 3, topP: 1, minP: 0))
    #expect(s.candidates(logits) == [1, 5, 2])
    let all = sampler(SamplingParams(temperature: 1, topK: 0, topP: 1, minP: 0))
    #expect(all.candidates(logits) == [0, 1, 2, 3, 4, 5, 6, 7])  // no filter: the whole vocabulary, id order
    // Ties: lower id first.
    let tie = sampler(SamplingParams(temperature: 1, topK: 2, topP: 1, minP: 0), vocab: 4)
    #expect(tie.candidates([1, 2, 2, 0]) == [1, 2])
}

@Test func topPKeepsTheSmallestPrefixReachingP() {
    // Softmax of logits at T=1.
    let e = logits.map { exp(Double($0)) }
    let z = e.reduce(0, +)
    let order = [1, 5, 2, 0, 4, 7, 3, 6]
    var cum = 0.0
    var expectedCount = 0
    for i in order {
        cum += e[i] / z
        expectedCount += 1
        if cum >= 0.8 { break }
    }
    let s = sampler(SamplingParams(temperature: 1, topK: 0, topP: 0.8, minP: 0))
    #expect(s.candidates(logits) == order.prefix(expectedCount).map(Int32.init))
    #expect(expectedCount == 3)
    // topP tiny: only the best survives.
    #expect(sampler(SamplingParams(temperature: 1, topK: 0, topP: 0.01, minP: 0)).candidates(logits) == [1])
}

@Test func minPDropsTokensBelowAFractionOfTheBest() {
    // p_i / p_max = exp(l_i - 3): token 5 → e^-0.5 = 0.61, token 2 → e^-1 = 0.37, token 0 → e^-2 = 0.135.
    let s = sampler(SamplingParams(temperature: 1, topK: 0, topP: 1, minP: 0.3))
    #expect(s.candidates(logits) == [1, 5, 2])
    let t = sampler(SamplingParams(temperature: 1, topK: 0, topP: 1, minP: 0.1))
    #expect(t.candidates(logits) == [1, 5, 2, 0])
}

@Test func repetitionPenaltyDividesPositiveAndMultipliesNegativeLogits() {
    let s = sampler(SamplingParams(temperature: 0, topK: 0, topP: 1, minP: 0, repeatPenalty: 2, repeatLastN: 3))
    // History: last 3 are [1, 3, 1] → tokens 1 and 3 penalized once each; token 0 is outside the window.
    let out = s.penalized(logits, history: [0, 1, 3, 1][...])
    #expect(out[1] == 1.5)
    #expect(out[3] == -2.0)
    #expect(out[0] == 1.0)
    #expect(out[5] == 2.5)
    // Greedy picks 5 now that 1 is penalized.
    let pick = logits.withUnsafeBufferPointer { s.sample($0, history: [0, 1, 3, 1][...]) }
    #expect(pick == 5)
    let noPenalty = sampler(.greedy)
    #expect(logits.withUnsafeBufferPointer { noPenalty.sample($0, history: [1, 1][...]) } == 1)
}

@Test func seededSamplingIsReproducibleAndFollowsTheDistribution() {
    let p = SamplingParams(temperature: 1, topK: 0, topP: 1, minP: 0, seed: 99)
    func draw(_ seed: UInt64, _ n: Int) -> [Int32] {
        var q = p
        q.seed = seed
        let s = sampler(q)
        return (0..<n).map { _ in logits.withUnsafeBufferPointer { s.sample($0) } }
    }
    #expect(draw(99, 50) == draw(99, 50))
    #expect(draw(99, 50) != draw(100, 50))
    // Frequencies match softmax within a loose bound.
    let n = 20000
    let d = draw(7, n)
    let e = logits.map { exp(Double($0)) }
    let z = e.reduce(0, +)
    for tok in 0..<8 {
        let freq = Double(d.filter { $0 == tok }.count) / Double(n)
        #expect(abs(freq - e[tok] / z) < 0.015, "token \(tok)")
    }
    // reset() restarts the stream.
    let s = sampler(p)
    let first = (0..<10).map { _ in logits.withUnsafeBufferPointer { s.sample($0) } }
    s.reset(params: p)
    #expect((0..<10).map { _ in logits.withUnsafeBufferPointer { s.sample($0) } } == first)
}

@Test func lowTemperatureConcentratesOnTheBest() {
    let s = sampler(SamplingParams(temperature: 0.05, topK: 0, topP: 1, minP: 0, seed: 1))
    let d = (0..<200).map { _ in logits.withUnsafeBufferPointer { s.sample($0) } }
    #expect(d.allSatisfy { $0 == 1 })
}

@Test func logprobsAreALogSoftmaxOverTheWholeVocabulary() {
    let s = sampler(.greedy)
    let lp = logits.withUnsafeBufferPointer { s.logprobs($0, chosen: 2, k: 3, temperature: 1) }
    let z = logits.map { exp(Double($0)) }.reduce(0, +)
    #expect(abs(Double(lp.chosen.logprob) - (2.0 - log(z))) < 1e-5)
    #expect(lp.top.map(\.token) == [1, 5, 2])
    #expect(lp.top[0].logprob > lp.top[1].logprob)
    let all = logits.withUnsafeBufferPointer { s.logprobs($0, chosen: 0, k: 8, temperature: 2) }
    #expect(abs(all.top.map { exp(Double($0.logprob)) }.reduce(0, +) - 1) < 1e-5)
    #expect(all.temperature == 2)
}

@Test func fullVocabularyTopPAndMinPMatchABruteForceSort() {
    let n = 5000
    var rng = SplitMix64(seed: 77)
    let l = (0..<n).map { _ in rng.nextSymmetric() * 6 }
    let order = (0..<n).sorted { l[$0] > l[$1] || (l[$0] == l[$1] && $0 < $1) }
    let m = l.max()!
    let z = l.map { exp(Double($0 - m)) }.reduce(0, +)
    for (topP, minP) in [(Float(0.9), Float(0)), (0.5, 0), (0.999, 0), (1, 0.05), (0.95, 0.01)] {
        var count = n
        if topP < 1 {
            var cum = 0.0
            for (i, t) in order.enumerated() {
                cum += exp(Double(l[t] - m)) / z
                if cum >= Double(topP) { count = i + 1; break }
            }
        }
        if minP > 0 {
            let thr = exp(Double(l[order[0]] - m)) / z * Double(minP)
            var keep = 1
            while keep < count && exp(Double(l[order[keep]] - m)) / z >= thr { keep += 1 }
            count = keep
        }
        let s = Sampler(params: SamplingParams(temperature: 1, topK: 0, topP: topP, minP: minP), vocab: n)
        let got = s.candidates(l)
        // Allow a one-token difference at the cut from float vs double rounding of the running sum.
        #expect(abs(got.count - count) <= 1, "topP \(topP) minP \(minP): \(got.count) vs \(count)")
        #expect(Array(got.prefix(min(got.count, count))) == order.prefix(min(got.count, count)).map(Int32.init))
        #expect(count > 64 || topP < 0.6 || minP > 0.04)  // the doubling path is exercised
    }
}

/// The sampler's own SIMD helper (VectorOps.exp itself is TensorKernelsTests' to check): long enough
/// that the float partial sums are flushed to double, with a tail shorter than the vector width.
@Test func expShiftedSumsAndWritesTheScaledExponentials() {
    let xs: [Float] = (0..<5003).map { Float($0 % 1000) * 0.01 - 5 }
    var out = [Float](repeating: 0, count: xs.count)
    let sum = xs.withUnsafeBufferPointer { Ops.expShifted($0.baseAddress!, $0.count, minus: 1, scale: 0.5, into: &out) }
    let ref = xs.map { Double(expf(($0 - 1) * 0.5)) }
    #expect(abs(sum - ref.reduce(0, +)) / ref.reduce(0, +) < 1e-6)
    #expect(zip(out, ref).allSatisfy { abs(Double($0) - $1) <= 1e-6 * $1 })
    let sumOnly = xs.withUnsafeBufferPointer { Ops.expShifted($0.baseAddress!, $0.count, minus: 1, scale: 0.5, into: nil) }
    #expect(sumOnly == sum)
}
