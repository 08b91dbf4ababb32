import Foundation
import Testing
@testable import Verification

/// One pair of the committed tables with Math-Verify's verdict (ops/eval/mathverify_table.py).
struct TablePair: Decodable {
    var family: String
    var reference: String
    var answer: String
    var mathverify: Bool
}

enum Tables {
    static func load(_ name: String) throws -> [TablePair] {
        guard let url = Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "jsonl") else {
            throw CocoaError(.fileNoSuchFile)
        }
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(TablePair.self, from: Data($0.utf8)) }
    }

    struct Score {
        var agree = 0, total = 0, notEqual = 0, falseAccepts = 0
        var disagreements: [String] = []
        var agreement: Double { Double(agree) / Double(max(total, 1)) }
        var falseAcceptRate: Double { Double(falseAccepts) / Double(max(notEqual, 1)) }
    }

    static func score(_ pairs: [TablePair]) -> Score {
        var s = Score()
        for p in pairs {
            let v = MathVerifier.verify(reference: p.reference, answer: p.answer).correct
            s.total += 1
            if v == p.mathverify { s.agree += 1 } else {
                s.disagreements.append("[\(p.family)] ref=\(p.reference.debugDescription) ans=\(p.answer.debugDescription) mathverify=\(p.mathverify) ours=\(v)")
            }
            if !p.mathverify {
                s.notEqual += 1
                if v { s.falseAccepts += 1 }
            }
        }
        return s
    }
}

/// ≥ 90% agreement with Math-Verify and ≤ 1% of its not-equal pairs accepted; prints every disagreement.
private func checkAgreement(_ name: String, label: String, minimumPairs: Int) throws {
    let pairs = try Tables.load(name)
    #expect(pairs.count >= minimumPairs)
    #expect(Set(pairs.map(\.family)).count >= 10, "pairs cover the answer families")
    let s = Tables.score(pairs)
    print("\(label): \(s.agree)/\(s.total) agree (\(String(format: "%.1f", 100 * s.agreement))%), false accepts \(s.falseAccepts)/\(s.notEqual)")
    for d in s.disagreements { print("  \(label) disagreement: \(d)") }
    #expect(s.agreement >= 0.90)
    #expect(s.falseAcceptRate <= 0.01)
}

@Test func developmentTableAgreesWithMathVerify() throws {
    try checkAgreement("table", label: "table", minimumPairs: 200)
}

/// The held-out suite was written before the verifier and is not used to tune it.
@Test func heldOutSuiteAgreesWithMathVerify() throws {
    try checkAgreement("heldout", label: "held-out", minimumPairs: 100)
}

/// A second held-out suite, written after the tuning on the development table was done; measured, not tuned on.
@Test func secondHeldOutSuiteAgreesWithMathVerify() throws {
    try checkAgreement("heldout2", label: "held-out 2", minimumPairs: 100)
}
