import ArgumentParser
import Foundation
import GGUF
import Tokenizers

/// Tokenizer commands: tokenize.
let tokenizerCommands: [ParsableCommand.Type] = [Tokenize.self]

/// `tokenmill tokenize`: the model's tokenizer applied to a text, printed like llama.cpp's `llama-tokenize`.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tokenize text with a GGUF model's tokenizer (output like llama-tokenize).",
        discussion: """
            Without --ids prints one line per token, "  id -> 'piece'". With --ids prints one JSON array of ids.
            BOS is added when the model asks for it (tokenizer.ggml.add_bos_token) unless --no-bos.
            """
    )

    @Option(name: [.short, .long], help: "Path to a GGUF file (a vocab-only file is enough).")
    var model: String

    @Option(name: [.short, .long], help: "The text to tokenize.")
    var prompt: String?

    @Option(name: [.short, .long], help: "Read the text from this file.")
    var file: String?

    @Flag(help: "Read the text from standard input.")
    var stdin = false

    @Flag(help: "Print only a JSON array of token ids.")
    var ids = false

    @Flag(name: .customLong("no-bos"), help: "Do not add BOS even if the model asks for it.")
    var noBOS = false

    @Flag(name: .customLong("no-parse-special"), help: "Treat control-token texts such as <|im_start|> as plain text.")
    var noParseSpecial = false

    @Flag(name: .customLong("show-count"), help: "Print the number of tokens at the end.")
    var showCount = false

    func validate() throws {
        let sources = [prompt != nil, file != nil, stdin].filter { $0 }.count
        guard sources == 1 else {
            throw ValidationError("give exactly one of --prompt TEXT, --file PATH or --stdin")
        }
    }

    func run() throws {
        let text: String
        if let p = prompt {
            text = p
        } else if let f = file {
            guard FileManager.default.fileExists(atPath: f) else {
                throw TokenizeError("--file \(f): no such file")
            }
            guard let data = FileManager.default.contents(atPath: f) else {
                throw TokenizeError("--file \(f): cannot read the file")
            }
            text = String(decoding: data, as: UTF8.self)
        } else {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        guard FileManager.default.fileExists(atPath: model) else {
            throw TokenizeError("--model \(model): no such file")
        }
        let tokenizer: Tokenizer
        do {
            tokenizer = try Tokenizer(gguf: GGUFFile(path: model))
        } catch {
            throw TokenizeError("--model \(model): \(error)")
        }
        // As llama-tokenize: special tokens (BOS, and EOS where the model wants it) only when the model adds BOS.
        let tokens = tokenizer.encode(text, addSpecial: tokenizer.addBOS && !noBOS, parseSpecial: !noParseSpecial)
        var out: [UInt8] = []
        if ids {
            out += Array(("[" + tokens.map { String($0) }.joined(separator: ", ") + "]\n").utf8)
        } else {
            for t in tokens {
                let id = String(t)
                out += Array((String(repeating: " ", count: max(0, 6 - id.count)) + id + " -> '").utf8)
                out += tokenizer.pieceBytes(t)  // raw bytes, as llama-tokenize prints them
                out += Array("'\n".utf8)
            }
        }
        if showCount { out += Array("Total number of tokens: \(tokens.count)\n".utf8) }
        FileHandle.standardOutput.write(Data(out))
    }
}

/// A failure of `tokenmill tokenize` that is not a usage mistake (printed without the usage text).
struct TokenizeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
