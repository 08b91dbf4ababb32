#if arch(x86_64)
import _Builtin_intrinsics.intel

extension AVX2 {
    /// Q6_K rows · Q8_K activations, as ggml's `ggml_vec_dot_q6_K_q8_K`.
    ///
    /// Super-block (210 bytes): 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 signed
    /// scales (one per 16 elements), fp16 d; weight = d · scale · (q − 32). Half n (128 elements):
    /// group k (32 elements) takes nibbles from ql[64n + 32(k&1) ..] (low for k < 2, high
    /// otherwise) and bits 2k, 2k+1 of qh[32n ..].
    @inline(never)
    public static func q6_K(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ y: UnsafeMutablePointer<Float>) {
        let xq = UnsafeRawPointer(x.q)
        let m4 = bytes(0xF), m3 = bytes(3)
        for r in 0..<count {
            let row = rows + r &* rowBytes
            var acc = _mm256_setzero_ps()
            for i in 0..<blocks {
                let blk = row + i &* 210
                let sc = load128(blk, 192)
                // Σ scale·(q − 32)·x = Σ scale·q·x − 32 · Σ_g scale_g · Σx_g.
                var sumi = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(scaledSums16(sc, x.sum16 + 16 &* i), 5))
                let xb = xq + 256 &* i
                @inline(__always) func half128(_ n: Int) {
                    let l0 = load256(blk, 64 &* n), l1 = load256(blk, 64 &* n &+ 32)
                    let h = load256(blk, 128 &+ 32 &* n)
                    @inline(__always) func group(_ k: Int, _ low: __m256i, _ hs: Int32) {
                        let q = _mm256_or_si256(low, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, hs), m3), 4))
                        let g = 4 &* n &+ k
                        let p = _mm256_maddubs_epi16(q, load256(xb, 32 &* g))
                        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scalePair(sc, 2 &* g, 2 &* g &+ 1)))
                    }
                    group(0, _mm256_and_si256(l0, m4), 0)
                    group(1, _mm256_and_si256(l1, m4), 2)
                    group(2, _mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), 4)
                    group(3, _mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), 6)
                }
                half128(0); half128(1)
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), _mm256_set1_ps(half(blk, 208) * x.d[i]), acc)
            }
            y[r] = hsum(acc)
        }
    }
}
#endif
