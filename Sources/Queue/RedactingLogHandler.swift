import Logging
import PostgresClient

/// A `LogHandler` that passes every message and metadata value through `redactSecrets` before the
/// wrapped handler prints it, so no log line carries a database password in any form (URL user-info,
/// `?password=`, `password=` in a key=value string, the value of `$PGPASSWORD`).
/// The CLI bootstraps swift-log with it: `LoggingSystem.bootstrap { RedactingLogHandler(StreamLogHandler.standardError(label: $0)) }`.
public struct RedactingLogHandler: LogHandler {
    public var wrapped: any LogHandler

    public init(_ wrapped: any LogHandler) { self.wrapped = wrapped }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        var redacted = event
        redacted.message = "\(redactSecrets(event.message.description))"
        redacted.metadata = event.metadata.map(Self.redact)
        redacted.error = event.error.map { RedactedError($0) }
        wrapped.log(event: redacted)
    }

    static func redact(_ m: Logger.Metadata) -> Logger.Metadata {
        m.mapValues(redact)
    }

    static func redact(_ v: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch v {
        case let .string(s): return .string(redactSecrets(s))
        case let .stringConvertible(c): return .string(redactSecrets(c.description))
        case let .array(a): return .array(a.map(redact))
        case let .dictionary(d): return .dictionary(redact(d))
        }
    }
}

/// An error as `RedactingLogHandler` passes it on: the original's description with every secret masked (a
/// connection error can quote the connection string it was given).
public struct RedactedError: Error, CustomStringConvertible, Sendable {
    /// The original error's description, redacted.
    public let description: String
    /// The original error's type, for handlers that print it.
    public let originalType: String

    public init(_ error: any Error) {
        description = redactSecrets("\(error)")
        originalType = String(reflecting: type(of: error))
    }
}
