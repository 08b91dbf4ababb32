import Foundation
import Testing
@testable import QuantizeJobs

/// What a killed attempt leaves (`<output>.tmp-<pid>`) is removed before the output is written again;
/// a temporary of a process that still runs, and other files, are left alone.
@Test func staleTemporariesOfDeadProcessesAreRemoved() throws {
    let dir = tempDir("tmpfiles")
    let dead = Process()
    dead.executableURL = URL(fileURLWithPath: "/bin/true")
    try dead.run()
    dead.waitUntilExit()
    let out = dir + "/m-Q8_0.gguf"
    let stale = out + ".tmp-\(dead.processIdentifier)"
    let live = out + ".tmp-1"              // pid 1 always runs
    let own = out + ".tmp-\(getpid())"      // this process: maybe writing it right now
    let other = dir + "/m-Q4_0.gguf.tmp-\(dead.processIdentifier)"
    for f in [stale, live, own, other, out + ".tmp-notapid"] { _ = FileManager.default.createFile(atPath: f, contents: Data([1])) }
    QuantizeRunner.removeStaleTemporaries(of: out)
    let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir))
    #expect(left == ["m-Q8_0.gguf.tmp-1", "m-Q8_0.gguf.tmp-\(getpid())", "m-Q4_0.gguf.tmp-\(dead.processIdentifier)", "m-Q8_0.gguf.tmp-notapid"])
}
