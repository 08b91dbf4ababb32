#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A growable buffer of plain values in manually managed memory (array subscripts are slow in debug builds,
/// and the tokenizer's tables are read millions of times).
struct RawBuffer<T> {
    private(set) var base: UnsafeMutablePointer<T>
    private(set) var count = 0
    private(set) var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        base = UnsafeMutablePointer<T>.allocate(capacity: self.capacity)
    }

    init(repeating value: T, count: Int) {
        capacity = max(count, 1)
        base = UnsafeMutablePointer<T>.allocate(capacity: capacity)
        base.initialize(repeating: value, count: count)
        self.count = count
    }

    mutating func append(_ v: T) {
        if count == capacity { reserve(capacity * 2) }
        (base + count).initialize(to: v)
        count += 1
    }

    /// Appends raw bytes (only for `RawBuffer<UInt8>`).
    mutating func append(contentsOf bytes: UnsafeRawBufferPointer) where T == UInt8 {
        if count + bytes.count > capacity { reserve(max(capacity * 2, count + bytes.count)) }
        if let src = bytes.baseAddress, bytes.count > 0 {
            UnsafeMutableRawPointer(base + count).copyMemory(from: src, byteCount: bytes.count)
        }
        count += bytes.count
    }

    mutating func reserve(_ n: Int) {
        guard n > capacity else { return }
        let nb = UnsafeMutablePointer<T>.allocate(capacity: n)
        nb.moveInitialize(from: base, count: count)
        base.deallocate()
        base = nb
        capacity = n
    }

    func free() { base.deallocate() }

    @inline(__always) subscript(_ i: Int) -> T {
        get { base[i] }
        nonmutating set { base[i] = newValue }
    }
}

/// An immutable-after-build map from byte strings to token ids, looked up by pointer and length
/// so that no `String` is made per lookup.
final class ByteStringTable: @unchecked Sendable {
    /// All keys, back to back.
    private var pool: RawBuffer<UInt8>
    private var starts: RawBuffer<Int32>
    private var lengths: RawBuffer<Int32>
    private var values: RawBuffer<Int32>
    /// Open-addressing slots holding entry indices, -1 when empty.
    private var slots: RawBuffer<Int32>
    private var mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = RawBuffer(repeating: -1, count: size)
        mask = size - 1
        pool = RawBuffer(capacity: capacity * 8)
        starts = RawBuffer(capacity: capacity)
        lengths = RawBuffer(capacity: capacity)
        values = RawBuffer(capacity: capacity)
    }

    deinit {
        pool.free()
        starts.free()
        lengths.free()
        values.free()
        slots.free()
    }

    var count: Int { values.count }

    @inline(__always)
    static func hash(_ p: UnsafeRawBufferPointer) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        guard let b = p.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return Int(truncatingIfNeeded: h) }
        for i in 0..<p.count {
            h = (h ^ UInt64(b[i])) &* 0x0000_0100_0000_01b3
        }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    /// Inserts `key` → `value`; a key already present keeps the later value (as the reference does).
    func insert(_ key: UnsafeRawBufferPointer, value: Int32) {
        if (values.count + 1) * 2 > mask + 1 { grow() }
        var i = ByteStringTable.hash(key) & mask
        while true {
            let e = Int(slots.base[i])
            if e < 0 {
                slots.base[i] = Int32(values.count)
                starts.append(Int32(pool.count))
                lengths.append(Int32(key.count))
                values.append(value)
                if pool.count + key.count > pool.capacity {
                    pool.reserve(max(pool.capacity * 2, pool.count + key.count))
                }
                pool.append(contentsOf: key)
                return
            }
            if equals(entry: e, key) {
                values.base[e] = value
                return
            }
            i = (i + 1) & mask
        }
    }

    func insert(_ key: String, value: Int32) {
        var k = key
        k.withUTF8 { insert(UnsafeRawBufferPointer($0), value: value) }
    }

    @inline(__always)
    private func equals(entry e: Int, _ key: UnsafeRawBufferPointer) -> Bool {
        let n = Int(lengths.base[e])
        guard n == key.count else { return false }
        if n == 0 { return true }
        return memcmp(pool.base + Int(starts.base[e]), key.baseAddress!, n) == 0
    }

    private func grow() {
        let size = (mask + 1) * 2
        slots.free()
        slots = RawBuffer(repeating: -1, count: size)
        mask = size - 1
        for e in 0..<values.count {
            let key = UnsafeRawBufferPointer(start: pool.base + Int(starts.base[e]), count: Int(lengths.base[e]))
            var i = ByteStringTable.hash(key) & mask
            while slots.base[i] >= 0 { i = (i + 1) & mask }
            slots.base[i] = Int32(e)
        }
    }

    /// The value for `key`, or nil.
    func find(_ key: UnsafeRawBufferPointer) -> Int32? {
        var i = ByteStringTable.hash(key) & mask
        while true {
            let e = Int(slots.base[i])
            if e < 0 { return nil }
            if equals(entry: e, key) { return values.base[e] }
            i = (i + 1) & mask
        }
    }

    func find(_ key: String) -> Int32? {
        var k = key
        return k.withUTF8 { find(UnsafeRawBufferPointer($0)) }
    }
}

/// An open-addressing map from 64-bit keys (two token ids) to a packed 64-bit value.
/// `UInt64.max` marks an empty slot (no pair of non-negative 32-bit ids produces it).
final class PairTable: @unchecked Sendable {
    private static let empty = UInt64.max
    private var keys: RawBuffer<UInt64>
    private var vals: RawBuffer<UInt64>
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = RawBuffer(repeating: PairTable.empty, count: size)
        vals = RawBuffer(repeating: 0, count: size)
        mask = size - 1
    }

    deinit {
        keys.free()
        vals.free()
    }

    @inline(__always)
    private static func slot(_ k: UInt64) -> Int {
        var h = k &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 31
        return Int(truncatingIfNeeded: h)
    }

    /// Inserts unless the key is present (the first insertion wins).
    func insertIfAbsent(_ k: UInt64, _ v: UInt64) {
        precondition(k != PairTable.empty)
        if (count + 1) * 2 > mask + 1 { grow() }
        var i = PairTable.slot(k) & mask
        while keys.base[i] != PairTable.empty {
            if keys.base[i] == k { return }
            i = (i + 1) & mask
        }
        keys.base[i] = k
        vals.base[i] = v
        count += 1
    }

    private func grow() {
        let oldKeys = keys, oldVals = vals, oldSize = mask + 1
        let size = oldSize * 2
        keys = RawBuffer(repeating: PairTable.empty, count: size)
        vals = RawBuffer(repeating: 0, count: size)
        mask = size - 1
        count = 0
        for i in 0..<oldSize where oldKeys.base[i] != PairTable.empty {
            insertIfAbsent(oldKeys.base[i], oldVals.base[i])
        }
        oldKeys.free()
        oldVals.free()
    }

    @inline(__always)
    func find(_ k: UInt64) -> UInt64? {
        var i = PairTable.slot(k) & mask
        while true {
            let key = keys.base[i]
            if key == k { return vals.base[i] }
            if key == PairTable.empty { return nil }
            i = (i + 1) & mask
        }
    }
}
