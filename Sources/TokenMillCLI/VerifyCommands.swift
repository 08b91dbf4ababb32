import ArgumentParser
import Foundation
import Reasoning
import Verification

/// Verification commands: verify.
let verifyCommands: [ParsableCommand.Type] = [Verify.self]

/// `tokenmill verify`: the verdict the distill and generate jobs would record for an answer, so
/// references can be tested before an overnight build.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check an answer against a reference with the jobs' verifier and print what it read.",
        discussion: """
            --reference/--answer checks one pair; --file checks a JSONL file of {"reference": ..., "answer": ...}
            objects, one per line. Prints what was extracted from each side, how it was parsed, and the verdict;
            with --json, one JSON object per input line in order: {"line", "correct", "reference_extracted",
            "answer_extracted", "reference_parsed", "answer_parsed", "note"} (or "error" for a line that is not
            such an object). Exit status 0 when every pair got a verdict, 1 when a --file line was invalid.
            """
    )

    @Option(help: "The reference answer (a bare answer, or a worked solution read by its last \\boxed{}).")
    var reference: String?

    @Option(help: "The answer to check (a model output or a bare answer).")
    var answer: String?

    @Option(help: "JSONL file of {\"reference\", \"answer\"} objects (\"-\" for standard input).")
    var file: String?

    @Option(help: "math, exact, or regex:PATTERN (as in the distill job's verifier field).")
    var verifier: String = "math"

    @Flag(help: "One JSON object per pair.")
    var json = false

    func validate() throws {
        if file != nil {
            guard reference == nil, answer == nil else { throw ValidationError("give either --file or --reference with --answer, not both") }
        } else {
            guard reference != nil, answer != nil else { throw ValidationError("give --reference and --answer, or --file PATH") }
        }
        guard Verifier(spec: verifier) != nil else {
            throw ValidationError("--verifier must be math, exact or regex:PATTERN with a valid regular expression (got '\(verifier)')")
        }
    }

    func run() throws {
        let v = Verifier(spec: verifier)!
        guard let file else {
            let verdict = v.judge(answer: answer!, reference: reference!)
            write(json ? Verify.jsonLine(Verify.object(line: 1, verdict)) : Verify.text(verdict))
            return
        }
        let data: Data
        do {
            data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw ValidationError("cannot read \(file): \(error.localizedDescription)")
        }
        var invalid = 0, correct = 0, total = 0
        for (i, raw) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            let n = i + 1
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let ref = obj["reference"] as? String, let ans = obj["answer"] as? String else {
                invalid += 1
                let msg = "line \(n): expected a JSON object with string fields \"reference\" and \"answer\""
                write(json ? Verify.jsonLine(["line": n, "correct": false, "error": msg]) : "line \(n): error: \(msg)\n")
                continue
            }
            let verdict = v.judge(answer: ans, reference: ref)
            total += 1
            if verdict.correct == true { correct += 1 }
            write(json ? Verify.jsonLine(Verify.object(line: n, verdict)) : "line \(n):\n" + Verify.text(verdict))
        }
        FileHandle.standardError.write(Data("\(correct)/\(total) correct\(invalid > 0 ? ", \(invalid) invalid line(s)" : "")\n".utf8))
        if invalid > 0 { throw ExitCode(1) }
    }

    func write(_ s: String) { FileHandle.standardOutput.write(Data(s.utf8)) }

    static func object(line: Int, _ v: VerifierVerdict) -> [String: Any] {
        var o: [String: Any] = ["line": line, "correct": v.correct ?? false]
        o["answer_extracted"] = v.extracted ?? NSNull()
        o["reference_extracted"] = v.extractedReference ?? NSNull()
        if let d = v.detail {
            o["answer_parsed"] = d.answer.answer?.expr.map { "\($0)" } ?? NSNull()
            o["reference_parsed"] = d.reference.answer?.expr.map { "\($0)" } ?? NSNull()
            if d.answer.truncated || d.reference.truncated { o["truncated"] = true }
        }
        o["note"] = v.note ?? NSNull()
        return o
    }

    static func jsonLine(_ o: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static func text(_ v: VerifierVerdict) -> String {
        func show(_ s: String?) -> String { s.map { $0.count > 200 ? String($0.prefix(200)) + "…" : $0 } ?? "(nothing found)" }
        var s = "reference: \(show(v.extractedReference))"
        if let p = v.detail?.reference.answer?.expr { s += "  ->  \(p)" }
        s += "\nanswer:    \(show(v.extracted))"
        if let p = v.detail?.answer.answer?.expr { s += "  ->  \(p)" }
        if v.detail?.answer.truncated == true || v.detail?.reference.truncated == true { s += "\n(long input: only its last 16 KiB were read)" }
        s += "\nverdict:   " + (v.correct == true ? "correct" : "not correct") + (v.note.map { " (\($0))" } ?? "") + "\n"
        return s
    }
}
