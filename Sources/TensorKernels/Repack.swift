#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a `WeightMatrix` lays out its rows.
public enum WeightLayout: Sendable, Equatable {
    /// Row after row, each row its blocks in ggml's layout (as the GGUF file has them).
    case ggml
    /// Repacked at load in groups of eight rows (`Repack`): the same bytes as the eight GGUF
    /// rows, reordered so a vector load holds the same elements of eight rows.
    case rows8
}

/// Repacking weight matrices at load into the `rows8` layout, which the one-sequence and batched
/// decode kernels of a format read at the memory's streaming rate where the GGUF layout leaves them
/// bound by instructions per block (docs/kernels.md, "Repacking at load").
///
/// The layout: each format lists the pieces of its block (2-, 4- or 8-byte fields and words:
/// `FormatTraits.rows8Pieces`) in the order the layout stores them. Rows 8g..<8g+8 occupy the bytes
/// the eight GGUF rows occupied (group g at `8g · rowBytes`); within the group, block b of the eight
/// rows starts at `8b · blockBytes` and holds each piece of the eight rows side by side (row r's copy
/// of a k-byte piece at `k · r`), the pieces one after another. Most formats list their fp16 header
/// fields first (scale d, maybe min m), then maybe a 4-byte word (a Q5 format's fifth bits, Q4_K's
/// first scale word), then the rest in 8-byte words (`headerFirst`): a 512-bit load of a word then
/// holds elements 8j..<8j+8 of eight rows (Q4: with 16 + 8j... in the high nibbles), the order the
/// AVX-512 tiles multiply in, and two 256-bit loads the same for four rows each. Q2_K, Q3_K and
/// Q6_K, whose fp16 fields close the block, list those first, then their scales, then their bit
/// planes, which Q3_K and Q6_K then recode in place so that most operands are one mask (`FormatTraits.rows8Bits`:
/// `Q3_KBits`, `Q6_KBits`); Q5_K recodes its fifth-bit and nibble words the same way (`Q5_KBits`).
/// A Q5_0/Q5_1 block's fifth bits (a 4-byte piece marked `fifthBits`) and the two quant words after them are recoded
/// together into five-bit values (`toUnits`, as Q5_K's `Q5_KBits`): most operands are then a shift and a mask, and
/// the rest take their top two bits from one word. Same size as the GGUF matrix.
/// A matrix is repacked when its format has a `rows8` kernel on the kernel level (`FormatTraits.rows8Kernel`) and its row count is a multiple of eight; every other
/// product of a repacked matrix (another level, the float tiles) unpacks whole groups into
/// scratch and runs the GGUF-layout kernels on them (`MatMulEngine.rows8Tile`), so results do not depend on the layout
/// beyond float summation order.
public enum Repack {
    /// Set to `0` to keep every matrix in the GGUF layout, mapped from the file (for measuring both
    /// layouts, or to share a model's pages between worker processes through the page cache).
    public static let environmentKey = "TOKENMILL_REPACK"

    /// False when `TOKENMILL_REPACK=0`.
    public static let enabled: Bool = getenv(environmentKey).map { String(cString: $0) != "0" } ?? true

    /// Whether a matrix of `rows` rows of `type` is repacked for kernels of `level` (and
    /// `TOKENMILL_REPACK` allows it).
    public static func applies(to type: GGMLType, rows: Int, level: KernelLevel = .current) -> Bool {
        enabled && rows > 0 && rows % 8 == 0 && type.traits.rows8Kernel(level) != nil
    }

    /// `w` (GGUF layout) repacked into `dst` (`w.byteCount` bytes, not overlapping `w.data`).
    public static func rows8(_ w: WeightMatrix, into dst: UnsafeMutableRawPointer) -> WeightMatrix {
        precondition(w.layout == .ggml && w.rows % 8 == 0, "Repack: \(w.rows) rows of \(w.type) cannot be repacked")
        pack(w.type, w.data, w.rowBytes, groups: w.rows / 8, into: dst)
        return WeightMatrix(type: w.type, rows: w.rows, cols: w.cols, data: UnsafeRawPointer(dst), layout: .rows8)
    }

    /// `groups` groups of eight GGUF rows at `src` into the `rows8` layout at `dst`.
    static func pack(_ type: GGMLType, _ src: UnsafeRawPointer, _ rowBytes: Int, groups: Int = 1, into dst: UnsafeMutableRawPointer) {
        let recode = type.traits.rows8Bits
        shuffle(type, rowBytes, groups, move: { ggml, packed, n in copy(src + ggml, dst + packed, n) },
                fifthBits: { _, packed in toUnits(dst + packed) }, bits: { _, packed in recode?.pack(dst + packed) })
    }

    /// `groups` `rows8` groups at `src` back into GGUF rows at `dst` (`8 · groups · rowBytes` bytes).
    public static func unpack(_ type: GGMLType, _ src: UnsafeRawPointer, _ rowBytes: Int, groups: Int = 1, into dst: UnsafeMutableRawPointer) {
        shuffle(type, rowBytes, groups, move: { ggml, packed, n in copy(src + packed, dst + ggml, n) },
                fifthBits: { ggml, packed in
                    for r in 0..<8 { fromUnits(src + packed, row: r, into: dst + ggml + r &* rowBytes) }
                },
                bits: { ggml, packed in type.traits.rows8Bits?.unpack(src + packed, rows: 0..<8, dst + ggml, rowBytes) })
    }

    /// Row `row` (0..<8) of the `rows8` group at `src` back into one GGUF row at `dst` (`rowBytes` bytes): a
    /// row looked up on its own (a tied token embedding, repacked as the output matrix it also is).
    public static func unpackRow(_ type: GGMLType, _ src: UnsafeRawPointer, _ rowBytes: Int, row: Int, into dst: UnsafeMutableRawPointer) {
        let out = dst - row &* rowBytes  // where the group's row 0 would be
        shuffle(type, rowBytes, 1, rows: row..<row &+ 1, move: { ggml, packed, n in copy(src + packed, out + ggml, n) },
                fifthBits: { ggml, packed in fromUnits(src + packed, row: row, into: dst + ggml) },
                bits: { ggml, packed in type.traits.rows8Bits?.unpack(src + packed, rows: row..<row &+ 1, out + ggml, rowBytes) })
    }

    /// A Q5_0/Q5_1 group's block recoded in place at `p`, where its eight rows' 4-byte fifth-bit words lie side by
    /// side (row r's at `4r`, bit e: the fifth bit of element e) and the 64-byte quant words 0 and 1 follow (at 32 and
    /// 96; byte i of row r's qword in word j: the nibbles of elements 8j + i, low, and 16 + 8j + i, high). After it
    /// the kernels' units lie there (KernelsAVX2's `Block32Format.rows8Fields`): word T (32 bytes), then A_0 and A_1
    /// (`Q5_KBits.unitWord` makes each word, as for Q5_K). Byte i of row r's
    /// qword in A_j holds v(8j + i) in bits 3-7 and the low three bits of v(16 + 8j + i) in bits 0-2 (v(e): element
    /// e's five-bit value, nibble + 16 · fifth bit); byte 8q + i of T holds, in bits 2k, 2k + 1 with k = 2h + j, the
    /// top two bits of v(16 + 8j + i) of row 4h + q. So a 256-bit load of A_j is four rows' operands of elements 8j
    /// ..< 8j + 8 after a shift and a mask, and of 16 + 8j ..< 24 + 8j with T's field k moved to bits 3-4 (Q5_K's
    /// units, `Q5_KBits`, with k numbering the half and the word).
    static func toUnits(_ p: UnsafeMutableRawPointer) {
        var t = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))  // T: row q's and 4 + q's fields in qword q
        withUnsafeMutableBytes(of: &t) { tb in
            for row in 0..<8 {
                let qh = p.loadUnaligned(fromByteOffset: 4 &* row, as: UInt32.self), q = row & 3, h = row >> 2
                for j in 0..<2 {
                    let at = 32 &+ 64 &* j &+ 8 &* row
                    let qs = p.loadUnaligned(fromByteOffset: at, as: UInt64.self)
                    // Byte i: v(8j + i) from the low nibble, v(16 + 8j + i) from the high one, each with its fifth bit.
                    let lo = qs & byteLanes(0xF) | spreadBits(UInt8(truncatingIfNeeded: qh >> (8 &* j))) &<< 4
                    let hi = (qs &>> 4) & byteLanes(0xF) | spreadBits(UInt8(truncatingIfNeeded: qh >> (16 &+ 8 &* j))) &<< 4
                    let word = Q5_KBits.unitWord(even: lo, odd: hi)
                    p.storeBytes(of: word.a, toByteOffset: at, as: UInt64.self)
                    let fields = tb.load(fromByteOffset: 8 &* q, as: UInt64.self) | word.top &<< UInt64(2 &* (2 &* h &+ j))
                    tb.storeBytes(of: fields, toByteOffset: 8 &* q, as: UInt64.self)
                }
            }
        }
        withUnsafeBytes(of: t) { p.copyMemory(from: $0.baseAddress!, byteCount: 32) }
    }

    /// Row `row` of the units at `p` (`toUnits`) back into its GGUF fifth-bit word and 16 quant bytes at `dst`.
    static func fromUnits(_ p: UnsafeRawPointer, row: Int, into dst: UnsafeMutableRawPointer) {
        let q = row & 3, h = row >> 2, t = p.loadUnaligned(fromByteOffset: 8 &* q, as: UInt64.self)
        var qh: UInt32 = 0
        for j in 0..<2 {
            let a = p.loadUnaligned(fromByteOffset: 32 &+ 64 &* j &+ 8 &* row, as: UInt64.self)
            let (lo, hi) = Q5_KBits.unitValues(a: a, top: (t &>> UInt64(2 &* (2 &* h &+ j))) & byteLanes(3))
            dst.storeBytes(of: lo & byteLanes(0xF) | (hi & byteLanes(0xF)) &<< 4, toByteOffset: 4 &+ 8 &* j, as: UInt64.self)
            qh |= UInt32(gatherBits(lo &>> 4)) << (8 &* j) | UInt32(gatherBits(hi &>> 4)) << (16 &+ 8 &* j)
        }
        dst.storeBytes(of: qh, as: UInt32.self)
    }

    /// Bit e of `b` in bit 0 of byte e.
    @inline(__always) static func spreadBits(_ b: UInt8) -> UInt64 {
        let t = (UInt64(b) &* 0x0101_0101_0101_0101) & 0x8040_2010_0804_0201  // byte e keeps bit e
        return ((t &+ 0x7F7F_7F7F_7F7F_7F7F) & 0x8080_8080_8080_8080) >> 7
    }

    /// Bit 0 of byte e of `q` in bit e (`spreadBits` undone; the other bits of `q` ignored).
    @inline(__always) static func gatherBits(_ q: UInt64) -> UInt8 {
        UInt8(truncatingIfNeeded: ((q & 0x0101_0101_0101_0101) &* 0x0102_0408_1020_4080) >> 56)
    }

    /// The pieces of a block with `header` bytes of fp16 fields at its start: each field, then a
    /// 4-byte word when the rest is not whole 8-byte words (`fifthBits`: a Q5 format's fifth bits, recoded with the
    /// quant words into units by `toUnits`), then the rest in 8-byte words.
    static func headerFirst(blockBytes: Int, header: Int, fifthBits: Bool = false) -> [Rows8Piece] {
        var pieces = stride(from: 0, to: header, by: 2).map { Rows8Piece(offset: $0, bytes: 2) }
        let words = (blockBytes - header) % 8 == 0 ? header : header + 4
        if words > header { pieces.append(Rows8Piece(offset: header, bytes: 4, fifthBits: fifthBits)) }
        return pieces + stride(from: words, to: blockBytes, by: 8).map { Rows8Piece(offset: $0, bytes: 8) }
    }

    /// A block's pieces in the layout: (offset in the block, offset of row 0's copy in the group's
    /// block, bytes; row r's copy is `r · bytes` further). The layout in one place.
    static func pieces(_ type: GGMLType) -> [(block: Int, group: Int, bytes: Int, fifthBits: Bool)] {
        let list = type.traits.rows8Pieces
        precondition(!list.isEmpty && list.reduce(0) { $0 + $1.bytes } == type.bytesPerBlock,
                     "Repack: \(type) has no rows8 layout")
        precondition(list.allSatisfy { !$0.fifthBits || $0.bytes == 4 }, "Repack: \(type): fifth bits in a piece that is not 4 bytes")
        var at = 0
        return list.map { p in
            defer { at += 8 * p.bytes }
            return (block: p.offset, group: at, bytes: p.bytes, fifthBits: p.fifthBits)
        }
    }

    /// Calls `move(offset in the GGUF rows, offset in the rows8 groups, bytes)` for every piece of each of
    /// `rows` of a group in `groups` groups' blocks, and after those rows of a block, for a format with a
    /// `fifthBits` piece, `fifthBits(offset of row 0's piece in the GGUF rows, offset of its copies in the group)`, and
    /// for a format with `rows8Bits`, `bits(offset of row 0's block in the GGUF rows, offset of the group's block)`
    /// (offsets from the first group's start in either layout).
    @inline(__always)
    private static func shuffle(_ type: GGMLType, _ rowBytes: Int, _ groups: Int, rows: Range<Int> = 0..<8,
                                move: (Int, Int, Int) -> Void, fifthBits: (Int, Int) -> Void, bits recode: (Int, Int) -> Void) {
        let blockBytes = type.bytesPerBlock, list = pieces(type), recodes = type.traits.rows8Bits != nil
        let fifth = list.first(where: { $0.fifthBits })
        list.withUnsafeBufferPointer { ps in
            for g in 0..<groups {
                let start = 8 &* g &* rowBytes
                var b = 0
                while b < rowBytes {
                    let packed = start &+ 8 &* b
                    for row in rows {
                        let ggml = start &+ row &* rowBytes &+ b
                        for p in ps { move(ggml &+ p.block, packed &+ p.group &+ p.bytes &* row, p.bytes) }
                    }
                    if let fifth { fifthBits(start &+ b &+ fifth.block, packed &+ fifth.group) }
                    if recodes { recode(start &+ b, packed) }
                    b &+= blockBytes
                }
            }
        }
    }

    @inline(__always)
    private static func copy(_ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, _ n: Int) {
        switch n {
        case 2: dst.storeBytes(of: src.loadUnaligned(as: UInt16.self), as: UInt16.self)
        case 4: dst.storeBytes(of: src.loadUnaligned(as: UInt32.self), as: UInt32.self)
        default: dst.storeBytes(of: src.loadUnaligned(as: UInt64.self), as: UInt64.self)
        }
    }
}

/// A format's recoding of the bits of some of its block's 8-byte pieces (gathered side by side in the group's
/// block, from the GGUF offsets `offsets` in the order gathered) in the `rows8` layout: `pack` recodes a group's block
/// in place after its pieces are gathered; `unpack(group's block, rows, out)` writes those rows' pieces back as
/// gathered (into `64 · offsets.count` bytes, row r's qwords at `8r`), from which unpacked rows take theirs. Q3_K's (`Q3_KBits`), Q5_K's (`Q5_KBits`) and Q6_K's (`Q6_KBits`).
struct Rows8Bits {
    var offsets: [Int]
    var words: Int { offsets.count }
    var pack: (UnsafeMutableRawPointer) -> Void
    var unpack: (UnsafeRawPointer, Range<Int>, UnsafeMutableRawPointer) -> Void

    /// `rows` of the recoded group's block at `p` into their GGUF blocks (row r's at `row0 + r · rowBytes`): the
    /// bytes the recoding covers.
    func unpack(_ p: UnsafeRawPointer, rows: Range<Int>, _ row0: UnsafeMutableRawPointer, _ rowBytes: Int) {
        withUnsafeTemporaryAllocation(byteCount: 64 &* words, alignment: 64) { buf in
            let gathered = buf.baseAddress!
            unpack(p, rows, gathered)
            for r in rows {
                for k in 0..<words {
                    (row0 + r &* rowBytes).storeBytes(of: gathered.load(fromByteOffset: 64 &* k &+ 8 &* r, as: UInt64.self),
                                                     toByteOffset: offsets[k], as: UInt64.self)
                }
            }
        }
    }
}

/// One piece of a block in the `rows8` layout: `bytes` (2, 4 or 8) bytes at `offset` in the block;
/// `fifthBits`: a Q5_0/Q5_1 block's fifth-bit word, whose eight copies are recoded with the quant words after them
/// (`Repack.toUnits`).
struct Rows8Piece: Equatable {
    var offset: Int
    var bytes: Int
    var fifthBits = false
}
