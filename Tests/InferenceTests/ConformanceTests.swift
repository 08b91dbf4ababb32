import Foundation
import Testing
import TensorKernels
import TestSupport
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
    // Qwen3: per-head q/k RMSNorm, no biases, heads wider than dim / heads.
    "tiny-qwen3-f32-seed7", "tiny-qwen3-q8_0-seed7", "tiny-qwen3-q6_K-seed7",
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
    // The amx level's tiles start at 32 sequences (Q3_K's at twice that); the prompts here are 24 tokens, so
    // let them run on tiles (the first 16 tokens of each product).
    if level == .amx { KernelLevel.amxTilesFrom = 8 }
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

/// A model loaded with its matrices repacked for this CPU's kernels (the default) gives the logits of the
/// same model kept in the file's layout, up to float summation order; only formats with `rows8` kernels
/// on the level are repacked, and then their bytes are reported.
@Test(arguments: ["q4_0", "q5_1", "q2_K", "q3_K", "q4_K", "q5_K", "q6_K"])
func repackedModelMatchesTheFileLayout(type name: String) throws {
    let type = try #require(GGMLType(name: name))
    let path = Tiny.dir + "/tiny-qwen2-\(name)-repack.gguf"
    try TinyModel.write(arch: "qwen2", type: type, path: path, seed: 7, options: TinyModel.Options())
    let repacked = try Model.load(path: path), plain = try Model.load(path: path, repack: false)
    #expect(plain.repackedBytes == 0)
    #expect((repacked.repackedBytes > 0) == Repack.applies(to: type, rows: repacked.config.dim), "\(name): \(repacked.repackedBytes) bytes repacked")
    // The tied embedding is the output matrix too: repacked like the others, its rows looked up from their groups.
    #expect(repacked.tiedOutput && repacked.tokenEmbedding.layout == (Repack.applies(to: type, rows: repacked.config.vocab) ? .rows8 : .ggml))
    let tokens: [Int32] = [1, 5, 9, 2, 7, 3]
    func logits(_ m: Model) throws -> [Float] {
        let e = InferenceEngine(model: m, threads: testThreads, maxSequences: 1, contextLength: 16,
                                maxBatchTokens: tokens.count, maxLogitRows: tokens.count)
        try e.forward(tokens.enumerated().map { BatchToken(seq: 0, token: $1, pos: $0, wantLogits: true) })
        return (0..<tokens.count).flatMap { Array(e.logits(row: $0)) }
    }
    let a = try logits(repacked), b = try logits(plain)
    #expect(maxAbsDiff(a, b[...]) < 1e-3, "\(name): repacked and file-layout logits differ by \(maxAbsDiff(a, b[...]))")
}
