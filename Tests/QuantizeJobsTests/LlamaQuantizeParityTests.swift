import Foundation
import GGUF
import Inference
import Testing
import TestSupport
@testable import QuantizeJobs

/// TokenMill's quantizer against llama-quantize's output for the same F32 model: every tensor gets the
/// same type and the same bytes (fixture hashes from ops/bench/quantize-fixtures.sh).
@Suite struct LlamaQuantizeParityTests {
    /// The fixture's tensor hash: the first 16 hex digits of SHA-256 of the tensor bytes.
    static func hash(_ p: UnsafeRawPointer, _ n: Int) -> String {
        String(sha256Hex(Data(bytes: p, count: n)).prefix(16))
    }

    @Test(arguments: ["llama", "qwen2", "qwen3"])
    func sameTypesAndBytesAsLlamaQuantize(arch: String) throws {
        let dir = tempDir("parity-\(arch)")
        let src = dir + "/\(arch).gguf"
        try TinyModel.write(arch: arch, type: .f32, path: src, seed: 3, options: TinyModel.Options(kQuantShape: true))
        let im = try ImportanceMatrix.synthetic(model: src)
        var keys = llamaQuantizeFixtures.keys.filter { $0.hasPrefix(arch + " ") }.sorted()
        #expect(keys.count == 23)
        // Every type for llama; for qwen2 (biases, tied output) and qwen3 (q/k norms, wide heads) a few,
        // to keep debug tests fast.
        if arch != "llama" {
            keys = keys.filter { ["Q8_0", "Q4_K_M", "Q2_K", "Q3_K_M imat", "F16"].map { arch + " " + $0 }.contains($0) }
            #expect(keys.count == 5)
        }
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
                let got = "\(t.type):\(Self.hash(f.data(for: t), t.byteCount))"
                #expect(got == expected[t.name], "\(key) \(t.name)")
            }
            try? FileManager.default.removeItem(atPath: dst)
        }
    }
}
