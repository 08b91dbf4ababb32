import Tokenizers

extension Architecture {
    /// Qwen3 (dense): as Qwen2 ("neox" RoPE) but without q/k/v biases, and with a per-head RMSNorm of
    /// q and k (`attn_q_norm`, `attn_k_norm`, `head_dim` weights) applied after the projection and
    /// before RoPE (llama.cpp `src/models/qwen3.cpp`). The head size comes from
    /// `qwen3.attention.key_length` and is not `dim / heads` in the released models (Qwen3-0.6B:
    /// 16 heads of 128 over a 1024-wide model). The tiny models carry Qwen3's chat template, so
    /// they are recognised as thinking models (`<think>`…`</think>`).
    public static let qwen3 = Architecture(
        name: "qwen3", ropeStyle: .neox, qkvBias: .optional, qkNorm: true, ropeFreqs: false,
        tiny: TinyTraits(tiedOutput: true, ropeBase: 1_000_000, tokenizerPre: "qwen2", qwenTokens: true,
                         wideHeads: true, seedSalt: 0x3333, chatTemplate: ChatTemplate.qwen3Source))
}
