import Foundation
import GenerateJobs
import QueueCore
import Reasoning
import Testing

@Test func effortChoosesTheInstructionPerDifficultyAndIsRecorded() async throws {
    let m = try TinyGen.loaded(sequences: 1)
    defer { m.engine.shutdown() }
    guard case .success = m.chatTemplate else { Issue.record("the tiny model has no chat template"); return }
    var p = plainPayload("What is 2+3?", thinking: 8, answer: 4)
    p.chat = nil
    p.difficulty = .init("easy")
    p.budget?.effort = .init(tiers: [.easy: .low, .hard: .high])
    // Each effort asked for in words is its own instruction, in both modes; `high` is each mode's default.
    // `minimal` shows examples in plain mode under the default instruction, and asks as `low` does with markers.
    for mode in [ReasoningMode.plain, .markers] {
        let texts = [ReasoningEffort.low, .medium, .high].map { $0.instruction(mode: mode)! }
        #expect(Set(texts).count == 3)
        #expect(ReasoningEffort.minimal.instruction(mode: mode) == (mode == .plain ? ReasoningEffort.high : .low).instruction(mode: mode))
    }
    #expect(ReasoningEffort.minimal < .low && ReasoningEffort.low < .high)
    #expect(ReasoningEffort.high.instruction(mode: .plain) == GeneratePayload.plainInstruction)
    #expect(ReasoningEffort.high.instruction(mode: .markers) == GeneratePayload.defaultInstruction)
    #expect(ReasoningEffort.low.instruction(mode: .none) == nil)

    let low = ReasoningEffort.low.instruction(mode: .plain)!
    let out = try await handler.generate(p, jobID: 1, batchID: nil, loaded: m, context: nil)
    #expect(out.reasoningEffort == .low)
    #expect(out.budgetPolicy == "fixed+effort")
    let built = try PromptBuilder.build(p, tokenizer: m.tokenizer, template: m.chatTemplate, openMarker: "<think>",
                                        mode: .plain, effort: .low)
    #expect(built.text.contains("What is 2+3?\n\n" + low) && !built.text.contains(GeneratePayload.plainInstruction))

    // A tier the setting leaves out asks for `high`; without the setting nothing is recorded.
    p.difficulty = .init("medium")
    #expect(p.budget?.effort?.effort(for: .medium) == .high)
    p.budget?.effort = nil
    let plain = try await handler.generate(p, jobID: 2, batchID: nil, loaded: m, context: nil)
    #expect(plain.reasoningEffort == nil && plain.budgetPolicy == "fixed")

    // The payload's own instruction and a conversation are left as they are.
    var own = p
    own.instruction = "Answer in French."
    let ownBuilt = try PromptBuilder.build(own, tokenizer: m.tokenizer, template: m.chatTemplate, openMarker: "<think>",
                                           mode: .plain, effort: .low)
    #expect(ownBuilt.text.contains("Answer in French.") && !ownBuilt.text.contains(low))
    var conv = p
    conv.prompt = nil
    conv.messages = [.init(role: "user", content: "What is 2+3?")]
    let convBuilt = try PromptBuilder.build(conv, tokenizer: m.tokenizer, template: m.chatTemplate, openMarker: "<think>",
                                            mode: .plain, effort: .low)
    #expect(!convBuilt.text.contains(low))
}

@Test func effortSettingDecodesOneEffortOrOnePerDifficultyAndTheSchemaChecksIt() throws {
    let one = try JSONDecoder().decode(GeneratePayload.EffortSetting.self, from: Data(#""medium""#.utf8))
    #expect(Difficulty.allCases.allSatisfy { one.effort(for: $0) == .medium })
    let tiers = try JSONDecoder().decode(GeneratePayload.EffortSetting.self, from: Data(#"{"easy": "low", "hard": "high"}"#.utf8))
    #expect(tiers.effort(for: .easy) == .low && tiers.effort(for: .medium) == .high && tiers.effort(for: .hard) == .high)
    // Round trip.
    let again = try JSONDecoder().decode(GeneratePayload.EffortSetting.self, from: JSONEncoder().encode(tiers))
    #expect(again == tiers)
    #expect(throws: (any Error).self) {
        try JSONDecoder().decode(GeneratePayload.EffortSetting.self, from: Data(#"{"trivial": "low"}"#.utf8))
    }

    let schema = try JSONSchema(text: GenerateKind.payloadSchema)
    let good = #"{"model": "m", "prompt": "x", "budget": {"policy": "fixed", "effort": {"easy": "low"}}}"#
    let bad = #"{"model": "m", "prompt": "x", "budget": {"policy": "fixed", "effort": "extreme"}}"#
    let badTier = #"{"model": "m", "prompt": "x", "budget": {"effort": {"easy": "max"}}}"#
    let v = validateJSONL([good, bad, badTier].joined(separator: "\n"), schema: schema)
    #expect(v.valid.count == 1 && v.bad.count == 2)
}

/// The tiny model (with its chat template) and a plain-mode payload of `prompt` for the prompt tests; nil, with the
/// issue recorded, where the model has no template.
private func chatModel(_ prompt: String) throws -> (LoadedModel, GeneratePayload)? {
    let m = try TinyGen.loaded(sequences: 1)
    guard case .success = m.chatTemplate else {
        m.engine.shutdown()
        Issue.record("the tiny model has no chat template")
        return nil
    }
    var p = plainPayload(prompt, thinking: 8, answer: 4)
    p.chat = nil
    return (m, p)
}

/// The prompt text `PromptBuilder` makes of `p` for `m`.
private func promptText(_ m: LoadedModel, _ p: GeneratePayload, _ mode: ReasoningMode, _ effort: ReasoningEffort,
                        hint: Int? = nil) throws -> String {
    try PromptBuilder.build(p, tokenizer: m.tokenizer, template: m.chatTemplate, openMarker: "<think>",
                            mode: mode, budgetHint: hint, effort: effort).text
}

@Test func minimalEffortShowsWorkedExamplesBeforeAPlainPromptItemOnly() throws {
    guard let (m, p) = try chatModel("What is 2+3?") else { return }
    defer { m.engine.shutdown() }
    let examples = ReasoningEffort.minimal.demonstrations(mode: .plain)
    #expect(examples.count >= 3)
    #expect(examples.allSatisfy { $0.answer.contains("\\boxed{") && !$0.question.isEmpty })
    #expect(ReasoningEffort.minimal.demonstrations(mode: .markers).isEmpty && ReasoningEffort.low.demonstrations(mode: .plain).isEmpty)
    func build(_ p: GeneratePayload, _ mode: ReasoningMode, _ effort: ReasoningEffort, hint: Int? = nil) throws -> String {
        try promptText(m, p, mode, effort, hint: hint)
    }
    let inst = GeneratePayload.plainInstruction
    // Plain mode: every example (question with the instruction, then its answer) comes before the item, in order,
    // and the item is the last user turn; a budget hint goes to the item only.
    let text = try build(p, .plain, .minimal, hint: 40)
    var at = text.startIndex
    for e in examples {
        let q = try #require(text.range(of: e.question + "\n\n" + inst, range: at..<text.endIndex))
        let a = try #require(text.range(of: e.answer, range: q.upperBound..<text.endIndex))
        at = a.upperBound
    }
    let item = try #require(text.range(of: "What is 2+3?\n\n" + inst, range: at..<text.endIndex))
    let hint = GeneratePayload.budgetHint(thinkingTokens: 40)
    #expect(text[item.upperBound...].contains(hint) && !text[..<item.lowerBound].contains(hint))
    // Without examples: marker mode, another effort, the payload's own instruction, a conversation.
    for t in [try build(p, .markers, .minimal), try build(p, .plain, .low)] {
        #expect(!t.contains(examples[0].question))
    }
    var own = p
    own.instruction = "Answer in French."
    #expect(!(try build(own, .plain, .minimal)).contains(examples[0].question))
    var conv = p
    conv.prompt = nil
    conv.messages = [.init(role: "user", content: "What is 2+3?")]
    #expect(!(try build(conv, .plain, .minimal)).contains(examples[0].question))
}

@Test func payloadExamplesReplaceTheBuiltInOnesAndTheSchemaChecksThem() throws {
    guard let (m, payload) = try chatModel("Translate 'cat' into French.") else { return }
    var p = payload
    defer { m.engine.shutdown() }
    p.budget?.examples = [.init(question: "Translate 'dog' into French.", answer: "dog = chien.\n\n\\boxed{chien}")]
    func build(_ effort: ReasoningEffort, _ mode: ReasoningMode = .plain) throws -> String { try promptText(m, p, mode, effort) }
    let builtIn = ReasoningEffort.minimal.demonstrations(mode: .plain)[0].question
    let text = try build(.minimal)
    let q = try #require(text.range(of: "Translate 'dog' into French.\n\n" + GeneratePayload.plainInstruction))
    let a = try #require(text.range(of: "dog = chien.", range: q.upperBound..<text.endIndex))
    #expect(text.range(of: "Translate 'cat' into French.", range: a.upperBound..<text.endIndex) != nil)
    #expect(!text.contains(builtIn))
    // Only `minimal` in plain mode shows them.
    for t in [try build(.low), try build(.minimal, .markers)] { #expect(!t.contains("chien")) }

    // The payload round-trips, and the schema wants both fields, non-empty.
    let again = try JSONDecoder().decode(GeneratePayload.self, from: JSONEncoder().encode(p))
    #expect(again.budget?.examples == p.budget?.examples)
    let schema = try JSONSchema(text: GenerateKind.payloadSchema)
    let good = #"{"model": "m", "prompt": "x", "budget": {"effort": "minimal", "examples": [{"question": "q", "answer": "a"}]}}"#
    let noAnswer = #"{"model": "m", "prompt": "x", "budget": {"examples": [{"question": "q"}]}}"#
    let empty = #"{"model": "m", "prompt": "x", "budget": {"examples": []}}"#
    let extra = #"{"model": "m", "prompt": "x", "budget": {"examples": [{"question": "q", "answer": "a", "shots": 2}]}}"#
    let v = validateJSONL([good, noAnswer, empty, extra].joined(separator: "\n"), schema: schema)
    #expect(v.valid.count == 1 && v.bad.count == 3)
}
