/// An immutable-after-build map from byte strings to token ids, looked up by pointer and length
/// so that no `String` is made per lookup.
struct ByteStringTable {
    /// All keys, back to back.
    private var pool: [UInt8] = []
    private var starts: [Int32] = []
    private var lengths: [Int32] = []
    private var values: [Int32] = []
    /// Open-addressing slots holding entry indices, -1 when empty.
    private var slots: [Int32]
    private var mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        starts.reserveCapacity(capacity)
        lengths.reserveCapacity(capacity)
        values.reserveCapacity(capacity)
    }

    var count: Int { values.count }

    @inline(__always)
    static func hash(_ p: UnsafeRawBufferPointer) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in p {
            h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3
        }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    /// Inserts `key` → `value`; a key already present keeps the later value (as the reference does).
    mutating func insert(_ key: UnsafeRawBufferPointer, value: Int32) {
        if (values.count + 1) * 2 > slots.count { grow() }
        var i = ByteStringTable.hash(key) & mask
        while true {
            let e = Int(slots[i])
            if e < 0 {
                slots[i] = Int32(values.count)
                starts.append(Int32(pool.count))
                lengths.append(Int32(key.count))
                values.append(value)
                pool.append(contentsOf: key)
                return
            }
            if equals(entry: e, key) {
                values[e] = value
                return
            }
            i = (i + 1) & mask
        }
    }

    mutating func insert(_ key: String, value: Int32) {
        var k = key
        k.withUTF8 { insert(UnsafeRawBufferPointer($0), value: value) }
    }

    private func equals(entry e: Int, _ key: UnsafeRawBufferPointer) -> Bool {
        let n = Int(lengths[e])
        guard n == key.count else { return false }
        let s = Int(starts[e])
        return pool.withUnsafeBufferPointer { pb in
            for j in 0..<n where pb[s + j] != key[j] { return false }
            return true
        }
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        pool.withUnsafeBytes { pb in
            for e in 0..<values.count {
                let key = UnsafeRawBufferPointer(rebasing: pb[Int(starts[e])..<Int(starts[e] + lengths[e])])
                var i = ByteStringTable.hash(key) & mask
                while slots[i] >= 0 { i = (i + 1) & mask }
                slots[i] = Int32(e)
            }
        }
    }

    /// The value for `key`, or nil.
    func find(_ key: UnsafeRawBufferPointer) -> Int32? {
        var i = ByteStringTable.hash(key) & mask
        while true {
            let e = Int(slots[i])
            if e < 0 { return nil }
            if equals(entry: e, key) { return values[e] }
            i = (i + 1) & mask
        }
    }

    func find(_ key: String) -> Int32? {
        var k = key
        return k.withUTF8 { find(UnsafeRawBufferPointer($0)) }
    }
}

/// An open-addressing map from 64-bit keys (two token ids) to a packed 64-bit value.
struct PairTable {
    private var keys: [UInt64]
    private var vals: [UInt64]
    private var used: [Bool]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: 0, count: size)
        vals = [UInt64](repeating: 0, count: size)
        used = [Bool](repeating: false, count: size)
        mask = size - 1
    }

    @inline(__always)
    private static func slot(_ k: UInt64) -> Int {
        var h = k &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 31
        return Int(truncatingIfNeeded: h)
    }

    /// Inserts unless the key is present (the first insertion wins).
    mutating func insertIfAbsent(_ k: UInt64, _ v: UInt64) {
        if (count + 1) * 2 > keys.count { grow() }
        var i = PairTable.slot(k) & mask
        while used[i] {
            if keys[i] == k { return }
            i = (i + 1) & mask
        }
        used[i] = true
        keys[i] = k
        vals[i] = v
        count += 1
    }

    private mutating func grow() {
        let oldKeys = keys, oldVals = vals, oldUsed = used
        let size = keys.count * 2
        keys = [UInt64](repeating: 0, count: size)
        vals = [UInt64](repeating: 0, count: size)
        used = [Bool](repeating: false, count: size)
        mask = size - 1
        count = 0
        for i in 0..<oldKeys.count where oldUsed[i] {
            insertIfAbsent(oldKeys[i], oldVals[i])
        }
    }

    @inline(__always)
    func find(_ k: UInt64) -> UInt64? {
        var i = PairTable.slot(k) & mask
        while used[i] {
            if keys[i] == k { return vals[i] }
            i = (i + 1) & mask
        }
        return nil
    }
}
