import Foundation

/// An error from PostgreSQL or libpq, carrying the server's SQLSTATE and message where there is one.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, broadly.
    public enum Kind: String, Sendable {
        /// The connection could not be opened (wrong URL, server down, authentication).
        case connectionFailed
        /// The connection broke while in use (server restarted or went away).
        case connectionLost
        /// The server rejected a statement; `sqlState` says why.
        case queryFailed
        /// A COPY FROM STDIN failed.
        case copyFailed
        /// Bad input on the client side (e.g. an undecodable column value).
        case decodingFailed
    }

    public var kind: Kind
    /// Five-character SQLSTATE code such as `23505` (unique_violation), when the server sent one.
    public var sqlState: String?
    /// The primary message (the server's where there is one).
    public var message: String
    /// The server's DETAIL field, if any.
    public var detail: String?
    /// The server's HINT field, if any.
    public var hint: String?

    public init(kind: Kind, sqlState: String? = nil, message: String, detail: String? = nil, hint: String? = nil) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = redactSecrets(message)
        self.detail = detail
        self.hint = hint
    }

    /// True when the error means the connection itself is gone (class 08, 57P01..57P03, or a lost socket):
    /// the caller should reconnect and retry rather than treat it as a problem with the statement.
    public var isConnectionError: Bool {
        if kind == .connectionFailed || kind == .connectionLost { return true }
        guard let s = sqlState else { return false }
        return s.hasPrefix("08") || s == "57P01" || s == "57P02" || s == "57P03"
    }

    public var description: String {
        var s: String
        switch kind {
        case .connectionFailed: s = "could not connect to PostgreSQL: \(message)"
        case .connectionLost: s = "lost the PostgreSQL connection: \(message)"
        case .queryFailed: s = "PostgreSQL error\(sqlState.map { " \($0)" } ?? ""): \(message)"
        case .copyFailed: s = "COPY failed\(sqlState.map { " (\($0))" } ?? ""): \(message)"
        case .decodingFailed: s = "could not decode a PostgreSQL value: \(message)"
        }
        if let d = detail, !d.isEmpty { s += " DETAIL: \(d)" }
        if let h = hint, !h.isEmpty { s += " HINT: \(h)" }
        return redactSecrets(s)
    }
}

/// Removes the password from a PostgreSQL URL or key=value connection string for logs and error messages.
public func redactedDatabaseURL(_ url: String) -> String { redactSecrets(url) }

/// Replaces every password this process could leak with `***`: the user-info password of any URL
/// (`postgresql://user:secret@host`), `password=` / `sslpassword=` / `PGPASSWORD=` values in URL query
/// strings and key=value connection strings (quoted or not), and the value of `$PGPASSWORD` wherever it
/// appears (when it is at least 4 characters long, so that a short one does not blank out ordinary text).
public func redactSecrets(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
    var s = text
    if s.contains("://") {
        s = Redaction.userInfo.stringByReplacingMatches(in: s, range: NSRange(s.startIndex..., in: s), withTemplate: "$1:***@")
    }
    if s.range(of: "password", options: .caseInsensitive) != nil {
        s = Redaction.keyValue.stringByReplacingMatches(in: s, range: NSRange(s.startIndex..., in: s), withTemplate: "$1***")
    }
    if let pw = environment["PGPASSWORD"], pw.count >= 4, s.contains(pw) {
        s = s.replacingOccurrences(of: pw, with: "***")
    }
    return s
}

private enum Redaction {
    // scheme://user:password@  (the password runs to the last '@' before the host part ends)
    static let userInfo = try! NSRegularExpression(
        pattern: #"([A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]*):[^/?#\s]*@"#)
    // password=value, password = 'quoted \' value', ?password=value&..., PGPASSWORD=value
    static let keyValue = try! NSRegularExpression(
        pattern: #"((?:[A-Za-z_]*)password\s*=\s*)(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s&'",;)]+)"#,
        options: [.caseInsensitive])
}
