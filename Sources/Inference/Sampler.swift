#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TensorKernels

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
    // Scratch, one slot per vocabulary entry (raw pointers: no copy-on-write or bounds checks in the hot loops).
    private let logits: UnsafeMutablePointer<Float>
    private let ids: UnsafeMutablePointer<Int32>
    private let probs: UnsafeMutablePointer<Float>
    private let seen: UnsafeMutablePointer<Bool>
    private let buckets: UnsafeMutablePointer<Double>
    private let bucketCount = 1024

    public init(params: SamplingParams, vocab: Int) {
        self.params = params
        self.vocab = vocab
        self.rng = Xoshiro256(seed: params.seed)
        self.logits = .allocate(capacity: vocab)
        self.logits.initialize(repeating: 0, count: vocab)
        self.ids = .allocate(capacity: vocab)
        self.ids.initialize(repeating: 0, count: vocab)
        self.probs = .allocate(capacity: vocab)
        self.probs.initialize(repeating: 0, count: vocab)
        self.seen = .allocate(capacity: vocab)
        self.seen.initialize(repeating: false, count: vocab)
        self.buckets = .allocate(capacity: bucketCount)
        self.buckets.initialize(repeating: 0, count: bucketCount)
    }

    deinit {
        logits.deallocate()
        ids.deallocate()
        probs.deallocate()
        seen.deallocate()
        buckets.deallocate()
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
        logits.update(from: rawLogits.baseAddress!, count: vocab)
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
        return filterWholeVocabulary()
    }

    /// Top-p / min-p over the whole vocabulary without sorting it: a histogram of logits (buckets of
    /// equal width below the maximum) finds the smallest set of top buckets holding `topP` of the
    /// mass (and, for min-p, the logits at or above max + log(minP)); only that set is gathered and
    /// sorted, then cut exactly.
    private func filterWholeVocabulary() -> Int {
        let n = vocab
        let nb = bucketCount
        let range: Float = 40  // exp(-40): below this the mass is negligible; all goes to the last bucket
        let width = range / Float(nb - 1)
        let m = VectorOps.max(logits, n)
        buckets.update(repeating: 0, count: nb)
        // probs[i] temporarily holds e^(l_i - m) for the histogram.
        let z = Ops.expShifted(logits, n, minus: m, scale: 1, into: probs)
        for i in 0..<n {
            let d = m - logits[i]
            let b = d >= range ? nb - 1 : Int(d / width)
            buckets[b] += Double(probs[i])
        }
        // Last bucket to include: top-p reached, or min-p threshold passed.
        var last = nb - 1
        if params.topP < 1 {
            let target = Double(params.topP) * z
            var cum: Double = 0
            for b in 0..<nb {
                cum += buckets[b]
                if cum >= target { last = b; break }
            }
        }
        var cutoff = -Float.infinity
        if params.minP > 0 { cutoff = m + logf(params.minP) }
        let bucketFloor = last == nb - 1 ? -Float.infinity : m - Float(last + 1) * width
        // Gather every id whose logit could be in the result; the bucket arithmetic is exact up to
        // rounding at the bucket edge, so the floor is widened by one bucket.
        let floor = max(cutoff, bucketFloor - width)
        var count = 0
        for i in 0..<n where logits[i] >= floor {
            ids[count] = Int32(i)
            count += 1
        }
        if count == 0 {
            var best = 0
            for i in 0..<n where logits[i] > logits[best] { best = i }
            ids[0] = Int32(best)
            count = 1
        }
        let l = logits
        var toSort = UnsafeMutableBufferPointer(start: ids, count: count)
        toSort.sort { a, b in
            let la = l[Int(a)], lb = l[Int(b)]
            return la > lb || (la == lb && a < b)
        }
        for i in 0..<count { probs[i] = Float(Double(expf(logits[Int(ids[i])] - m)) / z) }
        let kept = cutTopPMinP(count)
        if kept == n { for i in 0..<n { ids[i] = Int32(i) } }  // the whole set: back to id order (see softmaxCandidates)
        return kept
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
        let l = logits
        let id = UnsafeMutableBufferPointer(start: ids, count: n)
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
        return k
    }

    private func softmaxCandidates(_ count: Int, temperature: Float) {
        if count == vocab {  // the whole vocabulary, ids in id order
            let m = VectorOps.max(logits, count)
            let sum = Ops.expShifted(logits, count, minus: m, scale: 1 / temperature, into: probs)
            let inv = Float(1 / sum)
            for i in 0..<count { probs[i] *= inv }
            return
        }
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
        let m = VectorOps.max(rawLogits.baseAddress!, vocab)
        let sum = Ops.expShifted(rawLogits.baseAddress!, vocab, minus: m, scale: 1 / t, into: nil)
        let logZ = Float(log(sum))
        func lp(_ i: Int) -> Float { (rawLogits[i] - m) / t - logZ }
        logits.update(from: rawLogits.baseAddress!, count: vocab)
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
            logits.update(from: buf.baseAddress!, count: vocab)
        }
        applyPenalty(history)
        let count = filterCandidates()
        return Array(UnsafeBufferPointer(start: ids, count: count))
    }

    /// The scratch logits after the penalty (test hook).
    func penalized(_ rawLogits: [Float], history: ArraySlice<Int32>) -> [Float] {
        rawLogits.withUnsafeBufferPointer { buf in
            logits.update(from: buf.baseAddress!, count: vocab)
        }
        applyPenalty(history)
        return Array(UnsafeBufferPointer(start: logits, count: vocab))
    }
}
