import Foundation
import PostgresClient
import Reasoning
import Verification

/// Export of a dataset's finished prompts as trainer-ready JSONL, with soft targets in a sidecar.
public enum DistillExport {
    public enum Format: String, Sendable { case sft, r1 }

    public struct Sample: Sendable {
        public var index: Int
        public var status: String
        public var rejectReason: String?
        public var thinking: String
        public var answer: String
        public var correct: Bool?
        public var finishReason: String
        public var softTargets: [UInt8]?
    }

    public struct Prompt: Sendable {
        public var id: String
        public var difficulty: String?
        public var problem: String
        public var reference: String?
        public var solution: String?
        public var samples: [Sample]
    }

    public struct Dataset: Sendable {
        public var name: String
        public var keepPerPrompt: Int
        public var softTargetsK: Int
        /// Finished prompts only, in the prompt set's order.
        public var prompts: [Prompt]
    }

    /// Reads a dataset's finished prompts (every sample index has its row) and their samples.
    public static func load(dataset name: String, pool: PostgresPool) async throws -> Dataset {
        let d = try await pool.query(
            "SELECT id, samples_per_prompt, keep_per_prompt, soft_targets_k FROM tokenmill.datasets WHERE name = $1", [name])
        guard let row = d.rows.first else { throw SoftTargetsError("no dataset named '\(name)'") }
        let id: Int64 = try row.decode(0)
        let per: Int = try row.decode(1)
        let rows = try await pool.query("""
            SELECT p.prompt_id, p.difficulty, p.problem, p.reference, p.solution, s.sample_index, s.status, s.reject_reason,
                   s.thinking_text, s.answer_text, s.correct, s.finish_reason, encode(s.soft_targets, 'hex')
              FROM tokenmill.dataset_prompts p
              JOIN tokenmill.distill_samples s ON s.dataset_id = p.dataset_id AND s.prompt_id = p.prompt_id
             WHERE p.dataset_id = $1
               AND (SELECT count(*) FROM tokenmill.distill_samples x WHERE x.dataset_id = p.dataset_id AND x.prompt_id = p.prompt_id) >= $2
             ORDER BY p.position, s.sample_index
            """, [id, per])
        var prompts: [Prompt] = []
        for r in rows.rows {
            let pid: String = try r.decode(0)
            if prompts.last?.id != pid {
                prompts.append(Prompt(id: pid, difficulty: r[1], problem: try r.decode(2), reference: r[3], solution: r[4], samples: []))
            }
            prompts[prompts.count - 1].samples.append(Sample(
                index: try r.decode(5), status: try r.decode(6), rejectReason: r[7], thinking: try r.decode(8),
                answer: try r.decode(9), correct: try r.decodeIfPresent(10), finishReason: try r.decode(11),
                softTargets: r[12].map(unhex)))
        }
        return Dataset(name: name, keepPerPrompt: try row.decode(2), softTargetsK: try row.decode(3), prompts: prompts)
    }

    /// The assistant turn as trainers expect it: thinking inside `<think>` tags, then the answer.
    public static func assistantText(_ s: Sample) -> String {
        "<think>\n" + s.thinking.trimmingCharacters(in: .whitespacesAndNewlines) + "\n</think>\n\n"
            + s.answer.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Renders JSONL (and the concatenated soft-target blobs when asked): `sft` has one record per kept
    /// sample; `r1` one record per prompt with every generation and its verdict.
    public static func render(_ d: Dataset, format: Format, withSoftTargets: Bool) -> (jsonl: String, sidecar: [UInt8], records: Int) {
        var out = ""
        var sidecar: [UInt8] = []
        var records = 0
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func line(_ obj: [String: JSONAny]) {
            out += String(decoding: (try? enc.encode(obj)) ?? Data("{}".utf8), as: UTF8.self) + "\n"
            records += 1
        }
        for p in d.prompts {
            let kept = Array(p.samples.filter { $0.status == "kept" }.prefix(d.keepPerPrompt))
            switch format {
            case .sft:
                for s in kept {
                    var obj: [String: JSONAny] = [
                        "messages": .array([.object(["role": .string("user"), "content": .string(p.problem)]),
                                            .object(["role": .string("assistant"), "content": .string(assistantText(s))])]),
                        "dataset": .string(d.name), "prompt_id": .string(p.id), "sample_index": .int(s.index),
                        "difficulty": p.difficulty.map(JSONAny.string) ?? .null,
                    ]
                    if withSoftTargets, let blob = s.softTargets {
                        obj["soft_targets"] = .object(["offset": .int(sidecar.count), "length": .int(blob.count)])
                        sidecar += blob
                    }
                    line(obj)
                }
            case .r1:
                let generated = p.samples.filter { $0.status != "skipped" }
                var obj: [String: JSONAny] = [
                    "problem": .string(p.problem), "solution": p.solution.map(JSONAny.string) ?? .null,
                    "answer": p.reference.map(JSONAny.string) ?? .null,
                    "generations": .array(generated.map { .string(assistantText($0)) }),
                    "correctness": .array(generated.map { $0.correct.map(JSONAny.bool) ?? .null }),
                    "finish_reasons": .array(generated.map { .string($0.finishReason) }),
                    "kept": .array(generated.map { .bool($0.status == "kept") }),
                    "reject_reasons": .array(generated.map { $0.rejectReason.map(JSONAny.string) ?? .null }),
                    "messages": kept.first.map { s in
                        .array([.object(["role": .string("user"), "content": .string(p.problem)]),
                                .object(["role": .string("assistant"), "content": .string(assistantText(s))])])
                    } ?? .array([]),
                    "prompt_id": .string(p.id), "difficulty": p.difficulty.map(JSONAny.string) ?? .null,
                ]
                if withSoftTargets {
                    obj["soft_targets"] = .array(generated.map { s in
                        guard let blob = s.softTargets else { return .null }
                        defer { sidecar += blob }
                        return .object(["offset": .int(sidecar.count), "length": .int(blob.count)])
                    })
                }
                line(obj)
            }
        }
        return (out, sidecar, records)
    }

    /// The content of the last `\boxed{}` of a text (boxed answers right before it joined with commas,
    /// as the verifier reads them); nil without one.
    public static func boxed(_ s: String) -> String? {
        MathVerifier.lastBoxed(in: s)
    }

    static func unhex(_ s: String) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(s.utf8.count / 2)
        var hi: UInt8?
        for c in s.utf8 {
            let v: UInt8 = c <= 57 ? c - 48 : c - 87
            if let h = hi { out.append(h << 4 | v); hi = nil } else { hi = v }
        }
        return out
    }
}

/// A small JSON value for encoding export records with sorted keys.
public indirect enum JSONAny: Encodable, Sendable {
    case string(String), int(Int), bool(Bool), null
    case array([JSONAny]), object([String: JSONAny])

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .int(let i): try c.encode(i)
        case .bool(let b): try c.encode(b)
        case .null: try c.encodeNil()
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}
