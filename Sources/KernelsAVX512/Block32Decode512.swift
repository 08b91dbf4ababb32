// One-sequence decode of the 32-block formats on 512-bit vectors: two blocks per vector, and
// per block pair only what the weights themselves need.
//
// The row-at-a-time kernels spend most of their instructions per block on things other than the
// byte products: unpacking one block's nibbles at a time, turning offset quants into signed ones
// (q − 8, then the sign trick), and building each block's float scale from two scalars. At 40 GB/s
// and two cores a Q4_0 block (18 bytes) has about three cycles, so those instructions, not memory,
// set the pace. Here, per pair of blocks:
// - the nibbles of both blocks are unpacked together (two broadcast loads, one variable shift, one
//   mask; Q5's fifth bits are one masked byte add from the two 32-bit masks);
// - offset formats (Q4_0, Q5_0) multiply the stored quants 0...15 / 0...31 as unsigned bytes,
//   started from −offset · Σx of each block, so there is no sign handling (Σx and the activation
//   scales are laid out per block pair once per call, for all rows);
// - both blocks' fp16 scales are broadcast as words over their eight lanes and converted by one
//   vcvtph2ps (no permute); the mins accumulate in a vector, not a scalar chain.
// Q8_0 keeps the 256-bit kernel (its quants are signed bytes). The integer block dot products are
// exact, and each block's float scale is `d_w · d_x` as in the row-at-a-time kernels.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import KernelsAVX2

/// Bytes per block pair of the per-call activation table: the activation scales spread over the
/// pair's lanes, the start of the byte products (−offset · Σx), the Q8_1 sums for the mins.
let block32PairTableBytes = 192

/// The 64 stored unsigned quants (4 or 5 bits) of blocks `p0` and `p0 + F.bytes`, block 0's in
/// bytes 0..<32 and block 1's in 32..<64 (each as its elements 0...31).
@inline(__always)
func block32PairQuants<F: Block32Format>(_: F.Type, _ p0: UnsafeRawPointer) -> __m512i {
    let p1 = p0 + F.bytes
    let o = F.bytes &- 16
    // Block 0's 16 quant bytes in lanes 0 and 1, block 1's in lanes 2 and 3 (broadcast loads: no
    // shuffle instruction), then lanes 1 and 3 shifted to their high nibbles: low nibbles of block 0,
    // its high nibbles, then block 1's.
    let b0 = _mm512_broadcast_i32x4(_mm_loadu_si128((p0 + o).assumingMemoryBound(to: __m128i.self)))
    let b01 = _mm512_mask_broadcast_i32x4(b0, 0xFF00, _mm_loadu_si128((p1 + o).assumingMemoryBound(to: __m128i.self)))
    let shifts = _mm512_maskz_mov_epi16(0xFF00_FF00, _mm512_set1_epi16(4))  // words of lanes 1 and 3
    var v = _mm512_and_si512(_mm512_srlv_epi16(b01, shifts), _mm512_set1_epi8(0xF))
    if F.quantBits == 5 {
        let at = F.hasMin ? 4 : 2
        let k = UInt64(p0.loadUnaligned(fromByteOffset: at, as: UInt32.self))
            | UInt64(p1.loadUnaligned(fromByteOffset: at, as: UInt32.self)) << 32
        v = _mm512_mask_add_epi8(v, k, v, _mm512_set1_epi8(0x10))
    }
    return v
}

/// `y[r] = W[r] · x` for one sequence of an unsigned 32-block format (not Q8_0): two blocks per
/// step, the pairs alternating between two accumulators; an odd last block by the 256-bit step.
@inline(__always)
func block32Row1x512<F: Block32Format>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ nb: Int,
                                       _ x: Q8Activations, _ y: UnsafeMutablePointer<Float>) {
    let pairs = nb / 2
    let offset = F.offset
    withUnsafeTemporaryAllocation(byteCount: max(pairs, 1) &* block32PairTableBytes, alignment: 64) { buf in
        let table = buf.baseAddress!
        for i in 0..<pairs {
            let b = 2 &* i, e = table + i &* block32PairTableBytes
            _mm512_store_ps(e, spreadPair(x.d + b))
            let start = _mm512_mask_set1_epi32(_mm512_maskz_set1_epi32(0x0001, 0 &- offset &* x.sum32[b]),
                                               0x0100, 0 &- offset &* x.sum32[b &+ 1])
            _mm512_store_si512(e + 64, start)
            if F.hasMin {
                // Lanes 1 and 3: beside the mins in the headers (d0 m0 d1 m1).
                _mm512_store_ps(e + 128, _mm512_mask_mov_ps(_mm512_maskz_mov_ps(0x0002, _mm512_set1_ps(x.s[b])),
                                                             0x0008, _mm512_set1_ps(x.s[b &+ 1])))
            }
        }
        let t = UnsafeRawPointer(table)
        let zero = _mm512_setzero_si512(), ahead = StreamPrefetch.at(1)
        for r in 0..<count {
            let row = rows + r &* rowBytes
            var acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps(), mins = _mm_setzero_ps()
            @inline(__always) func pair(_ i: Int, _ acc: inout __m512) {
                let p0 = row + 2 &* i &* F.bytes, e = t + i &* block32PairTableBytes
                if ahead { prefetchStream(p0, 2 &* F.bytes) }
                let q = block32PairQuants(F.self, p0)
                let xq = _mm512_loadu_si512(UnsafeRawPointer(x.q) + 64 &* i)
                let dot = _mm512_dpbusd_epi32(offset == 0 ? zero : _mm512_load_si512(e + 64), q, xq)
                // The two fp16 scales broadcast as words into lanes 0..<8 and 8..<16, then converted.
                let p1 = p0 + F.bytes
                let dw = _mm512_cvtph_ps(_mm256_mask_set1_epi16(_mm256_set1_epi16(p0.loadUnaligned(as: Int16.self)), 0xFF00,
                                                                p1.loadUnaligned(as: Int16.self)))
                acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw, _mm512_load_ps(e)), acc)
                if F.hasMin { mins = _mm_fmadd_ps(block32PairHeaders(F.self, p0), _mm_load_ps((e + 128).assumingMemoryBound(to: Float.self)), mins) }
            }
            var i = 0
            while i &+ 2 <= pairs { pair(i, &acc0); pair(i &+ 1, &acc1); i &+= 2 }
            if i < pairs { pair(i, &acc0) }
            var tail = _mm256_setzero_ps(), tailMin: Float = 0
            if nb & 1 != 0 {
                let p = row + (nb &- 1) &* F.bytes
                let (qw, uw) = block32Quants(F.self, p)
                block32Step(VNNIDot.self, F.self, qw, uw, half(p, 0), F.hasMin ? half(p, 2) : 0, x, nb &- 1, &tail, &tailMin)
            }
            y[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) + (F.hasMin ? hsum128(mins) : 0) + hsum256(tail) + tailMin
        }
    }
}
#endif
