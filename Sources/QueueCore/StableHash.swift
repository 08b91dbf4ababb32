/// FNV-1a, 64-bit, over UTF-8 bytes: a hash that is the same in every process and on every host
/// (Swift's `Hasher` is seeded per process). Used for seeds derived from item ids and cache keys.
public struct StableHash: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    public init() {}

    /// Mixes in the bytes of `s`.
    public mutating func add(_ s: String) {
        for b in s.utf8 { value = (value ^ UInt64(b)) &* 0x100_0000_01b3 }
    }

    /// Mixes in one byte (e.g. a separator between fields).
    public mutating func add(byte: UInt8) {
        value = (value ^ UInt64(byte)) &* 0x100_0000_01b3
    }

    /// FNV-1a of `s`.
    public static func fnv1a(_ s: String) -> UInt64 {
        var h = StableHash()
        h.add(s)
        return h.value
    }
}
