import GGUF

/// A tokenizer for GGUF models: byte-level BPE (`gpt2`: GPT-2, Llama 3, Qwen2, DeepSeek) or SentencePiece BPE
/// (`llama`: Llama 1/2), matching llama.cpp's token ids.
///
/// Immutable after construction and safe to use from several threads at once.
public final class Tokenizer: @unchecked Sendable {
    /// The algorithm: byte-level BPE (`gpt2`) or SentencePiece (`llama`).
    public let model: TokenizerModel
    /// The pre-tokenizer (byte-level BPE only).
    public let preTokenizer: PreTokenizer?
    /// Beginning of sequence (`tokenizer.ggml.bos_token_id`).
    public let bosID: Int32?
    /// End of sequence (`tokenizer.ggml.eos_token_id`).
    public let eosID: Int32?
    /// End of turn (`<|im_end|>`, `<|eot_id|>`, …), from metadata or found by its text.
    public let eotID: Int32?
    /// Padding (`tokenizer.ggml.padding_token_id`).
    public let padID: Int32?
    /// SentencePiece's unknown token (`tokenizer.ggml.unknown_token_id`).
    public let unknownID: Int32?
    /// Whether `encode(addSpecial: true)` prepends BOS / appends EOS.
    public let addBOS: Bool
    public let addEOS: Bool
    /// SentencePiece: a space is put before the text (and removed again when decoding).
    public let addSpacePrefix: Bool
    /// The Jinja chat template from the file, if any.
    public let chatTemplateSource: String?
    /// Ids that end generation (EOS, EOT, EOM and the end-of-turn tokens known by their text).
    public let eogIDs: Set<Int32>

    private let tokens: [String]
    private let types: [TokenType]
    private let scores: [Float]
    private let vocab: ByteStringTable
    private let merges: MergeTable
    /// Token id for each raw byte (byte-level alphabet for `gpt2`, `<0xXX>` for `llama`); -1 if none.
    private let byteTokens: [Int32]
    private let specials: SpecialMatcher
    private let stages: [PreTokenize.Stage]
    /// Llama 3: a pre-tokenized word that is itself a token is not merged further.
    private let ignoreMerges: Bool
    /// Decoded bytes of every token, back to back.
    private let piecePool: [UInt8]
    private let pieceStart: [Int32]

    /// Number of tokens in the vocabulary.
    public var vocabularySize: Int { tokens.count }

    /// Builds the tokenizer described by a GGUF file's metadata.
    public convenience init(gguf: GGUFFile) throws {
        try self.init(config: TokenizerConfig(gguf: gguf))
    }

    /// Builds a tokenizer from a plain configuration.
    public init(config: TokenizerConfig) throws {
        let n = config.tokens.count
        guard n > 0 else { throw TokenizerError("tokenizer has an empty vocabulary") }
        guard n < Int(Int32.max) else { throw TokenizerError("tokenizer vocabulary too large (\(n) tokens)") }
        guard config.tokenTypes.isEmpty || config.tokenTypes.count >= n else {
            throw TokenizerError("tokenizer has \(config.tokenTypes.count) token types for \(n) tokens")
        }
        guard config.scores.isEmpty || config.scores.count >= n else {
            throw TokenizerError("tokenizer has \(config.scores.count) scores for \(n) tokens")
        }
        model = config.model
        tokens = config.tokens
        let fileTypes = config.tokenTypes.isEmpty ? [TokenType](repeating: .normal, count: n) : Array(config.tokenTypes.prefix(n))
        scores = config.scores
        func valid(_ id: Int32?) -> Int32? { id.flatMap { $0 >= 0 && Int($0) < n ? $0 : nil } }
        unknownID = valid(config.unknownID)
        padID = valid(config.padID)
        chatTemplateSource = config.chatTemplate

        let table = ByteStringTable(capacity: n)
        for (i, t) in config.tokens.enumerated() {
            table.insert(t, value: Int32(i))
        }
        vocab = table

        switch config.model {
        case .gpt2:
            guard let pre = PreTokenizer.named(config.preTokenizer) else {
                throw TokenizerError("unsupported pre-tokenizer '\(config.preTokenizer)' (tokenizer.ggml.pre); supported: "
                    + "llama-bpe, qwen2, deepseek-r1-qwen, smollm, gpt-2, deepseek-llm and their aliases")
            }
            preTokenizer = pre
            stages = PreTokenize.stages(pre)
            ignoreMerges = pre == .llama3
            addBOS = config.addBOS ?? (pre == .llama3)
            addSpacePrefix = false
            var bytes = [Int32](repeating: -1, count: 256)
            var buf: [UInt8] = []
            for b in 0..<256 {
                buf.removeAll(keepingCapacity: true)
                var one = UInt8(b)
                withUnsafeBytes(of: &one) { ByteLevel.encode($0, into: &buf) }
                bytes[b] = buf.withUnsafeBytes { table.find($0) } ?? -1
            }
            byteTokens = bytes
            let pairs = PairTable(capacity: config.merges.count)
            var rank: Int32 = 0
            var scratch = [UInt8](repeating: 0, count: 1024)
            for merge in config.merges {
                defer { rank += 1 }
                var m = merge
                m.withUTF8 { u in
                    guard let base = u.baseAddress else { return }
                    // Split at the first space after the first byte (a half may itself start with a space).
                    var split = -1
                    var k = 1
                    while k < u.count {
                        if base[k] == 0x20 { split = k; break }
                        k += 1
                    }
                    guard split > 0 else { return }
                    let left = UnsafeRawBufferPointer(start: base, count: split)
                    let right = UnsafeRawBufferPointer(start: base + split + 1, count: u.count - split - 1)
                    guard let l = table.find(left), let r = table.find(right) else { return }
                    if scratch.count < u.count { scratch = [UInt8](repeating: 0, count: u.count * 2) }
                    let merged: Int32? = scratch.withUnsafeMutableBytes { dst in
                        dst.baseAddress!.copyMemory(from: base, byteCount: split)
                        (dst.baseAddress! + split).copyMemory(from: base + split + 1, byteCount: right.count)
                        return table.find(UnsafeRawBufferPointer(start: dst.baseAddress!, count: u.count - 1))
                    }
                    guard let merged = merged else { return }
                    pairs.insertIfAbsent(MergeTable.key(l, r), UInt64(UInt32(rank)) << 32 | UInt64(UInt32(merged)))
                }
            }
            merges = MergeTable(table: pairs)
        case .llama:
            preTokenizer = nil
            stages = []
            ignoreMerges = false
            addBOS = config.addBOS ?? true
            addSpacePrefix = config.addSpacePrefix ?? true
            var bytes = [Int32](repeating: -1, count: 256)
            let hex = Array("0123456789ABCDEF".utf8)
            for b in 0..<256 {
                let name: [UInt8] = [0x3C, 0x30, 0x78, hex[b >> 4], hex[b & 15], 0x3E]  // <0xXX>
                bytes[b] = name.withUnsafeBytes { table.find($0) } ?? -1
            }
            byteTokens = bytes
            merges = MergeTable(table: PairTable(capacity: 1))
        }
        addEOS = config.addEOS ?? false

        // Special ids: from the configuration, else known defaults, else found by text.
        func byText(_ texts: [String]) -> Int32? {
            for t in texts { if let id = table.find(t) { return id } }
            return nil
        }
        bosID = valid(config.bosID) ?? (config.model == .llama ? valid(1) : nil)
        eosID = valid(config.eosID) ?? (config.model == .llama ? valid(2) : nil)
        let eot = valid(config.eotID) ?? byText(KnownTokens.endOfTurn)
        eotID = eot
        var eog = Set<Int32>()
        for id in [eosID, eot, valid(config.eomID)] { if let id = id { eog.insert(id) } }
        for text in KnownTokens.endOfGeneration {
            if let id = table.find(text) { eog.insert(id) }
        }
        for list in KnownTokens.fimEndingGeneration {
            if let id = byText(list) { eog.insert(id) }
        }
        eogIDs = eog
        // As llama.cpp does, tokens known by their text as end-of-turn, end-of-generation or fill-in-the-middle
        // markers are control tokens even where the file says otherwise (e.g. a "normal" "</s>" in Qwen2's vocab).
        var promoted = fileTypes
        for id in eog where promoted[Int(id)] != .control { promoted[Int(id)] = .control }
        for list in [KnownTokens.endOfTurn, ["<|eom_id|>"]] + KnownTokens.fim {
            if let id = byText(list), promoted[Int(id)] != .control { promoted[Int(id)] = .control }
        }
        types = promoted

        // Tokens matched in raw text before anything else.
        var specialIDs: [Int32] = []
        for i in 0..<n where types[i] == .control || types[i] == .userDefined || types[i] == .unknown {
            specialIDs.append(Int32(i))
        }
        specials = SpecialMatcher(tokens: config.tokens, ids: specialIDs)

        // What each token decodes to.
        var pool: [UInt8] = []
        var starts: [Int32] = []
        starts.reserveCapacity(n + 1)
        pool.reserveCapacity(n * 6)
        for i in 0..<n {
            starts.append(Int32(pool.count))
            let text = config.tokens[i]
            switch types[i] {
            case .control, .unknown, .userDefined, .unused, .undefined:
                pool.append(contentsOf: text.utf8)
            case .byte:
                if let b = Tokenizer.byteValue(text) {
                    pool.append(b)
                } else {
                    pool.append(contentsOf: text.utf8)
                }
            case .normal:
                if config.model == .gpt2 {
                    ByteLevel.decode(text, into: &pool)
                } else {
                    Tokenizer.appendUnescaped(text, to: &pool)
                }
            }
        }
        starts.append(Int32(pool.count))
        piecePool = pool
        pieceStart = starts
    }

    /// `<0xXX>` → XX.
    static func byteValue(_ text: String) -> UInt8? {
        let u = Array(text.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        return UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16)
    }

    /// SentencePiece text → bytes with "▁" turned back into spaces.
    static func appendUnescaped(_ text: String, to out: inout [UInt8]) {
        let u = Array(text.utf8)
        var i = 0
        while i < u.count {
            if i + 2 < u.count, u[i] == 0xE2, u[i + 1] == 0x96, u[i + 2] == 0x81 {
                out.append(0x20)
                i += 3
            } else {
                out.append(u[i])
                i += 1
            }
        }
    }

    // MARK: Token properties

    /// The token's text as stored in the vocabulary (byte-level or "▁" spelling), or "" for an invalid id.
    public func tokenText(_ id: Int32) -> String {
        guard id >= 0, Int(id) < tokens.count else { return "" }
        return tokens[Int(id)]
    }

    /// The id of the token whose stored text is exactly `text` (e.g. `"<think>"`), if any.
    public func tokenID(_ text: String) -> Int32? { vocab.find(text) }

    /// The token's type after llama.cpp's corrections (end-of-turn and FIM markers are control tokens); nil for an
    /// invalid id.
    public func tokenType(_ id: Int32) -> TokenType? {
        guard id >= 0, Int(id) < types.count else { return nil }
        return types[Int(id)]
    }

    /// A control token (BOS, EOS, `<|im_start|>`, …): not rendered by `decode` unless asked.
    public func isControl(_ id: Int32) -> Bool { tokenType(id) == .control }

    /// Whether generation stops at this token.
    public func isEOG(_ id: Int32) -> Bool { eogIDs.contains(id) }

    /// The bytes a token stands for (control and unknown tokens render their text only when `special`).
    public func pieceBytes(_ id: Int32, special: Bool = true) -> ArraySlice<UInt8> {
        guard id >= 0, Int(id) < tokens.count else { return [] }
        if !special {
            let t = types[Int(id)]
            if t == .control || t == .unknown { return [] }
        }
        return piecePool[Int(pieceStart[Int(id)])..<Int(pieceStart[Int(id) + 1])]
    }

    /// The text a token stands for (invalid UTF-8 shown as U+FFFD), specials rendered.
    public func piece(_ id: Int32) -> String {
        String(decoding: pieceBytes(id), as: UTF8.self)
    }

    // MARK: Encoding

    /// Converts text to token ids.
    /// - Parameters:
    ///   - addSpecial: add BOS/EOS as the model asks (`addBOS`, `addEOS`).
    ///   - parseSpecial: recognise control tokens such as `<|im_start|>` written in the text. User-defined tokens
    ///     (e.g. `<think>`) are always recognised, as in llama.cpp.
    public func encode(_ text: String, addSpecial: Bool = true, parseSpecial: Bool = true) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(text.utf8.count / 3 + 4)
        if addSpecial && addBOS, let b = bosID { out.append(b) }
        var t = text
        t.withUTF8 { u in
            let raw = UnsafeRawBufferPointer(u)
            let found = specials.matches(in: raw) { [types] id in
                parseSpecial || types[Int(id)] == .userDefined
            }
            var state = EncodeState()
            var pos = 0
            var prevSpecial = true
            for m in found {
                if m.start > pos {
                    encodeFragment(UnsafeRawBufferPointer(rebasing: raw[pos..<m.start]), prevSpecial: prevSpecial,
                                   state: &state, into: &out)
                }
                out.append(m.id)
                prevSpecial = true
                pos = m.end
            }
            if pos < raw.count {
                encodeFragment(UnsafeRawBufferPointer(rebasing: raw[pos...]), prevSpecial: prevSpecial,
                               state: &state, into: &out)
            }
        }
        if addSpecial && addEOS, let e = eosID { out.append(e) }
        return out
    }

    /// Scratch buffers reused across the fragments and words of one `encode` call.
    private struct EncodeState {
        var scalars: [UInt32] = []
        var offsets: [Int32] = []
        var ends: [Int32] = []
        var initial: [Int32] = []
        var spelled: [UInt8] = []
        var bpe = BPEMerger()
        var spm = SPMMerger()
    }

    private func encodeFragment(_ bytes: UnsafeRawBufferPointer, prevSpecial: Bool, state: inout EncodeState,
                                into out: inout [Int32]) {
        switch model {
        case .llama:
            state.spelled.removeAll(keepingCapacity: true)
            if addSpacePrefix && prevSpecial { state.spelled.append(contentsOf: [0xE2, 0x96, 0x81]) }
            for b in bytes {
                if b == 0x20 {
                    state.spelled.append(contentsOf: [0xE2, 0x96, 0x81])
                } else {
                    state.spelled.append(b)
                }
            }
            state.spelled.withUnsafeBytes { text in
                state.spm.tokenize(text, vocab: vocab, scores: scores, byteTokens: byteTokens, unknown: unknownID,
                                   into: &out)
            }
        case .gpt2:
            decodeScalars(bytes, &state.scalars, &state.offsets)
            state.scalars.withUnsafeBufferPointer { cps in
                PreTokenize.split(cps, stages: stages, into: &state.ends)
            }
            var start = 0
            for e in state.ends {
                let b0 = Int(state.offsets[start]), b1 = Int(state.offsets[Int(e)])
                encodeWord(UnsafeRawBufferPointer(rebasing: bytes[b0..<b1]), state: &state, into: &out)
                start = Int(e)
            }
        }
    }

    private func encodeWord(_ word: UnsafeRawBufferPointer, state: inout EncodeState, into out: inout [Int32]) {
        if ignoreMerges {
            state.spelled.removeAll(keepingCapacity: true)
            ByteLevel.encode(word, into: &state.spelled)
            if let id = state.spelled.withUnsafeBytes({ vocab.find($0) }) {
                out.append(id)
                return
            }
        }
        state.initial.removeAll(keepingCapacity: true)
        for b in word { state.initial.append(byteTokens[Int(b)]) }
        state.initial.withUnsafeBufferPointer { state.bpe.merge($0, merges: merges, into: &out) }
    }

    /// UTF-8 → scalars, with the byte offset of each scalar (and the end offset as a last entry).
    private func decodeScalars(_ u: UnsafeRawBufferPointer, _ cps: inout [UInt32], _ offsets: inout [Int32]) {
        cps.removeAll(keepingCapacity: true)
        offsets.removeAll(keepingCapacity: true)
        var i = 0
        let n = u.count
        while i < n {
            offsets.append(Int32(i))
            let b0 = UInt32(u[i])
            var len = utf8SequenceLength(u[i])
            if i + len > n { len = 1 }
            var cp: UInt32
            switch len {
            case 2: cp = (b0 & 0x1F) << 6 | (UInt32(u[i + 1]) & 0x3F)
            case 3: cp = (b0 & 0x0F) << 12 | (UInt32(u[i + 1]) & 0x3F) << 6 | (UInt32(u[i + 2]) & 0x3F)
            case 4:
                cp = (b0 & 0x07) << 18 | (UInt32(u[i + 1]) & 0x3F) << 12 | (UInt32(u[i + 2]) & 0x3F) << 6
                    | (UInt32(u[i + 3]) & 0x3F)
            default: cp = b0 < 0x80 ? b0 : 0xFFFD
            }
            cps.append(cp)
            i += len
        }
        offsets.append(Int32(n))
    }

    // MARK: Decoding

    /// Converts token ids to text. Control tokens are left out unless `renderSpecial`; for SentencePiece the space
    /// added before the text is removed. Invalid UTF-8 (a character cut off at the end) becomes U+FFFD.
    public func decode(_ ids: [Int32], renderSpecial: Bool = false) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        var stripSpace = addSpacePrefix
        for id in ids {
            var p = pieceBytes(id, special: renderSpecial)
            if p.isEmpty { continue }
            if stripSpace {
                stripSpace = false
                if p.first == 0x20 { p = p.dropFirst() }
            }
            bytes.append(contentsOf: p)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
