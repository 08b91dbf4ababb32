import Foundation
import GGUF
import TensorKernels

/// Settings of one quantization run.
public struct QuantizeOptions: Sendable {
    public var fileType: QuantFileType
    /// Allows a quantized source (dequantized, then quantized again: quality is lost twice).
    public var allowRequantize: Bool
    /// Importance matrix weighting the quantization error, if any.
    public var imatrix: ImportanceMatrix?
    /// Recorded in the output as `quantize.imatrix.file`.
    public var imatrixPath: String?
    public var threads: Int

    public init(fileType: QuantFileType, allowRequantize: Bool = false, imatrix: ImportanceMatrix? = nil,
                imatrixPath: String? = nil, threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.fileType = fileType
        self.allowRequantize = allowRequantize
        self.imatrix = imatrix
        self.imatrixPath = imatrixPath
        self.threads = max(1, threads)
    }
}

/// One tensor's conversion.
public struct TensorPlan: Sendable, Equatable {
    public var name: String
    public var dims: [Int]
    public var sourceType: GGMLType
    public var targetType: GGMLType
    /// True when the row length forced a fallback type.
    public var fellBack: Bool
    /// True when a quantized source tensor is dequantized and quantized again.
    public var requantized: Bool
}

/// What a quantization run produced.
public struct QuantizeReport: Sendable, Codable, Equatable {
    public var source: String
    public var destination: String
    public var fileType: String
    public var sourceBytes: Int
    /// Size of the written file.
    public var outputBytes: Int
    /// Elements of all tensors.
    public var elements: Int
    /// Tensor data bits per element over the whole model (file size excluded from metadata).
    public var bitsPerWeight: Double
    public var seconds: Double
    /// Tensors per stored type (`q4_K: 12`).
    public var tensorTypes: [String: Int]
    public var fallbacks: Int
    public var requantized: Bool
    public var usedImatrix: Bool
    public var warnings: [String]
}

/// Raised inside the writer when the run is cancelled.
struct QuantizeCancelled: Error, CustomStringConvertible { var description: String { "quantization cancelled" } }

/// Converts a model GGUF to a file type, streaming tensor rows (source mmap → float rows → blocks).
public enum ModelQuantizer {
    /// Opens `path` and checks it is a model llama.cpp-style tools understand.
    public static func openModel(_ path: String) throws -> GGUFFile {
        let f: GGUFFile
        do { f = try GGUFFile(path: path) } catch { throw QuantizeError.notAModel("\(path): \(error)") }
        guard let arch = f.architecture else {
            throw QuantizeError.notAModel("\(path): no general.architecture (is this an imatrix or vocabulary file?)")
        }
        guard f.tensor(named: "token_embd.weight") != nil else {
            throw QuantizeError.notAModel("\(path): \(arch) file has no 'token_embd.weight' tensor")
        }
        return f
    }

    /// The model facts the per-tensor rules need.
    public static func shapeInfo(_ f: GGUFFile, hasImatrix: Bool) -> ModelShapeInfo {
        let arch = f.architecture ?? "llama"
        let layers = f.int("\(arch).block_count") ?? (f.tensors.compactMap { TensorRules.layerIndex($0.name) }.max().map { $0 + 1 } ?? 1)
        let heads = f.int("\(arch).attention.head_count") ?? 1
        let kv = f.int("\(arch).attention.head_count_kv") ?? heads
        return ModelShapeInfo(layers: layers, gqa: max(1, heads / max(kv, 1)),
                              tiedEmbeddings: f.tensor(named: "output.weight") == nil, hasImatrix: hasImatrix)
    }

    /// Chooses every tensor's type; fails on a quantized source unless requantizing is allowed.
    public static func plan(_ f: GGUFFile, options: QuantizeOptions) throws -> [TensorPlan] {
        let info = shapeInfo(f, hasImatrix: options.imatrix != nil)
        var out: [TensorPlan] = []
        for t in f.tensors {
            let c = TensorRules.choose(name: t.name, dims: t.dims, fileType: options.fileType, model: info)
            let target = c.type ?? t.type
            let srcQuant = ![GGMLType.f32, .f16, .bf16].contains(t.type)
            let requant = srcQuant && target != t.type
            if requant && !options.allowRequantize {
                throw QuantizeError.requantizeNotAllowed(path: f.path, tensor: t.name, type: "\(t.type)")
            }
            if target != t.type && (!Quantize.supportedTypes.contains(target) || t.type == .q8_K || t.type == .q8_1) {
                throw QuantizeError.unsupportedSourceType(tensor: t.name, type: "\(t.type) → \(target)")
            }
            out.append(TensorPlan(name: t.name, dims: t.dims, sourceType: t.type, targetType: target,
                                  fellBack: c.fellBack, requantized: requant))
        }
        return out
    }

    /// Quantizes `source` into `destination` (written to a temp file, fsync'd, renamed: a failed or
    /// cancelled run leaves no file at `destination`).
    /// - Parameters:
    ///   - progress: called before each tensor with (tensors done, total, tensor name).
    ///   - isCancelled: polled per row chunk; a true result stops the run with `QuantizeError.io("cancelled")`.
    public static func quantize(source: String, destination: String, options: QuantizeOptions,
                                progress: ((Int, Int, String) -> Void)? = nil,
                                isCancelled: (() -> Bool)? = nil) throws -> QuantizeReport {
        let start = Date()
        let f = try openModel(source)
        let plans = try plan(f, options: options)
        var warnings: [String] = []
        if plans.contains(where: \.requantized) {
            warnings.append("source is already quantized: tensors were dequantized and quantized again; quality is lower than quantizing the full-precision model")
        }
        let fb = plans.filter(\.fellBack)
        if !fb.isEmpty {
            warnings.append("\(fb.count) tensor(s) fell back to a compatible type (row length not a multiple of the block size): "
                + fb.prefix(4).map { "\($0.name) → \($0.targetType)" }.joined(separator: ", "))
        }
        var importance: [String: [Float]] = [:]
        if let im = options.imatrix {
            for p in plans where p.targetType != p.sourceType && [.q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K].contains(p.targetType) {
                if let v = im.importance(for: p.name) {
                    guard v.count == p.dims[0] else {
                        throw QuantizeError.badImatrix("'\(p.name)' has \(v.count) columns in the imatrix, \(p.dims[0]) in the model")
                    }
                    importance[p.name] = v
                } else {
                    warnings.append("imatrix has no entry for \(p.name); quantized without it")
                }
            }
        }

        var w = GGUFWriter()
        w.addMetadata(from: f)
        w.add("general.quantization_version", uint32: 2)
        w.add("general.file_type", uint32: UInt32(options.fileType.rawValue))
        if let ip = options.imatrixPath, options.imatrix != nil {
            w.add("quantize.imatrix.file", string: ip)
            w.add("quantize.imatrix.entries_count", .int32(Int32(importance.count)))
            w.add("quantize.imatrix.chunks_count", .int32(Int32(options.imatrix!.chunkCount)))
        }
        let pool = ComputePool(threads: options.threads)
        let total = plans.count
        for (idx, p) in plans.enumerated() {
            guard let t = f.tensor(named: p.name) else { continue }
            if p.targetType == p.sourceType {
                let src = f.data(for: t)
                try w.addTensor(name: p.name, dims: p.dims, type: p.targetType) { buf in
                    progress?(idx, total, p.name)
                    if isCancelled?() == true { throw QuantizeCancelled() }
                    buf.copyMemory(from: UnsafeRawBufferPointer(start: src, count: t.byteCount))
                }
                continue
            }
            let cols = p.dims[0]
            let srcRowBytes = t.type.byteCount(elements: cols)
            let dstRowBytes = p.targetType.byteCount(elements: cols)
            let src = f.data(for: t)
            let imp = importance[p.name]
            let srcType = t.type, dstType = p.targetType
            try w.addTensor(name: p.name, dims: p.dims, type: dstType, chunkBytes: 4 << 20) { rows, buf in
                if rows.lowerBound == 0 { progress?(idx, total, p.name) }
                if isCancelled?() == true { throw QuantizeCancelled() }
                let dst = buf.baseAddress!
                let run: (Range<Int>) -> Void = { sub in
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: cols)
                    defer { scratch.deallocate() }
                    for r in sub {
                        Dequantize.row(srcType, src + (rows.lowerBound + r) * srcRowBytes, into: scratch, count: cols)
                        let out = dst + r * dstRowBytes
                        if let imp {
                            imp.withUnsafeBufferPointer { Quantize.row(dstType, scratch, into: out, count: cols, importance: $0.baseAddress) }
                        } else {
                            Quantize.row(dstType, scratch, into: out, count: cols)
                        }
                    }
                }
                if rows.count >= 4 { pool.parallelChunks(rows.count) { run($0) } } else { run(0..<rows.count) }
            }
        }
        do {
            try w.write(to: destination)
        } catch {
            if "\(error)".contains("quantization cancelled") { throw QuantizeError.io("quantization of \(source) cancelled; no file written") }
            throw QuantizeError.io("writing \(destination): \(error)")
        }
        progress?(total, total, "done")
        let size = (try? FileManager.default.attributesOfItem(atPath: destination)[.size] as? Int) ?? 0
        let elements = plans.reduce(0) { $0 + $1.dims.reduce(1, *) }
        let dataBytes = plans.reduce(0) { $0 + $1.targetType.byteCount(elements: $1.dims.reduce(1, *)) }
        var types: [String: Int] = [:]
        for p in plans { types["\(p.targetType)", default: 0] += 1 }
        return QuantizeReport(
            source: source, destination: destination, fileType: options.fileType.name,
            sourceBytes: f.fileSize, outputBytes: size, elements: elements,
            bitsPerWeight: elements > 0 ? Double(dataBytes * 8) / Double(elements) : 0,
            seconds: Date().timeIntervalSince(start), tensorTypes: types, fallbacks: fb.count,
            requantized: plans.contains(where: \.requantized), usedImatrix: !importance.isEmpty, warnings: warnings)
    }
}
