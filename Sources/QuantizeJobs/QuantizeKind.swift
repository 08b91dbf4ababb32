import Queue

/// The `quantize` job kind: every requested type of one source, scored against it (`QuantizeHandler`);
/// rows in tokenmill.quantization_results (migrations 0020, 0052).
public enum QuantizeKind: JobKind {
    public typealias Payload = QuantizePayload
    public static let payloadSchema = EmbeddedResources.payloadSchemas[QuantizeHandler.kind]!
    public static let migrations = EmbeddedResources.migrations

    public static func makeHandler(_ environment: JobKindEnvironment) -> QuantizeHandler {
        QuantizeHandler(threads: environment.settings.threads)
    }
}

/// The `imatrix` job kind: a GGUF importance matrix for later `quantize` jobs (`ImatrixHandler`). It
/// writes a file, no table; it comes with the module's migrations like `quantize`.
public enum ImatrixKind: JobKind {
    public typealias Payload = ImatrixPayload
    public static let payloadSchema = EmbeddedResources.payloadSchemas[ImatrixHandler.kind]!
    public static let migrations = EmbeddedResources.migrations

    public static func makeHandler(_ environment: JobKindEnvironment) -> ImatrixHandler {
        ImatrixHandler(threads: environment.settings.threads)
    }
}

extension QuantizeError: JobFailure {
    /// Only I/O may do better on another attempt (not a write stopped by cancellation); the rest are
    /// bad requests or files.
    public var isRetryable: Bool {
        if case .io(let m) = self { return !m.contains("cancelled") }
        return false
    }
}
