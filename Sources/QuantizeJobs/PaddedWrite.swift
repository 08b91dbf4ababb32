import Foundation
import GGUF

/// Writes `writer`'s file at `path` atomically, with the data section padded to the alignment after
/// the last tensor too.
///
/// Workaround: `GGUFWriter.write` pads before each tensor but not after the last one, and llama.cpp's
/// reader (`gguf_init_from_reader`) expects Σ padded tensor sizes of data, so it rejects a file whose
/// last tensor is not a multiple of the alignment ("failed to read tensor data binary blob"): e.g. an
/// imatrix ending in a 4-byte `.counts` tensor. The file is written under a temporary name, padded,
/// fsync'd and renamed onto `path`.
func writeGGUF(_ writer: GGUFWriter, to path: String) throws {
    let tmp = "\(path).partial-\(getpid())"
    try writer.write(to: tmp)
    do {
        let size = (try FileManager.default.attributesOfItem(atPath: tmp)[.size] as? Int) ?? 0
        let pad = (writer.alignment - size % writer.alignment) % writer.alignment
        if pad > 0 {
            guard let h = FileHandle(forWritingAtPath: tmp) else { throw QuantizeError.io("\(tmp): cannot open for padding") }
            defer { try? h.close() }
            try h.seekToEnd()
            try h.write(contentsOf: Data(count: pad))
            try h.synchronize()
        }
        guard rename(tmp, path) == 0 else { throw QuantizeError.io("\(path): cannot rename \(tmp) into place: \(String(cString: strerror(errno)))") }
    } catch {
        unlink(tmp)
        throw error
    }
}
