/// Everything this module knows about one ggml weight format (ggml-cpu's `type_traits` entry):
/// its block layout, its conversions to and from floats, and the matrix kernels that read it.
///
/// Each format defines its entry in its own file (`Formats/<Type>.swift`, next to its block
/// decoder, dequantiser and quantiser); `GGMLType.traits` is the one table from types to entries.
/// `Dequantize.row`, `Quantize.row`, `MatMulEngine` and the `GGMLType` properties read the table.
///
/// The functions are built in the format's file (or by the family initialisers below) with the
/// concrete block type, so every generic kernel is specialised where the entry is built: a call
/// through an entry costs one indirect call per row (or row range), as a `switch` did.
struct FormatTraits: @unchecked Sendable {
    /// Writes the floats of `count` elements (a multiple of `blockSize`) read from `src` to `dst`.
    typealias DequantizeRow = (_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) -> Void
    /// Writes `count` floats from `src` as blocks to `dst`.
    typealias QuantizeRow = (_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ count: Int) -> Void
    /// `QuantizeRow` with an importance weight per element.
    typealias WeightedQuantizeRow = (_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ count: Int,
                                     _ importance: UnsafePointer<Float>) -> Void
    /// Rows `r0..<r1` of `w` times every sequence of the engine's current product (`x`: the float
    /// activations, `[nSeq][w.cols]`; the quantized ones are in the engine's scratch), into `y`.
    typealias RowsKernel = (_ engine: MatMulEngine, _ w: WeightMatrix, _ x: UnsafePointer<Float>, _ nSeq: Int,
                            _ y: UnsafeMutablePointer<Float>, _ r0: Int, _ r1: Int) -> Void

    /// What a format's weights are multiplied against.
    enum Activations {
        /// The float activations (float weights, and formats only decoded to floats).
        case float
        /// Activations quantized to 8 bits in blocks of 32 (ggml's Q8_0 / Q8_1).
        case blocks32
        /// Activations quantized to 8 bits in super-blocks of 256 (ggml's Q8_K).
        case superBlocks
    }

    /// The name llama.cpp prints (`q4_K`, `f16`, ...).
    let name: String
    /// Elements per block (1 for the plain float types).
    let blockSize: Int
    /// Bytes per block, as ggml lays them out.
    let bytesPerBlock: Int
    /// Blocks to floats; results equal ggml's `dequantize_row_*`.
    let dequantize: DequantizeRow
    /// Floats to blocks, bit-exact with llama-quantize without an imatrix; nil for a format that
    /// is never produced (an activation-only format).
    let quantize: QuantizeRow?
    /// Floats to blocks weighted by an imatrix row; nil where the format ignores importance.
    let quantizeWeighted: WeightedQuantizeRow?
    /// The activation format of `MatMulEngine`'s products with these weights.
    let activations: Activations
    /// The portable row kernel (plain Swift): float dot products, or 8-bit dot products on the
    /// quantized activations.
    let rows: RowsKernel
    /// The float-tile row kernel for many sequences (rows decoded to floats once, 4×4 register
    /// tiles); nil where the format has none.
    let floatTiles: RowsKernel?
    /// The 8-bit integer kernels of the AVX2 and the AVX-512 level (KernelsAVX2, KernelsAVX512);
    /// nil where the portable `rows` serve that level.
    let avx2: DecodeKernels.Kernel?, avx512: DecodeKernels.Kernel?
    /// The kernels of the AVX2 and AVX-512 level on matrices repacked at load into the `rows8`
    /// layout (`Repack`); nil where the format is not repacked on that level.
    let avx2Rows8: DecodeKernels.Kernel?, avx512Rows8: DecodeKernels.Kernel?
    /// The `avx512gfni` level's kernel on the `rows8` layout; nil where that level runs `avx512Rows8`.
    let gfniRows8: DecodeKernels.Kernel?
    /// The `amx` level's kernel on the `rows8` layout (tiles from `KernelLevel.amxTilesFrom` sequences,
    /// the `avx512gfni` level's below); nil where that level runs the `avx512gfni` level's.
    let amxRows8: DecodeKernels.Kernel?
    /// The pieces of a block that the `rows8` layout gathers piece by piece (the eight rows' copies
    /// of a piece side by side), in the order the layout stores them: (offset in the block, 2, 4 or
    /// 8 bytes), covering the block. Empty where the format has no `rows8` layout (`Repack`).
    let rows8Pieces: [Rows8Piece]
    /// A recoding of the bits of a block's pieces in the `rows8` layout after they are gathered (Q3_K, Q5_K, Q6_K); nil for the
    /// layout as gathered.
    let rows8Bits: Rows8Bits?

    init(name: String, blockSize: Int, bytesPerBlock: Int, dequantize: @escaping DequantizeRow,
         quantize: QuantizeRow?, quantizeWeighted: WeightedQuantizeRow?, activations: Activations,
         rows: @escaping RowsKernel, floatTiles: RowsKernel? = nil, kernels: LevelKernels = LevelKernels(),
         rows8Pieces: [Rows8Piece] = [], rows8Bits: Rows8Bits? = nil) {
        self.name = name
        self.blockSize = blockSize
        self.bytesPerBlock = bytesPerBlock
        self.dequantize = dequantize
        self.quantize = quantize
        self.quantizeWeighted = quantizeWeighted
        self.activations = activations
        self.rows = rows
        self.floatTiles = floatTiles
        self.avx2 = kernels.avx2
        self.avx512 = kernels.avx512
        self.avx2Rows8 = kernels.avx2Rows8
        self.avx512Rows8 = kernels.avx512Rows8
        self.gfniRows8 = kernels.gfniRows8
        self.amxRows8 = kernels.amxRows8
        self.rows8Pieces = rows8Pieces
        self.rows8Bits = rows8Bits
    }

    /// The per-level 8-bit kernels of a format (what a format's file passes in; empty off x86-64).
    struct LevelKernels {
        var avx2: DecodeKernels.Kernel? = nil
        var avx512: DecodeKernels.Kernel? = nil
        /// Kernels on the `rows8` layout (a format with them is repacked at load on that level).
        var avx2Rows8: DecodeKernels.Kernel? = nil
        var avx512Rows8: DecodeKernels.Kernel? = nil
        /// The `avx512gfni` level's, where it has its own (elsewhere that level runs `avx512Rows8`).
        var gfniRows8: DecodeKernels.Kernel? = nil
        var amxRows8: DecodeKernels.Kernel? = nil
    }

    /// The integer kernel of `level`; nil where the portable `rows` serve it.
    @inline(__always)
    func kernel(_ level: KernelLevel) -> DecodeKernels.Kernel? {
        switch level {
        case .portable: return nil
        case .avx2: return avx2
        case .avx512, .avx512gfni, .amx: return avx512
        }
    }

    /// The `rows8`-layout kernel of `level` (every sequence count: `bench-kernels --sequences`
    /// measured the `-r8` rows at or above the level's GGUF-layout kernels and tiles from 1 to 128
    /// sequences); nil where matrices of this format keep the GGUF layout.
    @inline(__always)
    func rows8Kernel(_ level: KernelLevel) -> DecodeKernels.Kernel? {
        switch level {
        case .portable: return nil
        case .avx2: return avx2Rows8
        case .avx512: return avx512Rows8
        case .avx512gfni: return gfniRows8 ?? avx512Rows8
        case .amx: return amxRows8 ?? gfniRows8 ?? avx512Rows8
        }
    }

    /// A format of 32-element blocks multiplied in 8 bits against Q8_0-style activations, decoded
    /// by `B` (portable kernels, float tiles and the dequantiser all from `B`).
    init<B: Block32>(block32 _: B.Type, name: String, quantize: @escaping QuantizeRow, quantizeWeighted: WeightedQuantizeRow?,
                     kernels: LevelKernels) {
        self.init(name: name, blockSize: B.elements, bytesPerBlock: B.bytes,
                  dequantize: { src, dst, count in dequantizeBlocks(B.self, src, dst, count) },
                  quantize: quantize, quantizeWeighted: quantizeWeighted, activations: .blocks32,
                  rows: { e, w, _, nSeq, y, r0, r1 in e.block32Rows(B.self, w, nSeq, y, r0, r1) },
                  floatTiles: { e, w, _, nSeq, y, r0, r1 in e.gemmRows(B.self, w, nSeq, y, r0, r1) },
                  // A 32-block format has a 4-byte piece only for a Q5 format's fifth bits: recoded into units.
                  kernels: kernels, rows8Pieces: Repack.headerFirst(blockBytes: B.bytes, header: B.hasMin ? 4 : 2, fifthBits: true))
    }

    /// A K-quant format of 256-element super-blocks multiplied in 8 bits against Q8_K
    /// activations, decoded by `B`; `floatTiles`: whether `Kernels.decodeFloatsK` handles it.
    init<B: KBlock>(kquant _: B.Type, name: String, quantize: @escaping QuantizeRow, quantizeWeighted: @escaping WeightedQuantizeRow,
                    floatTiles: Bool = true, kernels: LevelKernels, rows8Pieces: [Rows8Piece] = [], rows8Bits: Rows8Bits? = nil) {
        self.init(name: name, blockSize: B.elements, bytesPerBlock: B.bytes,
                  dequantize: { src, dst, count in dequantizeBlocks(B.self, src, dst, count) },
                  quantize: quantize, quantizeWeighted: quantizeWeighted, activations: .superBlocks,
                  rows: { e, w, _, nSeq, y, r0, r1 in e.kquantRows(B.self, w, nSeq, y, r0, r1) },
                  floatTiles: floatTiles ? { e, w, _, nSeq, y, r0, r1 in e.gemmRowsK(B.self, w, nSeq, y, r0, r1) } : nil,
                  kernels: kernels, rows8Pieces: rows8Pieces, rows8Bits: rows8Bits)
    }
}

extension GGMLType {
    /// The format's entry: the one table from types to formats (ggml-cpu's `type_traits`).
    /// An addressor into `FormatTraitsTable`: reading one field (`blockSize`, a kernel, ...) reads
    /// that field in place. (A `_read` accessor over the switch below was not inlined: each read
    /// copied the whole entry, retaining every function in it, several times per row tile of a
    /// matrix product, on both compute threads at once.)
    var traits: FormatTraits {
        @inline(__always) unsafeAddress { UnsafePointer(FormatTraitsTable.entries + Int(rawValue)) }
    }

    /// The entry of each case, as each format's file defines it (read once, into `FormatTraitsTable`).
    fileprivate var definedTraits: FormatTraits {
        switch self {
        case .f32: return F32Block.traits
        case .f16: return F16Block.traits
        case .bf16: return BF16Block.traits
        case .q4_0: return Q4_0Block.traits
        case .q4_1: return Q4_1Block.traits
        case .q5_0: return Q5_0Block.traits
        case .q5_1: return Q5_1Block.traits
        case .q8_0: return Q8_0Block.traits
        case .q8_1: return Q8_1Block.traits
        case .q2_K: return Q2_KBlock.traits
        case .q3_K: return Q3_KBlock.traits
        case .q4_K: return Q4_KBlock.traits
        case .q5_K: return Q5_KBlock.traits
        case .q6_K: return Q6_KBlock.traits
        case .q8_K: return Q8_KBlock.traits
        }
    }
}

/// Every format's entry at the slot of its ggml type number (the slots of numbers that are no
/// `GGMLType` are never initialised nor read). Built once; never freed.
enum FormatTraitsTable {
    static let entries: UnsafeMutablePointer<FormatTraits> = {
        let slots = Int(GGMLType.allCases.map(\.rawValue).max()!) + 1
        let p = UnsafeMutablePointer<FormatTraits>.allocate(capacity: slots)
        for t in GGMLType.allCases { (p + Int(t.rawValue)).initialize(to: t.definedTraits) }
        return p
    }()
}

/// A block format: `elements` values in `bytes` bytes.
protocol BlockLayout {
    static var elements: Int { get }
    static var bytes: Int { get }
    /// Writes the `elements` floats of the block at `b` to `y`.
    static func dequantize(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>)
}

/// Calls `body(first element, first byte)` for each block of a row of `count` elements.
@inline(__always)
func forEachBlock<B: BlockLayout>(_: B.Type, _ count: Int, _ body: (Int, Int) -> Void) {
    for i in 0..<(count / B.elements) { body(i &* B.elements, i &* B.bytes) }
}

/// A row of `count` elements of `B` blocks to floats, block by block.
@inline(__always)
func dequantizeBlocks<B: BlockLayout>(_: B.Type, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    forEachBlock(B.self, count) { e, b in B.dequantize(src + b, dst + e) }
}
