import TensorKernels

/// What the per-tensor rules need to know about the model.
public struct ModelShapeInfo: Sendable, Equatable {
    /// Transformer blocks (the count of attn_v / ffn_down tensors in a dense model).
    public var layers: Int
    /// Query heads per KV head (`n_gqa`).
    public var gqa: Int
    /// True when there is no `output.weight` and the token embedding doubles as the output.
    public var tiedEmbeddings: Bool
    /// True when quantizing with an importance matrix (changes the Q4_0/Q5_0 ffn_down rule).
    public var hasImatrix: Bool

    public init(layers: Int, gqa: Int, tiedEmbeddings: Bool, hasImatrix: Bool = false) {
        self.layers = layers
        self.gqa = gqa
        self.tiedEmbeddings = tiedEmbeddings
        self.hasImatrix = hasImatrix
    }
}

/// The tensor type chosen for one tensor.
public struct TensorChoice: Sendable, Equatable {
    /// The type to store the tensor as; nil when the tensor is not quantized (kept as it is).
    public var type: GGMLType?
    /// True when the row length did not fit the preferred type and a compatible one was taken.
    public var fellBack: Bool
}

/// llama-quantize's per-tensor type rules (facts from llama.cpp's `llama_tensor_get_type` for dense
/// llama/qwen2-style models; MoE, Falcon and 70B-specific rules and the IQ types are not modelled).
///
/// - Only tensors of 2+ dimensions whose name ends in `weight` (and not `_norm.weight`) are converted;
///   norms, biases and other 1-D tensors keep their type.
/// - `output.weight` (and `token_embd.weight` when the output is tied to it) → Q6_K unless the file
///   type is Q8_0; Q8_0 when its rows do not fit the base type's block.
/// - `attn_v`: Q2_K → Q3_K (Q4_K at GQA ≥ 4); Q3_K_M → Q5_K for the first two layers, else Q4_K;
///   Q3_K_L → Q5_K; Q4_K_M / Q5_K_M → Q6_K in the `use_more_bits` layers; Q4_K_S → Q5_K in the first four.
/// - `ffn_down`: Q2_K → Q3_K; Q3_K_M → Q5_K in the first 1/16 of layers, else Q4_K; Q3_K_L → Q5_K;
///   Q4_K_M / Q5_K_M → Q6_K in the `use_more_bits` layers; Q4_K_S → Q5_K in the first 1/8; with an
///   imatrix, Q4_0 / Q5_0 → Q4_1 / Q5_1 in the first 1/8.
/// - `attn_output`: Q2_K → Q3_K, Q3_K_M → Q4_K, Q3_K_L → Q5_K. `attn_qkv` (fused): Q3_K_M/L → Q4_K,
///   Q4_K_M → Q5_K, Q5_K_M → Q6_K.
/// - A row length that is not a multiple of the chosen type's block size falls back: Q2_K/Q3_K → Q4_0,
///   Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, and to F16 if even that does not fit.
public enum TensorRules {
    /// llama.cpp's `use_more_bits(i_layer, n_layers)`: the first and last eighth and every third layer between.
    public static func useMoreBits(_ i: Int, _ n: Int) -> Bool {
        i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2
    }

    /// True for tensors llama-quantize converts (2+ dims, name ends in `weight`, not a norm).
    public static func isQuantizable(name: String, dims: [Int]) -> Bool {
        let nDims = dims.lastIndex(where: { $0 > 1 }).map { $0 + 1 } ?? 1
        guard nDims >= 2, name.hasSuffix("weight") else { return false }
        if name.contains("_norm.weight") || name.contains("ffn_gate_inp.weight") { return false }
        return true
    }

    /// The block index in `blk.N.…`, if the name has one.
    public static func layerIndex(_ name: String) -> Int? {
        guard name.hasPrefix("blk.") else { return nil }
        let rest = name.dropFirst(4)
        guard let dot = rest.firstIndex(of: ".") else { return nil }
        return Int(rest[..<dot])
    }

    /// Chooses the type of one tensor for `fileType`.
    public static func choose(name: String, dims: [Int], fileType: QuantFileType, model: ModelShapeInfo) -> TensorChoice {
        guard isQuantizable(name: name, dims: dims) else { return TensorChoice(type: nil, fellBack: false) }
        let base = fileType.baseType
        guard fileType.isQuantized else { return fallback(base, cols: dims[0]) }
        var t = base
        let i = layerIndex(name) ?? 0
        let n = max(model.layers, 1)
        let ft = fileType
        if name == "output.weight" || (model.tiedEmbeddings && name == "token_embd.weight") {
            if dims[0] % base.blockSize != 0 { t = .q8_0 } else if base != .q8_0 { t = .q6_K }
        } else if name == "token_embd.weight" {
            // keeps the base type
        } else if name.contains("attn_v.weight") {
            switch ft {
            case .q2_K: t = model.gqa >= 4 ? .q4_K : .q3_K
            case .q3_K_M: t = i < 2 ? .q5_K : .q4_K
            case .q3_K_L: t = .q5_K
            case .q4_K_M, .q5_K_M: if useMoreBits(i, n) { t = .q6_K }
            case .q4_K_S: if i < 4 { t = .q5_K }
            default: break
            }
        } else if name.contains("ffn_down") {
            switch ft {
            case .q2_K: t = .q3_K
            case .q3_K_M: t = i < n / 16 ? .q5_K : .q4_K
            case .q3_K_L: t = .q5_K
            case .q4_K_M, .q5_K_M: if useMoreBits(i, n) { t = .q6_K }
            case .q4_K_S: if i < n / 8 { t = .q5_K }
            case .q4_0, .q5_0:
                if model.hasImatrix && i < n / 8 { t = ft == .q4_0 ? .q4_1 : .q5_1 }
            default: break
            }
        } else if name.contains("attn_output.weight") {
            switch ft {
            case .q2_K: t = .q3_K
            case .q3_K_M: t = .q4_K
            case .q3_K_L: t = .q5_K
            default: break
            }
        } else if name.contains("attn_qkv.weight") {
            switch ft {
            case .q3_K_M, .q3_K_L: t = .q4_K
            case .q4_K_M: t = .q5_K
            case .q5_K_M: t = .q6_K
            default: break
            }
        }
        return fallback(t, cols: dims[0])
    }

    /// llama.cpp's `tensor_type_fallback`: a compatible type when `cols` is not a multiple of `t`'s block.
    static func fallback(_ t: GGMLType, cols: Int) -> TensorChoice {
        guard cols % t.blockSize != 0 else { return TensorChoice(type: t, fellBack: false) }
        var r: GGMLType
        switch t {
        case .q2_K, .q3_K: r = .q4_0
        case .q4_K: r = .q5_0
        case .q5_K: r = .q5_1
        case .q6_K: r = .q8_0
        default: r = t
        }
        if cols % r.blockSize != 0 { r = .f16 }
        return TensorChoice(type: r, fellBack: true)
    }
}
