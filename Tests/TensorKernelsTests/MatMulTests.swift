import Foundation
import Synchronization
import Testing
@testable import TensorKernels
#if arch(x86_64)
import KernelsAVX2
#endif

/// Deterministic pseudo-random floats in roughly [-1, 1] (bell-shaped).
func randomFloats(_ n: Int, seed: UInt64) -> [Float] {
    var r = SplitMix64(seed: seed)
    return (0..<n).map { _ in (r.nextUnit() + r.nextUnit() + r.nextUnit() - 1.5) / 1.5 }
}

let matmulTypes: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

/// Every kernel level this host can run (the conformance of each level's kernels).
let hostLevels = KernelLevel.supported()

@Test(arguments: matmulTypes, hostLevels)
func multiplyMatchesDequantizedDoubleReference(_ type: GGMLType, _ level: KernelLevel) {
    // 17 blocks of 32 for the 32-block types (kernels that take blocks in pairs have a tail), and 16.
    for cols in MatMulEngine.path(for: type) == .block32 ? [544, 512] : [512] {
        multiplyMatchesReference(type, level, rows: 37, cols: cols)
    }
}

/// Types with a kernel on the `rows8` layout on some level (repacked at load there).
let repackedTypes = matmulTypes.filter { t in KernelLevel.allCases.contains { t.traits.rows8Kernel($0) != nil } }

/// The same conformance on matrices repacked into the `rows8` layout, on every level: the levels with
/// a `rows8` kernel run it, the others (portable) unpack eight rows at a time for their own kernels.
/// 40 rows in tiles of 8 (five groups); 17 blocks of 32 or 3 super-blocks: odd block counts.
@Test(arguments: repackedTypes, hostLevels)
func multiplyOnRepackedRowsMatchesDequantizedDoubleReference(_ type: GGMLType, _ level: KernelLevel) {
    for cols in MatMulEngine.path(for: type) == .block32 ? [544, 512] : [768, 512] {
        multiplyMatchesReference(type, level, rows: 40, cols: cols, repack: true)
    }
}

/// K-quants on the `rows8` layout from many sequences on: Q2_K and Q3_K decode each group of eight rows once
/// into an operand cache that every pass reads (AVX-512 `cachedFrom512`: 32 for Q3_K, 96 for Q2_K), on AVX2 all
/// five run the four-row tiles in passes of four (Q2_K, Q3_K and Q5_K decoded into them, Q3_K's halves apart); 53
/// and 101 sequences end in a pass of one.
@Test(arguments: [GGMLType.q2_K, .q3_K, .q4_K, .q5_K, .q6_K], hostLevels)
func multiplyOnRepackedRowsWithManySequences(_ type: GGMLType, _ level: KernelLevel) {
    multiplyMatchesReference(type, level, rows: 16, cols: 512, repack: true, sequenceCounts: [48, 53, 101])
}

/// Q3_K at the bound of its integer sums: every quant 7 (q = +3), every scale −32, every activation 127. Per
/// dword a half super-block adds 64 products of 7 · 32 · 4 · 256 · 127 (the row kernel's and the AVX2 tiles'
/// representation: -1.86e9); a whole super-block's would pass Int32, so the kernels take its halves to floats
/// apart. The exact product, −96 per weight, on every level and path (one sequence, passes, tiles).
@Test(arguments: hostLevels)
func q3KSumsAtTheirBoundStayExact(_ level: KernelLevel) {
    let rows = 8, cols = 512, blockBytes = 110
    var block = [UInt8](repeating: 0, count: blockBytes)
    for i in 0..<96 { block[i] = 0xFF }                      // hmask, qs: every quant 3 | high bit = 7
    block[108] = 0x00; block[109] = 0x3C                       // d = 1.0 (fp16); scales[12] all 0: u = 0, −32
    let wq = (0..<(rows * cols / 256)).flatMap { _ in block }
    let x = [Float](repeating: 1, count: 8 * cols)
    let engine = MatMulEngine(pool: ComputePool(threads: 2), maxCols: cols, maxSeq: 8)
    engine.gemmMinSeq = Int.max
    engine.level = level
    for repack in [false, true] {
        for nSeq in [1, 2, 3, 4, 8] {
            var y = [Float](repeating: .nan, count: rows * nSeq)
            wq.withUnsafeBytes { wb in
                let m = WeightMatrix(type: .q3_K, rows: rows, cols: cols, data: wb.baseAddress!)
                let packed = UnsafeMutableRawPointer.allocate(byteCount: m.byteCount, alignment: 64)
                defer { packed.deallocate() }
                engine.multiply(repack ? Repack.rows8(m, into: packed) : m, x: x, nSeq: nSeq, y: &y)
            }
            for v in y { #expect(abs(v + 96 * Float(cols)) <= 0.5, "\(level) repack \(repack) nSeq \(nSeq): \(v), expected \(-96 * cols)") }
        }
    }
}

/// The `amx` level's tile kernels (whole 16s of rows and sequences on tiles from 32 sequences, the rest on
/// AVX-512): tasks of 24 rows (16 on tiles, 8 left) of 40, and 16 (all AVX-512), 35 (two tiles and 3 left)
/// and 64 sequences; 3 super-blocks, or 13 blocks of 32 (a chunk of eight tiles, then four and one).
/// Runs where the host has AMX (the `amx` level); skipped elsewhere.
@Test(.enabled(if: hostLevels.contains(.amx), "this host has no AMX kernel level"),
      arguments: [GGMLType.q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0])
func multiplyOnAMXTilesMatchesReference(_ type: GGMLType) {
    multiplyMatchesReference(type, .amx, rows: 40, cols: type.blockSize == 256 ? 768 : 13 * 32, repack: true,
                             sequenceCounts: [16, 35, 64], rowsPerTask: 24)
}

/// The tile unit's probe (printed by `bench` and `bench-kernels`) times real products: a positive, finite
/// figure below a millisecond a product where the host has the `amx` level, and none where it has not.
@Test func amxProbeMeasuresTheTileUnitWhereThereIsOne() throws {
    let ns = KernelLevel.amxProbeNanoseconds()
    if hostLevels.contains(.amx) {
        let v = try #require(ns)
        #expect(v > 0.5 && v < 1e6, "tdpbsud took \(v) ns")
    } else {
        #expect(ns == nil)
    }
}

/// The `rows8` layout moves bytes only: unpacking a packed group gives the GGUF rows back, and a
/// packed group differs from them (the layout is not the identity); every format's pieces cover its
/// block exactly once.
@Test(arguments: repackedTypes)
func repackRoundTripsEveryByte(_ type: GGMLType) {
    let cols = 3 * type.blockSize, rows = 16
    let wq = quantizeRows(type, randomFloats(rows * cols, seed: 3), rows: rows, cols: cols)
    let rowBytes = type.byteCount(elements: cols)
    var packed = [UInt8](repeating: 0, count: wq.count), back = [UInt8](repeating: 0, count: wq.count)
    wq.withUnsafeBytes { src in
        packed.withUnsafeMutableBytes { dst in
            _ = Repack.rows8(WeightMatrix(type: type, rows: rows, cols: cols, data: src.baseAddress!), into: dst.baseAddress!)
        }
    }
    packed.withUnsafeBytes { src in
        back.withUnsafeMutableBytes { dst in
            for g in 0..<(rows / 8) { Repack.unpack(type, src.baseAddress! + 8 * g * rowBytes, rowBytes, into: dst.baseAddress! + 8 * g * rowBytes) }
        }
    }
    #expect(back == wq.map { $0 })
    #expect(packed != back)
    // One row on its own (a tied embedding's lookup) is that row of the GGUF matrix.
    var row = [UInt8](repeating: 0, count: rowBytes)
    for r in [0, 5, 8, 15] {
        packed.withUnsafeBytes { src in
            row.withUnsafeMutableBytes { Repack.unpackRow(type, src.baseAddress! + r / 8 * 8 * rowBytes, rowBytes, row: r % 8, into: $0.baseAddress!) }
        }
        #expect(row == Array(wq[(r * rowBytes)..<((r + 1) * rowBytes)]), "\(type) row \(r)")
    }
    // Each group's block lies where its rows did, so a matrix repacks slice by slice (as models load
    // theirs, releasing the file's pages of each slice) into the same bytes.
    var sliced = [UInt8](repeating: 0, count: wq.count)
    wq.withUnsafeBytes { src in
        sliced.withUnsafeMutableBytes { dst in
            for g in 0..<(rows / 8) {
                _ = Repack.rows8(WeightMatrix(type: type, rows: 8, cols: cols, data: src.baseAddress! + 8 * g * rowBytes),
                                 into: dst.baseAddress! + 8 * g * rowBytes)
            }
        }
    }
    #expect(sliced == packed)
    // Block 0 of the first group starts with the eight rows' first piece (their fp16 scales d), side by side.
    let first = type.traits.rows8Pieces[0]
    #expect(first.bytes == 2)
    for r in 0..<8 {
        #expect(packed[2 * r] == wq[r * rowBytes + first.offset] && packed[2 * r + 1] == wq[r * rowBytes + first.offset + 1])
    }
    // Each byte of a block in exactly one piece.
    var covered = [Int](repeating: 0, count: type.bytesPerBlock)
    for p in type.traits.rows8Pieces { for b in p.offset..<(p.offset + p.bytes) { covered[b] += 1 } }
    #expect(covered.allSatisfy { $0 == 1 }, "\(type): \(covered)")
}

/// Q5_0/Q5_1's units (`Repack.toUnits`) hold every value where the kernels read it: byte i of row r's qword in A_j
/// (at 32 + 64j) has v(8j + i) in bits 3-7 and the low three bits of v(16 + 8j + i) in bits 0-2, byte 8q + i of T (at
/// 0) the top two bits of v(16 + 8j + i) of row 4h + q in bits 2k, 2k + 1 (k = 2h + j); and the units undo.
@Test func q5UnitsPlaceEachValueWhereTheKernelsReadIt() {
    var rng = SplitMix64(seed: 11)
    for _ in 0..<20 {
        // Eight rows' fifth-bit words and 16 quant bytes (GGUF: element e's nibble in byte e % 16, low for e < 16).
        let qh = (0..<8).map { _ in UInt32(truncatingIfNeeded: rng.next()) }
        let qs = (0..<8).map { _ in (0..<16).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
        func v(_ r: Int, _ e: Int) -> Int { Int(e < 16 ? qs[r][e] & 0xF : qs[r][e - 16] >> 4) | Int((qh[r] >> e) & 1) << 4 }
        var bytes = [UInt8](repeating: 0, count: 160)
        bytes.withUnsafeMutableBytes { b in
            for r in 0..<8 {
                b.storeBytes(of: qh[r], toByteOffset: 4 * r, as: UInt32.self)
                for j in 0..<2 { for i in 0..<8 { b[32 + 64 * j + 8 * r + i] = qs[r][8 * j + i] } }
            }
            Repack.toUnits(b.baseAddress!)
        }
        for r in 0..<8 { for j in 0..<2 { for i in 0..<8 {
            let a = Int(bytes[32 + 64 * j + 8 * r + i]), k = 2 * (r / 4) + j
            let t = Int(bytes[8 * (r % 4) + i] >> (2 * k)) & 3
            #expect(a >> 3 == v(r, 8 * j + i), "row \(r) element \(8 * j + i)")
            #expect(a & 7 | t << 3 == v(r, 16 + 8 * j + i), "row \(r) element \(16 + 8 * j + i)")
        } } }
        for r in 0..<8 {
            var back = [UInt8](repeating: 0, count: 20)
            bytes.withUnsafeBytes { src in back.withUnsafeMutableBytes { Repack.fromUnits(src.baseAddress!, row: r, into: $0.baseAddress!) } }
            #expect(back.withUnsafeBytes { $0.load(as: UInt32.self) } == qh[r] && Array(back[4...]) == qs[r], "row \(r)")
        }
    }
    #expect(Repack.pieces(.q5_0).filter(\.fifthBits).count == 1 && Repack.pieces(.q5_1).filter(\.fifthBits).count == 1)
    #expect(Repack.pieces(.q4_0).allSatisfy { !$0.fifthBits } && Repack.pieces(.q4_K).allSatisfy { !$0.fifthBits })
}

func multiplyMatchesReference(_ type: GGMLType, _ level: KernelLevel, rows: Int, cols: Int, repack: Bool = false,
                              sequenceCounts: [Int] = [1, 2, 3, 4, 6, 11, 19], rowsPerTask: Int = 8) {
    let maxSeq = sequenceCounts.max()!
    let wf = randomFloats(rows * cols, seed: 7 &+ UInt64(type.rawValue))
    let wq = quantizeRows(type, wf, rows: rows, cols: cols)
    let wd = dequantizeRows(type, wq, count: rows * cols)
    var x = randomFloats(maxSeq * cols, seed: 99)
    for i in stride(from: 0, to: x.count, by: 97) { x[i] *= 6 } // a few outliers, like real activations
    let engine = MatMulEngine(pool: ComputePool(threads: 2), maxCols: cols, maxSeq: maxSeq)
    engine.rowsPerTask = rowsPerTask
    engine.gemmMinSeq = Int.max  // the integer kernels (float tiles: manySequencesUseFloatTilesExactly)
    engine.level = level
    // Which counts run which path (each format's crossover, `tilesMinSeq`): AVX-512 32-block eight-row
    // tiles from 2 (Q4_0, Q5_0, Q5_1), 3 (Q4_1) and 4 (Q8_0), in groups of four then 1-3; Q4_K tiles
    // from 4, Q6_K from 8; below those, and for the other K-quants always, the row-at-a-time kernels
    // (11: a group of eight and three left over). 37 rows in tiles of 8 leave 5 rows to the row
    // kernels. AVX2 four-row tiles: Q5_0 from 2, Q4_1 and Q5_1 from 3, Q4_0 and Q4_K from 4, Q5_K from 5, Q6_K
    // from 6 (repacked: Q6_K, Q5_K and Q3_K from 3, Q2_K from 4, Q4_K from 5, on rows this short; the K-quant tiles in
    // groups of four sequences then 1-3, the 32-block ones in pairs and one left over); Q8_0 never.
    for nSeq in sequenceCounts {
        var y = [Float](repeating: .nan, count: rows * nSeq)
        wq.withUnsafeBytes { wb in
            let m = WeightMatrix(type: type, rows: rows, cols: cols, data: wb.baseAddress!)
            if repack {
                let packed = UnsafeMutableRawPointer.allocate(byteCount: m.byteCount, alignment: 64)
                defer { packed.deallocate() }
                engine.multiply(Repack.rows8(m, into: packed), x: x, nSeq: nSeq, y: &y)
            } else {
                engine.multiply(m, x: x, nSeq: nSeq, y: &y)
            }
        }
        let path = MatMulEngine.path(for: type)
        let (xsim, sums) = path == .block32 || path == .kquant ? simulatedActivations(x, cols: cols, superBlocks: path == .kquant) : (x, [])
        let mins = blockMins(type, wq, rows: rows, cols: cols)
        var worst = 0.0, worstSim = 0.0
        for s in 0..<nSeq {
            for r in 0..<rows {
                var ref = 0.0, sim = 0.0, mag = 0.0
                for k in 0..<cols {
                    let p = Double(wd[r * cols + k]) * Double(x[s * cols + k])
                    ref += p; mag += abs(p)
                    sim += Double(wd[r * cols + k]) * Double(xsim[s * cols + k])
                }
                // Q4_1/Q5_1: ggml's block_q8_1 carries Σx as an fp16 `s`; the min term uses it.
                for b in 0..<(mins.count / rows) {
                    let blockSum = (0..<32).reduce(0.0) { $0 + Double(xsim[s * cols + 32 * b + $1]) }
                    sim += Double(mins[r * (cols / 32) + b]) * (Double(sums[s * (cols / 32) + b]) - blockSum)
                }
                worst = max(worst, abs(Double(y[s * rows + r]) - ref) / mag)
                worstSim = max(worstSim, abs(Double(y[s * rows + r]) - sim) / mag)
            }
        }
        // Against the same 8-bit activations the kernels are exact up to float rounding; against
        // the float activations, 8-bit activation rounding costs ~1e-3 of Σ|w·x|.
        #expect(worstSim < 1e-5, "\(type) \(level) nSeq=\(nSeq): worst relative error vs quantized activations \(worstSim)")
        #expect(worst < (path == .block32 || path == .kquant ? 8e-3 : 1e-5), "\(type) nSeq=\(nSeq): worst relative error \(worst)")
        #expect(!y.contains { $0.isNaN }, "\(type) nSeq=\(nSeq): output not fully written")
    }
}

/// The per-block mins (fp16 at byte 2) of a Q4_1/Q5_1 matrix, `[rows][cols / 32]`; empty for other types.
func blockMins(_ type: GGMLType, _ wq: [UInt8], rows: Int, cols: Int) -> [Float] {
    guard type == .q4_1 || type == .q5_1 else { return [] }
    let bytes = type == .q4_1 ? 20 : 24
    return (0..<(rows * cols / 32)).map { i in
        Float(Float16(bitPattern: UInt16(wq[i * bytes + 2]) | UInt16(wq[i * bytes + 3]) << 8))
    }
}

/// The activations as the engine sees them after 8-bit quantization (dequantized back to float),
/// and for 32-blocks the per-block `scale · Σq` the engine keeps (fp16-rounded, as ggml's q8_1).
func simulatedActivations(_ x: [Float], cols: Int, superBlocks: Bool) -> ([Float], [Float]) {
    let nSeq = x.count / cols
    var out = [Float](repeating: 0, count: x.count), sums: [Float] = []
    var q = [Int16](repeating: 0, count: cols), d = [Float](repeating: 0, count: cols / 32)
    var s = [Float](repeating: 0, count: cols / 32), bs = [Int32](repeating: 0, count: cols / 32)
    var b16 = [Int16](repeating: 0, count: cols / 16)
    for seq in 0..<nSeq {
        x.withUnsafeBufferPointer { xb in
            let src = xb.baseAddress! + seq * cols
            if superBlocks { ActivationQuant.q8K(src, cols, &q, &d, &bs, &b16) } else { ActivationQuant.q8_0(src, cols, &q, &d, &s) }
        }
        let block = superBlocks ? 256 : 32
        // Quants sit in even/odd order inside each group of 32.
        func quant(_ k: Int) -> Int16 { q[(k & ~31) + ActivationQuant.slot(k & 31)] }
        for k in 0..<cols { out[seq * cols + k] = Float(quant(k)) * d[k / block] }
        if !superBlocks { sums += s }
        if superBlocks { // group sums must be the per-32 sums of the quants
            for g in 0..<(cols / 32) {
                var sum: Int32 = 0
                for i in 0..<32 { sum += Int32(quant(32 * g + i)) }
                #expect(bs[g] == sum)
            }
            for g in 0..<(cols / 16) {
                var sum: Int32 = 0
                for i in 0..<16 { sum += Int32(quant(16 * g + i)) }
                #expect(b16[g] == sum)
            }
        }
    }
    return (out, sums)
}

@Test func multiplyHandlesSingleRowAndSingleThread() {
    let cols = 256
    let w = randomFloats(cols, seed: 1), x = randomFloats(cols, seed: 2)
    let q = quantizeRows(.q4_K, w, rows: 1, cols: cols)
    let deq = dequantizeRows(.q4_K, q, count: cols)
    let engine = MatMulEngine(pool: ComputePool(threads: 1), maxCols: 1024, maxSeq: 1)
    var y: [Float] = [0]
    q.withUnsafeBytes { engine.multiply(WeightMatrix(type: .q4_K, rows: 1, cols: cols, data: $0.baseAddress!), x: x, nSeq: 1, y: &y) }
    var ref = 0.0, mag = 0.0
    for k in 0..<cols { ref += Double(deq[k] * x[k]); mag += Double(abs(deq[k] * x[k])) }
    #expect(abs(Double(y[0]) - ref) < 4e-3 * mag)
}

@Test func computePoolRunsEveryIndexExactlyOnce() {
    let pool = ComputePool(threads: 3, spinIterations: 1000)
    for n in [1, 2, 3, 7, 100, 1000] {
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: n)
        counts.initialize(repeating: 0, count: n)
        pool.parallelFor(n) { i in counts[i] += 1 }
        #expect((0..<n).allSatisfy { counts[$0] == 1 }, "n=\(n)")
        counts.deallocate()
    }
}

/// Each thread first walks its own contiguous run of items in order (for a matrix product: one memory
/// stream per thread); what a slow thread has not started is done by the others, from the far end.
@Test func computePoolThreadsWalkTheirOwnRunThenTakeOverASlowThreadsItems() {
    let pool = ComputePool(threads: 2, spinIterations: 100_000)
    let n = 20
    let caller = pthread_self()
    let order = UnsafeMutablePointer<Int>.allocate(capacity: n), byCaller = UnsafeMutablePointer<Bool>.allocate(capacity: n)
    defer { order.deallocate(); byCaller.deallocate() }
    let counts = UnsafeMutablePointer<Int>.allocate(capacity: n)
    counts.initialize(repeating: 0, count: n)
    defer { counts.deallocate() }
    let callerCount = Atomic<Int>(0)
    pool.parallelFor(n) { i in
        counts[i] += 1
        if pthread_equal(pthread_self(), caller) != 0 {
            order[callerCount.wrappingAdd(1, ordering: .relaxed).oldValue] = i
        } else {
            usleep(50_000)  // the worker is slow: 50 ms an item
        }
    }
    #expect((0..<n).allSatisfy { counts[$0] == 1 })
    let mine = Array(UnsafeBufferPointer(start: order, count: callerCount.load(ordering: .relaxed)))
    // The caller's own half, front to back, before anything else.
    #expect(Array(mine.prefix(10)) == Array(0..<10), "\(mine)")
    // Then the worker's half from its end, while the worker sleeps through its first items.
    #expect(mine.count > 10 && mine.dropFirst(10).allSatisfy { $0 >= 10 }, "\(mine)")
    #expect(zip(mine.dropFirst(10), mine.dropFirst(11)).allSatisfy { $0 > $1 }, "\(mine)")
}

@Test func computePoolSurvivesManyBackToBackJobs() {
    let pool = ComputePool(threads: 2, spinIterations: 100)
    let total = Atomic<Int>(0)
    for _ in 0..<5000 {
        pool.parallelFor(4) { i in total.wrappingAdd(i, ordering: .relaxed) }
    }
    #expect(total.load(ordering: .relaxed) == 5000 * 6)
}

@Test func computePoolNestedCallRunsSerially() {
    let pool = ComputePool(threads: 2)
    let hits = Atomic<Int>(0)
    pool.parallelFor(4) { _ in
        pool.parallelFor(3) { _ in hits.wrappingAdd(1, ordering: .relaxed) }
    }
    #expect(hits.load(ordering: .relaxed) == 12)
}

@Test func computePoolChunksCoverTheRangeInOrder() {
    let pool = ComputePool(threads: 2)
    let seen = UnsafeMutablePointer<Int>.allocate(capacity: 103)
    seen.initialize(repeating: 0, count: 103)
    pool.parallelChunks(103, granularity: 8) { range in
        #expect(range.lowerBound % 8 == 0)
        for i in range { seen[i] += 1 }
    }
    #expect((0..<103).allSatisfy { seen[$0] == 1 })
    seen.deallocate()
}

@Test func idleComputePoolParksItsWorkers() {
    let pool = ComputePool(threads: 3, spinIterations: 10_000)
    pool.parallelFor(3) { _ in }
    var parked = 0
    for _ in 0..<200 where parked < 2 { // up to 2 s: workers spin ~10k polls, then park
        usleep(10_000)
        parked = pool.parkedWorkerCount
    }
    #expect(parked == 2)
    // Parked workers still wake up for new work.
    let hits = Atomic<Int>(0)
    pool.parallelFor(64) { _ in hits.wrappingAdd(1, ordering: .relaxed) }
    #expect(hits.load(ordering: .relaxed) == 64)
}

final class CountingJob: ComputeJob {
    let counts: UnsafeMutablePointer<Int>
    init(_ n: Int) { counts = .allocate(capacity: n); counts.initialize(repeating: 0, count: n); super.init() }
    deinit { counts.deallocate() }
    override func execute(_ index: Int) { counts[index] += 1 }
}

@Test func computePoolJobFormRunsEveryIndexOnce() {
    let pool = ComputePool(threads: 2, spinIterations: 500)
    for n in [1, 5, 64] {
        let job = CountingJob(n)
        for _ in 0..<50 { pool.parallelFor(n, job: job) }
        #expect((0..<n).allSatisfy { job.counts[$0] == 50 }, "n=\(n)")
    }
}

@Test func kernelBenchReportsEveryConfiguration() throws {
    let report = try KernelBench.run(types: [.q4_K, .q8_0, .q4_0], rows: 8, cols: 256, nSeq: [1, 5], threads: [1, 2],
                                 cold: false, minSeconds: 0.001, levels: hostLevels)
    let lines = report.split(separator: "\n")
    // A type a level repacks (Q4_0 on both, Q8_0 on avx512) a second time in the `rows8` layout (`-r8` after the level).
    let repacking = [GGMLType.q4_K, .q8_0, .q4_0].flatMap { t in hostLevels.filter { Repack.applies(to: t, rows: 8, level: $0) }.map { (t, $0) } }
    #expect(lines.count == 1 + 3 * 2 * 2 * hostLevels.count + 2 * 2 * repacking.count, "\(report)")
    for (t, level) in repacking {
        #expect(lines.contains { $0.hasPrefix(t.description) && $0.contains(" \(level.rawValue)-r8 ") }, "\(t) \(level): \(report)")
    }
    #expect(lines.dropFirst().allSatisfy { $0.contains("GB/s") == false && $0.split(separator: " ").count >= 11 })
    for level in hostLevels { #expect(lines.contains { $0.contains(" \(level.rawValue) ") }, "\(level) missing") }
    // Cold runs print the streaming bandwidth beside each kernel's.
    let cold = try KernelBench.run(types: [.q8_0], rows: 64, cols: 256, nSeq: [1], threads: [1], cold: true, coldBytes: 1 << 20,
                               minSeconds: 0.001)
    #expect(cold.contains("streaming read") && cold.contains("%"), "\(cold)")
    // ... and the median share of each pass against the reads right after it, whole (`%paired`) and one
    // dispatch per copy of the matrix (`%op`).
    #expect(cold.split(separator: "\n").dropFirst().first.map { $0.filter { $0 == "%" }.count } == 3, "\(cold)")
    let shares = try KernelBench.measure(types: [.q8_0], rows: 64, cols: 256, nSeq: [1], threads: [1], cold: true, coldBytes: 1 << 20,
                                         minSeconds: 0.001, levels: [hostLevels[0]])
    #expect(!shares.isEmpty && shares.allSatisfy { ($0.pairedStreamShare ?? 0) > 0 && ($0.pairedOpStreamShare ?? 0) > 0 })
    let skipped = try KernelBench.run(types: [.q4_K], rows: 8, cols: 96, nSeq: [1], threads: [1], cold: false, minSeconds: 0.001)
    #expect(skipped.contains("skipped"))
}

/// Cold runs rotate over copies larger than the host's last-level cache: sysfs sizes parse, and the
/// default is at least 256 MiB and at least twice the cache Linux reports.
@Test func kernelBenchColdCopiesOutgrowTheLastLevelCache() {
    #expect(KernelBench.parseCacheSize("307200K") == 300 << 20)
    #expect(KernelBench.parseCacheSize("2M") == 2 << 20)
    #expect(KernelBench.parseCacheSize("1G") == 1 << 30)
    #expect(KernelBench.parseCacheSize("4096") == 4096)
    #expect(KernelBench.parseCacheSize("12Q") == nil && KernelBench.parseCacheSize("") == nil)
    #expect(KernelBench.defaultColdBytes >= 256 << 20)
    if let llc = KernelBench.lastLevelCacheBytes() {
        #expect(llc > 0 && KernelBench.defaultColdBytes >= 2 * llc)
    }
}

/// The fused product of two or three matrices sharing activations must equal separate products
/// exactly (same kernels, same activation quantization), for matching and mixed weight formats.
let fusedTypeSets: [[GGMLType]] = [[.q5_0, .q5_0, .q5_0], [.q4_K, .q6_K, .q4_K], [.q8_0, .q4_1], [.q4_K, .q8_0, .f16], [.q5_0, .q5_0, .q6_K]]

/// The sets, each in the GGUF layout; and one whose 32-block matrices are repacked (`rows8`) beside
/// one that is not.
@Test(arguments: fusedTypeSets.map { ($0, false) } + [([GGMLType.q4_0, .q4_1, .q8_0], true)])
func fusedMultiplyEqualsSeparateProducts(_ types: [GGMLType], _ repack: Bool) {
    let cols = 512, maxSeq = 6
    let rowCounts = [40, 24, 72]
    var x = randomFloats(maxSeq * cols, seed: 5)
    for i in stride(from: 0, to: x.count, by: 61) { x[i] *= 5 }
    let engine = MatMulEngine(pool: ComputePool(threads: 2), maxCols: cols, maxSeq: maxSeq)
    let weights = types.enumerated().map { i, t in
        quantizeRows(t, randomFloats(rowCounts[i] * cols, seed: 11 &+ UInt64(i)), rows: rowCounts[i], cols: cols)
    }
    let packed = types.indices.map { UnsafeMutableRawPointer.allocate(byteCount: weights[$0].count, alignment: 64) }
    defer { packed.forEach { $0.deallocate() } }
    for nSeq in [1, 4, 5] {
        var separate: [[Float]] = []
        func matrix(_ i: Int, _ p: UnsafeRawBufferPointer) -> WeightMatrix {
            let m = WeightMatrix(type: types[i], rows: rowCounts[i], cols: cols, data: p.baseAddress!)
            return repack && Repack.applies(to: types[i], rows: rowCounts[i]) ? Repack.rows8(m, into: packed[i]) : m
        }
        for i in types.indices {
            var y = [Float](repeating: .nan, count: rowCounts[i] * nSeq)
            weights[i].withUnsafeBytes { engine.multiply(matrix(i, $0), x: x, nSeq: nSeq, y: &y) }
            separate.append(y)
        }
        let outs = types.indices.map { i -> UnsafeMutablePointer<Float> in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: rowCounts[i] * nSeq)
            p.initialize(repeating: .nan, count: rowCounts[i] * nSeq)
            return p
        }
        defer { outs.forEach { $0.deallocate() } }
        weights[0].withUnsafeBytes { w0 in
            weights[1].withUnsafeBytes { w1 in
                if types.count == 3 {
                    weights[2].withUnsafeBytes { w2 in
                        engine.multiply(matrix(0, w0), y0: outs[0], matrix(1, w1), y1: outs[1], matrix(2, w2), y2: outs[2], x: x, nSeq: nSeq)
                    }
                } else {
                    engine.multiply(matrix(0, w0), y0: outs[0], matrix(1, w1), y1: outs[1], x: x, nSeq: nSeq)
                }
            }
        }
        let fused = types.indices.map { Array(UnsafeBufferPointer(start: outs[$0], count: rowCounts[$0] * nSeq)) }
        for i in types.indices {
            #expect(fused[i] == separate[i], "\(types) nSeq=\(nSeq): matrix \(i) differs from its separate product")
        }
    }
}

/// Many sequences take the float-tile path: it multiplies the same 8-bit-rounded activations as
/// the integer kernels (which ggml uses for every batch size), so both agree up to float
/// summation order, for row counts not a multiple of four and sequence counts not a multiple
/// of four, alone and fused. Q2_K has no float tiles (both engines run the integer kernels):
/// there both are checked against a double-precision product of the dequantised weights with
/// the same 8-bit-rounded activations instead.
@Test(arguments: [GGMLType.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q3_K, .q4_K, .q5_K, .q6_K, .q2_K])
func manySequencesMatchTheIntegerKernels(_ type: GGMLType) {
    let rows = 38, cols = 512, nSeq = 19
    let wf = randomFloats(rows * cols, seed: 3 &+ UInt64(type.rawValue))
    let wq = quantizeRows(type, wf, rows: rows, cols: cols)
    let wd = dequantizeRows(type, wq, count: rows * cols)
    var x = randomFloats(nSeq * cols, seed: 17)
    for i in stride(from: 0, to: x.count, by: 89) { x[i] *= 6 }
    let engine = MatMulEngine(pool: ComputePool(threads: 2), maxCols: cols, maxSeq: nSeq)
    engine.rowsPerTask = 10
    let integer = MatMulEngine(pool: ComputePool(threads: 2), maxCols: cols, maxSeq: nSeq)
    integer.gemmMinSeq = Int.max
    engine.gemmMinSeq = 4  // float tiles, on every level
    var y = [Float](repeating: .nan, count: rows * nSeq), yInt = y
    let y2 = UnsafeMutablePointer<Float>.allocate(capacity: rows * nSeq)
    defer { y2.deallocate() }
    y2.initialize(repeating: .nan, count: rows * nSeq)
    wq.withUnsafeBytes { wb in
        let m = WeightMatrix(type: type, rows: rows, cols: cols, data: wb.baseAddress!)
        engine.multiply(m, x: x, nSeq: nSeq, y: &y)
        integer.multiply(m, x: x, nSeq: nSeq, y: &yInt)
        y.withUnsafeMutableBufferPointer { yb in
            // Fused with itself: both outputs must match the single product.
            engine.multiply(m, y0: yb.baseAddress!, m, y1: y2, x: x, nSeq: nSeq)
        }
    }
    let floatTiles = MatMulEngine.hasFloatTiles(type)
    let xsim = floatTiles ? [] : simulatedActivations(x, cols: cols, superBlocks: true).0
    var worst = 0.0, worstInt = 0.0
    for s in 0..<nSeq {
        for r in 0..<rows {
            var mag = 0.0, sim = 0.0
            for k in 0..<cols {
                mag += abs(Double(wd[r * cols + k]) * Double(x[s * cols + k]))
                if !floatTiles { sim += Double(wd[r * cols + k]) * Double(xsim[s * cols + k]) }
            }
            // Without float tiles the reference is the double-precision product, else the integer kernels.
            let ref = floatTiles ? Double(yInt[s * rows + r]) : sim
            worst = max(worst, abs(Double(y[s * rows + r]) - ref) / mag)
            if !floatTiles { worstInt = max(worstInt, abs(Double(yInt[s * rows + r]) - sim) / mag) }
            #expect(y2[s * rows + r] == y[s * rows + r])
        }
    }
    #expect(worst < (floatTiles ? 1e-6 : 1e-5), "\(type): worst relative difference from the reference \(worst)")
    #expect(worstInt < 1e-5, "\(type): integer kernels' worst relative difference from the double-precision reference \(worstInt)")
}

#if arch(x86_64)
/// `TOKENMILL_INT_TILES_FROM` takes a positive sequence count; anything else leaves the measured
/// crossovers in place (nil), so a typo cannot switch the tiles off by accident.
@Test func integerTilesOverrideParsesPositiveCountsOnly() {
    #expect(integerTilesFrom(parsing: "2") == 2)
    #expect(integerTilesFrom(parsing: "99") == 99)
    for bad in [nil, "", "0", "-3", "four", "2x"] as [String?] {
        #expect(integerTilesFrom(parsing: bad) == nil, "\(bad ?? "nil")")
    }
    // Unset in the test run: every format's own crossover applies.
    #expect(integerTiles(3, from: 4) == (integerTilesFromOverride.map { 3 >= $0 } ?? false))
    #expect(integerTiles(4, from: 4) == (integerTilesFromOverride.map { 4 >= $0 } ?? true))
    // A format without tiles on a level (AVX2 Q8_0: `Int.max`) never runs them, override or not.
    #expect(!integerTiles(1_000, from: .max))
}
#endif

/// Eight rows of one super-block each of `type`, random bytes, and their group in the `rows8` layout (recoded where
/// the format recodes): (each row's GGUF block, the group's block).
func randomBlocksRepacked(_ type: GGMLType, seed: UInt64) -> (blocks: [[UInt8]], packed: [UInt8]) {
    var rng = SplitMix64(seed: seed)
    let wq = (0..<(8 * type.bytesPerBlock)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    var packed = [UInt8](repeating: 0, count: wq.count)
    wq.withUnsafeBytes { src in
        packed.withUnsafeMutableBytes { dst in
            _ = Repack.rows8(WeightMatrix(type: type, rows: 8, cols: type.blockSize, data: src.baseAddress!), into: dst.baseAddress!)
        }
    }
    return ((0..<8).map { Array(wq[($0 * type.bytesPerBlock)..<(($0 + 1) * type.bytesPerBlock)]) }, packed)
}

/// Q3_K's recoded words hold every 3-bit value where the kernels read it (`Q3_KBits`): for sixteen t of half n, in
/// triple g = 2n + (t mod 8) / 4 with k = 8n + 4 ((t mod 8) / 4), sixteens k, k + 1, k + 2 in bits 2-4 (first 8
/// elements) and 5-7 (next 8) of words 3g, 3g + 1, 3g + 2, and sixteen k + 3 as crumbs in bits 0-1 of words 3g and
/// 3g + 1 with their high bits in bits 0 and 1 of word 3g + 2; each value read from the GGUF block as ggml defines it.
@Test func q3KRecodedBitsLieWhereTheKernelsReadThem() {
    let (blocks, packed) = randomBlocksRepacked(.q3_K, seed: 5)
    for (r, block) in blocks.enumerated() {
        for e in 0..<256 {
            // ggml: quant bits 2j of qs[32n + e mod 32] (n = e / 128, j = e mod 128 / 32), high bit e / 32 of hmask[e mod 32].
            let crumb = (block[32 + 32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3
            let high = (block[e % 32] >> (e / 32)) & 1
            let t = e / 16, h = (e % 16) / 8, i = e % 8, n = t / 8, slot = t % 4, g = 2 * n + (t % 8) / 4
            @inline(__always) func word(_ w: Int) -> UInt8 { packed[112 + 64 * w + 8 * r + i] }
            let v = slot < 3 ? (word(3 * g + slot) >> (2 + 3 * h)) & 7
                             : (word(3 * g + h) & 3) | ((word(3 * g + 2) >> h) & 1) << 2
            #expect(v == crumb | high << 2, "row \(r) element \(e)")
        }
    }
}

/// Q5_K's recoded words hold every 5-bit value where the kernels read it (`Q5_KBits`): for group g = 2c + h, value l =
/// 8j + i in unit c (five words at 128 + 320c): h = 0 bits 3-7 of byte i of word A_j (unit word j + 1), h = 1 bits 0-2
/// of it with bits 2j, 2j + 1 of byte i of word T (unit word 0) above them; each value read from the GGUF block as
/// ggml defines it.
@Test func q5KRecodedBitsLieWhereTheKernelsReadThem() {
    let (blocks, packed) = randomBlocksRepacked(.q5_K, seed: 9)
    for (r, block) in blocks.enumerated() {
        for e in 0..<256 {
            // ggml: chunk c = e / 64, h = e mod 64 / 32, l = e mod 32: nibble h of qs[32c + l], fifth bit 2c + h of qh[l].
            let c = e / 64, h = (e % 64) / 32, l = e % 32, j = l / 8, i = l % 8
            let nibble = (block[48 + 32 * c + l] >> (4 * h)) & 0xF, fifth = (block[16 + l] >> (2 * c + h)) & 1
            @inline(__always) func word(_ k: Int) -> UInt8 { packed[128 + 320 * c + 64 * k + 8 * r + i] }
            let v = h == 0 ? word(j + 1) >> 3 : word(j + 1) & 7 | ((word(0) >> (2 * j)) & 3) << 3
            #expect(v == nibble | fifth << 4, "row \(r) element \(e)")
        }
    }
}

/// Q6_K's recoded words hold every 6-bit value where the kernels read it (`Q6_KBits`): sixteen t = 4m + s of unit m
/// in bits 0-5 of word 6m + 2s + w (s < 3, w its half), sixteen 4m + 3's half w in bits 6-7 of words 6m + 3w,
/// 6m + 3w + 1, 6m + 3w + 2 (low bits first); each value read from the GGUF block as ggml defines it.
@Test func q6KRecodedBitsLieWhereTheKernelsReadThem() {
    let (blocks, packed) = randomBlocksRepacked(.q6_K, seed: 7)
    for (r, block) in blocks.enumerated() {
        for e in 0..<256 {
            // ggml: half n = e / 128, quarter c = e mod 128 / 32, l = e mod 32: the low four bits from ql[64n + l] (c
            // even) or ql[64n + l + 32] (c odd), low nibble for c < 2, high above; the top two bits 2c of qh[128 + 32n + l].
            let n = e / 128, c = (e % 128) / 32, l = e % 32
            let low = (block[64 * n + l + (c % 2 == 0 ? 0 : 32)] >> (c < 2 ? 0 : 4)) & 0xF
            let top = (block[128 + 32 * n + l] >> (2 * c)) & 3
            let t = e / 16, w = (e % 16) / 8, i = e % 8, m = t / 4, s = t % 4
            @inline(__always) func word(_ k: Int) -> UInt8 { packed[144 + 64 * (6 * m + k) + 8 * r + i] }
            var v: UInt8 = 0
            if s < 3 {
                v = word(2 * s + w) & 0x3F
            } else {
                for j in 0..<3 { v |= (word(3 * w + j) >> 6) << (2 * j) }
            }
            #expect(v == low | top << 4, "row \(r) element \(e)")
        }
    }
}
