// The probe's harness: random Q4_0 matrices (GGUF layout, enough copies to stream from memory), their
// repacked form for a given number of interleaved rows, 8-bit activations, a row-at-a-time AVX2 kernel
// on the GGUF layout (TokenMill's one-sequence kernel, simplified), a streaming read, and the timing.
import Swift
import _Builtin_intrinsics.intel
import Foundation

/// `prefetcht0` (llvm.prefetch: read, keep in all levels, data).
@inline(__always) public func prefetch(_ p: UnsafeRawPointer) {
    Builtin.int_prefetch_RawPointer(p._rawValue, Int32(0)._value, Int32(3)._value, Int32(1)._value)
}

public let rows = 8960, cols = 1536, nb = cols / 32
public let blockBytes = 18, rowBytes = nb * blockBytes
public let matBytes = rows * rowBytes
let copies = max(2, (512 << 20) / matBytes)   // from memory: cycle through 512 MB

/// `count` bytes (a multiple of 8) of xorshift noise, 64-aligned: quants before their headers are set.
public func randomBytes(_ count: Int, seed: UInt64) -> UnsafeMutableRawPointer {
    let m = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 64)
    var st = seed
    for i in 0..<(count / 8) { st ^= st << 13; st ^= st >> 7; st ^= st << 17; m.storeBytes(of: st, toByteOffset: 8 * i, as: UInt64.self) }
    return m
}

/// Copies of a random Q4_0 matrix in the GGUF layout.
public let orig: UnsafeMutableRawPointer = {
    let m = randomBytes(copies * matBytes, seed: 0x9E37_79B9_7F4A_7C15)
    for c in 0..<copies { for r in 0..<rows { for b in 0..<nb {
        m.storeBytes(of: Float16(Float(0.001) + Float((r &* 31 &+ b) % 97) * 0.0001).bitPattern,
                     toByteOffset: c * matBytes + r * rowBytes + b * blockBytes, as: UInt16.self)
    } } }
    return m
}()

/// The copies repacked in groups of `g` rows: per group and block, the g rows' fp16 scales (2g bytes),
/// then the block's 16 nibble bytes as four chunks of 4 bytes, each chunk g rows × 4 bytes (18g bytes).
public func repacked(groupRows g: Int) -> UnsafeMutableRawPointer {
    let rep = UnsafeMutableRawPointer.allocate(byteCount: copies * matBytes, alignment: 64)
    for c in 0..<copies { for grp in 0..<(rows / g) { for b in 0..<nb {
        let dst = rep + c * matBytes + (grp * nb + b) * 18 * g
        for r in 0..<g {
            let src = orig + c * matBytes + (grp * g + r) * rowBytes + b * blockBytes
            (dst + 2 * r).copyMemory(from: src, byteCount: 2)
            for k in 0..<4 { (dst + 2 * g + 4 * g * k + 4 * r).copyMemory(from: src + 2 + 4 * k, byteCount: 4) }
        }
    } } }
    return rep
}

/// One sequence's activations (read through `activations()`).
let xqStorage: UnsafeMutablePointer<Int8> = {
    let q = UnsafeMutablePointer<Int8>.allocate(capacity: cols)
    for i in 0..<cols { q[i] = Int8(truncatingIfNeeded: (i &* 7919) % 255 &- 127) }
    return q
}()
let xdStorage: UnsafeMutablePointer<Float> = {
    let d = UnsafeMutablePointer<Float>.allocate(capacity: nb)
    for b in 0..<nb { d[b] = 0.01 + Float(b % 13) * 0.001 }
    return d
}()
let startStorage: UnsafeMutablePointer<Int32> = {
    let s = UnsafeMutablePointer<Int32>.allocate(capacity: nb * 16)
    for b in 0..<nb {
        var t: Int32 = 0; for j in 0..<32 { t += Int32(xqStorage[32 * b + j]) }
        for l in 0..<16 { s[16 * b + l] = -8 * t }
    }
    return s
}()

/// The activations (quants, per-block scales, −8Σx in 16 lanes), fetched once into locals by each
/// kernel: module globals are initialised lazily, so reading them inside a loop costs a call per access.
public func activations() -> (UnsafeMutablePointer<Int8>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Int32>) {
    (xqStorage, xdStorage, startStorage)
}

/// 32 bytes at `p`, unaligned.
@inlinable @inline(__always) public func ld(_ p: UnsafeRawPointer) -> __m256i { _mm256_loadu_si256(p.assumingMemoryBound(to: __m256i.self)) }
@inline(__always) func half(_ p: UnsafeRawPointer) -> Float { Float(Float16(bitPattern: p.loadUnaligned(as: UInt16.self))) }

/// Rows r0..<r1 one at a time on the GGUF layout (unsigned nibbles, −8Σx start, two accumulators,
/// prefetch 1 KiB ahead), as TokenMill's `block32Row1Unsigned` without its pair headers and table.
@inline(never) func rowKernel(_ m: UnsafeRawPointer, _ r0: Int, _ r1: Int, _ y: UnsafeMutablePointer<Float>) {
    let (xq, xd, start) = activations()
    let ones = _mm256_set1_epi16(1), m4 = _mm256_set1_epi8(0xF), sh = _mm256_set_epi32(4, 4, 4, 4, 0, 0, 0, 0)
    for r in r0..<r1 {
        let row = m + r * rowBytes
        var a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps()
        @inline(__always) func blk(_ b: Int, _ acc: inout __m256) {
            let p = row + b * blockBytes
            let t = _mm256_broadcastsi128_si256(_mm_loadu_si128((p + 2).assumingMemoryBound(to: __m128i.self)))
            let q = _mm256_and_si256(_mm256_srlv_epi32(t, sh), m4)
            let s = _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(q, ld(UnsafeRawPointer(xq) + 32 * b)), ones),
                                     _mm256_set_epi32(0, 0, 0, 0, 0, 0, 0, start[16 * b]))
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(half(p) * xd[b]), acc)
        }
        var b = 0
        while b + 2 <= nb { prefetch(row + b * blockBytes + 1024); blk(b, &a0); blk(b + 1, &a1); b += 2 }
        let v: SIMD8<Float> = _mm256_add_ps(a0, a1)
        let s4 = v.lowHalf + v.highHalf, s2 = s4.lowHalf + s4.highHalf
        y[r] = s2[0] + s2[1]
    }
}

/// Checks `kernel` (groups g0..<g1 of `groupRows` rows of the repacked layout) against the row
/// kernel, then prints GB/s of weights for both and a streaming read, three times. Arguments:
/// [threads] [hot].
public func runProbe(groupRows: Int, _ kernel: @escaping (UnsafeRawPointer, Int, Int, UnsafeMutablePointer<Float>) -> Void) {
    let rep = repacked(groupRows: groupRows)
    let y1 = UnsafeMutablePointer<Float>.allocate(capacity: rows), y2 = UnsafeMutablePointer<Float>.allocate(capacity: rows)
    rowKernel(orig, 0, rows, y1); kernel(rep, 0, rows / groupRows, y2)
    var worst: Float = 0
    for r in 0..<rows { worst = max(worst, abs(y1[r] - y2[r]) / max(abs(y1[r]), 1e-3)) }
    print("max relative difference row vs repacked (float summation order):", worst)
    let threads = probeThreads, hot = probeHot
    func time(_ m0: UnsafeRawPointer, _ body: (UnsafeRawPointer, Int, Int) -> Void) -> Double {
        gbPerSecond(m0, bytes: matBytes, copies: copies, threads: threads, hot: hot, body)
    }
    let groups = rows / groupRows
    for _ in 0..<3 {
        let gr = time(orig) { m, t, n in rowKernel(m, rows * t / n, rows * (t + 1) / n, y1) }
        let gp = time(rep) { m, t, n in kernel(m, groups * t / n, groups * (t + 1) / n, y2) }
        let gs = streamRead(orig, bytes: matBytes, copies: copies, threads: threads, hot: hot)
        print(String(format: "%@, %d thread(s): row kernel %.1f GB/s, repacked (%d rows) %.1f GB/s, stream %.1f GB/s",
                     hot ? "from cache" : "from memory", threads, gr, groupRows, gp, gs))
    }
}

/// The probe's arguments: [threads] [hot].
public let probeThreads = Int(CommandLine.arguments.dropFirst().first ?? "2") ?? 2
public let probeHot = CommandLine.arguments.contains("hot")

/// GB/s of `bytes` per call of `body(matrix, thread, threads)` over 1.5 s, eight matrices per dispatch
/// (copy k of `copies` at `base + k · bytes`, or always the first when `hot`).
public func gbPerSecond(_ base: UnsafeRawPointer, bytes: Int, copies: Int, threads: Int, hot: Bool,
                        _ body: (UnsafeRawPointer, Int, Int) -> Void) -> Double {
    var total = 0.0, n = 0, c = 0
    let t0 = Date()
    while Date().timeIntervalSince(t0) < 1.5 {
        let s = Date()
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for k in 0..<8 { body(base + (hot ? 0 : ((8 * c + k) % copies) * bytes), t, threads) }
        }
        total += Date().timeIntervalSince(s) / 8; n += 1; c += 1
    }
    return Double(bytes) / (total / Double(n)) / 1e9
}

/// GB/s of a plain 256-bit read of the same buffers, timed as `gbPerSecond` times a kernel.
public func streamRead(_ base: UnsafeRawPointer, bytes: Int, copies: Int, threads: Int, hot: Bool) -> Double {
    gbPerSecond(base, bytes: bytes, copies: copies, threads: threads, hot: hot) { m, t, n in
        var acc = _mm256_setzero_si256()
        var o = (bytes * t / n) & ~63
        let e = bytes * (t + 1) / n
        while o + 128 <= e {
            acc = _mm256_xor_si256(acc, _mm256_xor_si256(ld(m + o), ld(m + o + 32)))
            acc = _mm256_xor_si256(acc, _mm256_xor_si256(ld(m + o + 64), ld(m + o + 96)))
            o += 128
        }
        if _mm256_testz_si256(acc, acc) == 2 { print("") }
    }
}
