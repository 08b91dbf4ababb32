import Foundation
import Inference
import Reasoning
import Testing
import Tokenizers
@testable import GenerateJobs

/// A tiny random-weight qwen2 model (vocabulary with <think>/</think>), loaded once per engine size.
enum TinyGen {
    static let path: String = {
        let p = NSTemporaryDirectory() + "tokenmill-gen-tiny-\(getpid()).gguf"
        if !FileManager.default.fileExists(atPath: p) { try! TinyModel.write(arch: "qwen2", type: .f32, path: p, seed: 7) }
        return p
    }()

    static func loaded(sequences: Int) throws -> LoadedModel {
        try LoadedModel(path: path, threads: 1, maxSequences: sequences, contextLength: 256)
    }
}

func rawPayload(_ prompt: String, thinking: Int?, answer: Int?, closeMarker: String? = nil) -> GeneratePayload {
    var p = GeneratePayload(model: TinyGen.path, prompt: prompt)
    p.chat = false
    p.budget = .init(policy: "fixed")
    p.budget?.thinking = thinking
    p.budget?.answer = answer
    if thinking == nil { p.budget?.policy = "unlimited" }
    if let closeMarker { p.markers = .init(open: nil, close: closeMarker, transition: nil) }
    return p
}

/// Checks a cut at `budget` thinking tokens followed by exactly `injected`: the cut comes at the
/// budget, or up to 4 tokens later when the budget's last token left a character half-written.
func expectCut(_ out: GenerationOutput, at budget: Int, injected: [Int32], tokenizer: Tokenizer) {
    let first = out.tokenIDs.prefix(budget).flatMap { tokenizer.pieceBytes($0) }
    if UTF8Boundary.incompleteSuffixLength(first) == 0 {
        #expect(out.thinkingTokens == budget)
    } else {
        #expect(out.thinkingTokens > budget && out.thinkingTokens <= budget + 4)
    }
    #expect(Array(out.tokenIDs.dropFirst(out.thinkingTokens).prefix(injected.count)) == injected)
    #expect(out.forcedTokens == injected.count)
}

let handler = GenerateHandler(models: ModelCache(threads: 1, maxSequences: 1, contextLength: 256))

@Test func budgetIsCutAtTheConfiguredCountWithTransitionAndMarkerInserted() async throws {
    let m = try TinyGen.loaded(sequences: 1)
    defer { m.engine.shutdown() }
    let out = try await handler.generate(rawPayload("Q: 2+3? <think>", thinking: 6, answer: 5), jobID: 1, batchID: nil,
                                         loaded: m, context: nil)
    #expect(out.budgetHit)
    #expect(out.finishReason == .budget || out.finishReason == .length)
    // Exactly 6 thinking tokens, unless the 6th left a character half-written (then up to 4 more).
    let close = m.tokenizer.encode("</think>", addSpecial: false)
    let transition = m.tokenizer.encode(ThinkingMarkers.defaultTransitionText, addSpecial: false)
    expectCut(out, at: 6, injected: transition + close, tokenizer: m.tokenizer)
    #expect(out.answerTokens <= 5)
    // Every generated token is accounted for: thinking + forced + answer (+ one stop token at most).
    let accounted = out.thinkingTokens + out.forcedTokens + out.answerTokens
    #expect(out.tokenIDs.count == accounted || out.tokenIDs.count == accounted + 1)
}

@Test func selfClosedThinkingIsLeftAlone() async throws {
    let m = try TinyGen.loaded(sequences: 1)
    defer { m.engine.shutdown() }
    // Find what the model says unprompted, then declare one of its own tokens the closing marker:
    // it then closes its thinking by itself, and nothing must be injected.
    let free = try await handler.generate(rawPayload("Q: 7*8? <think>", thinking: nil, answer: 40), jobID: 2,
                                          batchID: nil, loaded: m, context: nil)
    let ids = free.tokenIDs
    let k = try #require((2..<min(ids.count, 30)).first { i in
        let text = m.tokenizer.decode([ids[i]])
        return !ids[..<i].contains(ids[i]) && m.tokenizer.encode(text, addSpecial: false) == [ids[i]]
            && !text.isEmpty && text.unicodeScalars.allSatisfy { $0.value >= 0x21 && $0.value < 0x7f }
    })
    let marker = m.tokenizer.decode([ids[k]])
    let out = try await handler.generate(rawPayload("Q: 7*8? <think>", thinking: 100, answer: 10, closeMarker: marker),
                                         jobID: 3, batchID: nil, loaded: m, context: nil)
    #expect(!out.budgetHit)
    #expect(out.thinkingTokens == k)
    #expect(out.forcedTokens == 0)
    #expect(Array(out.tokenIDs.prefix(k + 1)) == Array(ids.prefix(k + 1)))
}

@Test func batchedRunGivesTheSameGreedyOutputAsOneByOne() async throws {
    let prompts = ["Q: 1+1? <think>", "Q: what is 12*12? <think>", "Explain gravity. <think>", "Q: 9-4? <think>"]
    let single = try TinyGen.loaded(sequences: 1)
    var alone: [[Int32]] = []
    for (i, p) in prompts.enumerated() {
        let o = try await handler.generate(rawPayload(p, thinking: 5 + i, answer: 6), jobID: Int64(i), batchID: nil,
                                           loaded: single, context: nil)
        alone.append(o.tokenIDs)
    }
    single.engine.shutdown()
    let batched = try TinyGen.loaded(sequences: 4)
    defer { batched.engine.shutdown() }
    let together = try await withThrowingTaskGroup(of: (Int, [Int32]).self) { group in
        for (i, p) in prompts.enumerated() {
            group.addTask {
                let o = try await handler.generate(rawPayload(p, thinking: 5 + i, answer: 6), jobID: Int64(i),
                                                   batchID: nil, loaded: batched, context: nil)
                return (i, o.tokenIDs)
            }
        }
        var r = [[Int32]](repeating: [], count: prompts.count)
        for try await (i, ids) in group { r[i] = ids }
        return r
    }
    #expect(together == alone)
}

@Test func promptLongerThanTheContextFailsClearly() async throws {
    let m = try TinyGen.loaded(sequences: 1)
    defer { m.engine.shutdown() }
    let long = String(repeating: "word ", count: 400)
    await #expect(throws: GenerateError.self) {
        _ = try await handler.generate(rawPayload(long, thinking: 4, answer: 4), jobID: 9, batchID: nil, loaded: m, context: nil)
    }
}

@Test func payloadDifficultyResolution() throws {
    var p = GeneratePayload(model: "m", prompt: "What is 2 + 3?")
    #expect(p.resolvedDifficulty().1 == "estimate")
    p.difficulty = .init("4")
    #expect(p.resolvedDifficulty().0 == .hard)
    let json = #"{"model":"m","prompt":"x","difficulty":2}"#
    let q = try JSONDecoder().decode(GeneratePayload.self, from: Data(json.utf8))
    #expect(q.resolvedDifficulty().0 == .easy && q.resolvedDifficulty().1 == "tag")
    var t = GeneratePayload(model: "m", prompt: "x")
    t.budget = .init(policy: "per_difficulty")
    t.budget?.table = ["easy": .init(thinking: 3, answer: nil)]
    #expect(try t.staticPolicy().budget(for: .easy) == Budget(thinking: 3, answer: BudgetPolicy.defaultTable[.easy]!.answer))
    t.budget?.policy = "sometimes"
    #expect(throws: GenerateError.self) { try t.staticPolicy() }
}

/// Models spell `</think>` with ordinary tokens more often than with the marker's own ids: the
/// controller matches the marker in the decoded text too, and does not charge its pieces.
@Test func closingMarkerSpelledWithOtherTokensIsRecognised() throws {
    let m = try TinyGen.loaded(sequences: 1)
    defer { m.engine.shutdown() }
    let tk = m.tokenizer
    let markers = ThinkingMarkers(open: [TinyModel.Special.thinkStart], close: [TinyModel.Special.thinkEnd], transition: [])
    let forcer = BudgetForcer(markers: markers, budget: Budget(thinking: 50, answer: 10), startsInThinking: true)
    let c = BudgetController(forcer: forcer, tokenizer: tk)
    // "ab" then "</think>" in plain byte-level pieces, then "x" as the answer.
    let pieces = ["a", "b", "</", "thi", "nk", ">", "\n", "x"].map { tk.encode($0, addSpecial: false, parseSpecial: false) }
    var n = 0
    for ids in pieces {
        for id in ids {
            n += 1
            _ = c.next(token: id, context: ControlContext(sampledCount: n, generatedCount: n, isStopToken: false))
        }
    }
    #expect(c.forcer.phase == .answering)
    #expect(c.forcer.closedNaturally)
    let thinkingIDs = pieces[0] + pieces[1]
    #expect(c.forcer.thinkingTokens == thinkingIDs.count)
    let markerCount = pieces[2...5].reduce(0) { $0 + $1.count }
    #expect(c.parts.filter { $0 == .marker }.count == markerCount)
    #expect(c.parts.last == .answer)
}
