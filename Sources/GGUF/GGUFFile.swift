#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TensorKernels

/// Why a GGUF file could not be read. Every case names the file part at fault.
public struct GGUFError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A tensor described by a GGUF file's tensor-info table.
public struct GGUFTensorInfo: Sendable {
    public let name: String
    /// Dimensions, `dims[0]` being the contiguous row length (ggml's `ne`).
    public let dims: [Int]
    public let type: GGMLType
    /// Offset of the data from the start of the data section.
    public let offset: Int

    public var elementCount: Int { dims.reduce(1, *) }
    public var byteCount: Int { type.byteCount(elements: elementCount) }
    /// Number of rows (`elementCount / dims[0]`).
    public var rowCount: Int { dims.isEmpty ? 1 : elementCount / dims[0] }
}

/// A GGUF file, memory-mapped and read in place (versions 2 and 3).
///
/// Weights are never copied: `data(for:)` points into the mapping, which lives as long as this object.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    /// Metadata in file order.
    public let metadataKeys: [String]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Byte offset of the data section in the file.
    public let dataOffset: Int
    public let fileSize: Int

    private let base: UnsafeRawPointer
    private let tensorIndex: [String: Int]
    /// Scalar metadata, decoded at open.
    private let scalars: [String: GGUFValue]
    /// Array metadata, checked at open and decoded from the mapping when read: a tokenizer's
    /// vocabulary and merges (150k entries each on Qwen2) are then not held as Swift values for
    /// as long as the model is loaded, only while the tokenizer is built from them.
    private let arrays: [String: GGUFArraySpan]

    /// Maps and parses the file at `path`. Throws `GGUFError` for a missing, truncated, corrupt or unsupported file.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw GGUFError("\(path): cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw GGUFError("\(path): cannot stat: \(String(cString: strerror(errno)))") }
        let size = Int(st.st_size)
        guard size >= 24 else { throw GGUFError("\(path): not a GGUF file (only \(size) bytes)") }
        guard let map = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), map != MAP_FAILED else {
            throw GGUFError("\(path): cannot mmap: \(String(cString: strerror(errno)))")
        }
        do {
            let parsed = try GGUFParser.parse(UnsafeRawBufferPointer(start: map, count: size), path: path)
            self.version = parsed.version
            self.metadataKeys = parsed.keys
            self.scalars = parsed.scalars
            self.arrays = parsed.arrays
            self.tensors = parsed.tensors
            self.alignment = parsed.alignment
            self.dataOffset = parsed.dataOffset
        } catch {
            munmap(map, size)
            throw error
        }
        self.fileSize = size
        self.base = UnsafeRawPointer(map)
        var index: [String: Int] = [:]
        for (i, t) in tensors.enumerated() { index[t.name] = i }
        self.tensorIndex = index
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), fileSize)
    }

    /// The tensor info named `name`, if present.
    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// A pointer to the tensor's data inside the mapping.
    public func data(for tensor: GGUFTensorInfo) -> UnsafeRawPointer {
        base + dataOffset + tensor.offset
    }

    /// Hints the kernel to read a tensor's pages ahead (for warm-up).
    public func prefetch(_ tensor: GGUFTensorInfo) {
        let page = 4096
        let start = (dataOffset + tensor.offset) / page * page
        let end = dataOffset + tensor.offset + tensor.byteCount
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, Int32(MADV_WILLNEED))
    }

    /// Drops the tensor's bytes `bytes` from the process's resident memory (whole pages inside them
    /// only): for a tensor copied elsewhere at load (repacked or copied, slice by slice), so its mapped
    /// pages do not count twice. Reading them again later faults them back in from the file.
    public func release(_ tensor: GGUFTensorInfo, bytes: Range<Int>) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (dataOffset + tensor.offset + bytes.lowerBound + page - 1) / page * page
        let end = (dataOffset + tensor.offset + bytes.upperBound) / page * page
        if end > start { _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, Int32(MADV_DONTNEED)) }
    }

    // MARK: Typed metadata access

    /// The metadata value of `key`, or nil if absent. An array is decoded from the file on each call.
    public func value(_ key: String) -> GGUFValue? {
        if let v = scalars[key] { return v }
        guard let span = arrays[key] else { return nil }
        let whole = UnsafeRawBufferPointer(start: base, count: fileSize)
        var r = ByteReader(buf: whole, path: path, pos: span.start)
        var items: [GGUFValue] = []
        items.reserveCapacity(span.count)
        // The walk at open checked every element, so this read cannot fail.
        for _ in 0..<span.count { items.append(try! r.value(span.elementType, context: key)) }
        return .array(elementType: span.elementType, items)
    }

    /// Every metadata value by key, arrays decoded (a copy made on each call: to read one key, use `value(_:)`).
    public var metadata: [String: GGUFValue] {
        var all = scalars
        for k in arrays.keys { all[k] = value(k) }
        return all
    }

    /// The element count of an array value, without decoding it (nil if absent or not an array).
    public func arrayCount(_ key: String) -> Int? { arrays[key]?.count }

    public func string(_ key: String) -> String? { scalars[key]?.stringValue }
    public func int(_ key: String) -> Int? { scalars[key]?.intValue }
    public func double(_ key: String) -> Double? { scalars[key]?.doubleValue }
    public func bool(_ key: String) -> Bool? { scalars[key]?.boolValue }
    public func array(_ key: String) -> [GGUFValue]? { value(key)?.arrayValue }

    /// A string array (e.g. `tokenizer.ggml.tokens`), or nil if absent or not all strings.
    public func stringArray(_ key: String) -> [String]? {
        guard let a = array(key) else { return nil }
        var out: [String] = []
        out.reserveCapacity(a.count)
        for v in a {
            guard let s = v.stringValue else { return nil }
            out.append(s)
        }
        return out
    }

    /// A required integer, with an error naming the key when missing.
    public func requireInt(_ key: String) throws -> Int {
        guard let v = int(key) else { throw GGUFError("\(path): missing or non-integer metadata key '\(key)'") }
        return v
    }

    /// A required string, with an error naming the key when missing.
    public func requireString(_ key: String) throws -> String {
        guard let v = string(key) else { throw GGUFError("\(path): missing or non-string metadata key '\(key)'") }
        return v
    }

    /// `general.architecture`.
    public var architecture: String? { string("general.architecture") }
}

/// Parses the GGUF header, metadata and tensor infos from a byte buffer.
enum GGUFParser {
    struct Parsed {
        var version: UInt32
        var keys: [String]
        var scalars: [String: GGUFValue]
        var arrays: [String: GGUFArraySpan]
        var tensors: [GGUFTensorInfo]
        var alignment: Int
        var dataOffset: Int
    }

    static let magic: UInt32 = 0x4655_4747  // "GGUF" little-endian

    static func parse(_ buf: UnsafeRawBufferPointer, path: String) throws -> Parsed {
        var r = ByteReader(buf: buf, path: path)
        let m = try r.u32("magic")
        guard m == magic else { throw GGUFError("\(path): not a GGUF file (bad magic)") }
        let version = try r.u32("version")
        guard version == 2 || version == 3 else {
            throw GGUFError("\(path): unsupported GGUF version \(version) (supported: 2, 3)")
        }
        let nTensors = try r.u64("tensor count")
        let nKV = try r.u64("metadata count")
        // Every entry takes at least 8 bytes; anything more is corruption.
        guard nTensors < UInt64(buf.count / 8), nKV < UInt64(buf.count / 8) else {
            throw GGUFError("\(path): corrupt header (tensor count \(nTensors), metadata count \(nKV))")
        }
        var keys: [String] = []
        var scalars: [String: GGUFValue] = [:]
        var arrays: [String: GGUFArraySpan] = [:]
        for i in 0..<Int(nKV) {
            let key = try r.string("metadata key #\(i)")
            let rawType = try r.u32("type of '\(key)'")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw GGUFError("\(path): metadata key '\(key)' has unknown type \(rawType)")
            }
            guard scalars[key] == nil, arrays[key] == nil else {
                throw GGUFError("\(path): metadata key '\(key)' appears twice")
            }
            if type == .array {
                arrays[key] = try r.skipArray(context: key)
            } else {
                scalars[key] = try r.value(type, context: key)
            }
            keys.append(key)
        }
        var alignment = 32
        if arrays["general.alignment"] != nil || scalars["general.alignment"] != nil {
            guard let v = scalars["general.alignment"]?.intValue, v > 0, v & (v - 1) == 0 else {
                throw GGUFError("\(path): metadata key 'general.alignment' must be a power of two")
            }
            alignment = v
        }
        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(Int(nTensors))
        for i in 0..<Int(nTensors) {
            let name = try r.string("name of tensor #\(i)")
            let nDims = try r.u32("dimension count of tensor '\(name)'")
            guard nDims >= 1, nDims <= 4 else {
                throw GGUFError("\(path): tensor '\(name)' has \(nDims) dimensions (1 to 4 supported)")
            }
            var dims: [Int] = []
            for _ in 0..<nDims {
                let d = try r.u64("dimensions of tensor '\(name)'")
                guard d > 0, d < 1 << 40 else { throw GGUFError("\(path): tensor '\(name)' has a bad dimension \(d)") }
                dims.append(Int(d))
            }
            let rawType = try r.u32("type of tensor '\(name)'")
            guard let type = GGMLType(rawValue: rawType) else {
                throw GGUFError("\(path): tensor '\(name)' has unsupported type \(rawType)")
            }
            let offset = try r.u64("offset of tensor '\(name)'")
            guard dims[0] % type.blockSize == 0 else {
                throw GGUFError("\(path): tensor '\(name)' row length \(dims[0]) is not a multiple of \(type)'s block size \(type.blockSize)")
            }
            guard offset <= UInt64(buf.count) else {
                throw GGUFError("\(path): tensor '\(name)' offset \(offset) lies beyond the end of the file (\(buf.count) bytes)")
            }
            guard offset % UInt64(alignment) == 0 else {
                throw GGUFError("\(path): tensor '\(name)' offset \(offset) is not aligned to \(alignment)")
            }
            let (elements, overflow) = dims.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d)
                return (p, acc.1 || o)
            }
            guard !overflow, elements < 1 << 48 else { throw GGUFError("\(path): tensor '\(name)' is impossibly large") }
            tensors.append(GGUFTensorInfo(name: name, dims: dims, type: type, offset: Int(offset)))
        }
        let dataOffset = (r.pos + alignment - 1) / alignment * alignment
        for t in tensors {
            let end = dataOffset + t.offset + t.byteCount
            guard end <= buf.count else {
                throw GGUFError("\(path): truncated file: tensor '\(t.name)' ends at byte \(end) but the file has \(buf.count) bytes")
            }
        }
        return Parsed(version: version, keys: keys, scalars: scalars, arrays: arrays, tensors: tensors,
                      alignment: alignment, dataOffset: dataOffset)
    }
}

/// A bounds-checked little-endian reader whose errors name what was being read.
struct ByteReader {
    let buf: UnsafeRawBufferPointer
    let path: String
    var pos = 0

    init(buf: UnsafeRawBufferPointer, path: String, pos: Int = 0) {
        self.buf = buf
        self.path = path
        self.pos = pos
    }

    mutating func need(_ n: Int, _ what: String) throws {
        guard n >= 0, pos <= buf.count - n else {
            throw GGUFError("\(path): truncated file while reading \(what) at byte \(pos)")
        }
    }

    mutating func load<T: FixedWidthInteger>(_: T.Type, _ what: String) throws -> T {
        try need(MemoryLayout<T>.size, what)
        let v = buf.loadUnaligned(fromByteOffset: pos, as: T.self)
        pos += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    mutating func u32(_ what: String) throws -> UInt32 { try load(UInt32.self, what) }
    mutating func u64(_ what: String) throws -> UInt64 { try load(UInt64.self, what) }

    mutating func string(_ what: String) throws -> String {
        let bytes = try skipString(what)
        return String(decoding: UnsafeRawBufferPointer(rebasing: buf[bytes]), as: UTF8.self)
    }

    /// Checks a string's length against the file and steps past it, returning where its bytes lie.
    mutating func skipString(_ what: String) throws -> Range<Int> {
        let n = try u64("length of \(what)")
        guard n <= UInt64(buf.count) else { throw GGUFError("\(path): corrupt length \(n) of \(what) at byte \(pos)") }
        try need(Int(n), what)
        defer { pos += Int(n) }
        return pos..<pos + Int(n)
    }

    mutating func value(_ type: GGUFValueType, context: String) throws -> GGUFValue {
        let what = "value of '\(context)'"
        switch type {
        case .uint8: return .uint8(try load(UInt8.self, what))
        case .int8: return .int8(try load(Int8.self, what))
        case .uint16: return .uint16(try load(UInt16.self, what))
        case .int16: return .int16(try load(Int16.self, what))
        case .uint32: return .uint32(try load(UInt32.self, what))
        case .int32: return .int32(try load(Int32.self, what))
        case .float32: return .float32(Float(bitPattern: try load(UInt32.self, what)))
        case .bool:
            let b = try load(UInt8.self, what)
            guard b <= 1 else { throw GGUFError("\(path): metadata key '\(context)' has bad bool \(b)") }
            return .bool(b == 1)
        case .string: return .string(try string(what))
        case .uint64: return .uint64(try load(UInt64.self, what))
        case .int64: return .int64(try load(Int64.self, what))
        case .float64: return .float64(Double(bitPattern: try load(UInt64.self, what)))
        case .array:
            throw GGUFError("\(path): metadata key '\(context)' is an array nested in an array")
        }
    }

    /// Checks an array value (its element type, count, and every element: string lengths, bools)
    /// and steps past it, returning where its elements lie.
    mutating func skipArray(context: String) throws -> GGUFArraySpan {
        let rawType = try u32("element type of '\(context)'")
        guard let elementType = GGUFValueType(rawValue: rawType), elementType != .array else {
            throw GGUFError("\(path): metadata key '\(context)' has unsupported array element type \(rawType)")
        }
        let count = try u64("element count of '\(context)'")
        guard count <= UInt64(buf.count - pos) else {
            throw GGUFError("\(path): metadata key '\(context)' claims \(count) elements, more than the file holds")
        }
        let span = GGUFArraySpan(elementType: elementType, count: Int(count), start: pos)
        let what = "value of '\(context)'"
        switch elementType {
        case .string:
            for _ in 0..<span.count { _ = try skipString(what) }
        case .bool:
            for _ in 0..<span.count { _ = try value(.bool, context: context) }
        default:
            let size = elementType.fixedSize!
            try need(span.count * size, what)
            pos += span.count * size
        }
        return span
    }
}

/// Where an array metadata value's elements lie in the file.
struct GGUFArraySpan {
    var elementType: GGUFValueType
    var count: Int
    /// Byte offset of the first element.
    var start: Int
}

extension GGUFValueType {
    /// Bytes of one value of a fixed-size type (nil for string and array).
    var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }
}
