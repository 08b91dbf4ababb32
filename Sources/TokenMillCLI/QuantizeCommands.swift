import ArgumentParser
import Foundation
import Inference
import QuantizeJobs

/// Quantization commands: quantize (one file type, like llama-quantize), imatrix, perplexity (PPL and KLD).
let quantizeCommands: [ParsableCommand.Type] = [QuantizeCommand.self, ImatrixCommand.self, PerplexityCommand.self, DevQuantModelCommand.self]

/// Prints a QuantizeError (or any error) as a plain message and exits non-zero.
private func fail(_ e: Error) -> Never {
    FileHandle.standardError.write(Data("error: \(e)\n".utf8))
    Foundation.exit(1)
}

struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Write a model in another file type (llama-quantize's names: Q8_0, Q6_K, Q5_K_M, Q4_K_M, Q4_0, Q3_K_M, Q2_K, F16, ...).",
        discussion: """
            Per-tensor types follow llama-quantize's rules (output.weight in Q6_K, attn_v/ffn_down with more bits in _M
            types, norms kept F32, fallbacks for row lengths that do not fit a block). The file is written to a
            temporary name and renamed, so an interrupted run leaves nothing at DST. To queue several types with
            quality measurement, enqueue a `quantize` job (jobs/schemas/quantize.schema.json).
            """)
    @Argument(help: "Source GGUF (F32, F16 or BF16; a quantized one needs --allow-requantize).") var source: String
    @Argument(help: "Destination GGUF.") var destination: String
    @Argument(help: "File type, e.g. Q4_K_M.") var type: String
    @Option(help: "GGUF importance matrix (tokenmill imatrix or llama-imatrix).") var imatrix: String?
    @Flag(help: "Allow a quantized source (it is dequantized first; quality is lost twice).") var allowRequantize = false
    @Option(help: "Threads.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Flag(help: "Print the report as JSON.") var json = false

    func run() throws {
        do {
            let ft = try QuantFileType.parse(type)
            let im = try imatrix.map(ImportanceMatrix.read)
            let opts = QuantizeOptions(fileType: ft, allowRequantize: allowRequantize, imatrix: im, imatrixPath: imatrix, threads: threads)
            var last = -1
            let r = try ModelQuantizer.quantize(source: source, destination: destination, options: opts, progress: { done, total, name in
                let pct = done * 100 / max(total, 1)
                if pct / 10 != last / 10 || done == total {
                    last = pct
                    FileHandle.standardError.write(Data("[\(done)/\(total)] \(name)\n".utf8))
                }
            })
            for w in r.warnings { FileHandle.standardError.write(Data("warning: \(w)\n".utf8)) }
            if json {
                let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys, .prettyPrinted]
                print(String(decoding: try enc.encode(r), as: UTF8.self))
            } else {
                print(String(format: "%@ → %@: %@, %.2f MiB (from %.2f MiB), %.3f bits/weight, %.2f s; tensors: %@",
                             source, destination, ft.name, Double(r.outputBytes) / 1048576, Double(r.sourceBytes) / 1048576,
                             r.bitsPerWeight, r.seconds,
                             r.tensorTypes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")))
            }
        } catch { fail(error) }
    }
}

struct ImatrixCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imatrix",
        abstract: "Compute an importance matrix (mean squared activations per weight column) over a calibration text.",
        discussion: "Written in llama.cpp's GGUF imatrix format; use it with `tokenmill quantize --imatrix` or llama-quantize.")
    @Option(name: .shortAndLong, help: "Model GGUF.") var model: String
    @Option(name: .shortAndLong, help: "Calibration text (UTF-8).") var file: String
    @Option(name: .short, help: "Output GGUF imatrix.") var output: String
    @Option(help: "Tokens per chunk.") var chunkSize: Int = 512
    @Option(help: "Most chunks (default: all).") var chunks: Int?
    @Option(help: "Threads.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        do {
            let start = Date()
            let p = ImatrixPayload(model: model, text: file, output: output, chunk_size: chunkSize, chunks: chunks, threads: threads)
            let im = try p.run(progress: { f, m in FileHandle.standardError.write(Data("\(Int(f * 100))% \(m)\n".utf8)) })
            print(String(format: "%@: %d tensors, %d chunks of %d tokens, %.1f s", output, im.sums.count, im.chunkCount, im.chunkSize,
                         Date().timeIntervalSince(start)))
        } catch { fail(error) }
    }
}

struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Perplexity of a model over a text and, with --kl-base, its KL divergence and top-1 agreement against another model.",
        discussion: """
            llama-perplexity's method: windows of --context tokens, the second half of each scored. With --kl-base SRC the
            reference distributions of SRC are recorded once (cached next to SRC unless --no-cache) and MODEL is compared.
            """)
    @Option(name: .shortAndLong, help: "Model GGUF.") var model: String
    @Option(name: .shortAndLong, help: "Evaluation text (UTF-8).") var file: String
    @Option(help: "Reference model for KL divergence (default: the model itself, giving PPL only).") var klBase: String?
    @Option(help: "Tokens per window.") var context: Int = 128
    @Option(help: "Most windows (default: all).") var chunks: Int?
    @Option(help: "Threads.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Directory for the cached reference distributions (default: the reference's directory).") var cacheDir: String?
    @Flag(help: "Do not read or write the reference cache.") var noCache = false
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        do {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let ref = klBase ?? model
            let settings = EvalSettings(contextLength: context, maxChunks: chunks, threads: threads)
            let dir = noCache ? nil : (cacheDir ?? (ref as NSString).deletingLastPathComponent)
            let (base, cached) = try LogitEvaluator.baseLogits(sourcePath: ref, text: text, settings: settings, cacheDir: dir)
            FileHandle.standardError.write(Data("reference \(ref): \(base.scoredCount) positions, PPL \(String(format: "%.4f", base.perplexity))\(cached ? " (cached)" : "")\n".utf8))
            let m = try Model.load(path: model)
            let r = try LogitEvaluator.compare(model: m, base: base, threads: threads)
            if json {
                let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
                print(String(decoding: try enc.encode(r), as: UTF8.self))
            } else {
                print(String(format: "%@: PPL %.4f (reference %.4f, ratio %.4f), mean KLD %.6f, median %.6f, p99 %.6f, max %.6f, top-1 agreement %.2f%%, %d tokens in %d windows of %d, %.1f s",
                             model, r.perplexity, r.basePerplexity, r.perplexityRatio, r.meanKLD, r.medianKLD, r.p99KLD, r.maxKLD,
                             100 * r.top1Agreement, r.tokensScored, r.chunks, r.contextLength, r.seconds))
            }
        } catch { fail(error) }
    }
}

struct DevQuantModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-quant-model",
        abstract: "Write the tiny K-quant-shaped F32 test model (and optionally its synthetic imatrix), for fixtures.",
        shouldDisplay: false)
    @Option(help: "llama, qwen2 or qwen3.") var arch = "llama"
    @Option(help: "Output GGUF.") var out: String
    @Option(help: "Seed.") var seed: UInt64 = 3
    @Option(help: "Also write the synthetic imatrix here.") var imatrixOut: String?

    func run() throws {
        do {
            try TinyModel.write(arch: arch, type: .f32, path: out, seed: seed, options: TinyModel.Options(kQuantShape: true))
            if let i = imatrixOut { try ImportanceMatrix.synthetic(model: out).write(to: i) }
        } catch { fail(error) }
    }
}
