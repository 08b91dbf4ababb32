import Foundation
import Testing
import TestSupport

/// `tokenmill verify` as users call it to test references before a dataset build.
@Test func verifyPrintsExtractedValuesAndVerdict() throws {
    let (status, out, err) = try runTokenmill(["verify", "--reference", "$\\frac{1}{2}$", "--answer", "so it is \\boxed{0.5}."])
    try #require(status == 0, "verify failed: \(err)")
    #expect(out.contains("reference: \\frac{1}{2}"))
    #expect(out.contains("verdict:   correct"))
    let (s2, wrong, _) = try runTokenmill(["verify", "--reference", "7", "--answer", "\\boxed{7 = -7}"])
    #expect(s2 == 0)
    #expect(wrong.contains("verdict:   not correct"))
}

@Test func verifyFileGivesOneJSONObjectPerLineInOrder() throws {
    let file = NSTemporaryDirectory() + "verify-pairs-\(getpid()).jsonl"
    defer { try? FileManager.default.removeItem(atPath: file) }
    let lines = [
        #"{"reference": "$\\{1, 2\\}$", "answer": "The roots are \\boxed{2} and \\boxed{1}."}"#,
        #"{"reference": "$(0, 1]$", "answer": "\\boxed{[0, 1]}"}"#,
        #"not json"#,
        #"{"reference": "Since $2x = 10$, $x = 5$. So the answer is $\\boxed{5}$.", "answer": "x = 5"}"#,
    ]
    try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
    let (status, out, err) = try runTokenmill(["verify", "--file", file, "--json"])
    #expect(status == 1, "an invalid line makes the exit status 1: \(err)")
    #expect(err.contains("1 invalid line"))
    let rows = try out.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    try #require(rows.count == 4)
    #expect(rows.map { $0["line"] as? Int } == [1, 2, 3, 4])
    #expect(rows.map { $0["correct"] as? Bool } == [true, false, false, true])
    #expect(rows[0]["answer_parsed"] as? String == "{2, 1}")
    #expect(rows[1]["reference_extracted"] as? String == "(0, 1]")
    #expect((rows[2]["error"] as? String)?.contains("line 3") == true)
    #expect(rows[3]["reference_extracted"] as? String == "5")
}

@Test func verifyOnBadInputAnswersClearlyWithoutCrashing() throws {
    // Empty answer, unbalanced braces: a verdict with a note, exit status 0.
    for answer in ["", "\\boxed{5", "}}}{{{", "$$$", "\\frac{\\frac{"] {
        let (status, out, err) = try runTokenmill(["verify", "--reference", "5", "--answer", answer, "--json"])
        #expect(status == 0, "answer \(answer.debugDescription): status \(status), \(err)")
        let row = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        #expect(row["correct"] as? Bool == false)
    }
    let (s0, out0, _) = try runTokenmill(["verify", "--reference", "5", "--answer", ""])
    #expect(s0 == 0 && out0.contains("no answer found"))
    // 1 MB answers (through a file: one command-line argument is limited to 128 KiB), deep nesting.
    let file = NSTemporaryDirectory() + "verify-big-\(getpid()).jsonl"
    defer { try? FileManager.default.removeItem(atPath: file) }
    let big = [String(repeating: "{", count: 1 << 20),
               String(repeating: "\\boxed{", count: 150_000),
               String(repeating: "The value is 3. ", count: 65_536) + "\\boxed{5}",
               "$" + String(repeating: "\\frac{1}{", count: 20_000) + "2" + String(repeating: "}", count: 20_000) + "$",
               "$" + String(repeating: "2^{", count: 5_000) + "2" + String(repeating: "}", count: 5_000) + "$"]
    let pairs = big.map { a in
        String(decoding: try! JSONSerialization.data(withJSONObject: ["reference": "5", "answer": a]), as: UTF8.self)
    }
    try pairs.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
    let (status, out, err) = try runTokenmill(["verify", "--file", file, "--json"])
    #expect(status == 0, "\(err)")
    let rows = try out.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    #expect(rows.map { $0["correct"] as? Bool } == [false, false, true, false, false])
    #expect(rows[2]["truncated"] as? Bool == true)
}

@Test func verifyRejectsUnusableOptions() throws {
    let (s1, _, e1) = try runTokenmill(["verify", "--reference", "1"])
    #expect(s1 != 0 && e1.contains("--answer"))
    let (s2, _, e2) = try runTokenmill(["verify", "--reference", "1", "--answer", "1", "--verifier", "regex:("])
    #expect(s2 != 0 && e2.contains("--verifier"))
    let (s3, _, e3) = try runTokenmill(["verify", "--file", "/nonexistent/pairs.jsonl"])
    #expect(s3 != 0 && e3.contains("cannot read"))
    let (s4, out4, _) = try runTokenmill(["verify", "--reference", "Paris", "--answer", "The capital is Paris", "--verifier", "regex:Paris$"])
    #expect(s4 == 0 && out4.contains("verdict:   correct"))
}
