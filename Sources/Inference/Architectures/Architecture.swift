/// What a transformer family has, in the terms the loader and the forward pass need. Every family
/// TokenMill runs is a pre-norm decoder (RMSNorm, attention with RoPE and GQA, SwiGLU
/// feed-forward); a description names what differs between them. One file per family
/// (llama.swift, qwen2.swift, qwen3.swift) defines its description; `Catalogue.swift` lists them.
public struct Architecture: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// `general.architecture`, also the prefix of the family's metadata keys (`qwen3.block_count`).
    public let name: String
    /// How RoPE pairs the dimensions of a head.
    public let ropeStyle: RopeStyle
    /// Whether the q/k/v projections carry biases (`blk.N.attn_{q,k,v}.bias`).
    public let qkvBias: Presence
    /// Per-head RMSNorm of q and k after the projection, before RoPE (`attn_q_norm`, `attn_k_norm`,
    /// `head_dim` weights each, shared by all heads).
    public let qkNorm: Bool
    /// Whether llama.cpp accepts `rope_freqs.weight` in this family (TokenMill loads it when present).
    public let ropeFreqs: Bool
    /// How TokenMill's tiny test models of this family look (`TinyModel`).
    public let tiny: TinyTraits

    /// Whether an optional part of a family is there.
    public enum Presence: Sendable, Equatable, Hashable {
        /// Every model of the family has it; loading fails without.
        case required
        /// Loaded when the file has it (llama.cpp's `TENSOR_NOT_REQUIRED`).
        case optional
    }

    /// Conventions of the tiny random-weight models `TinyModel` writes for this family (the
    /// choices real models of the family make, at toy size).
    public struct TinyTraits: Sendable, Equatable, Hashable {
        /// No `output.weight`: the output reuses the token embedding.
        public var tiedOutput: Bool
        /// `rope.freq_base`.
        public var ropeBase: Float
        /// `tokenizer.ggml.pre`.
        public var tokenizerPre: String
        /// BOS is `<|endoftext|>` and not added (Qwen); otherwise `<|begin_of_text|>`, added.
        public var qwenTokens: Bool
        /// Head size twice `dim / heads` (Qwen3: 128-wide heads over a 1024-wide model), so
        /// `attention.key_length` and a q width other than dim are exercised.
        public var wideHeads: Bool
        /// Mixed into the seed so families with the same seed get different weights.
        public var seedSalt: UInt64
        /// `tokenizer.chat_template`: nil for the plain ChatML of the tiny models.
        public var chatTemplate: String?
    }

    public var description: String { name }
}

/// RoPE layout: "normal" rotates consecutive pairs (2i, 2i+1), "neox" pairs split by n_rot/2 (i, i + n_rot/2).
public enum RopeStyle: String, Sendable { case normal, neox }
