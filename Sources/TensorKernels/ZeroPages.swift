#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A buffer in an anonymous mapping of its own: it reads as zeros, and a page becomes resident only
/// when it is first touched. An engine sizes its activations for its largest step (256 prompt tokens,
/// every sequence's logits) but most steps touch a corner of them: one decoding sequence writes one
/// row. Zeroing them at start (or taking them from a heap that may hand back used pages) would make
/// all of it resident for the engine's life; mapped like this, resident memory follows what the
/// steps actually used. Freed with `release()` (the owner's `deinit`), not by ARC: the owner keeps
/// the raw pointers.
public struct ZeroPages: @unchecked Sendable {
    /// Start of the mapping (page-aligned).
    public let base: UnsafeMutableRawPointer
    /// Bytes mapped (at least one page).
    public let byteCount: Int

    /// Maps `byteCount` bytes (at least one page). Stops the process with the size and the system's
    /// reason when the mapping fails, as a failed `allocate` does.
    public init(byteCount: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let bytes = max(page, (byteCount + page - 1) / page * page)
        guard let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            fatalError("ZeroPages: cannot map \(bytes) bytes: \(String(cString: strerror(errno)))")
        }
        base = p
        self.byteCount = bytes
    }

    /// A zeroed buffer of `count` values of a trivial type `T`.
    public init<T>(of type: T.Type, count: Int) {
        self.init(byteCount: count * MemoryLayout<T>.stride)
    }

    /// The buffer as `T` values (a trivial type; the memory reads as zeros until written).
    public func pointer<T>(to type: T.Type) -> UnsafeMutablePointer<T> {
        base.bindMemory(to: T.self, capacity: byteCount / MemoryLayout<T>.stride)
    }

    /// Unmaps the buffer; no pointer into it may be used afterwards.
    public func release() {
        munmap(base, byteCount)
    }
}
