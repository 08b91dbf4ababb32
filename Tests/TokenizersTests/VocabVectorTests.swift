import Foundation
import GGUF
import Testing
@testable import Tokenizers

/// Loads fixture tokenizers once per process (they are immutable and thread-safe).
enum Fixtures {
    static func url(_ name: String, _ ext: String) -> URL {
        guard let url = Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures") else {
            fatalError("missing fixture \(name).\(ext)")
        }
        return url
    }

    static func text(_ name: String, _ ext: String) throws -> String {
        try String(contentsOf: url(name, ext), encoding: .utf8)
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [String: Tokenizer] = [:]

    /// The tokenizer of `ggml-vocab-<name>.gguf`.
    static func tokenizer(_ name: String) throws -> Tokenizer {
        lock.lock()
        defer { lock.unlock() }
        if let t = cache[name] { return t }
        let path = url("ggml-vocab-\(name)", "gguf").path
        let t0 = Date()
        let file = try GGUFFile(path: path)
        let t1 = Date()
        let tok = try Tokenizer(gguf: file)
        let t2 = Date()
        print(String(format: "[tokenizers] %@: GGUF parse %.3f s, tokenizer build %.3f s, %d tokens",
                     name, t1.timeIntervalSince(t0), t2.timeIntervalSince(t1), tok.vocabularySize))
        cache[name] = tok
        return tok
    }

    /// llama.cpp's test vectors: inputs separated by "\n__ggml_vocab_test__\n", one line of ids per input.
    static func vectors(_ name: String) throws -> [(input: String, ids: [Int32])] {
        let inp = try text("ggml-vocab-\(name).gguf", "inp")
        let out = try text("ggml-vocab-\(name).gguf", "out")
        var inputs = inp.components(separatedBy: "\n__ggml_vocab_test__\n")
        if inputs.last == "" { inputs.removeLast() }
        var lines = out.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        precondition(inputs.count == lines.count, "\(name): \(inputs.count) inputs but \(lines.count) outputs")
        return zip(inputs, lines).map { input, line in
            let ids = line.split(separator: " ").map { Int32($0)! }
            return (input, ids)
        }
    }
}

@Suite("llama.cpp tokenizer test vectors")
struct VocabVectorTests {
    @Test(arguments: ["qwen2", "llama-bpe", "llama-spm", "gpt-2", "deepseek-llm"])
    func vectorsMatch(name: String) throws {
        let tok = try Fixtures.tokenizer(name)
        let cases = try Fixtures.vectors(name)
        #expect(cases.count >= 40)
        var failures = 0
        for c in cases {
            // test-tokenizer-0 tokenizes with add_special = false, parse_special = false.
            let got = tok.encode(c.input, addSpecial: false, parseSpecial: false)
            if got != c.ids {
                failures += 1
                Issue.record("\(name): \(c.input.debugDescription)\n  expected \(c.ids)\n  got      \(got)")
            }
        }
        #expect(failures == 0)
    }
}

@Suite("Agreement with llama-tokenize on a mixed text")
struct MixedTextTests {
    /// `mixed_text_ids.json` holds llama-tokenize's ids (BOS as the model wants, special tokens parsed)
    /// for `mixed_text.txt`; see Fixtures/make_llama_tokenize_expectations.py.
    @Test(arguments: ["qwen2", "llama-bpe", "llama-spm", "gpt-2", "deepseek-llm"])
    func matchesLlamaTokenize(name: String) throws {
        let tok = try Fixtures.tokenizer(name)
        let text = try Fixtures.text("mixed_text", "txt")
        let data = try Data(contentsOf: Fixtures.url("mixed_text_ids", "json"))
        let all = try JSONSerialization.jsonObject(with: data) as! [String: [Int]]
        let expected = all[name]!.map { Int32($0) }
        let got = tok.encode(text, addSpecial: true, parseSpecial: true)
        #expect(got.count == expected.count)
        if got != expected {
            var i = 0
            while i < min(got.count, expected.count) && got[i] == expected[i] { i += 1 }
            let g = Array(got[i..<min(i + 8, got.count)]), e = Array(expected[i..<min(i + 8, expected.count)])
            Issue.record("\(name): first difference at token \(i): got \(g), expected \(e)")
        }
        #expect(tok.decode(got, renderSpecial: true).count > 0)
    }
}
