import KernelsAVX2

/// A weight matrix: `rows` rows of `cols` elements of `type`, row-major in ggml layout, or
/// repacked at load in groups of eight rows (`Repack`).
public struct WeightMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    public let data: UnsafeRawPointer
    /// How the rows are laid out in `data`.
    public let layout: WeightLayout

    public init(type: GGMLType, rows: Int, cols: Int, data: UnsafeRawPointer, layout: WeightLayout = .ggml) {
        self.type = type
        self.rows = rows
        self.cols = cols
        self.data = data
        self.layout = layout
    }

    /// Bytes of one row.
    public var rowBytes: Int { type.byteCount(elements: cols) }

    /// Bytes of the whole matrix.
    public var byteCount: Int { rowBytes * rows }

    /// Row `r` as `cols` floats at `out`, in either layout (a `rows8` row is gathered from its group first).
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        let rowBytes = self.rowBytes
        guard layout == .rows8 else {
            Dequantize.row(type, data + r * rowBytes, into: out, count: cols)
            return
        }
        withUnsafeTemporaryAllocation(byteCount: rowBytes, alignment: 16) { buf in
            Repack.unpackRow(type, data + r / 8 * 8 * rowBytes, rowBytes, row: r % 8, into: buf.baseAddress!)
            Dequantize.row(type, UnsafeRawPointer(buf.baseAddress!), into: out, count: cols)
        }
    }
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
    private let xb16: UnsafeMutablePointer<Int16>
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
        return type.traits.kernel(level) == nil ? 4 : Int.max
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

    /// Which path `multiply` takes for a weight type: float activations, 8-bit activations in
    /// blocks of 32 or in super-blocks of 256 (the type's `FormatTraits.activations`), or float
    /// tiles (`gemm32`, from `floatTilesMinSeq` sequences on).
    enum Path { case float, block32, kquant, gemm32 }

    static func path(for type: GGMLType) -> Path {
        switch type.traits.activations {
        case .float: return .float
        case .blocks32: return .block32
        case .superBlocks: return .kquant
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
        let tile = tileRows(w, total: w.rows)
        cur.w = w; cur.x = x; cur.y = y; cur.nSeq = nSeq; cur.path = path; cur.tile = tile
        cur.parts = 1; cur.first1 = Int.max; cur.first2 = Int.max
        pool.parallelFor((w.rows + tile - 1) / tile, job: tileJob)
    }

    /// Rows per tile for a matrix of `rows` rows in a product of `total` rows: about eight
    /// tiles per thread over the whole product, at least 16 rows each, multiples of 8 (whole
    /// groups of a `rows8` matrix).
    private func tileRows(_ w: WeightMatrix, total: Int) -> Int {
        if rowsPerTask > 0 { return w.layout == .rows8 ? (rowsPerTask + 7) / 8 * 8 : rowsPerTask }
        let per = (total + 8 * pool.threadCount - 1) / (8 * pool.threadCount)
        return min(w.rows, max(16, (per + 7) / 8 * 8))
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
        let t0 = tileRows(w0, total: total), t1 = tileRows(w1, total: total)
        let n0 = (w0.rows + t0 - 1) / t0, n1 = (w1.rows + t1 - 1) / t1
        cur.w = w0; cur.y = y0; cur.tile = t0
        cur.w1 = w1; cur.y1 = y1; cur.tile1 = t1; cur.first1 = n0
        var tiles = n0 + n1
        cur.parts = 2; cur.first2 = Int.max
        if let w2, let y2 {
            let t2 = tileRows(w2, total: total)
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
        if w.layout == .rows8 {
            rows8Tile(w, x, nSeq, y, r0, r1)
        } else {
            ggmlTile(w, x, nSeq, y, r0, r1)
        }
    }

    /// Rows `r0..<r1` of a matrix in the GGUF layout.
    @inline(__always)
    private func ggmlTile(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ r0: Int, _ r1: Int) {
        // One indirect call per tile through the type's entry (its kernels are specialised there).
        switch cur.path {
        case .float: w.type.traits.rows(self, w, x, nSeq, y, r0, r1)
        case .block32, .kquant:
            if let kernel = w.type.traits.kernel(level) {
                int8Rows(kernel, w, nSeq, y, r0, r1)
            } else {
                w.type.traits.rows(self, w, x, nSeq, y, r0, r1)
            }
        case .gemm32: w.type.traits.floatTiles!(self, w, x, nSeq, y, r0, r1)
        }
    }

    /// Rows `r0..<r1` (whole groups of eight) of a matrix in the `rows8` layout: the level's
    /// `rows8` kernel, or, on a path or level without one (the portable level, the float tiles),
    /// whole groups unpacked to the GGUF layout into scratch and multiplied by the GGUF-layout kernels.
    private func rows8Tile(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ r0: Int, _ r1: Int) {
        if cur.path == .block32 || cur.path == .kquant, let kernel = w.type.traits.rows8Kernel(level) {
            int8Rows(kernel, w, nSeq, y, r0, r1)
            return
        }
        // Whole groups in chunks of up to 512 KiB (a tile is usually one chunk), so the kernels' per-call
        // set-up (the tiles' activation tables) is spread over many rows.
        let rowBytes = w.rowBytes, chunk = max(8, (512 << 10) / (8 * rowBytes) * 8)
        withUnsafeTemporaryAllocation(byteCount: min(chunk, r1 - r0) * rowBytes, alignment: 64) { buf in
            let rows = buf.baseAddress!
            var r = r0
            while r < r1 {
                let n = min(chunk, r1 - r)
                Repack.unpack(w.type, w.data + r * rowBytes, rowBytes, groups: n / 8, into: rows)
                // Row r of this view is the scratch's first row (the view is only read at rows r..<r+n).
                let view = WeightMatrix(type: w.type, rows: w.rows, cols: w.cols,
                                        data: UnsafeRawPointer(bitPattern: Int(bitPattern: rows) &- r * rowBytes)!)
                ggmlTile(view, x, nSeq, y, r, r + n)
                r += n
            }
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
    static func hasFloatTiles(_ t: GGMLType) -> Bool { t.traits.floatTiles != nil }

    /// Float tiles of a 32-block format (a `FormatTraits.floatTiles` entry). Q4_1/Q5_1 rows are
    /// decoded without their mins, which `gemmRows` adds from the activation sums.
    @inline(__always)
    func gemmRows<B: Block32>(_: B.Type, _ w: WeightMatrix, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ r0: Int, _ r1: Int) {
        let nb = w.cols / 32
        gemmRows(w, nSeq, y, r0, r1, minBlockBytes: B.hasMin ? B.bytes : 0) { Kernels.decodeFloats(B.self, $0, nb, $1, withMin: !B.hasMin) }
    }

    /// Float tiles of a K-quant format (a `FormatTraits.floatTiles` entry).
    @inline(__always)
    func gemmRowsK<B: KBlock>(_: B.Type, _ w: WeightMatrix, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ r0: Int, _ r1: Int) {
        let nb = w.cols / 256
        gemmRows(w, nSeq, y, r0, r1) { Kernels.decodeFloatsK(B.self, $0, nb, $1) }
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

    /// The portable 8-bit rows of a 32-block format (a `FormatTraits.rows` entry).
    @inline(__always)
    func block32Rows<B: Block32>(_: B.Type, _ w: WeightMatrix, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ r0: Int, _ r1: Int) {
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

    /// The portable 8-bit rows of a K-quant format (a `FormatTraits.rows` entry).
    @inline(__always)
    func kquantRows<B: KBlock>(_: B.Type, _ w: WeightMatrix, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ r0: Int, _ r1: Int) {
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

    /// The rows of a float format (a `FormatTraits.rows` entry): `dot(row, x, n)` per row and sequence.
    @inline(__always)
    static func floatRows(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>, _ r0: Int, _ r1: Int,
                          _ dot: (UnsafeRawPointer, UnsafePointer<Float>, Int) -> Float) {
        let n = w.cols, rowBytes = w.rowBytes
        for r in r0..<r1 {
            let row = w.data + r * rowBytes
            for s in 0..<nSeq { y[s * w.rows + r] = dot(row, x + s * n, n) }
        }
    }

    /// The rows of a format only decoded to floats (a `FormatTraits.rows` entry).
    func dequantRows(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ nSeq: Int, _ y: UnsafeMutablePointer<Float>,
                             _ r0: Int, _ r1: Int) {
        // Slow path for Q8_1 / Q8_K: dequantize each row once, reuse it for every sequence.
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
    /// Unretained, and called without a retain: an `unowned(unsafe)` reference is still retained and
    /// released around each call made through it, on the engine's reference count, which every thread
    /// then bumped for every tile (`swift_release` 3.5% of a SmolLM2 decode profile, most of it waiting
    /// for that cache line). The engine owns its jobs.
    let engine: Unmanaged<MatMulEngine>
    let kind: Kind
    init(_ engine: MatMulEngine, _ kind: Kind) { self.engine = .passUnretained(engine); self.kind = kind; super.init() }
    override func execute(_ index: Int) {
        engine._withUnsafeGuaranteedRef { engine in
            switch kind {
            case .tile: engine.runTile(index)
            case .quantize: engine.quantizeSeq(index)
            case .permute: engine.permuteSeq(index)
            }
        }
    }
}
