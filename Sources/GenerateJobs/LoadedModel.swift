import Foundation
import GGUF
import Inference
import Queue
import Reasoning
import Tokenizers

/// A model kept loaded across jobs: weights, tokenizer, chat template and one continuous-batching engine.
public final class LoadedModel: @unchecked Sendable {
    public let path: String
    public let model: Model
    public let tokenizer: Tokenizer
    public let engine: GenerationEngine
    /// The chat template, or the reason there is none (reported when a job asks for chat).
    public let chatTemplate: Result<ChatTemplate, Error>
    /// How this model writes its reasoning, as detected from its chat template and vocabulary (the
    /// `auto` reasoning mode).
    public let reasoningMode: ReasoningMode

    init(path: String, threads: Int, maxSequences: Int, contextLength: Int?) throws {
        self.path = path
        do {
            self.model = try Model.load(path: path)
        } catch {
            throw GenerateError.model("\(path): \(error)")
        }
        do {
            self.tokenizer = try Tokenizer(gguf: model.file)
        } catch {
            throw GenerateError.model("\(path): cannot build its tokenizer: \(error)")
        }
        let source = model.file.string("tokenizer.chat_template")
        self.chatTemplate = Result { try ChatTemplate.detect(from: source) }
        self.reasoningMode = ReasoningMode.detect(chatTemplate: source,
                                                  vocabularyHas: { [tokenizer] in tokenizer.tokenID($0) != nil })
        self.engine = GenerationEngine(model: model, threads: threads, maxSequences: maxSequences,
                                       contextLength: contextLength)
    }
}

/// Loads each model once per worker process and hands the same instance to every job.
public actor ModelCache {
    private var models: [String: Task<LoadedModel, Error>] = [:]
    public let threads: Int
    public let maxSequences: Int
    public let contextLength: Int?

    public init(threads: Int, maxSequences: Int, contextLength: Int?) {
        self.threads = threads
        self.maxSequences = maxSequences
        self.contextLength = contextLength
    }

    /// Resolves `name` to a file: a path as given (relative to the working directory), else a file of
    /// that name in `$TOKENMILL_MODELS_DIR`.
    public static func resolve(_ name: String) -> String {
        if FileManager.default.fileExists(atPath: name) { return name }
        if let dir = ProcessInfo.processInfo.environment["TOKENMILL_MODELS_DIR"] {
            let p = (dir as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: p) { return p }
            if FileManager.default.fileExists(atPath: p + ".gguf") { return p + ".gguf" }
        }
        return name
    }

    /// The loaded model for `name`, loading it (off the cooperative pool) on first use.
    public func model(_ name: String) async throws -> LoadedModel {
        let path = ModelCache.resolve(name)
        if let t = models[path] { return try await t.value }
        let threads = self.threads, seqs = self.maxSequences, ctx = self.contextLength
        let task = Task<LoadedModel, Error> {
            try await withCheckedThrowingContinuation { cont in
                Thread.detachNewThread {
                    cont.resume(with: Result { try LoadedModel(path: path, threads: threads, maxSequences: seqs, contextLength: ctx) })
                }
            }
        }
        models[path] = task
        do {
            return try await task.value
        } catch {
            models[path] = nil   // a later job may find the file fixed
            throw error
        }
    }

    /// `model(name)` for a job: a model that does not load fails the job without a retry.
    public func jobModel(_ name: String) async throws -> LoadedModel {
        do { return try await model(name) } catch { throw JobError.permanent("\(error)") }
    }

    /// Stops every engine's compute thread.
    public func shutdown() async {
        for t in models.values {
            if let m = try? await t.value { m.engine.shutdown() }
        }
        models.removeAll()
    }
}
