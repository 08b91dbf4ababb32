extension Architecture {
    /// Llama (and the families converted as llama: SmolLM2, Mistral...): "normal" RoPE, q/k/v
    /// biases only when the file has them, optional `rope_freqs.weight` (Llama 3.1 scaling).
    public static let llama = Architecture(
        name: "llama", ropeStyle: .normal, qkvBias: .optional, qkNorm: false, ropeFreqs: true,
        tiny: TinyTraits(tiedOutput: false, ropeBase: 10_000, tokenizerPre: "llama-bpe", qwenTokens: false,
                         wideHeads: false, seedSalt: 0x1111, chatTemplate: nil))
}
