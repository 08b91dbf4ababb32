#if arch(x86_64)
import _Builtin_intrinsics.intel

extension AVX2 {
    /// Q2_K rows · Q8_K activations, as ggml's `ggml_vec_dot_q2_K_q8_K`.
    ///
    /// Super-block (84 bytes): 16 bytes of 4-bit scale (low) and min (high) per 16 elements,
    /// 64 bytes of 2-bit quants, fp16 d, fp16 dmin. Element 128n + 32j + l: (qs[32n + l] >> 2j) & 3,
    /// scale byte 8n + 2j + l/16; weight = d · scale · q − dmin · min.
    @inline(never)
    public static func q2_K(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ y: UnsafeMutablePointer<Float>) {
        let xq = UnsafeRawPointer(x.q)
        let m3 = bytes(3)
        let m4 = _mm_set1_epi8(0xF)
        for r in 0..<count {
            let row = rows + r &* rowBytes
            var acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps()
            for i in 0..<blocks {
                let blk = row + i &* 84
                let raw = load128(blk, 0)
                let sc = _mm_and_si128(raw, m4), mn = _mm_and_si128(_mm_srli_epi16(raw, 4), m4)
                let dx = x.d[i]
                accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(scaledSums16(mn, x.sum16 + 16 &* i)), _mm256_set1_ps(half(blk, 82) * dx), accm)
                var sumi = _mm256_setzero_si256()
                let xb = xq + 256 &* i
                @inline(__always) func half128(_ n: Int) {
                    let qs = load256(blk, 16 &+ 32 &* n)
                    @inline(__always) func group(_ j: Int32) {
                        let g = 4 &* n &+ Int(j)
                        let p = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(qs, 2 &* j), m3), load256(xb, 32 &* g))
                        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scalePair(sc, 2 &* g, 2 &* g &+ 1)))
                    }
                    group(0); group(1); group(2); group(3)
                }
                half128(0); half128(1)
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), _mm256_set1_ps(half(blk, 80) * dx), acc)
            }
            y[r] = hsum(acc) - hsum(accm)
        }
    }
}
#endif
