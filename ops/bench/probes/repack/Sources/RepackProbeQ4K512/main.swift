// AVX-512 VNNI: Q4_K decode on sixteen rows repacked once: per super-block the sixteen rows' d and dmin
// (fp16), their eight 6-bit group scales and mins unpacked to bytes ([group][row]), then the nibbles in
// 4-byte pieces interleaved over the rows, so one 512-bit vector holds the same 4 bytes of sixteen rows
// (8 elements: 4 of group 2c in the low nibbles, 4 of group 2c + 1 in the high). Per super-block for
// sixteen rows: 64 `vpdpbusd` into per-group Int32 lanes, eight `vpmulld` by the group scales, the min
// terms from the activations' per-group sums, one FMA each. Checked against a scalar dequantise-and-dot
// reference; timed from memory or cache beside a streaming read. TokenMill's own Q4_K kernel is timed
// by `tokenmill bench-kernels --types q4_K --rows 8960 --cols 1536 --threads 2 --levels avx512`.
// Usage: [PF=n] RepackProbeQ4K512 [threads] [hot] (PF: software prefetch n super-block steps ahead, default 2).
import Swift
import _Builtin_intrinsics.intel
import Foundation
import ProbeHarness

// The harness's shape (`rows` x `cols`), in super-blocks of 256.
let nsb = cols / 256, sbBytes = 144, rowBytes = nsb * sbBytes, matBytes = rows * rowBytes
let copies = max(2, (512 << 20) / matBytes)
let g16 = 16, groupSB = 64 + 256 + 2048  // repacked bytes per sixteen rows and super-block
let pfAhead = Int(ProcessInfo.processInfo.environment["PF"] ?? "2") ?? 2

// Random Q4_K super-blocks with small positive d and dmin.
let orig = randomBytes(copies * matBytes, seed: 0x2545_F491_4F6C_DD1D)
for c in 0..<copies { for r in 0..<rows { for b in 0..<nsb {
    let p = orig + c * matBytes + r * rowBytes + b * sbBytes
    p.storeBytes(of: Float16(Float(0.0005) + Float((r &* 7 &+ b) % 31) * 0.00002).bitPattern, as: UInt16.self)
    p.storeBytes(of: Float16(Float(0.0002) + Float((r &* 11 &+ b) % 29) * 0.00001).bitPattern, toByteOffset: 2, as: UInt16.self)
} } }

/// ggml's get_scale_min_k4: group j's 6-bit scale and min from the 12 bytes at `q`.
func scaleMin(_ j: Int, _ q: UnsafeRawPointer) -> (UInt8, UInt8) {
    func b(_ i: Int) -> UInt8 { q.load(fromByteOffset: i, as: UInt8.self) }
    if j < 4 { return (b(j) & 63, b(j + 4) & 63) }
    return ((b(j + 4) & 0xF) | ((b(j - 4) >> 6) << 4), (b(j + 4) >> 4) | ((b(j) >> 6) << 4))
}
func half(_ p: UnsafeRawPointer, _ o: Int) -> Float { Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: o, as: UInt16.self))) }

// Repack: per group of sixteen rows and super-block: d[16], dmin[16] (fp16), sc[8][16], m[8][16] (bytes),
// then for chunk c (32 nibble bytes) and piece p (4 bytes): sixteen rows × 4 bytes.
let rep = UnsafeMutableRawPointer.allocate(byteCount: copies * matBytes / 144 * 148, alignment: 64)
let repMatBytes = rows / g16 * nsb * groupSB
for c in 0..<copies { for g in 0..<(rows / g16) { for b in 0..<nsb {
    let dst = rep + c * repMatBytes + (g * nsb + b) * groupSB
    for r in 0..<g16 {
        let src = orig + c * matBytes + (g * g16 + r) * rowBytes + b * sbBytes
        (dst + 2 * r).copyMemory(from: src, byteCount: 2)
        (dst + 32 + 2 * r).copyMemory(from: src + 2, byteCount: 2)
        for j in 0..<8 {
            let (sc, m) = scaleMin(j, src + 4)
            dst.storeBytes(of: sc, toByteOffset: 64 + 16 * j + r, as: UInt8.self)
            dst.storeBytes(of: m, toByteOffset: 192 + 16 * j + r, as: UInt8.self)
        }
        for ch in 0..<4 { for p in 0..<8 {
            (dst + 320 + (ch * 8 + p) * 64 + 4 * r).copyMemory(from: src + 16 + 32 * ch + 4 * p, byteCount: 4)
        } }
    }
} } }

// Q8_K activations: quants, a scale per super-block, Σx per group of 32.
let xq = UnsafeMutablePointer<Int8>.allocate(capacity: cols)
for i in 0..<cols { xq[i] = Int8(truncatingIfNeeded: (i &* 7919) % 255 &- 127) }
let xd = UnsafeMutablePointer<Float>.allocate(capacity: nsb)
for b in 0..<nsb { xd[b] = 0.01 + Float(b) * 0.001 }
let gsum = UnsafeMutablePointer<Int32>.allocate(capacity: nsb * 8)
for g in 0..<(nsb * 8) { var t: Int32 = 0; for j in 0..<32 { t += Int32(xq[32 * g + j]) }; gsum[g] = t }

/// Scalar reference: ggml's dequantisation times the 8-bit activations, in Double.
func reference(_ r: Int) -> Double {
    var acc = 0.0
    for b in 0..<nsb {
        let p = orig + r * rowBytes + b * sbBytes
        let d = Double(half(p, 0)), dmin = Double(half(p, 2))
        for j in 0..<8 {
            let (sc, m) = scaleMin(j, p + 4)
            for l in 0..<32 {
                let byte = p.load(fromByteOffset: 16 + 32 * (j / 2) + l, as: UInt8.self)
                let q = j % 2 == 0 ? byte & 0xF : byte >> 4
                let w = d * Double(sc) * Double(q) - dmin * Double(m)
                acc += w * Double(xq[b * 256 + 32 * j + l]) * Double(xd[b])
            }
        }
    }
    return acc
}

/// Groups g0..<g1 of sixteen rows, repacked.
@inline(never) func repacked16(_ m: UnsafeRawPointer, _ g0: Int, _ g1: Int, _ y: UnsafeMutablePointer<Float>) {
    let (q8, d8, gs) = (xq, xd, gsum)
    let m4 = _mm512_set1_epi8(0xF)
    for g in g0..<g1 {
        var acc = _mm512_setzero_ps()
        for b in 0..<nsb {
            let p = m + (g * nsb + b) * groupSB, x = UnsafeRawPointer(q8) + 256 * b
            for l in 0..<37 { prefetch(p + pfAhead * groupSB + 64 * l) }
            var isum = _mm512_setzero_si512(), msum = _mm512_setzero_si512()
            for ch in 0..<4 {
                var lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512()
                for pc in 0..<8 {
                    let v = _mm512_loadu_si512(p + 320 + (ch * 8 + pc) * 64)
                    lo = _mm512_dpbusd_epi32(lo, _mm512_and_si512(v, m4),
                                             _mm512_set1_epi32(x.loadUnaligned(fromByteOffset: 64 * ch + 4 * pc, as: Int32.self)))
                    hi = _mm512_dpbusd_epi32(hi, _mm512_and_si512(_mm512_srli_epi16(v, 4), m4),
                                             _mm512_set1_epi32(x.loadUnaligned(fromByteOffset: 64 * ch + 32 + 4 * pc, as: Int32.self)))
                }
                @inline(__always) func bytes16(_ o: Int) -> __m512i { _mm512_cvtepu8_epi32(_mm_loadu_si128((p + o).assumingMemoryBound(to: __m128i.self))) }
                isum = _mm512_add_epi32(isum, _mm512_add_epi32(_mm512_mullo_epi32(lo, bytes16(64 + 32 * ch)),
                                                               _mm512_mullo_epi32(hi, bytes16(64 + 32 * ch + 16))))
                msum = _mm512_add_epi32(msum, _mm512_add_epi32(_mm512_mullo_epi32(bytes16(192 + 32 * ch), _mm512_set1_epi32(gs[8 * b + 2 * ch])),
                                                               _mm512_mullo_epi32(bytes16(192 + 32 * ch + 16), _mm512_set1_epi32(gs[8 * b + 2 * ch + 1]))))
            }
            let dx = _mm512_set1_ps(d8[b])
            let d = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256(p.assumingMemoryBound(to: __m256i.self))), dx)
            let dmin = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256((p + 32).assumingMemoryBound(to: __m256i.self))), dx)
            acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), d, acc)
            acc = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(msum), dmin, acc)
        }
        _mm512_storeu_ps(y + 16 * g, acc)
    }
}

let y = UnsafeMutablePointer<Float>.allocate(capacity: rows)
repacked16(rep, 0, rows / g16, y)
var worst = 0.0
for r in stride(from: 0, to: rows, by: 97) {
    let ref = reference(r)
    worst = max(worst, abs(Double(y[r]) - ref) / max(abs(ref), 1e-3))
}
print("max relative difference repacked vs scalar reference (every 97th row):", worst)
let groups = rows / g16
for _ in 0..<3 {
    let gp = gbPerSecond(rep, bytes: repMatBytes, copies: copies, threads: probeThreads, hot: probeHot) { m, t, n in
        repacked16(m, groups * t / n, groups * (t + 1) / n, y)
    }
    let gs = streamRead(orig, bytes: matBytes, copies: copies, threads: probeThreads, hot: probeHot)
    // GB/s of the GGUF bytes the product stands for (the repacked form is 2.8% larger), as bench-kernels counts.
    print(String(format: "Q4_K %@, %d thread(s): repacked (16 rows) %.1f GB/s of GGUF weights (%.1f of repacked bytes), stream %.1f GB/s",
                 probeHot ? "from cache" : "from memory", probeThreads, gp * Double(matBytes) / Double(repMatBytes), gp, gs))
}
