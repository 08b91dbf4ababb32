// AVX-512 VNNI: Q4_0 decode on sixteen rows repacked once (their fp16 scales gathered in 32 bytes, their
// nibbles interleaved 4 bytes per row), so one 512-bit vector holds the same 8 elements of sixteen rows;
// `vpdpbusd` adds four byte products straight into each row's 32-bit lane: per block for sixteen rows
// eight `vpdpbusd`, one scale conversion, one FMA, no reduction. Usage: RepackProbe512 [threads] [hot].
import Swift
import _Builtin_intrinsics.intel
import ProbeHarness

/// Groups g0..<g1 of sixteen rows.
@inline(never) func repacked16(_ m: UnsafeRawPointer, _ g0: Int, _ g1: Int, _ y: UnsafeMutablePointer<Float>) {
    let (xq, xd, start) = activations()
    let m4 = _mm512_set1_epi8(0xF), groupBlock = 18 * 16
    for g in g0..<g1 {
        let base = m + g * nb * groupBlock
        var acc = _mm512_setzero_ps(), acc2 = _mm512_setzero_ps()
        @inline(__always) func blk(_ b: Int, _ a: inout __m512) {
            let p = base + b * groupBlock, x = UnsafeRawPointer(xq) + 32 * b
            var s = _mm512_loadu_si512(UnsafeRawPointer(start + 16 * b))
            for k in 0..<4 {
                let v = _mm512_loadu_si512(p + 32 + 64 * k)
                let lo = _mm512_and_si512(v, m4), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4)
                s = _mm512_dpbusd_epi32(s, lo, _mm512_set1_epi32(x.loadUnaligned(fromByteOffset: 4 * k, as: Int32.self)))
                s = _mm512_dpbusd_epi32(s, hi, _mm512_set1_epi32(x.loadUnaligned(fromByteOffset: 16 + 4 * k, as: Int32.self)))
            }
            let d = _mm512_cvtph_ps(_mm256_loadu_si256(p.assumingMemoryBound(to: __m256i.self)))
            a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(d, _mm512_set1_ps(xd[b])), a)
        }
        var b = 0
        while b + 2 <= nb {
            let p = base + b * groupBlock
            for l in 0..<9 { prefetch(p + 4096 + 64 * l) }
            blk(b, &acc); blk(b + 1, &acc2); b += 2
        }
        _mm512_storeu_ps(y + 16 * g, _mm512_add_ps(acc, acc2))
    }
}

runProbe(groupRows: 16, repacked16)
