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

    /// An arena whose first mapping holds `capacity` bytes (0: `regionBytes`).
    public init(capacity: Int = 0) {
        firstRegion = capacity
    }

    /// `bytes` of memory, 64-byte aligned and not initialised, valid as long as the arena.
    /// Throws `HugePageArena.OutOfMemory` when the system has no room for it.
    public func allocate(_ bytes: Int) throws -> UnsafeMutableRawPointer {
        let need = (bytes + 63) & ~63
        if need > left {
            let size = max(firstRegion > 0 ? firstRegion : Self.regionBytes, need)
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

    /// The system's transparent-huge-page mode (`always`, `madvise` or `never`, from
    /// /sys/kernel/mm/transparent_hugepage/enabled), or nil where there is none (not Linux, or a kernel
    /// without THP). The arena gets huge pages under `always` and `madvise`.
    public static let systemMode: String? = {
        guard let f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r") else { return nil }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 256)
        guard fgets(&line, Int32(line.count), f) != nil else { return nil }
        return selectedMode(String(cString: line))
    }()

    /// The bracketed word of a sysfs choice line: "always [madvise] never" -> "madvise".
    static func selectedMode(_ line: String) -> String? {
        guard let open = line.firstIndex(of: "["), let close = line[open...].firstIndex(of: "]") else { return nil }
        let word = line[line.index(after: open)..<close]
        return word.isEmpty ? nil : String(word)
    }

    /// For a memory plan: where the arena's memory lies on this host.
    public static var pagesNote: String {
        switch systemMode {
        case let mode? where mode == "always" || mode == "madvise": return "on transparent huge pages (THP \(mode))"
        case let mode?: return "on 4 KiB pages (THP \(mode): decode reads slower; see the runbook)"
        case nil: return "on the system's default pages"
        }
    }

    /// No memory for a region of the arena.
    public struct OutOfMemory: Error, CustomStringConvertible {
        public let bytes: Int
        public let reason: String
        public var description: String { "cannot map \(bytes >> 20) MiB of memory for the weights: \(reason)" }
    }
}
