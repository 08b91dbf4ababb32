// Probe: AVX2 one-sequence Q4_0 decode on rows repacked in groups of eight (the eight rows' fp16
// scales gathered in 16 bytes, then their nibbles interleaved 4 bytes per row, so one vector holds
// the same 8 elements of eight rows and each 32-bit lane accumulates one row: no per-row reduction,
// one scale conversion per eight rows, one vpmaddwd per block for eight rows) against a
// row-at-a-time kernel on the GGUF layout (TokenMill's one-sequence kernel, simplified).
// Usage: RepackProbe [threads] [hot] [nopf]. Prints GB/s of weights for both and a streaming read.
import Swift
import _Builtin_intrinsics.intel
import Foundation

/// `prefetcht0` (llvm.prefetch: read, keep in all levels, data).
@inline(__always) func prefetch(_ p: UnsafeRawPointer) {
    Builtin.int_prefetch_RawPointer(p._rawValue, Int32(0)._value, Int32(3)._value, Int32(1)._value)
}

let rows = 8960, cols = 1536, nb = cols / 32
let blockBytes = 18, rowBytes = nb * blockBytes
let matBytes = rows * rowBytes
let copies = max(2, (512 << 20) / matBytes)   // cold: cycle through 512 MB

// Original layout.
let orig = UnsafeMutableRawPointer.allocate(byteCount: copies * matBytes, alignment: 64)
var st: UInt64 = 0x9E3779B97F4A7C15
for i in 0..<(copies * matBytes / 8) { st ^= st << 13; st ^= st >> 7; st ^= st << 17; orig.storeBytes(of: st, toByteOffset: 8 * i, as: UInt64.self) }
for c in 0..<copies { for r in 0..<rows { for b in 0..<nb {
    let p = orig + c * matBytes + r * rowBytes + b * blockBytes
    p.storeBytes(of: Float16(Float(0.001) + Float((r &* 31 &+ b) % 97) * 0.0001).bitPattern, as: UInt16.self)
} } }
// Repacked: per group of 8 rows and block: 8 fp16 scales (16 bytes), then 4 chunks x 8 rows x 4 bytes (128) = 144 bytes.
let groupBlockBytes = 144
let usePrefetch = !CommandLine.arguments.contains("nopf")
let rep = UnsafeMutableRawPointer.allocate(byteCount: copies * matBytes, alignment: 64)
for c in 0..<copies { for g in 0..<(rows / 8) { for b in 0..<nb {
    let dst = rep + c * matBytes + (g * nb + b) * groupBlockBytes
    for r in 0..<8 {
        let src = orig + c * matBytes + (g * 8 + r) * rowBytes + b * blockBytes
        (dst + 2 * r).copyMemory(from: src, byteCount: 2)
        for k in 0..<4 { (dst + 16 + 32 * k + 4 * r).copyMemory(from: src + 2 + 4 * k, byteCount: 4) }
    }
} } }

// Activations.
let xq = UnsafeMutablePointer<Int8>.allocate(capacity: cols)
for i in 0..<cols { xq[i] = Int8(truncatingIfNeeded: (i &* 7919) % 255 &- 127) }
let xd = UnsafeMutablePointer<Float>.allocate(capacity: nb)
let start = UnsafeMutablePointer<Int32>.allocate(capacity: nb * 8)  // -8 Σx per block, 8 lanes
for b in 0..<nb {
    xd[b] = 0.01 + Float(b % 13) * 0.001
    var s: Int32 = 0; for j in 0..<32 { s += Int32(xq[32 * b + j]) }
    for l in 0..<8 { start[8 * b + l] = -8 * s }
}
@inline(__always) func ld(_ p: UnsafeRawPointer) -> __m256i { _mm256_loadu_si256(p.assumingMemoryBound(to: __m256i.self)) }
@inline(__always) func half(_ p: UnsafeRawPointer) -> Float { Float(Float16(bitPattern: p.loadUnaligned(as: UInt16.self))) }

// Row-at-a-time (as block32Row1Unsigned: unsigned nibbles, -8Σx start, 2 accumulators, prefetch 1 KiB ahead).
@inline(never) func rowKernel(_ m: UnsafeRawPointer, _ r0: Int, _ r1: Int, _ y: UnsafeMutablePointer<Float>) {
    let ones = _mm256_set1_epi16(1), m4 = _mm256_set1_epi8(0xF), sh = _mm256_set_epi32(4, 4, 4, 4, 0, 0, 0, 0)
    for r in r0..<r1 {
        let row = m + r * rowBytes
        var a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps()
        @inline(__always) func blk(_ b: Int, _ acc: inout __m256) {
            let p = row + b * blockBytes
            let t = _mm256_broadcastsi128_si256(_mm_loadu_si128((p + 2).assumingMemoryBound(to: __m128i.self)))
            let q = _mm256_and_si256(_mm256_srlv_epi32(t, sh), m4)
            let s = _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(q, ld(UnsafeRawPointer(xq) + 32 * b)), ones),
                                     _mm256_set_epi32(0, 0, 0, 0, 0, 0, 0, start[8 * b]))
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(half(p) * xd[b]), acc)
        }
        var b = 0
        while b + 2 <= nb { prefetch(row + b * blockBytes + 1024); blk(b, &a0); blk(b + 1, &a1); b += 2 }
        let v = unsafeBitCast(_mm256_add_ps(a0, a1), to: SIMD8<Float>.self)
        let s4 = v.lowHalf + v.highHalf, s2 = s4.lowHalf + s4.highHalf
        y[r] = s2[0] + s2[1]
    }
}

// Repacked: eight rows per step, one lane per row.
@inline(never) func repKernel(_ m: UnsafeRawPointer, _ g0: Int, _ g1: Int, _ y: UnsafeMutablePointer<Float>) {
    let ones = _mm256_set1_epi16(1), m4 = _mm256_set1_epi8(0xF)
    for g in g0..<g1 {
        let base = m + g * nb * groupBlockBytes
        var acc = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps()
        @inline(__always) func blk(_ b: Int, _ a: inout __m256) {
            let p = base + b * groupBlockBytes
            let x = UnsafeRawPointer(xq) + 32 * b
            var s16 = _mm256_setzero_si256()
            for k in 0..<4 {
                let v = ld(p + 16 + 32 * k)
                let lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4)
                let xl = _mm256_set1_epi32(x.loadUnaligned(fromByteOffset: 4 * k, as: Int32.self))
                let xh = _mm256_set1_epi32(x.loadUnaligned(fromByteOffset: 16 + 4 * k, as: Int32.self))
                s16 = _mm256_add_epi16(s16, _mm256_add_epi16(_mm256_maddubs_epi16(lo, xl), _mm256_maddubs_epi16(hi, xh)))
            }
            let s = _mm256_add_epi32(_mm256_madd_epi16(s16, ones), _mm256_set1_epi32(start[8 * b]))
            let d = _mm256_cvtph_ps(_mm_loadu_si128(p.assumingMemoryBound(to: __m128i.self)))
            a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(d, _mm256_set1_ps(xd[b])), a)
        }
        var b = 0
        while b + 2 <= nb {
            let p = base + b * groupBlockBytes
            if usePrefetch { prefetch(p + 2048); prefetch(p + 2048 + 64); prefetch(p + 2048 + 128); prefetch(p + 2048 + 192); prefetch(p + 2048 + 256) }
            blk(b, &acc); blk(b + 1, &acc2); b += 2
        }
        _mm256_storeu_ps(y + 8 * g, _mm256_add_ps(acc, acc2))
    }
}

let y1 = UnsafeMutablePointer<Float>.allocate(capacity: rows), y2 = UnsafeMutablePointer<Float>.allocate(capacity: rows)
// Check: both give the same result on copy 0.
rowKernel(orig, 0, rows, y1); repKernel(rep, 0, rows / 8, y2)
var worst: Float = 0; for r in 0..<rows { worst = max(worst, abs(y1[r] - y2[r]) / max(abs(y1[r]), 1e-3)) }
print("max relative difference row vs repacked:", worst)

let threads = Int(CommandLine.arguments.dropFirst().first ?? "2") ?? 2
let hot = CommandLine.arguments.contains("hot")
func time(_ name: String, _ body: (UnsafeRawPointer, Int, Int) -> Void) -> Double {
    var best = Double.infinity, total = 0.0, n = 0
    let t0 = Date()
    var c = 0
    while Date().timeIntervalSince(t0) < 1.5 {
        let s = Date()
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for k in 0..<8 {
                let m = UnsafeRawPointer(name == "row" ? orig : rep) + (hot ? 0 : ((8 * c + k) % copies) * matBytes)
                body(m, t, threads)
            }
        }
        let e = Date().timeIntervalSince(s) / 8
        best = min(best, e); total += e; n += 1; c += 1
    }
    return Double(matBytes) / (total / Double(n)) / 1e9
}
for _ in 0..<3 {
    let gr = time("row") { m, t, n in rowKernel(m, rows * t / n, rows * (t + 1) / n, y1) }
    let gp = time("rep") { m, t, n in repKernel(m, (rows / 8) * t / n, (rows / 8) * (t + 1) / n, y2) }
    // streaming read of the same buffers
    let gs = time("row") { m, t, n in
        var acc = _mm256_setzero_si256()
        let a = matBytes * t / n, b = matBytes * (t + 1) / n
        var o = a & ~63
        while o + 128 <= b { acc = _mm256_xor_si256(acc, _mm256_xor_si256(ld(m + o), ld(m + o + 32))); acc = _mm256_xor_si256(acc, _mm256_xor_si256(ld(m + o + 64), ld(m + o + 96))); o += 128 }
        if _mm256_testz_si256(acc, acc) == 2 { print("") }
    }
    print(String(format: "%@ threads %d: row kernel %.1f GB/s, repacked %.1f GB/s, stream %.1f GB/s (row %.0f%%, repacked %.0f%%)", hot ? "hot" : "cold", threads, gr, gp, gs, 100 * gr / gs, 100 * gp / gs))
}
