import Foundation
import Testing
@testable import Inference

/// Greedy continuation computed directly with the forward pass, one token at a time.
private func referenceGreedy(_ model: Model, prompt p: [Int32], n: Int) throws -> [Int32] {
    let e = InferenceEngine(model: model, threads: 1, maxSequences: 1, contextLength: 128, maxBatchTokens: 128)
    try e.forward(p.enumerated().map { BatchToken(seq: 0, token: $1, pos: $0, wantLogits: $0 == p.count - 1) })
    var out: [Int32] = []
    var next = argmax(Array(e.logits(row: 0)))
    for i in 0..<n {
        out.append(next)
        if i == n - 1 { break }
        try e.forward([BatchToken(seq: 0, token: next, pos: p.count + i, wantLogits: true)])
        next = argmax(Array(e.logits(row: 0)))
    }
    return out
}

@Test(arguments: ["llama", "qwen2"])
func greedyGenerationIsTheSameBatchedAndAlone(arch: String) async throws {
    let m = try Tiny.model(arch)
    let prompts = [prompt(7, seed: 21), prompt(3, seed: 22), prompt(12, seed: 23), prompt(5, seed: 24), prompt(1, seed: 25)]
    let n = 10
    var expected: [[Int32]] = []
    for p in prompts { expected.append(try referenceGreedy(m, prompt: p, n: n)) }
    #expect(Set(expected.joined()).count > 5)  // the tiny model does not just repeat one token
    // 5 requests on 3 slots with a small prefill chunk: some wait, slots are refilled, prefill interleaves with decode.
    let engine = GenerationEngine(model: m, threads: 2, maxSequences: 3, contextLength: 128, prefillChunk: 4)
    defer { engine.shutdown() }
    let results = try await withThrowingTaskGroup(of: (Int, GenerationResult).self) { g in
        for (i, p) in prompts.enumerated() {
            g.addTask { (i, try await engine.generate(GenerationRequest(prompt: p, maxTokens: n))) }
        }
        var r = [GenerationResult?](repeating: nil, count: prompts.count)
        for try await (i, res) in g { r[i] = res }
        return r.map { $0! }
    }
    for i in prompts.indices {
        #expect(results[i].tokenIds == expected[i], "request \(i)")
        #expect(results[i].finishReason == .length)
        #expect(results[i].promptTokens == prompts[i].count)
    }
    // Alone on a one-slot engine as well.
    let solo = GenerationEngine(model: m, threads: 1, maxSequences: 1, contextLength: 128)
    defer { solo.shutdown() }
    let r = try await solo.generate(GenerationRequest(prompt: prompts[2], maxTokens: n))
    #expect(r.tokenIds == expected[2])
}

@Test func seededSamplingDoesNotDependOnBatchCompanions() async throws {
    let m = try Tiny.model("qwen2")
    let params = SamplingParams(temperature: 1.0, topK: 0, topP: 1, minP: 0, seed: 1234)
    let p = prompt(6, seed: 30)
    let alone = GenerationEngine(model: m, threads: 1, maxSequences: 1, contextLength: 128)
    defer { alone.shutdown() }
    let a = try await alone.generate(GenerationRequest(prompt: p, maxTokens: 24, sampling: params))
    let b = try await alone.generate(GenerationRequest(prompt: p, maxTokens: 24, sampling: params))
    #expect(a.tokenIds == b.tokenIds)
    var other = params
    other.seed = 4321
    let c = try await alone.generate(GenerationRequest(prompt: p, maxTokens: 24, sampling: other))
    #expect(c.tokenIds != a.tokenIds)

    let shared = GenerationEngine(model: m, threads: testThreads, maxSequences: 4, contextLength: 128, prefillChunk: 5)
    defer { shared.shutdown() }
    let batched = try await withThrowingTaskGroup(of: (Int, [Int32]).self) { g in
        g.addTask { (0, try await shared.generate(GenerationRequest(prompt: p, maxTokens: 24, sampling: params)).tokenIds) }
        for k in 1...3 {
            var q = params
            q.seed = UInt64(k)
            g.addTask { (k, try await shared.generate(GenerationRequest(prompt: prompt(4 + k, seed: UInt64(40 + k)), maxTokens: 30, sampling: q)).tokenIds) }
        }
        var out: [Int32] = []
        for try await (k, ids) in g where k == 0 { out = ids }
        return out
    }
    #expect(batched == a.tokenIds)
}

/// Injects `inject` after the `after`-th sampled token, once.
private struct InjectOnce: SequenceController {
    var after: Int
    var inject: [Int32]
    var done = false
    mutating func next(token: Int32, context: ControlContext) -> ControlAction {
        if !done && context.sampledCount == after {
            done = true
            return .inject(inject)
        }
        return .continue
    }
}

private struct StopAfter: SequenceController {
    var n: Int
    mutating func next(token: Int32, context: ControlContext) -> ControlAction {
        context.sampledCount >= n ? .stop("budget") : .continue
    }
}

@Test func controllerInjectionFeedsTokensThroughTheModel() async throws {
    let m = try Tiny.model("llama")
    let p = prompt(8, seed: 50)
    let inject: [Int32] = [TinyModel.Special.thinkEnd, 65, 66]
    let engine = GenerationEngine(model: m, threads: testThreads, maxSequences: 2, contextLength: 128)
    defer { engine.shutdown() }
    var events: [TokenEvent] = []
    let lock = NSLock()
    let r = try await engine.generate(
        GenerationRequest(prompt: p, maxTokens: 8, controller: InjectOnce(after: 3, inject: inject))
    ) { e in lock.lock(); events.append(e); lock.unlock() }
    #expect(r.tokens.count == 8 + 3)
    #expect(r.sampledCount == 8)
    #expect(r.tokens.filter(\.injected).map(\.token) == inject)
    #expect(r.tokens[3].injected && r.tokens[5].injected && !r.tokens[6].injected)
    #expect(events.map(\.token) == r.tokenIds)
    #expect(events.map(\.index) == Array(0..<11))
    // What follows the injection is the greedy continuation of prompt + first 3 sampled + injected tokens.
    let prefix = p + Array(r.tokenIds[0..<6])
    let expectedTail = try referenceGreedy(m, prompt: prefix, n: 5)
    #expect(Array(r.tokenIds[6...]) == expectedTail)
    // And the first three match plain greedy.
    #expect(Array(r.tokenIds[0..<3]) == (try referenceGreedy(m, prompt: p, n: 3)))

    let s = try await engine.generate(GenerationRequest(prompt: p, maxTokens: 50, controller: StopAfter(n: 4)))
    #expect(s.finishReason == .controller && s.stopDetail == "budget" && s.tokens.count == 4)
}

@Test func stopTokensLogprobsAndLimits() async throws {
    let m = try Tiny.model("qwen2")
    let engine = GenerationEngine(model: m, threads: 1, maxSequences: 2, contextLength: 32)
    defer { engine.shutdown() }
    let p = prompt(5, seed: 60)
    let free = try await engine.generate(GenerationRequest(prompt: p, maxTokens: 6, topLogprobs: 3))
    #expect(free.finishReason == .length && free.tokens.count == 6)
    for t in free.tokens {
        let lp = try #require(t.logprobs)
        #expect(lp.top.count == 3 && lp.top[0].token == t.token)  // greedy: chosen is the top-1
        #expect(lp.chosen.logprob == lp.top[0].logprob && lp.chosen.logprob < 0)
    }
    // Stop on the third generated token.
    let stopTok = free.tokens[2].token
    guard !free.tokenIds[0..<2].contains(stopTok) else { return }
    let stopped = try await engine.generate(GenerationRequest(prompt: p, maxTokens: 6, stopTokens: [stopTok]))
    #expect(stopped.finishReason == .stop && stopped.tokenIds == Array(free.tokenIds[0..<3]))
    // Context full: 30-token prompt in a 32-token context leaves room for 3 sampled tokens.
    let full = try await engine.generate(GenerationRequest(prompt: prompt(30, seed: 61), maxTokens: 100))
    #expect(full.finishReason == .contextFull && full.tokens.count == 3)
    // Prompt too long / empty / bad ids: clear errors, no slot taken.
    await #expect(throws: GenerationError.self) { try await engine.generate(GenerationRequest(prompt: prompt(33, seed: 1), maxTokens: 1)) }
    do {
        _ = try await engine.generate(GenerationRequest(prompt: prompt(40, seed: 1), maxTokens: 1))
    } catch let e as GenerationError {
        #expect(e.description.contains("40 tokens") && e.description.contains("32"))
    }
    await #expect(throws: GenerationError.self) { try await engine.generate(GenerationRequest(prompt: [], maxTokens: 1)) }
    await #expect(throws: GenerationError.self) { try await engine.generate(GenerationRequest(prompt: [999], maxTokens: 1)) }
    #expect(engine.load.active == 0)
}

/// Starts `request` and returns once its compute thread has reached the second token, where it waits until the
/// returned semaphore is signalled (so what the test does meanwhile does not race the machine's speed).
private func startHeldAtSecondToken(_ engine: GenerationEngine, _ request: GenerationRequest)
    async -> (Task<GenerationResult, Error>, DispatchSemaphore) {
    let started = AsyncStream<Void>.makeStream()
    let gate = DispatchSemaphore(value: 0)
    let task = Task {
        try await engine.generate(request) { e in
            if e.index == 1 { started.continuation.yield(); gate.wait() }
        }
    }
    for await _ in started.stream { break }
    return (task, gate)
}

@Test func cancellationFreesTheSlot() async throws {
    let m = try Tiny.model("llama")
    let engine = GenerationEngine(model: m, threads: 1, maxSequences: 1, contextLength: 256)
    defer { engine.shutdown() }
    // The compute thread is held at a token until the test has cancelled, so the outcome does not
    // depend on how fast the machine is.
    let (long, gate) = await startHeldAtSecondToken(engine, GenerationRequest(prompt: prompt(4, seed: 70), maxTokens: 240))
    long.cancel()
    gate.signal()
    let r = try await long.value
    #expect(r.finishReason == .cancelled)
    #expect(r.tokens.count < 240)
    // The only slot is free again.
    let next = try await engine.generate(GenerationRequest(prompt: prompt(3, seed: 71), maxTokens: 3))
    #expect(next.finishReason == .length && next.tokens.count == 3)
    // A request cancelled while waiting for a slot ends too. The blocker is held at its first token until
    // the waiter is queued behind it and cancelled (else, on a fast host, whichever request took the slot
    // could finish its 250 tokens before the cancel); the waiter's cancellation is handled by the compute
    // thread, so the blocker is let go right after the cancel.
    let (blocker, hold) = await startHeldAtSecondToken(engine, GenerationRequest(prompt: prompt(4, seed: 72), maxTokens: 250))
    let waiter = Task { try await engine.generate(GenerationRequest(prompt: prompt(4, seed: 73), maxTokens: 250)) }
    try await Task.sleep(nanoseconds: 20_000_000)
    waiter.cancel()
    hold.signal()
    let w = try await waiter.value
    #expect(w.finishReason == .cancelled)
    blocker.cancel()
    _ = try await blocker.value
}

@Test func longPromptPrefillIsChunkedAndInterleavedWithDecoding() async throws {
    let m = try Tiny.model("qwen2")
    let engine = GenerationEngine(model: m, threads: 1, maxSequences: 2, contextLength: 128, prefillChunk: 4)
    defer { engine.shutdown() }
    final class Log: @unchecked Sendable {
        let lock = NSLock()
        var aCount = 0
        var aCountAtFirstB = -1
    }
    let log = Log()
    let aStarted = AsyncStream<Void>.makeStream()
    let a = Task {
        try await engine.generate(GenerationRequest(prompt: prompt(3, seed: 80), maxTokens: 40)) { e in
            log.lock.lock(); log.aCount += 1; log.lock.unlock()
            if e.index == 0 { aStarted.continuation.yield() }
        }
    }
    for await _ in aStarted.stream { break }
    let b = try await engine.generate(GenerationRequest(prompt: prompt(40, seed: 81), maxTokens: 2)) { e in
        log.lock.lock(); if log.aCountAtFirstB < 0 { log.aCountAtFirstB = log.aCount }; log.lock.unlock()
    }
    let ra = try await a.value
    #expect(b.tokens.count == 2 && ra.tokens.count == 40)
    // B's 40-token prompt takes 10 steps of 4 tokens; A decodes one token in each of them.
    let seen = log.lock.withLock { log.aCountAtFirstB }
    #expect(seen >= 10, "A had \(seen) tokens when B produced its first")
    // Prefill chunking does not change B's result.
    let solo = GenerationEngine(model: m, threads: 1, maxSequences: 1, contextLength: 128, prefillChunk: 256)
    defer { solo.shutdown() }
    let b2 = try await solo.generate(GenerationRequest(prompt: prompt(40, seed: 81), maxTokens: 2))
    #expect(b2.tokenIds == b.tokenIds)
}

@Test func shutdownEndsWaitingAndRunningRequests() async throws {
    let m = try Tiny.model("llama")
    let engine = GenerationEngine(model: m, threads: 1, maxSequences: 1, contextLength: 256)
    let started = AsyncStream<Void>.makeStream()
    let gate = DispatchSemaphore(value: 0)
    let running = Task {
        try await engine.generate(GenerationRequest(prompt: prompt(4, seed: 90), maxTokens: 250)) { e in
            if e.index == 0 { started.continuation.yield(); gate.wait() }
        }
    }
    for await _ in started.stream { break }
    let waiting = Task { try await engine.generate(GenerationRequest(prompt: prompt(4, seed: 91), maxTokens: 5)) }
    try await Task.sleep(nanoseconds: 10_000_000)
    engine.shutdown()
    gate.signal()
    #expect(try await running.value.finishReason == .cancelled)
    // Ended as cancelled, or refused with engineStopped if it arrived after the shutdown; any other
    // error fails the test.
    do {
        #expect(try await waiting.value.finishReason == .cancelled)
    } catch GenerationError.engineStopped {
    }
    do {
        _ = try await engine.generate(GenerationRequest(prompt: [1], maxTokens: 1))
        Issue.record("a request after shutdown was accepted")
    } catch GenerationError.engineStopped {
    }
}

/// Greedy tokens of `prompts` on one engine, all submitted at once, with the engine's prefix counters.
private func generateAll(_ m: Model, _ prompts: [[Int32]], n: Int, seqs: Int, minShared: Int) async throws -> ([[Int32]], PrefixCounters) {
    let e = GenerationEngine(model: m, threads: testThreads, maxSequences: seqs, contextLength: 128, prefillChunk: 16,
                             minSharedPrefix: minShared)
    defer { e.shutdown() }
    let out = try await withThrowingTaskGroup(of: (Int, [Int32]).self) { g in
        for (i, p) in prompts.enumerated() {
            g.addTask { (i, try await e.generate(GenerationRequest(prompt: p, maxTokens: n)).tokenIds) }
        }
        var r = [[Int32]](repeating: [], count: prompts.count)
        for try await (i, t) in g { r[i] = t }
        return r
    }
    return (out, e.prefixStats)
}

@Test(arguments: ["llama", "qwen2"])
func sharedPromptPrefixesGiveTheSameGreedyTokensAsPrefillingEachPrompt(arch: String) async throws {
    let m = try Tiny.model(arch)
    let head = prompt(20, seed: 100)   // a system prompt and template head
    // Four items sharing the head, then four samples of one prompt (a distill prompt's N samples),
    // on four slots: the items copy the head from the first one; the samples land in freed slots
    // that still hold the head and copy the rest of their prompt from the first sample.
    var prompts = (0..<4).map { head + prompt(3 + $0, seed: 110 + UInt64($0)) }
    prompts += Array(repeating: head + prompt(6, seed: 120), count: 4)
    let n = 8
    let (alone, none) = try await generateAll(m, prompts, n: n, seqs: 4, minShared: 0)
    #expect(none.savedTokens == 0 && none.promptTokens == prompts.map(\.count).reduce(0, +))
    let (shared, stats) = try await generateAll(m, prompts, n: n, seqs: 4, minShared: 8)
    for i in prompts.indices { #expect(shared[i] == alone[i], "request \(i)") }
    #expect(Set(alone.joined()).count > 3)
    #expect(stats.copiedTokens >= 3 * 20, "items 1-3 copy the head: \(stats)")
    #expect(stats.keptTokens >= 20, "a freed slot keeps its head: \(stats)")
    #expect(stats.promptTokens == none.promptTokens)
    // Each item alone on a one-slot engine, prefilled token by token: the same tokens.
    for i in [1, 7] { #expect(try referenceGreedy(m, prompt: prompts[i], n: n) == alone[i]) }
}
