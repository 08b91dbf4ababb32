// Plain Swift (every architecture): bit fields of the K-quant formats that the portable kernels
// in TensorKernels and the AVX2 kernels here both unpack.

/// The eight 6-bit scales and eight 6-bit mins of a Q4_K/Q5_K block (12 bytes at `p`), one per byte.
@inlinable @inline(__always) public func kScalesMins(_ p: UnsafeRawPointer) -> (scales: UInt64, mins: UInt64) {
    kScalesMins(p.loadUnaligned(as: UInt32.self), p.loadUnaligned(fromByteOffset: 4, as: UInt32.self),
                p.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
}

/// The same from the block's three little-endian scale words.
@inlinable @inline(__always) public func kScalesMins(_ w0: UInt32, _ w1: UInt32, _ w2: UInt32) -> (scales: UInt64, mins: UInt64) {
    let low6: UInt32 = 0x3f3f_3f3f, low4: UInt32 = 0x0f0f_0f0f, low2: UInt32 = 0x0303_0303
    let scHi = (w2 & low4) | (((w0 >> 6) & low2) << 4)
    let mnHi = ((w2 >> 4) & low4) | (((w1 >> 6) & low2) << 4)
    return (UInt64(w0 & low6) | (UInt64(scHi) << 32), UInt64(w1 & low6) | (UInt64(mnHi) << 32))
}
