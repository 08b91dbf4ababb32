/// One line of a JSONL file that failed validation.
public struct BadLine: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based line number in the file.
    public let line: Int
    public let problems: [String]
    public var description: String { "line \(line): \(problems.joined(separator: "; "))" }
    public init(line: Int, problems: [String]) {
        self.line = line
        self.problems = problems
    }
}

/// A valid payload, ready to load.
public struct PayloadLine: Sendable, Equatable {
    public let line: Int
    /// The payload as compact JSON text.
    public let json: String
    /// The idempotency key taken from the payload, when a key field was asked for.
    public let idempotencyKey: String?

    public init(line: Int, json: String, idempotencyKey: String? = nil) {
        self.line = line
        self.json = json
        self.idempotencyKey = idempotencyKey
    }
}

/// The result of checking a JSONL file against a kind's payload schema.
public struct JSONLValidation: Sendable {
    public var valid: [PayloadLine] = []
    public var bad: [BadLine] = []
}

/// One non-blank line of a JSONL file: its 1-based number and its JSON value, or why it is not one.
public struct JSONLLine: Sendable {
    public let line: Int
    public let value: Result<JSONValue, BadLine>
}

/// Splits JSONL bytes into lines and parses each non-blank one. The file is read as bytes, so one bad
/// line (invalid UTF-8, a `\u0000` escape, broken JSON) is reported with its number instead of
/// rejecting the whole file.
public func readJSONL<C: BidirectionalCollection>(_ bytes: C) -> [JSONLLine] where C.Element == UInt8 {
    var out: [JSONLLine] = []
    var lineNo = 0
    for raw in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
        lineNo += 1
        let line = raw.last == 0x0D ? raw.dropLast() : raw[...]
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
        guard let text = String(validating: line, as: UTF8.self) else {
            let at = firstInvalidUTF8Offset(line)
            out.append(JSONLLine(line: lineNo, value: .failure(BadLine(line: lineNo, problems: [
                "invalid UTF-8 at byte \(at + 1) of the line (the file must be UTF-8)"]))))
            continue
        }
        do {
            out.append(JSONLLine(line: lineNo, value: .success(try JSONValue.parse(text))))
        } catch {
            out.append(JSONLLine(line: lineNo, value: .failure(BadLine(line: lineNo, problems: ["\(error)"]))))
        }
    }
    return out
}

/// 0-based offset of the first byte that does not belong to a valid UTF-8 sequence.
func firstInvalidUTF8Offset<C: Collection>(_ bytes: C) -> Int where C.Element == UInt8 {
    var decoder = UTF8()
    var it = bytes.makeIterator()
    var consumed = 0
    while true {
        switch decoder.decode(&it) {
        case let .scalarValue(u): consumed += UTF8.width(u)
        case .emptyInput, .error: return consumed
        }
    }
}

/// Checks every non-blank line of JSONL bytes: it must be UTF-8, one JSON object that satisfies
/// `schema`. When `idempotencyKeyField` is given, that top-level field (string or integer) becomes the
/// job's idempotency key (lines without it get none).
public func validateJSONL<C: BidirectionalCollection>(bytes: C, schema: JSONSchema, idempotencyKeyField: String? = nil) -> JSONLValidation
where C.Element == UInt8 {
    var out = JSONLValidation()
    for l in readJSONL(bytes) {
        let value: JSONValue
        switch l.value {
        case let .failure(bad): out.bad.append(bad); continue
        case let .success(v): value = v
        }
        let problems = schema.validate(value)
        if !problems.isEmpty { out.bad.append(BadLine(line: l.line, problems: problems)); continue }
        var key: String? = nil
        if let f = idempotencyKeyField, let k = value[f] {
            switch k {
            case let .string(s): key = s
            case let .integer(i): key = String(i)
            default:
                out.bad.append(BadLine(line: l.line, problems: ["$.\(f): idempotency key must be a string or integer"]))
                continue
            }
        }
        out.valid.append(PayloadLine(line: l.line, json: value.jsonText, idempotencyKey: key))
    }
    return out
}

/// `validateJSONL(bytes:...)` over a string's UTF-8.
public func validateJSONL(_ text: String, schema: JSONSchema, idempotencyKeyField: String? = nil) -> JSONLValidation {
    validateJSONL(bytes: Array(text.utf8), schema: schema, idempotencyKeyField: idempotencyKeyField)
}

/// Escapes a value for PostgreSQL's COPY text format (backslash, tab, newline, carriage return).
public func copyTextEscape(_ s: String) -> String {
    if !s.utf8.contains(where: { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) { return s }
    var out = ""
    out.reserveCapacity(s.utf8.count + 8)
    for c in s.unicodeScalars {
        switch c {
        case "\\": out += "\\\\"
        case "\t": out += "\\t"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        default: out.unicodeScalars.append(c)
        }
    }
    return out
}
