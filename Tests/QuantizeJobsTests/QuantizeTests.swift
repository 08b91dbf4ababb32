import Foundation
import GGUF
import Inference
import Testing
import TensorKernels
@testable import QuantizeJobs

@Suite(.serialized) struct QuantizeTests {
    let s = Shared.shared

    func quantize(_ ft: QuantFileType, imatrix: ImportanceMatrix? = nil) throws -> (String, QuantizeReport) {
        let dst = s.dir + "/out-\(ft.name)\(imatrix == nil ? "" : "-im").gguf"
        let r = try ModelQuantizer.quantize(source: s.source, destination: dst,
                                            options: QuantizeOptions(fileType: ft, imatrix: imatrix, threads: 2))
        return (dst, r)
    }

    @Test func everyFileTypeRoundTrips() throws {
        var kld: [QuantFileType: Double] = [:]
        for ft in QuantFileType.allCases {
            let (dst, report) = try quantize(ft)
            let f = try GGUFFile(path: dst)
            #expect(f.int("general.file_type") == ft.rawValue)
            #expect(f.int("general.quantization_version") == 2)
            #expect(f.architecture == "llama")
            // Every tensor has the planned type; norms stay F32.
            let plan = try ModelQuantizer.plan(try GGUFFile(path: s.source), options: QuantizeOptions(fileType: ft))
            for p in plan { #expect(f.tensor(named: p.name)?.type == p.targetType, "\(ft) \(p.name)") }
            #expect(f.tensor(named: "blk.0.attn_norm.weight")?.type == .f32)
            #expect(report.outputBytes == f.fileSize)
            let model = try Model(file: f)
            let r = try LogitEvaluator.compare(model: model, base: s.base, threads: 2)
            #expect(r.meanKLD.isFinite && r.meanKLD >= 0)
            #expect(r.tokensScored == 15)
            kld[ft] = r.meanKLD
            print("\(ft): quantize \(String(format: "%.2f", report.seconds)) s, compare \(String(format: "%.2f", r.seconds)) s")
        }
        print("tiny-model mean KLD by type:", QuantFileType.allCases.map { "\($0.name)=\(String(format: "%.5f", kld[$0]!))" }.joined(separator: " "))
        #expect(kld[.f32]! < 1e-9)
        #expect(kld[.f16]! < kld[.q8_0]!)
        #expect(kld[.q8_0]! < kld[.q6_K]!)
        #expect(kld[.q6_K]! < kld[.q4_0]!)
        #expect(kld[.q8_0]! < kld[.q4_0]!)
        #expect(kld[.q4_0]! < kld[.q2_K]!)
        #expect(kld[.q4_K_M]! < kld[.q3_K_M]!)
        #expect(kld[.q3_K_M]! < kld[.q2_K]!)
    }

    @Test func sizesFollowBits() throws {
        let (_, q8) = try quantize(.q8_0)
        let (_, q4) = try quantize(.q4_K_M)
        let (_, q2) = try quantize(.q2_K)
        #expect(q8.bitsPerWeight > q4.bitsPerWeight && q4.bitsPerWeight > q2.bitsPerWeight)
        #expect(q8.outputBytes > q4.outputBytes && q4.outputBytes > q2.outputBytes)
        #expect(abs(q8.bitsPerWeight - 8.5) < 0.3)  // norms in F32 add a little
        #expect(q4.tensorTypes["q6_K"] ?? 0 > 0)
    }

    @Test func evaluatorKLDIsZeroForTheSameModel() throws {
        let model = try Model.load(path: s.source)
        let r = try LogitEvaluator.compare(model: model, base: s.base, threads: 2)
        #expect(r.meanKLD < 1e-9 && r.maxKLD < 1e-7)
        #expect(r.top1Agreement == 1)
        #expect(abs(r.perplexityRatio - 1) < 1e-9)
        #expect(r.perplexity > 1)
        let (dst, _) = try quantize(.q4_0)
        let q = try LogitEvaluator.compare(model: try Model.load(path: dst), base: s.base, threads: 2)
        #expect(q.meanKLD > 1e-5)
        #expect(q.p99KLD >= q.medianKLD && q.maxKLD >= q.p99KLD)
        #expect(q.top1Agreement < 1 || q.meanKLD > 0)
    }

    @Test func baseLogitsAreCachedOnDisk() throws {
        let (b, cached) = try LogitEvaluator.baseLogits(sourcePath: s.source, text: s.text, settings: s.settings, cacheDir: s.dir)
        #expect(cached)
        #expect(b.logProbs == s.base.logProbs && b.tokens == s.base.tokens)
        let (_, other) = try LogitEvaluator.baseLogits(sourcePath: s.source, text: s.text + " more", settings: s.settings, cacheDir: s.dir)
        #expect(!other)
    }

    @Test func cancelledRunLeavesNoFileAndRerunSucceeds() throws {
        let dir = tempDir("cancel")
        let dst = dir + "/model-q4_0.gguf"
        var seen = 0
        #expect(throws: QuantizeError.self) {
            _ = try ModelQuantizer.quantize(source: s.source, destination: dst, options: QuantizeOptions(fileType: .q4_0, threads: 2),
                                            progress: { done, _, _ in seen = done }, isCancelled: { seen >= 5 })
        }
        #expect(seen >= 5)
        #expect(!FileManager.default.fileExists(atPath: dst))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)  // no temp file left behind
        let r = try ModelQuantizer.quantize(source: s.source, destination: dst, options: QuantizeOptions(fileType: .q4_0, threads: 2))
        #expect(FileManager.default.fileExists(atPath: dst) && r.outputBytes > 0)
        _ = try Model.load(path: dst)
    }

    @Test func requantizingNeedsPermission() throws {
        let (q8, _) = try quantize(.q8_0)
        let dst = s.dir + "/requant.gguf"
        #expect(throws: QuantizeError.requantizeNotAllowed(path: q8, tensor: "token_embd.weight", type: "q8_0")) {
            _ = try ModelQuantizer.quantize(source: q8, destination: dst, options: QuantizeOptions(fileType: .q4_0))
        }
        #expect(!FileManager.default.fileExists(atPath: dst))
        let r = try ModelQuantizer.quantize(source: q8, destination: dst, options: QuantizeOptions(fileType: .q4_0, allowRequantize: true, threads: 2))
        #expect(r.requantized)
        #expect(r.warnings.contains { $0.contains("already quantized") })
        // Dequantizing a quantized model to F16 (the "full-precision copy" of a shipped model) also counts as requantizing.
        let f16 = try ModelQuantizer.quantize(source: q8, destination: s.dir + "/deq.gguf", options: QuantizeOptions(fileType: .f16, allowRequantize: true))
        #expect(f16.requantized && f16.tensorTypes["f16"] ?? 0 > 0)
    }

    @Test func badInputsHaveClearErrors() throws {
        let dir = tempDir("bad")
        let notModel = dir + "/notes.gguf"
        try "hello".write(toFile: notModel, atomically: true, encoding: .utf8)
        do {
            _ = try ModelQuantizer.quantize(source: notModel, destination: dir + "/x.gguf", options: QuantizeOptions(fileType: .q4_0))
            Issue.record("expected an error")
        } catch let e as QuantizeError {
            guard case .notAModel = e else { Issue.record("wrong error \(e)"); return }
            #expect(e.description.contains("notes.gguf"))
        }
        // An imatrix file is a GGUF but not a model.
        var im = ImportanceMatrix()
        let x: [Float] = [1, 2]
        x.withUnsafeBufferPointer { im.accumulate("a.weight", x: $0.baseAddress!, rows: 1, cols: 2) }
        try im.write(to: dir + "/im.gguf")
        #expect(throws: QuantizeError.self) {
            _ = try ModelQuantizer.openModel(dir + "/im.gguf")
        }
        #expect(throws: QuantizeError.textTooShort(tokens: 6, needed: 32)) {
            _ = try LogitEvaluator.chunkCount(6, s.settings)
        }
        do {
            _ = try LogitEvaluator.baseLogits(sourcePath: s.source, text: "the mill", settings: s.settings, cacheDir: nil)
            Issue.record("expected textTooShort")
        } catch let e as QuantizeError {
            guard case .textTooShort = e else { Issue.record("wrong error \(e)"); return }
            #expect(e.description.contains("fewer than the 32"))
        }
    }

    @Test func imatrixFileRoundTripsAndChangesQuantization() throws {
        let model = try Model.load(path: s.source)
        let tokens = try LogitEvaluator.tokenize(s.text, model: model.file)
        let im = try ImatrixCollector.collect(model: model, tokens: tokens, chunkSize: 32, maxChunks: 2, threads: 2)
        #expect(im.counts["blk.0.attn_q.weight"] == 64)
        #expect(im.sums["blk.1.ffn_down.weight"]?.count == model.config.ffn)
        #expect(im.sums["blk.0.attn_output.weight"]?.count == model.config.qDim)
        #expect(im.sums["output.weight"] == nil)
        #expect(im.sums.count == 2 * 7)
        // q, k and v read the same normalised input.
        #expect(im.sums["blk.1.attn_q.weight"] == im.sums["blk.1.attn_v.weight"])
        let path = s.dir + "/tiny.imatrix.gguf"
        try im.write(to: path)
        let back = try ImportanceMatrix.read(path: path)
        #expect(back.counts == im.counts)
        for (k, v) in im.sums { #expect(zip(back.sums[k]!, v).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($1)) }) }

        let (plain, _) = try quantize(.q4_K_M)
        let (withIm, rep) = try quantize(.q4_K_M, imatrix: back)
        #expect(rep.usedImatrix)
        let a = try GGUFFile(path: plain), b = try GGUFFile(path: withIm)
        let ta = a.tensor(named: "blk.0.attn_q.weight")!, tb = b.tensor(named: "blk.0.attn_q.weight")!
        #expect(memcmp(a.data(for: ta), b.data(for: tb), ta.byteCount) != 0)
        let r = try LogitEvaluator.compare(model: try Model(file: b), base: s.base, threads: 2)
        #expect(r.meanKLD.isFinite && r.meanKLD < 1)
    }
}
