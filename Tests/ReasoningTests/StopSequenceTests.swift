import Testing
@testable import Reasoning

/// Feeds pieces one by one; the index of the piece that completed a stop sequence, if any.
private func firstMatch(_ stops: [String], _ pieces: [String]) -> Int? {
    var m = StopSequenceMatcher(stops)
    for (i, p) in pieces.enumerated() where m.feed(Array(p.utf8)) { return i }
    return nil
}

@Test func stopSequenceIsFoundAcrossTokensAndOnlyOnce() {
    #expect(firstMatch(["END", "\n\n"], ["The answer", " is 4 E", "N", "D and more"]) == 3)
    #expect(firstMatch(["\n\n"], ["a\n", "\nb"]) == 1)
    #expect(firstMatch([], ["END"]) == nil)
    #expect(firstMatch(["stop"], ["st", "o", "x", "p"]) == nil)
}

@Test func truncationCutsBeforeTheEarliestStop() {
    #expect(StopSequenceMatcher.truncate("1, 2, 3, 4, 5, 6", at: ["5", ", 3"]) == "1, 2")
    #expect(StopSequenceMatcher.truncate("no stop here", at: ["END"]) == "no stop here")
    #expect(StopSequenceMatcher.truncate("xENDy", at: ["", "END"]) == "x")
}
