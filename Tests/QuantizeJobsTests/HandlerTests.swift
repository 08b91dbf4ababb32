import Foundation
import Logging
import PostgresClient
import Queue
import QueueCore
import Testing
@testable import QuantizeJobs

/// A context whose pool never connects (the handlers only report progress through it).
func offlineContext() -> JobContext {
    JobContext(workerID: "test", pool: PostgresPool(url: "postgresql://nobody@127.0.0.1:1/none"), logger: Logger(label: "test"))
}

func claimed(_ kind: String, _ payload: String, id: Int64 = 42) -> ClaimedJob {
    ClaimedJob(id: id, batchID: nil, kind: kind, payload: Data(payload.utf8), attempt: 1, maxAttempts: 3, lockedBy: "test")
}

@Suite(.serialized) struct HandlerTests {
    let s = Shared.shared

    func permanentMessage(_ body: () async throws -> Void) async -> String? {
        do { try await body(); return nil } catch let e as JobError {
            if case .permanent(let m) = e { return m }
            return "not permanent: \(e)"
        } catch { return "other error: \(error)" }
    }

    @Test func quantizeJobWritesOneRowPerTypeAndReusesOutputsOnRetry() async throws {
        let out = tempDir("job")
        let textPath = out + "/eval.txt"
        try s.text.write(toFile: textPath, atomically: true, encoding: .utf8)
        let payload = """
            {"source": "\(s.source)", "types": ["Q8_0", "q4_k_m"], "output_dir": "\(out)", "name": "tiny",
             "eval": {"text": "\(textPath)", "context": 32, "chunks": 1}, "threads": 2}
            """
        let ctx = offlineContext()
        let r = try await QuantizeHandler().run(claimed("quantize", payload), context: ctx)
        #expect(r.statements.count == 2)
        #expect(r.statements.allSatisfy { $0.sql.contains("INSERT INTO tokenmill.quantization_results") })
        #expect(r.statements[0].params[4]?.postgresText == "Q8_0")
        #expect(r.statements[1].params[4]?.postgresText == "Q4_K_M")
        #expect(r.resultJSON?.contains("\"Q4_K_M\"") == true)
        #expect(FileManager.default.fileExists(atPath: out + "/tiny-Q4_K_M.gguf"))
        // The reference distributions were cached next to the outputs.
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).contains { $0.hasSuffix(".kldbase") })
        // A retry reuses the finished outputs and scores them again.
        let rows = try QuantizeRunner(payload: try JSONDecoder().decode(QuantizePayload.self, from: Data(payload.utf8))).run()
        #expect(rows.map(\.reused) == [true, true])
        #expect(rows[0].eval!.meanKLD < rows[1].eval!.meanKLD)
        #expect(rows[0].eval!.meanKLD > 0)
    }

    @Test func dequantizedSourceIsNoted() throws {
        let out = tempDir("deq")
        let q8 = out + "/m-q8.gguf"
        _ = try ModelQuantizer.quantize(source: s.source, destination: q8, options: QuantizeOptions(fileType: .q8_0, threads: 2))
        let rows = try QuantizeRunner(payload: QuantizePayload(source: q8, types: ["Q4_0"], output_dir: out, dequantize_source: "F16", threads: 2)).run()
        #expect(rows.count == 1)
        #expect(rows[0].reference.hasSuffix("m-q8-F16-dequantized.gguf"))
        #expect(rows[0].sourceNote?.contains("dequantized from a Q8_0") == true)
        #expect(rows[0].report.requantized == false)
        // Without the flag, the quantized source is refused.
        #expect(throws: QuantizeError.self) {
            _ = try QuantizeRunner(payload: QuantizePayload(source: q8, types: ["Q4_0"], output_dir: out + "/x", threads: 2)).run()
        }
    }

    @Test func badRequestsFailPermanently() async throws {
        let h = QuantizeHandler(threads: 2)
        let ctx = offlineContext()
        let m1 = await permanentMessage { _ = try await h.run(claimed("quantize", #"{"source": "\#(s.source)", "types": ["Q9_X"]}"#), context: ctx) }
        #expect(m1?.contains("unknown quantization type 'Q9_X'") == true)
        let m2 = await permanentMessage { _ = try await h.run(claimed("quantize", #"{"source": "/nonexistent.gguf", "types": ["Q8_0"]}"#), context: ctx) }
        #expect(m2?.contains("/nonexistent.gguf") == true)
        let dir = tempDir("short")
        try "the mill".write(toFile: dir + "/short.txt", atomically: true, encoding: .utf8)
        let m3 = await permanentMessage {
            _ = try await h.run(claimed("quantize", #"{"source": "\#(s.source)", "types": ["Q8_0"], "output_dir": "\#(dir)", "eval": {"text": "\#(dir)/short.txt", "context": 32}}"#), context: ctx)
        }
        #expect(m3?.contains("evaluation text has") == true)
        let m4 = await permanentMessage { _ = try await h.run(claimed("quantize", #"{"types": ["Q8_0"]}"#), context: ctx) }
        #expect(m4?.contains("payload does not match") == true)
    }

    @Test func imatrixJobWritesALoadableMatrix() async throws {
        let dir = tempDir("imjob")
        try s.text.write(toFile: dir + "/cal.txt", atomically: true, encoding: .utf8)
        let p = #"{"model": "\#(s.source)", "text": "\#(dir)/cal.txt", "output": "\#(dir)/im.gguf", "chunk_size": 32, "chunks": 1}"#
        let r = try await ImatrixHandler(threads: 2).run(claimed("imatrix", p), context: offlineContext())
        #expect(r.resultJSON?.contains("\"tensors\":14") == true)
        let im = try ImportanceMatrix.read(path: dir + "/im.gguf")
        #expect(im.counts["blk.1.ffn_down.weight"] == 32)
        #expect(im.datasets == [dir + "/cal.txt"])
    }

    @Test func schemasAcceptTheExamples() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("jobs/examples/quantize.jsonl"), encoding: .utf8)
        var registry = JobRegistry()
        try registry.register(QuantizeKind.self, handler: QuantizeHandler())
        try registry.register(ImatrixKind.self, handler: ImatrixHandler())
        let v = validateJSONL(text, schema: registry.schema(for: "quantize")!)
        #expect(v.bad.isEmpty && v.valid.count == 2)
        let bad = validateJSONL(#"{"source": "a.gguf", "types": ["Q9"]}"#, schema: registry.schema(for: "quantize")!)
        #expect(bad.valid.isEmpty)
    }
}
