import ArgumentParser
import Foundation
import CPUFeatures
import GGUF
import Inference
import TensorKernels
import Tokenizers

/// Inference commands: run, bench, inspect (and hidden dev tools: logits, dev-tiny-model).
let inferenceCommands: [ParsableCommand.Type] = [
    RunCommand.self, BenchCommand.self, InspectCommand.self, LogitsCommand.self, DevTinyModelCommand.self,
    BenchKernelsCommand.self,
]

private func defaultThreads() -> Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

private func printErr(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// Parses "1, 2 3\n4" / "[1,2,3]" into token ids.
func parseTokenIds(_ text: String) throws -> [Int32] {
    var out: [Int32] = []
    for part in text.split(whereSeparator: { $0 == "," || $0 == "[" || $0 == "]" || $0.isWhitespace }) {
        guard let v = Int32(part), v >= 0 else { throw ValidationError("bad token id '\(part)'") }
        out.append(v)
    }
    return out
}

private func parseKV(_ s: String) throws -> KVCacheType {
    guard let t = KVCacheType(rawValue: s) else { throw ValidationError("--kv must be f32 or f16") }
    return t
}

// MARK: run

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Generate a continuation of a prompt and stream it to stdout.")

    @Option(name: .long, help: "GGUF model file.") var model: String
    @Option(name: .long, help: "Prompt text (needs the tokenizer).") var prompt: String?
    @Option(name: .long, help: "Prompt as comma-separated token ids.") var tokens: String?
    @Option(name: .customLong("max-tokens"), help: "Most tokens to generate.") var maxTokens = 128
    @Option(name: .long, help: "Temperature (0 = greedy).") var temp: Float = 0.8
    @Option(name: .customLong("top-k")) var topK = 40
    @Option(name: .customLong("top-p")) var topP: Float = 0.95
    @Option(name: .customLong("min-p")) var minP: Float = 0.05
    @Option(name: .customLong("repeat-penalty")) var repeatPenalty: Float = 1.0
    @Option(name: .long, help: "Sampling seed.") var seed: UInt64 = 0
    @Option(name: .long, help: "Compute threads.") var threads: Int?
    @Option(name: .customLong("ctx"), help: "Context length (default: the model's, at most 4096).") var ctx: Int?
    @Option(name: .long, help: "KV cache type: f32 or f16.") var kv = "f16"
    @Flag(name: .long, help: "Wrap the prompt in the model's chat template.") var chat = false

    func validate() throws {
        if (prompt == nil) == (tokens == nil) { throw ValidationError("give exactly one of --prompt or --tokens") }
    }

    func run() async throws {
        let m = try Model.load(path: model)
        let ids: [Int32]
        var detok: StreamingDetokenizer?
        if let tokens {
            ids = try parseTokenIds(tokens)
        } else {
            let tk = try Tokenizer(gguf: m.file)
            if chat {
                ids = tk.encodeChat([.user(prompt!)], template: try tk.chatTemplate())
            } else {
                ids = tk.encode(prompt!, addSpecial: true)
            }
            detok = StreamingDetokenizer(tokenizer: tk)
        }
        let context = ctx ?? min(m.config.contextLength, 4096)
        let kvType = try parseKV(kv)
        printErr(m.config.description)
        printErr(m.memoryPlan(contextLength: context, sequences: 1, kvType: kvType))
        let engine = GenerationEngine(model: m, threads: threads ?? defaultThreads(), maxSequences: 1,
                                      contextLength: context, kvType: kvType)
        defer { engine.shutdown() }
        let eos = detok?.tokenizer.eogIDs ?? m.file.int("tokenizer.ggml.eos_token_id").map { Set([Int32($0)]) } ?? []
        let params = SamplingParams(temperature: temp, topK: topK, topP: topP, minP: minP,
                                    repeatPenalty: repeatPenalty, seed: seed)
        let r = try await engine.generate(GenerationRequest(prompt: ids, maxTokens: maxTokens, sampling: params, stopTokens: eos)) { e in
            if detok != nil {
                if !eos.contains(e.token) { FileHandle.standardOutput.write(Data(detok!.append(e.token).utf8)) }
            } else {
                FileHandle.standardOutput.write(Data("\(e.token) ".utf8))
            }
        }
        if detok != nil { FileHandle.standardOutput.write(Data(detok!.flush().utf8)) }
        print("")
        printErr("prompt \(r.promptTokens) tokens, generated \(r.tokens.count) (\(r.finishReason.rawValue)), "
            + String(format: "time to first token %.3f s, decode %.2f tokens/s", r.timeToFirstToken, r.decodeTokensPerSecond))
    }
}

// MARK: bench

struct BenchResult: Codable {
    var model_filename: String
    var model_type: String
    var n_threads: Int
    var n_prompt: Int
    var n_gen: Int
    var n_sequences: Int
    /// Positions already in the KV cache when the timed test starts (llama-bench's `n_depth`).
    var n_depth: Int = 0
    var avg_ts: Double
    var stddev_ts: Double
    var samples_ts: [Double]
    /// Peak resident memory of the process after the test (VmHWM), and the two parts it should be
    /// close to: the mapped weights and the preallocated KV cache.
    var rss_peak_bytes: Int?
    var weights_bytes: Int?
    var kv_bytes: Int?
    /// Resident memory after the tests by kind (`RssAnon`, `RssFile`), and what the anonymous part
    /// holds: the weights repacked at load, those copied as they are, the KV cache positions the
    /// tests wrote, and the rest (activation and logit buffers, metadata and tokenizer tables, the
    /// runtime's heap).
    var rss_anon_bytes: Int?
    var rss_file_bytes: Int?
    var repacked_bytes: Int?
    var copied_bytes: Int?
    var kv_written_bytes: Int?
    var other_anon_bytes: Int?
    /// The instruction level of the 8-bit kernels (`KernelLevel`: amx, avx512gfni, avx512, avx2, portable).
    var kernels: String?
    /// At the `amx` level: nanoseconds a `tdpbsud` took on the tile unit right after the tests (`amxProbeLine`).
    var amx_tile_ns: Double?
}

/// "kernels: avx2 (cpu: avx2 fma f16c bmi2)" for `bench` and `inspect`.
func kernelLevelLine(_ level: KernelLevel = .current) -> String {
    "kernels: \(level) (cpu: \(CPUFeatures.host); levels it runs: \(KernelLevel.supported().map(\.rawValue).joined(separator: ", ")); "
        + "\(KernelLevel.environmentKey) forces one)"
        + (KernelLevel.integerTilesFrom.map { "; integer tiles from \($0) sequences (TOKENMILL_INT_TILES_FROM)" } ?? "")
        + (Repack.enabled ? "" : "; no repacking at load (\(Repack.environmentKey)=0)")
        + (KernelLevel.streamPrefetchFrom.map { $0 > 1 ? "; software prefetch from \($0) sequences (TOKENMILL_PREFETCH_FROM)" : "" } ?? "")
}

/// "amx tile unit: 7.4 ns a tdpbsud (16x16x64) now" for `bench` and `bench-kernels` on hosts with the `amx`
/// level (nil elsewhere): the unit can be shared with other cores or virtual machines, and the tile kernels'
/// figures move with it.
func amxProbeLine() -> String? {
    KernelLevel.amxProbeNanoseconds().map {
        String(format: "amx tile unit: %.1f ns a tdpbsud (16x16x64) now (shared units are slower; the tile kernels move with it)", $0)
    }
}

/// The size fields of /proc/self/status (`VmHWM`: peak resident set, `RssAnon`, `RssFile`, ...) in bytes,
/// read once; empty where unavailable.
func processStatusBytes() -> [String: Int] {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return [:] }
    var out: [String: Int] = [:]
    for line in status.split(separator: "\n") where line.hasSuffix(" kB") {
        let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })  // "VmHWM:\t  1234 kB"
        if f.count == 3, f[0].hasSuffix(":"), let kb = Int(f[1]) { out[String(f[0].dropLast())] = kb * 1024 }
    }
    return out
}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure prompt processing and (batched) decode speed, like llama-bench.")

    @Option(name: .long, help: "GGUF model file.") var model: String
    @Option(name: .customShort("p"), help: "Prompt tokens for the prompt-processing test (0 = skip).") var nPrompt = 128
    @Option(name: .customShort("n"), help: "Tokens to generate per sequence for the decode tests (0 = skip).") var nGen = 64
    @Option(name: .long, help: "Sequence counts for the decode tests, comma-separated.") var sequences = "1"
    @Option(name: [.customShort("d"), .long],
            help: "Positions in each sequence's KV cache before a test starts, filled untimed (llama-bench's -d).")
    var depth = 0
    @Option(name: .long, help: "Compute threads.") var threads: Int?
    @Option(name: .customShort("r"), help: "Repetitions.") var repetitions = 3
    @Option(name: .long, help: "KV cache type: f32 or f16.") var kv = "f16"
    @Flag(name: .long, help: "Print a JSON array (llama-bench keys plus n_sequences).") var json = false

    func run() throws {
        let m = try Model.load(path: model)
        let t = threads ?? defaultThreads()
        let kvType = try parseKV(kv)
        let seqCounts = try sequences.split(separator: ",").map { s -> Int in
            guard let v = Int(s.trimmingCharacters(in: .whitespaces)), v > 0 else { throw ValidationError("bad --sequences '\(s)'") }
            return v
        }
        let maxSeq = max(1, seqCounts.max() ?? 1)
        guard depth >= 0 else { throw ValidationError("--depth must be 0 or more") }
        let context = depth + max(nPrompt, nGen) + 8
        if !json {
            printErr(m.config.description)
            printErr(m.memoryPlan(contextLength: context, sequences: maxSeq, kvType: kvType))
            printErr(kernelLevelLine())
            if let line = amxProbeLine() { printErr(line) }
        }
        let e = InferenceEngine(model: m, threads: t, maxSequences: maxSeq, contextLength: context,
                                maxBatchTokens: max(256, maxSeq), maxLogitRows: maxSeq, kvType: kvType)
        var rng = SplitMix64(seed: 42)
        let vocab = m.config.vocab
        func randomToken() -> Int32 { Int32(rng.next() % UInt64(vocab)) }
        let name = (model as NSString).lastPathComponent
        let type = Dictionary(grouping: m.file.tensors.filter { $0.dims.count == 2 }, by: { $0.type })
            .max { $0.value.count < $1.value.count }.map { "\($0.key)" } ?? "?"
        var results: [BenchResult] = []
        func stats(_ xs: [Double]) -> (Double, Double) {
            let mean = xs.reduce(0, +) / Double(xs.count)
            let v = xs.count > 1 ? xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(xs.count - 1) : 0
            return (mean, v.squareRoot())
        }
        func now() -> Double { Date().timeIntervalSince1970 }
        // `depth` positions in every slot a test uses, once and untimed: slot 0 by prompt steps, copied to
        // the others. The tests write only from position `depth` on, so the filled rows stay as they are.
        var filled = 0
        while filled < depth {
            let n = min(256, depth - filled)
            try e.forward((0..<n).map { BatchToken(seq: 0, token: randomToken(), pos: filled + $0, wantLogits: filled + $0 == depth - 1) })
            filled += n
        }
        if depth > 0 && nGen > 0 { for s in 1..<maxSeq { e.copyKVRows(from: 0, to: s, count: depth) } }
        let test = depth > 0 ? " @ d\(depth)" : ""

        if nPrompt > 0 {
            var samples: [Double] = []
            for rep in 0...repetitions {  // rep 0 is a warm-up
                let toks = (0..<nPrompt).map { _ in randomToken() }
                let t0 = now()
                var p = 0
                while p < nPrompt {
                    let n = min(256, nPrompt - p)
                    try e.forward((0..<n).map {
                        BatchToken(seq: 0, token: toks[p + $0], pos: depth + p + $0, wantLogits: p + $0 == nPrompt - 1)
                    })
                    p += n
                }
                if rep > 0 { samples.append(Double(nPrompt) / (now() - t0)) }
            }
            let (avg, sd) = stats(samples)
            results.append(BenchResult(model_filename: name, model_type: type, n_threads: t, n_prompt: nPrompt, n_gen: 0,
                                       n_sequences: 1, n_depth: depth, avg_ts: avg, stddev_ts: sd, samples_ts: samples))
        }
        if nGen > 0 {
            for s in seqCounts {
                var samples: [Double] = []
                for rep in 0...repetitions {
                    // Each sequence starts from one token at position `depth` (0 by default), as llama-bench's tg test does.
                    var batch = (0..<s).map { BatchToken(seq: $0, token: randomToken(), pos: 0, wantLogits: true) }
                    let steps = rep == 0 ? min(nGen, 4) : nGen
                    let t0 = now()
                    for step in 0..<steps {
                        for i in 0..<s {
                            batch[i].pos = depth + step
                            batch[i].token = randomToken()
                        }
                        try e.forward(batch)
                    }
                    if rep > 0 { samples.append(Double(s * steps) / (now() - t0)) }
                }
                let (avg, sd) = stats(samples)
                results.append(BenchResult(model_filename: name, model_type: type, n_threads: t, n_prompt: 0, n_gen: nGen,
                                           n_sequences: s, n_depth: depth, avg_ts: avg, stddev_ts: sd, samples_ts: samples))
            }
        }
        let status = processStatusBytes()
        let rss = status["VmHWM"], kvBytes = m.kvBytesPerSequence(contextLength: context, type: kvType) * maxSeq
        // Positions written: the prompt test's in slot 0, each decode test's in its slots.
        let written = depth + (nGen > 0 ? max(nPrompt, nGen) + (maxSeq - 1) * (depth + nGen) : nPrompt)
        let kvWritten = m.kvBytesPerSequence(contextLength: written, type: kvType)
        let anon = status["RssAnon"], file = status["RssFile"]
        let otherAnon = anon.map { $0 - m.repackedBytes - m.copiedBytes - kvWritten }
        // The tile unit's speed after the tests, for the JSON rows (the table's header printed it before them).
        let tileNs = json && e.kernelLevel == .amx ? KernelLevel.amxProbeNanoseconds() : nil
        for i in results.indices {
            results[i].amx_tile_ns = tileNs
            results[i].rss_peak_bytes = rss; results[i].weights_bytes = m.weightBytes; results[i].kv_bytes = kvBytes
            results[i].rss_anon_bytes = anon; results[i].rss_file_bytes = file; results[i].repacked_bytes = m.repackedBytes
            results[i].copied_bytes = m.copiedBytes
            results[i].kv_written_bytes = kvWritten; results[i].other_anon_bytes = otherAnon
            results[i].kernels = e.kernelLevel.rawValue
        }
        if !json, let rss {
            printErr("memory: peak resident \(formatBytes(rss)); weights \(formatBytes(m.weightBytes)) mapped + KV cache "
                     + "\(formatBytes(kvBytes)) = \(formatBytes(m.weightBytes + kvBytes))")
        }
        if !json, let anon, let file, let otherAnon {
            printErr("resident now: anonymous \(formatBytes(anon)) = weights repacked \(formatBytes(m.repackedBytes)) + copied "
                     + "\(formatBytes(m.copiedBytes)) + KV written "
                     + "\(formatBytes(kvWritten)) + other \(formatBytes(otherAnon)) (activations, logits, tables, heap); "
                     + "file-backed \(formatBytes(file)) (the mapped weights read, the binary and its libraries)")
        }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(results), as: UTF8.self))
        } else {
            print("| model | type | threads | test | seqs | t/s |")
            print("| --- | --- | ---: | --- | ---: | ---: |")
            for r in results {
                let name = (r.n_prompt > 0 ? "pp\(r.n_prompt)" : "tg\(r.n_gen)") + test
                print("| \(r.model_filename) | \(r.model_type) | \(r.n_threads) | \(name) | \(r.n_sequences) | "
                    + String(format: "%.2f ± %.2f", r.avg_ts, r.stddev_ts) + " |")
            }
        }
    }
}

// MARK: inspect

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Show a GGUF file's metadata, tensor types and memory plan.")

    @Argument(help: "GGUF file.") var path: String

    static func show(_ v: GGUFValue) -> String {
        switch v {
        case .string(let s):
            let e = s.count > 80 ? String(s.prefix(80)) + "…(\(s.count) chars)" : s
            return "\"" + e.replacingOccurrences(of: "\n", with: "\\n") + "\""
        case .array(let t, let items):
            let head = items.prefix(6).map(show).joined(separator: ", ")
            return "[\(t)] × \(items.count): [\(head)\(items.count > 6 ? ", …" : "")]"
        case .float32(let f): return "\(f)"
        case .float64(let d): return "\(d)"
        case .bool(let b): return "\(b)"
        default: return v.intValue.map { "\($0)" } ?? "?"
        }
    }

    func run() throws {
        let f = try GGUFFile(path: path)
        print("\(path): GGUF v\(f.version), \(f.metadataKeys.count) metadata keys, \(f.tensors.count) tensors, "
            + "alignment \(f.alignment), \(formatBytes(f.fileSize))")
        print("\nmetadata:")
        for k in f.metadataKeys { print("  \(k) = \(Self.show(f.value(k)!))") }
        print("\ntensor types:")
        var byType: [GGMLType: (count: Int, bytes: Int, elements: Int)] = [:]
        for t in f.tensors {
            var e = byType[t.type] ?? (0, 0, 0)
            e.count += 1
            e.bytes += t.byteCount
            e.elements += t.elementCount
            byType[t.type] = e
        }
        for (t, e) in byType.sorted(by: { $0.value.bytes > $1.value.bytes }) {
            print("  \(t): \(e.count) tensors, \(e.elements) weights, \(formatBytes(e.bytes))")
        }
        do {
            let m = try Model(file: f)
            print("\nmodel: \(m.config)\(m.tiedOutput ? ", tied output" : "")")
            print(kernelLevelLine())
            for ctx in [m.config.contextLength, 4096] {
                print("  " + m.memoryPlan(contextLength: ctx, sequences: 1, kvType: .f16)
                    + "; f32 KV: \(formatBytes(m.kvBytesPerSequence(contextLength: ctx, type: .f32)))")
            }
        } catch {
            print("\nnot runnable by TokenMill: \(error)")
        }
    }
}

// MARK: logits (hidden)

struct LogitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logits", abstract: "Write raw float32 logits [n][vocab] for a token-id sequence (no BOS added).",
        shouldDisplay: false)

    @Option(name: .long) var model: String
    @Option(name: .customLong("tokens-file"), help: "Token ids separated by whitespace or commas.") var tokensFile: String
    @Option(name: .long) var out: String
    @Option(name: .long) var threads: Int?
    @Option(name: .long, help: "KV cache type: f32 or f16.") var kv = "f32"
    @Option(name: .customLong("greedy"), help: "Also print N greedy continuation ids as JSON.") var greedy = 0
    @Option(name: .long, help: "Tokens per forward pass (1 = one token at a time, as a decode loop runs).") var ubatch = 64

    func run() throws {
        guard ubatch >= 1 else { throw ValidationError("--ubatch must be at least 1") }
        let m = try Model.load(path: model)
        let ids = try parseTokenIds(String(contentsOfFile: tokensFile, encoding: .utf8))
        guard !ids.isEmpty else { throw ValidationError("\(tokensFile) holds no token ids") }
        let chunk = ubatch
        let e = InferenceEngine(model: m, threads: threads ?? defaultThreads(), maxSequences: 1,
                                contextLength: ids.count + greedy, maxBatchTokens: chunk, maxLogitRows: chunk,
                                kvType: try parseKV(kv))
        let vocab = m.config.vocab
        var data = Data(capacity: ids.count * vocab * 4)
        var p = 0
        var last: [Float] = []
        while p < ids.count {
            let n = min(chunk, ids.count - p)
            try e.forward((0..<n).map { BatchToken(seq: 0, token: ids[p + $0], pos: p + $0, wantLogits: true) })
            for r in 0..<n {
                let row = e.logits(row: r)
                data.append(UnsafeBufferPointer(start: row.baseAddress, count: vocab))
                if p + r == ids.count - 1 { last = Array(row) }
            }
            p += n
        }
        try data.write(to: URL(fileURLWithPath: out))
        if greedy > 0 {
            var gen: [Int32] = []
            for i in 0..<greedy {
                var best = 0
                for j in 1..<vocab where last[j] > last[best] { best = j }
                gen.append(Int32(best))
                if i == greedy - 1 { break }
                try e.forward([BatchToken(seq: 0, token: Int32(best), pos: ids.count + i, wantLogits: true)])
                last = Array(e.logits(row: 0))
            }
            print("[" + gen.map(String.init).joined(separator: ", ") + "]")
        }
    }
}

// MARK: bench-kernels (hidden)

/// Times `MatMulEngine.multiply` per weight type (see `KernelBench`): the figure behind decode
/// (GB/s of weights at one sequence) and prompt processing (GFLOP/s at many).
struct BenchKernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-kernels", abstract: "Time the matrix kernels per weight type (GB/s, GFLOP/s).",
        discussion: "TOKENMILL_KERNELS=amx|avx512gfni|avx512|avx2|portable forces the kernel level; TOKENMILL_INT_TILES_FROM=N runs "
            + "the integer tiles from N sequences on (1: always, 99: never; the AVX2 and AVX-512 tiles, not the amx level's), so "
            + "two runs with --sequences 2,3,4,6,8 show this host's tile crossovers; TOKENMILL_PREFETCH_FROM=N (1: always, 99: never) sets from how many sequences per "
            + "pass the streaming kernels prefetch their weights in software (default 1, 2 on AMD Zen 4). Types that models repack at load (every quantised type, at every level but portable) are timed in both "
            + "layouts: the level's name with -r8 is the repacked one (TOKENMILL_REPACK=0 switches repacking off). "
            + "Without --hot the products rotate over copies of the matrix spanning 256 MiB or twice the last-level cache, "
            + "whichever is more, and each pass is set beside a streaming read of the same copies (%paired, %op): the "
            + "faster of a plain read and one that prefetches 4 KiB ahead in software, as the kernels do.",
        shouldDisplay: false)

    @Option(name: .long, help: "Comma-separated weight types.") var types = "q8_0,q5_0,q4_0,q4_1,q4_K,q6_K"
    @Option(name: .long) var rows = 4864
    @Option(name: .long) var cols = 896
    @Option(name: .long, help: "Comma-separated sequence counts.") var sequences = "1"
    @Option(name: .long, help: "Comma-separated thread counts.") var threads = "1"
    @Flag(name: .long, help: "Reuse one copy of the matrix (cache-resident) instead of streaming from memory.") var hot = false
    @Option(name: .long, help: "Comma-separated kernel levels (default: every level this CPU runs).") var levels: String?
    @Option(name: .long, help: "Float tiles from this many sequences on (default: each level's crossover; 1 = always).") var floatTilesFrom: Int?

    func run() throws {
        func ints(_ s: String, _ what: String) throws -> [Int] {
            let v = s.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !v.isEmpty, v.allSatisfy({ $0 > 0 }) else { throw ValidationError("--\(what): positive integers, comma-separated") }
            return v
        }
        let ts = try types.split(separator: ",").map { name -> GGMLType in
            guard let t = GGMLType(name: String(name)) else {
                throw ValidationError("unknown type \(name)")
            }
            return t
        }
        let ls = try (levels?.split(separator: ",").map(String.init) ?? KernelLevel.supported().map(\.rawValue)).map { name in
            guard let l = KernelLevel(rawValue: name), l.runs(on: .host) else {
                throw ValidationError("--levels: \(name) is not a level this CPU runs (\(KernelLevel.supported().map(\.rawValue).joined(separator: ", ")))")
            }
            return l
        }
        print(kernelLevelLine())
        if let line = amxProbeLine() { print(line) }
        print(try KernelBench.run(types: ts, rows: rows, cols: cols, nSeq: try ints(sequences, "sequences"),
                              threads: try ints(threads, "threads"), cold: !hot, levels: ls, gemmMinSeq: floatTilesFrom))
    }
}

// MARK: dev-tiny-model (hidden)

struct DevTinyModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-tiny-model", abstract: "Write a small random-weight llama/qwen2/qwen3 GGUF for tests.",
        shouldDisplay: false)

    @Option(name: .long, help: "llama, qwen2 or qwen3.") var arch: String
    @Option(name: .long, help: "Weight type: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_K ... q6_K.") var type = "f32"
    @Option(name: .long) var out: String
    @Option(name: .long) var seed: UInt64 = 1
    @Option(name: .customLong("rope-scaling"), help: "Write rope.scaling.type (linear or yarn).") var ropeScaling: String?
    @Option(name: .customLong("rope-factor")) var ropeFactor: Float = 4
    @Option(name: .customLong("rope-orig-ctx"), help: "rope.scaling.original_context_length.") var ropeOrigCtx: Int?
    @Flag(name: .customLong("rope-freqs"), help: "Add a Llama-3.1-style rope_freqs.weight (llama).") var ropeFreqs = false

    func run() throws {
        guard let t = GGMLType(name: type) else {
            throw ValidationError("unknown type '\(type)' (e.g. f32, f16, q8_0, q4_K)")
        }
        let options = TinyModel.Options(ropeScaling: ropeScaling, ropeFactor: ropeFactor, originalContext: ropeOrigCtx,
                                        ropeFreqs: ropeFreqs)
        try TinyModel.write(arch: arch, type: t, path: out, seed: seed, options: options)
        printErr("wrote \(out)")
    }
}
