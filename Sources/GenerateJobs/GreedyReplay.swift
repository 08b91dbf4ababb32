import Foundation
import Inference

/// Reuses greedy continuations across jobs of one worker: a budget sweep runs the same prompt under
/// several policies, and under greedy decoding every run follows the same tokens until its
/// controller changes the course (a cut, a stop). The tokens a model chose for a prompt (up to the
/// first injected one) are kept; a later greedy job for the same prompt walks its controller over
/// them without the model and hands the engine only what comes after the point where its course
/// departs, as a longer prompt (prefill instead of decode).
///
/// The outcome is the run that continues the stored greedy course, which is what a budget sweep
/// compares: every policy cuts the same reasoning. A fresh run equals it where decoding is
/// batch-invariant (float weights: the engine's test `batchedRunGivesTheSameGreedyOutputAsOneByOne`).
/// On quantized weights it is not quite: which kernel path a sequence's activations take (eight-row
/// tiles, the eight-sequence tables, rows of 1-4 sequences) depends on how many activation rows share
/// the step, and the paths add the block products and min/offset terms in different orders, so a
/// near-tie between two tokens can go either way, and a fresh run in another batch composition (or a
/// prefilled prefix instead of a decoded one) may take another course from there.
/// `ops/bench/budgets.sh` measures how often on a sample with replay off (on Qwen2.5-Coder-1.5B: same
/// verdicts, different wording in most items; two one-at-a-time runs are identical). Off by default:
/// `TOKENMILL_GREEDY_REPLAY=1` turns it on for a worker.
public actor GreedyReplay {
    public struct Key: Hashable, Sendable {
        public var model: String
        /// The sampling parameters that steer greedy decoding, field by field (JSON would not do: its
        /// key order can differ between two encodings of the same value). Not the seed: greedy
        /// decoding draws nothing.
        public var sampling: String
        public var prompt: [Int32]

        public init(model: String, sampling s: SamplingParams, prompt: [Int32]) {
            self.model = model
            self.sampling = "\(s.temperature) \(s.topK) \(s.topP) \(s.minP) \(s.repeatPenalty) \(s.repeatLastN)"
            self.prompt = prompt
        }
    }

    private var paths: [Key: [Int32]] = [:]
    /// Most prompts kept (the store is emptied when full).
    public let capacity: Int

    public init(capacity: Int = 20_000) { self.capacity = capacity }

    /// A replay store when `TOKENMILL_GREEDY_REPLAY` is 1, else nil.
    public static func fromEnvironment() -> GreedyReplay? {
        ProcessInfo.processInfo.environment["TOKENMILL_GREEDY_REPLAY"] == "1" ? GreedyReplay() : nil
    }

    /// Whether runs with these settings can be replayed: greedy, without log-probabilities.
    public static func applies(to sampling: SamplingParams, topLogprobs: Int) -> Bool {
        sampling.temperature <= 0 && topLogprobs == 0
    }

    public func path(for key: Key) -> [Int32]? { paths[key] }

    /// Prompts with a stored path.
    public var count: Int { paths.count }

    /// Keeps the model's own tokens of a finished run: `tokens` up to the first injected one.
    public func record(_ key: Key, tokens: [(token: Int32, injected: Bool)]) {
        let own = tokens.prefix { !$0.injected }.map(\.token)
        guard !own.isEmpty, own.count > (paths[key]?.count ?? 0) else { return }
        if paths[key] == nil && paths.count >= capacity { paths.removeAll() }
        paths[key] = own
    }

    /// What walking a controller over a stored path gave.
    public struct Walk {
        /// Generated tokens so far (sampled ones from the path, then any the controller injected).
        public var tokens: [(token: Int32, injected: Bool)] = []
        /// Path tokens consumed (they count against the request's `maxTokens` like sampled ones).
        public var consumed = 0
        /// Set when the generation ended inside the path.
        public var finish: FinishReason?
        public var stopDetail: String?
    }

    /// Feeds `path` to `controller` as if the model had sampled it, until the controller acts or the
    /// path or `maxTokens` runs out. Pure: no model call.
    public static func walk(_ path: [Int32], controller: any SequenceController, stopTokens: Set<Int32>,
                            maxTokens: Int) -> Walk {
        var c = controller
        var w = Walk()
        for tok in path {
            if w.consumed >= maxTokens { w.finish = .length; break }
            w.consumed += 1
            let isStop = stopTokens.contains(tok)
            switch c.next(token: tok, context: ControlContext(sampledCount: w.consumed, generatedCount: w.tokens.count + 1,
                                                              isStopToken: isStop)) {
            case .continue:
                w.tokens.append((tok, false))
                if isStop { w.finish = .stop; return w }
            case .inject(let extra):
                w.tokens.append((tok, false))
                w.tokens += extra.map { ($0, true) }
                return finishIfOut(w, maxTokens)
            case .replace(let extra):
                w.tokens += extra.map { ($0, true) }
                return finishIfOut(w, maxTokens)
            case .stop(let why):
                w.tokens.append((tok, false))
                w.finish = .controller
                w.stopDetail = why
                return w
            }
        }
        return finishIfOut(w, maxTokens)
    }

    private static func finishIfOut(_ w: Walk, _ maxTokens: Int) -> Walk {
        var w = w
        if w.finish == nil && w.consumed >= maxTokens { w.finish = .length }
        return w
    }
}
