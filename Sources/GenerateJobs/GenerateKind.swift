import Inference
import Queue

/// The `generate` job kind: one prompt item per job (`GenerateHandler`), outputs in
/// tokenmill.generation_outputs (migrations 0010, 0045, 0051, 0060).
public enum GenerateKind: JobKind {
    public typealias Payload = GeneratePayload
    public static let payloadSchema = EmbeddedResources.payloadSchemas[GenerateHandler.kind]!
    public static let migrations = EmbeddedResources.migrations

    /// The environment's one generate handler: `distill` runs on it too, so both kinds share its model
    /// cache (each model loaded once), adaptive-budget history and greedy replay.
    public static func makeHandler(_ environment: JobKindEnvironment) -> GenerateHandler {
        environment.shared {
            let s = environment.settings
            return SharedHandler(GenerateHandler(models: ModelCache(threads: s.threads, maxSequences: s.concurrency,
                                                                    contextLength: s.contextLength)))
        }.handler
    }

    private final class SharedHandler {
        let handler: GenerateHandler
        init(_ handler: GenerateHandler) { self.handler = handler }
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
