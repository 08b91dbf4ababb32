#if canImport(Glibc)
import Glibc
#endif
import GGUF
import TensorKernels

/// Writes small, complete, random-weight GGUF models of every family in `Architecture.known`, for
/// tests, fixtures and `tokenmill dev-tiny-model`.
///
/// Shapes (chosen so every weight row length is a multiple of the type's block size):
/// - block size 1 or 32 (F32, F16, Q8_0, Q4_0, ...): dim 64, 2 layers, 4 heads (head dim 16),
///   2 KV heads (GQA 2:1), FFN 160.
/// - block size 256 (K-quants): dim 256, 2 layers, 4 heads (head dim 64), 2 KV heads, FFN 512.
///
/// All 2-D weight matrices (token embedding, attention and FFN projections, output) are stored as
/// the requested type; norms and biases stay F32, as llama.cpp's quantizer leaves them.
/// What a family has comes from its description: `qwen2` has Q/K/V biases and a tied output (no
/// `output.weight`); `llama` has no biases and an untied `output.weight`; `qwen3` has q/k norms, no
/// biases, a tied output and heads twice `dim / heads` wide (`attention.key_length`), and carries
/// Qwen3's chat template (`Architecture.TinyTraits`). The vocabulary (320 tokens) is a complete byte-level BPE tokenizer:
/// 256 byte tokens in GPT-2's byte-to-unicode order, 58 merges, 6 special tokens.
public enum TinyModel {
    /// Shapes of a tiny model.
    public struct Shape: Sendable, Equatable {
        public var dim: Int
        public var layers: Int
        public var heads: Int
        public var kvHeads: Int
        public var ffn: Int
        public var vocab: Int
        public var context: Int
    }

    /// Errors from writing a tiny model.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The shape used for weights of `type`.
    public static func shape(for type: GGMLType) -> Shape {
        if type.blockSize >= 256 {
            return Shape(dim: 256, layers: 2, heads: 4, kvHeads: 2, ffn: 512, vocab: vocabulary.tokens.count, context: 256)
        }
        return Shape(dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 160, vocab: vocabulary.tokens.count, context: 256)
    }

    /// Token ids of the special tokens in every tiny model.
    public enum Special {
        public static let beginOfText: Int32 = 314
        public static let endOfText: Int32 = 315
        public static let imStart: Int32 = 316
        public static let imEnd: Int32 = 317
        public static let thinkStart: Int32 = 318
        public static let thinkEnd: Int32 = 319
    }

    /// Optional RoPE variants, for checking scaling against llama.cpp.
    public struct Options: Sendable, Equatable {
        /// `rope.scaling.type`: nil (key absent), "linear" or "yarn".
        public var ropeScaling: String?
        public var ropeFactor: Float
        /// `rope.scaling.original_context_length` (yarn).
        public var originalContext: Int?
        /// Adds a Llama-3.1-style `rope_freqs.weight` (llama only).
        public var ropeFreqs: Bool
        /// The K-quant shape (dim 256, FFN 512) whatever the type: full-precision sources for
        /// quantizer tests (`tokenmill dev-quant-model`).
        public var kQuantShape: Bool

        public init(ropeScaling: String? = nil, ropeFactor: Float = 1, originalContext: Int? = nil, ropeFreqs: Bool = false,
                    kQuantShape: Bool = false) {
            self.ropeScaling = ropeScaling
            self.ropeFactor = ropeFactor
            self.originalContext = originalContext
            self.ropeFreqs = ropeFreqs
            self.kQuantShape = kQuantShape
        }
    }

    /// Writes a model to `path` (atomically). `arch` is a `general.architecture` of `Architecture.known`.
    public static func write(arch: String, type: GGMLType, path: String, seed: UInt64 = 1, options: Options = Options()) throws {
        var w = try builder(arch: arch, type: type, seed: seed, options: options)
        w.add("general.name", .string("tinymill-\(arch)-\(type)-seed\(seed)"))
        try w.write(to: path)
    }

    /// The writer holding the model, for callers that want the bytes (`serialized()`).
    public static func builder(arch: String, type: GGMLType, seed: UInt64, options: Options = Options()) throws -> GGUFWriter {
        guard let family = Architecture.named(arch) else {
            let known = Architecture.known.map(\.name).joined(separator: ", ")
            throw Failure(description: "tiny model: unsupported architecture '\(arch)' (\(known))")
        }
        let traits = family.tiny
        let s = shape(for: options.kQuantShape ? .q4_K : type)
        let headDim = s.dim / s.heads * (traits.wideHeads ? 2 : 1)
        let qDim = headDim * s.heads
        let kvDim = headDim * s.kvHeads
        var rng = SplitMix64(seed: seed ^ traits.seedSalt)
        var w = GGUFWriter()
        w.add("general.architecture", .string(arch))
        w.add("general.alignment", .uint32(32))
        if let ft = fileType(type) { w.add("general.file_type", .uint32(ft)) }
        w.add("\(arch).context_length", .uint32(UInt32(s.context)))
        w.add("\(arch).embedding_length", .uint32(UInt32(s.dim)))
        w.add("\(arch).block_count", .uint32(UInt32(s.layers)))
        w.add("\(arch).feed_forward_length", .uint32(UInt32(s.ffn)))
        w.add("\(arch).attention.head_count", .uint32(UInt32(s.heads)))
        w.add("\(arch).attention.head_count_kv", .uint32(UInt32(s.kvHeads)))
        w.add("\(arch).attention.layer_norm_rms_epsilon", .float32(1e-6))
        if traits.wideHeads {
            w.add("\(arch).attention.key_length", .uint32(UInt32(headDim)))
            w.add("\(arch).attention.value_length", .uint32(UInt32(headDim)))
        }
        w.add("\(arch).rope.freq_base", .float32(traits.ropeBase))
        w.add("\(arch).rope.dimension_count", .uint32(UInt32(headDim)))
        if let t = options.ropeScaling {
            w.add("\(arch).rope.scaling.type", .string(t))
            w.add("\(arch).rope.scaling.factor", .float32(options.ropeFactor))
            if let o = options.originalContext {
                w.add("\(arch).rope.scaling.original_context_length", .uint32(UInt32(o)))
            }
        }
        if options.ropeFreqs && !family.ropeFreqs {
            throw Failure(description: "tiny model: rope_freqs.weight is a llama tensor (llama.cpp rejects it in \(arch))")
        }
        addTokenizer(&w, traits)

        func matrix(_ name: String, cols: Int, rows: Int, scale: Float) throws {
            var v = [Float](repeating: 0, count: cols * rows)
            for i in v.indices { v[i] = rng.nextSymmetric() * scale }
            try w.addTensor(name: name, dims: [cols, rows], type: type, bytes: try encode(v, rowLength: cols, as: type, name: name))
        }
        func vector(_ name: String, count: Int, center: Float, spread: Float) throws {
            var v = [Float](repeating: 0, count: count)
            for i in v.indices { v[i] = center + rng.nextSymmetric() * spread }
            try w.addTensor(name: name, dims: [count], floats: v)
        }
        // Scales: sharp attention (q/k) and strong value/output paths make the prediction depend on
        // the context, so greedy continuations vary instead of locking onto one token.
        let inScale = 1.5 / Float(s.dim).squareRoot()
        let qkScale = 3 / Float(s.dim).squareRoot()
        let voScale = 3 / Float(s.dim).squareRoot()
        let outScale = 3 / Float(qDim).squareRoot()
        try matrix(TensorName.tokenEmbedding.weight(), cols: s.dim, rows: s.vocab, scale: 0.35)
        for l in 0..<s.layers {
            func name(_ t: TensorName) -> String { t.weight(layer: l) }
            try vector(name(.attnNorm), count: s.dim, center: 1, spread: 0.2)
            try matrix(name(.attnQ), cols: s.dim, rows: qDim, scale: qkScale)
            try matrix(name(.attnK), cols: s.dim, rows: kvDim, scale: qkScale)
            try matrix(name(.attnV), cols: s.dim, rows: kvDim, scale: voScale)
            if family.qkvBias == .required {
                try vector(TensorName.attnQ.bias(layer: l), count: qDim, center: 0, spread: 0.3)
                try vector(TensorName.attnK.bias(layer: l), count: kvDim, center: 0, spread: 0.3)
                try vector(TensorName.attnV.bias(layer: l), count: kvDim, center: 0, spread: 0.3)
            }
            if family.qkNorm {
                // Normalised q and k have unit RMS: weights above 1 keep attention sharp.
                try vector(name(.attnQNorm), count: headDim, center: 2, spread: 0.4)
                try vector(name(.attnKNorm), count: headDim, center: 1.5, spread: 0.3)
            }
            try matrix(name(.attnOutput), cols: qDim, rows: s.dim, scale: outScale)
            try vector(name(.ffnNorm), count: s.dim, center: 1, spread: 0.2)
            try matrix(name(.ffnGate), cols: s.dim, rows: s.ffn, scale: inScale)
            try matrix(name(.ffnUp), cols: s.dim, rows: s.ffn, scale: inScale)
            try matrix(name(.ffnDown), cols: s.ffn, rows: s.dim, scale: 1.5 / Float(s.ffn).squareRoot())
        }
        try vector(TensorName.outputNorm.weight(), count: s.dim, center: 1, spread: 0.2)
        if options.ropeFreqs {
            // Llama 3.1 style: high-frequency pairs unscaled, low-frequency pairs divided by up to 8.
            let half = headDim / 2
            let f = (0..<half).map { j -> Float in 1 + 7 * powf(Float(j) / Float(half - 1), 2) }
            try w.addTensor(name: TensorName.ropeFreqs.weight(), dims: [half], floats: f)
        }
        if !traits.tiedOutput {
            try matrix(TensorName.output.weight(), cols: s.dim, rows: s.vocab, scale: 0.6)
        }
        return w
    }

    /// The one place weights are converted to their storage type.
    /// F32 and F16 are encoded here; other types go through the quantizer (`Quantize.row`) once
    /// TensorKernels provides it.
    static func encode(_ values: [Float], rowLength: Int, as type: GGMLType, name: String) throws -> [UInt8] {
        switch type {
        case .f32:
            return values.withUnsafeBytes { Array($0) }
        case .f16:
            var out = [UInt8](repeating: 0, count: values.count * 2)
            out.withUnsafeMutableBytes { raw in
                let h = raw.bindMemory(to: UInt16.self)
                for i in values.indices { h[i] = Float16(values[i]).bitPattern.littleEndian }
            }
            return out
        default:
            guard Quantize.supportedTypes.contains(type), type != .q8_K, rowLength % type.blockSize == 0 else {
                throw Failure(description: "tiny model: tensor '\(name)': no quantizer for \(type)")
            }
            let rows = values.count / rowLength
            let rowBytes = type.byteCount(elements: rowLength)
            var out = [UInt8](repeating: 0, count: rows * rowBytes)
            values.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBytes { dst in
                    for r in 0..<rows {
                        Quantize.row(type, src.baseAddress! + r * rowLength, into: dst.baseAddress! + r * rowBytes,
                                     count: rowLength)
                    }
                }
            }
            return out
        }
    }

    /// llama.cpp's `general.file_type` (LLAMA_FTYPE) for a model whose matrices are all `type`.
    static func fileType(_ type: GGMLType) -> UInt32? {
        switch type {
        case .f32: return 0
        case .f16: return 1
        case .q4_0: return 2
        case .q4_1: return 3
        case .q8_0: return 7
        case .q5_0: return 8
        case .q5_1: return 9
        case .q2_K: return 10
        case .q3_K: return 12
        case .q4_K: return 15
        case .q5_K: return 17
        case .q6_K: return 18
        case .bf16: return 32
        default: return nil
        }
    }

    // MARK: Tokenizer

    /// The tiny models' vocabulary: tokens, token types and merges.
    public struct Vocabulary: Sendable {
        public let tokens: [String]
        public let types: [Int32]
        public let merges: [String]
    }

    /// GPT-2's byte-to-unicode mapping: printable bytes map to themselves, the rest to U+0100 onwards.
    public static func byteToUnicode() -> [Character] {
        var printable: [Int] = Array(33...126) + Array(161...172) + Array(174...255)
        let printableSet = Set(printable)
        var codes = printable
        var n = 0
        for b in 0..<256 where !printableSet.contains(b) {
            printable.append(b)
            codes.append(256 + n)
            n += 1
        }
        var table = [Character](repeating: " ", count: 256)
        for (b, c) in zip(printable, codes) { table[b] = Character(Unicode.Scalar(UInt32(c))!) }
        return table
    }

    public static let vocabulary: Vocabulary = {
        let b2u = byteToUnicode()
        var tokens = (0..<256).map { String(b2u[$0]) }
        var types = [Int32](repeating: 1, count: 256)
        let sp = String(b2u[32])  // "Ġ"
        let pairs: [(String, String)] = [
            (sp, "t"), ("h", "e"), (sp + "t", "he"), ("i", "n"), ("a", "n"), ("e", "r"), ("o", "n"), (sp, "a"),
            ("r", "e"), (sp, "s"), (sp, "w"), ("a", "t"), ("e", "n"), ("o", "r"), ("i", "s"), (sp, "c"),
            ("e", "s"), (sp, "o"), (sp, "b"), ("in", "g"), (sp, "f"), ("e", "d"), (sp, "p"), ("a", "l"),
            (sp, "m"), ("i", "t"), ("a", "r"), (sp, "d"), (sp, "h"), ("o", "u"), ("l", "l"), (sp + "t", "o"),
            (sp + "a", "n"), (sp + "an", "d"), (sp, "i"), (sp, "in"), (sp + "o", "f"), (sp + "i", "s"),
            (sp + "w", "h"), ("l", "e"), ("s", "t"), (sp + "th", "e"), ("t", "h"), (sp + "c", "o"), ("a", "s"),
            ("i", "c"), (sp + "b", "e"), ("ĊĊ", ""), (sp, "l"), ("o", "w"), ("o", "m"), (sp + "s", "t"),
            ("Ċ", "Ċ"), (sp, "n"), ("u", "n"), (sp + "th", "at"), ("e", "l"), ("a", "m"), ("i", "on"),
            ("o", "f"), ("r", "o"), ("a", "c"), ("e", "t"), ("u", "r"), ("i", "l"), ("c", "h"), ("s", "e"),
            ("l", "y"), ("v", "e"), ("i", "d"), ("a", "d"), ("u", "s"), ("o", "t"), ("i", "m"), ("a", "y"),
        ]
        var merges: [String] = []
        var have = Set(tokens)
        for (a, b) in pairs where !b.isEmpty {
            guard have.contains(a), have.contains(b), !have.contains(a + b) else { continue }
            merges.append("\(a) \(b)")
            tokens.append(a + b)
            types.append(1)
            have.insert(a + b)
            if tokens.count == 314 { break }
        }
        precondition(tokens.count == 314, "tiny vocabulary: \(tokens.count) tokens before specials")
        for (t, ty) in [("<|begin_of_text|>", 3), ("<|endoftext|>", 3), ("<|im_start|>", 3), ("<|im_end|>", 3),
                        ("<think>", 4), ("</think>", 4)] as [(String, Int32)] {
            tokens.append(t)
            types.append(ty)
        }
        return Vocabulary(tokens: tokens, types: types, merges: merges)
    }()

    static let chatTemplate = """
    {% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}
    """

    static func addTokenizer(_ w: inout GGUFWriter, _ traits: Architecture.TinyTraits) {
        let v = vocabulary
        w.add("tokenizer.ggml.model", .string("gpt2"))
        w.add("tokenizer.ggml.pre", .string(traits.tokenizerPre))
        w.add("tokenizer.ggml.tokens", strings: v.tokens)
        w.add("tokenizer.ggml.token_type", .array(elementType: .int32, v.types.map { .int32($0) }))
        w.add("tokenizer.ggml.merges", strings: v.merges)
        let bos = traits.qwenTokens ? Special.endOfText : Special.beginOfText
        w.add("tokenizer.ggml.bos_token_id", .uint32(UInt32(bos)))
        w.add("tokenizer.ggml.eos_token_id", .uint32(UInt32(Special.imEnd)))
        w.add("tokenizer.ggml.padding_token_id", .uint32(UInt32(Special.endOfText)))
        w.add("tokenizer.ggml.add_bos_token", .bool(!traits.qwenTokens))
        w.add("tokenizer.chat_template", .string(traits.chatTemplate ?? chatTemplate))
    }
}
