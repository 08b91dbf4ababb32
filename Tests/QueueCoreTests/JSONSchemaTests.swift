import Testing
@testable import QueueCore

@Suite struct JSONParsingTests {
    @Test func parsesAllValueKinds() throws {
        let v = try JSONValue.parse(#" {"a": [1, -2.5, 3e2, true, false, null], "s": "x\"\\\u00e9\ud83d\ude00\n"} "#)
        #expect(v["a"] == .array([.integer(1), .number(-2.5), .number(300), .bool(true), .bool(false), .null]))
        #expect(v["s"] == .string("x\"\\é😀\n"))
        #expect(try JSONValue.parse(v.jsonText) == v)
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "01", "\"abc", "tru", "{} x", "\"\\q\"", "1.", "\"\\ud800\""])
    func rejectsInvalid(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func copyEscaping() {
        #expect(copyTextEscape("plain") == "plain")
        #expect(copyTextEscape("a\\b\tc\nd\re") == "a\\\\b\\tc\\nd\\re")
    }
}

@Suite struct JSONSchemaTests {
    let schema = try! JSONSchema(text: """
        {"type": "object", "required": ["prompt"], "additionalProperties": false,
         "properties": {
            "prompt": {"type": "string", "minLength": 1, "maxLength": 10},
            "n": {"type": "integer", "minimum": 1, "maximum": 5},
            "t": {"type": "number", "exclusiveMinimum": 0},
            "mode": {"enum": ["a", "b"]},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "budget": {"oneOf": [{"type": "integer"}, {"type": "string", "enum": ["auto"]}]},
            "x": {"anyOf": [{"type": "null"}, {"type": "boolean"}]},
            "meta": {"type": "object", "additionalProperties": {"type": "integer"}}
         }}
        """)

    func errors(_ json: String) -> [String] { schema.validate(try! JSONValue.parse(json)) }

    @Test func acceptsValid() {
        #expect(errors(#"{"prompt": "hi", "n": 3, "t": 0.5, "mode": "a", "tags": ["x"], "budget": "auto", "x": null, "meta": {"k": 1}}"#) == [])
        #expect(errors(#"{"prompt": "hi", "n": 2.0, "budget": 5, "x": true}"#) == [])
    }

    @Test func reportsEachViolation() {
        #expect(errors(#"{}"#) == [#"$: missing required property "prompt""#])
        #expect(errors(#"{"prompt": ""}"#) == ["$.prompt: string shorter than 1 characters"])
        #expect(errors(#"{"prompt": "12345678901"}"#) == ["$.prompt: string longer than 10 characters (11)"])
        #expect(errors(#"{"prompt": 5}"#) == ["$.prompt: expected string, got integer"])
        #expect(errors(#"{"prompt": "a", "n": 0}"#) == ["$.n: 0 is less than the minimum 1"])
        #expect(errors(#"{"prompt": "a", "n": 9}"#) == ["$.n: 9 is greater than the maximum 5"])
        #expect(errors(#"{"prompt": "a", "n": 1.5}"#) == ["$.n: expected integer, got number"])
        #expect(errors(#"{"prompt": "a", "t": 0}"#) == ["$.t: 0 must be greater than 0"])
        #expect(errors(#"{"prompt": "a", "mode": "c"}"#) == [#"$.mode: must be one of "a", "b", got "c""#])
        #expect(errors(#"{"prompt": "a", "tags": [1]}"#) == ["$.tags[0]: expected string, got integer"])
        #expect(errors(#"{"prompt": "a", "tags": []}"#) == ["$.tags: fewer than 1 items"])
        #expect(errors(#"{"prompt": "a", "zzz": 1}"#) == [#"$: unknown property "zzz""#])
        #expect(errors(#"{"prompt": "a", "meta": {"k": "v"}}"#) == ["$.meta.k: expected integer, got string"])
        #expect(errors(#"{"prompt": "a", "budget": "manual"}"#).first?.hasPrefix("$.budget: matches none of oneOf") == true)
        #expect(errors(#"{"prompt": "a", "x": 1}"#).first?.hasPrefix("$.x: matches none of anyOf") == true)
        #expect(errors(#"[1]"#) == ["$: expected object, got array"])
    }

    @Test func oneOfRejectsMultipleMatches() throws {
        let s = try JSONSchema(text: #"{"oneOf": [{"type": "integer"}, {"type": "number"}]}"#)
        #expect(s.validate(.integer(1)) == ["$: matches 2 of oneOf, expected exactly one"])
        #expect(s.validate(.number(1.5)) == [])
    }

    @Test func noopSchemaFileIsUsable() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("jobs/schemas/noop.schema.json")
        let s = try JSONSchema(text: String(contentsOf: url, encoding: .utf8))
        #expect(s.validate(try JSONValue.parse(#"{"sleep_ms": 5, "fail_times": 1}"#)) == [])
        #expect(s.validate(try JSONValue.parse(#"{"sleep_ms": -1}"#)) == ["$.sleep_ms: -1 is less than the minimum 0"])
    }
}

@Suite struct JSONLTests {
    @Test func reportsBadLinesWithNumbers() throws {
        let schema = try JSONSchema(text: #"{"type": "object", "required": ["q"], "properties": {"q": {"type": "string"}, "id": {"type": "string"}}}"#)
        let text = "{\"q\": \"a\", \"id\": \"k1\"}\n\n{\"q\": 1}\nnot json\r\n{\"q\": \"b\"}\n[1]\n"
        let v = validateJSONL(text, schema: schema, idempotencyKeyField: "id")
        #expect(v.valid.map(\.line) == [1, 5])
        #expect(v.valid[0].idempotencyKey == "k1")
        #expect(v.valid[1].idempotencyKey == nil)
        #expect(v.valid[0].json == #"{"q":"a","id":"k1"}"#)
        #expect(v.bad.map(\.line) == [3, 4, 6])
        #expect(v.bad[0].description == "line 3: $.q: expected string, got integer")
        #expect(v.bad[1].description.hasPrefix("line 4: invalid JSON"))
    }
}

@Suite struct PolicyTests {
    @Test func backoffGrowsAndIsCapped() {
        let p = RetryPolicy(baseSeconds: 2, maxSeconds: 30, jitter: 0.5)
        #expect(p.delay(afterAttempt: 1, random: 0) == 2)
        #expect(p.delay(afterAttempt: 2, random: 0) == 4)
        #expect(p.delay(afterAttempt: 3, random: 0) == 8)
        #expect(p.delay(afterAttempt: 10, random: 0) == 30)
        #expect(p.delay(afterAttempt: 3, random: 1) == 4) // jitter takes up to half off
        for _ in 0..<100 {
            let d = p.delay(afterAttempt: 2)
            #expect(d > 2 && d <= 4)
        }
    }

    @Test func dispositions() {
        let p = RetryPolicy(baseSeconds: 1, maxSeconds: 10, jitter: 0)
        #expect(failureDisposition(attempt: 1, maxAttempts: 3, permanent: false, policy: p) == .retry(afterSeconds: 1))
        #expect(failureDisposition(attempt: 3, maxAttempts: 3, permanent: false, policy: p) == .fail)
        #expect(failureDisposition(attempt: 1, maxAttempts: 3, permanent: true, policy: p) == .fail)
    }

    @Test func durations() {
        #expect(parseDuration("90") == 90)
        #expect(parseDuration("90s") == 90)
        #expect(parseDuration("15m") == 900)
        #expect(parseDuration("1h30m") == 5400)
        #expect(parseDuration("7d") == 604800)
        #expect(parseDuration("500ms") == 0.5)
        #expect(parseDuration("abc") == nil)
        #expect(parseDuration("5 parsecs") == nil)
        #expect(parseDuration("") == nil)
    }

    @Test func runAfterTakesADelayOrATimestamp() {
        let now = Date(timeIntervalSince1970: 1_800_000_000) // 2027-01-15T08:00:00Z
        #expect(parseRunAfter("10m", now: now) == 600)
        #expect(parseRunAfter("2027-01-15T09:00:00Z", now: now) == 3600)
        #expect(parseRunAfter("2027-01-15T10:00:00+01:00", now: now) == 3600)
        #expect(parseRunAfter("2027-01-15T08:00:30.500Z", now: now) == 30.5)
        #expect(parseRunAfter("2020-01-01T00:00:00Z", now: now) == 0) // in the past: at once
        #expect(parseRunAfter("2027-01-15 09:00", now: now) == nil)   // no zone: ambiguous, refused
        #expect(parseRunAfter("tomorrow", now: now) == nil)
    }
}

import Foundation
