import Foundation
import Testing
@testable import Tokenizers

@Suite("Tokenizer behaviour")
struct TokenizerBehaviourTests {
    /// A tiny byte-level BPE vocabulary: the 256 byte tokens, a few merges, one control and one user-defined token.
    static func tinyConfig() -> TokenizerConfig {
        var tokens: [String] = []
        for b in 0..<256 {
            tokens.append(String(Character(Unicode.Scalar(ByteLevel.byteToScalar[b])!)))
        }
        // "h e" -> "he", "l l" -> "ll", "he ll" -> "hell", "hell o" -> "hello", "Ġ w" -> "Ġw"
        tokens += ["he", "ll", "hell", "hello", "Ġw", "<|endoftext|>", "<think>"]
        var types = [TokenType](repeating: .normal, count: tokens.count)
        types[tokens.count - 2] = .control
        types[tokens.count - 1] = .userDefined
        return TokenizerConfig(model: .gpt2, preTokenizer: "qwen2", tokens: tokens, tokenTypes: types,
                               merges: ["h e", "l l", "he ll", "hell o", "Ġ w"], eosID: Int32(tokens.count - 2))
    }

    @Test func tinyVocabularyMergesAndSpecials() throws {
        let tok = try Tokenizer(config: Self.tinyConfig())
        let hello = tok.tokenID("hello")!
        let think = tok.tokenID("<think>")!
        let eot = tok.tokenID("<|endoftext|>")!
        #expect(tok.encode("hello", addSpecial: false) == [hello])
        // "hellohe": one word, merges by rank: he, ll, hell, hello, then "he" at the end.
        #expect(tok.encode("hellohe", addSpecial: false) == [hello, tok.tokenID("he")!])
        // User-defined tokens are matched even without parseSpecial; control tokens only with it.
        let plain = tok.encode("hello<think>x<|endoftext|>", addSpecial: false, parseSpecial: false)
        #expect(plain.contains(think))
        #expect(!plain.contains(eot))
        let parsed = tok.encode("hello<think>x<|endoftext|>", addSpecial: false, parseSpecial: true)
        #expect(parsed == [hello, think, tok.tokenID("x")!, eot])
        #expect(tok.isEOG(eot))
        #expect(tok.isControl(eot))
        #expect(!tok.isControl(think))
        #expect(tok.decode(parsed) == "hello<think>x")
        #expect(tok.decode(parsed, renderSpecial: true) == "hello<think>x<|endoftext|>")
        // Qwen2 has no BOS by default.
        #expect(tok.encode("hello") == [hello])
    }

    @Test func tinySentencePieceVocabulary() throws {
        var tokens = ["<unk>", "<s>", "</s>"]
        var types: [TokenType] = [.unknown, .control, .control]
        for b in 0..<256 {
            tokens.append("<0x" + String(b, radix: 16, uppercase: true).leftPadded(to: 2) + ">")
            types.append(.byte)
        }
        let words = ["▁", "h", "e", "l", "o", "he", "ll", "▁h", "▁he", "hell", "▁hell", "▁hello"]
        tokens += words
        types += [TokenType](repeating: .normal, count: words.count)
        // Longer pieces score higher, so they win the merges.
        let scores = [Float](repeating: 0, count: 259) + words.map { -10 + Float($0.count) }
        let tok = try Tokenizer(config: TokenizerConfig(model: .llama, tokens: tokens, scores: scores, tokenTypes: types))
        #expect(tok.addBOS && tok.bosID == 1 && tok.eosID == 2)
        let hello = tok.tokenID("▁hello")!
        #expect(tok.encode("hello") == [1, hello])
        // "é" is not in the vocabulary: it is spelled with byte tokens.
        let ids = tok.encode("hello é", addSpecial: false)
        #expect(ids == [hello, tok.tokenID("▁")!, tok.tokenID("<0xC3>")!, tok.tokenID("<0xA9>")!])
        #expect(tok.decode(ids) == "hello é")
        #expect(tok.decode([1, hello, 2]) == "hello")
    }

    @Test func unsupportedPreTokenizerIsNamed() {
        var config = Self.tinyConfig()
        config.preTokenizer = "mystery-pre"
        #expect(throws: TokenizerError.self) { try Tokenizer(config: config) }
        do {
            _ = try Tokenizer(config: config)
        } catch {
            #expect("\(error)".contains("mystery-pre"))
        }
    }

    @Test func specialTokensInRealVocabularies() throws {
        let qwen = try Fixtures.tokenizer("qwen2")
        let text = "<|im_start|>user\nHi there<|im_end|>\n"
        let ids = qwen.encode(text, addSpecial: false, parseSpecial: true)
        #expect(ids.first == 151644)
        #expect(ids.contains(151645))
        #expect(qwen.decode(ids, renderSpecial: true) == text)
        let literal = qwen.encode(text, addSpecial: false, parseSpecial: false)
        #expect(!literal.contains(151644) && !literal.contains(151645))
        #expect(qwen.decode(literal) == text)
        #expect(qwen.tokenID("<|im_end|>") == 151645)
        #expect(qwen.isEOG(151645) && qwen.isEOG(151643))
        #expect(qwen.eotID == 151645)

        let llama3 = try Fixtures.tokenizer("llama-bpe")
        #expect(llama3.addBOS)
        let l3 = llama3.encode("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>")
        #expect(Array(l3.prefix(2)) == [128000, 128006])
        #expect(l3.last == 128009)
        #expect(llama3.isEOG(128009) && llama3.isEOG(128001))

        let spm = try Fixtures.tokenizer("llama-spm")
        #expect(spm.addBOS && spm.bosID == 1 && spm.eosID == 2)
        let s = spm.encode("Hello</s>world")
        #expect(s.first == 1)
        #expect(s.contains(2))
    }

    @Test(arguments: ["qwen2", "llama-bpe", "llama-spm", "gpt-2", "deepseek-llm"])
    func decodeInvertsEncode(name: String) throws {
        let tok = try Fixtures.tokenizer(name)
        var texts = try Fixtures.vectors(name).map(\.input)
        texts += ["Grüße, 世界! 🚀🔥 👨‍👩‍👧 — x² + y² = z²\n\tcode()  ", "  leading and trailing  ", "ø ö ú"]
        for text in texts {
            let ids = tok.encode(text, addSpecial: true, parseSpecial: false)
            #expect(tok.decode(ids) == text, "\(name): \(text.debugDescription)")
        }
    }

    @Test func streamingHoldsBackSplitCharacters() throws {
        // SentencePiece spells characters missing from its vocabulary as byte tokens, one byte each.
        let spm = try Fixtures.tokenizer("llama-spm")
        let text = "Go 🚀 now 𝔘 and 中"
        let ids = spm.encode(text, addSpecial: true, parseSpecial: false)
        let rocket = [Int32](ids.drop { spm.tokenText($0) != "<0xF0>" })
        #expect(!rocket.isEmpty)
        var stream = StreamingDetokenizer(tokenizer: spm)
        var out = ""
        var sawPending = false
        for id in ids {
            let piece = stream.append(id)
            #expect(!piece.unicodeScalars.contains("\u{FFFD}"))
            if stream.pendingByteCount > 0 {
                sawPending = true
                #expect(stream.missingByteCount > 0)
                #expect(!stream.isAtCharacterBoundary)
            }
            out += piece
        }
        out += stream.flush()
        #expect(sawPending)
        #expect(out == text)
        #expect(out == spm.decode(ids))

        // Exact bookkeeping on the four byte tokens of U+1F680.
        var s2 = StreamingDetokenizer(tokenizer: spm)
        let bytes = [0xF0, 0x9F, 0x9A, 0x80].map { spm.tokenID(String(format: "<0x%02X>", $0))! }
        #expect(s2.append(bytes[0]) == "")
        #expect(s2.pendingByteCount == 1 && s2.missingByteCount == 3)
        #expect(s2.append(bytes[1]) == "")
        #expect(s2.append(bytes[2]) == "")
        #expect(s2.pendingByteCount == 3 && s2.missingByteCount == 1)
        #expect(s2.append(bytes[3]) == "🚀")
        #expect(s2.isAtCharacterBoundary)
        // An unfinished character is flushed as U+FFFD rather than lost.
        _ = s2.append(bytes[0])
        #expect(s2.flush() == "\u{FFFD}")
    }

    @Test func streamingByteLevelBPE() throws {
        let qwen = try Fixtures.tokenizer("qwen2")
        let text = "数学题：𝔘𝔫𝔦 ünï 🚀🔥 \u{1F9D1}\u{200D}\u{1F4BB} done"
        let ids = qwen.encode(text, addSpecial: false)
        var stream = StreamingDetokenizer(tokenizer: qwen)
        var out = ""
        for id in ids {
            let piece = stream.append(id)
            #expect(!piece.unicodeScalars.contains("\u{FFFD}"))
            out += piece
        }
        out += stream.flush()
        #expect(out == text)
    }

    @Test func utf8Boundaries() {
        #expect(UTF8Boundary.incompleteSuffixLength(Array("abc".utf8)) == 0)
        #expect(UTF8Boundary.incompleteSuffixLength([0x61, 0xE4, 0xB8]) == 2)
        #expect(UTF8Boundary.incompleteSuffixLength([0xF0, 0x9F, 0x9A]) == 3)
        #expect(UTF8Boundary.incompleteSuffixLength([0xF0, 0x9F, 0x9A, 0x80]) == 0)
        // A stray continuation byte is invalid, not pending.
        #expect(UTF8Boundary.incompleteSuffixLength([0x61, 0x80]) == 0)
        // A lead byte followed by a non-continuation byte is invalid too.
        #expect(UTF8Boundary.incompleteSuffixLength([0xE4, 0x61]) == 0)
    }

    @Test(arguments: ["qwen2", "llama-bpe", "llama-spm"])
    func encodingSpeed(name: String) throws {
        let tok = try Fixtures.tokenizer(name)
        let base = try Fixtures.vectors(name).map(\.input).joined(separator: "\n")
        var text = ""
        while text.utf8.count < 50_000 { text += base + "\nThe quick brown fox jumps over the lazy dog 1234567. " }
        let t0 = Date()
        let ids = tok.encode(text, addSpecial: false)
        let dt = Date().timeIntervalSince(t0)
        #expect(ids.count > 5_000)
        #expect(tok.decode(ids) == text)
        print(String(format: "[tokenizers] %@: encoded %d bytes into %d tokens in %.3f s: %.0f tokens/s", name,
                     text.utf8.count, ids.count, dt, Double(ids.count) / dt))
    }
}

extension String {
    func leftPadded(to n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
