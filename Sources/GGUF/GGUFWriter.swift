#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TensorKernels

/// Builds a GGUF (version 3) file: metadata in insertion order, then tensor infos, then aligned tensor data.
///
/// The file is written to `<path>.tmp-<pid>`, fsync'd and renamed onto `path`, so a crash never leaves
/// a half-written file under the final name.
///
/// ```swift
/// var w = GGUFWriter()
/// w.add("general.architecture", .string("llama"))
/// try w.addTensor(name: "token_embd.weight", dims: [64, 320], type: .f32, bytes: raw)
/// try w.write(to: "/tmp/model.gguf")
/// ```
public struct GGUFWriter {
    /// Produces one tensor's bytes into a buffer of exactly the tensor's byte count.
    public typealias Producer = (UnsafeMutableRawBufferPointer) throws -> Void
    /// Produces the bytes of rows `range` of a tensor into a buffer of exactly those rows' bytes.
    public typealias RowProducer = (_ rows: Range<Int>, _ into: UnsafeMutableRawBufferPointer) throws -> Void

    struct PendingTensor {
        var name: String
        var dims: [Int]
        var type: GGMLType
        var byteCount: Int
        var bytes: [UInt8]?
        var producer: Producer?
        var rowProducer: RowProducer?
        var rowBytes: Int = 0
        var rows: Int = 0
        var chunkRows: Int = 1
    }

    /// Alignment of the data section and of every tensor (`general.alignment`, default 32).
    public private(set) var alignment: Int = 32
    /// Metadata keys in the order they will be written.
    public private(set) var keys: [String] = []
    private var values: [String: GGUFValue] = [:]
    private var pending: [PendingTensor] = []
    private var tensorNames: Set<String> = []

    public init() {}

    /// The tensors added so far (names in order).
    public var tensorNamesInOrder: [String] { pending.map(\.name) }

    /// Sets metadata `key` to `value`. A new key goes to the end; re-setting a key keeps its place.
    /// Setting `general.alignment` (an integer power of two) changes the data alignment.
    public mutating func add(_ key: String, _ value: GGUFValue) {
        if values[key] == nil { keys.append(key) }
        values[key] = value
        if key == "general.alignment", let a = value.intValue, a > 0, a & (a - 1) == 0 {
            alignment = a
        }
    }

    /// Convenience setters.
    public mutating func add(_ key: String, string: String) { add(key, .string(string)) }
    public mutating func add(_ key: String, uint32: UInt32) { add(key, .uint32(uint32)) }
    public mutating func add(_ key: String, float32: Float) { add(key, .float32(float32)) }
    public mutating func add(_ key: String, strings: [String]) {
        add(key, .array(elementType: .string, strings.map { .string($0) }))
    }

    /// Copies all metadata of `file` (in its order), e.g. to re-write a model with other tensor types.
    public mutating func addMetadata(from file: GGUFFile) {
        for k in file.metadataKeys { if let v = file.value(k) { add(k, v) } }
    }

    /// Adds a tensor whose raw ggml-layout bytes are given now.
    public mutating func addTensor(name: String, dims: [Int], type: GGMLType, bytes: [UInt8]) throws {
        let n = try checkTensor(name: name, dims: dims, type: type)
        guard bytes.count == n else {
            throw GGUFError("tensor '\(name)': \(bytes.count) bytes given, \(type) \(dims) needs \(n)")
        }
        pending.append(PendingTensor(name: name, dims: dims, type: type, byteCount: n, bytes: bytes, producer: nil))
        tensorNames.insert(name)
    }

    /// Adds a tensor produced row block by row block at write time, so even a huge tensor never sits
    /// in memory whole: `producer` is called for consecutive row ranges of at most `chunkBytes` bytes
    /// (at least one row), each with a zeroed buffer of exactly those rows' bytes.
    public mutating func addTensor(name: String, dims: [Int], type: GGMLType, chunkBytes: Int = 16 << 20,
                                   rows producer: @escaping RowProducer) throws {
        let n = try checkTensor(name: name, dims: dims, type: type)
        let rowBytes = type.byteCount(elements: dims[0])
        var t = PendingTensor(name: name, dims: dims, type: type, byteCount: n, bytes: nil, producer: nil)
        t.rowProducer = producer
        t.rowBytes = rowBytes
        t.rows = n / rowBytes
        // Rows per chunk are fixed here so the producer sees the same ranges on every write.
        t.chunkRows = max(1, chunkBytes / max(rowBytes, 1))
        pending.append(t)
        tensorNames.insert(name)
    }

    /// Adds float32 data, stored as `type` F32 (other types need a quantizer: use the producer form).
    public mutating func addTensor(name: String, dims: [Int], floats: [Float]) throws {
        let bytes = floats.withUnsafeBytes { Array($0) }
        try addTensor(name: name, dims: dims, type: .f32, bytes: bytes)
    }

    /// Adds a tensor whose bytes are produced at write time (so a quantizer can stream big models
    /// without holding them in memory). `producer` gets a zeroed buffer of exactly the tensor's size.
    public mutating func addTensor(name: String, dims: [Int], type: GGMLType, producer: @escaping Producer) throws {
        let n = try checkTensor(name: name, dims: dims, type: type)
        pending.append(PendingTensor(name: name, dims: dims, type: type, byteCount: n, bytes: nil, producer: producer))
        tensorNames.insert(name)
    }

    private func checkTensor(name: String, dims: [Int], type: GGMLType) throws -> Int {
        guard !tensorNames.contains(name) else { throw GGUFError("tensor '\(name)' added twice") }
        guard (1...4).contains(dims.count), dims.allSatisfy({ $0 > 0 }) else {
            throw GGUFError("tensor '\(name)': bad dimensions \(dims) (1 to 4 positive sizes)")
        }
        guard dims[0] % type.blockSize == 0 else {
            throw GGUFError("tensor '\(name)': row length \(dims[0]) is not a multiple of \(type)'s block size \(type.blockSize)")
        }
        return type.byteCount(elements: dims.reduce(1, *))
    }

    /// Writes the file atomically: `<path>.tmp-<pid>`, fsync, rename, fsync of the directory.
    public func write(to path: String) throws {
        // Validate metadata before touching the disk.
        for k in keys { try Self.validate(values[k]!, key: k) }
        let tmp = "\(path).tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw GGUFError("\(tmp): cannot create: \(String(cString: strerror(errno)))") }
        var ok = false
        defer {
            if !ok { close(fd); unlink(tmp) }
        }
        var out = FileSink(fd: fd, path: tmp)
        try writeBody(&out)
        try out.flush()
        guard fsync(fd) == 0 else { throw GGUFError("\(tmp): fsync failed: \(String(cString: strerror(errno)))") }
        guard close(fd) == 0 else {
            ok = true; unlink(tmp)
            throw GGUFError("\(tmp): close failed: \(String(cString: strerror(errno)))")
        }
        ok = true
        guard rename(tmp, path) == 0 else {
            let msg = String(cString: strerror(errno))
            unlink(tmp)
            throw GGUFError("\(path): cannot rename \(tmp) into place: \(msg)")
        }
        // Make the rename itself durable.
        let dir = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let dfd = open(dir.isEmpty ? "/" : dir, O_RDONLY)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    /// The whole file in memory (for tests and small files).
    public func serialized() throws -> [UInt8] {
        for k in keys { try Self.validate(values[k]!, key: k) }
        var out = MemorySink()
        try writeBody(&out)
        return out.bytes
    }

    private func writeBody<S: ByteSink>(_ out: inout S) throws {
        out.u32(GGUFParser.magic)
        out.u32(3)
        out.u64(UInt64(pending.count))
        out.u64(UInt64(keys.count))
        for k in keys {
            out.string(k)
            let v = values[k]!
            out.u32(v.type.rawValue)
            Self.writeValue(v, &out)
        }
        var offset = 0
        var offsets: [Int] = []
        for t in pending {
            offsets.append(offset)
            out.string(t.name)
            out.u32(UInt32(t.dims.count))
            for d in t.dims { out.u64(UInt64(d)) }
            out.u32(t.type.rawValue)
            out.u64(UInt64(offset))
            offset = (offset + t.byteCount + alignment - 1) / alignment * alignment
        }
        try out.pad(to: alignment)
        let dataStart = out.position
        for (i, t) in pending.enumerated() {
            try out.pad(to: alignment)
            precondition(out.position - dataStart == offsets[i])
            if let b = t.bytes {
                try b.withUnsafeBytes { try out.raw($0) }
            } else if let p = t.producer {
                let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: t.byteCount, alignment: 64)
                defer { buf.deallocate() }
                buf.initializeMemory(as: UInt8.self, repeating: 0)
                do { try p(buf) } catch {
                    throw GGUFError("tensor '\(t.name)': producing data failed: \(error)")
                }
                try out.raw(UnsafeRawBufferPointer(buf))
            } else if let p = t.rowProducer {
                let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: min(t.chunkRows, t.rows) * t.rowBytes, alignment: 64)
                defer { buf.deallocate() }
                var r = 0
                while r < t.rows {
                    let hi = min(t.rows, r + t.chunkRows)
                    let part = UnsafeMutableRawBufferPointer(rebasing: buf[0..<(hi - r) * t.rowBytes])
                    part.initializeMemory(as: UInt8.self, repeating: 0)
                    do { try p(r..<hi, part) } catch {
                        throw GGUFError("tensor '\(t.name)': producing rows \(r)..<\(hi) failed: \(error)")
                    }
                    try out.raw(UnsafeRawBufferPointer(part))
                    r = hi
                }
            }
        }
        // llama.cpp reads Σ padded tensor sizes of data, so the last tensor is padded too.
        if !pending.isEmpty { try out.pad(to: alignment) }
    }

    static func validate(_ v: GGUFValue, key: String) throws {
        guard case .array(let et, let items) = v else { return }
        guard et != .array else { throw GGUFError("metadata key '\(key)': arrays of arrays are not supported") }
        for item in items where item.type != et {
            throw GGUFError("metadata key '\(key)': array of \(et) holds a \(item.type)")
        }
    }

    static func writeValue<S: ByteSink>(_ v: GGUFValue, _ out: inout S) {
        switch v {
        case .uint8(let x): out.int(x)
        case .int8(let x): out.int(x)
        case .uint16(let x): out.int(x)
        case .int16(let x): out.int(x)
        case .uint32(let x): out.int(x)
        case .int32(let x): out.int(x)
        case .float32(let x): out.int(x.bitPattern)
        case .bool(let b): out.int(UInt8(b ? 1 : 0))
        case .string(let s): out.string(s)
        case .uint64(let x): out.int(x)
        case .int64(let x): out.int(x)
        case .float64(let x): out.int(x.bitPattern)
        case .array(let et, let items):
            out.u32(et.rawValue)
            out.u64(UInt64(items.count))
            for item in items { writeValue(item, &out) }
        }
    }
}

/// Where serialized bytes go: a buffered file or memory.
protocol ByteSink {
    var position: Int { get }
    mutating func bytes(_ p: UnsafeRawBufferPointer)
    mutating func raw(_ p: UnsafeRawBufferPointer) throws
}

extension ByteSink {
    mutating func int<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes($0) }
    }
    mutating func u32(_ v: UInt32) { int(v) }
    mutating func u64(_ v: UInt64) { int(v) }
    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { u in
            u64(UInt64(u.count))
            bytes(UnsafeRawBufferPointer(u))
        }
    }
    mutating func pad(to alignment: Int) throws {
        let n = (alignment - position % alignment) % alignment
        if n > 0 {
            let zeros = [UInt8](repeating: 0, count: n)
            try zeros.withUnsafeBytes { try raw($0) }
        }
    }
}

struct MemorySink: ByteSink {
    var bytes: [UInt8] = []
    var position: Int { bytes.count }
    mutating func bytes(_ p: UnsafeRawBufferPointer) { bytes.append(contentsOf: p) }
    mutating func raw(_ p: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: p) }
}

/// Buffers small writes; large raw writes go straight to the file. Write errors surface at the next `raw`/`flush`.
struct FileSink: ByteSink {
    let fd: Int32
    let path: String
    var buffer: [UInt8] = []
    var position = 0
    var failure: String?

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
        buffer.reserveCapacity(1 << 20)
    }

    mutating func bytes(_ p: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: p)
        position += p.count
        if buffer.count >= 1 << 20 { try? flush() }
    }

    mutating func raw(_ p: UnsafeRawBufferPointer) throws {
        try flush()
        try writeAll(p)
        position += p.count
    }

    mutating func flush() throws {
        if let f = failure { throw GGUFError("\(path): write failed: \(f)") }
        if buffer.isEmpty { return }
        let b = buffer
        buffer.removeAll(keepingCapacity: true)
        try b.withUnsafeBytes { try writeAll($0) }
    }

    private mutating func writeAll(_ p: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < p.count {
            let n = write(fd, p.baseAddress! + done, p.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                failure = String(cString: strerror(errno))
                throw GGUFError("\(path): write failed: \(failure!)")
            }
            done += n
        }
    }
}
