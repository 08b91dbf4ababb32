import Foundation
import GGUF
import Inference
import Queue
import TensorKernels

/// Payload of a `quantize` job (jobs/schemas/quantize.schema.json).
public struct QuantizePayload: Codable, Sendable, Equatable {
    /// The model to quantize (F32/F16/BF16; a quantized one only with `allow_requantize` or `dequantize_source`).
    public var source: String
    /// llama-quantize type names (`Q8_0`, `Q4_K_M`, ...).
    public var types: [String]
    /// Where outputs go (default: the source's directory); files are `<name>-<TYPE>.gguf`.
    public var output_dir: String?
    /// File name prefix (default: the source's file name without `.gguf`).
    public var name: String?
    /// A GGUF importance matrix (llama-imatrix or `tokenmill imatrix`).
    public var imatrix: String?
    public var allow_requantize: Bool?
    /// For an already quantized source: first write a full-precision copy (`F16`, `F32` or `BF16`) by
    /// dequantizing it, then quantize and score against that copy (results note the caveat).
    public var dequantize_source: String?
    /// Quality measurement; omitted: only sizes and times are recorded.
    public var eval: Eval?
    public var threads: Int?
    /// Delete each output after scoring it (default false).
    public var delete_outputs: Bool?

    public struct Eval: Codable, Sendable, Equatable {
        /// Path of a UTF-8 evaluation text.
        public var text: String
        /// Tokens per window (default 128).
        public var context: Int?
        /// Most windows scored (default: all).
        public var chunks: Int?
    }

    public init(source: String, types: [String], output_dir: String? = nil, name: String? = nil, imatrix: String? = nil,
                allow_requantize: Bool? = nil, dequantize_source: String? = nil, eval: Eval? = nil, threads: Int? = nil,
                delete_outputs: Bool? = nil) {
        self.source = source; self.types = types; self.output_dir = output_dir; self.name = name
        self.imatrix = imatrix; self.allow_requantize = allow_requantize; self.dequantize_source = dequantize_source
        self.eval = eval; self.threads = threads; self.delete_outputs = delete_outputs
    }
}

/// One row of tokenmill.quantization_results: what one output file costs.
public struct QuantizationRow: Codable, Sendable, Equatable {
    public var source: String
    /// The model the quality is measured against (the source, or its dequantized copy).
    public var reference: String
    public var sourceNote: String?
    public var quantType: String
    public var outputPath: String
    public var imatrix: String?
    public var report: QuantizeReport
    public var evalText: String?
    public var eval: EvalResult?
    /// True when the output already existed from an earlier attempt of the same job and was reused.
    public var reused: Bool

    /// The insert, run in the job's completion transaction.
    public func insertStatement(jobID: Int64) throws -> SQLStatement {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let types = String(decoding: try enc.encode(report.tensorTypes), as: UTF8.self)
        let warnings = String(decoding: try enc.encode(report.warnings), as: UTF8.self)
        func fin(_ d: Double?) -> Double? { d.flatMap { $0.isFinite ? $0 : nil } }
        return SQLStatement("""
            INSERT INTO tokenmill.quantization_results
              (job_id, source, reference, source_note, quant_type, output_path, imatrix, requantized, file_bytes,
               bits_per_weight, quantize_seconds, tensor_types, eval_text, eval_context, eval_tokens, mean_kld,
               median_kld, p99_kld, max_kld, perplexity, base_perplexity, ppl_ratio, top1_agreement, eval_seconds,
               warnings, reused)
            VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12::jsonb,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25::jsonb,$26)
            ON CONFLICT (job_id, quant_type) DO NOTHING
            """, [
            jobID, source, reference, sourceNote, quantType, outputPath, imatrix, report.requantized, report.outputBytes,
            report.bitsPerWeight, report.seconds, types, evalText, eval?.contextLength, eval?.tokensScored,
            fin(eval?.meanKLD), fin(eval?.medianKLD), fin(eval?.p99KLD), fin(eval?.maxKLD), fin(eval?.perplexity),
            fin(eval?.basePerplexity), fin(eval?.perplexityRatio), fin(eval?.top1Agreement), eval?.seconds, warnings, reused,
        ])
    }
}

/// Runs a whole quantize request (several types, scored against one reference); shared by the job
/// handler and the CLI. Pure of the queue.
public struct QuantizeRunner: Sendable {
    public var payload: QuantizePayload
    public init(payload: QuantizePayload) { self.payload = payload }

    /// Checks the request before any work: types, paths, the text's length is checked when tokenized.
    public func validate() throws -> [QuantFileType] {
        guard !payload.types.isEmpty else { throw QuantizeError.unknownType("(none given)") }
        let types = try payload.types.map(QuantFileType.parse)
        guard FileManager.default.fileExists(atPath: payload.source) else {
            throw QuantizeError.notAModel("\(payload.source): no such file")
        }
        _ = try ModelQuantizer.openModel(payload.source)
        if let d = payload.dequantize_source {
            let t = try QuantFileType.parse(d)
            guard !t.isQuantized else { throw QuantizeError.mismatch("dequantize_source must be F32, F16 or BF16, not \(d)") }
        }
        if let e = payload.eval {
            guard FileManager.default.fileExists(atPath: e.text) else { throw QuantizeError.io("evaluation text \(e.text): no such file") }
        }
        if let i = payload.imatrix { _ = try ImportanceMatrix.read(path: i) }
        return types
    }

    /// Runs every type. `progress(fraction, message)`; `isCancelled` is polled between and inside steps.
    public func run(progress: @escaping (Double, String) -> Void = { _, _ in },
                    isCancelled: @escaping () -> Bool = { false }) throws -> [QuantizationRow] {
        let types = try validate()
        let threads = payload.threads ?? ProcessInfo.processInfo.activeProcessorCount
        let outDir = payload.output_dir ?? (payload.source as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        let stem = payload.name ?? ((payload.source as NSString).lastPathComponent as NSString).deletingPathExtension
        let im = try payload.imatrix.map(ImportanceMatrix.read)

        // The reference: the source, or a full-precision copy of a quantized source.
        var reference = payload.source
        var note: String?
        let steps = Double(types.count + (payload.dequantize_source != nil ? 1 : 0) + (payload.eval != nil ? 1 : 0))
        var step = 0.0
        if let d = payload.dequantize_source {
            let ft = try QuantFileType.parse(d)
            let src = try ModelQuantizer.openModel(payload.source)
            let srcType = ft.name
            let mostly = (src.int("general.file_type").flatMap(QuantFileType.init(rawValue:))?.name) ?? "quantized"
            reference = "\(outDir)/\(stem)-\(srcType)-dequantized.gguf"
            Self.removeStaleTemporaries(of: reference)
            if !Self.reusable(reference, source: payload.source, fileType: ft) {
                progress(0, "writing \(srcType) copy of \(payload.source)")
                let r = try ModelQuantizer.quantize(source: payload.source, destination: reference,
                                                    options: QuantizeOptions(fileType: ft, allowRequantize: true, threads: threads),
                                                    isCancelled: isCancelled)
                try Self.storeReport(r, for: reference)
            }
            note = "reference is a \(srcType) copy dequantized from a \(mostly) file, not the original full-precision weights"
            step += 1
        }
        var base: BaseLogits?
        var evalText: String?
        if let e = payload.eval {
            progress(step / steps, "recording reference distributions over \(e.text)")
            let text: String
            do { text = try String(contentsOfFile: e.text, encoding: .utf8) } catch {
                throw QuantizeError.io("cannot read evaluation text \(e.text): \(error)")
            }
            let settings = EvalSettings(contextLength: e.context ?? 128, maxChunks: e.chunks, threads: threads)
            base = try LogitEvaluator.baseLogits(sourcePath: reference, text: text, settings: settings, cacheDir: outDir,
                                                 isCancelled: isCancelled).0
            evalText = e.text
            step += 1
        }
        var rows: [QuantizationRow] = []
        for ft in types {
            if isCancelled() { throw QuantizeError.io("cancelled") }
            let dst = "\(outDir)/\(stem)-\(ft.name)\(im != nil ? "-imat" : "").gguf"
            Self.removeStaleTemporaries(of: dst)
            let s0 = step
            var report: QuantizeReport
            var reused = false
            if Self.reusable(dst, source: reference, fileType: ft), let r = Self.storedReport(dst), r.usedImatrix == (im != nil) {
                report = r
                reused = true
            } else {
                report = try ModelQuantizer.quantize(
                    source: reference, destination: dst,
                    options: QuantizeOptions(fileType: ft, allowRequantize: payload.allow_requantize ?? false,
                                             imatrix: im, imatrixPath: payload.imatrix, threads: threads),
                    progress: { done, total, name in
                        progress((s0 + 0.8 * Double(done) / Double(max(total, 1))) / steps, "\(ft.name): tensor \(done)/\(total) \(name)")
                    }, isCancelled: isCancelled)
                try Self.storeReport(report, for: dst)
            }
            var result: EvalResult?
            if let base {
                progress((s0 + 0.8) / steps, "\(ft.name): scoring")
                let model: Model
                do { model = try Model.load(path: dst) } catch { throw QuantizeError.mismatch("\(dst) does not load: \(error)") }
                result = try LogitEvaluator.compare(model: model, base: base, threads: threads, isCancelled: isCancelled)
            }
            if payload.delete_outputs == true { try? FileManager.default.removeItem(atPath: dst); try? FileManager.default.removeItem(atPath: dst + ".report.json") }
            rows.append(QuantizationRow(source: payload.source, reference: reference, sourceNote: note, quantType: ft.name,
                                        outputPath: dst, imatrix: payload.imatrix, report: report, evalText: evalText,
                                        eval: result, reused: reused))
            step += 1
            progress(step / steps, "\(ft.name) done")
        }
        return rows
    }

    // An output (or dequantized copy) from an earlier attempt is reused when its sidecar report
    // names the same source and type and the file is complete (the writer renames only finished files).
    static func reusable(_ path: String, source: String, fileType: QuantFileType) -> Bool {
        guard FileManager.default.fileExists(atPath: path), let f = try? GGUFFile(path: path),
              f.int("general.file_type") == fileType.rawValue, let r = storedReport(path) else { return false }
        let srcSize = (try? FileManager.default.attributesOfItem(atPath: source)[.size] as? Int) ?? -1
        return r.source == source && r.fileType == fileType.name && r.outputBytes == f.fileSize && r.sourceBytes == srcSize
    }

    /// Removes `<path>.tmp-<pid>` files (GGUFWriter writes there, then renames) whose process is gone:
    /// what a killed attempt left behind. The retry calls it before writing `path` again. A file whose
    /// pid is alive on this host is left alone (it may still be written).
    public static func removeStaleTemporaries(of path: String) {
        let dir = (path as NSString).deletingLastPathComponent
        let prefix = (path as NSString).lastPathComponent + ".tmp-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)), pid != getpid() else { continue }
            if kill(pid, 0) == 0 || errno != ESRCH { continue }
            try? FileManager.default.removeItem(atPath: (dir as NSString).appendingPathComponent(name))
        }
    }

    static func storedReport(_ path: String) -> QuantizeReport? {
        guard let d = FileManager.default.contents(atPath: path + ".report.json") else { return nil }
        return try? JSONDecoder().decode(QuantizeReport.self, from: d)
    }

    static func storeReport(_ r: QuantizeReport, for path: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted]
        try enc.encode(r).write(to: URL(fileURLWithPath: path + ".report.json"), options: .atomic)
    }
}

/// Runs blocking compute on a thread of its own (not Swift's cooperative pool).
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { cont in
        let t = Thread { cont.resume(with: Result { try body() }) }
        t.stackSize = 8 << 20
        t.start()
    }
}

/// Runs `quantize` jobs: every requested type of one source, scored against it; one row per type in
/// tokenmill.quantization_results, written in the job's completion transaction.
public struct QuantizeHandler: JobHandler {
    public static let kind = "quantize"
    public let threads: Int
    public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount) { self.threads = threads }

    public func run(_ job: ClaimedJob, context: JobContext) async throws -> JobResult {
        var payload = try QuantizeKind.payload(of: job)
        if payload.threads == nil { payload.threads = threads }
        let runner = QuantizeRunner(payload: payload)
        _ = try runner.validate()
        let rows = try await onThread {
            try runner.run(progress: { context.reportProgress($0, $1) }, isCancelled: { context.isCancelled })
        }
        if context.isCancelled { throw JobError.cancelled }
        struct Summary: Encodable { var outputs: [String: String]; var mean_kld: [String: Double]; var reference: String }
        var s = Summary(outputs: [:], mean_kld: [:], reference: rows.first?.reference ?? payload.source)
        for r in rows {
            s.outputs[r.quantType] = r.outputPath
            if let k = r.eval?.meanKLD { s.mean_kld[r.quantType] = k }
        }
        return try JobResult.encoding(s, statements: try rows.map { try $0.insertStatement(jobID: job.id) })
    }
}

/// Payload of an `imatrix` job (jobs/schemas/imatrix.schema.json).
public struct ImatrixPayload: Codable, Sendable, Equatable {
    public var model: String
    /// Calibration text (UTF-8 file).
    public var text: String
    /// Where the GGUF imatrix is written.
    public var output: String
    /// Tokens per chunk (default 512).
    public var chunk_size: Int?
    /// Most chunks (default: all).
    public var chunks: Int?
    public var threads: Int?

    public init(model: String, text: String, output: String, chunk_size: Int? = nil, chunks: Int? = nil, threads: Int? = nil) {
        self.model = model; self.text = text; self.output = output; self.chunk_size = chunk_size; self.chunks = chunks; self.threads = threads
    }

    /// Computes and writes the importance matrix; returns it.
    public func run(progress: @escaping (Double, String) -> Void = { _, _ in },
                    isCancelled: @escaping () -> Bool = { false }) throws -> ImportanceMatrix {
        let file = try ModelQuantizer.openModel(model)
        let m: Model
        do { m = try Model(file: file) } catch { throw QuantizeError.notAModel("\(model): \(error)") }
        let s: String
        do { s = try String(contentsOfFile: text, encoding: .utf8) } catch { throw QuantizeError.io("cannot read calibration text \(text): \(error)") }
        let tokens = try LogitEvaluator.tokenize(s, model: file, chunkSize: chunk_size ?? 512)
        var im = try ImatrixCollector.collect(model: m, tokens: tokens, chunkSize: chunk_size ?? 512, maxChunks: chunks,
                                              threads: threads ?? ProcessInfo.processInfo.activeProcessorCount,
                                              progress: { progress(Double($0) / Double(max($1, 1)), "chunk \($0)/\($1)") },
                                              isCancelled: isCancelled)
        im.datasets = [text]
        QuantizeRunner.removeStaleTemporaries(of: output)
        try im.write(to: output)
        return im
    }
}

/// Runs `imatrix` jobs: writes a GGUF importance matrix for later `quantize` jobs.
public struct ImatrixHandler: JobHandler {
    public static let kind = "imatrix"
    public let threads: Int
    public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount) { self.threads = threads }

    public func run(_ job: ClaimedJob, context: JobContext) async throws -> JobResult {
        var p = try ImatrixKind.payload(of: job)
        if p.threads == nil { p.threads = threads }
        let payload = p
        let im = try await onThread { try payload.run(progress: { context.reportProgress($0, $1) }, isCancelled: { context.isCancelled }) }
        struct Summary: Encodable { var output: String; var tensors: Int; var chunks: Int; var chunk_size: Int }
        return try JobResult.encoding(Summary(output: payload.output, tensors: im.sums.count, chunks: im.chunkCount, chunk_size: im.chunkSize))
    }
}
