import Foundation
import GGUF
import TensorKernels

/// Per-column importance of every weight matrix: the mean of the squared activations that were
/// multiplied by each column, over calibration text.
///
/// Stored in llama.cpp's GGUF imatrix format (what `llama-imatrix` writes and `llama-quantize
/// --imatrix` reads): `general.type = "imatrix"`, `imatrix.datasets`, `imatrix.chunk_count`,
/// `imatrix.chunk_size`, and per weight tensor `<name>.in_sum2` (F32, [cols, 1]: sum of squares)
/// and `<name>.counts` (F32, [1, 1]: number of activation rows summed).
public struct ImportanceMatrix: Sendable, Equatable {
    /// Sums of squared activations by weight tensor name (`blk.0.attn_q.weight`), one per column.
    public var sums: [String: [Double]] = [:]
    /// Activation rows (tokens) summed, by tensor name.
    public var counts: [String: Int] = [:]
    /// Calibration texts (paths) used.
    public var datasets: [String] = []
    /// Chunks evaluated and tokens per chunk.
    public var chunkCount = 0
    public var chunkSize = 0

    public init() {}

    /// The mean squared activation per column (`sums / counts`), as the quantizers take it.
    public func importance(for tensor: String) -> [Float]? {
        guard let s = sums[tensor], let c = counts[tensor], c > 0 else { return nil }
        return s.map { Float($0 / Double(c)) }
    }

    /// Adds the squares of `rows` activation rows of `cols` values at `x` to `tensor`'s sums.
    public mutating func accumulate(_ tensor: String, x: UnsafePointer<Float>, rows: Int, cols: Int) {
        // In place through the dictionary's modify accessor: no copy of the sums per call (the forward
        // pass calls once per product and feed-forward chunk).
        sums[tensor, default: [Double](repeating: 0, count: cols)].withUnsafeMutableBufferPointer { sp in
            precondition(sp.count == cols, "imatrix \(tensor): \(cols) columns, had \(sp.count)")
            for r in 0..<rows {
                let row = x + r * cols
                for j in 0..<cols { sp[j] += Double(row[j] * row[j]) }
            }
        }
        counts[tensor, default: 0] += rows
    }

    /// Writes the matrix (atomically) in llama.cpp's GGUF imatrix format.
    public func write(to path: String) throws {
        var w = GGUFWriter()
        w.add("general.type", string: "imatrix")
        w.add("imatrix.datasets", strings: datasets)
        w.add("imatrix.chunk_count", uint32: UInt32(chunkCount))
        w.add("imatrix.chunk_size", uint32: UInt32(chunkSize))
        for name in sums.keys.sorted() {
            let s = sums[name]!
            try w.addTensor(name: name + ".in_sum2", dims: [s.count, 1], floats: s.map { Float($0) })
            try w.addTensor(name: name + ".counts", dims: [1, 1], floats: [Float(counts[name] ?? 0)])
        }
        try w.write(to: path)
    }

    /// Reads a GGUF imatrix (as written by `write` or by llama-imatrix).
    public static func read(path: String) throws -> ImportanceMatrix {
        let f: GGUFFile
        do { f = try GGUFFile(path: path) } catch { throw QuantizeError.badImatrix("\(path): \(error)") }
        guard f.string("general.type") == "imatrix" else {
            throw QuantizeError.badImatrix("\(path): general.type is not 'imatrix' (the legacy .dat format is not supported)")
        }
        var m = ImportanceMatrix()
        m.datasets = f.stringArray("imatrix.datasets") ?? []
        m.chunkCount = f.int("imatrix.chunk_count") ?? 0
        m.chunkSize = f.int("imatrix.chunk_size") ?? 0
        func floats(_ t: GGUFTensorInfo) throws -> [Float] {
            guard t.type == .f32 else { throw QuantizeError.badImatrix("\(path): tensor '\(t.name)' is \(t.type), expected f32") }
            let p = f.data(for: t).assumingMemoryBound(to: Float.self)
            return Array(UnsafeBufferPointer(start: p, count: t.elementCount))
        }
        for t in f.tensors where t.name.hasSuffix(".in_sum2") {
            let name = String(t.name.dropLast(".in_sum2".count))
            guard let ct = f.tensor(named: name + ".counts") else {
                throw QuantizeError.badImatrix("\(path): '\(t.name)' has no '\(name).counts'")
            }
            let s = try floats(t), c = try floats(ct)
            guard c.count == 1 else {
                throw QuantizeError.badImatrix("\(path): '\(name)' has \(c.count) experts; only dense models are supported")
            }
            m.sums[name] = s.map { Double($0) }
            m.counts[name] = Int(c[0])
        }
        guard !m.sums.isEmpty else { throw QuantizeError.badImatrix("\(path): no '<tensor>.in_sum2' entries") }
        return m
    }

    /// A synthetic, exactly representable importance matrix for every weight matrix of the model at
    /// `model` (except output.weight and token_embd.weight): importance[j] = ((7 j + k) mod 13) + 1,
    /// k the tensor's index. For byte-exact comparisons with llama-quantize --imatrix
    /// (`tokenmill dev-quant-model --imatrix-out`).
    public static func synthetic(model: String) throws -> ImportanceMatrix {
        let f = try ModelQuantizer.openModel(model)
        var im = ImportanceMatrix()
        im.datasets = ["synthetic"]
        im.chunkCount = 1
        im.chunkSize = 10
        for (k, t) in f.tensors.enumerated() where t.dims.count == 2 && t.name.hasPrefix("blk.") {
            im.sums[t.name] = (0..<t.dims[0]).map { j in Double(((7 * j + k) % 13) + 1) * 10 }
            im.counts[t.name] = 10
        }
        return im
    }
}
