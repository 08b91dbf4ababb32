/// The architectures TokenMill runs and the GGUF names of their tensors: the one table loading,
/// the tiny-model writer and the activation observer read (llama.cpp keeps the same facts in
/// `src/llama-arch.cpp`). Each family describes itself in a file of its own next to this one;
/// adding a family means writing that file and listing it in `Architecture.known`.

extension Architecture {
    /// Every architecture TokenMill loads, by `general.architecture`.
    public static let known: [Architecture] = [.llama, .qwen2, .qwen3]

    /// The architecture whose `general.architecture` is `name`, if TokenMill runs it.
    public static func named(_ name: String) -> Architecture? {
        known.first { $0.name == name }
    }
}

/// A tensor of a dense transformer by its role. The raw value is llama.cpp's base name
/// (`LLM_TENSOR_NAMES`); `weight(layer:)` and `bias(layer:)` give the full GGUF names.
public enum TensorName: String, Sendable, CaseIterable {
    // Whole-model tensors.
    case tokenEmbedding = "token_embd"
    case outputNorm = "output_norm"
    case output = "output"
    /// Per-pair RoPE frequency divisors (Llama 3.1 style).
    case ropeFreqs = "rope_freqs"
    // Per-block tensors, `blk.N.<name>`.
    case attnNorm = "attn_norm"
    case attnQ = "attn_q"
    case attnK = "attn_k"
    case attnV = "attn_v"
    case attnOutput = "attn_output"
    /// Per-head RMSNorm of q (Qwen3), `head_dim` values.
    case attnQNorm = "attn_q_norm"
    /// Per-head RMSNorm of k (Qwen3), `head_dim` values.
    case attnKNorm = "attn_k_norm"
    case ffnNorm = "ffn_norm"
    case ffnGate = "ffn_gate"
    case ffnUp = "ffn_up"
    case ffnDown = "ffn_down"

    /// True for the tensors that live in every block (`blk.N.`).
    public var perLayer: Bool {
        switch self {
        case .tokenEmbedding, .outputNorm, .output, .ropeFreqs: return false
        default: return true
        }
    }

    /// The GGUF name of the weight: `token_embd.weight`, `blk.3.attn_q.weight`.
    public func weight(layer: Int? = nil) -> String { name(layer, "weight") }

    /// The GGUF name of the bias: `blk.3.attn_q.bias`.
    public func bias(layer: Int? = nil) -> String { name(layer, "bias") }

    private func name(_ layer: Int?, _ suffix: String) -> String {
        precondition(perLayer == (layer != nil), "\(rawValue): per-layer tensors need a layer, others none")
        if let layer { return "blk.\(layer).\(rawValue).\(suffix)" }
        return "\(rawValue).\(suffix)"
    }
}
