import KernelsAVX2

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

    /// Bytes of the whole matrix.
    public var byteCount: Int { rowBytes * rows }
}

/// Matrix products of quantized weights with float activations, with scratch preallocated.
///
/// `multiply` computes `y[s][r] = Σ_k W[r][k] · x[s][k]` for `nSeq` activation rows at once:
/// one pass over the weights serves every sequence (prompt processing and batched decode).
///
/// Like ggml's CPU backend, activations are first quantized to 8 bits (blocks of 32 with one
/// scale for Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 weights; super-blocks of 256 with per-32 sums for
/// Q4_K/Q5_K/Q6_K), then multiplied in integers and scaled in floats. F32/F16/BF16 weights use
/// float dot products on the float activations; Q8_1/Q8_K weights (not found in model files)
/// are dequantized row by row and dotted in floats.
///
/// From `gemmMinSeq` sequences on (prompt processing, batched decode), 32-block and K-quant
/// weights instead take a float path: each row is decoded to floats once (in a permuted element
/// order that the activations are copied into, rounded to their 8-bit values) and 4×4 register
/// tiles of rows × sequences run float FMAs. Both paths multiply the same numbers, so a
/// sequence's logits do not depend on the batch it runs in (up to float summation order).
///
/// Rows are handed to the pool's threads in tiles of `rowsPerTask`; within a tile, each
/// decoded weight block serves four sequences at a time. No allocation per call.
/// `multiply(_:y0:_:y1:_:y2:x:nSeq:)` fuses products that share their activations.
///
/// Not reentrant: one `multiply` at a time per engine (scratch is shared). Use one engine per
/// thread that issues products (an engine may share its `ComputePool` with others only if
/// their `multiply` calls never overlap).
public final class MatMulEngine: @unchecked Sendable {
    public let pool: ComputePool
    public let maxCols: Int
    public let maxSeq: Int

    /// Activations quantized to integers, widened to Int16: `[maxSeq][maxCols]`.
    private let xq: UnsafeMutablePointer<Int16>
    /// The same quants as bytes in natural order, for the integer kernels: `[maxSeq][maxCols]`.
    private let x8: UnsafeMutablePointer<Int8>
    /// Per-block activation scales: `[maxSeq][maxCols / 32]` (also used for the 256-blocks).
    private let xd: UnsafeMutablePointer<Float>
    /// Per-32-block `scale · Σq` (for weight types with a min), `[maxSeq][maxCols / 32]`.
    private let xs: UnsafeMutablePointer<Float>
    /// Per-32 sums of quantized activations for K-quants with mins, `[maxSeq][maxCols / 32]`.
    private let xbs: UnsafeMutablePointer<Int32>
    /// Per-16 sums of quantized activations (Q2_K mins), `[maxSeq][maxCols / 16]`.
    private let xb16: UnsafeMutablePointer<Int32>
    private let maxBlocks32: Int
    /// Float activations permuted into the order `gemmRows` decodes weights in, `[maxSeq][maxCols]`.
    private let xf: UnsafeMutablePointer<Float>

    /// From this many sequences on, products with 32-block and K-quant weights (not Q2_K) decode each
    /// row tile to floats once and run a register-tiled float product over all sequences
    /// (prompt processing, batched decode), instead of 8-bit integer dot products per block and
    /// sequence. Results differ from the integer path only by float summation order.
    /// `nil` (the default): `floatTilesMinSeq(for:)`, the measured crossover of the level.
    public var gemmMinSeq: Int? = nil

    /// Where float tiles start to beat the integer kernels for `type` at this engine's level
    /// (`bench-kernels --sequences`; docs/kernels.md has the figures): the portable
    /// 16-bit-lane kernels lose from 4 sequences on, the AVX2/AVX-512 8-bit kernels never did
    /// on the hosts measured (up to 64 sequences), so those levels keep integers throughout.
    public func floatTilesMinSeq(for type: GGMLType) -> Int {
        if let gemmMinSeq { return gemmMinSeq }
        return DecodeKernels.kernel(type, level) == nil ? 4 : Int.max
    }

    /// The instruction level of the 8-bit kernels for one-sequence products (and the quantised
    /// types without float tiles); `portable` runs the plain-Swift kernels of this module.
    /// Defaults to `KernelLevel.current`; must be a level the host runs.
    public var level: KernelLevel = .current {
        didSet { precondition(level.runs(on: .host), "MatMulEngine: this CPU cannot run kernel level \(level)") }
    }

    /// Rows per work item handed to a thread; 0 (the default) picks about eight items per
    /// thread, at least 16 rows each, so dispatch costs little and a slow thread is covered.
    public var rowsPerTask = 0

    /// The current product, read by the pool's threads through `tileJob` / `quantJob`.
    fileprivate var cur = Current()
    fileprivate struct Current {
        var w = WeightMatrix(type: .f32, rows: 0, cols: 0, data: UnsafeRawPointer(bitPattern: 1)!)
        var x = UnsafePointer<Float>(bitPattern: 1)!
        var y = UnsafeMutablePointer<Float>(bitPattern: 1)!
        var nSeq = 0
        var path = Path.float
        var tile = 1
        var superBlocks = false
        /// Up to three matrices sharing the activations (fused products): part 0 (`w`/`y`/`tile` above)
        /// covers the tiles before `first1`, part 1 (`w1`/`y1`/`tile1`) those from `first1` on, part 2
        /// (`w2`/`y2`/`tile2`) those from `first2` on.
        var parts = 1
        var w1 = WeightMatrix(type: .f32, rows: 0, cols: 0, data: UnsafeRawPointer(bitPattern: 1)!)
        var y1 = UnsafeMutablePointer<Float>(bitPattern: 1)!
        var w2 = WeightMatrix(type: .f32, rows: 0, cols: 0, data: UnsafeRawPointer(bitPattern: 1)!)
        var y2 = UnsafeMutablePointer<Float>(bitPattern: 1)!
        var tile1 = 1, tile2 = 1
        var first1 = Int.max, first2 = Int.max
    }
    private var tileJob: EngineJob!
    private var quantJob: EngineJob!
    private var permuteJob: EngineJob!

    public init(pool: ComputePool, maxCols: Int, maxSeq: Int) {
        self.pool = pool
        self.maxCols = maxCols
        self.maxSeq = max(1, maxSeq)
        let cols = (maxCols + 255) / 256 * 256
        maxBlocks32 = cols / 32
        xq = .allocate(capacity: cols * self.maxSeq)
        x8 = .allocate(capacity: cols * self.maxSeq)
        xd = .allocate(capacity: maxBlocks32 * self.maxSeq)
        xs = .allocate(capacity: maxBlocks32 * self.maxSeq)
        xbs = .allocate(capacity: cols / 32 * self.maxSeq)
        xb16 = .allocate(capacity: cols / 16 * self.maxSeq)
        xf = .allocate(capacity: cols * self.maxSeq)
        tileJob = EngineJob(self, .tile)
        quantJob = EngineJob(self, .quantize)
        permuteJob = EngineJob(self, .permute)
    }

    deinit {
        xq.deallocate(); x8.deallocate(); xd.deallocate(); xs.deallocate(); xbs.deallocate(); xb16.deallocate(); xf.deallocate()
    }

    /// Which path `multiply` takes for a weight type.
    enum Path { case float, block32, kquant, dequant, gemm32 }

    static func path(for type: GGMLType) -> Path {
        switch type {
        case .f32, .f16, .bf16: return .float
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: return .block32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: return .kquant
        default: return .dequant
        }
    }

    /// `y[s * w.rows + r] = dot(W[r], x[s * w.cols ..< (s+1) * w.cols])` for `s < nSeq`.
    public func multiply(_ w: WeightMatrix, x: UnsafePointer<Float>, nSeq: Int, y: UnsafeMutablePointer<Float>) {
        precondition(w.cols <= maxCols && nSeq <= maxSeq, "MatMulEngine: shape \(w.rows)x\(w.cols) with \(nSeq) sequences is beyond the preallocated \(maxCols) columns / \(maxSeq) sequences")
        precondition(w.cols % w.type.blockSize == 0, "MatMulEngine: \(w.cols) columns is not a multiple of \(w.type)'s block size")
        if nSeq <= 0 || w.rows <= 0 { return }
        var path = Self.path(for: w.type)
        if nSeq >= floatTilesMinSeq(for: w.type) && Self.hasFloatTiles(w.type) {
            permuteActivations(x, cols: w.cols, nSeq: nSeq, superBlocks: path == .kquant)
            path = .gemm32
        }
        // 1. Quantize the activations once.
        switch path {
        case .block32: quantizeActivations(x, cols: w.cols, nSeq: nSeq, superBlocks: false)
        case .kquant: quantizeActivations(x, cols: w.cols, nSeq: nSeq, superBlocks: true)
        default: break
        }
        // 2. Rows in tiles, sequences in groups of four sharing each decoded weight block.
        let tile = tileRows(w.rows, total: w.rows)
        cur.w = w; cur.x = x; cur.y = y; cur.nSeq = nSeq; cur.path = path; cur.tile = tile
        cur.parts = 1; cur.first1 = Int.max; cur.first2 = Int.max
        pool.parallelFor((w.rows + tile - 1) / tile, job: tileJob)
    }

    /// Rows per tile for a matrix of `rows` rows in a product of `total` rows: about eight
    /// tiles per thread over the whole product, at least 16 rows each, multiples of 4.
    private func tileRows(_ rows: Int, total: Int) -> Int {
        if rowsPerTask > 0 { return rowsPerTask }
        let per = (total + 8 * pool.threadCount - 1) / (8 * pool.threadCount)
        return min(rows, max(16, (per + 3) / 4 * 4))
    }

    /// Fused products of two or three matrices with the same activations (q/k/v projections,
    /// FFN gate/up): `y0 = W0·x`, `y1 = W1·x`, `y2 = W2·x` with each output laid out as
    /// `multiply(_:x:nSeq:y:)` lays it out. The activations are quantized once and one pool
    /// dispatch covers every row of every matrix. All matrices must have the same column count;
    /// matrices whose types need different activation formats (32-blocks vs K-quant
    /// super-blocks) are multiplied one after another.
    public func multiply(_ w0: WeightMatrix, y0: UnsafeMutablePointer<Float>,
                         _ w1: WeightMatrix, y1: UnsafeMutablePointer<Float>,
                         _ w2: WeightMatrix? = nil, y2: UnsafeMutablePointer<Float>? = nil,
                         x: UnsafePointer<Float>, nSeq: Int) {
        precondition(w0.cols == w1.cols && (w2 == nil || w2!.cols == w0.cols), "MatMulEngine: fused matrices must share their column count")
        precondition((w2 == nil) == (y2 == nil), "MatMulEngine: a third matrix needs a third output")
        var path = Self.path(for: w0.type)
        // One activation format for all: the same path (32-blocks or K-quant super-blocks).
        let samePath = Self.path(for: w1.type) == path && (w2 == nil || Self.path(for: w2!.type) == path)
        func tiles(_ w: WeightMatrix) -> Bool { nSeq >= floatTilesMinSeq(for: w.type) && Self.hasFloatTiles(w.type) }
        let floatTiles = tiles(w0) && tiles(w1) && (w2.map(tiles) ?? true)
        if !samePath {
            multiply(w0, x: x, nSeq: nSeq, y: y0)
            multiply(w1, x: x, nSeq: nSeq, y: y1)
            if let w2, let y2 { multiply(w2, x: x, nSeq: nSeq, y: y2) }
            return
        }
        precondition(w0.cols <= maxCols && nSeq <= maxSeq, "MatMulEngine: shape \(w0.rows)x\(w0.cols) with \(nSeq) sequences is beyond the preallocated \(maxCols) columns / \(maxSeq) sequences")
        precondition(w0.cols % w0.type.blockSize == 0 && w0.cols % w1.type.blockSize == 0
                     && (w2 == nil || w0.cols % w2!.type.blockSize == 0), "MatMulEngine: column count is not a multiple of a block size")
        if nSeq <= 0 { return }
        if floatTiles { permuteActivations(x, cols: w0.cols, nSeq: nSeq, superBlocks: path == .kquant); path = .gemm32 }
        switch path {
        case .block32: quantizeActivations(x, cols: w0.cols, nSeq: nSeq, superBlocks: false)
        case .kquant: quantizeActivations(x, cols: w0.cols, nSeq: nSeq, superBlocks: true)
        default: break
        }
        let total = w0.rows + w1.rows + (w2?.rows ?? 0)
        let t0 = tileRows(w0.rows, total: total), t1 = tileRows(w1.rows, total: total)
        let n0 = (w0.rows + t0 - 1) / t0, n1 = (w1.rows + t1 - 1) / t1
        cur.w = w0; cur.y = y0; cur.tile = t0
        cur.w1 = w1; cur.y1 = y1; cur.tile1 = t1; cur.first1 = n0
        var tiles = n0 + n1
        cur.parts = 2; cur.first2 = Int.max
        if let w2, let y2 {
            let t2 = tileRows(w2.rows, total: total)
            cur.w2 = w2; cur.y2 = y2; cur.tile2 = t2; cur.first2 = tiles
            tiles += (w2.rows + t2 - 1) / t2
            cur.parts = 3
        }
        cur.x = x; cur.nSeq = nSeq; cur.path = path
        pool.parallelFor(tiles, job: tileJob)
    }

    /// One row tile of the current product.
    fileprivate func runTile(_ t: Int) {
        let nSeq = cur.nSeq, x = cur.x
        let w: WeightMatrix, y: UnsafeMutablePointer<Float>, r0: Int, r1: Int
        if t >= cur.first2 {
            w = cur.w2; y = cur.y2; r0 = (t - cur.first2) * cur.tile2; r1 = min(w.rows, r0 + cur.tile2)
        } else if t >= cur.first1 {
            w = cur.w1; y = cur.y1; r0 = (t - cur.first1) * cur.tile1; r1 = min(w.rows, r0 + cur.tile1)
        } else {
            w = cur.w; y = cur.y; r0 = t * cur.tile; r1 = min(w.rows, r0 + cur.tile)
        }
        switch cur.path {
        case .float: floatRows(w, x, nSeq, y, r0, r1)
        case .block32, .kquant:
            if let kernel = DecodeKernels.kernel(w.type, level) {
                int8Rows(kernel, w, nSeq, y, r0, r1)
            } else if cur.path == .block32 {
                block32Rows(w, nSeq, y, r0, r1)
            } else {
                kquantRows(w, nSeq, y, r0, r1)
            }
        case .gemm32: gemmRows(w, nSeq, y, r0, r1)
        case .dequant: dequantRows(w, x, nSeq, y, r0, r1)
        }
    }

    // MARK: Float tiles for many sequences

    /// Float-tile activations: see `permuteSeq`.
    private func permuteActivations(_ x: UnsafePointer<Float>, cols: Int, nSeq: Int, superBlocks: Bool) {
        prepareActivations(x, cols: cols, nSeq: nSeq, superBlocks: superBlocks, permuteJob)
    }

    /// Quantizes activation row `s` of the current product (`quantizeSeq`: the integer kernels'
    /// rounding, and `xs` for Q4_1/Q5_1 min terms), then writes the rounded values `q · d` into
    /// `xf` in the order `Kernels.decodeFloats` writes weights (per group of 32, elements 4l, then
    /// 4l+2, then 4l+1, then 4l+3, l = 0..<8): the float tiles then compute what the integer
    /// kernels compute, up to float summation order, as ggml does for every batch size.
    fileprivate func permuteSeq(_ s: Int) {
        quantizeSeq(s)
        let cols = cur.w.cols
        let q = xq + s * maxCols, d = xd + s * maxBlocks32, dst = xf + s * maxCols
        let groupsPerScale = cur.superBlocks ? 8 : 1
        for g in 0..<(cols / 32) {
            // Quants sit in even/odd slots (ActivationQuant.slot): element 4l at slot 2l, 4l+2 at
            // 2l+1, 4l+1 at 16+2l, 4l+3 at 17+2l.
            let qg = q + 32 * g, og = dst + 32 * g, dg = d[g / groupsPerScale]
            for l in 0..<8 {
                og[l] = Float(qg[2 * l]) * dg
                og[8 + l] = Float(qg[2 * l + 1]) * dg
                og[16 + l] = Float(qg[16 + 2 * l]) * dg
                og[24 + l] = Float(qg[17 + 2 * l]) * dg
            }
        }
    }

    /// Types `gemmRows` can decode to float tiles.
    static func hasFloatTiles(_ t: GGMLType) -> Bool {
        switch t {
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q3_K, .q4_K, .q5_K, .q6_K: return true
        default: return false
        }
    }

    private func gemmRows(_ w: WeightMatrix, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ r0: Int, _ r1: Int) {
        let nb = w.cols / 32
        switch w.type {
        case .q4_0: gemmRows(w, nSeq, y, r0, r1) { Kernels.decodeFloats(Q4_0Block.self, $0, nb, $1) }
        case .q4_1: gemmRows(w, nSeq, y, r0, r1, minBlockBytes: Q4_1Block.bytes) { Kernels.decodeFloats(Q4_1Block.self, $0, nb, $1, withMin: false) }
        case .q5_0: gemmRows(w, nSeq, y, r0, r1) { Kernels.decodeFloats(Q5_0Block.self, $0, nb, $1) }
        case .q5_1: gemmRows(w, nSeq, y, r0, r1, minBlockBytes: Q5_1Block.bytes) { Kernels.decodeFloats(Q5_1Block.self, $0, nb, $1, withMin: false) }
        case .q8_0: gemmRows(w, nSeq, y, r0, r1) { Kernels.decodeFloats(Q8_0Block.self, $0, nb, $1) }
        case .q3_K: gemmRows(w, nSeq, y, r0, r1) { Kernels.decodeFloatsK(Q3_KBlock.self, $0, nb / 8, $1) }
        case .q4_K: gemmRows(w, nSeq, y, r0, r1) { Kernels.decodeFloatsK(Q4_KBlock.self, $0, nb / 8, $1) }
        case .q5_K: gemmRows(w, nSeq, y, r0, r1) { Kernels.decodeFloatsK(Q5_KBlock.self, $0, nb / 8, $1) }
        case .q6_K: gemmRows(w, nSeq, y, r0, r1) { Kernels.decodeFloatsK(Q6_KBlock.self, $0, nb / 8, $1) }
        default: preconditionFailure("gemmRows: \(w.type)")
        }
    }

    /// Rows in groups of four: decode them to floats (on the stack), then 4×4 register tiles of
    /// rows × sequences over the permuted float activations. For Q4_1/Q5_1 (`minBlockBytes` > 0,
    /// the min an fp16 at byte 2 of each block) the rows are decoded without their mins, which
    /// are then dotted with the per-block activation sums `xs` (fp16, as ggml's block_q8_1 has
    /// them), exactly as the integer kernels do.
    @inline(__always)
    private func gemmRows(_ w: WeightMatrix, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ r0: Int, _ r1: Int,
                          minBlockBytes: Int = 0,
                          _ decodeRow: (UnsafeRawPointer, UnsafeMutablePointer<Float>) -> Void) {
        let n = w.cols, rowBytes = w.rowBytes, ldy = w.rows, ldx = maxCols, nb = n / 32
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * n + nb + 8) { buf in
            let wf = buf.baseAddress!, mins = wf + 4 * n
            var r = r0
            while r < r1 {
                let nr = min(4, r1 - r)
                for i in 0..<nr { decodeRow(w.data + (r + i) * rowBytes, wf + i * n) }
                let xb = UnsafePointer(xf)
                if nr == 4 {
                    var s = 0
                    while s + 4 <= nSeq {
                        Kernels.tile4x4(UnsafePointer(wf), n, xb + s * ldx, ldx, n, y + s * ldy + r, ldy)
                        s += 4
                    }
                    while s < nSeq {
                        for i in 0..<4 { y[s * ldy + r + i] = VectorOps.dot(wf + i * n, xb + s * ldx, n) }
                        s += 1
                    }
                } else {
                    for i in 0..<nr {
                        for s in 0..<nSeq { y[s * ldy + r + i] = VectorOps.dot(wf + i * n, xb + s * ldx, n) }
                    }
                }
                if minBlockBytes > 0 {
                    for i in 0..<nr {
                        let row = w.data + (r + i) * rowBytes
                        for b in 0..<nb { mins[b] = loadHalf(row, b * minBlockBytes + 2) }
                        for s in 0..<nSeq { y[s * ldy + r + i] += VectorOps.dot(mins, xs + s * maxBlocks32, nb) }
                    }
                }
                r += nr
            }
        }
    }

    // MARK: Activation quantization

    private func quantizeActivations(_ x: UnsafePointer<Float>, cols: Int, nSeq: Int, superBlocks: Bool) {
        prepareActivations(x, cols: cols, nSeq: nSeq, superBlocks: superBlocks, quantJob)
    }

    /// Runs `job` (quantize or permute) on each of the `nSeq` activation rows of `x`: on the pool
    /// from four rows on, else on the calling thread.
    private func prepareActivations(_ x: UnsafePointer<Float>, cols: Int, nSeq: Int, superBlocks: Bool, _ job: EngineJob) {
        cur.x = x; cur.superBlocks = superBlocks; cur.w = WeightMatrix(type: .f32, rows: 0, cols: cols, data: UnsafeRawPointer(x))
        if nSeq >= 4 {
            pool.parallelFor(nSeq, job: job)
        } else {
            for s in 0..<nSeq { job.execute(s) }
        }
    }

    /// Quantizes activation row `s` of the current product.
    fileprivate func quantizeSeq(_ s: Int) {
        let cols = cur.w.cols
        let src = cur.x + s * cols
        let q = xq + s * maxCols
        let q8: UnsafeMutablePointer<Int8>? = level == .portable ? nil : x8 + s * maxCols
        if cur.superBlocks {
            ActivationQuant.q8K(src, cols, q, xd + s * maxBlocks32, xbs + s * maxBlocks32, xb16 + 2 * s * maxBlocks32, q8: q8)
        } else {
            ActivationQuant.q8_0(src, cols, q, xd + s * maxBlocks32, xs + s * maxBlocks32, q8: q8, sums: xbs + s * maxBlocks32)
        }
    }

    // MARK: Row loops

    /// Rows `r0..<r1` for every sequence through one of the level's 8-bit kernels (each decoded
    /// weight block serves up to four sequences; the tile's rows stay in cache between groups).
    private func int8Rows(_ kernel: DecodeKernels.Kernel, _ w: WeightMatrix, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>,
                          _ r0: Int, _ r1: Int) {
        let x = DecodeKernels.Activations(q: x8, d: xd, s: xs, sum32: xbs, sum16: xb16)
        let strides = DecodeKernels.Strides(q: maxCols, d: maxBlocks32, s: maxBlocks32, sum32: maxBlocks32, sum16: 2 * maxBlocks32)
        kernel(w.data + r0 * w.rowBytes, w.rowBytes, r1 - r0, w.cols / w.type.blockSize, x, strides, nSeq, y + r0, w.rows)
    }

    private func block32Rows(_ w: WeightMatrix, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ r0: Int, _ r1: Int) {
        switch w.type {
        case .q4_0: block32Rows(Q4_0Block.self, w, nSeq, y, r0, r1)
        case .q4_1: block32Rows(Q4_1Block.self, w, nSeq, y, r0, r1)
        case .q5_0: block32Rows(Q5_0Block.self, w, nSeq, y, r0, r1)
        case .q5_1: block32Rows(Q5_1Block.self, w, nSeq, y, r0, r1)
        case .q8_0: block32Rows(Q8_0Block.self, w, nSeq, y, r0, r1)
        default: preconditionFailure("block32Rows: \(w.type)")
        }
    }

    @inline(__always)
    private func block32Rows<B: Block32>(_: B.Type, _ w: WeightMatrix, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ r0: Int, _ r1: Int) {
        let nb = w.cols / 32
        let rowBytes = w.rowBytes
        var s = 0
        while s < nSeq {
            let take = min(4, nSeq - s)
            let x = UnsafePointer(xq + s * maxCols)
            let d = UnsafePointer(xd + s * maxBlocks32), sm = UnsafePointer(xs + s * maxBlocks32)
            for r in r0..<r1 {
                let row = w.data + r * rowBytes
                if take == 4 {
                    let v = Kernels.block32(B.self, W4.self, row, nb, x, maxCols, d, sm, maxBlocks32)
                    for k in 0..<4 { y[(s + k) * w.rows + r] = v[k] }
                } else {
                    for k in 0..<take {
                        let v = Kernels.block32(B.self, W1.self, row, nb, x + k * maxCols, maxCols, d + k * maxBlocks32, sm + k * maxBlocks32, maxBlocks32)
                        y[(s + k) * w.rows + r] = v[0]
                    }
                }
            }
            s += take
        }
    }

    private func kquantRows(_ w: WeightMatrix, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ r0: Int, _ r1: Int) {
        switch w.type {
        case .q2_K: kquantRows(Q2_KBlock.self, w, nSeq, y, r0, r1)
        case .q3_K: kquantRows(Q3_KBlock.self, w, nSeq, y, r0, r1)
        case .q4_K: kquantRows(Q4_KBlock.self, w, nSeq, y, r0, r1)
        case .q5_K: kquantRows(Q5_KBlock.self, w, nSeq, y, r0, r1)
        case .q6_K: kquantRows(Q6_KBlock.self, w, nSeq, y, r0, r1)
        default: preconditionFailure("kquantRows: \(w.type)")
        }
    }

    @inline(__always)
    private func kquantRows<B: KBlock>(_: B.Type, _ w: WeightMatrix, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ r0: Int, _ r1: Int) {
        let nb = w.cols / 256
        let rowBytes = w.rowBytes
        let bsStride = maxBlocks32
        var s = 0
        while s < nSeq {
            let take = min(4, nSeq - s)
            let x = UnsafePointer(xq + s * maxCols)
            let d = UnsafePointer(xd + s * maxBlocks32), bs = UnsafePointer(xbs + s * bsStride)
            let b16 = UnsafePointer(xb16 + 2 * s * bsStride)
            for r in r0..<r1 {
                let row = w.data + r * rowBytes
                if take == 4 {
                    let v = Kernels.kquant(B.self, W4.self, row, nb, x, maxCols, d, maxBlocks32, bs, bsStride, b16)
                    for k in 0..<4 { y[(s + k) * w.rows + r] = v[k] }
                } else {
                    for k in 0..<take {
                        let v = Kernels.kquant(B.self, W1.self, row, nb, x + k * maxCols, maxCols, d + k * maxBlocks32, maxBlocks32,
                                               bs + k * bsStride, bsStride, b16 + 2 * k * bsStride)
                        y[(s + k) * w.rows + r] = v[0]
                    }
                }
            }
            s += take
        }
    }

    private func floatRows(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ r0: Int, _ r1: Int) {
        let n = w.cols
        for r in r0..<r1 {
            switch w.type {
            case .f32:
                let row = (w.data + r * n * 4).assumingMemoryBound(to: Float.self)
                for s in 0..<nSeq { y[s * w.rows + r] = VectorOps.dot(row, x + s * n, n) }
            case .f16:
                let row = (w.data + r * n * 2).assumingMemoryBound(to: UInt16.self)
                for s in 0..<nSeq { y[s * w.rows + r] = VectorOps.dotF16(row, x + s * n, n) }
            default: // bf16
                let row = (w.data + r * n * 2).assumingMemoryBound(to: UInt16.self)
                for s in 0..<nSeq { y[s * w.rows + r] = Kernels.dotBF16(row, x + s * n, n) }
            }
        }
    }

    private func dequantRows(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>,
                             _ r0: Int, _ r1: Int) {
        // Slow path for Q2_K / Q3_K / Q8_K: dequantize each row once, reuse it for every sequence.
        let n = w.cols
        withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { buf in
            let row = buf.baseAddress!
            for r in r0..<r1 {
                Dequantize.row(w.type, w.data + r * w.rowBytes, into: row, count: n)
                for s in 0..<nSeq { y[s * w.rows + r] = VectorOps.dot(row, x + s * n, n) }
            }
        }
    }
}

/// Pool job forwarding to the engine (unowned: the engine owns its jobs).
private final class EngineJob: ComputeJob {
    enum Kind { case tile, quantize, permute }
    unowned(unsafe) let engine: MatMulEngine
    let kind: Kind
    init(_ engine: MatMulEngine, _ kind: Kind) { self.engine = engine; self.kind = kind }
    func execute(_ index: Int) {
        switch kind {
        case .tile: engine.runTile(index)
        case .quantize: engine.quantizeSeq(index)
        case .permute: engine.permuteSeq(index)
        }
    }
}

// MARK: - Kernels

/// Compile-time number of sequences a kernel serves per weight pass.
protocol SeqWidth { static var n: Int { get } }
enum W1: SeqWidth { static var n: Int { 1 } }
enum W4: SeqWidth { static var n: Int { 4 } }

/// Adds adjacent Int16 lanes into Int32 lanes (what `pmaddwd` against ones does).
@inline(__always) func pairSum(_ p: SIMD16<Int16>) -> SIMD8<Int32> {
    let u = unsafeBitCast(p, to: SIMD8<Int32>.self)
    return ((u &<< 16) &>> 16) &+ (u &>> 16)
}

@inline(__always) func asInt16(_ v: SIMD16<UInt16>) -> SIMD16<Int16> { unsafeBitCast(v, to: SIMD16<Int16>.self) }

/// 16 lanes of two 8-lane halves.
@inline(__always) func join(_ a: SIMD8<UInt16>, _ b: SIMD8<UInt16>) -> SIMD16<UInt16> { SIMD16<UInt16>(lowHalf: a, highHalf: b) }

/// The fifth bits of a Q5_0/Q5_1 block (bit j of `qh` belongs to element j) moved to bit 15 of
/// 16-bit lanes, for the even and the odd elements in lane order. Even lane i holds element 2i, so
/// it needs bit 2i of `qh`: lanes 0..<8 test bits of the low 16-bit half, lanes 8..<16 of the
/// high half, each lane with its own one-bit mask, and a per-lane power-of-two multiply moves the
/// masked bit to bit 15. (Per-lane variable shifts, or shift pairs with constant vectors, compile
/// to long shuffle sequences; this form is ~2x faster per block.)
@inline(__always) func fifthBitsAtTop(_ qh: UInt32) -> (SIMD16<UInt16>, SIMD16<UInt16>) {
    let lo = UInt16(truncatingIfNeeded: qh), hi = UInt16(truncatingIfNeeded: qh >> 16)
    let hv = SIMD16<UInt16>(lowHalf: SIMD8(repeating: lo), highHalf: SIMD8(repeating: hi))
    let mE = SIMD16<UInt16>(1, 4, 16, 64, 256, 1024, 4096, 16384, 1, 4, 16, 64, 256, 1024, 4096, 16384)
    let kE = SIMD16<UInt16>(32768, 8192, 2048, 512, 128, 32, 8, 2, 32768, 8192, 2048, 512, 128, 32, 8, 2)
    return ((hv & mE) &* kE, (hv & (mE &<< 1)) &* (kE &>> 1))
}

/// The fifth bits as 0 or 16 per lane (a logical shift brings bit 15 down to bit 4).
@inline(__always) func fifthBits(_ qh: UInt32) -> (SIMD16<Int16>, SIMD16<Int16>) {
    let (e, o) = fifthBitsAtTop(qh)
    return (asInt16(e &>> 11), asInt16(o &>> 11))
}

/// The fifth bits as -16 (0xFFF0) or 0 per lane: an arithmetic shift spreads bit 15 down to bit 4.
@inline(__always) func fifthBitMasks(_ qh: UInt32) -> (SIMD16<Int16>, SIMD16<Int16>) {
    let (e, o) = fifthBitsAtTop(qh)
    return (asInt16(e) &>> 11, asInt16(o) &>> 11)
}

/// A 32-element weight block decoded to integers: value = d · q + m.
protocol Block32 {
    static var bytes: Int { get }
    static var hasMin: Bool { get }
    /// Quants of the even and the odd elements (see `ActivationQuant`), the scale d and offset m.
    static func decode(_ p: UnsafeRawPointer) -> (SIMD16<Int16>, SIMD16<Int16>, Float, Float)
}

/// Nibbles of 16 Q4/Q5 bytes: lanes 0..<8 from the low nibbles (elements 0..<16), lanes 8..<16
/// from the high nibbles (elements 16..<32); even elements from the low byte of each pair.
@inline(__always) func nibbles(_ p: UnsafeRawPointer, _ offset: Int) -> (SIMD16<UInt16>, SIMD16<UInt16>) {
    let v = p.loadUnaligned(fromByteOffset: offset, as: SIMD8<UInt16>.self)
    let w = join(v, v &>> 4)
    return (w & 0xF, (w &>> 8) & 0xF)
}

enum Q4_0Block: Block32 {
    static var bytes: Int { 18 }
    static var hasMin: Bool { false }
    @inline(__always) static func decode(_ p: UnsafeRawPointer) -> (SIMD16<Int16>, SIMD16<Int16>, Float, Float) {
        let (e, o) = nibbles(p, 2)
        let eight = SIMD16<Int16>(repeating: 8)
        return (asInt16(e) &- eight, asInt16(o) &- eight, loadHalf(p, 0), 0)
    }
}

enum Q4_1Block: Block32 {
    static var bytes: Int { 20 }
    static var hasMin: Bool { true }
    @inline(__always) static func decode(_ p: UnsafeRawPointer) -> (SIMD16<Int16>, SIMD16<Int16>, Float, Float) {
        let (e, o) = nibbles(p, 4)
        return (asInt16(e), asInt16(o), loadHalf(p, 0), loadHalf(p, 2))
    }
}

enum Q5_0Block: Block32 {
    static var bytes: Int { 22 }
    static var hasMin: Bool { false }
    @inline(__always) static func decode(_ p: UnsafeRawPointer) -> (SIMD16<Int16>, SIMD16<Int16>, Float, Float) {
        let qh = p.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
        let (e, o) = nibbles(p, 6)
        // q - 16 = nibble | (fifth bit clear ? 0xFFF0 : 0) in 16-bit two's complement: no subtraction.
        let (me, mo) = fifthBitMasks(~qh)
        return (asInt16(e) | me, asInt16(o) | mo, loadHalf(p, 0), 0)
    }
}

enum Q5_1Block: Block32 {
    static var bytes: Int { 24 }
    static var hasMin: Bool { true }
    @inline(__always) static func decode(_ p: UnsafeRawPointer) -> (SIMD16<Int16>, SIMD16<Int16>, Float, Float) {
        let qh = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        let (e, o) = nibbles(p, 8)
        let (he, ho) = fifthBits(qh)
        return (asInt16(e) | he, asInt16(o) | ho, loadHalf(p, 0), loadHalf(p, 2))
    }
}

enum Q8_0Block: Block32 {
    static var bytes: Int { 34 }
    static var hasMin: Bool { false }
    @inline(__always) static func decode(_ p: UnsafeRawPointer) -> (SIMD16<Int16>, SIMD16<Int16>, Float, Float) {
        let v = p.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int16>.self)
        return ((v &<< 8) &>> 8, v &>> 8, loadHalf(p, 0), 0)
    }
}

/// A 256-element K-quant super-block, visited as 8 groups of 32.
protocol KBlock {
    static var bytes: Int { get }
    static var hasMins: Bool { get }
    /// Calls `group(j, even, odd, scaleLo, scaleHi)` for each 32-element group j (0..<8) with the
    /// quants in even/odd order and the integer scales of elements 0..<16 and 16..<32 of the group.
    static func groups(_ p: UnsafeRawPointer, _ group: (Int, SIMD16<Int16>, SIMD16<Int16>, Int32, Int32) -> Void)
    /// Super-block scale d and min scale dmin (0 for types without mins).
    static func scales(_ p: UnsafeRawPointer) -> (Float, Float)
    /// Lane-wise min · (activation quant sum) products whose total is the super-block's min
    /// term: `gsums` holds its 8 per-32 activation sums, `bsums` its 16 per-16 sums.
    static func minTerms(_ p: UnsafeRawPointer, _ gsums: UnsafePointer<Int32>, _ bsums: UnsafePointer<Int32>) -> SIMD8<Int32>
}

enum Q4_KBlock: KBlock {
    static var bytes: Int { 144 }
    static var hasMins: Bool { true }
    @inline(__always) static func groups(_ p: UnsafeRawPointer, _ group: (Int, SIMD16<Int16>, SIMD16<Int16>, Int32, Int32) -> Void) {
        let scales = kScalesMins(p + 4).scales
        @inline(__always) func chunk(_ c: Int) {
            let v = p.loadUnaligned(fromByteOffset: 16 &+ 32 &* c, as: SIMD16<UInt16>.self)
            let s0 = Int32(truncatingIfNeeded: (scales >> UInt64(16 &* c)) & 0xFF)
            let s1 = Int32(truncatingIfNeeded: (scales >> UInt64(16 &* c &+ 8)) & 0xFF)
            group(2 &* c, asInt16(v & 0xF), asInt16((v &>> 8) & 0xF), s0, s0)
            group(2 &* c &+ 1, asInt16((v &>> 4) & 0xF), asInt16(v &>> 12), s1, s1)
        }
        chunk(0); chunk(1); chunk(2); chunk(3)
    }
    @inline(__always) static func scales(_ p: UnsafeRawPointer) -> (Float, Float) { (loadHalf(p, 0), loadHalf(p, 2)) }
    @inline(__always) static func minTerms(_ p: UnsafeRawPointer, _ gsums: UnsafePointer<Int32>, _ bsums: UnsafePointer<Int32>) -> SIMD8<Int32> {
        let mins = kScalesMins(p + 4).mins
        let v = spreadBytes(UInt32(truncatingIfNeeded: mins), UInt32(truncatingIfNeeded: mins >> 32), shift: 0) & 0xFF
        return unsafeBitCast(v, to: SIMD8<Int32>.self) &* UnsafeRawPointer(gsums).loadUnaligned(as: SIMD8<Int32>.self)
    }
}

enum Q5_KBlock: KBlock {
    static var bytes: Int { 176 }
    static var hasMins: Bool { true }
    @inline(__always) static func groups(_ p: UnsafeRawPointer, _ group: (Int, SIMD16<Int16>, SIMD16<Int16>, Int32, Int32) -> Void) {
        let scales = kScalesMins(p + 4).scales
        let h = p.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt16>.self)
        @inline(__always) func chunk(_ c: Int) {
            let v = p.loadUnaligned(fromByteOffset: 48 &+ 32 &* c, as: SIMD16<UInt16>.self)
            let s0 = Int32(truncatingIfNeeded: (scales >> UInt64(16 &* c)) & 0xFF)
            let s1 = Int32(truncatingIfNeeded: (scales >> UInt64(16 &* c &+ 8)) & 0xFF)
            let b0 = UInt16(truncatingIfNeeded: 2 &* c), b1 = UInt16(truncatingIfNeeded: 2 &* c &+ 1)
            let he0 = ((h &>> b0) & 1) &<< 4, ho0 = ((h &>> (b0 &+ 8)) & 1) &<< 4
            let he1 = ((h &>> b1) & 1) &<< 4, ho1 = ((h &>> (b1 &+ 8)) & 1) &<< 4
            group(2 &* c, asInt16((v & 0xF) | he0), asInt16(((v &>> 8) & 0xF) | ho0), s0, s0)
            group(2 &* c &+ 1, asInt16(((v &>> 4) & 0xF) | he1), asInt16((v &>> 12) | ho1), s1, s1)
        }
        chunk(0); chunk(1); chunk(2); chunk(3)
    }
    @inline(__always) static func scales(_ p: UnsafeRawPointer) -> (Float, Float) { (loadHalf(p, 0), loadHalf(p, 2)) }
    @inline(__always) static func minTerms(_ p: UnsafeRawPointer, _ gsums: UnsafePointer<Int32>, _ bsums: UnsafePointer<Int32>) -> SIMD8<Int32> {
        Q4_KBlock.minTerms(p, gsums, bsums)
    }
}

enum Q6_KBlock: KBlock {
    static var bytes: Int { 210 }
    static var hasMins: Bool { false }
    @inline(__always) static func groups(_ p: UnsafeRawPointer, _ group: (Int, SIMD16<Int16>, SIMD16<Int16>, Int32, Int32) -> Void) {
        let sc = (p + 192).assumingMemoryBound(to: Int8.self)
        let bias = SIMD16<Int16>(repeating: 32)
        // Written out so every shift is a constant.
        @inline(__always) func emit(_ g: Int, _ v: SIMD16<UInt16>, _ h: SIMD16<UInt16>, _ ns: UInt16, _ hs: UInt16) {
            let e = ((v &>> ns) & 0xF) | (((h &>> hs) & 3) &<< 4)
            let o = ((v &>> (ns &+ 8)) & 0xF) | (((h &>> (hs &+ 8)) & 3) &<< 4)
            group(g, asInt16(e) &- bias, asInt16(o) &- bias, Int32(sc[2 &* g]), Int32(sc[2 &* g &+ 1]))
        }
        @inline(__always) func half(_ n: Int) {
            let h = p.loadUnaligned(fromByteOffset: 128 &+ 32 &* n, as: SIMD16<UInt16>.self)
            let l01 = p.loadUnaligned(fromByteOffset: 64 &* n, as: SIMD16<UInt16>.self)
            let l23 = p.loadUnaligned(fromByteOffset: 64 &* n &+ 32, as: SIMD16<UInt16>.self)
            emit(4 &* n, l01, h, 0, 0)
            emit(4 &* n &+ 1, l23, h, 0, 2)
            emit(4 &* n &+ 2, l01, h, 4, 4)
            emit(4 &* n &+ 3, l23, h, 4, 6)
        }
        half(0)
        half(1)
    }
    @inline(__always) static func scales(_ p: UnsafeRawPointer) -> (Float, Float) { (loadHalf(p, 208), 0) }
    @inline(__always) static func minTerms(_ p: UnsafeRawPointer, _ gsums: UnsafePointer<Int32>, _ bsums: UnsafePointer<Int32>) -> SIMD8<Int32> { SIMD8() }
}

/// The 8 bytes of two words, one per Int32 lane (in memory order), shifted right by `shift`.
@inline(__always) func spreadBytes(_ lo: UInt32, _ hi: UInt32, shift: UInt32) -> SIMD8<UInt32> {
    let v = SIMD8<UInt32>(lowHalf: SIMD4<UInt32>(repeating: lo), highHalf: SIMD4<UInt32>(repeating: hi))
    return v &>> (SIMD8<UInt32>(0, 8, 16, 24, 0, 8, 16, 24) &+ shift)
}

/// 2-bit fields of 32 quant bytes (Q2_K / Q3_K low bits): group `j4` of a 128-element half.
@inline(__always) func twoBits(_ v: SIMD16<UInt16>, _ j4: UInt16) -> (SIMD16<UInt16>, SIMD16<UInt16>) {
    ((v &>> (2 &* j4)) & 3, (v &>> (2 &* j4 &+ 8)) & 3)
}

enum Q3_KBlock: KBlock {
    static var bytes: Int { 110 }
    static var hasMins: Bool { false }
    @inline(__always) static func groups(_ p: UnsafeRawPointer, _ group: (Int, SIMD16<Int16>, SIMD16<Int16>, Int32, Int32) -> Void) {
        let sc = (p + 96).assumingMemoryBound(to: UInt8.self)
        let hm = p.loadUnaligned(as: SIMD16<UInt16>.self)
        let four = SIMD16<UInt16>(repeating: 4)
        @inline(__always) func emit(_ n: Int, _ j4: Int, _ v: SIMD16<UInt16>) {
            let (le, lo) = twoBits(v, UInt16(truncatingIfNeeded: j4))
            let bit = UInt16(truncatingIfNeeded: 4 &* n &+ j4)
            // High bit set: value = low bits; clear: low bits - 4.
            let e = asInt16(le | (((hm &>> bit) & 1) &<< 2)) &- asInt16(four)
            let o = asInt16(lo | (((hm &>> (bit &+ 8)) & 1) &<< 2)) &- asInt16(four)
            let g = 4 &* n &+ j4
            group(g, e, o, Int32(q3KScale(2 &* g, sc)), Int32(q3KScale(2 &* g &+ 1, sc)))
        }
        @inline(__always) func half(_ n: Int) {
            let v = p.loadUnaligned(fromByteOffset: 32 &+ 32 &* n, as: SIMD16<UInt16>.self)
            emit(n, 0, v); emit(n, 1, v); emit(n, 2, v); emit(n, 3, v)
        }
        half(0)
        half(1)
    }
    @inline(__always) static func scales(_ p: UnsafeRawPointer) -> (Float, Float) { (loadHalf(p, 108), 0) }
    @inline(__always) static func minTerms(_ p: UnsafeRawPointer, _ gsums: UnsafePointer<Int32>, _ bsums: UnsafePointer<Int32>) -> SIMD8<Int32> { SIMD8() }
}

enum Q2_KBlock: KBlock {
    static var bytes: Int { 84 }
    static var hasMins: Bool { true }
    @inline(__always) static func groups(_ p: UnsafeRawPointer, _ group: (Int, SIMD16<Int16>, SIMD16<Int16>, Int32, Int32) -> Void) {
        let sc = p.assumingMemoryBound(to: UInt8.self)
        @inline(__always) func emit(_ n: Int, _ j4: Int, _ v: SIMD16<UInt16>) {
            let (e, o) = twoBits(v, UInt16(truncatingIfNeeded: j4))
            let g = 4 &* n &+ j4
            group(g, asInt16(e), asInt16(o), Int32(sc[2 &* g] & 0xF), Int32(sc[2 &* g &+ 1] & 0xF))
        }
        @inline(__always) func half(_ n: Int) {
            let v = p.loadUnaligned(fromByteOffset: 16 &+ 32 &* n, as: SIMD16<UInt16>.self)
            emit(n, 0, v); emit(n, 1, v); emit(n, 2, v); emit(n, 3, v)
        }
        half(0)
        half(1)
    }
    @inline(__always) static func scales(_ p: UnsafeRawPointer) -> (Float, Float) { (loadHalf(p, 80), loadHalf(p, 82)) }
    @inline(__always) static func minTerms(_ p: UnsafeRawPointer, _ gsums: UnsafePointer<Int32>, _ bsums: UnsafePointer<Int32>) -> SIMD8<Int32> {
        // Mins are the high nibbles of the 16 scale bytes.
        let w = p.loadUnaligned(as: SIMD4<UInt32>.self)
        let m0 = unsafeBitCast(spreadBytes(w[0], w[1], shift: 4) & 0xF, to: SIMD8<Int32>.self)
        let m1 = unsafeBitCast(spreadBytes(w[2], w[3], shift: 4) & 0xF, to: SIMD8<Int32>.self)
        let b = UnsafeRawPointer(bsums)
        return m0 &* b.loadUnaligned(as: SIMD8<Int32>.self) &+ m1 &* b.loadUnaligned(fromByteOffset: 32, as: SIMD8<Int32>.self)
    }
}

enum Kernels {
    /// Dot products of one row of 32-blocks with `W.n` activation rows (quantized, stride `xStride`
    /// elements; scales and scaled sums with stride `dStride` blocks). Written out per width:
    /// loops over the sequences would keep the accumulators in memory.
    @inline(__always)
    static func block32<B: Block32, W: SeqWidth>(_: B.Type, _: W.Type, _ row: UnsafeRawPointer, _ nb: Int,
                                                   _ x: UnsafePointer<Int16>, _ xStride: Int,
                                                   _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Float>, _ dStride: Int) -> SIMD4<Float> {
        let rx = UnsafeRawPointer(x)
        @inline(__always) func step(_ e: SIMD16<Int16>, _ o: SIMD16<Int16>, _ d: Float, _ m: Float, _ b: Int, _ s: Int,
                                    _ a: inout SIMD8<Float>, _ mm: inout Float) {
            let xo = 2 &* (s &* xStride &+ 32 &* b)
            let p = e &* rx.loadUnaligned(fromByteOffset: xo, as: SIMD16<Int16>.self)
                &+ o &* rx.loadUnaligned(fromByteOffset: xo + 32, as: SIMD16<Int16>.self)
            a.addProduct(SIMD8<Float>(pairSum(p)), SIMD8<Float>(repeating: d * xd[s * dStride + b]))
            if B.hasMin { mm += m * xs[s * dStride + b] }
        }
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var m0: Float = 0, m1: Float = 0, m2: Float = 0, m3: Float = 0
        if W.n == 1 {
            // One sequence: two blocks per step into separate accumulators, so consecutive FMAs
            // do not wait on each other.
            var b = 0
            while b + 2 <= nb {
                let (e0, o0, d0, mn0) = B.decode(row + b * B.bytes)
                step(e0, o0, d0, mn0, b, 0, &a0, &m0)
                let (e1, o1, d1, mn1) = B.decode(row + (b + 1) * B.bytes)
                step(e1, o1, d1, mn1, b + 1, 0, &a1, &m1)
                b += 2
            }
            if b < nb {
                let (e0, o0, d0, mn0) = B.decode(row + b * B.bytes)
                step(e0, o0, d0, mn0, b, 0, &a0, &m0)
            }
            return SIMD4<Float>(VectorOps.hsum(a0 + a1) + (m0 + m1), 0, 0, 0)
        }
        for b in 0..<nb {
            let (e, o, d, m) = B.decode(row + b * B.bytes)
            step(e, o, d, m, b, 0, &a0, &m0)
            step(e, o, d, m, b, 1, &a1, &m1)
            step(e, o, d, m, b, 2, &a2, &m2)
            step(e, o, d, m, b, 3, &a3, &m3)
        }
        return SIMD4<Float>(VectorOps.hsum(a0) + m0, VectorOps.hsum(a1) + m1, VectorOps.hsum(a2) + m2, VectorOps.hsum(a3) + m3)
    }

    /// Dot products of one row of K-quant super-blocks with `W.n` (1 or 4) activation rows.
    @inline(__always)
    static func kquant<B: KBlock, W: SeqWidth>(_: B.Type, _: W.Type, _ row: UnsafeRawPointer, _ nb: Int,
                                                 _ x: UnsafePointer<Int16>, _ xStride: Int,
                                                 _ xd: UnsafePointer<Float>, _ dStride: Int,
                                                 _ gsums: UnsafePointer<Int32>, _ gStride: Int,
                                                 _ bsums: UnsafePointer<Int32>) -> SIMD4<Float> {
        let rx = UnsafeRawPointer(x)
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var mv0 = SIMD8<Float>(), mv1 = SIMD8<Float>(), mv2 = SIMD8<Float>(), mv3 = SIMD8<Float>()
        if W.n == 1 {
            // One sequence: integer accumulation over the super-block, one conversion at its end.
            for b in 0..<nb {
                let blk = row + b * B.bytes
                var isum = SIMD8<Int32>()
                B.groups(blk) { j, e, o, sLo, sHi in
                    let scale = SIMD8<Int32>(lowHalf: SIMD4<Int32>(repeating: sLo), highHalf: SIMD4<Int32>(repeating: sHi))
                    let xo = 2 &* (256 &* b &+ 32 &* j)
                    let p = e &* rx.loadUnaligned(fromByteOffset: xo, as: SIMD16<Int16>.self)
                        &+ o &* rx.loadUnaligned(fromByteOffset: xo + 32, as: SIMD16<Int16>.self)
                    isum &+= pairSum(p) &* scale
                }
                let (d, dmin) = B.scales(blk)
                let dx = xd[b]
                a0.addProduct(SIMD8<Float>(isum), SIMD8<Float>(repeating: d * dx))
                if B.hasMins { mv0.addProduct(SIMD8<Float>(B.minTerms(blk, gsums + 8 * b, bsums + 16 * b)), SIMD8<Float>(repeating: dmin * dx)) }
            }
            return SIMD4<Float>(VectorOps.hsum(a0 - mv0), 0, 0, 0)
        }
        for b in 0..<nb {
            let blk = row + b * B.bytes
            var f0 = SIMD8<Int32>(), f1 = SIMD8<Int32>(), f2 = SIMD8<Int32>(), f3 = SIMD8<Int32>()
            B.groups(blk) { j, e, o, sLo, sHi in
                let scale = SIMD8<Int32>(lowHalf: SIMD4<Int32>(repeating: sLo), highHalf: SIMD4<Int32>(repeating: sHi))
                @inline(__always) func step(_ s: Int, _ acc: inout SIMD8<Int32>) {
                    let xo = 2 &* (s &* xStride &+ 256 &* b &+ 32 &* j)
                    let p = e &* rx.loadUnaligned(fromByteOffset: xo, as: SIMD16<Int16>.self)
                        &+ o &* rx.loadUnaligned(fromByteOffset: xo + 32, as: SIMD16<Int16>.self)
                    acc &+= pairSum(p) &* scale
                }
                step(0, &f0)
                if W.n == 4 { step(1, &f1); step(2, &f2); step(3, &f3) }
            }
            let (d, dmin) = B.scales(blk)
            @inline(__always) func finish(_ s: Int, _ f: SIMD8<Float>, _ a: inout SIMD8<Float>, _ mv: inout SIMD8<Float>) {
                let dx = xd[s * dStride + b]
                a.addProduct(f, SIMD8<Float>(repeating: d * dx))
                if B.hasMins {
                    let t = B.minTerms(blk, gsums + s * gStride + 8 * b, bsums + 2 * (s * gStride + 8 * b))
                    mv.addProduct(SIMD8<Float>(t), SIMD8<Float>(repeating: dmin * dx))
                }
            }
            finish(0, SIMD8<Float>(f0), &a0, &mv0)
            if W.n == 4 { finish(1, SIMD8<Float>(f1), &a1, &mv1); finish(2, SIMD8<Float>(f2), &a2, &mv2); finish(3, SIMD8<Float>(f3), &a3, &mv3) }
        }
        return SIMD4<Float>(VectorOps.hsum(a0 - mv0), VectorOps.hsum(a1 - mv1), VectorOps.hsum(a2 - mv2), VectorOps.hsum(a3 - mv3))
    }

    /// One row of 32-blocks decoded to floats, each group in `ActivationQuant.slot` order.
    @inline(__always)
    static func decodeFloats<B: Block32>(_: B.Type, _ row: UnsafeRawPointer, _ nb: Int, _ out: UnsafeMutablePointer<Float>,
                                         withMin: Bool = true) {
        let o = UnsafeMutableRawPointer(out)
        for b in 0..<nb {
            let (e, od, d, blockMin) = B.decode(row + b * B.bytes)
            let m = withMin ? blockMin : 0
            let ue = unsafeBitCast(e, to: SIMD8<Int32>.self), uo = unsafeBitCast(od, to: SIMD8<Int32>.self)
            let dv = SIMD8<Float>(repeating: d), mv = SIMD8<Float>(repeating: m)
            let base = 128 * b
            // e lanes 2l / 2l+1 hold elements 4l / 4l+2; o lanes hold 4l+1 / 4l+3.
            o.storeBytes(of: SIMD8<Float>((ue &<< 16) &>> 16) * dv + mv, toByteOffset: base, as: SIMD8<Float>.self)
            o.storeBytes(of: SIMD8<Float>(ue &>> 16) * dv + mv, toByteOffset: base + 32, as: SIMD8<Float>.self)
            o.storeBytes(of: SIMD8<Float>((uo &<< 16) &>> 16) * dv + mv, toByteOffset: base + 64, as: SIMD8<Float>.self)
            o.storeBytes(of: SIMD8<Float>(uo &>> 16) * dv + mv, toByteOffset: base + 96, as: SIMD8<Float>.self)
        }
    }

    /// One row of K-quant super-blocks decoded to floats, each group of 32 in the order of
    /// `decodeFloats`. Q4_K/Q5_K mins come from their packed scale bytes (Q2_K is not handled).
    @inline(__always)
    static func decodeFloatsK<B: KBlock>(_: B.Type, _ row: UnsafeRawPointer, _ nb: Int, _ out: UnsafeMutablePointer<Float>) {
        let o = UnsafeMutableRawPointer(out)
        for b in 0..<nb {
            let blk = row + b * B.bytes
            let (d, dmin) = B.scales(blk)
            let mins = B.hasMins ? kScalesMins(blk + 4).mins : 0
            B.groups(blk) { j, e, od, sLo, sHi in
                let ue = unsafeBitCast(e, to: SIMD8<Int32>.self), uo = unsafeBitCast(od, to: SIMD8<Int32>.self)
                let dv = SIMD8<Float>(lowHalf: SIMD4(repeating: d * Float(sLo)), highHalf: SIMD4(repeating: d * Float(sHi)))
                let m: Float = B.hasMins ? -dmin * Float(UInt8(truncatingIfNeeded: mins >> UInt64(8 &* j))) : 0
                let mv = SIMD8<Float>(repeating: m)
                let base = 1024 &* b &+ 128 &* j
                o.storeBytes(of: SIMD8<Float>((ue &<< 16) &>> 16) * dv + mv, toByteOffset: base, as: SIMD8<Float>.self)
                o.storeBytes(of: SIMD8<Float>(ue &>> 16) * dv + mv, toByteOffset: base + 32, as: SIMD8<Float>.self)
                o.storeBytes(of: SIMD8<Float>((uo &<< 16) &>> 16) * dv + mv, toByteOffset: base + 64, as: SIMD8<Float>.self)
                o.storeBytes(of: SIMD8<Float>(uo &>> 16) * dv + mv, toByteOffset: base + 96, as: SIMD8<Float>.self)
            }
        }
    }

    /// `y[s·ldy + i] = Σ_k w[i·ldw + k] · x[s·ldx + k]` for four rows i and four sequences s:
    /// sixteen accumulators, eight loads per sixteen FMAs.
    @inline(__always)
    static func tile4x4(_ w: UnsafePointer<Float>, _ ldw: Int, _ x: UnsafePointer<Float>, _ ldx: Int, _ n: Int,
                        _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        // One pointer per row and sequence and one wrapping byte offset: checked index arithmetic
        // here costs an add and a branch per load (a third of the loop's instructions).
        let a0p = UnsafeRawPointer(w), a1p = a0p + 4 * ldw, a2p = a0p + 8 * ldw, a3p = a0p + 12 * ldw
        let b0p = UnsafeRawPointer(x), b1p = b0p + 4 * ldx, b2p = b0p + 8 * ldx, b3p = b0p + 12 * ldx
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c02 = SIMD8<Float>(), c03 = SIMD8<Float>()
        var c10 = SIMD8<Float>(), c11 = SIMD8<Float>(), c12 = SIMD8<Float>(), c13 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c22 = SIMD8<Float>(), c23 = SIMD8<Float>()
        var c30 = SIMD8<Float>(), c31 = SIMD8<Float>(), c32 = SIMD8<Float>(), c33 = SIMD8<Float>()
        var k = 0
        let end = 4 &* n
        while k < end {
            let a0 = a0p.loadUnaligned(fromByteOffset: k, as: SIMD8<Float>.self)
            let a1 = a1p.loadUnaligned(fromByteOffset: k, as: SIMD8<Float>.self)
            let a2 = a2p.loadUnaligned(fromByteOffset: k, as: SIMD8<Float>.self)
            let a3 = a3p.loadUnaligned(fromByteOffset: k, as: SIMD8<Float>.self)
            let b0 = b0p.loadUnaligned(fromByteOffset: k, as: SIMD8<Float>.self)
            c00.addProduct(a0, b0); c10.addProduct(a1, b0); c20.addProduct(a2, b0); c30.addProduct(a3, b0)
            let b1 = b1p.loadUnaligned(fromByteOffset: k, as: SIMD8<Float>.self)
            c01.addProduct(a0, b1); c11.addProduct(a1, b1); c21.addProduct(a2, b1); c31.addProduct(a3, b1)
            let b2 = b2p.loadUnaligned(fromByteOffset: k, as: SIMD8<Float>.self)
            c02.addProduct(a0, b2); c12.addProduct(a1, b2); c22.addProduct(a2, b2); c32.addProduct(a3, b2)
            let b3 = b3p.loadUnaligned(fromByteOffset: k, as: SIMD8<Float>.self)
            c03.addProduct(a0, b3); c13.addProduct(a1, b3); c23.addProduct(a2, b3); c33.addProduct(a3, b3)
            k &+= 32
        }
        y[0] = VectorOps.hsum(c00); y[1] = VectorOps.hsum(c10); y[2] = VectorOps.hsum(c20); y[3] = VectorOps.hsum(c30)
        y[ldy] = VectorOps.hsum(c01); y[ldy + 1] = VectorOps.hsum(c11); y[ldy + 2] = VectorOps.hsum(c21); y[ldy + 3] = VectorOps.hsum(c31)
        let y2 = y + 2 * ldy, y3 = y + 3 * ldy
        y2[0] = VectorOps.hsum(c02); y2[1] = VectorOps.hsum(c12); y2[2] = VectorOps.hsum(c22); y2[3] = VectorOps.hsum(c32)
        y3[0] = VectorOps.hsum(c03); y3[1] = VectorOps.hsum(c13); y3[2] = VectorOps.hsum(c23); y3[3] = VectorOps.hsum(c33)
    }

    /// Σ a[i]·b[i] with `a` bfloat16 bit patterns.
    @inline(__always)
    static func dotBF16(_ a: UnsafePointer<UInt16>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var s0 = SIMD8<Float>()
        var i = 0
        while i + 8 <= n {
            let h = ra.loadUnaligned(fromByteOffset: 2 * i, as: SIMD4<UInt32>.self)
            // Two bf16 per 32-bit lane: low halves shifted up, high halves masked in place.
            let lo = unsafeBitCast(h &<< 16, to: SIMD4<Float>.self), hi = unsafeBitCast(h & 0xFFFF_0000, to: SIMD4<Float>.self)
            let bv = rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            // b in matching order: even elements with lo, odd with hi.
            let be = SIMD4<Float>(bv[0], bv[2], bv[4], bv[6]), bo = SIMD4<Float>(bv[1], bv[3], bv[5], bv[7])
            s0.addProduct(SIMD8<Float>(lowHalf: lo, highHalf: hi), SIMD8<Float>(lowHalf: be, highHalf: bo))
            i += 8
        }
        var s = VectorOps.hsum(s0)
        while i < n { s += Float(bitPattern: UInt32(a[i]) << 16) * b[i]; i += 1 }
        return s
    }
}
