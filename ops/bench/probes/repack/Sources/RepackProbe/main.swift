// AVX2: Q4_0 decode on eight rows repacked once (their fp16 scales gathered in 16 bytes, their nibbles
// interleaved 4 bytes per row), so one vector holds the same 8 elements of eight rows and each 32-bit
// lane accumulates one row: no per-row reduction, one scale conversion and one `vpmaddwd` per block for
// eight rows. Usage: RepackProbe [threads] [hot].
import Swift
import _Builtin_intrinsics.intel
import ProbeHarness

/// Groups g0..<g1 of eight rows.
@inline(never) func repacked8(_ m: UnsafeRawPointer, _ g0: Int, _ g1: Int, _ y: UnsafeMutablePointer<Float>) {
    let (xq, xd, start) = activations()
    let ones = _mm256_set1_epi16(1), m4 = _mm256_set1_epi8(0xF), groupBlock = 18 * 8
    for g in g0..<g1 {
        let base = m + g * nb * groupBlock
        var acc = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps()
        @inline(__always) func blk(_ b: Int, _ a: inout __m256) {
            let p = base + b * groupBlock, x = UnsafeRawPointer(xq) + 32 * b
            var s16 = _mm256_setzero_si256()  // ≤ 8 · 2 · 15 · 127 per lane pair: no overflow
            for k in 0..<4 {
                let v = ld(p + 16 + 32 * k)
                let lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4)
                let xl = _mm256_set1_epi32(x.loadUnaligned(fromByteOffset: 4 * k, as: Int32.self))
                let xh = _mm256_set1_epi32(x.loadUnaligned(fromByteOffset: 16 + 4 * k, as: Int32.self))
                s16 = _mm256_add_epi16(s16, _mm256_add_epi16(_mm256_maddubs_epi16(lo, xl), _mm256_maddubs_epi16(hi, xh)))
            }
            let s = _mm256_add_epi32(_mm256_madd_epi16(s16, ones), _mm256_set1_epi32(start[16 * b]))
            let d = _mm256_cvtph_ps(_mm_loadu_si128(p.assumingMemoryBound(to: __m128i.self)))
            a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(d, _mm256_set1_ps(xd[b])), a)
        }
        var b = 0
        while b + 2 <= nb {
            let p = base + b * groupBlock
            for l in 0..<5 { prefetch(p + 2048 + 64 * l) }
            blk(b, &acc); blk(b + 1, &acc2); b += 2
        }
        _mm256_storeu_ps(y + 8 * g, _mm256_add_ps(acc, acc2))
    }
}

runProbe(groupRows: 8, repacked8)
