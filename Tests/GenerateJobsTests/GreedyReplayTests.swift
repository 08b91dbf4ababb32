import Foundation
import Inference
import Reasoning
import Testing
@testable import GenerateJobs

/// Replay walks a controller over a stored greedy path: it stops where the controller departs from it.
@Test func greedyReplayWalkStopsWhereTheControllerActs() throws {
    let m = try TinyGen.loaded(sequences: 1)
    defer { m.engine.shutdown() }
    let tk = m.tokenizer
    let markers = ThinkingMarkers.plain(transition: [1, 2], answerPrefix: [3])
    let path = tk.encode("one two three four five six seven eight", addSpecial: false, parseSpecial: false)
    #expect(path.count > 6)
    // A budget of 4 thinking tokens: 4 path tokens, then the injection; the engine continues from there.
    let cut = BudgetController(forcer: BudgetForcer(plain: markers, budget: Budget(thinking: 4, answer: 10)), tokenizer: tk)
    let w = GreedyReplay.walk(path, controller: cut, stopTokens: tk.eogIDs, maxTokens: 100)
    #expect(w.finish == nil && w.consumed == 4)
    #expect(w.tokens.map(\.token) == Array(path.prefix(4)) + [1, 2, 3])
    #expect(w.tokens.map(\.injected) == [false, false, false, false, true, true, true])
    // Unlimited: the whole path is the model's own, then the engine continues (or maxTokens ends it).
    let free = BudgetController(forcer: BudgetForcer(plain: markers, budget: Budget(thinking: 1000, answer: 10)), tokenizer: tk)
    let all = GreedyReplay.walk(path, controller: free, stopTokens: tk.eogIDs, maxTokens: 5)
    #expect(all.consumed == 5 && all.finish == .length)
}

/// With replay on, a budgeted run after an unlimited one of the same prompt gives the same output
/// as a fresh budgeted run (the tiny model decodes the same tokens alone or batched).
@Test func greedyReplayGivesTheSameOutputAsAFreshRun() async throws {
    let m = try TinyGen.loaded(sequences: 1)
    defer { m.engine.shutdown() }
    let replaying = GenerateHandler(models: ModelCache(threads: 1, maxSequences: 1, contextLength: 256), replay: GreedyReplay())
    let fresh = GenerateHandler(models: ModelCache(threads: 1, maxSequences: 1, contextLength: 256), replay: nil)
    _ = try await replaying.generate(plainPayload("Q: 9*9?", thinking: nil, answer: 8), jobID: 1, batchID: nil, loaded: m,
                                     context: nil)
    for budget in [3, 7, 20] {
        let a = try await replaying.generate(plainPayload("Q: 9*9?", thinking: budget, answer: 8), jobID: 2, batchID: nil,
                                             loaded: m, context: nil)
        let b = try await fresh.generate(plainPayload("Q: 9*9?", thinking: budget, answer: 8), jobID: 2, batchID: nil,
                                         loaded: m, context: nil)
        #expect(a.tokenIDs == b.tokenIDs, "budget \(budget)")
        #expect(a.thinkingTokens == b.thinkingTokens && a.answerTokens == b.answerTokens && a.forcedTokens == b.forcedTokens)
        #expect(a.finishReason == b.finishReason && a.answerText == b.answerText)
    }
}
