#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Memory for weights held for the kernels (a model's matrices repacked or copied at load, the
/// matrices `bench-kernels` measures), carved from large anonymous mappings aligned to 2 MiB that the
/// kernel is asked to back with transparent huge pages (`MADV_HUGEPAGE`; Linux's default THP mode,
/// `madvise`, gives them only to memory that asks). Freed as a whole when the arena goes.
///
/// A decode step streams every weight once. On 4 KiB pages each page is a TLB miss and the hardware
/// prefetchers stop at every page boundary; on 2 MiB pages a stream runs on. Measured on a Zen 4 host,
/// one thread summing 512 MiB: 21-24 GB/s on 4 KiB pages, 27.5 on huge pages (docs/kernels.md).
/// Where the kernel has no huge pages the memory is ordinary anonymous memory.
public final class HugePageArena {
    static let hugePage = 2 << 20
    /// Bytes of each further mapping (a larger request gets one of its own size).
    static let regionBytes = 64 << 20

    private var regions: [(base: UnsafeMutableRawPointer, bytes: Int)] = []
    private var next: UnsafeMutableRawPointer?
    private var left = 0

    /// Bytes of the first mapping: a model reserves what all its matrices could take, so everything
    /// it holds lies in one mapping, and only the last huge page is partly used. The part never
    /// allocated is never touched, and costs address space only.
    private var firstRegion: Int

    public init(capacity: Int = 0) {
        firstRegion = capacity
    }

    /// `bytes` of memory, 64-byte aligned and not initialised, valid as long as the arena.
    /// Throws `HugePageArena.OutOfMemory` when the system has no room for it.
    public func allocate(_ bytes: Int) throws -> UnsafeMutableRawPointer {
        let need = (bytes + 63) & ~63
        if need > left {
            let size = max(firstRegion, Self.regionBytes, need)
            try addRegion((size + Self.hugePage - 1) / Self.hugePage * Self.hugePage)
            firstRegion = 0
        }
        let p = next!
        next = p + need
        left -= need
        return p
    }

    private func addRegion(_ bytes: Int) throws {
        let total = bytes + Self.hugePage
        guard let raw = mmap(nil, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), raw != MAP_FAILED else {
            throw OutOfMemory(bytes: bytes, reason: String(cString: strerror(errno)))
        }
        // Keep the 2 MiB-aligned part; unmap the slack before and after it.
        let address = UInt(bitPattern: raw), aligned = (address + UInt(Self.hugePage) - 1) & ~UInt(Self.hugePage - 1)
        let head = Int(aligned - address)
        if head > 0 { munmap(raw, head) }
        if total - head > bytes { munmap(raw + head + bytes, total - head - bytes) }
        let base = raw + head
        #if os(Linux)
        _ = madvise(base, bytes, Int32(MADV_HUGEPAGE))  // EINVAL without THP: then small pages
        #endif
        regions.append((base, bytes))
        next = base
        left = bytes
    }

    deinit {
        for r in regions { munmap(r.base, r.bytes) }
    }

    /// No memory for a region of the arena.
    public struct OutOfMemory: Error, CustomStringConvertible {
        public let bytes: Int
        public let reason: String
        public var description: String { "cannot map \(bytes >> 20) MiB of memory for the weights: \(reason)" }
    }
}
