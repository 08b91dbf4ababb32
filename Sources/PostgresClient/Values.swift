import Foundation

/// A Swift value that can be sent as a query parameter (PostgreSQL text format).
public protocol PostgresEncodable: Sendable {
    /// The value in PostgreSQL's text input format; `nil` sends SQL NULL.
    var postgresText: String? { get }
}

/// A Swift value that can be decoded from a column in PostgreSQL's text output format.
public protocol PostgresDecodable {
    init(postgresText text: String) throws
}

extension String: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { self }
    public init(postgresText text: String) { self = text }
}
extension Substring: PostgresEncodable { public var postgresText: String? { String(self) } }

private func decodeFailure(_ text: String, _ type: String) -> PostgresError {
    PostgresError(kind: .decodingFailed, message: "'\(text.prefix(80))' is not a valid \(type)")
}

extension Int: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { String(self) }
    public init(postgresText text: String) throws {
        guard let v = Int(text) else { throw decodeFailure(text, "Int") }
        self = v
    }
}
extension Int64: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { String(self) }
    public init(postgresText text: String) throws {
        guard let v = Int64(text) else { throw decodeFailure(text, "Int64") }
        self = v
    }
}
extension Int32: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { String(self) }
    public init(postgresText text: String) throws {
        guard let v = Int32(text) else { throw decodeFailure(text, "Int32") }
        self = v
    }
}
extension Double: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? {
        if isNaN { return "NaN" }
        if isInfinite { return self > 0 ? "Infinity" : "-Infinity" }
        return String(self)
    }
    public init(postgresText text: String) throws {
        switch text {
        case "NaN": self = .nan
        case "Infinity": self = .infinity
        case "-Infinity": self = -.infinity
        default:
            guard let v = Double(text) else { throw decodeFailure(text, "Double") }
            self = v
        }
    }
}
extension Bool: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { self ? "t" : "f" }
    public init(postgresText text: String) throws {
        switch text {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw decodeFailure(text, "Bool")
        }
    }
}
extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public var postgresText: String? { self.flatMap { $0.postgresText } }
}

/// A PostgreSQL array parameter (`{...}` literal), e.g. for `= ANY($1::bigint[])` or `unnest($1::text[])`.
public struct PostgresArray: PostgresEncodable {
    public var elements: [String?]
    public init<S: Sequence>(_ values: S) where S.Element: PostgresEncodable {
        elements = values.map { $0.postgresText }
    }
    public init(texts: [String?]) { elements = texts }
    public var postgresText: String? {
        var s = "{"
        for (i, e) in elements.enumerated() {
            if i > 0 { s += "," }
            guard let e else { s += "NULL"; continue }
            s += "\""
            for ch in e.unicodeScalars {
                if ch == "\"" || ch == "\\" { s += "\\" }
                s.unicodeScalars.append(ch)
            }
            s += "\""
        }
        return s + "}"
    }
}

extension Array: PostgresEncodable where Element: PostgresEncodable {
    public var postgresText: String? { PostgresArray(self).postgresText }
}

/// Parses a one-dimensional PostgreSQL array literal (`{a,"b c",NULL}`) as text output by the server.
public func parsePostgresArray(_ text: String) throws -> [String?] {
    var out: [String?] = []
    let chars = Array(text.unicodeScalars)
    guard chars.first == "{", chars.last == "}" else { throw decodeFailure(text, "array") }
    var i = 1
    let end = chars.count - 1
    if i == end { return [] }
    while i < end {
        if chars[i] == "\"" {
            i += 1
            var s = String.UnicodeScalarView()
            while i < end && chars[i] != "\"" {
                if chars[i] == "\\" { i += 1 }
                s.append(chars[i]); i += 1
            }
            i += 1 // closing quote
            out.append(String(s))
        } else {
            var s = String.UnicodeScalarView()
            while i < end && chars[i] != "," { s.append(chars[i]); i += 1 }
            let v = String(s)
            out.append(v == "NULL" ? nil : v)
        }
        if i < end && chars[i] == "," { i += 1 }
    }
    return out
}

extension Array: PostgresDecodable where Element: PostgresDecodable {
    public init(postgresText text: String) throws {
        self = try parsePostgresArray(text).map {
            guard let v = $0 else { throw PostgresError(kind: .decodingFailed, message: "NULL element in array") }
            return try Element(postgresText: v)
        }
    }
}

/// One row of a result, values in text format.
public struct PostgresRow: Sendable {
    /// Column names, shared by all rows of a result.
    public let columns: [String]
    /// Values in text format; `nil` is SQL NULL.
    public let values: [String?]

    public init(columns: [String], values: [String?]) {
        self.columns = columns
        self.values = values
    }

    /// The raw text value of column `index` (nil for NULL).
    public subscript(index: Int) -> String? { values[index] }
    /// The raw text value of the column named `name` (nil for NULL or unknown column).
    public subscript(name: String) -> String? {
        guard let i = columns.firstIndex(of: name) else { return nil }
        return values[i]
    }

    /// Decodes column `index` as `T`; throws on NULL.
    public func decode<T: PostgresDecodable>(_ index: Int, as type: T.Type = T.self) throws -> T {
        guard index < values.count else {
            throw PostgresError(kind: .decodingFailed, message: "column \(index) out of range (\(values.count) columns)")
        }
        guard let v = values[index] else {
            throw PostgresError(kind: .decodingFailed, message: "column \(columns[index]) is NULL, expected \(T.self)")
        }
        return try T(postgresText: v)
    }

    /// Decodes column `index` as `T?` (nil for NULL).
    public func decodeIfPresent<T: PostgresDecodable>(_ index: Int, as type: T.Type = T.self) throws -> T? {
        guard index < values.count, let v = values[index] else { return nil }
        return try T(postgresText: v)
    }

    /// Decodes the column named `name` as `T`; throws on NULL or unknown column.
    public func decode<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        guard let i = columns.firstIndex(of: name) else {
            throw PostgresError(kind: .decodingFailed, message: "no column named \(name) (have \(columns.joined(separator: ", ")))")
        }
        return try decode(i, as: T.self)
    }

    /// Decodes the column named `name` as `T?`.
    public func decodeIfPresent<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws -> T? {
        guard let i = columns.firstIndex(of: name) else {
            throw PostgresError(kind: .decodingFailed, message: "no column named \(name)")
        }
        return try decodeIfPresent(i, as: T.self)
    }
}

/// The outcome of one statement.
public struct PostgresResult: Sendable {
    public let columns: [String]
    public let rows: [PostgresRow]
    /// Rows affected for INSERT/UPDATE/DELETE/COPY (PQcmdTuples), else the number of rows returned.
    public let affectedRows: Int

    public init(columns: [String], rows: [PostgresRow], affectedRows: Int) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
    }
}

/// A NOTIFY received on a LISTENing connection.
public struct PostgresNotification: Sendable, Equatable {
    public let channel: String
    public let payload: String
    public let pid: Int32
}
