import GGUF
import TensorKernels

/// An error loading or running a model, with a message a user can act on.
public struct InferenceError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// YaRN RoPE scaling parameters (llama.cpp's defaults: ext factor 1, beta fast 32, beta slow 1).
public struct YarnParams: Sendable, Equatable {
    public var extFactor: Float
    public var attnFactor: Float
    public var originalContext: Int
    public var betaFast: Float
    public var betaSlow: Float
}

/// Hyper-parameters of a model, read from GGUF metadata alone.
public struct ModelConfig: Sendable, CustomStringConvertible {
    public var architecture: Architecture
    public var dim: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var ffn: Int
    public var vocab: Int
    /// Training context (`<arch>.context_length`).
    public var contextLength: Int
    public var rmsEps: Float
    public var ropeBase: Float
    /// Dimensions rotated per head (`rope.dimension_count`, default head dim).
    public var ropeDim: Int
    /// Position scale for linear RoPE scaling (1 / `rope.scaling.factor`; 1 when unscaled).
    public var ropeFreqScale: Float
    /// YaRN parameters when `rope.scaling.type` is yarn.
    public var yarn: YarnParams?

    public var qDim: Int { heads * headDim }
    public var kvDim: Int { kvHeads * headDim }

    /// Reads the configuration of `file`; `vocab` comes from the token embedding's dimensions.
    public static func from(_ file: GGUFFile) throws -> ModelConfig {
        let path = file.path
        guard let archName = file.architecture else {
            throw InferenceError("\(path): missing metadata key 'general.architecture'")
        }
        guard let arch = Architecture.named(archName) else {
            let supported = Architecture.known.map(\.name).joined(separator: ", ")
            throw InferenceError("\(path): unsupported architecture '\(archName)' (supported: \(supported))")
        }
        let a = arch.name
        func int(_ key: String) throws -> Int {
            guard let v = file.int("\(a).\(key)") else {
                throw InferenceError("\(path): missing or non-integer metadata key '\(a).\(key)'")
            }
            guard v > 0 else { throw InferenceError("\(path): metadata key '\(a).\(key)' must be positive, is \(v)") }
            return v
        }
        let dim = try int("embedding_length")
        let heads = try int("attention.head_count")
        let kvHeads = file.int("\(a).attention.head_count_kv") ?? heads
        guard kvHeads > 0, heads % kvHeads == 0 else {
            throw InferenceError("\(path): head_count \(heads) is not a multiple of head_count_kv \(kvHeads)")
        }
        let headDim = file.int("\(a).attention.key_length") ?? dim / heads
        if let valueLength = file.int("\(a).attention.value_length"), valueLength != headDim {
            throw InferenceError("\(path): attention.value_length \(valueLength) differs from key_length \(headDim) (not supported)")
        }
        let embdName = TensorName.tokenEmbedding.weight()
        guard let embd = file.tensor(named: embdName) else {
            throw InferenceError("\(path): missing tensor '\(embdName)'")
        }
        guard embd.dims.count == 2, embd.dims[0] == dim else {
            throw InferenceError("\(path): tensor '\(embdName)' has dims \(embd.dims), expected [\(dim), vocab]")
        }
        guard let eps = file.double("\(a).attention.layer_norm_rms_epsilon") else {
            throw InferenceError("\(path): missing metadata key '\(a).attention.layer_norm_rms_epsilon'")
        }
        // RoPE scaling, with llama.cpp's defaults: the type defaults to linear, the factor comes from
        // `rope.scaling.factor` (or the older `rope.scale_linear`), and type "none" never scales.
        let scalingType = file.string("\(a).rope.scaling.type") ?? "linear"
        let factor = file.double("\(a).rope.scaling.factor") ?? file.double("\(a).rope.scale_linear") ?? 0
        var freqScale: Float = factor == 0 ? 1 : Float(1 / factor)
        var yarn: YarnParams?
        switch scalingType {
        case "none": freqScale = 1
        case "linear": break
        case "yarn":
            yarn = YarnParams(
                extFactor: 1,
                attnFactor: Float(file.double("\(a).rope.scaling.attn_factor") ?? 1),
                originalContext: file.int("\(a).rope.scaling.original_context_length") ?? (file.int("\(a).context_length") ?? 0),
                betaFast: 32, betaSlow: 1)
        default:
            throw InferenceError("\(path): unsupported '\(a).rope.scaling.type' = \(scalingType) (supported: none, linear, yarn)")
        }
        let ropeDim = file.int("\(a).rope.dimension_count") ?? headDim
        guard ropeDim % 2 == 0, ropeDim <= headDim else {
            throw InferenceError("\(path): rope.dimension_count \(ropeDim) must be even and at most the head size \(headDim)")
        }
        return ModelConfig(
            architecture: arch, dim: dim, layers: try int("block_count"), heads: heads, kvHeads: kvHeads,
            headDim: headDim, ffn: try int("feed_forward_length"), vocab: embd.dims[1],
            contextLength: try int("context_length"), rmsEps: Float(eps),
            ropeBase: Float(file.double("\(a).rope.freq_base") ?? 10_000), ropeDim: ropeDim, ropeFreqScale: freqScale,
            yarn: yarn)
    }

    public var description: String {
        "\(architecture.name): dim \(dim), \(layers) layers, \(heads) heads (\(kvHeads) KV, head dim \(headDim)), "
            + "ffn \(ffn), vocab \(vocab), context \(contextLength), rope base \(ropeBase) \(architecture.ropeStyle)"
            + (ropeFreqScale != 1 ? " scale \(ropeFreqScale)" : "")
            + (yarn != nil ? " yarn (original context \(yarn!.originalContext))" : "")
    }
}

/// The weights of one transformer block; what a family lacks is nil.
struct LayerWeights {
    var attnNorm: [Float]
    var wq, wk, wv, wo: WeightMatrix
    var bq, bk, bv: [Float]?
    /// Per-head RMSNorm weights of q and k (`head_dim` each), when the family has them.
    var qNorm, kNorm: [Float]?
    var ffnNorm: [Float]
    var gate, up, down: WeightMatrix
    /// GGUF names of the matrices, for the activation observer (made once, at load).
    var names: MatrixNames
}

/// GGUF names of one block's weight matrices.
public struct MatrixNames: Sendable {
    public let q, k, v, output, gate, up, down: String

    init(layer l: Int) {
        q = TensorName.attnQ.weight(layer: l)
        k = TensorName.attnK.weight(layer: l)
        v = TensorName.attnV.weight(layer: l)
        output = TensorName.attnOutput.weight(layer: l)
        gate = TensorName.ffnGate.weight(layer: l)
        up = TensorName.ffnUp.weight(layer: l)
        down = TensorName.ffnDown.weight(layer: l)
    }
}

/// Precision of the KV cache.
public enum KVCacheType: String, Sendable {
    case f32, f16
    public var bytes: Int { self == .f32 ? 4 : 2 }
}

/// A loaded model: configuration plus weights read in place from the memory-mapped GGUF file.
public final class Model: @unchecked Sendable {
    public let file: GGUFFile
    public let config: ModelConfig
    let tokenEmbedding: WeightMatrix
    let layers: [LayerWeights]
    let outputNorm: [Float]
    let output: WeightMatrix
    /// The GGUF name of the output matrix (the token embedding's when tied), for the observer.
    let outputName: String
    /// Per-pair RoPE frequency divisors (`rope_freqs.weight`, Llama 3.1 style), if the model has them.
    let ropeFreqFactors: [Float]?
    /// True when the model has no `output.weight` and reuses the token embedding.
    public let tiedOutput: Bool
    /// The matrices repacked or copied at load, on huge pages where the kernel has them: their
    /// mapped pages are released.
    private let arena: HugePageArena
    /// Bytes of weights held repacked in memory instead of mapped from the file.
    public let repackedBytes: Int
    /// Bytes of weights held in memory as the file has them (matrices with no `rows8` layout on
    /// this host), copied there for the huge pages.
    public let copiedBytes: Int

    /// Loads the model at `path`; `repack: false` keeps every matrix as the file has it (for a
    /// model loaded only to read its configuration and sizes).
    public static func load(path: String, repack: Bool = true) throws -> Model {
        try Model(file: GGUFFile(path: path), repack: repack)
    }

    /// The model in `file`. With `repack` (the default), matrices whose format has kernels on the
    /// `rows8` layout for this CPU are repacked into it (`Repack`) and their mapped pages released.
    public init(file: GGUFFile, repack: Bool = true) throws {
        let c = try ModelConfig.from(file)
        self.file = file
        self.config = c
        let path = file.path

        // Room for every matrix of the file (each 64-byte aligned); what is not held is never touched.
        let arena = HugePageArena(capacity: file.tensors.filter { $0.dims.count == 2 }.reduce(0) { $0 + $1.byteCount + 64 })
        var repackedBytes = 0, copiedBytes = 0
        /// A matrix as the file has it or, with `repack`, one that every decode step multiplies (`product`)
        /// held in `arena` (the file's pages then released): repacked for this host's kernels where its
        /// format has a `rows8` kernel, else copied as it is. A tied embedding is such a product too (the
        /// output matrix); its rows looked up one at a time are gathered from their groups
        /// (`WeightMatrix.dequantizeRow`).
        func matrix(_ name: String, cols: Int, rows: Int, product: Bool = false) throws -> WeightMatrix {
            guard let t = file.tensor(named: name) else { throw InferenceError("\(path): missing tensor '\(name)'") }
            guard t.dims.count == 2, t.dims[0] == cols, t.dims[1] == rows else {
                throw InferenceError("\(path): tensor '\(name)' has dims \(t.dims), expected [\(cols), \(rows)]")
            }
            let m = WeightMatrix(type: t.type, rows: rows, cols: cols, data: file.data(for: t))
            // `TOKENMILL_REPACK=0`: every matrix stays in the mapping (shared with other processes
            // through the page cache).
            guard repack, Repack.enabled, product else { return m }
            let copy = try arena.allocate(m.byteCount)
            let pack = Repack.applies(to: t.type, rows: rows)
            // In slices of whole groups of eight rows (about 8 MiB; each group's `rows8` block lies where
            // its rows did), each slice's file pages released once done: the peak then holds one slice
            // twice, not the whole matrix (the output matrix or a tied embedding, the largest of most models).
            let sliceRows = max(8, (8 << 20) / m.rowBytes / 8 * 8)
            for r0 in stride(from: 0, to: rows, by: sliceRows) {
                let n = min(sliceRows, rows - r0), at = r0 * m.rowBytes, bytes = n * m.rowBytes
                if pack {
                    _ = Repack.rows8(WeightMatrix(type: t.type, rows: n, cols: cols, data: m.data + at), into: copy + at)
                } else {
                    (copy + at).copyMemory(from: m.data + at, byteCount: bytes)
                }
                file.release(t, bytes: at..<at + bytes)
            }
            if pack { repackedBytes += m.byteCount } else { copiedBytes += m.byteCount }
            return WeightMatrix(type: t.type, rows: rows, cols: cols, data: UnsafeRawPointer(copy), layout: pack ? .rows8 : .ggml)
        }
        func vector(_ name: String, count: Int, required: Bool = true) throws -> [Float]? {
            guard let t = file.tensor(named: name) else {
                if required { throw InferenceError("\(path): missing tensor '\(name)'") }
                return nil
            }
            guard t.elementCount == count, t.dims[0] == count else {
                throw InferenceError("\(path): tensor '\(name)' has dims \(t.dims), expected [\(count)]")
            }
            var v = [Float](repeating: 0, count: count)
            v.withUnsafeMutableBufferPointer { Dequantize.row(t.type, file.data(for: t), into: $0.baseAddress!, count: count) }
            return v
        }

        // Tensor names and which are required: Architectures/Catalogue.swift and the family's file.
        let arch = c.architecture
        let outputName = TensorName.output.weight()
        let tied = file.tensor(named: outputName) == nil
        // A tied embedding is also the output matrix, read whole in every decode step.
        tokenEmbedding = try matrix(TensorName.tokenEmbedding.weight(), cols: c.dim, rows: c.vocab, product: tied)
        var layers: [LayerWeights] = []
        for l in 0..<c.layers {
            func m(_ t: TensorName, cols: Int, rows: Int) throws -> WeightMatrix {
                try matrix(t.weight(layer: l), cols: cols, rows: rows, product: true)
            }
            func norm(_ t: TensorName, count: Int, required: Bool = true) throws -> [Float]? {
                try vector(t.weight(layer: l), count: count, required: required)
            }
            func bias(_ t: TensorName, count: Int) throws -> [Float]? {
                try vector(t.bias(layer: l), count: count, required: arch.qkvBias == .required)
            }
            layers.append(LayerWeights(
                attnNorm: try norm(.attnNorm, count: c.dim)!,
                wq: try m(.attnQ, cols: c.dim, rows: c.qDim),
                wk: try m(.attnK, cols: c.dim, rows: c.kvDim),
                wv: try m(.attnV, cols: c.dim, rows: c.kvDim),
                wo: try m(.attnOutput, cols: c.qDim, rows: c.dim),
                bq: try bias(.attnQ, count: c.qDim),
                bk: try bias(.attnK, count: c.kvDim),
                bv: try bias(.attnV, count: c.kvDim),
                qNorm: arch.qkNorm ? try norm(.attnQNorm, count: c.headDim) : nil,
                kNorm: arch.qkNorm ? try norm(.attnKNorm, count: c.headDim) : nil,
                ffnNorm: try norm(.ffnNorm, count: c.dim)!,
                gate: try m(.ffnGate, cols: c.dim, rows: c.ffn),
                up: try m(.ffnUp, cols: c.dim, rows: c.ffn),
                down: try m(.ffnDown, cols: c.ffn, rows: c.dim),
                names: MatrixNames(layer: l)))
        }
        self.layers = layers
        outputNorm = try vector(TensorName.outputNorm.weight(), count: c.dim)!
        ropeFreqFactors = try vector(TensorName.ropeFreqs.weight(), count: c.ropeDim / 2, required: false)
        if !tied {
            output = try matrix(outputName, cols: c.dim, rows: c.vocab, product: true)
            self.outputName = outputName
            tiedOutput = false
        } else {
            output = tokenEmbedding
            self.outputName = TensorName.tokenEmbedding.weight()
            tiedOutput = true
        }
        self.arena = arena
        self.repackedBytes = repackedBytes
        self.copiedBytes = copiedBytes
    }

    /// Bytes of tensor data mapped from the file.
    public var weightBytes: Int { file.tensors.reduce(0) { $0 + $1.byteCount } }

    /// KV cache bytes one sequence needs for `contextLength` positions.
    public func kvBytesPerSequence(contextLength: Int, type: KVCacheType = .f16) -> Int {
        2 * config.layers * contextLength * config.kvDim * type.bytes
    }

    /// A human-readable memory plan, printed before a run.
    public func memoryPlan(contextLength: Int, sequences: Int, kvType: KVCacheType) -> String {
        let kv = kvBytesPerSequence(contextLength: contextLength, type: kvType)
        var parts: [String] = []
        if repackedBytes > 0 { parts.append("\(formatBytes(repackedBytes)) of them repacked in memory for this CPU's kernels") }
        if copiedBytes > 0 { parts.append("\(formatBytes(copiedBytes)) copied to memory as they are") }
        let held = parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + "; \(HugePageArena.pagesNote))"
        return "memory plan: weights \(formatBytes(weightBytes)) mapped from \(file.path)\(held); "
            + "KV cache (\(kvType.rawValue)) \(formatBytes(kv)) per sequence at context \(contextLength), "
            + "× \(sequences) sequences = \(formatBytes(kv * sequences))"
    }
}

/// "1.23 MiB"-style sizes.
public func formatBytes(_ n: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(n)
    var u = 0
    while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
    if u == 0 { return "\(n) B" }
    let r = (v * 100).rounded() / 100
    return "\(r) \(units[u])"
}
