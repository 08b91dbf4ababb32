import Foundation
import Inference
import QueueCore
import Reasoning
import Testing
import Tokenizers
@testable import GenerateJobs

/// What OpenAI Batch requests need from generate jobs: reasoning mode `none`, stop sequences, logprobs.

private func plainChat(_ prompt: String, answer: Int) -> GeneratePayload {
    var p = rawPayload(prompt, thinking: nil, answer: answer)
    p.reasoning = .init(mode: "none")
    return p
}

@Test func noneModeAddsNothingToTheConversation() throws {
    let m = try TinyGen.loaded(sequences: 1)
    defer { m.engine.shutdown() }
    var p = GeneratePayload(model: TinyGen.path, prompt: "")
    p.prompt = nil
    p.messages = [.init(role: "user", content: "What is 2+3?")]
    let none = try PromptBuilder.build(p, tokenizer: m.tokenizer, template: m.chatTemplate, openMarker: "<think>", mode: .none)
    let markers = try PromptBuilder.build(p, tokenizer: m.tokenizer, template: m.chatTemplate, openMarker: "<think>", mode: .markers)
    #expect(markers.text.hasSuffix("<think>\n") && markers.startsInThinking)
    #expect(!none.text.contains("<think>") && !none.startsInThinking)
    #expect(markers.text.hasPrefix(none.text))
    p.prompt = "What is 2+3?"
    p.messages = nil
    let bare = try PromptBuilder.build(p, tokenizer: m.tokenizer, template: m.chatTemplate, openMarker: "<think>", mode: .none)
    #expect(!bare.text.contains(GeneratePayload.defaultInstruction) && !bare.text.contains(GeneratePayload.plainInstruction))
    #expect(try p.reasoningMode(detected: .markers) == .markers)
    p.reasoning = .init(mode: "none")
    #expect(try p.reasoningMode(detected: .markers) == .none)
}

@Test func stopSequenceEndsTheAnswerBeforeIt() async throws {
    let m = try TinyGen.loaded(sequences: 1)
    defer { m.engine.shutdown() }
    let free = try await handler.generate(plainChat("Q: 7*8? A:", answer: 40), jobID: 1, batchID: nil, loaded: m, context: nil)
    #expect(free.reasoningMode == .none && free.thinkingTokens == 0 && free.answerTokens > 10)
    // A stop string taken from the free answer after its start (greedy: the same text comes again);
    // printable ASCII, since a random model also writes bytes that are not UTF-8.
    let text = Array(free.answerText)
    let start = try #require((2..<text.count - 1).first { i in
        text[i...i + 1].allSatisfy { $0.isASCII && !$0.isWhitespace && $0.asciiValue! >= 0x21 }
    })
    let stop = String(text[start...start + 1])
    var p = plainChat("Q: 7*8? A:", answer: 40)
    p.stop = ["never-appears-\u{1F600}", stop]
    let cut = try await handler.generate(p, jobID: 2, batchID: nil, loaded: m, context: nil)
    #expect(cut.answerText == String(free.answerText[..<free.answerText.range(of: stop)!.lowerBound]))
    #expect(cut.finishReason == .stop)
    #expect(cut.tokenIDs.count < free.tokenIDs.count)
    #expect(Array(free.tokenIDs.prefix(cut.tokenIDs.count)) == cut.tokenIDs)
}

@Test func topLogprobsAreRecordedForEachSampledAnswerToken() async throws {
    let m = try TinyGen.loaded(sequences: 1)
    defer { m.engine.shutdown() }
    var p = plainChat("Q: 1+1? A:", answer: 12)
    p.top_logprobs = 3
    let out = try await handler.generate(p, jobID: 3, batchID: nil, loaded: m, context: nil, topLogprobs: 3)
    guard case .array(let items)? = try out.answerLogprobsJSON.map(JSONValue.parse) else {
        Issue.record("no logprobs JSON"); return
    }
    #expect(items.count == out.answerTokens)
    for (it, id) in zip(items, out.tokenIDs) {
        guard case .array(let top)? = it["top_logprobs"], case .number(let lp)? = it["logprob"] else { Issue.record("\(it)"); continue }
        #expect(top.count == 3)
        #expect(lp <= 0)
        #expect(it["bytes"] == .array(m.tokenizer.pieceBytes(id).map { .integer(Int64($0)) }))
    }
    // Not asked: nothing stored.
    let plain = try await handler.generate(plainChat("Q: 1+1? A:", answer: 12), jobID: 4, batchID: nil, loaded: m, context: nil)
    #expect(plain.answerLogprobsJSON == nil)
}
