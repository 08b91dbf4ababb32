// A software prefetch for the decode kernels. The intrinsics module's `_m_prefetch` imports into
// Swift but compiles to nothing (checked with `swiftc -O -emit-assembly`: no instruction, no call),
// so this one module is built with `-parse-stdlib` to reach LLVM's prefetch intrinsic through
// `Builtin`, the way the standard library reaches its own; it is inlined into the kernel modules
// and becomes a single `prefetcht0` (`prefetch`) or `prefetcht1` (`prefetchL2`).
import Swift

/// Asks the CPU to bring the cache line at `p` into every cache level (`prefetcht0` on x86-64):
/// a hint with no effect on results, used by the one-sequence decode kernels to request weight
/// blocks ahead of the ones they multiply.
@inlinable @inline(__always)
public func prefetch(_ p: UnsafeRawPointer) {
    // llvm.prefetch(address, rw = 0 (read), locality = 3 (keep in all levels), cache = 1 (data)).
    Builtin.int_prefetch_RawPointer(p._rawValue, Int32(0)._value, Int32(3)._value, Int32(1)._value)
}

/// Asks the CPU to bring the cache line at `p` into the L2 and the levels below it, not the L1 (`prefetcht1` on
/// x86-64): the far half of the streaming kernels' two-level prefetch (`prefetchStream`, KernelsAVX2/Common.swift).
@inlinable @inline(__always)
public func prefetchL2(_ p: UnsafeRawPointer) {
    // llvm.prefetch(address, rw = 0 (read), locality = 2 (not the innermost level), cache = 1 (data)).
    Builtin.int_prefetch_RawPointer(p._rawValue, Int32(0)._value, Int32(2)._value, Int32(1)._value)
}

/// Prefetches the cache lines of the `bytes` bytes at `p`, one per 64 bytes.
@inlinable @inline(__always)
public func prefetchLines(_ p: UnsafeRawPointer, _ bytes: Int) {
    var o = 0
    while o < bytes { prefetch(p + o); o &+= 64 }
}
