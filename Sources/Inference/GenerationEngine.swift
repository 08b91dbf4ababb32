import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why a generation ended.
public enum FinishReason: String, Sendable, Codable {
    /// The model produced one of the request's stop tokens.
    case stop
    /// `maxTokens` sampled tokens were produced.
    case length
    /// The caller's task was cancelled.
    case cancelled
    /// The sequence filled the engine's context.
    case contextFull
    /// The request's controller returned `.stop`.
    case controller
    /// Budget forcing (Reasoning's `BudgetForcer`) closed the thinking at its budget and the answer then
    /// ended normally. Reported by budget forcing, never by the engine.
    case budget
    /// A generate job's output that failed. Recorded by jobs, never reported by the engine.
    case error
}

/// What a `SequenceController` wants after a sampled token.
public enum ControlAction: Sendable, Equatable {
    /// Go on sampling.
    case `continue`
    /// Append these tokens to the sequence and feed them through the model without sampling
    /// (e.g. a budget-forcing transition and `</think>`); sampling resumes after them.
    case inject([Int32])
    /// Withdraw the token just sampled (it is neither recorded nor fed through the model; it still
    /// counts against `maxTokens`) and inject these tokens in its place, e.g. to turn an
    /// end-of-text that came before any answer into a request for the answer.
    case replace([Int32])
    /// End the generation, with a reason recorded in the result.
    case stop(String)
}

/// Where a sequence stands when its controller is asked.
public struct ControlContext: Sendable {
    /// Tokens sampled so far, this one included (injected tokens not counted).
    public let sampledCount: Int
    /// All generated tokens so far, sampled and injected, this one included.
    public let generatedCount: Int
    /// Whether `token` is one of the request's stop tokens.
    public let isStopToken: Bool

    public init(sampledCount: Int, generatedCount: Int, isStopToken: Bool) {
        self.sampledCount = sampledCount
        self.generatedCount = generatedCount
        self.isStopToken = isStopToken
    }
}

/// Steers one sequence: called on the engine's compute thread after every sampled token.
/// It runs inside the batched loop, so it must be quick and must not block.
public protocol SequenceController {
    mutating func next(token: Int32, context: ControlContext) -> ControlAction
}

/// One generation: a prompt in token ids and how to continue it.
public struct GenerationRequest {
    public var prompt: [Int32]
    /// Most tokens to sample (injected tokens are not counted).
    public var maxTokens: Int
    public var sampling: SamplingParams
    /// Sampling one of these ends the generation with `.stop` (the token is recorded).
    public var stopTokens: Set<Int32>
    /// Top log-probabilities to return per token (0 = off).
    public var topLogprobs: Int
    /// Temperature of the log-softmax behind `topLogprobs` (1 = the model's own distribution).
    public var logprobTemperature: Float
    public var controller: (any SequenceController)?

    public init(prompt: [Int32], maxTokens: Int, sampling: SamplingParams = .greedy, stopTokens: Set<Int32> = [],
                topLogprobs: Int = 0, logprobTemperature: Float = 1, controller: (any SequenceController)? = nil) {
        self.prompt = prompt
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stopTokens = stopTokens
        self.topLogprobs = topLogprobs
        self.logprobTemperature = logprobTemperature
        self.controller = controller
    }
}

/// One token as it is produced.
public struct TokenEvent: Sendable {
    public let token: Int32
    /// True for tokens a controller injected (not sampled).
    public let injected: Bool
    /// Index among the generated tokens (0-based).
    public let index: Int
    public let logprobs: Logprobs?
}

/// A generated token in the result.
public struct GeneratedToken: Sendable, Equatable, Codable {
    public let token: Int32
    public let injected: Bool
    public let logprobs: Logprobs?
}

/// The outcome of a generation.
public struct GenerationResult: Sendable {
    public var tokens: [GeneratedToken]
    public var finishReason: FinishReason
    /// The controller's reason when `finishReason == .controller`.
    public var stopDetail: String?
    public var promptTokens: Int
    /// Seconds from `generate` being called to the first sampled token.
    public var timeToFirstToken: Double
    /// Seconds spent waiting for a free slot.
    public var queueWait: Double
    /// Sampled tokens per second after the first one.
    public var decodeTokensPerSecond: Double
    public var totalSeconds: Double

    /// The generated ids, sampled and injected, in order.
    public var tokenIds: [Int32] { tokens.map(\.token) }
    public var sampledCount: Int { tokens.lazy.filter { !$0.injected }.count }
}

/// A request the engine refuses.
public enum GenerationError: Error, CustomStringConvertible, Sendable {
    case emptyPrompt
    case promptTooLong(promptTokens: Int, contextLength: Int)
    case tokenOutOfRange(token: Int32, vocab: Int)
    case engineStopped
    case forwardFailed(String)

    public var description: String {
        switch self {
        case .emptyPrompt: return "the prompt is empty (at least one token is needed)"
        case .promptTooLong(let n, let c):
            return "the prompt has \(n) tokens but the context holds \(c); shorten the prompt or raise the context length"
        case .tokenOutOfRange(let t, let v): return "token id \(t) is outside the vocabulary of \(v) tokens"
        case .engineStopped: return "the generation engine has been shut down"
        case .forwardFailed(let m): return "forward pass failed: \(m)"
        }
    }
}

@inline(__always)
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Continuous batching over a fixed set of KV slots, on a dedicated compute thread.
///
/// Callers `await generate(...)` concurrently. A request takes a free slot (or waits for one in
/// FIFO order); its prompt is prefilled in chunks of `prefillChunk` tokens (while other sequences
/// decode, about one decode step's worth: 2 per decoding sequence, at least 16, so a long prompt
/// delays their next token by about one step) interleaved with the
/// decode steps of the other sequences; each step then decodes one token for every active sequence
/// in one batched forward pass. A finished sequence's slot is refilled from the waiting requests
/// at once. Cancelling the caller's task frees its slot (the result has `.cancelled`).
///
/// Shared prompt prefixes are prefilled once (as vLLM's prefix caching and parallel sampling do): a
/// request is placed in the free slot whose KV rows left by its last sequence share the longest
/// prefix with its prompt (those rows are kept), and when another sequence holds (or is about to
/// compute) a longer common prefix, its KV rows are copied over instead of recomputed. At least one
/// prompt token is always fed, so the first sampled token comes from the request's own forward.
public final class GenerationEngine: @unchecked Sendable {
    public let model: Model
    public let maxSequences: Int
    public let contextLength: Int
    public let prefillChunk: Int
    /// Shortest common prefix (tokens) worth reusing; 0 turns prefix sharing off.
    public let minSharedPrefix: Int
    let engine: InferenceEngine

    private let cond = NSCondition()
    private var waiting: [Job] = []
    private var slots: [Job?]
    private var stopping = false
    private var thread: Thread?
    private let samplers: [Sampler]
    /// Per free slot: the tokens whose KV rows its last sequence left valid (positions 0..<count).
    private var slotTokens: [[Int32]]
    private var counters = PrefixCounters()
    /// Where the compute thread's time goes (`TOKENMILL_PROFILE=1` prints it to stderr whenever the
    /// engine runs out of work).
    private var profile = EngineProfile()
    private let printProfile = ProcessInfo.processInfo.environment["TOKENMILL_PROFILE"].map { $0 != "0" && !$0.isEmpty } ?? false

    // Compute-thread scratch, reused every step.
    private var batch: [BatchToken] = []
    private var logitJobs: [Job] = []

    /// - Parameters:
    ///   - threads: compute threads for the forward pass.
    ///   - maxSequences: KV slots (sequences decoded together).
    ///   - contextLength: positions per slot (default: the model's context length, at most 4096).
    ///   - prefillChunk: most prompt tokens processed per step.
    ///   - minSharedPrefix: shortest common prompt prefix reused from another slot's KV rows (0 = never).
    public init(model: Model, threads: Int, maxSequences: Int, contextLength: Int? = nil,
                prefillChunk: Int = 256, kvType: KVCacheType = .f32, minSharedPrefix: Int = 8) {
        self.model = model
        self.maxSequences = max(1, maxSequences)
        self.prefillChunk = max(1, prefillChunk)
        self.minSharedPrefix = max(0, minSharedPrefix)
        self.slotTokens = Array(repeating: [], count: max(1, maxSequences))
        self.engine = InferenceEngine(model: model, threads: threads, maxSequences: self.maxSequences,
                                      contextLength: contextLength, maxBatchTokens: self.prefillChunk + self.maxSequences,
                                      maxLogitRows: self.maxSequences, kvType: kvType)
        self.contextLength = engine.contextLength
        self.slots = Array(repeating: nil, count: self.maxSequences)
        self.samplers = (0..<self.maxSequences).map { _ in Sampler(params: .greedy, vocab: model.config.vocab) }
        batch.reserveCapacity(engine.maxBatchTokens)
        logitJobs.reserveCapacity(self.maxSequences)
        let t = Thread { [self] in self.loop() }
        t.name = "tokenmill-compute"
        t.stackSize = 8 << 20
        thread = t
        t.start()
    }

    /// Stops the compute thread after the current step; waiting and running requests end with `.cancelled`.
    public func shutdown() {
        cond.lock()
        stopping = true
        cond.signal()
        cond.unlock()
    }

    /// Generates a continuation of `request.prompt`, calling `onToken` (on the compute thread) for each token.
    public func generate(_ request: GenerationRequest, onToken: @escaping (TokenEvent) -> Void = { _ in }) async throws -> GenerationResult {
        guard !request.prompt.isEmpty else { throw GenerationError.emptyPrompt }
        guard request.prompt.count <= contextLength else {
            throw GenerationError.promptTooLong(promptTokens: request.prompt.count, contextLength: contextLength)
        }
        let vocab = model.config.vocab
        for t in request.prompt where t < 0 || Int(t) >= vocab { throw GenerationError.tokenOutOfRange(token: t, vocab: vocab) }
        let job = Job(request: request, onToken: onToken)
        if request.maxTokens <= 0 {
            return job.result(.length)
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (cont: CheckedContinuation<GenerationResult, Error>) in
                cond.lock()
                if stopping {
                    cond.unlock()
                    cont.resume(throwing: GenerationError.engineStopped)
                    return
                }
                job.continuation = cont
                waiting.append(job)
                cond.signal()
                cond.unlock()
            }
        } onCancel: {
            cond.lock()
            job.cancelled = true
            cond.signal()
            cond.unlock()
        }
    }

    /// Prompt tokens admitted so far and how many of them were not computed because their KV rows
    /// were reused (kept in the slot or copied from another one).
    public var prefixStats: PrefixCounters {
        cond.lock()
        defer { cond.unlock() }
        return counters
    }

    /// Requests waiting for a slot and sequences running, for monitoring.
    public var load: (waiting: Int, active: Int) {
        cond.lock()
        defer { cond.unlock() }
        return (waiting.count, slots.lazy.filter { $0 != nil }.count)
    }

    // MARK: Compute thread

    private func loop() {
        while true {
            // Admission and cancellation, under the lock.
            cond.lock()
            var finished: [(Job, FinishReason)] = []
            if stopping {
                for j in waiting { finished.append((j, .cancelled)) }
                waiting.removeAll()
                for (s, j) in slots.enumerated() where j != nil { finished.append((j!, .cancelled)); slots[s] = nil }
                cond.unlock()
                for (j, r) in finished { j.finish(r) }
                return
            }
            waiting.removeAll { j in
                if j.cancelled { finished.append((j, .cancelled)); return true }
                return false
            }
            for s in slots.indices {
                if let j = slots[s], j.cancelled {
                    finished.append((j, .cancelled))
                    vacate(s, keeping: j)
                }
            }
            while !waiting.isEmpty, let s = chooseSlot(for: waiting[0].request.prompt) {
                let j = waiting.removeFirst()
                j.admit(slot: s, sampler: samplers[s], contextLength: contextLength)
                slots[s] = j
                planPrefixReuse(j)
            }
            let active = slots.contains { $0 != nil }
            if !active && finished.isEmpty {
                if printProfile && profile.steps > 0 && !profile.reported {
                    profile.reported = true
                    let c = counters
                    FileHandle.standardError.write(Data(("tokenmill engine profile (\(maxSequences) slots): \(profile); prompts \(c.promptTokens)"
                        + " tokens: \(c.keptTokens) kept in their slot, \(c.copiedTokens) copied from another sequence\n").utf8))
                }
                let idleFrom = monotonicSeconds()
                cond.wait()
                profile.idleSeconds += monotonicSeconds() - idleFrom
                cond.unlock()
                continue
            }
            cond.unlock()
            for (j, r) in finished { j.finish(r) }
            if active { step() }
        }
    }

    // MARK: Prefix sharing (compute thread; slot changes under the lock)

    /// Frees slot `s`, remembering which tokens' KV rows the leaving sequence left there.
    private func vacate(_ s: Int, keeping j: Job?) {
        slots[s] = nil
        if minSharedPrefix > 0, let j, j.fed > 0 { slotTokens[s] = Array(j.history[0..<min(j.fed, j.history.count)]) } else { slotTokens[s] = [] }
    }

    /// The free slot for a prompt: the one whose kept KV rows share the longest prefix with it.
    private func chooseSlot(for prompt: [Int32]) -> Int? {
        var best: Int?, bestLength = -1
        for s in slots.indices where slots[s] == nil {
            let l = minSharedPrefix > 0 ? commonPrefixLength(slotTokens[s], prompt) : 0
            if l > bestLength { best = s; bestLength = l }
        }
        return best
    }

    /// Reuses the slot's own kept rows, and plans a copy from another sequence with a longer common prefix.
    private func planPrefixReuse(_ j: Job) {
        let prompt = j.request.prompt
        counters.promptTokens += prompt.count
        guard minSharedPrefix > 0 else { return }
        let cap = prompt.count - 1   // the last prompt token is always fed: its logits give the first token
        let own = min(commonPrefixLength(slotTokens[j.slot], prompt), cap)
        slotTokens[j.slot] = []
        if own >= minSharedPrefix {
            j.fed = own
            counters.keptTokens += own
        }
        var best = max(j.fed, minSharedPrefix - 1)
        for case let k? in slots where k !== j {
            let l = min(commonPrefixLength(k.history, prompt), cap)
            if l > best { best = l; j.shareFrom = k; j.shareUpTo = l }
        }
    }

    /// Copies planned shared prefixes whose source rows are computed; drops plans whose source left.
    private func resolvePrefixCopies() {
        for case let j? in slots {
            guard let k = j.shareFrom else { continue }
            if k.slot < 0 || slots[k.slot] !== k {
                j.shareFrom = nil          // the source ended first: prefill the prompt itself
            } else if k.fed >= j.shareUpTo {
                engine.copyKVRows(from: k.slot, to: j.slot, count: j.shareUpTo)
                cond.lock()
                counters.copiedTokens += j.shareUpTo - j.fed
                cond.unlock()
                j.fed = j.shareUpTo
                j.shareFrom = nil
            }
        }
    }

    /// One batched forward: a token for every decoding sequence, then prompt/injected chunks up to the budget.
    private func step() {
        let t0 = monotonicSeconds()
        resolvePrefixCopies()
        let t1 = monotonicSeconds()
        profile.copySeconds += t1 - t0
        profile.steps += 1
        profile.reported = false
        var occupied = 0
        for case _? in slots { occupied += 1 }
        profile.occupiedSlotSteps += occupied
        profile.slotSteps += maxSequences
        defer { profile.stepSeconds += monotonicSeconds() - t0 }
        batch.removeAll(keepingCapacity: true)
        logitJobs.removeAll(keepingCapacity: true)
        for case let j? in slots where j.pendingCount == 1 && j.shareFrom == nil {
            batch.append(BatchToken(seq: j.slot, token: j.history[j.fed], pos: j.fed, wantLogits: true))
            j.fed += 1
            logitJobs.append(j)
        }
        // While others decode, a step carries about as many prompt tokens as it costs to decode one
        // step (2 per decoding sequence, at least 16), so a long prompt delays their next token by at
        // most about one step; with nothing decoding, whole chunks.
        var budget = logitJobs.isEmpty ? prefillChunk : min(prefillChunk, max(16, 2 * logitJobs.count))
        let fullBudget = budget
        for case let j? in slots where j.pendingCount > 1 && budget > 0 && j.shareFrom == nil {
            let take = min(j.pendingCount, budget)
            for i in 0..<take {
                let p = j.fed + i
                batch.append(BatchToken(seq: j.slot, token: j.history[p], pos: p, wantLogits: i == take - 1 && take == j.pendingCount))
            }
            j.fed += take
            budget -= take
            if j.pendingCount == 0 { logitJobs.append(j) }
        }
        if batch.isEmpty { return }
        profile.decodeTokens += batch.count - (fullBudget - budget)
        profile.prefillTokens += fullBudget - budget
        let t2 = monotonicSeconds()
        do {
            try engine.forward(batch)
            profile.forwardSeconds += monotonicSeconds() - t2
        } catch {
            let message = "\(error)"
            cond.lock()
            var failed: [Job] = []
            for case let j? in slots where batch.contains(where: { $0.seq == j.slot }) {
                failed.append(j)
                j.fed = 0   // its rows may be half written: keep none
                vacate(j.slot, keeping: nil)
            }
            cond.unlock()
            for j in failed { j.fail(GenerationError.forwardFailed(message)) }
            return
        }
        // Logit rows are in batch order, which is the order of `logitJobs`. Sampling (the costly,
        // whole-vocabulary part) runs in parallel, one sequence per task; recording tokens, callbacks
        // and controllers then run in order on this thread.
        precondition(engine.logitRows == logitJobs.count)
        let jobs = logitJobs
        let eng = engine
        let t3 = monotonicSeconds()
        eng.pool.parallelFor(jobs.count) { i in jobs[i].draw(logits: eng.logits(row: i)) }
        let t4 = monotonicSeconds()
        var done: [(Job, FinishReason)] = []
        for j in jobs {
            if let reason = j.applyDrawn(vocab: model.config.vocab) { done.append((j, reason)) }
        }
        profile.sampleSeconds += t4 - t3
        profile.applySeconds += monotonicSeconds() - t4
        if !done.isEmpty {
            cond.lock()
            for (j, _) in done { vacate(j.slot, keeping: j) }
            cond.unlock()
            for (j, r) in done { j.finish(r) }
        }
    }
}

/// Where a generation engine's compute thread spent its time (seconds; cumulative).
struct EngineProfile: CustomStringConvertible {
    var steps = 0
    var stepSeconds = 0.0
    var forwardSeconds = 0.0
    /// Sampling from the logits (parallel over sequences).
    var sampleSeconds = 0.0
    /// Recording tokens: controllers (budget forcing, detokenising, marker and stop matching) and callbacks.
    var applySeconds = 0.0
    var copySeconds = 0.0
    /// Waiting with no sequence to run.
    var idleSeconds = 0.0
    var prefillTokens = 0
    var decodeTokens = 0
    var occupiedSlotSteps = 0
    var slotSteps = 0
    var reported = false

    var description: String {
        func f(_ x: Double) -> String { String(format: "%.3f", x) }
        let other = stepSeconds - forwardSeconds - sampleSeconds - applySeconds - copySeconds
        return "steps \(steps), step \(f(stepSeconds))s = forward \(f(forwardSeconds))s + sampling \(f(sampleSeconds))s"
            + " + tokens/controllers \(f(applySeconds))s + prefix copies \(f(copySeconds))s + other \(f(other))s;"
            + " idle \(f(idleSeconds))s; prefill \(prefillTokens) tokens, decode \(decodeTokens) tokens;"
            + String(format: " slots occupied %.1f%%", slotSteps > 0 ? 100 * Double(occupiedSlotSteps) / Double(slotSteps) : 0)
    }
}

/// How much prompt prefill prefix sharing saved.
public struct PrefixCounters: Sendable, Equatable {
    /// Prompt tokens of every admitted request.
    public var promptTokens = 0
    /// Prompt tokens whose KV rows a slot still held from its previous sequence.
    public var keptTokens = 0
    /// Prompt tokens whose KV rows were copied from another sequence.
    public var copiedTokens = 0
    /// Prompt tokens not computed.
    public var savedTokens: Int { keptTokens + copiedTokens }
    public init() {}
}

/// Length of the common prefix of two token sequences.
func commonPrefixLength(_ a: [Int32], _ b: [Int32]) -> Int {
    let n = min(a.count, b.count)
    var i = 0
    while i < n && a[i] == b[i] { i += 1 }
    return i
}

/// One request's state. After admission only the compute thread touches it (`cancelled` is under the engine lock).
final class Job {
    let request: GenerationRequest
    let onToken: (TokenEvent) -> Void
    var continuation: CheckedContinuation<GenerationResult, Error>?
    var cancelled = false
    var controller: (any SequenceController)?

    var slot = -1
    var sampler: Sampler?
    var contextLength = 0
    /// Prompt followed by generated tokens; `history[i]` sits at position `i`.
    var history: [Int32] = []
    /// Tokens of `history` already fed through the model.
    var fed = 0
    /// A sequence whose KV rows `0..<shareUpTo` this one copies once they are computed (prefix sharing).
    var shareFrom: Job?
    var shareUpTo = 0
    var tokens: [GeneratedToken] = []
    var sampled = 0
    var stopDetail: String?
    let submitted = monotonicSeconds()
    var admitted = 0.0
    var firstToken = 0.0
    var lastToken = 0.0

    init(request: GenerationRequest, onToken: @escaping (TokenEvent) -> Void) {
        self.request = request
        self.onToken = onToken
        self.controller = request.controller
    }

    var pendingCount: Int { history.count - fed }

    func admit(slot: Int, sampler: Sampler, contextLength: Int) {
        self.slot = slot
        self.sampler = sampler
        self.contextLength = contextLength
        sampler.reset(params: request.sampling)
        history.reserveCapacity(min(contextLength + 1, request.prompt.count + request.maxTokens + 64))
        history.append(contentsOf: request.prompt)
        tokens.reserveCapacity(min(contextLength, request.maxTokens + 64))
        admitted = monotonicSeconds()
    }

    /// The token `draw` picked, waiting for `applyDrawn`.
    var drawn: Int32 = 0
    var drawnLogprobs: Logprobs?

    /// Samples the next token from `logits` (touches only this job and its sampler, so jobs can draw in parallel).
    func draw(logits: UnsafeBufferPointer<Float>) {
        let sampler = self.sampler!
        let p = request.sampling
        let window = p.repeatLastN < 0 ? history[...] : history.suffix(max(p.repeatLastN, 0))
        drawn = sampler.sample(logits, history: window)
        drawnLogprobs = request.topLogprobs > 0
            ? sampler.logprobs(logits, chosen: drawn, k: request.topLogprobs, temperature: request.logprobTemperature) : nil
    }

    /// Records the drawn token (and any injected ones); returns a reason when the sequence ends.
    func applyDrawn(vocab: Int) -> FinishReason? {
        let tok = drawn
        let lp = drawnLogprobs
        drawnLogprobs = nil
        let now = monotonicSeconds()
        if sampled == 0 { firstToken = now }
        lastToken = now
        sampled += 1
        let isStop = request.stopTokens.contains(tok)
        let action = controller?.next(token: tok, context: ControlContext(
            sampledCount: sampled, generatedCount: tokens.count + 1, isStopToken: isStop)) ?? .continue
        if case .replace = action {} else { emit(tok, injected: false, logprobs: lp) }
        switch action {
        case .stop(let why):
            stopDetail = why
            return .controller
        case .inject(let extra), .replace(let extra):
            for t in extra {
                guard t >= 0, Int(t) < vocab else {
                    stopDetail = "controller injected token \(t) outside the vocabulary"
                    return .controller
                }
                emit(t, injected: true, logprobs: nil)
            }
        case .continue:
            if isStop { return .stop }
        }
        if sampled >= request.maxTokens { return .length }
        if history.count > contextLength { return .contextFull }
        return nil
    }

    private func emit(_ t: Int32, injected: Bool, logprobs: Logprobs?) {
        history.append(t)
        let index = tokens.count
        tokens.append(GeneratedToken(token: t, injected: injected, logprobs: logprobs))
        onToken(TokenEvent(token: t, injected: injected, index: index, logprobs: logprobs))
    }

    func result(_ reason: FinishReason) -> GenerationResult {
        let end = monotonicSeconds()
        let decodeSpan = lastToken - firstToken
        return GenerationResult(
            tokens: tokens, finishReason: reason, stopDetail: stopDetail, promptTokens: request.prompt.count,
            timeToFirstToken: sampled > 0 ? firstToken - submitted : 0,
            queueWait: admitted > 0 ? admitted - submitted : end - submitted,
            decodeTokensPerSecond: sampled > 1 && decodeSpan > 0 ? Double(sampled - 1) / decodeSpan : 0,
            totalSeconds: end - submitted)
    }

    func finish(_ reason: FinishReason) {
        let c = continuation
        continuation = nil
        c?.resume(returning: result(reason))
    }

    func fail(_ error: Error) {
        let c = continuation
        continuation = nil
        c?.resume(throwing: error)
    }
}
