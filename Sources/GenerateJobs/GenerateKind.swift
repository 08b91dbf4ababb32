import Inference
import Queue

/// The `generate` job kind: one prompt item per job (`GenerateHandler`), outputs in
/// tokenmill.generation_outputs (migrations 0010, 0045, 0051, 0060).
public enum GenerateKind: JobKind {
    public typealias Payload = GeneratePayload
    public static let payloadSchema = EmbeddedResources.payloadSchemas[GenerateHandler.kind]!
    public static let migrations = EmbeddedResources.migrations

    /// The handler, on the environment's one model cache (shared with `distill`).
    public static func makeHandler(_ environment: JobKindEnvironment) -> GenerateHandler {
        GenerateHandler(models: environment.modelCache)
    }
}

extension JobKindEnvironment {
    /// The one model cache of this environment: every kind that runs models loads each model once.
    public var modelCache: ModelCache {
        shared { ModelCache(threads: settings.threads, maxSequences: settings.concurrency, contextLength: settings.contextLength) }
    }
}

extension GenerateError: JobFailure {
    /// A bad payload, a model that does not load or a prompt that does not fit: retrying cannot help.
    public var isRetryable: Bool { false }
}

extension GenerationError: JobFailure {
    /// Only an engine that stopped (the worker shutting down) may do better on another attempt.
    public var isRetryable: Bool {
        if case .engineStopped = self { return true }
        return false
    }
}
