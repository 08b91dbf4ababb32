import Foundation
import Inference
import Reasoning
import Testing
import Tokenizers
@testable import GenerateJobs

/// A tiny random-weight qwen3 model: it carries Qwen3's chat template and <think>/</think>.
private let qwen3Path: String = {
    let p = NSTemporaryDirectory() + "tokenmill-gen-tiny-qwen3-\(getpid()).gguf"
    if !FileManager.default.fileExists(atPath: p) { try! TinyModel.write(arch: "qwen3", type: .f32, path: p, seed: 7) }
    return p
}()

@Test func qwen3IsAMarkersModelWithItsThinkingSwitch() throws {
    let m = try LoadedModel(path: qwen3Path, threads: 1, maxSequences: 1, contextLength: 256)
    defer { m.engine.shutdown() }
    #expect(m.reasoningMode == .markers)
    #expect(try m.chatTemplate.get() == .qwen3(enableThinking: true))
    func build(_ text: String, _ mode: ReasoningMode) throws -> BuiltPrompt {
        var p = GeneratePayload(model: qwen3Path, prompt: "")
        p.prompt = nil
        p.messages = [.init(role: "user", content: text)]
        return try PromptBuilder.build(p, tokenizer: m.tokenizer, template: m.chatTemplate, openMarker: "<think>", mode: mode)
    }
    // Thinking (the default): the prompt opens the block, the budget counts from there.
    let thinking = try build("What is 2+3?", .markers)
    #expect(thinking.text.hasSuffix("<|im_start|>assistant\n<think>\n") && thinking.startsInThinking)
    // No reasoning wanted: enable_thinking false, the template closes an empty block.
    let none = try build("What is 2+3?", .none)
    #expect(none.text.hasSuffix("<|im_start|>assistant\n<think>\n\n</think>\n\n") && !none.startsInThinking)
    // The soft switch: /no_think leaves the block to the model.
    let soft = try build("What is 2+3? /no_think", .markers)
    #expect(soft.text.hasSuffix("<|im_start|>assistant\n") && !soft.startsInThinking)
    // Markers are single tokens of the vocabulary.
    #expect(m.tokenizer.encode(thinking.text, addSpecial: true, parseSpecial: true).suffix(2)
        == [TinyModel.Special.thinkStart, m.tokenizer.encode("\n", addSpecial: false, parseSpecial: false)[0]])
}

@Test func qwen3GenerationKeepsItsThinkingBudget() async throws {
    let m = try LoadedModel(path: qwen3Path, threads: 1, maxSequences: 1, contextLength: 256)
    defer { m.engine.shutdown() }
    var p = GeneratePayload(model: qwen3Path, prompt: "What is 2+3?")
    p.budget = .init(policy: "fixed")
    p.budget?.thinking = 12
    p.budget?.answer = 8
    let out = try await handler.generate(p, jobID: 1, batchID: nil, loaded: m, context: nil)
    #expect(out.reasoningMode == .markers)
    #expect(out.thinkingTokens <= 12, "thinking \(out.thinkingTokens) tokens over the budget of 12")
    #expect(out.answerTokens <= 8)
}
