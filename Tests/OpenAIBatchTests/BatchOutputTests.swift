import QueueCore
import Testing
@testable import OpenAIBatch

private func choice(_ k: Int, job: Int64, state: ChoiceRecord.State = .succeeded) -> ChoiceRecord {
    var c = ChoiceRecord(jobID: job, choice: k, state: state)
    c.answer = "4"
    c.reasoning = k == 0 ? "2+2 is 4." : ""
    c.finishReason = k == 0 ? "budget" : "length"
    c.promptTokens = 20
    c.thinkingTokens = 7
    c.forcedTokens = 3
    c.answerTokens = 2 + k
    return c
}

@Test func successLineCarriesChoicesInOrderAndUsageSummedOverChoices() throws {
    let r = RequestRecord(customID: "req-1", line: 4, endpoint: .chatCompletions, model: "q.gguf", created: 1_700_000_000,
                          choices: [choice(1, job: 11), choice(0, job: 10)])
    let line = BatchOutput.successLine(r)
    #expect(line["custom_id"] == .string("req-1"))
    #expect(line["error"] == .null)
    let body = try #require(line["response"]?["body"])
    #expect(line["response"]?["status_code"] == .integer(200))
    #expect(body["object"] == .string("chat.completion"))
    guard case .array(let cs)? = body["choices"] else { Issue.record("no choices"); return }
    #expect(cs.map { $0["index"] } == [.integer(0), .integer(1)])
    #expect(cs[0]["message"]?["reasoning_content"] == .string("2+2 is 4."))
    #expect(cs[1]["message"]?["reasoning_content"] == .null)
    #expect(cs.map { $0["finish_reason"] } == [.string("stop"), .string("length")])
    let u = try #require(body["usage"])
    #expect(u["prompt_tokens"] == .integer(20))
    #expect(u["completion_tokens"] == .integer((7 + 3 + 2) + (7 + 3 + 3)))
    #expect(u["total_tokens"] == .integer(20 + 25))
    #expect(u["completion_tokens_details"]?["reasoning_tokens"] == .integer(20))
}

@Test func completionsLineUsesTextChoices() throws {
    let r = RequestRecord(customID: "c", line: 1, endpoint: .completions, model: "m", created: 0, choices: [choice(0, job: 3)])
    let body = try #require(BatchOutput.successLine(r)["response"]?["body"])
    #expect(body["object"] == .string("text_completion"))
    guard case .array(let cs)? = body["choices"] else { Issue.record("no choices"); return }
    #expect(cs[0]["text"] == .string("4"))
}

@Test func aFailedChoiceMakesTheRequestAnErrorLine() {
    var bad = choice(1, job: 8, state: .failed)
    bad.error = "prompt too long"
    let r = RequestRecord(customID: "x", line: 2, endpoint: .chatCompletions, model: "m", created: 0, choices: [choice(0, job: 7), bad])
    #expect(r.outcome == .failed)
    let e = BatchOutput.errorLine(r)
    #expect(e["response"] == .null)
    #expect(e["error"]?["message"] == .string("prompt too long"))
    #expect(e["error"]?["code"] == .string("generation_failed"))
    let pending = RequestRecord(customID: "y", line: 3, endpoint: .chatCompletions, model: "m", created: 0,
                                choices: [choice(0, job: 9), choice(1, job: 10, state: .pending)])
    #expect(pending.outcome == .pending)
}

@Test func batchStatusCountsAndState() {
    var s = BatchStatus(id: 9, endpoint: .chatCompletions, total: 20, completed: 12, failed: 1, cancelledBatch: false,
                        createdAt: 100, finishedAt: nil, inputFile: "in.jsonl")
    #expect(s.status == "in_progress")
    #expect(s.json["request_counts"]?["total"] == .integer(20))
    s.completed = 19
    s.finishedAt = 200
    #expect(s.status == "completed")
    #expect(s.json["completed_at"] == .integer(200))
    #expect(s.json["id"] == .string("batch_9"))
}
