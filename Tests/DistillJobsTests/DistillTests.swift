import Foundation
@testable import GenerateJobs
import Inference
import Reasoning
import Testing
@testable import DistillJobs

enum TinyTeacher {
    static let path: String = {
        let p = NSTemporaryDirectory() + "tokenmill-distill-tiny-\(getpid()).gguf"
        if !FileManager.default.fileExists(atPath: p) { try! TinyModel.write(arch: "llama", type: .f32, path: p, seed: 11) }
        return p
    }()
}

func payload(_ prompt: String, reference: String?, k: Int) -> DistillPayload {
    var g = GeneratePayload(model: TinyTeacher.path, prompt: prompt)
    g.chat = false
    g.reference = reference
    g.budget = .init(policy: "fixed")
    g.budget?.thinking = 6
    g.budget?.answer = 6
    var s = GeneratePayload.Sampling()
    s.temperature = 0.8
    s.seed = 5
    g.sampling = s
    return DistillPayload(dataset_id: 1, prompt_id: "p1", sample_index: 0, keep_per_prompt: 1, key: nil, verifier: nil,
                          filters: nil, soft_targets: .init(k: k, temperature: 1), generate: g)
}

@Test func softTargetsReadBackEqualToWhatTheEngineProduced() async throws {
    let models = ModelCache(threads: 1, maxSequences: 1, contextLength: 128)
    let gen = GenerateHandler(models: models)
    let p = payload("Q: 3+4? <think>", reference: "7", k: 5)
    let loaded = try await models.model(TinyTeacher.path)
    defer { loaded.engine.shutdown() }
    let out = try await gen.generate(p.generate, jobID: 1, batchID: nil, loaded: loaded, context: nil, topLogprobs: 5)
    let sample = DistillSample.judge(p, output: out, verifier: .math, softTargetsK: 5, temperature: 1)
    let blob = try #require(sample.softTargets).encoded
    let back = try SoftTargets(decoding: blob)
    #expect(back.tokens == out.tokenIDs)
    #expect(back.k == 5 && back.temperature == 1)
    var sampled = 0
    for (e, l) in zip(back.entries, out.logprobs) {
        #expect((e == nil) == (l == nil))
        if let e, let l {
            sampled += 1
            #expect(e.logprob == l.chosen.logprob)
            #expect(e.top == l.top)
            #expect(e.top.count == 5)
            #expect(zip(e.top, e.top.dropFirst()).allSatisfy { $0.logprob >= $1.logprob })
        }
    }
    #expect(sampled > 0 && sampled < out.tokenIDs.count)   // budget forcing injected some tokens
    #expect(blob.count == 16 + out.tokenIDs.count * (8 + 8 * 5))
    #expect(throws: SoftTargetsError.self) { try SoftTargets(decoding: Array(blob.dropLast())) }
}

func fakeOutput(thinking: String, answer: String, budgetHit: Bool = false, finish: FinishReason = .stop) -> GenerationOutput {
    GenerationOutput(jobID: 1, batchID: nil, itemID: "p1", model: "m", difficulty: .easy, difficultySource: "tag",
                     prompt: "q", thinkingText: thinking, answerText: answer, finishReason: finish, promptTokens: 3,
                     thinkingTokens: 5, answerTokens: 2, forcedTokens: 0, budgetPolicy: "fixed",
                     budget: Budget(thinking: 10, answer: 10), budgetHit: budgetHit, extractedAnswer: nil, reference: "7",
                     correct: nil, ttftMs: 1, decodeTokensPerSecond: 1, sampling: .greedy, seed: 1, tokenIDs: [1, 2],
                     parts: [.thinking, .answer], logprobs: [nil, nil])
}

@Test func judgingKeepsCorrectSamplesAndRecordsReasons() {
    let p = payload("Q: 3+4?", reference: "7", k: 0)
    #expect(DistillSample.judge(p, output: fakeOutput(thinking: "3+4=7", answer: "\\boxed{7}"), verifier: .math,
                                softTargetsK: 0, temperature: 1).status == "kept")
    let wrong = DistillSample.judge(p, output: fakeOutput(thinking: "3+4=8", answer: "\\boxed{8}"), verifier: .math,
                                    softTargetsK: 0, temperature: 1)
    #expect(wrong.status == "rejected" && wrong.rejectReason == .wrongAnswer && wrong.extracted == "8")
    let cut = DistillSample.judge(p, output: fakeOutput(thinking: "...", answer: "\\boxed{7}", budgetHit: true), verifier: .math,
                                  softTargetsK: 0, temperature: 1)
    #expect(cut.rejectReason == .budgetHit)
    var unanswered = fakeOutput(thinking: "x", answer: "")
    unanswered.answerTokens = 0
    #expect(DistillSample.judge(p, output: unanswered, verifier: .math, softTargetsK: 0, temperature: 1).rejectReason == .unclosedThinking)
    let none = DistillSample.judge(p, output: fakeOutput(thinking: "x", answer: "no number here"), verifier: .math, softTargetsK: 0, temperature: 1)
    #expect(none.rejectReason == .wrongAnswer || none.rejectReason == .noAnswer)
}

@Test func exportIsTrainerReadyAndSidecarOffsetsPointAtTheBlobs() throws {
    let blobA: [UInt8] = SoftTargets(k: 1, temperature: 1, tokens: [5], entries: [.init(logprob: -0.1, top: [.init(token: 5, logprob: -0.1)])]).encoded
    let blobB: [UInt8] = SoftTargets(k: 1, temperature: 1, tokens: [6, 7], entries: [nil, .init(logprob: -1, top: [.init(token: 9, logprob: -0.5)])]).encoded
    let samples = [
        DistillExport.Sample(index: 0, status: "rejected", rejectReason: "wrong_answer", thinking: "t0", answer: "\\boxed{8}",
                             correct: false, finishReason: "stop", softTargets: blobA),
        DistillExport.Sample(index: 1, status: "kept", rejectReason: nil, thinking: "t1", answer: "\\boxed{7}",
                             correct: true, finishReason: "stop", softTargets: blobB),
        DistillExport.Sample(index: 2, status: "skipped", rejectReason: nil, thinking: "", answer: "", correct: nil,
                             finishReason: "stop", softTargets: nil),
    ]
    let d = DistillExport.Dataset(name: "ds", keepPerPrompt: 1, softTargetsK: 1, prompts: [
        .init(id: "p1", difficulty: "easy", problem: "3+4?", reference: "7", solution: nil, samples: samples)])
    let sft = DistillExport.render(d, format: .sft, withSoftTargets: true)
    #expect(sft.records == 1)
    let rec = try #require(try JSONSerialization.jsonObject(with: Data(sft.jsonl.utf8)) as? [String: Any])
    let messages = try #require(rec["messages"] as? [[String: String]])
    #expect(messages.map { $0["role"] } == ["user", "assistant"])
    #expect(messages[1]["content"] == "<think>\nt1\n</think>\n\n\\boxed{7}")
    let st = try #require(rec["soft_targets"] as? [String: Int])
    #expect(Array(sft.sidecar[st["offset"]! ..< st["offset"]! + st["length"]!]) == blobB)
    #expect(try SoftTargets(decoding: Array(sft.sidecar[st["offset"]! ..< st["offset"]! + st["length"]!])).tokens == [6, 7])

    let r1 = DistillExport.render(d, format: .r1, withSoftTargets: false)
    let rec1 = try #require(try JSONSerialization.jsonObject(with: Data(r1.jsonl.utf8)) as? [String: Any])
    #expect((rec1["generations"] as? [String])?.count == 2)
    #expect((rec1["correctness"] as? [Bool]) == [false, true])
    #expect((rec1["finish_reasons"] as? [String]) == ["stop", "stop"])
    #expect(rec1["answer"] as? String == "7" && rec1["problem"] as? String == "3+4?")
    #expect(((rec1["messages"] as? [[String: String]])?.last?["content"])?.hasSuffix("\\boxed{7}") == true)
}
