#if arch(x86_64)
import _Builtin_intrinsics.intel

extension AVX2 {
    /// Q4_K rows · Q8_K activations, as ggml's `ggml_vec_dot_q4_K_q8_K`.
    ///
    /// Super-block (144 bytes): fp16 d, fp16 dmin, 12 bytes of eight 6-bit scales and mins,
    /// 128 bytes of nibbles: chunk c (32 bytes) holds elements 64c..<64c+32 in its low nibbles
    /// and 64c+32..<64c+64 in its high nibbles. weight = d·scale_g·q − dmin·min_g per group g of 32.
    @inline(never)
    public static func q4_K(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ y: UnsafeMutablePointer<Float>) {
        kquant4or5Rows(highBits: false, blockBytes: 144, quantsAt: 16, rows, rowBytes, count, blocks, x, y)
    }

    /// Q5_K rows · Q8_K activations: Q4_K's layout with 32 bytes of fifth bits at byte 16
    /// (bit g of byte i for element i of group g) and the nibbles at byte 48.
    @inline(never)
    public static func q5_K(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ blocks: Int,
                            _ x: Q8Activations, _ y: UnsafeMutablePointer<Float>) {
        kquant4or5Rows(highBits: true, blockBytes: 176, quantsAt: 48, rows, rowBytes, count, blocks, x, y)
    }
}

@inline(__always)
func kquant4or5Rows(highBits: Bool, blockBytes: Int, quantsAt: Int, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int,
                    _ nb: Int, _ x: Q8Activations, _ y: UnsafeMutablePointer<Float>) {
    let xq = UnsafeRawPointer(x.q)
    let m4 = bytes(0xF), one = bytes(1)
    for r in 0..<count {
        let row = rows + r &* rowBytes
        var acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps()
        for i in 0..<nb {
            let blk = row + i &* blockBytes
            let dx = x.d[i]
            let (scales, mins) = kScalesMins(blk + 4)
            // Min terms: Σ_g min_g · Σx_g.
            let mv = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(Int64(bitPattern: mins)))
            let prod = _mm256_mullo_epi32(mv, load256(x.sum32 + 8 &* i))
            accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(prod), _mm256_set1_ps(half(blk, 2) * dx), accm)
            let sc = _mm_cvtsi64_si128(Int64(bitPattern: scales))
            let h = highBits ? load256(blk, 16) : _mm256_setzero_si256()
            var sumi = _mm256_setzero_si256()
            let xb = xq + 256 &* i
            @inline(__always) func chunk(_ c: Int32) {
                let q = load256(blk, quantsAt &+ 32 &* Int(c))
                var lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4)
                if highBits {
                    lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2 &* c), one), 4))
                    hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2 &* c &+ 1), one), 4))
                }
                let pl = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, load256(xb, 64 &* Int(c))), scalePair(sc, 2 &* Int(c), 2 &* Int(c)))
                let ph = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load256(xb, 64 &* Int(c) &+ 32)),
                                           scalePair(sc, 2 &* Int(c) &+ 1, 2 &* Int(c) &+ 1))
                sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(pl, ph))
            }
            chunk(0); chunk(1); chunk(2); chunk(3)
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), _mm256_set1_ps(half(blk, 0) * dx), acc)
        }
        y[r] = hsum(acc) - hsum(accm)
    }
}
#endif
