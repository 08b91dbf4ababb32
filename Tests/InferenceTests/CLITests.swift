import Foundation
import Testing
import TestSupport

/// The inference commands as users and scripts call them (llama.cpp's conventions), on a tiny
/// Q8_0 model the binary writes itself.
private func tinyModel(_ name: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("tokenmill-cli-\(name)-\(getpid()).gguf").path
    let (status, _, err) = try runTokenmill(["dev-tiny-model", "--arch", "qwen2", "--type", "q8_0", "--seed", "3", "--out", path])
    try #require(status == 0, "dev-tiny-model failed: \(err)")
    return path
}

@Test func benchJSONCarriesLlamaBenchKeysAndMemory() throws {
    let model = try tinyModel("bench")
    defer { try? FileManager.default.removeItem(atPath: model) }
    let (status, out, err) = try runTokenmill(["bench", "--model", model, "-p", "8", "-n", "4", "--sequences", "1,2",
                                               "--threads", "1", "-r", "1", "--json"])
    try #require(status == 0, "bench failed: \(err)")
    let rows = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]])
    #expect(rows.count == 3) // pp8, tg4 x1, tg4 x2
    for r in rows {
        for key in ["n_prompt", "n_gen", "n_threads", "avg_ts", "stddev_ts", "n_sequences", "rss_peak_bytes", "weights_bytes", "kv_bytes"] {
            #expect(r[key] != nil, "bench --json row lacks \(key): \(r)")
        }
        #expect((r["avg_ts"] as? Double ?? 0) > 0)
        // Resident memory covers at least the mapped weights that every test reads.
        #expect((r["rss_peak_bytes"] as? Int ?? 0) >= (r["weights_bytes"] as? Int ?? .max))
        // The anonymous part is accounted: the repacked and the copied weights, the KV positions written
        // (pp8 in slot 0, tg4 in slots 0 and 1: 8 + 4 of the 2 x 16 reserved), and the rest.
        let anon = r["rss_anon_bytes"] as? Int ?? 0, repacked = r["repacked_bytes"] as? Int ?? -1
        let copied = r["copied_bytes"] as? Int ?? -1
        let kvWritten = r["kv_written_bytes"] as? Int ?? -1, other = r["other_anon_bytes"] as? Int ?? -1
        #expect(anon > 0 && repacked >= 0 && copied >= 0 && other > 0 && anon == repacked + copied + kvWritten + other, "\(r)")
        // Every matrix of this tiny model is multiplied in each decode step (its embedding is tied), so
        // each is held in memory, repacked or copied; only its 11 f32 norm and bias vectors (576 floats)
        // are not.
        #expect(repacked + copied == (r["weights_bytes"] as? Int ?? 0) - 576 * 4, "\(r)")
        #expect(kvWritten * 32 == (r["kv_bytes"] as? Int ?? 0) * 12, "\(r)")
        #expect((r["rss_file_bytes"] as? Int ?? 0) > 0)
        // The tile unit's probe comes with the amx level (whose tile figures move with a shared unit), only with it.
        #expect((r["kernels"] as? String == "amx") == ((r["amx_tile_ns"] as? Double ?? 0) > 0), "\(r)")
    }
    #expect(rows.map { $0["n_sequences"] as? Int } == [1, 1, 2])
    #expect(rows.map { $0["n_gen"] as? Int } == [0, 4, 4])
}

/// `bench -d N` (llama-bench's depth): each test starts with N positions in every sequence's KV cache,
/// filled untimed; the rows carry `n_depth`, the table names the tests "tg4 @ d6", and the KV
/// accounting counts the filled positions in every slot.
@Test func benchDepthStartsTestsAfterFilledPositions() throws {
    let model = try tinyModel("bench-depth")
    defer { try? FileManager.default.removeItem(atPath: model) }
    let (status, out, err) = try runTokenmill(["bench", "--model", model, "-p", "4", "-n", "4", "-d", "6", "--sequences", "1,2",
                                               "--threads", "1", "-r", "1", "--json"])
    try #require(status == 0, "bench -d failed: \(err)")
    let rows = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]])
    #expect(rows.count == 3)
    #expect(rows.allSatisfy { $0["n_depth"] as? Int == 6 }, "\(rows)")
    // 6 + 4 + 8 positions reserved a slot, two slots; written: slot 0 depth + 4, slot 1 depth + 4.
    for r in rows {
        let kvWritten = r["kv_written_bytes"] as? Int ?? -1, kv = r["kv_bytes"] as? Int ?? 0
        #expect(kvWritten * 2 * 18 == kv * 20, "\(r)")
    }
    let (tstatus, table, terr) = try runTokenmill(["bench", "--model", model, "-p", "0", "-n", "4", "-d", "6", "--threads", "1", "-r", "1"])
    try #require(tstatus == 0, "bench -d failed: \(terr)")
    #expect(table.contains("tg4 @ d6"), "\(table)")
}

@Test func tokenizeIdsPrintsOneJSONArray() throws {
    let model = try tinyModel("tokenize")
    defer { try? FileManager.default.removeItem(atPath: model) }
    let (status, out, err) = try runTokenmill(["tokenize", "--model", model, "--prompt", "hello world", "--ids"])
    try #require(status == 0, "tokenize failed: \(err)")
    let ids = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [Int])
    #expect(!ids.isEmpty && ids.allSatisfy { $0 >= 0 && $0 < 320 })
}

@Test func runStreamsTextToStdoutAndStatsToStderr() throws {
    let model = try tinyModel("run")
    defer { try? FileManager.default.removeItem(atPath: model) }
    let (status, _, err) = try runTokenmill(["run", "--model", model, "--prompt", "hello", "--max-tokens", "3", "--temp", "0"])
    try #require(status == 0, "run failed: \(err)")
    #expect(err.contains("memory plan:"))
    #expect(err.contains("prompt ") && err.contains("tokens/s"))
}

@Test func truncatedModelIsAClearErrorNotACrash() throws {
    let model = try tinyModel("trunc")
    defer { try? FileManager.default.removeItem(atPath: model) }
    let cut = model + ".cut"
    defer { try? FileManager.default.removeItem(atPath: cut) }
    try Data(try Data(contentsOf: URL(fileURLWithPath: model)).prefix(1000)).write(to: URL(fileURLWithPath: cut))
    for args in [["run", "--model", cut, "--prompt", "hi"], ["inspect", cut], ["bench", "--model", cut, "-r", "1"]] {
        let (status, _, err) = try runTokenmill(args)
        #expect(status == 1, "\(args[0]) on a truncated file: status \(status)")
        #expect(err.contains("truncated"), "\(args[0]): \(err)")
    }
}

/// The streaming kernels' software prefetch is a hint: always or never (`TOKENMILL_PREFETCH_FROM=1` or `=99`),
/// the same greedy text, and `inspect` says when it is not always on. A Q4_K model: on x86-64 its matrices are
/// repacked at load and run the `rows8` kernels, and its Q8_K products the row kernels, both of which prefetch.
@Test func prefetchOnOrOffGivesTheSameTextAndInspectSaysWhichIsUsed() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("tokenmill-cli-prefetch-\(getpid()).gguf").path
    let (made, _, makeErr) = try runTokenmill(["dev-tiny-model", "--arch", "qwen2", "--type", "q4_K", "--seed", "5", "--out", path])
    try #require(made == 0, "dev-tiny-model failed: \(makeErr)")
    defer { try? FileManager.default.removeItem(atPath: path) }
    var texts: [String] = []
    for setting in ["1", "99"] {
        let env = ["TOKENMILL_PREFETCH_FROM": setting]
        let (status, out, err) = try runTokenmill(["run", "--model", path, "--prompt", "hello there", "--max-tokens", "12", "--temp", "0"], env: env)
        try #require(status == 0, "run with TOKENMILL_PREFETCH_FROM=\(setting) failed: \(err)")
        texts.append(out)
        let (_, info, _) = try runTokenmill(["inspect", path], env: env)
        #if arch(x86_64)
        #expect(info.contains("software prefetch from 99 sequences") == (setting == "99"), "inspect with TOKENMILL_PREFETCH_FROM=\(setting): \(info)")
        #endif
    }
    #expect(!texts[0].isEmpty)
    #expect(texts[0] == texts[1], "greedy text differs with the prefetch off: \(texts)")
}
