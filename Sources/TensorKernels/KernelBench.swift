import Foundation
import Prefetch
#if arch(x86_64)
import KernelsAVX2

/// How far ahead the prefetching streaming read asks for its lines, into every level and into the L2: the
/// kernels' own two-level prefetch (`prefetchStream`).
private let readAhead = streamPrefetchBytes, readAheadL2 = streamPrefetchL2Bytes
#else
private let readAhead = 4096, readAheadL2 = 8192
#endif

/// Micro-benchmark of `MatMulEngine` for the CLI (`tokenmill bench-kernels` or similar).
///
/// For each type, thread count and sequence count it times `multiply` on a `rows × cols`
/// matrix of quantized random weights and reports milliseconds per product, weight bytes read
/// per second (GB/s: the figure that bounds decode speed) and GFLOP/s (2·rows·cols·nSeq per
/// product: the figure that matters for prompt processing and batched decode).
///
/// "cold" rotates over enough copies of the matrix to exceed `coldBytes`, so the weights come
/// from DRAM as in a real model; "hot" reuses one copy (cache-resident for small shapes). By default
/// `coldBytes` is 256 MiB or twice the host's last-level cache, whichever is more
/// (`defaultColdBytes`): a server's shared L3 can hold 300 MiB, and copies that fit in it leave part
/// of a "cold" run in cache.
/// The streaming read is the faster of two reads of the same lines: one that only loads them, and one
/// that also asks for each line ahead in software as the kernels do (`streamPrefetchBytes` on into every level and
/// `streamPrefetchL2Bytes` on into the L2; a kernel that
/// prefetches can outrun the plain read, on this Xeon by 7-12% at one thread and 18% at two, so the plain
/// read alone overstated how close a kernel came to the memory).
/// `best` is the GB/s of the fastest pass (one product per copy), and `%stream` sets it beside the
/// streaming read's fastest pass over the same buffers: best against best, so that a shared host's
/// busy moments do not count against the kernel only. `%paired` (cold runs) is steadier on a shared
/// host: after every kernel pass one streaming read of the buffers the kernel reads runs right away, and the
/// column is the median over the run of each pass's bandwidth against the read just after it, so a
/// neighbour's burst moves both sides of each ratio alike. `%op` (cold runs) is the same pairing against a
/// streaming read that is split as the kernel's products are: one pool dispatch per copy of the matrix
/// (the threads start, meet and stop once per product, as in a model's decode step), so it separates what
/// the kernel costs from what reading a matrix of this size in one product costs (a few percent at 8 MB
/// on a host whose long read is fast, a fifth at 512 KB).
/// The `cpu:` columns divide process CPU time by the thread count, a better guide than wall
/// time on a machine shared with other work. Types whose block size does not divide `cols`
/// are listed as skipped (llama.cpp cannot store them in that shape either).
///
/// A type that a level repacks at load (`Repack`) is timed in both layouts: the level's name
/// alone for the GGUF layout, `-r8` after it for the `rows8` layout that models load into.
///
/// `gemmMinSeq` sets `MatMulEngine.gemmMinSeq` (nil: each level's default crossover), so the
/// float tiles and the integer kernels can be timed on the same shapes.
///
/// Example: `KernelBench.run(types: [.q4_K, .q8_0], rows: 896, cols: 4864, nSeq: [1, 8, 128], threads: [1, 2])`.
public enum KernelBench {
    /// One measured configuration.
    public struct Result: Sendable {
        public let type: GGMLType
        public let level: KernelLevel
        /// The weights' layout: the GGUF layout, or repacked at load (`Repack`).
        public let layout: WeightLayout
        public let rows: Int
        public let cols: Int
        public let nSeq: Int
        public let threads: Int
        public let cold: Bool
        /// Mean wall time per product over the measuring window.
        public let secondsPerOp: Double
        /// Wall time per product of the best pass (one product per copy of the matrix): on a shared
        /// host the figure to set beside `streamGigabytesPerSecond`, itself the best of its passes.
        public let bestSecondsPerOp: Double
        /// Process CPU time per product divided by the thread count: on a shared, overloaded
        /// machine this approximates the time on idle cores (spin-waiting counts as busy).
        public let cpuSecondsPerOp: Double
        /// Streaming read bandwidth of the same buffer with the same threads (GB/s), for cold runs.
        public let streamGigabytesPerSecond: Double?
        /// Cold runs: the median over the kernel's passes of its bandwidth against the streaming read
        /// of the same buffers run right after that pass (1 = the read's pace).
        public let pairedStreamShare: Double?
        /// Cold runs: as `pairedStreamShare`, against a streaming read with one dispatch per copy of the
        /// matrix (`streamPass(_:bytes:pool:chunk:)`).
        public let pairedOpStreamShare: Double?
        public var cpuGigabytesPerSecond: Double { Double(type.byteCount(elements: rows * cols)) / cpuSecondsPerOp / 1e9 }
        public var cpuGigaflopsPerSecond: Double { 2 * Double(rows * cols * nSeq) / cpuSecondsPerOp / 1e9 }
        public var gigabytesPerSecond: Double { Double(type.byteCount(elements: rows * cols)) / secondsPerOp / 1e9 }
        /// Weight bytes per second of the best pass.
        public var bestGigabytesPerSecond: Double { Double(type.byteCount(elements: rows * cols)) / bestSecondsPerOp / 1e9 }
        public var gigaflopsPerSecond: Double { 2 * Double(rows * cols * nSeq) / secondsPerOp / 1e9 }
    }

    /// Runs the benchmark and returns a printable table.
    public static func run(types: [GGMLType] = [.q4_K, .q6_K, .q8_0, .q4_1, .q4_0],
                           rows: Int = 4864, cols: Int = 896,
                           nSeq: [Int] = [1], threads: [Int] = [1, 2],
                           cold: Bool = true, coldBytes: Int = KernelBench.defaultColdBytes,
                           minSeconds: Double = 0.4, levels: [KernelLevel] = [.current], gemmMinSeq: Int? = nil) throws -> String {
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        // The level column fits the longest level's name with the `rows8` layout's "-r8".
        let levelWidth = KernelLevel.allCases.map { $0.rawValue.count }.max()! + "-r8 ".count
        var lines = ["type   " + pad("level", levelWidth)
                     + "rows x cols  nSeq thr  mode   ms/op      GB/s      best %stream %paired     %op   GFLOP/s | cpu: ms/op   GB/s  GFLOP/s"]
        for t in types where cols % t.blockSize != 0 {
            lines.append("\(t): skipped, \(cols) columns is not a multiple of its block size \(t.blockSize)")
        }
        var streams: [Int: Double] = [:]
        for r in try measure(types: types, rows: rows, cols: cols, nSeq: nSeq, threads: threads, cold: cold,
                         coldBytes: coldBytes, minSeconds: minSeconds, levels: levels, gemmMinSeq: gemmMinSeq) {
            if let s = r.streamGigabytesPerSecond { streams[r.threads] = max(streams[r.threads] ?? 0, s) }
            // Best pass against the stream's best pass: both see the host at its quietest.
            let pct = r.streamGigabytesPerSecond.map { String(format: "%6.0f%%", 100 * r.bestGigabytesPerSecond / $0) } ?? "      -"
            let paired = [r.pairedStreamShare, r.pairedOpStreamShare]
                .map { $0.map { String(format: " %6.0f%%", 100 * $0) } ?? "       -" }.joined()
            lines.append(pad(r.type.description, 7) + pad(r.level.rawValue + (r.layout == .rows8 ? "-r8" : ""), levelWidth) + pad("\(r.rows)x\(r.cols)", 13)
                + String(format: "%4d %3d  ", r.nSeq, r.threads) + pad(r.cold ? "cold" : "hot", 5)
                + String(format: " %7.3f %9.2f %9.2f ", r.secondsPerOp * 1e3, r.gigabytesPerSecond, r.bestGigabytesPerSecond) + pct + paired
                + String(format: " %9.2f |   %7.3f %7.2f %8.2f", r.gigaflopsPerSecond,
                         r.cpuSecondsPerOp * 1e3, r.cpuGigabytesPerSecond, r.cpuGigaflopsPerSecond))
        }
        for (t, s) in streams.sorted(by: { $0.key < $1.key }) {
            lines.append(String(format: "streaming read (same buffers, best pass): %.2f GB/s with %d thread%@", s, t, t == 1 ? "" : "s"))
        }
        return lines.joined(separator: "\n")
    }

    /// Bytes of matrix copies a cold run rotates over: 256 MiB, or twice the last-level cache where that is
    /// more. On the Intel AMX host of 2026-12-06 (L3 300 MiB) 256 MiB of copies let the GGUF layout's row
    /// kernels, which read the very buffer the paired streaming read had just pulled in, run partly from L3.
    public static var defaultColdBytes: Int { max(256 << 20, 2 * (lastLevelCacheBytes() ?? 0)) }

    /// The size of the highest-level cache Linux reports for CPU 0 (sysfs `cache/index*/level` and `size`,
    /// e.g. "307200K"), or nil where there is none to read (other systems).
    public static func lastLevelCacheBytes() -> Int? {
        let dir = "/sys/devices/system/cpu/cpu0/cache"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return nil }
        func read(_ path: String) -> String? {
            (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var best: (level: Int, bytes: Int)?
        for entry in entries where entry.hasPrefix("index") {
            guard let level = read("\(dir)/\(entry)/level").flatMap({ Int($0) }), let size = read("\(dir)/\(entry)/size"),
                  let bytes = parseCacheSize(size) else { continue }
            if level > best?.level ?? 0 { best = (level, bytes) }
        }
        return best?.bytes
    }

    /// "48K", "2048K", "300M", "1G" or a plain byte count as bytes; nil for anything else.
    static func parseCacheSize(_ text: String) -> Int? {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        if let last = text.last, let unit = units[last] { return Int(text.dropLast()).map { $0 * unit } }
        return Int(text)
    }

    /// The measurements behind `run`.
    public static func measure(types: [GGMLType], rows: Int, cols: Int, nSeq: [Int], threads: [Int],
                               cold: Bool, coldBytes: Int, minSeconds: Double,
                               levels: [KernelLevel] = [.current], gemmMinSeq: Int? = nil) throws -> [Result] {
        var results: [Result] = []
        let maxSeq = nSeq.max() ?? 1
        var x = [Float](repeating: 0, count: maxSeq * cols)
        var rng = SplitMix64(seed: 42)
        for i in x.indices { x[i] = rng.nextSymmetric() }
        var y = [Float](repeating: 0, count: maxSeq * rows)
        for type in types where cols % type.blockSize == 0 {
            let rowBytes = type.byteCount(elements: cols)
            let matBytes = rowBytes * rows
            let copies = cold ? max(1, (coldBytes + matBytes - 1) / matBytes) : 1
            // On huge pages, as a model's weights are held (`HugePageArena`).
            let arena = HugePageArena()
            let data = try arena.allocate(matBytes * copies)
            fillMatrix(type, rows: rows, cols: cols, into: data)
            for c in 1..<max(copies, 1) { (data + c * matBytes).copyMemory(from: data, byteCount: matBytes) }
            // The same copies repacked, for the levels that repack this type at load.
            let repacked: UnsafeMutableRawPointer? = levels.contains { Repack.applies(to: type, rows: rows, level: $0) }
                ? try arena.allocate(matBytes * copies) : nil
            if let repacked {
                _ = Repack.rows8(WeightMatrix(type: type, rows: rows, cols: cols, data: data), into: repacked)
                for c in 1..<max(copies, 1) { (repacked + c * matBytes).copyMemory(from: repacked, byteCount: matBytes) }
            }
            for t in threads {
              let pool = ComputePool(threads: t)
              let stream = cold ? streamRead(UnsafeRawPointer(data), bytes: matBytes * copies, pool: pool, minSeconds: minSeconds) : nil
              for level in levels {
               for layout in Repack.applies(to: type, rows: rows, level: level) ? [WeightLayout.ggml, .rows8] : [.ggml] {
                let base = layout == .rows8 ? repacked! : data
                let engine = MatMulEngine(pool: pool, maxCols: cols, maxSeq: maxSeq)
                engine.level = level
                engine.gemmMinSeq = gemmMinSeq
                for s in nSeq {
                    var copy = 0
                    func once() {
                        let w = WeightMatrix(type: type, rows: rows, cols: cols, data: base + copy * matBytes, layout: layout)
                        copy = (copy + 1) % copies
                        x.withUnsafeBufferPointer { xb in
                            y.withUnsafeMutableBufferPointer { engine.multiply(w, x: xb.baseAddress!, nSeq: s, y: $0.baseAddress!) }
                        }
                    }
                    for _ in 0..<min(copies, 4) { once() } // warm up
                    var iterations = 0
                    let cpuStart = processCPUSeconds()
                    let start = DispatchTime.now().uptimeNanoseconds
                    var elapsed = 0.0
                    // A pass is one product per copy (the whole cold buffer once, as a pass of
                    // `streamRead`); the best pass is what the stream's best pass compares with.
                    var passStart = start, passOps = 0, bestPass = Double.infinity
                    // Cold: a streaming read of the same buffers after each pass (its time is not the
                    // kernel's: `readSeconds` leaves the measuring window, `readCPU` the CPU time).
                    var ratios: [Double] = [], opRatios: [Double] = [], readSeconds = 0.0, readCPU = 0.0
                    repeat {
                        once()
                        iterations += 1
                        passOps += 1
                        var now = DispatchTime.now().uptimeNanoseconds
                        if passOps == copies {
                            let pass = Double(now - passStart) / 1e9
                            bestPass = min(bestPass, pass / Double(passOps))
                            if cold {
                                let readStart = processCPUSeconds(), readWall = DispatchTime.now().uptimeNanoseconds
                                // The buffers this kernel reads (the repacked ones for `-r8`): a read of the other
                                // layout's would leave its own copies in a large L3 for the next pass of the
                                // kernel that reads them.
                                let read = streamPass(UnsafeRawPointer(base), bytes: matBytes * copies, pool: pool)
                                ratios.append(read / pass)  // same bytes: the bandwidth ratio
                                let opRead = streamPass(UnsafeRawPointer(base), bytes: matBytes * copies, pool: pool, chunk: matBytes)
                                opRatios.append(opRead / pass)
                                now = DispatchTime.now().uptimeNanoseconds
                                readSeconds += Double(now - readWall) / 1e9  // both reads of each streamPass
                                readCPU += processCPUSeconds() - readStart
                            }
                            passStart = now
                            passOps = 0
                        }
                        elapsed = Double(now - start) / 1e9 - readSeconds
                    } while elapsed < minSeconds || (cold && ratios.isEmpty)  // cold: one whole pass at least
                    let cpu = processCPUSeconds() - cpuStart - readCPU
                    results.append(Result(type: type, level: level, layout: layout, rows: rows, cols: cols, nSeq: s, threads: t, cold: cold,
                                          secondsPerOp: elapsed / Double(iterations),
                                          bestSecondsPerOp: min(bestPass, elapsed / Double(iterations)),
                                          cpuSecondsPerOp: cpu / Double(iterations) / Double(t),
                                          streamGigabytesPerSecond: stream,
                                          pairedStreamShare: ratios.isEmpty ? nil : ratios.sorted()[ratios.count / 2],
                                          pairedOpStreamShare: opRatios.isEmpty ? nil : opRatios.sorted()[opRatios.count / 2]))
                }
               }
              }
            }
        }
        return results
    }

    /// Best pass (of at least three, for `minSeconds`) of summing `bytes` bytes at `p` as 64-bit words, split over the
    /// pool's threads: the bandwidth a kernel that only streams its weights could reach (GB/s).
    static func streamRead(_ p: UnsafeRawPointer, bytes: Int, pool: ComputePool, minSeconds: Double) -> Double {
        var best = 0.0
        let begin = DispatchTime.now().uptimeNanoseconds
        var passes = 0
        // As many passes as the kernels get time (at least three), so both best passes come from
        // windows of the same length.
        while passes < 3 || Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9 < minSeconds {
            passes += 1
            best = max(best, Double(bytes / 64 * 64) / streamPass(p, bytes: bytes, pool: pool) / 1e9)
        }
        return best
    }

    /// Seconds to sum the whole 64-byte lines of `bytes` bytes at `p` as 64-bit words, split over
    /// the pool's threads (one streaming read): in one dispatch, or with `chunk` one dispatch per
    /// `chunk` bytes (a matrix's bytes: as a kernel reads its copies, one product each). The faster of
    /// a plain read and one that prefetches `readAhead` on (the buffers outgrow the last-level cache
    /// twice over, so the second read finds nothing of the first in cache).
    static func streamPass(_ p: UnsafeRawPointer, bytes: Int, pool: ComputePool, chunk: Int? = nil) -> Double {
        let sink = UnsafeMutablePointer<UInt64>.allocate(capacity: pool.threadCount * 8)
        defer { sink.deallocate() }
        let step = max(64, chunk ?? bytes)
        func pass(prefetching: Bool) -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            var at = 0
            while at + 64 <= bytes {
                sumLines(p + at, lines: (min(bytes, at + step) - at) / 64, pool: pool, sink: sink, prefetching: prefetching)
                at += step
            }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        return min(pass(prefetching: false), pass(prefetching: true))
    }

    /// Sums `lines` 64-byte lines at `p` as 64-bit words, split over the pool's threads (the sums
    /// go to `sink`, so the reads are not optimised away); `prefetching`: each line also asks for the
    /// one `readAhead` bytes on, and into the L2 the one `readAheadL2` bytes on.
    private static func sumLines(_ p: UnsafeRawPointer, lines: Int, pool: ComputePool, sink: UnsafeMutablePointer<UInt64>,
                                 prefetching: Bool) {
        pool.parallelChunks(lines) { range in
            var a = SIMD8<UInt64>(), b = SIMD8<UInt64>()
            var i = range.lowerBound
            while i + 2 <= range.upperBound {
                if prefetching {
                    prefetch(p + (64 * i + readAhead)); prefetch(p + (64 * i + 64 + readAhead))
                    prefetchL2(p + (64 * i + readAheadL2)); prefetchL2(p + (64 * i + 64 + readAheadL2))
                }
                a &+= p.loadUnaligned(fromByteOffset: 64 * i, as: SIMD8<UInt64>.self)
                b &+= p.loadUnaligned(fromByteOffset: 64 * i + 64, as: SIMD8<UInt64>.self)
                i += 2
            }
            if i < range.upperBound { a &+= p.loadUnaligned(fromByteOffset: 64 * i, as: SIMD8<UInt64>.self) }
            sink[range.lowerBound % pool.threadCount] = (a &+ b).wrappedSum()
        }
    }

    static func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Fills `rows` rows: 16 distinct quantized random rows, repeated (quantizing every row of a
    /// large matrix with the reference quantizers would dominate the benchmark's run time).
    static func fillMatrix(_ type: GGMLType, rows: Int, cols: Int, into data: UnsafeMutableRawPointer) {
        let rowBytes = type.byteCount(elements: cols)
        var src = [Float](repeating: 0, count: cols)
        var rng = SplitMix64(seed: 7)
        for r in 0..<min(rows, 16) {
            for i in 0..<cols { src[i] = rng.nextSymmetric() * 0.05 }
            src.withUnsafeBufferPointer { Quantize.row(type, $0.baseAddress!, into: data + r * rowBytes, count: cols) }
        }
        for r in 16..<max(rows, 16) where r < rows {
            (data + r * rowBytes).copyMemory(from: data + (r % 16) * rowBytes, byteCount: rowBytes)
        }
    }
}
