/// A weight matrix stored row-major in ggml layout: `rows` rows of `cols` elements of `type`.
public struct WeightMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    public let data: UnsafeRawPointer

    public init(type: GGMLType, rows: Int, cols: Int, data: UnsafeRawPointer) {
        self.type = type
        self.rows = rows
        self.cols = cols
        self.data = data
    }

    /// Bytes of one row.
    public var rowBytes: Int { type.byteCount(elements: cols) }
}

/// Matrix products of quantized weights with float activations, with scratch preallocated.
///
/// `multiply` computes `y[s][r] = Σ_k W[r][k] · x[s][k]` for `nSeq` activation rows at once:
/// one pass over the weights serves every sequence (prompt processing and batched decode).
public final class MatMulEngine: @unchecked Sendable {
    public let pool: ComputePool
    public let maxCols: Int
    public let maxSeq: Int
    /// Per-thread scratch for one dequantized row.
    private let scratch: UnsafeMutablePointer<Float>

    public init(pool: ComputePool, maxCols: Int, maxSeq: Int) {
        self.pool = pool
        self.maxCols = maxCols
        self.maxSeq = maxSeq
        self.scratch = .allocate(capacity: maxCols * pool.threadCount)
    }

    deinit { scratch.deallocate() }

    /// `y[s * w.rows + r] = dot(W[r], x[s * w.cols ..< (s+1) * w.cols])` for `s < nSeq`.
    public func multiply(_ w: WeightMatrix, x: UnsafePointer<Float>, nSeq: Int, y: UnsafeMutablePointer<Float>) {
        precondition(w.cols <= maxCols && nSeq <= maxSeq, "MatMulEngine: shape beyond preallocated scratch")
        let threads = pool.threadCount
        pool.parallelFor(threads) { t in
            let lo = w.rows * t / threads
            let hi = w.rows * (t + 1) / threads
            let row = self.scratch + t * self.maxCols
            for r in lo..<hi {
                Dequantize.row(w.type, w.data + r * w.rowBytes, into: row, count: w.cols)
                for s in 0..<nSeq {
                    let xs = x + s * w.cols
                    var acc: Float = 0
                    for k in 0..<w.cols { acc += row[k] * xs[k] }
                    y[s * w.rows + r] = acc
                }
            }
        }
    }
}
