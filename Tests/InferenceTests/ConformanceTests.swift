import Foundation
import Testing
import TensorKernels
@testable import Inference

/// The provenance file regen.sh writes next to each fixture.
private struct Reference: Decodable {
    var model: String
    var model_sha256: String
    var tokens: [Int32]
    var n_tokens: Int
    var n_vocab: Int
    var logits_file: String
    var greedy: [Int32]
}

private let fixtureNames = [
    "tiny-qwen2-f32-seed7", "tiny-qwen2-f16-seed7", "tiny-llama-f32-seed7", "tiny-llama-f16-seed7",
    // RoPE variants: YaRN (factor 4, original context 64), linear (factor 2), Llama-3.1 rope_freqs.
    "tiny-qwen2-f32-seed7-yarn", "tiny-llama-f32-seed7-linear", "tiny-llama-f32-seed7-ropefreqs",
    // Every quantised type (qwen2), and the ones the llama-family models here use (llama).
    "tiny-qwen2-q8_0-seed7", "tiny-qwen2-q4_0-seed7", "tiny-qwen2-q4_1-seed7", "tiny-qwen2-q5_0-seed7",
    "tiny-qwen2-q5_1-seed7", "tiny-qwen2-q2_K-seed7", "tiny-qwen2-q3_K-seed7", "tiny-qwen2-q4_K-seed7",
    "tiny-qwen2-q5_K-seed7", "tiny-qwen2-q6_K-seed7",
    "tiny-llama-q8_0-seed7", "tiny-llama-q4_1-seed7", "tiny-llama-q4_K-seed7", "tiny-llama-q6_K-seed7",
]

/// The options a fixture name's suffix stands for (the same as the dev-tiny-model flags in Fixtures/README.md).
private func options(_ suffix: String?) -> TinyModel.Options {
    switch suffix {
    case "yarn": return TinyModel.Options(ropeScaling: "yarn", ropeFactor: 4, originalContext: 64)
    case "linear": return TinyModel.Options(ropeScaling: "linear", ropeFactor: 2)
    case "ropefreqs": return TinyModel.Options(ropeFreqs: true)
    default: return TinyModel.Options()
    }
}

private func fixture(_ name: String) throws -> URL {
    try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"), "missing fixture \(name)")
}

/// Every kernel level this host can run: each must agree with llama.cpp.
private let hostLevels = KernelLevel.supported()

@Test(arguments: fixtureNames, hostLevels)
func logitsMatchLlamaCpp(name: String, level: KernelLevel) throws {
    let ref = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: try fixture(name + ".ref.json")))
    // Regenerate the model from its name: tiny-<arch>-<type>-seed<N>[-<variant>].
    let parts = name.split(separator: "-")
    let arch = String(parts[1])
    let type = try #require(GGMLType(name: String(parts[2])))
    let seed = try #require(UInt64(parts[3].dropFirst(4)))
    let path = Tiny.dir + "/\(name)-\(level).gguf"  // one file per test case: cases run in parallel
    try TinyModel.write(arch: arch, type: type, path: path, seed: seed, options: options(parts.count > 4 ? String(parts[4]) : nil))
    let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    try #require(sha256Hex(bytes) == ref.model_sha256,
                 "TinyModel no longer writes the model the fixture was made from; regenerate (Fixtures/README.md)")

    let model = try Model.load(path: path)
    #expect(model.config.vocab == ref.n_vocab)
    let expected: [Float] = try Data(contentsOf: try fixture(ref.logits_file)).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    #expect(expected.count == ref.n_tokens * ref.n_vocab)

    let n = ref.tokens.count
    let e = InferenceEngine(model: model, threads: testThreads, maxSequences: 1, contextLength: n + ref.greedy.count,
                            maxBatchTokens: n, maxLogitRows: n, kernelLevel: level)
    try e.forward(ref.tokens.enumerated().map { BatchToken(seq: 0, token: $1, pos: $0, wantLogits: true) })
    // F32: float rounding only. F16: llama.cpp rounds activations to f16 for f16 weights, we do
    // not. Quantised types: the same 8-bit activations and integer sums as ggml, so most rows
    // agree to ~1e-5; but a float summation-order difference can move one activation across a
    // rounding boundary (one quant step), which shows as ~0.05 in the rows after it. So: at
    // least three quarters of the positions within 1e-4, all within 0.25, and mean KLD < 1e-4.
    let quantized = type != .f32 && type != .f16
    let tolerance: Float = type == .f32 ? 1e-3 : type == .f16 ? 3e-2 : 0.25
    var worst: Float = 0, close = 0, kld = 0.0
    for i in 0..<n {
        let row = Array(expected[(i * ref.n_vocab)..<((i + 1) * ref.n_vocab)])
        let got = Array(e.logits(row: i))
        let d = maxAbsDiff(got, row[...])
        worst = max(worst, d)
        if d <= 1e-4 { close += 1 }
        kld += klDivergence(reference: row, candidate: got) / Double(n)
    }
    #expect(worst <= tolerance, "\(name) \(level): max abs logit difference \(worst) vs llama.cpp")
    if quantized {
        #expect(close * 4 >= n * 3, "\(name) \(level): only \(close) of \(n) positions within 1e-4 of llama.cpp")
        #expect(kld < 1e-4, "\(name) \(level): mean KL divergence \(kld) from llama.cpp")
    }

    // Greedy continuation, one token per step.
    var next = argmax(Array(e.logits(row: n - 1)))
    var greedy: [Int32] = []
    for i in 0..<ref.greedy.count {
        greedy.append(next)
        if i == ref.greedy.count - 1 { break }
        try e.forward([BatchToken(seq: 0, token: next, pos: n + i, wantLogits: true)])
        next = argmax(Array(e.logits(row: 0)))
    }
    #expect(greedy == ref.greedy, "\(name) \(level): greedy continuation differs from llama.cpp")
}

// MARK: SHA-256 (FIPS 180-4), for checking regenerated models against the fixtures.

func sha256Hex(_ data: Data) -> String {
    let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]
    var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    var msg = [UInt8](data)
    let bitLen = UInt64(msg.count) * 8
    msg.append(0x80)
    while msg.count % 64 != 56 { msg.append(0) }
    for i in (0..<8).reversed() { msg.append(UInt8(truncatingIfNeeded: bitLen >> (UInt64(i) * 8))) }
    func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
    var w = [UInt32](repeating: 0, count: 64)
    for chunk in stride(from: 0, to: msg.count, by: 64) {
        for i in 0..<16 {
            let b = chunk + 4 * i
            w[i] = UInt32(msg[b]) << 24 | UInt32(msg[b + 1]) << 16 | UInt32(msg[b + 2]) << 8 | UInt32(msg[b + 3])
        }
        for i in 16..<64 {
            let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
            let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
            w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
        }
        var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
        for i in 0..<64 {
            let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
            let ch = (e & f) ^ (~e & g)
            let t1 = hh &+ s1 &+ ch &+ k[i] &+ w[i]
            let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
            let maj = (a & b) ^ (a & c) ^ (b & c)
            let t2 = s0 &+ maj
            (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
        }
        h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= d; h[4] &+= e; h[5] &+= f; h[6] &+= g; h[7] &+= hh
    }
    return h.map { String(format: "%08x", $0) }.joined()
}

@Test func sha256KnownAnswers() {
    #expect(sha256Hex(Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(sha256Hex(Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
}

/// KL(reference ‖ candidate) of the softmax distributions of two logit rows, in doubles.
func klDivergence(reference: [Float], candidate: [Float]) -> Double {
    func logSoftmax(_ v: [Float]) -> [Double] {
        let m = Double(v.max() ?? 0)
        let lse = m + log(v.reduce(0.0) { $0 + exp(Double($1) - m) })
        return v.map { Double($0) - lse }
    }
    let p = logSoftmax(reference), q = logSoftmax(candidate)
    return zip(p, q).reduce(0.0) { $0 + exp($1.0) * ($1.0 - $1.1) }
}
