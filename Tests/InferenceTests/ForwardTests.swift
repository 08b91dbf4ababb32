import Foundation
import GGUF
import Testing
import TensorKernels
import Tokenizers
@testable import Inference

@Test func tinyModelIsCompleteAndLoads() throws {
    for arch in ["llama", "qwen2"] {
        let m = try Tiny.model(arch)
        let c = m.config
        #expect(c.architecture.name == arch)
        #expect(c.dim == 64 && c.layers == 2 && c.heads == 4 && c.kvHeads == 2 && c.ffn == 160)
        #expect(c.vocab == 320 && c.contextLength == 256)
        #expect(m.tiedOutput == (arch == "qwen2"))
        #expect((m.layers[0].bq != nil) == (arch == "qwen2"))
        let f = m.file
        let tokens = try #require(f.stringArray("tokenizer.ggml.tokens"))
        #expect(tokens.count == 320)
        #expect(tokens[32] == "Ġ" && tokens[10] == "Ċ" && tokens[65] == "A")
        #expect(tokens[Int(TinyModel.Special.imEnd)] == "<|im_end|>")
        #expect(tokens[Int(TinyModel.Special.thinkEnd)] == "</think>")
        let merges = try #require(f.stringArray("tokenizer.ggml.merges"))
        #expect(merges.count == 58)
        let set = Set(tokens)
        for mg in merges {
            let parts = mg.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            #expect(parts.count == 2 && set.contains(parts[0]) && set.contains(parts[1]) && set.contains(parts[0] + parts[1]))
        }
        #expect(f.string("tokenizer.ggml.pre") == (arch == "qwen2" ? "qwen2" : "llama-bpe"))
        #expect(f.array("tokenizer.ggml.token_type")?.count == 320)
    }
    // Same seed, same bytes; other seed, other weights.
    let a = try TinyModel.builder(arch: "qwen2", type: .f32, seed: 5).serialized()
    let b = try TinyModel.builder(arch: "qwen2", type: .f32, seed: 5).serialized()
    let c = try TinyModel.builder(arch: "qwen2", type: .f32, seed: 6).serialized()
    #expect(a == b && a != c)
    #expect(throws: TinyModel.Failure.self) { try TinyModel.builder(arch: "gpt2", type: .f32, seed: 1) }
    #expect(throws: TinyModel.Failure.self) { try TinyModel.builder(arch: "llama", type: .q8_K, seed: 1) }
    #expect(TinyModel.shape(for: .q4_K).dim == 256)
}

@Test(arguments: ["llama", "qwen2", "qwen3"], [KVCacheType.f32, .f16])
func wholePromptInOneStepEqualsTokenByToken(arch: String, kv: KVCacheType) throws {
    let m = try Tiny.model(arch)
    let toks = prompt(12, seed: 3)
    let e = InferenceEngine(model: m, threads: testThreads, maxSequences: 1, contextLength: 64, maxLogitRows: 12, kvType: kv)
    try e.forward(toks.enumerated().map { BatchToken(seq: 0, token: $1, pos: $0, wantLogits: true) })
    let single = try logitsOneByOne(m, toks, kv: kv)
    var worst: Float = 0
    for i in toks.indices { worst = max(worst, maxAbsDiff(e.logits(row: i), single[i])) }
    #expect(worst < 1e-4)
    // The feed-forward in chunks of 5 tokens (5 + 5 + 2) gives the same logits.
    let chunked = InferenceEngine(model: m, threads: testThreads, maxSequences: 1, contextLength: 64, maxLogitRows: 12,
                                  kvType: kv, ffnChunkTokens: 5)
    #expect(chunked.ffnTokens == 5)
    try chunked.forward(toks.enumerated().map { BatchToken(seq: 0, token: $1, pos: $0, wantLogits: true) })
    var worstChunked: Float = 0
    for i in toks.indices { worstChunked = max(worstChunked, maxAbsDiff(chunked.logits(row: i), single[i])) }
    #expect(worstChunked < 1e-4)
    // Logits are well spread, not all near zero.
    let l = single.last!
    let mean = l.reduce(0, +) / Float(l.count)
    let std = (l.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(l.count)).squareRoot()
    #expect(std > 0.5, "logit std \(std)")
    // Different positions give different predictions (attention and RoPE are doing something).
    #expect(Set(single.map(argmax)).count > 3)
}

@Test(arguments: ["llama", "qwen2", "qwen3"])
func batchedDecodeOfThreeSequencesEqualsEachAlone(arch: String) throws {
    let m = try Tiny.model(arch)
    let prompts = [prompt(5, seed: 10), prompt(9, seed: 11), prompt(2, seed: 12)]
    let next: [Int32] = [7, 300, 42]
    let e = InferenceEngine(model: m, threads: testThreads, maxSequences: 3, contextLength: 64, maxLogitRows: 3)
    // Prefill the three slots in one mixed step (no logits wanted), then one decode step for all three.
    var prefill: [BatchToken] = []
    for (s, p) in prompts.enumerated() {
        for (i, t) in p.enumerated() { prefill.append(BatchToken(seq: s, token: t, pos: i, wantLogits: false)) }
    }
    try e.forward(prefill)
    #expect(e.logitRows == 0)
    try e.forward((0..<3).map { BatchToken(seq: $0, token: next[$0], pos: prompts[$0].count, wantLogits: true) })
    for s in 0..<3 {
        let alone = try logitsOneByOne(m, prompts[s] + [next[s]])
        #expect(maxAbsDiff(e.logits(row: s), alone.last!) < 1e-4, "sequence \(s)")
    }
}

@Test func engineRejectsBadBatches() throws {
    let m = try Tiny.model("llama")
    let e = InferenceEngine(model: m, threads: 1, maxSequences: 2, contextLength: 16, maxBatchTokens: 4, maxLogitRows: 1)
    #expect(throws: InferenceError.self) { try e.forward([]) }
    #expect(throws: InferenceError.self) { try e.forward([BatchToken(seq: 2, token: 1, pos: 0, wantLogits: false)]) }
    #expect(throws: InferenceError.self) { try e.forward([BatchToken(seq: 0, token: 320, pos: 0, wantLogits: false)]) }
    #expect(throws: InferenceError.self) { try e.forward([BatchToken(seq: 0, token: 1, pos: 16, wantLogits: false)]) }
    #expect(throws: InferenceError.self) {
        try e.forward((0..<5).map { BatchToken(seq: 0, token: 1, pos: $0, wantLogits: false) })
    }
    #expect(throws: InferenceError.self) {
        try e.forward((0..<2).map { BatchToken(seq: 0, token: 1, pos: $0, wantLogits: true) })
    }
}

/// Copies a model file, dropping some tensors and overriding some metadata.
private func rewrite(_ src: String, dropping: Set<String> = [], metadata: [String: GGUFValue] = [:]) throws -> String {
    let f = try GGUFFile(path: src)
    var w = GGUFWriter()
    w.addMetadata(from: f)
    for (k, v) in metadata { w.add(k, v) }
    for t in f.tensors where !dropping.contains(t.name) {
        let bytes = Array(UnsafeRawBufferPointer(start: f.data(for: t), count: t.byteCount))
        try w.addTensor(name: t.name, dims: t.dims, type: t.type, bytes: bytes)
    }
    let out = Tiny.dir + "/rewrite-\(UUID().uuidString).gguf"
    try w.write(to: out)
    return out
}

@Test func loadErrorsNameTheMissingTensorOrKey() throws {
    let src = try Tiny.path("qwen2")
    func message(_ path: String) -> String {
        do { _ = try Model.load(path: path); return "loaded" } catch { return "\(error)" }
    }
    #expect(message(try rewrite(src, dropping: ["blk.1.ffn_up.weight"])).contains("missing tensor 'blk.1.ffn_up.weight'"))
    #expect(message(try rewrite(src, dropping: ["blk.0.attn_k.bias"])).contains("missing tensor 'blk.0.attn_k.bias'"))
    #expect(message(try rewrite(src, metadata: ["general.architecture": .string("gpt2")])).contains("unsupported architecture 'gpt2'"))
    #expect(message(try rewrite(src, metadata: ["qwen2.rope.scaling.type": .string("longrope"), "qwen2.rope.scaling.factor": .float32(4)]))
        .contains("rope.scaling.type"))
    #expect(message(try rewrite(src, metadata: ["qwen2.embedding_length": .uint32(96)])).contains("token_embd.weight"))
    // Missing key: a renamed architecture prefix leaves block_count absent.
    let noBlocks = try rewrite(src, metadata: ["general.architecture": .string("llama")])
    #expect(message(noBlocks).contains("'llama.embedding_length'"))
    // A tied llama (no output.weight) loads and reuses the embedding.
    let tied = try Model.load(path: try rewrite(try Tiny.path("llama"), dropping: ["output.weight"]))
    #expect(tied.tiedOutput)
}

@Test func linearRopeScalingChangesLogits() throws {
    let src = try Tiny.path("llama")
    let scaled = try Model.load(path: try rewrite(src, metadata: [
        "llama.rope.scaling.type": .string("linear"), "llama.rope.scaling.factor": .float32(2),
    ]))
    #expect(scaled.config.ropeFreqScale == 0.5)
    let toks = prompt(6, seed: 4)
    let a = try logitsOneByOne(try Tiny.model("llama"), toks)
    let b = try logitsOneByOne(scaled, toks)
    #expect(maxAbsDiff(a[0], b[0]) < 1e-5)  // position 0: no rotation either way
    #expect(maxAbsDiff(a[5], b[5]) > 1e-3)
}

@Test func memoryPlanCountsWeightsAndKV() throws {
    let m = try Tiny.model("qwen2")
    // 2 (k,v) × 2 layers × 256 positions × 32 kv dims × 2 bytes.
    #expect(m.kvBytesPerSequence(contextLength: 256, type: .f16) == 2 * 2 * 256 * 32 * 2)
    // Weights, counted from the architecture: embeddings, per layer the norms, Q/K/V (with qwen2's
    // biases), O and the three FFN matrices, the output norm; the output is tied. All F32.
    let c = m.config
    let perLayer = 2 * c.dim + c.dim * c.qDim + 2 * c.dim * c.kvDim + (c.qDim + 2 * c.kvDim) + c.qDim * c.dim + 3 * c.dim * c.ffn
    let parameters = c.vocab * c.dim + c.layers * perLayer + c.dim
    #expect(m.weightBytes == 4 * parameters)
    // ... and from the file: the tensor data region holds them, with at most alignment padding per tensor.
    let region = m.file.fileSize - m.file.dataOffset
    #expect(m.weightBytes <= region && m.weightBytes > region - m.file.alignment * m.file.tensors.count)
    #expect(m.memoryPlan(contextLength: 256, sequences: 4, kvType: .f16).contains("per sequence"))
    #expect(formatBytes(1536) == "1.5 KiB")
}

@Test(arguments: ["llama", "qwen2"])
func twoThreadsGiveTheSameLogitsAsOne(arch: String) throws {
    let m = try Tiny.model(arch)
    var batch = prompt(10, seed: 14).enumerated().map { BatchToken(seq: 0, token: $1, pos: $0, wantLogits: true) }
    batch += prompt(5, seed: 15).enumerated().map { BatchToken(seq: 1, token: $1, pos: $0, wantLogits: $0 == 4) }
    var rows: [[[Float]]] = []
    for threads in [1, 2] {
        let e = InferenceEngine(model: m, threads: threads, maxSequences: 2, contextLength: 32, maxLogitRows: 11)
        try e.forward(batch)
        rows.append((0..<11).map { Array(e.logits(row: $0)) })
    }
    for r in 0..<11 { #expect(maxAbsDiff(rows[0][r], rows[1][r]) < 1e-5) }
}

/// One sequence decoding with its attention split over the threads (partial softmaxes merged)
/// gives the logits of the unsplit attention, for both KV cache types: split to spread the work
/// (`minAttentionChunk`) or only to even out the threads' shares (`minBalancedChunk`).
@Test(arguments: ["llama", "qwen2"], [KVCacheType.f32, .f16])
func splitAttentionEqualsWholeAttention(arch: String, kv: KVCacheType) throws {
    let m = try Tiny.model(arch)
    let toks = prompt(40, seed: 11)
    func decode(minChunk: Int, minBalanced: Int = 1 << 20) throws -> [[Float]] {
        let e = InferenceEngine(model: m, threads: 3, maxSequences: 1, contextLength: 64, kvType: kv)
        e.minAttentionChunk = minChunk
        e.minBalancedChunk = minBalanced
        var out: [[Float]] = []
        for (p, t) in toks.enumerated() {
            try e.forward([BatchToken(seq: 0, token: t, pos: p, wantLogits: true)])
            out.append(Array(e.logits(row: 0)))
        }
        // 2 KV heads, 3 threads: 3 chunks per head once the context has 3 · minChunk positions, or,
        // the two items not dividing among three threads, 3 · minBalanced.
        #expect(e.attentionChunks(items: m.config.kvHeads, positions: toks.count) == (minChunk == 4 || minBalanced == 4 ? 3 : 1))
        return out
    }
    let whole = try decode(minChunk: 1 << 20)
    for split in [try decode(minChunk: 4), try decode(minChunk: 1 << 20, minBalanced: 4)] {
        var worst: Float = 0, scale: Float = 0
        for (a, b) in zip(whole, split) {
            worst = max(worst, maxAbsDiff(a, b))
            scale = max(scale, a.map(abs).max()!)
        }
        // Float summation order only, relative to the largest logit: ~1e-6 with an f32 cache; with f16
        // a last-bit difference in layer 0's output can round a layer-1 key or value to the next f16
        // (a 1e-3 step), hence the looser bound (the f32 cases hold 1e-5).
        #expect(worst < (kv == .f32 ? 1e-5 : 1e-4) * scale, "split vs whole attention: max logit difference \(worst), largest logit \(scale)")
    }
}

/// Items that divide among the threads are not split below `minAttentionChunk`; items that do not
/// are, into the fewest chunks that divide evenly, within the split scratch (4 · threads + KV heads units).
@Test func attentionSplitsUnevenItemsIntoEvenShares() throws {
    let m = try Tiny.model("llama")
    let e2 = InferenceEngine(model: m, threads: 2, maxSequences: 1, contextLength: 64)
    #expect(e2.attentionChunks(items: 2, positions: 100) == 1)   // one item each
    #expect(e2.attentionChunks(items: 3, positions: 100) == 2)   // 6 units: 3 each
    #expect(e2.attentionChunks(items: 3, positions: 63) == 1)    // chunks under 32 positions
    #expect(e2.attentionChunks(items: 3, positions: 256) == 2)   // spread by minAttentionChunk
    #expect(e2.attentionChunks(items: 4, positions: 10) == 1)    // two items per thread already
    let e4 = InferenceEngine(model: m, threads: 4, maxSequences: 1, contextLength: 64)
    #expect(e4.attentionChunks(items: 3, positions: 200) == 4)   // 12 units: 3 each
    #expect(e4.attentionChunks(items: 6, positions: 200) == 2)   // 12 units
    #expect(e4.attentionChunks(items: 5, positions: 200) == 1)   // 20 units would pass the scratch (18)
}

@Test func qwen3TinyModelHasHeadNormsWideHeadsAndNoBiases() throws {
    let m = try Tiny.model("qwen3")
    let c = m.config
    #expect(c.architecture == .qwen3 && c.architecture.ropeStyle == .neox)
    #expect(c.dim == 64 && c.heads == 4 && c.kvHeads == 2 && c.headDim == 32 && c.qDim == 128 && c.ropeDim == 32)
    #expect(m.tiedOutput)
    for l in m.layers {
        #expect(l.qNorm?.count == 32 && l.kNorm?.count == 32)
        #expect(l.bq == nil && l.bk == nil && l.bv == nil)
    }
    #expect(m.file.string("tokenizer.chat_template") == ChatTemplate.qwen3Source)

    // The head norms are required, and they act: other norm weights give other logits.
    let src = try Tiny.path("qwen3")
    do {
        _ = try Model.load(path: try rewrite(src, dropping: ["blk.1.attn_k_norm.weight"]))
        Issue.record("loaded without blk.1.attn_k_norm.weight")
    } catch {
        #expect("\(error)".contains("missing tensor 'blk.1.attn_k_norm.weight'"))
    }
    let f = try GGUFFile(path: src)
    var w = GGUFWriter()
    w.addMetadata(from: f)
    for t in f.tensors {
        var bytes = Array(UnsafeRawBufferPointer(start: f.data(for: t), count: t.byteCount))
        if t.name == "blk.0.attn_q_norm.weight" { bytes = [Float](repeating: 1, count: 32).withUnsafeBytes { Array($0) } }
        try w.addTensor(name: t.name, dims: t.dims, type: t.type, bytes: bytes)
    }
    let flat = Tiny.dir + "/qwen3-flat-qnorm.gguf"
    try w.write(to: flat)
    let toks = prompt(6, seed: 9)
    let a = try logitsOneByOne(m, toks), b = try logitsOneByOne(try Model.load(path: flat), toks)
    #expect(a[0] == b[0], "one token attends only to itself: q's scale cannot matter")
    #expect(maxAbsDiff(a[5], b[5]) > 1e-3)
}

/// Records what the engine hands to an activation observer.
private final class Recorder: ActivationObserver {
    var calls: [(weight: String, rows: Int, cols: Int, first: Float)] = []
    func observe(weight: String, input: UnsafePointer<Float>, rows: Int, cols: Int) {
        calls.append((weight, rows, cols, input[0]))
    }
}

@Test(arguments: ["llama", "qwen3"])
func activationObserverSeesEveryProductAndChangesNothing(arch: String) throws {
    let m = try Tiny.model(arch)
    let c = m.config
    let toks = prompt(5, seed: 4)
    let batch = toks.enumerated().map { BatchToken(seq: 0, token: $1, pos: $0, wantLogits: $0 >= 3) }
    let plain = InferenceEngine(model: m, threads: testThreads, maxSequences: 1, contextLength: 16, maxLogitRows: 2)
    try plain.forward(batch)
    let observed = InferenceEngine(model: m, threads: testThreads, maxSequences: 1, contextLength: 16, maxLogitRows: 2)
    let r = Recorder()
    observed.activationObserver = r
    try observed.forward(batch)
    for row in 0..<2 { #expect(Array(plain.logits(row: row)) == Array(observed.logits(row: row))) }

    var expected: [(String, Int, Int)] = []
    for l in 0..<c.layers {
        let p = "blk.\(l)."
        expected += [(p + "attn_q.weight", 5, c.dim), (p + "attn_k.weight", 5, c.dim), (p + "attn_v.weight", 5, c.dim),
                     (p + "attn_output.weight", 5, c.qDim), (p + "ffn_gate.weight", 5, c.dim), (p + "ffn_up.weight", 5, c.dim),
                     (p + "ffn_down.weight", 5, c.ffn)]
    }
    expected.append((m.tiedOutput ? "token_embd.weight" : "output.weight", 2, c.dim))
    #expect(r.calls.map { "\($0.weight) \($0.rows)x\($0.cols)" } == expected.map { "\($0.0) \($0.1)x\($0.2)" })
    // q, k and v read the same normalised input; attention output is another.
    #expect(r.calls[0].first == r.calls[1].first && r.calls[1].first == r.calls[2].first)
    #expect(r.calls[3].first != r.calls[0].first)
}
