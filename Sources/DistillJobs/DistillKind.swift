import GenerateJobs
import Queue

/// The `distill` job kind: one teacher sample per job (`DistillHandler`), samples in
/// tokenmill.distill_samples of the datasets in tokenmill.datasets (migrations 0030, 0053). Its
/// payload schema refers to the generate kind's (`$ref`), so a registry with `distill` lists `GenerateKind` too.
public enum DistillKind: JobKind {
    public typealias Payload = DistillPayload
    public static let payloadSchema = EmbeddedResources.payloadSchemas[DistillHandler.kind]!
    public static let migrations = EmbeddedResources.migrations

    /// The handler, on the environment's generate handler (its model cache, history and replay).
    public static func makeHandler(_ environment: JobKindEnvironment) -> DistillHandler {
        DistillHandler(generator: GenerateKind.makeHandler(environment))
    }
}
