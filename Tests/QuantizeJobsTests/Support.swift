import Foundation
import GGUF
import Inference
import TensorKernels
@testable import QuantizeJobs

/// Temporary directory per test.
func tempDir(_ tag: String) -> String {
    let d = NSTemporaryDirectory() + "qj-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

/// Deterministic English-like evaluation text (long enough for several windows of the tiny models).
func evalText(words: Int = 900, seed: UInt64 = 7) -> String {
    let vocab = ["the", "mill", "turns", "grain", "into", "flour", "while", "water", "runs", "under", "a", "stone",
                 "wheel", "and", "miller", "counts", "sacks", "of", "wheat", "at", "night", "river", "is", "cold",
                 "bread", "rises", "slowly", "in", "warm", "ovens", "every", "morning"]
    var rng = SplitMix64(seed: seed)
    var out: [String] = []
    for i in 0..<words {
        out.append(vocab[Int(rng.next() % UInt64(vocab.count))])
        if i % 11 == 10 { out[out.count - 1] += "." }
    }
    return out.joined(separator: " ")
}

/// The K-quant-shaped tiny F32 model (as `tokenmill dev-quant-model` writes it), written into `dir`.
func tinyF32Model(dir: String, arch: String = "llama", seed: UInt64 = 3) throws -> String {
    let out = dir + "/tiny-\(arch)-f32.gguf"
    try TinyModel.write(arch: arch, type: .f32, path: out, seed: seed, options: TinyModel.Options(kQuantShape: true))
    return out
}

/// One F32 model, its reference logits and text, shared by the tests of a run.
final class Shared: @unchecked Sendable {
    static let shared = Shared()
    let dir: String
    let source: String
    let text: String
    let settings = EvalSettings(contextLength: 32, maxChunks: 1, threads: 2)
    let base: BaseLogits
    private init() {
        dir = tempDir("shared")
        source = try! tinyF32Model(dir: dir)
        text = evalText()
        base = try! LogitEvaluator.baseLogits(sourcePath: source, text: text, settings: settings, cacheDir: dir).0
    }
}
