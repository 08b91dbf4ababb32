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
    var x = seed
    var out: [String] = []
    for i in 0..<words {
        x = x &* 6364136223846793005 &+ 1442695040888963407
        out.append(vocab[Int((x >> 33) % UInt64(vocab.count))])
        if i % 11 == 10 { out[out.count - 1] += "." }
    }
    return out.joined(separator: " ")
}

/// A tiny full-precision llama/qwen2 model with K-quant-compatible shapes (dim 256, FFN 512, 2 layers,
/// 4 heads, 2 KV heads): the project's tiny F32 model's metadata and tokenizer, with random weights at
/// the K-quant shape (TinyModel only writes F32 at dim 64).
func tinyF32Model(dir: String, arch: String = "llama", seed: UInt64 = 3) throws -> String {
    let small = dir + "/tiny-\(arch)-small.gguf"
    try TinyModel.write(arch: arch, type: .f32, path: small, seed: seed)
    let f = try GGUFFile(path: small)
    let dim = 256, ffn = 512, heads = 4, kvHeads = 2, layers = 2
    let hd = dim / heads, kvDim = hd * kvHeads
    let vocab = f.tensor(named: "token_embd.weight")!.dims[1]
    var w = GGUFWriter()
    w.addMetadata(from: f)
    w.add("\(arch).embedding_length", .uint32(UInt32(dim)))
    w.add("\(arch).feed_forward_length", .uint32(UInt32(ffn)))
    w.add("\(arch).block_count", .uint32(UInt32(layers)))
    w.add("\(arch).attention.head_count", .uint32(UInt32(heads)))
    w.add("\(arch).attention.head_count_kv", .uint32(UInt32(kvHeads)))
    w.add("\(arch).rope.dimension_count", .uint32(UInt32(hd)))
    w.add("general.name", .string("qj-tiny-\(arch)-f32"))
    var rng = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
    func next() -> Float {
        rng = rng &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int64(bitPattern: rng) >> 11) / Float(1 << 52)  // uniform in [-1, 1)
    }
    func matrix(_ name: String, _ cols: Int, _ rows: Int, _ scale: Float) throws {
        try w.addTensor(name: name, dims: [cols, rows], floats: (0..<(cols * rows)).map { _ in next() * scale })
    }
    func vector(_ name: String, _ n: Int, _ center: Float, _ spread: Float) throws {
        try w.addTensor(name: name, dims: [n], floats: (0..<n).map { _ in center + next() * spread })
    }
    let r = 1 / Float(dim).squareRoot()
    try matrix("token_embd.weight", dim, vocab, 0.35)
    for l in 0..<layers {
        let p = "blk.\(l)."
        try vector(p + "attn_norm.weight", dim, 1, 0.2)
        try matrix(p + "attn_q.weight", dim, dim, 3 * r)
        try matrix(p + "attn_k.weight", dim, kvDim, 3 * r)
        try matrix(p + "attn_v.weight", dim, kvDim, 3 * r)
        if arch == "qwen2" {
            try vector(p + "attn_q.bias", dim, 0, 0.3)
            try vector(p + "attn_k.bias", kvDim, 0, 0.3)
            try vector(p + "attn_v.bias", kvDim, 0, 0.3)
        }
        try matrix(p + "attn_output.weight", dim, dim, 3 * r)
        try vector(p + "ffn_norm.weight", dim, 1, 0.2)
        try matrix(p + "ffn_gate.weight", dim, ffn, 1.5 * r)
        try matrix(p + "ffn_up.weight", dim, ffn, 1.5 * r)
        try matrix(p + "ffn_down.weight", ffn, dim, 1.5 / Float(ffn).squareRoot())
    }
    try vector("output_norm.weight", dim, 1, 0.2)
    if arch == "llama" { try matrix("output.weight", dim, vocab, 0.6) }
    let out = dir + "/tiny-\(arch)-f32.gguf"
    try w.write(to: out)
    try? FileManager.default.removeItem(atPath: small)
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
