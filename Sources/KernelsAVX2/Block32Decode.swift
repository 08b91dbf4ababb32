// One-sequence decode of the unsigned 32-block formats (Q4_0, Q4_1, Q5_0, Q5_1) on 256-bit vectors:
// one block per vector, two per step, and per block only what its weights need.
//
// At 20-40 GB/s on two cores an 18-byte Q4_0 block has three to five cycles, so the instructions
// spent per block besides the byte products set the pace. Here:
// - the offset formats (Q4_0, Q5_0) multiply the stored quants 0...15 / 0...31 as unsigned bytes
//   (every pair sum stays within Int16: 2 · 31 · 127), and the block's sum starts from −offset · Σx
//   (laid out once per call for all rows), so there is no `q − offset` and no sign handling;
// - both blocks' fp16 headers (scale, or scale and min) are converted by one vcvtph2ps, and the
//   activation scale is broadcast from memory (a load, no arithmetic);
// - the mins accumulate in a vector (`d m d m` lanes against `0 s 0 s`), not in a scalar chain.
// The block dot products are exact and each block's scale is `d_w · d_x`, as in `block32Row1`.
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// The fp16 headers of blocks `p0` and `p0 + F.bytes` in one vcvtph2ps: `d0 d1` (no min) or
/// `d0 m0 d1 m1`.
@inlinable @inline(__always)
public func block32PairHeaders<F: Block32Format>(_: F.Type, _ p0: UnsafeRawPointer) -> __m128 {
    let p1 = p0 + F.bytes
    if F.hasMin {
        return _mm_cvtph_ps(_mm_cvtsi64_si128(Int64(bitPattern: UInt64(p0.loadUnaligned(as: UInt32.self))
            | UInt64(p1.loadUnaligned(as: UInt32.self)) << 32)))
    }
    return _mm_cvtph_ps(_mm_cvtsi32_si128(Int32(bitPattern: UInt32(p0.loadUnaligned(as: UInt16.self))
        | UInt32(p1.loadUnaligned(as: UInt16.self)) << 16)))
}

/// `y[r] = W[r] · x` for one sequence of an unsigned 32-block format (not Q8_0).
@inlinable @inline(__always)
func block32Row1Unsigned<D: ByteDot, F: Block32Format>(_: D.Type, _: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int,
                                                       _ count: Int, _ nb: Int, _ x: Q8Activations,
                                                       _ y: UnsafeMutablePointer<Float>) {
    let offset = F.offset
    // Per block: the start of its byte-product sum (lane 0: −offset · Σx); per pair: 0 s0 0 s1.
    let startBytes = offset != 0 ? nb &* 32 : 0, minBytes = F.hasMin ? (nb / 2) &* 16 : 0
    withUnsafeTemporaryAllocation(byteCount: max(startBytes &+ minBytes, 32), alignment: 32) { buf in
        let table = buf.baseAddress!
        for b in 0..<(offset != 0 ? nb : 0) {
            _mm256_store_si256(OpaquePointer(table + 32 &* b),
                               _mm256_set_epi32(0, 0, 0, 0, 0, 0, 0, 0 &- offset &* x.sum32[b]))
        }
        let sums = table + startBytes
        for i in 0..<(F.hasMin ? nb / 2 : 0) {
            _mm_store_ps((sums + 16 &* i).assumingMemoryBound(to: Float.self), _mm_set_ps(x.s[2 &* i &+ 1], 0, x.s[2 &* i], 0))
        }
        let t = UnsafeRawPointer(table)
        // Block 1's scale: float 1 of the converted headers (no min: d0 d1), or float 2 (d0 m0 d1 m1).
        let second = _mm256_set1_epi32(F.hasMin ? 2 : 1), ahead = StreamPrefetch.at(1)
        for r in 0..<count {
            let row = rows + r &* rowBytes
            var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), mins = _mm_setzero_ps()
            @inline(__always) func dot(_ b: Int, _ p: UnsafeRawPointer) -> __m256 {
                let start = offset != 0 ? load256(t, 32 &* b) : _mm256_setzero_si256()
                return _mm256_cvtepi32_ps(D.dot(start, F.quants(p), load256(UnsafeRawPointer(x.q), 32 &* b)))
            }
            var b = 0
            while b &+ 2 <= nb {
                let p0 = row + b &* F.bytes, p1 = p0 + F.bytes
                if ahead { prefetchStream(p0, 2 &* F.bytes) }
                let hdr = block32PairHeaders(F.self, p0)
                if F.hasMin { mins = _mm_fmadd_ps(hdr, _mm_load_ps((sums + 8 &* b).assumingMemoryBound(to: Float.self)), mins) }
                let w0 = _mm256_broadcastss_ps(hdr), w1 = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(hdr), second)
                acc0 = _mm256_fmadd_ps(dot(b, p0), _mm256_mul_ps(w0, _mm256_broadcast_ss(x.d + b)), acc0)
                acc1 = _mm256_fmadd_ps(dot(b &+ 1, p1), _mm256_mul_ps(w1, _mm256_broadcast_ss(x.d + (b &+ 1))), acc1)
                b &+= 2
            }
            var tailMin: Float = 0
            if b < nb {
                let p = row + b &* F.bytes
                acc0 = _mm256_fmadd_ps(dot(b, p), _mm256_set1_ps(half(p, 0) * x.d[b]), acc0)
                if F.hasMin { tailMin = half(p, 2) * x.s[b] }
            }
            y[r] = hsum(_mm256_add_ps(acc0, acc1)) + (mins[1] + mins[3]) + tailMin
        }
    }
}
#endif
