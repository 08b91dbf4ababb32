import Foundation
import Testing
@testable import QueueCore

@Suite struct JSONLBytesTests {
    let schema = try! JSONSchema(text: #"{"type": "object", "properties": {"n": {"type": "integer", "maximum": 1048576}}}"#)

    @Test func badBytesAndNULEscapesAreBadLinesWithNumbers() {
        var bytes: [UInt8] = Array(#"{"n": 1}"#.utf8) + [0x0A]
        bytes += Array(#"{"s": "caf"#.utf8) + [0xC3] + Array(#""}"#.utf8) + [0x0D, 0x0A]   // truncated é
        bytes += Array(#"{"s": "a\u0000b"}"#.utf8) + [0x0A]
        bytes += [0x0A]                                                                   // blank
        bytes += Array(#"{"n": 1e12}"#.utf8) + [0x0A]
        bytes += Array(#"{"s": "\#u{e9}t\#u{e9}"}"#.utf8)                                  // valid UTF-8, no final newline
        let v = validateJSONL(bytes: bytes, schema: schema)
        #expect(v.valid.map(\.line) == [1, 6])
        #expect(v.bad.map(\.line) == [2, 3, 5])
        #expect(v.bad[0].problems == ["invalid UTF-8 at byte 11 of the line (the file must be UTF-8)"])
        #expect(v.bad[1].problems[0].contains("\\u0000 (NUL) is not allowed"))
        #expect(v.bad[2].problems == ["$.n: 1000000000000.0 is greater than the maximum 1048576"])
    }

    @Test func firstInvalidByte() {
        #expect(firstInvalidUTF8Offset(Array("ab".utf8) + [0xFF]) == 2)
        #expect(firstInvalidUTF8Offset(Array("é".utf8) + [0xE2, 0x82]) == 2)
        #expect(firstInvalidUTF8Offset(Array("ok".utf8)) == 2)
    }
}

@Suite struct SchemaBoundsTests {
    @Test func refResolvesAnotherDocumentAndAnUnknownOneIsReported() {
        let inner = try! JSONValue.parse(#"{"type": "object", "properties": {"t": {"type": "integer", "minimum": 0}}}"#)
        let outer = try! JSONSchema(text: #"{"type": "object", "properties": {"g": {"$ref": "inner.schema.json"}}}"#)
        let v = try! JSONValue.parse(#"{"g": {"t": -1}}"#)
        #expect(outer.resolving(["inner.schema.json": inner]).validate(v) == ["$.g.t: -1 is less than the minimum 0"])
        #expect(outer.validate(v) == ["$.g: the schema refers to inner.schema.json, which is not known here"])
        // A reference loop ends with an error instead of recursing forever.
        let loop = try! JSONValue.parse(#"{"$ref": "loop"}"#)
        #expect(JSONSchema(loop, references: ["loop": loop]).validate(.null).count == 1)
    }

    @Test func lengthsCountCharactersNotBytes() {
        let s = try! JSONSchema(text: #"{"type": "string", "minLength": 3, "maxLength": 3}"#)
        #expect(s.validate(.string("ééé")) == [])
        #expect(s.validate(.string("éééé")) == ["$: string longer than 3 characters (4)"])
        #expect(s.validate(.string("é")) == ["$: string shorter than 3 characters"])
    }

    @Test func hugeAndNonFiniteNumbersAreRefused() {
        let s = try! JSONSchema(text: #"{"type": "integer", "minimum": 0, "maximum": 1048576}"#)
        #expect(s.validate(try! JSONValue.parse("1e12")) == ["$: 1000000000000.0 is greater than the maximum 1048576"])
        #expect(s.validate(try! JSONValue.parse("1e400")) == ["$: expected integer, got number"])
        #expect(s.validate(try! JSONValue.parse("9223372036854775807")).count == 1)
        #expect(s.validate(try! JSONValue.parse("1048576")) == [])
    }

    @Test func maxProperties() {
        let s = try! JSONSchema(text: #"{"type": "object", "maxProperties": 1}"#)
        #expect(s.validate(try! JSONValue.parse(#"{"a": 1, "b": 2}"#)) == ["$: more than 1 properties"])
    }
}
