import Foundation
import GGUF
import Testing
@testable import QuantizeJobs

/// TokenMill's quantizer against llama-quantize's output for the same F32 model: every tensor gets the
/// same type and the same bytes (fixture hashes from ops/bench/quantize-fixtures.sh).
@Suite struct LlamaQuantizeParityTests {
    static func fnv(_ p: UnsafeRawPointer, _ n: Int) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        let b = p.assumingMemoryBound(to: UInt8.self)
        for i in 0..<n { h = (h ^ UInt64(b[i])) &* 0x100_0000_01b3 }
        let s = String(h, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    @Test(arguments: ["llama", "qwen2"])
    func sameTypesAndBytesAsLlamaQuantize(arch: String) throws {
        let dir = tempDir("parity-\(arch)")
        let src = dir + "/\(arch).gguf"
        try QuantTestModel.writeF32(arch: arch, path: src)
        let im = try QuantTestModel.syntheticImatrix(model: src)
        var keys = llamaQuantizeFixtures.keys.filter { $0.hasPrefix(arch + " ") }.sorted()
        #expect(keys.count == 23)
        // Every type for llama; for qwen2 (biases, tied output) a few, to keep debug tests fast.
        if arch == "qwen2" { keys = keys.filter { ["qwen2 Q8_0", "qwen2 Q4_K_M", "qwen2 Q2_K", "qwen2 Q3_K_M imat", "qwen2 F16"].contains($0) } }
        for key in keys {
            let parts = key.split(separator: " ")
            let ft = try QuantFileType.parse(String(parts[1]))
            let withIm = parts.count == 3
            let dst = dir + "/\(ft.name)\(withIm ? "-imat" : "").gguf"
            _ = try ModelQuantizer.quantize(source: src, destination: dst,
                                            options: QuantizeOptions(fileType: ft, imatrix: withIm ? im : nil, threads: 2))
            let f = try GGUFFile(path: dst)
            let expected = llamaQuantizeFixtures[key]!
            #expect(f.tensors.count == expected.count, "\(key)")
            for t in f.tensors {
                let got = "\(t.type):\(Self.fnv(f.data(for: t), t.byteCount))"
                #expect(got == expected[t.name], "\(key) \(t.name)")
            }
            try? FileManager.default.removeItem(atPath: dst)
        }
    }
}
