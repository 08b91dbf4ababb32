import GGUF

/// Why a tokenizer could not be built. The message names the metadata key or value at fault.
public struct TokenizerError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A token's type, as stored in `tokenizer.ggml.token_type`.
public enum TokenType: Int32, Sendable {
    case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

/// The tokenizer algorithm (`tokenizer.ggml.model`).
public enum TokenizerModel: String, Sendable {
    /// Byte-level BPE with merge ranks (GPT-2, Llama 3, Qwen2, DeepSeek).
    case gpt2
    /// SentencePiece BPE with scores, "▁" for spaces and `<0xXX>` byte fallback (Llama 1/2).
    case llama
}

/// The pre-tokenizer that splits text into words before byte-level BPE (`tokenizer.ggml.pre`).
public enum PreTokenizer: String, Sendable, CaseIterable {
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    case gpt2
    /// Llama 3: contractions (any case), `[^\r\n\p{L}\p{N}]?\p{L}+`, digits in groups of 1–3, punctuation runs, newlines.
    case llama3
    /// Qwen2 (also DeepSeek-R1-distill-Qwen): as Llama 3 but every digit on its own.
    case qwen2
    /// SmolLM / StarCoder: every digit isolated, then GPT-2's rule.
    case smollm
    /// DeepSeek LLM: newlines, Latin/Greek/Cyrillic letter runs, ASCII/fullwidth punctuation runs, trailing spaces,
    /// CJK runs and number runs, each split in turn.
    case deepseekLLM

    /// The pre-tokenizer for a `tokenizer.ggml.pre` value, accepting the aliases llama.cpp maps to the same rule.
    public static func named(_ name: String) -> PreTokenizer? {
        switch name {
        case "gpt-2", "gpt2", "phi-2", "mpt", "olmo", "jais", "jina-es", "jina-de", "jina-v2-es", "jina-v2-de",
             "gigachat", "mellum", "exaone4", "trillion":
            return .gpt2
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral", "dbrx", "smaug-bpe", "falcon-h1", "lfm2":
            return .llama3
        case "qwen2", "deepseek-r1-qwen", "megrez", "stablelm2", "hunyuan":
            return .qwen2
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b":
            return .smollm
        case "deepseek-llm":
            return .deepseekLLM
        default:
            return nil
        }
    }
}

/// Everything a `Tokenizer` is built from, as a plain value (so tokenizers can be made without files).
public struct TokenizerConfig: Sendable {
    public var model: TokenizerModel
    /// `tokenizer.ggml.pre`; ignored for the `llama` model.
    public var preTokenizer: String
    /// Token texts, indexed by id (byte-level encoded for `gpt2`, with "▁" for spaces for `llama`).
    public var tokens: [String]
    /// Scores (SentencePiece merge priorities); empty means all zero.
    public var scores: [Float]
    /// Token types; empty means all normal.
    public var tokenTypes: [TokenType]
    /// BPE merges "left right" in rank order (`gpt2` model).
    public var merges: [String]
    public var bosID: Int32?
    public var eosID: Int32?
    public var eotID: Int32?
    public var eomID: Int32?
    public var padID: Int32?
    public var unknownID: Int32?
    /// Whether `encode(addSpecial: true)` prepends BOS; nil: the model's default (true for `llama` and Llama 3).
    public var addBOS: Bool?
    /// Whether `encode(addSpecial: true)` appends EOS; nil: false.
    public var addEOS: Bool?
    /// SentencePiece: add a space before the text (`tokenizer.ggml.add_space_prefix`); nil: true.
    public var addSpacePrefix: Bool?
    /// `tokenizer.chat_template`, the Jinja source.
    public var chatTemplate: String?

    public init(model: TokenizerModel, preTokenizer: String = "default", tokens: [String], scores: [Float] = [],
                tokenTypes: [TokenType] = [], merges: [String] = [], bosID: Int32? = nil, eosID: Int32? = nil,
                eotID: Int32? = nil, eomID: Int32? = nil, padID: Int32? = nil, unknownID: Int32? = nil,
                addBOS: Bool? = nil, addEOS: Bool? = nil, addSpacePrefix: Bool? = nil, chatTemplate: String? = nil) {
        self.model = model
        self.preTokenizer = preTokenizer
        self.tokens = tokens
        self.scores = scores
        self.tokenTypes = tokenTypes
        self.merges = merges
        self.bosID = bosID
        self.eosID = eosID
        self.eotID = eotID
        self.eomID = eomID
        self.padID = padID
        self.unknownID = unknownID
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.addSpacePrefix = addSpacePrefix
        self.chatTemplate = chatTemplate
    }

    /// Reads the `tokenizer.*` metadata of a GGUF file.
    public init(gguf: GGUFFile) throws {
        let file = gguf.path
        guard let modelName = gguf.string("tokenizer.ggml.model") else {
            throw TokenizerError("\(file): no tokenizer (metadata key 'tokenizer.ggml.model' is missing)")
        }
        guard let model = TokenizerModel(rawValue: modelName) else {
            throw TokenizerError("\(file): unsupported tokenizer model '\(modelName)' in 'tokenizer.ggml.model' (supported: gpt2, llama)")
        }
        guard let tokenValues = gguf.array("tokenizer.ggml.tokens") else {
            throw TokenizerError("\(file): metadata key 'tokenizer.ggml.tokens' is missing or not an array")
        }
        var tokens: [String] = []
        tokens.reserveCapacity(tokenValues.count)
        for (i, v) in tokenValues.enumerated() {
            guard case .string(let s) = v else {
                throw TokenizerError("\(file): 'tokenizer.ggml.tokens' element \(i) is not a string")
            }
            tokens.append(s)
        }
        let n = tokens.count
        guard n > 0 else { throw TokenizerError("\(file): 'tokenizer.ggml.tokens' is empty") }

        var scores: [Float] = []
        if let a = gguf.array("tokenizer.ggml.scores") {
            guard a.count >= n else {
                throw TokenizerError("\(file): 'tokenizer.ggml.scores' has \(a.count) entries for \(n) tokens")
            }
            scores.reserveCapacity(n)
            for v in a.prefix(n) {
                switch v {
                case .float32(let f): scores.append(f)
                default: scores.append(Float(v.doubleValue ?? 0))
                }
            }
        }
        var types: [TokenType] = []
        if let a = gguf.array("tokenizer.ggml.token_type") {
            guard a.count >= n else {
                throw TokenizerError("\(file): 'tokenizer.ggml.token_type' has \(a.count) entries for \(n) tokens")
            }
            types.reserveCapacity(n)
            for v in a.prefix(n) {
                let raw: Int32
                if case .int32(let x) = v { raw = x } else { raw = Int32(truncatingIfNeeded: v.intValue ?? 0) }
                types.append(TokenType(rawValue: raw) ?? .undefined)
            }
        }
        var merges: [String] = []
        if let a = gguf.array("tokenizer.ggml.merges") {
            merges.reserveCapacity(a.count)
            for (i, v) in a.enumerated() {
                guard case .string(let s) = v else {
                    throw TokenizerError("\(file): 'tokenizer.ggml.merges' element \(i) is not a string")
                }
                merges.append(s)
            }
        } else if model == .gpt2 {
            throw TokenizerError("\(file): BPE tokenizer without merges (metadata key 'tokenizer.ggml.merges' is missing)")
        }
        func id(_ key: String) -> Int32? {
            guard let v = gguf.int(key), v >= 0, v < n else { return nil }
            return Int32(v)
        }
        self.init(model: model, preTokenizer: gguf.string("tokenizer.ggml.pre") ?? "default", tokens: tokens,
                  scores: scores, tokenTypes: types, merges: merges,
                  bosID: id("tokenizer.ggml.bos_token_id"), eosID: id("tokenizer.ggml.eos_token_id"),
                  eotID: id("tokenizer.ggml.eot_token_id"), eomID: id("tokenizer.ggml.eom_token_id"),
                  padID: id("tokenizer.ggml.padding_token_id"), unknownID: id("tokenizer.ggml.unknown_token_id"),
                  addBOS: gguf.bool("tokenizer.ggml.add_bos_token"), addEOS: gguf.bool("tokenizer.ggml.add_eos_token"),
                  addSpacePrefix: gguf.bool("tokenizer.ggml.add_space_prefix"),
                  chatTemplate: gguf.string("tokenizer.chat_template"))
    }
}
