#if arch(x86_64)
import _Builtin_intrinsics.intel

/// The decode kernels of this level, one per weight format (the files named after the formats).
public enum AVX2 {}

/// A weight format of 32-element blocks (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0): each block is an fp16
/// scale d, maybe an fp16 min m, and 32 quants; weight = d · (quant − offset) + m.
public protocol Block32Format {
    /// Bytes per block.
    static var bytes: Int { get }
    /// The block's 32 quants as bytes in element order: unsigned, or signed when `signed`.
    static func quants(_ p: UnsafeRawPointer) -> __m256i
    /// True for signed quants (Q8_0).
    static var signed: Bool { get }
    /// Subtracted from every unsigned quant (8 for Q4_0, 16 for Q5_0).
    static var offset: Int32 { get }
    /// True when the block has an fp16 min at byte 2 (Q4_1, Q5_1).
    static var hasMin: Bool { get }
}

/// `y[r] = Σ_b d_w·d_x · Σ_i (q_i − offset)·x_i (+ m_w · s_x)` over the rows, as ggml's
/// `ggml_vec_dot_q*_q8_0/q8_1`: the integer block dot product is exact, then scaled in floats.
@inlinable @inline(__always)
public func block32Rows<D: ByteDot, F: Block32Format>(_: D.Type, _: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int,
                                                       _ count: Int, _ nb: Int, _ x: Q8Activations,
                                                       _ y: UnsafeMutablePointer<Float>) {
    let xq = UnsafeRawPointer(x.q)
    for r in 0..<count {
        let row = rows + r &* rowBytes
        var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
        var min0: Float = 0, min1: Float = 0
        @inline(__always) func block(_ b: Int, _ acc: inout __m256, _ mins: inout Float) {
            let p = row + b &* F.bytes
            let qy = load256(xq, 32 &* b)
            var dot: __m256i
            if F.signed {
                // |w| · (x with w's sign): an unsigned × signed product with the same sum.
                let qw = F.quants(p)
                dot = D.dot(_mm256_setzero_si256(), _mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qy, qw))
            } else {
                dot = D.dot(_mm256_setzero_si256(), F.quants(p), qy)
            }
            if F.offset != 0 {
                // Σ (u − offset)·x = Σ u·x − offset·Σx, subtracted in lane 0 (exact in integers).
                dot = _mm256_sub_epi32(dot, _mm256_zextsi128_si256(_mm_cvtsi32_si128(F.offset &* x.sum32[b])))
            }
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(half(p, 0) * x.d[b]), acc)
            if F.hasMin { mins += half(p, 2) * x.s[b] }
        }
        var b = 0
        while b &+ 2 <= nb {
            block(b, &acc0, &min0)
            block(b &+ 1, &acc1, &min1)
            b &+= 2
        }
        if b < nb { block(b, &acc0, &min0) }
        y[r] = hsum(_mm256_add_ps(acc0, acc1)) + (min0 + min1)
    }
}
#endif
