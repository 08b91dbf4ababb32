import Foundation
import GGUF
import TensorKernels
@testable import Inference

/// Tiny models written once per process into a temp directory.
enum Tiny {
    nonisolated(unsafe) private static var cache: [String: Model] = [:]
    private static let lock = NSLock()
    static let dir: String = {
        let d = NSTemporaryDirectory() + "tokenmill-tiny-\(getpid())"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    static func path(_ arch: String, _ type: GGMLType = .f32, seed: UInt64 = 1) throws -> String {
        let p = "\(dir)/\(arch)-\(type)-\(seed).gguf"
        lock.lock()
        defer { lock.unlock() }
        if !FileManager.default.fileExists(atPath: p) {
            try TinyModel.write(arch: arch, type: type, path: p, seed: seed)
        }
        return p
    }

    static func model(_ arch: String, _ type: GGMLType = .f32, seed: UInt64 = 1) throws -> Model {
        let p = try path(arch, type, seed: seed)
        lock.lock()
        defer { lock.unlock() }
        if let m = cache[p] { return m }
        let m = try Model.load(path: p)
        cache[p] = m
        return m
    }
}

/// Max |a - b| over two equal-length sequences.
func maxAbsDiff<A: Collection, B: Collection>(_ a: A, _ b: B) -> Float where A.Element == Float, B.Element == Float {
    precondition(a.count == b.count)
    var m: Float = 0
    for (x, y) in zip(a, b) { m = max(m, abs(x - y)) }
    return m
}

/// A fixed pseudo-random prompt of `n` ids below `vocab`.
func prompt(_ n: Int, seed: UInt64, vocab: Int = 314) -> [Int32] {
    var r = SplitMix64(seed: seed)
    return (0..<n).map { _ in Int32(r.next() % UInt64(vocab)) }
}

/// Runs `tokens` one at a time through a fresh single-sequence engine; returns each step's logits.
func logitsOneByOne(_ model: Model, _ tokens: [Int32], kv: KVCacheType = .f32) throws -> [[Float]] {
    let e = InferenceEngine(model: model, threads: testThreads, maxSequences: 1, contextLength: 64, kvType: kv)
    var out: [[Float]] = []
    for (p, t) in tokens.enumerated() {
        try e.forward([BatchToken(seq: 0, token: t, pos: p, wantLogits: true)])
        out.append(Array(e.logits(row: 0)))
    }
    return out
}

func argmax(_ v: [Float]) -> Int32 {
    var b = 0
    for i in v.indices where v[i] > v[b] { b = i }
    return Int32(b)
}

/// Compute threads for test engines. Tests run in parallel on a 2-core machine, and every engine
/// has its own pool (whose idle workers spin before parking), so most tests use one thread; the
/// multi-threaded paths have their own tests (`twoThreadsGiveTheSameLogitsAsOne`, greedy batched).
let testThreads = 1
