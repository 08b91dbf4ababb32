#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How the next token is chosen. `temperature <= 0` is greedy (argmax after the repetition penalty).
///
/// Order (llama.cpp's default chain): repetition penalty → top-k → top-p → min-p → temperature → draw.
/// Each filter is off at its neutral value: topK 0, topP 1, minP 0, repeatPenalty 1.
public struct SamplingParams: Sendable, Equatable, Codable {
    public var temperature: Float
    public var topK: Int
    public var topP: Float
    public var minP: Float
    /// llama.cpp semantics: over the distinct tokens among the last `repeatLastN` of the sequence
    /// (prompt included), positive logits are divided by the penalty, negative ones multiplied.
    public var repeatPenalty: Float
    public var repeatLastN: Int
    /// Seeds the sequence's own generator, so results do not depend on batch companions.
    public var seed: UInt64

    public init(temperature: Float = 0.8, topK: Int = 40, topP: Float = 0.95, minP: Float = 0.05,
                repeatPenalty: Float = 1.0, repeatLastN: Int = 64, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repeatPenalty = repeatPenalty
        self.repeatLastN = repeatLastN
        self.seed = seed
    }

    /// Greedy decoding.
    public static let greedy = SamplingParams(temperature: 0, topK: 0, topP: 1, minP: 0)
}

/// A token and its log-probability.
public struct TokenLogprob: Sendable, Equatable, Codable {
    public var token: Int32
    public var logprob: Float
    public init(token: Int32, logprob: Float) {
        self.token = token
        self.logprob = logprob
    }
}

/// Log-probabilities of a chosen token and the `k` most likely alternatives.
public struct Logprobs: Sendable, Equatable, Codable {
    /// The chosen token's log-probability.
    public var chosen: TokenLogprob
    /// The top `k` tokens, most likely first.
    public var top: [TokenLogprob]
    /// Temperature of the softmax they were taken at.
    public var temperature: Float
}

/// xoshiro256** seeded through SplitMix64: a small, fast, reproducible generator.
public struct Xoshiro256: RandomNumberGenerator, Sendable {
    var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        s = (sm.next(), sm.next(), sm.next(), sm.next())
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public mutating func next() -> UInt64 {
        let result = Self.rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = Self.rotl(s.3, 45)
        return result
    }

    /// Uniform in [0, 1) with 53 bits.
    public mutating func nextDouble() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }
}

/// Samples tokens for one sequence. Owns its generator state and scratch (sized to the vocabulary at
/// init), so sampling allocates nothing per token.
public final class Sampler {
    public private(set) var params: SamplingParams
    public let vocab: Int
    private var rng: Xoshiro256
    private var logits: [Float]
    private var ids: [Int32]
    private var probs: [Float]
    private var seen: [Bool]

    public init(params: SamplingParams, vocab: Int) {
        self.params = params
        self.vocab = vocab
        self.rng = Xoshiro256(seed: params.seed)
        self.logits = [Float](repeating: 0, count: vocab)
        self.ids = [Int32](repeating: 0, count: vocab)
        self.probs = [Float](repeating: 0, count: vocab)
        self.seen = [Bool](repeating: false, count: vocab)
    }

    /// Starts over with new parameters (and a generator freshly seeded from `params.seed`), keeping the scratch.
    public func reset(params: SamplingParams) {
        self.params = params
        self.rng = Xoshiro256(seed: params.seed)
    }

    /// Picks the next token from `rawLogits`, given the sequence so far in `history` (for the penalty).
    public func sample(_ rawLogits: UnsafeBufferPointer<Float>, history: ArraySlice<Int32> = []) -> Int32 {
        precondition(rawLogits.count == vocab)
        let n = vocab
        logits.withUnsafeMutableBufferPointer { l in
            _ = l.initialize(from: rawLogits)
        }
        applyPenalty(history)
        if params.temperature <= 0 {
            var best = 0
            for i in 1..<n where logits[i] > logits[best] { best = i }
            return Int32(best)
        }
        let count = filterCandidates()
        softmaxCandidates(count, temperature: params.temperature)
        let r = Float(rng.nextDouble())
        var cum: Float = 0
        for i in 0..<count {
            cum += probs[i]
            if r < cum { return ids[i] }
        }
        return ids[count - 1]
    }

    /// Top-k, then top-p and min-p on the T = 1 distribution (llama.cpp filters before temperature).
    /// Leaves the survivors, most likely first, in `ids[0..<count]` and returns `count`.
    ///
    /// Without top-k the candidate set is the whole vocabulary; rather than sorting it (slow for a
    /// 152k vocabulary), the best 64, 256, ... are selected until they hold `topP` of the probability
    /// mass (normalized over the whole vocabulary), which gives the same prefix.
    private func filterCandidates() -> Int {
        for i in 0..<vocab { ids[i] = Int32(i) }
        let filtering = params.topP < 1 || params.minP > 0
        if params.topK > 0 && params.topK < vocab {
            var count = selectTop(params.topK)
            if filtering {
                softmaxCandidates(count, temperature: 1)
                count = cutTopPMinP(count)
            }
            return count
        }
        // Whole vocabulary.
        if !filtering { return vocab }  // no filter: draw over ids in id order
        var m = -Float.infinity
        for x in logits where x > m { m = x }
        var z: Double = 0
        for x in logits { z += Double(expf(x - m)) }
        var need = vocab
        if params.minP > 0 {
            let threshold = m + logf(params.minP)
            need = 0
            for x in logits where x >= threshold { need += 1 }
            need = max(need, 1)
        }
        var k = params.topP >= 1 ? need : min(need, 64)
        while true {
            _ = selectTop(k)
            var cum: Double = 0
            for i in 0..<k {
                let p = Double(expf(logits[Int(ids[i])] - m)) / z
                probs[i] = Float(p)
                cum += p
            }
            if params.topP >= 1 || cum >= Double(params.topP) || k == need { break }
            k = min(need, k * 4)
        }
        return cutTopPMinP(k)
    }

    /// Cuts the sorted candidates `0..<count` (with `probs` filled) by top-p, then min-p.
    private func cutTopPMinP(_ n: Int) -> Int {
        var count = n
        if params.topP < 1 {
            var cum: Float = 0
            var keep = count
            for i in 0..<count {
                cum += probs[i]
                if cum >= params.topP { keep = i + 1; break }
            }
            count = max(1, keep)
        }
        if params.minP > 0 {
            let threshold = probs[0] * params.minP
            var keep = 1
            while keep < count && probs[keep] >= threshold { keep += 1 }
            count = keep
        }
        return count
    }

    /// Applies the repetition penalty to the scratch logits.
    private func applyPenalty(_ history: ArraySlice<Int32>) {
        let p = params.repeatPenalty
        guard p != 1, params.repeatLastN != 0, !history.isEmpty else { return }
        let last = params.repeatLastN < 0 ? history : history.suffix(params.repeatLastN)
        for t in last where t >= 0 && Int(t) < vocab && !seen[Int(t)] {
            seen[Int(t)] = true
            let i = Int(t)
            logits[i] = logits[i] > 0 ? logits[i] / p : logits[i] * p
        }
        for t in last where t >= 0 && Int(t) < vocab { seen[Int(t)] = false }
    }

    /// Orders `ids` so its first `k` entries are the `k` largest logits, descending (ties: lower id first).
    /// Returns `k`.
    private func selectTop(_ k: Int) -> Int {
        let n = vocab
        logits.withUnsafeBufferPointer { l in
            ids.withUnsafeMutableBufferPointer { id in
                func before(_ a: Int32, _ b: Int32) -> Bool {
                    let la = l[Int(a)], lb = l[Int(b)]
                    return la > lb || (la == lb && a < b)
                }
                if k < n {
                    // Keep a min-heap of the best k in id[0..<k] (root = worst kept).
                    func siftDown(_ start: Int) {
                        var i = start
                        while true {
                            let a = 2 * i + 1, b = a + 1
                            var m = i
                            if a < k && before(id[m], id[a]) { m = a }
                            if b < k && before(id[m], id[b]) { m = b }
                            if m == i { return }
                            id.swapAt(i, m)
                            i = m
                        }
                    }
                    for i in stride(from: k / 2 - 1, through: 0, by: -1) { siftDown(i) }
                    for j in k..<n where before(id[j], id[0]) {
                        id.swapAt(0, j)  // keep ids a permutation, so a later call with a larger k still sees every token
                        siftDown(0)
                    }
                }
                id[0..<k].sort(by: before)
            }
        }
        return k
    }

    private func softmaxCandidates(_ count: Int, temperature: Float) {
        var m = -Float.infinity
        for i in 0..<count where logits[Int(ids[i])] > m { m = logits[Int(ids[i])] }
        var sum: Double = 0
        for i in 0..<count {
            let e = expf((logits[Int(ids[i])] - m) / temperature)
            probs[i] = e
            sum += Double(e)
        }
        let inv = Float(1 / sum)
        for i in 0..<count { probs[i] *= inv }
    }

    /// Log-softmax of `rawLogits / temperature` over the whole vocabulary: the chosen token's value and the top `k`.
    public func logprobs(_ rawLogits: UnsafeBufferPointer<Float>, chosen: Int32, k: Int, temperature: Float = 1) -> Logprobs {
        precondition(rawLogits.count == vocab)
        let t = temperature > 0 ? temperature : 1
        var m = -Float.infinity
        for x in rawLogits where x > m { m = x }
        var sum: Double = 0
        for x in rawLogits { sum += Double(expf((x - m) / t)) }
        let logZ = Float(log(sum))
        func lp(_ i: Int) -> Float { (rawLogits[i] - m) / t - logZ }
        logits.withUnsafeMutableBufferPointer { l in _ = l.initialize(from: rawLogits) }
        for i in 0..<vocab { ids[i] = Int32(i) }
        let kk = min(max(k, 0), vocab)
        var top: [TokenLogprob] = []
        if kk > 0 {
            _ = selectTop(kk)
            top.reserveCapacity(kk)
            for i in 0..<kk { top.append(TokenLogprob(token: ids[i], logprob: lp(Int(ids[i])))) }
        }
        return Logprobs(chosen: TokenLogprob(token: chosen, logprob: lp(Int(chosen))), top: top, temperature: t)
    }

    // MARK: Test hooks

    /// The candidates that survive penalty, top-k, top-p and min-p (most likely first), without drawing.
    func candidates(_ rawLogits: [Float], history: ArraySlice<Int32> = []) -> [Int32] {
        rawLogits.withUnsafeBufferPointer { buf in
            logits.withUnsafeMutableBufferPointer { l in _ = l.initialize(from: buf) }
        }
        applyPenalty(history)
        let count = filterCandidates()
        return Array(ids[0..<count])
    }

    /// The scratch logits after the penalty (test hook).
    func penalized(_ rawLogits: [Float], history: ArraySlice<Int32>) -> [Float] {
        rawLogits.withUnsafeBufferPointer { buf in
            logits.withUnsafeMutableBufferPointer { l in _ = l.initialize(from: buf) }
        }
        applyPenalty(history)
        return logits
    }
}
