import Foundation
import GenerateJobs
import PostgresClient
import Queue
import Reasoning

/// The payload of one `distill` job: sample `sample_index` of prompt `prompt_id` in dataset `dataset_id`.
/// `generate` is a complete generate payload (model, prompt, reference, budgets, sampling).
public struct DistillPayload: Codable, Sendable {
    public struct VerifierSpec: Codable, Sendable {
        public var type: String
        public var pattern: String?
    }
    public struct SoftTargetSpec: Codable, Sendable {
        public var k: Int
        /// Temperature of the softmax the targets are taken at; default 1 (the teacher's own distribution).
        public var temperature: Double?
    }

    public var dataset_id: Int64
    public var prompt_id: String
    public var sample_index: Int
    public var keep_per_prompt: Int
    public var key: String?
    public var verifier: VerifierSpec?
    public var filters: SampleFilters?
    public var soft_targets: SoftTargetSpec?
    public var generate: GeneratePayload

    public func resolvedVerifier() throws -> Verifier {
        switch verifier?.type ?? "math" {
        case "math": return .math
        case "exact": return .exact
        case "regex":
            guard let p = verifier?.pattern, (try? NSRegularExpression(pattern: p)) != nil else {
                throw JobError.permanent("verifier regex needs a valid \"pattern\"")
            }
            return .regex(p)
        case let other: throw JobError.permanent("unknown verifier '\(other)' (use math, exact or regex)")
        }
    }
}

/// Runs `distill` jobs on the generate kind's machinery (same model cache, engine, budgets and
/// accounting), then verifies, filters and stores the sample with optional soft targets.
public struct DistillHandler: JobHandler {
    public static let kind = "distill"
    public let generator: GenerateHandler

    public init(generator: GenerateHandler) {
        self.generator = generator
    }

    public func run(_ job: ClaimedJob, context: JobContext) async throws -> JobResult {
        let p = try DistillKind.payload(of: job)
        let verifier = try p.resolvedVerifier()
        // Early stop: enough samples of this prompt were kept already.
        let kept: Int = try await context.pool.query(
            "SELECT count(*) FROM tokenmill.distill_samples WHERE dataset_id = $1 AND prompt_id = $2 AND status = 'kept'",
            [p.dataset_id, p.prompt_id]).rows[0].decode(0)
        if kept >= p.keep_per_prompt {
            return JobResult(resultJSON: #"{"status":"skipped"}"#, statements: [DistillSample.skipped(p, jobID: job.id).insert()])
        }
        let loaded = try await generator.models.jobModel(p.generate.model)
        let k = min(max(p.soft_targets?.k ?? 0, 0), 128)
        let temperature = Float(p.soft_targets?.temperature ?? 1)
        let out = try await generator.generate(p.generate, jobID: job.id, batchID: job.batchID, loaded: loaded,
                                               context: context, topLogprobs: k, logprobTemperature: temperature)
        if context.isCancelled { throw JobError.cancelled }
        let sample = DistillSample.judge(p, output: out, verifier: verifier, softTargetsK: k, temperature: temperature)
        return JobResult(resultJSON: #"{"status":"\#(sample.status)"}"#, statements: [sample.insert()])
    }
}

/// One row of tokenmill.distill_samples.
public struct DistillSample: Sendable {
    public var payload: DistillPayload
    public var jobID: Int64
    public var status: String
    public var rejectReason: RejectReason?
    public var output: GenerationOutput?
    public var extracted: String?
    public var correct: Bool?
    public var softTargets: SoftTargets?

    static func skipped(_ p: DistillPayload, jobID: Int64) -> DistillSample {
        DistillSample(payload: p, jobID: jobID, status: "skipped")
    }

    /// Verifies and filters a generated sample.
    public static func judge(_ p: DistillPayload, output: GenerationOutput, verifier: Verifier, softTargetsK k: Int,
                             temperature: Float) -> DistillSample {
        let (extracted, correct) = verifier.verify(answer: output.answerText, reference: p.generate.reference)
        let filters = p.filters ?? SampleFilters()
        var reason = filters.reject(prompt: p.generate.prompt ?? "", thinking: output.thinkingText,
                                    answer: output.answerText, budgetHit: output.budgetHit,
                                    truncated: output.finishReason == .length)
        if reason == nil {
            if output.answerTokens == 0 && !output.budgetHit { reason = .unclosedThinking }
            else if extracted == nil || extracted?.isEmpty == true { reason = .noAnswer }
            else if correct == false { reason = .wrongAnswer }
        }
        let soft = k > 0 ? SoftTargets(k: k, temperature: temperature, tokens: output.tokenIDs,
                                       entries: output.logprobs.map { $0.map(SoftTargets.Entry.init) }) : nil
        return DistillSample(payload: p, jobID: output.jobID, status: reason == nil ? "kept" : "rejected",
                             rejectReason: reason, output: output, extracted: extracted, correct: correct, softTargets: soft)
    }

    /// The insert, run in the job's fenced completion. A sample that would exceed the per-prompt keep
    /// limit (two samples of one prompt finishing together) is stored as `skipped`.
    public func insert() -> SQLStatement {
        let o = output
        return SQLStatement("""
            INSERT INTO tokenmill.distill_samples
              (dataset_id, prompt_id, sample_index, job_id, status, reject_reason, difficulty, thinking_text,
               answer_text, extracted_answer, correct, finish_reason, prompt_tokens, thinking_tokens, answer_tokens,
               forced_tokens, budget_hit, seed, soft_targets, soft_k, soft_temperature)
            SELECT $1, $2, $3, $4,
                   CASE WHEN $5 = 'kept' AND (SELECT count(*) FROM tokenmill.distill_samples
                                               WHERE dataset_id = $1 AND prompt_id = $2 AND status = 'kept') >= $22
                        THEN 'skipped' ELSE $5 END,
                   $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, decode($19, 'hex'), $20, $21
            ON CONFLICT (dataset_id, prompt_id, sample_index) DO NOTHING
            """, [
            payload.dataset_id, payload.prompt_id, payload.sample_index, jobID, status, rejectReason?.rawValue,
            o?.difficulty.rawValue, o?.thinkingText.pgSafe ?? "",
            o?.answerText.pgSafe ?? "",
            extracted?.pgSafe, correct,
            o?.finishReason.rawValue ?? "stop", o?.promptTokens ?? 0, o?.thinkingTokens ?? 0, o?.answerTokens ?? 0,
            o?.forcedTokens ?? 0, o?.budgetHit ?? false, o.map { Int64(bitPattern: $0.seed) },
            softTargets.map { hex($0.encoded) }, softTargets?.k, softTargets.map { Double($0.temperature) },
            payload.keep_per_prompt,
        ])
    }
}

func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}
