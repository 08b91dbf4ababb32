// Activation quantization to 8 bits on AVX2 (the x86-64-v3 baseline): the group kernel that
// TensorKernels' ActivationQuant runs on x86-64.
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Quantizes the 32 floats at `x` to round(x · inv) (nearest, ties to even: vcvtps2dq in the
/// default rounding mode; |x · inv| ≤ 127), stores them as Int16 in even/odd slots at `q16`
/// (element 2i at slot i, 2i+1 at slot 16+i) and as bytes in element order at `q8`, and returns
/// the sums of elements 0..<16 and 16..<32.
@inlinable @inline(__always)
public func quantizeGroup32(_ x: UnsafePointer<Float>, _ inv: Float, _ q16: UnsafeMutablePointer<Int16>,
                            _ q8: UnsafeMutablePointer<Int8>) -> (Int32, Int32) {
    let m = _mm256_set1_ps(inv)
    let r = UnsafeRawPointer(x)
    @inline(__always) func quarter(_ k: Int) -> __m256i {
        _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps((r + 32 &* k).assumingMemoryBound(to: Float.self)), m))
    }
    // packs works per 128-bit lane; a permute of the 64-bit quarters (0, 2, 1, 3) restores element order.
    let order = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7)
    @inline(__always) func fix(_ v: __m256i) -> __m256i { _mm256_permutevar8x32_epi32(v, order) }
    let n0 = fix(_mm256_packs_epi32(quarter(0), quarter(1)))
    let n1 = fix(_mm256_packs_epi32(quarter(2), quarter(3)))
    let bytes = fix(_mm256_packs_epi16(n0, n1))
    _mm256_storeu_si256(UnsafeMutableRawPointer(q8).assumingMemoryBound(to: __m256i.self), bytes)
    // Even elements: the low 16 bits of each 32-bit lane; odd: the high 16 bits.
    let e = fix(_mm256_packs_epi32(_mm256_srai_epi32(_mm256_slli_epi32(n0, 16), 16), _mm256_srai_epi32(_mm256_slli_epi32(n1, 16), 16)))
    let o = fix(_mm256_packs_epi32(_mm256_srai_epi32(n0, 16), _mm256_srai_epi32(n1, 16)))
    let w = UnsafeMutableRawPointer(q16)
    _mm256_storeu_si256(w.assumingMemoryBound(to: __m256i.self), e)
    _mm256_storeu_si256((w + 32).assumingMemoryBound(to: __m256i.self), o)
    let ones = _mm256_set1_epi16(1)
    return (hsum32(_mm256_madd_epi16(n0, ones)), hsum32(_mm256_madd_epi16(n1, ones)))
}

@inlinable @inline(__always) func hsum32(_ v: __m256i) -> Int32 {
    unsafeBitCast(v, to: SIMD8<Int32>.self).wrappedSum()
}
#endif
