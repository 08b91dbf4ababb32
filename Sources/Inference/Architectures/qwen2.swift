extension Architecture {
    /// Qwen2 / Qwen2.5: "neox" RoPE and biases on the q/k/v projections (llama.cpp `src/models/qwen2.cpp`).
    public static let qwen2 = Architecture(
        name: "qwen2", ropeStyle: .neox, qkvBias: .required, qkNorm: false, ropeFreqs: false,
        tiny: TinyTraits(tiedOutput: true, ropeBase: 1_000_000, tokenizerPre: "qwen2", qwenTokens: true,
                         wideHeads: false, seedSalt: 0x2222, chatTemplate: nil))
}
