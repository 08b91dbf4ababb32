/// One line of a JSONL file that failed validation.
public struct BadLine: Sendable, Equatable, CustomStringConvertible {
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

/// Checks every non-blank line of a JSONL text: it must be one JSON object that satisfies `schema`.
/// When `idempotencyKeyField` is given, that top-level field (string or integer) becomes the job's
/// idempotency key (lines without it get none).
public func validateJSONL(_ text: String, schema: JSONSchema, idempotencyKeyField: String? = nil) -> JSONLValidation {
    var out = JSONLValidation()
    var lineNo = 0
    for raw in text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false) {
        lineNo += 1
        let bytes = raw.last == 0x0D ? raw.dropLast() : raw[...]
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
        let line = String(decoding: bytes, as: UTF8.self)
        let value: JSONValue
        do { value = try JSONValue.parse(String(line)) } catch {
            out.bad.append(BadLine(line: lineNo, problems: ["\(error)"]))
            continue
        }
        let problems = schema.validate(value)
        if !problems.isEmpty { out.bad.append(BadLine(line: lineNo, problems: problems)); continue }
        var key: String? = nil
        if let f = idempotencyKeyField, let k = value[f] {
            switch k {
            case let .string(s): key = s
            case let .integer(i): key = String(i)
            default:
                out.bad.append(BadLine(line: lineNo, problems: ["$.\(f): idempotency key must be a string or integer"]))
                continue
            }
        }
        out.valid.append(PayloadLine(line: lineNo, json: value.jsonText, idempotencyKey: key))
    }
    return out
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
