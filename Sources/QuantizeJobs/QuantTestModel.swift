import Foundation
import GGUF
import Inference
import TensorKernels

/// Tiny full-precision models for quantization tests and fixtures.
public enum QuantTestModel {
    /// A tiny full-precision llama/qwen2 model with K-quant-compatible shapes (dim 256, FFN 512, 2 layers,
    /// 4 heads, 2 KV heads): the project's tiny F32 model's metadata and tokenizer, with random weights at
    /// the K-quant shape (TinyModel only writes F32 at dim 64).
    public static func writeF32(arch: String, path: String, seed: UInt64 = 3) throws {
        let small = path + ".small-\(getpid())"
        try TinyModel.write(arch: arch, type: .f32, path: small, seed: seed)
        let f = try GGUFFile(path: small)
        defer { try? FileManager.default.removeItem(atPath: small) }
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
        try w.write(to: path)
    }

    /// A synthetic, exactly representable importance matrix for every weight matrix of the model at
    /// `model` (except output.weight and token_embd.weight): importance[j] = ((7 j + k) mod 13) + 1,
    /// k the tensor's index. For byte-exact comparisons with llama-quantize --imatrix.
    public static func syntheticImatrix(model: String) throws -> ImportanceMatrix {
        let f = try ModelQuantizer.openModel(model)
        var im = ImportanceMatrix()
        im.datasets = ["synthetic"]
        im.chunkCount = 1
        im.chunkSize = 10
        for (k, t) in f.tensors.enumerated() where t.dims.count == 2 && t.name.hasPrefix("blk.") {
            im.sums[t.name] = (0..<t.dims[0]).map { j in Double(((7 * j + k) % 13) + 1) * 10 }
            im.counts[t.name] = 10
        }
        return im
    }
}
