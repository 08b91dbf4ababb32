import Foundation
import PostgresClient
import Queue
import Testing
import TestSupport
@testable import QuantizeJobs

/// The handler's result statements against the real migrations, in a throwaway database.
@Suite struct DatabaseTests {
    @Test func resultRowsFeedTheScoreboard() async throws {
        let db = try await TestDatabase()
        func row(_ t: String, kld: Double, bytes: Int) -> QuantizationRow {
            let rep = QuantizeReport(source: "/m/src.gguf", destination: "/m/src-\(t).gguf", fileType: t, sourceBytes: 1000,
                                     outputBytes: bytes, elements: 1000, bitsPerWeight: Double(bytes * 8) / 1000, seconds: 1.5,
                                     tensorTypes: ["q6_K": 1, "f32": 2], fallbacks: 0, requantized: false, usedImatrix: false,
                                     warnings: ["a 'quoted' warning"])
            let ev = EvalResult(tokensScored: 63, chunks: 1, contextLength: 128, perplexity: 10 * (1 + kld), basePerplexity: 10,
                                perplexityRatio: 1 + kld, meanKLD: kld, medianKLD: kld / 2, p99KLD: kld * 5, maxKLD: kld * 9,
                                top1Agreement: 1 - kld, seconds: 2)
            return QuantizationRow(source: "/m/src.gguf", reference: "/m/src.gguf", sourceNote: nil, quantType: t,
                                   outputPath: rep.destination, imatrix: nil, report: rep, evalText: "/t.txt", eval: ev, reused: false)
        }
        for r in [row("Q2_K", kld: 0.45, bytes: 330), row("Q8_0", kld: 0.0014, bytes: 1060), row("Q4_K_M", kld: 0.031, bytes: 600)] {
            let s = try r.insertStatement(jobID: 7)
            _ = try await db.pool.query(s.sql, s.params)
            _ = try await db.pool.query(s.sql, s.params)  // a replayed completion inserts nothing twice
        }
        let res = try await db.pool.query("SELECT quant_type, kld_rank::int, mean_kld FROM tokenmill.quantization_scoreboard ORDER BY kld_rank")
        let types = try res.rows.map { try $0.decode(0, as: String.self) }
        #expect(types == ["Q8_0", "Q4_K_M", "Q2_K"])
        #expect(try res.rows.map { try $0.decode(1, as: Int.self) } == [1, 2, 3])
        let n = try await db.pool.query("SELECT count(*)::int FROM tokenmill.quantization_results")
        #expect(try n.rows[0].decode(0, as: Int.self) == 3)
        await db.drop()
    }
}
