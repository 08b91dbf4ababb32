import Foundation
import Testing
@testable import GGUF

@Test func rejectsNonGGUFFileWithClearError() throws {
    let path = NSTemporaryDirectory() + "not-gguf-\(UUID().uuidString).bin"
    try Data(repeating: 7, count: 64).write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    #expect(throws: GGUFError.self) { try GGUFFile(path: path) }
    do { _ = try GGUFFile(path: path) } catch let e as GGUFError {
        #expect(e.message.contains("bad magic"))
    }
}
