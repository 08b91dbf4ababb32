import QueueCore
import Testing
@testable import OpenAIBatch

private func parse(_ lines: [String], model: String? = nil) -> BatchInput {
    BatchInput.parse(Array(lines.joined(separator: "\n").utf8), modelOverride: model)
}

private let chat = #"{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m.gguf", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}], "max_completion_tokens": 64, "temperature": 0, "seed": 5, "stop": ["\n\n", "END"], "n": 2, "reasoning_effort": "low"}}"#

@Test func chatRequestIsReadWithEveryMappedField() throws {
    let input = parse([chat])
    #expect(input.bad.isEmpty)
    let r = try #require(input.requests.first)
    #expect(r.customID == "a" && r.endpoint == .chatCompletions && r.model == "m.gguf" && r.line == 1)
    #expect(r.messages.map(\.role) == ["system", "user"])
    #expect(r.maxTokens == 64 && r.temperature == 0 && r.seed == 5 && r.n == 2)
    #expect(r.stop == ["\n\n", "END"])
    #expect(r.reasoningEffort == .low)
}

@Test func completionsRequestTakesPromptAndIntegerLogprobs() throws {
    let line = #"{"custom_id": "c1", "method": "POST", "url": "/v1/completions", "body": {"model": "m", "prompt": ["Once"], "max_tokens": 8, "logprobs": 3}}"#
    let r = try #require(parse([line]).requests.first)
    #expect(r.endpoint == .completions && r.prompt == "Once" && r.topLogprobs == 3 && r.maxTokens == 8)
}

@Test func everyProblemOfABadLineIsReportedWithItsLineNumber() {
    let lines = [
        chat,
        "",
        #"{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m", "messages": [{"role": "user", "content": "x"}]}}"#,
        #"{"custom_id": "b", "method": "GET", "url": "/v1/embeddings", "body": {"messages": []}}"#,
        "not json",
        #"{"custom_id": "d", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 99, "temperature": 3, "stop": ["a","b","c","d","e"], "reasoning_effort": "max", "difficulty": "extreme"}}"#,
    ]
    let input = parse(lines)
    #expect(input.requests.map(\.customID) == ["a"])
    #expect(input.bad.map(\.line) == [3, 4, 5, 6])
    #expect(input.bad[0].problems.joined().contains("already used on line 1"))
    let four = input.bad[1].problems.joined(separator: "|")
    #expect(four.contains("method") && four.contains("url") && four.contains("model") && four.contains("messages"))
    let six = input.bad[3].problems.joined(separator: "|")
    for word in ["body.n", "temperature", "stop", "reasoning_effort", "difficulty"] { #expect(six.contains(word), "\(word)") }
}

@Test func invalidUTF8IsABadLineNotAFailedFile() {
    var bytes = Array(chat.utf8) + [0x0A]
    bytes += Array(#"{"custom_id": "z", "method": "POST", "url": "/v1/completions", "body": {"model": "m", "prompt": "a"#.utf8) + [0xFF, 0xFE]
    bytes += Array(#""}}"#.utf8)
    let input = BatchInput.parse(bytes)
    #expect(input.requests.count == 1)
    #expect(input.bad.map(\.line) == [2])
}

@Test func modelOverrideSuppliesAMissingModel() {
    let line = #"{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": [{"role": "user", "content": "x"}]}}"#
    #expect(parse([line]).bad.count == 1)
    #expect(parse([line], model: "/models/q.gguf").requests.first?.model == "/models/q.gguf")
}

@Test func choicesBecomeJobsWithDistinctSeedsAndTheEffortBudget() throws {
    let r = try #require(parse([chat]).requests.first)
    let table = try EffortTable.parse("low=32:16")
    let ps = r.generatePayloads(MappingSettings(policy: "per_difficulty", efforts: table))
    #expect(ps.count == 2)
    #expect(ps.map { $0["openai"]?["choice"] } == [.integer(0), .integer(1)])
    #expect(ps[0]["sampling"]?["seed"] == .integer(5) && ps[1]["sampling"]?["seed"] == .integer(6))
    #expect(ps[0]["override"] == .object([("thinking", .integer(32)), ("answer", .integer(16))]))
    #expect(ps[0]["max_tokens"] == .integer(64))
    #expect(ps[0]["stop"] == .array([.string("\n\n"), .string("END")]))
    #expect(ps[0]["id"] == .string("a"))
    // Unnamed levels keep the standard budgets.
    #expect(table.budgets[.high]! == EffortTable.standard.budgets[.high]!)
    #expect(throws: MappingError.self) { try EffortTable.parse("huge=1:2") }
}

@Test func omittedSamplingFollowsTheAPIDefaults() throws {
    let line = #"{"custom_id": "q", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m", "messages": [{"role": "user", "content": "x"}], "difficulty": "hard"}}"#
    let p = try #require(parse([line]).requests.first?.generatePayloads(MappingSettings()).first)
    #expect(p["sampling"]?["temperature"] == .number(1) && p["sampling"]?["top_p"] == .number(1))
    #expect(p["difficulty"] == .string("hard"))
    #expect(p["override"] == nil)
    #expect(p["reasoning"] == nil && p["budget"]?["policy"] == .string("per_difficulty"))
    // Neither effort nor difficulty: a plain chat completion, no reasoning prompt, no budget.
    let bare = #"{"custom_id": "b", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m", "messages": [{"role": "user", "content": "x"}]}}"#
    let q = try #require(parse([bare]).requests.first?.generatePayloads(MappingSettings()).first)
    #expect(q["reasoning"]?["mode"] == .string("none") && q["budget"]?["policy"] == .string("unlimited"))
    // The same request always gets the same seed (derived from its custom_id).
    let again = try #require(parse([line]).requests.first?.generatePayloads(MappingSettings()).first)
    #expect(p["sampling"]?["seed"] == again["sampling"]?["seed"])
}
