import Foundation
import Testing
import TensorKernels
@testable import GGUF

private func tempPath(_ name: String) -> String {
    NSTemporaryDirectory() + "gguf-\(name)-\(UUID().uuidString).gguf"
}

/// A writer holding every metadata value type and a few tensors of different types and sizes.
private func sampleWriter(alignment: Int? = nil) throws -> (GGUFWriter, [String: [UInt8]]) {
    var w = GGUFWriter()
    w.add("general.architecture", .string("llama"))
    if let a = alignment { w.add("general.alignment", .uint32(UInt32(a))) }
    w.add("t.u8", .uint8(250))
    w.add("t.i8", .int8(-7))
    w.add("t.u16", .uint16(65000))
    w.add("t.i16", .int16(-32000))
    w.add("t.u32", .uint32(4_000_000_000))
    w.add("t.i32", .int32(-2_000_000_000))
    w.add("t.f32", .float32(3.25))
    w.add("t.bool", .bool(true))
    w.add("t.str", .string("héllo ✓"))
    w.add("t.u64", .uint64(1 << 60))
    w.add("t.i64", .int64(-(1 << 60)))
    w.add("t.f64", .float64(-1e-300))
    w.add("t.arr.str", .array(elementType: .string, ["a", "", "ü"].map { .string($0) }))
    w.add("t.arr.i32", .array(elementType: .int32, [1, -2, 3].map { .int32($0) }))
    w.add("t.arr.f32", .array(elementType: .float32, [0.5, -1].map { .float32($0) }))
    w.add("t.arr.empty", .array(elementType: .uint8, []))
    w.add("t.arr.bool", .array(elementType: .bool, [.bool(false), .bool(true)]))
    var data: [String: [UInt8]] = [:]
    var rng = UInt32(12345)
    func bytes(_ n: Int) -> [UInt8] {
        (0..<n).map { _ in rng = rng &* 1_103_515_245 &+ 12345; return UInt8(truncatingIfNeeded: rng >> 16) }
    }
    let specs: [(String, [Int], GGMLType)] = [
        ("a.weight", [8, 3], .f32), ("b.weight", [5], .f16), ("c.weight", [64, 2], .q8_0), ("d", [3, 1, 2], .f32),
    ]
    for (name, dims, type) in specs {
        let b = bytes(type.byteCount(elements: dims.reduce(1, *)))
        data[name] = b
        try w.addTensor(name: name, dims: dims, type: type, bytes: b)
    }
    // One tensor through the producer path.
    let e = bytes(4 * 7)
    data["e.produced"] = e
    try w.addTensor(name: "e.produced", dims: [7], type: .f32) { buf in
        buf.copyBytes(from: e)
    }
    return (w, data)
}

@Test(arguments: [nil, 32, 64, 8])
func writerRoundTripsEveryValueTypeAndTensor(alignment: Int?) throws {
    let (w, data) = try sampleWriter(alignment: alignment)
    let path = tempPath("rt")
    defer { try? FileManager.default.removeItem(atPath: path) }
    try w.write(to: path)
    let f = try GGUFFile(path: path)
    #expect(f.version == 3)
    #expect(f.alignment == (alignment ?? 32))
    #expect(f.metadataKeys == w.keys)
    #expect(f.metadata["t.u8"] == .uint8(250))
    #expect(f.metadata["t.i8"] == .int8(-7))
    #expect(f.metadata["t.u16"] == .uint16(65000))
    #expect(f.metadata["t.i16"] == .int16(-32000))
    #expect(f.metadata["t.u32"] == .uint32(4_000_000_000))
    #expect(f.metadata["t.i32"] == .int32(-2_000_000_000))
    #expect(f.metadata["t.f32"] == .float32(3.25))
    #expect(f.metadata["t.bool"] == .bool(true))
    #expect(f.string("t.str") == "héllo ✓")
    #expect(f.metadata["t.u64"] == .uint64(1 << 60))
    #expect(f.metadata["t.i64"] == .int64(-(1 << 60)))
    #expect(f.metadata["t.f64"] == .float64(-1e-300))
    #expect(f.stringArray("t.arr.str") == ["a", "", "ü"])
    #expect(f.metadata["t.arr.i32"] == .array(elementType: .int32, [.int32(1), .int32(-2), .int32(3)]))
    #expect(f.metadata["t.arr.f32"] == .array(elementType: .float32, [.float32(0.5), .float32(-1)]))
    #expect(f.metadata["t.arr.empty"] == .array(elementType: .uint8, []))
    #expect(f.value("t.arr.bool") == .array(elementType: .bool, [.bool(false), .bool(true)]))
    #expect(f.arrayCount("t.arr.str") == 3 && f.arrayCount("t.u8") == nil && f.arrayCount("absent") == nil)
    #expect(f.value("absent") == nil && f.array("t.u8") == nil)
    // Every key reads the same one at a time and all at once.
    let all = f.metadata
    #expect(Set(all.keys) == Set(f.metadataKeys))
    for k in f.metadataKeys { #expect(f.value(k) == all[k], "\(k)") }
    #expect(f.tensors.map(\.name) == ["a.weight", "b.weight", "c.weight", "d", "e.produced"])
    #expect(f.dataOffset % f.alignment == 0)
    for t in f.tensors {
        #expect(t.offset % f.alignment == 0)
        let expected = data[t.name]!
        let got = Array(UnsafeRawBufferPointer(start: f.data(for: t), count: t.byteCount))
        #expect(got == expected, "tensor \(t.name)")
    }
    #expect(f.tensor(named: "d")?.dims == [3, 1, 2])
    #expect(f.tensor(named: "c.weight")?.type == .q8_0)
    // The in-memory serialization is the same bytes as the file.
    let onDisk = try Data(contentsOf: URL(fileURLWithPath: path))
    #expect(Array(onDisk) == (try w.serialized()))
    // No temporary file is left behind.
    let dir = (path as NSString).deletingLastPathComponent
    let base = (path as NSString).lastPathComponent
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(base + ".tmp-") }
    #expect(leftovers.isEmpty)
}

@Test func writerRejectsBadInput() throws {
    var w = GGUFWriter()
    #expect(throws: GGUFError.self) { try w.addTensor(name: "x", dims: [33], type: .q8_0, bytes: []) }
    #expect(throws: GGUFError.self) { try w.addTensor(name: "x", dims: [4], type: .f32, bytes: [1, 2, 3]) }
    try w.addTensor(name: "x", dims: [1], type: .f32, bytes: [0, 0, 0, 0])
    #expect(throws: GGUFError.self) { try w.addTensor(name: "x", dims: [1], type: .f32, bytes: [0, 0, 0, 0]) }
    w.add("mixed", .array(elementType: .int32, [.int32(1), .string("no")]))
    #expect(throws: GGUFError.self) { _ = try w.serialized() }
}

@Test func writeFailureLeavesNoFileUnderFinalName() throws {
    var w = GGUFWriter()
    w.add("general.architecture", .string("llama"))
    struct Boom: Error {}
    try w.addTensor(name: "bad", dims: [4], type: .f32) { _ in throw Boom() }
    let path = tempPath("fail")
    do {
        try w.write(to: path)
        Issue.record("write should have failed")
    } catch let e as GGUFError {
        #expect(e.message.contains("'bad'"))
    }
    #expect(!FileManager.default.fileExists(atPath: path))
    #expect(!FileManager.default.fileExists(atPath: "\(path).tmp-\(getpid())"))
}

@Test func truncatedCopiesFailWithErrorsNamingThePartAtFault() throws {
    let (w, _) = try sampleWriter()
    let full = try w.serialized()
    let path = tempPath("trunc")
    defer { try? FileManager.default.removeItem(atPath: path) }
    // Every truncation point up to the end of the last tensor's data gives a GGUFError, never a crash
    // or a silently short tensor. (The writer pads after the last tensor, as llama.cpp expects; a cut in
    // that padding loses no data.)
    let parsed = try full.withUnsafeBytes { try GGUFParser.parse($0, path: "x") }
    let dataEnd = parsed.tensors.map { parsed.dataOffset + $0.offset + $0.byteCount }.max()!
    #expect(full.count % parsed.alignment == 0 && full.count - dataEnd < parsed.alignment)
    var messages: [String] = []
    for cut in stride(from: 0, to: dataEnd, by: 1) {
        do {
            _ = try full.withUnsafeBytes { try GGUFParser.parse(UnsafeRawBufferPointer(rebasing: $0[0..<cut]), path: "x") }
            Issue.record("truncation at \(cut) of \(full.count) was accepted")
        } catch let e as GGUFError {
            messages.append(e.message)
        }
    }
    // Cut inside a metadata value: the message names the key.
    #expect(messages.contains { $0.contains("'t.arr.str'") && $0.contains("truncated") })
    // Cut inside the data section: the message names the tensor.
    #expect(messages.contains { $0.contains("tensor 'e.produced'") && $0.contains("truncated") })
    // Through the file API as well.
    try Data(full.prefix(dataEnd - 3)).write(to: URL(fileURLWithPath: path))
    do {
        _ = try GGUFFile(path: path)
        Issue.record("truncated file accepted")
    } catch let e as GGUFError {
        #expect(e.message.contains("'e.produced'"), "\(e.message)")
    }
}

@Test func mangledBytesNeverCrashTheReader() throws {
    let (w, _) = try sampleWriter()
    let full = try w.serialized()
    let headerEnd = try full.withUnsafeBytes { try GGUFParser.parse($0, path: "x").dataOffset }
    var failures = 0
    for pos in 0..<headerEnd {
        for pattern: UInt8 in [0xFF, 0x00, 0x80] {
            var m = full
            if m[pos] == pattern { continue }
            m[pos] = pattern
            do {
                _ = try m.withUnsafeBytes { try GGUFParser.parse($0, path: "x") }
            } catch is GGUFError {
                failures += 1
            }
        }
    }
    #expect(failures > headerEnd / 2)
}

/// Where `s` first occurs in `bytes`.
private func offset(of s: String, in bytes: [UInt8]) -> Int {
    let needle = Array(s.utf8)
    for i in 0...(bytes.count - needle.count) where Array(bytes[i..<i + needle.count]) == needle { return i }
    fatalError("'\(s)' not found")
}

/// The parser's message for `bytes`, or nil if it accepts them.
private func parseError(_ bytes: [UInt8]) -> String? {
    do { _ = try bytes.withUnsafeBytes { try GGUFParser.parse($0, path: "x") }; return nil } catch {
        return (error as? GGUFError)?.message ?? "not a GGUFError: \(error)"
    }
}

@Test func mangledTypeAndOffsetNameTheTensorOrKey() throws {
    let (w, _) = try sampleWriter()
    let full = try w.serialized()
    func find(_ s: String) -> Int { offset(of: s, in: full) }
    // Tensor type field: after name, n_dims (4), dims (8 each).
    var m = full
    let c = find("c.weight") + "c.weight".count
    m[c + 4 + 16] = 99  // type 99 does not exist
    #expect(parseError(m)?.contains("tensor 'c.weight' has unsupported type") == true)
    // Tensor offset: huge.
    m = full
    for k in 0..<8 { m[c + 4 + 16 + 4 + k] = 0xFF }
    #expect(parseError(m)?.contains("'c.weight'") == true)
    // Metadata value type tag of t.bool.
    m = full
    let b = find("t.bool") + "t.bool".count
    m[b] = 77
    #expect(parseError(m)?.contains("'t.bool' has unknown type") == true)
    // Bool value out of range.
    m = full
    m[b + 4] = 5
    #expect(parseError(m)?.contains("'t.bool'") == true)
}

/// Arrays are decoded only when read, so whatever is wrong inside one must still be found at open.
@Test func arrayContentsAreCheckedWhenTheFileOpens() throws {
    let (w, _) = try sampleWriter()
    let full = try w.serialized()
    func find(_ s: String) -> Int { offset(of: s, in: full) }
    #expect(parseError(full) == nil)
    // The second bool of t.arr.bool (after the key: type 4, element type 4, count 8, first element 1).
    var m = full
    let b = find("t.arr.bool") + "t.arr.bool".count
    #expect(m[b + 4 + 4 + 8 + 1] == 1)
    m[b + 4 + 4 + 8 + 1] = 2
    #expect(parseError(m)?.contains("'t.arr.bool' has bad bool 2") == true)
    // The length of the first string of t.arr.str: past the end of the file.
    m = full
    let s = find("t.arr.str") + "t.arr.str".count
    m[s + 4 + 4 + 8 + 6] = 0x7F
    #expect(parseError(m)?.contains("'t.arr.str'") == true)
    // A fixed-size array whose count runs past the end.
    m = full
    let i = find("t.arr.i32") + "t.arr.i32".count
    m[i + 4 + 4 + 2] = 0x10
    #expect(parseError(m)?.contains("'t.arr.i32'") == true)
    // A key written twice (t.u16 renamed t.i16): rejected, as llama.cpp's reader does.
    m = full
    m[find("t.u16") + 2] = UInt8(ascii: "i")
    #expect(parseError(m)?.contains("'t.i16' appears twice") == true)
}

@Test func rowProducerStreamsChunksInOrder() throws {
    var w = GGUFWriter()
    w.add("general.architecture", .string("llama"))
    // 10 rows of 8 floats (32 bytes per row), chunks of 3 rows (96 bytes).
    final class Calls: @unchecked Sendable { var ranges: [Range<Int>] = [] }
    let calls = Calls()
    try w.addTensor(name: "m", dims: [8, 10], type: .f32, chunkBytes: 100) { rows, buf in
        calls.ranges.append(rows)
        let f = buf.bindMemory(to: Float.self)
        #expect(f.count == rows.count * 8)
        for (k, r) in rows.enumerated() { for c in 0..<8 { f[k * 8 + c] = Float(r * 100 + c) } }
    }
    let path = NSTemporaryDirectory() + "gguf-rows-\(UUID().uuidString).gguf"
    defer { try? FileManager.default.removeItem(atPath: path) }
    try w.write(to: path)
    #expect(calls.ranges == [0..<3, 3..<6, 6..<9, 9..<10])
    let f = try GGUFFile(path: path)
    let t = try #require(f.tensor(named: "m"))
    let v = f.data(for: t).assumingMemoryBound(to: Float.self)
    for r in 0..<10 { for c in 0..<8 { #expect(v[r * 8 + c] == Float(r * 100 + c)) } }
}
