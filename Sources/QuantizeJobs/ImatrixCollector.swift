import Foundation
import Inference

/// Collects an importance matrix by running the model over calibration text and summing the
/// squares of every matrix product's input, as llama.cpp's imatrix tool does through its eval
/// callback: the inference engine's `ActivationObserver` hands over the input of each product
/// (attn_q/k/v read the `attn_norm` output, attn_output the attention output, ffn_gate/up the
/// `ffn_norm` output, ffn_down the SwiGLU output). `output.weight` is skipped, as llama-imatrix
/// does by default. Being the one forward pass, it has whatever the engine has (YaRN, Qwen3's q/k
/// norms...).
public enum ImatrixCollector {
    /// Runs `tokens` in chunks of `chunkSize` (each from position 0) and returns the sums.
    public static func collect(model: Model, tokens: [Int32], chunkSize: Int, maxChunks: Int? = nil, threads: Int,
                               progress: ((Int, Int) -> Void)? = nil, isCancelled: (() -> Bool)? = nil) throws -> ImportanceMatrix {
        guard chunkSize >= 2 else { throw QuantizeError.mismatch("imatrix chunk size \(chunkSize) is too small") }
        let available = tokens.count / chunkSize
        guard available >= 1 else { throw QuantizeError.textTooShort(tokens: tokens.count, needed: chunkSize) }
        let chunks = min(available, maxChunks ?? available)
        let vocab = model.config.vocab
        if let bad = tokens[0..<(chunks * chunkSize)].first(where: { $0 < 0 || Int($0) >= vocab }) {
            throw QuantizeError.mismatch("token id \(bad) outside the vocabulary of \(vocab)")
        }
        // One chunk per step, no logits wanted: the output product never runs.
        let engine = InferenceEngine(model: model, threads: threads, maxSequences: 1, contextLength: chunkSize,
                                     maxBatchTokens: chunkSize, maxLogitRows: 1)
        let sums = Accumulator()
        engine.activationObserver = sums
        for ch in 0..<chunks {
            if isCancelled?() == true { throw QuantizeError.io("imatrix collection cancelled") }
            progress?(ch, chunks)
            let batch = (0..<chunkSize).map { i in
                BatchToken(seq: 0, token: tokens[ch * chunkSize + i], pos: i, wantLogits: false)
            }
            do { try engine.forward(batch) } catch { throw QuantizeError.mismatch("imatrix: \(error)") }
        }
        progress?(chunks, chunks)
        var im = sums.matrix
        im.chunkCount = chunks
        im.chunkSize = chunkSize
        return im
    }

    /// Sums the squared inputs of every weight but the output matrix.
    private final class Accumulator: ActivationObserver {
        var matrix = ImportanceMatrix()
        let skipped: Set = [TensorName.output.weight(), TensorName.tokenEmbedding.weight()]
        func observe(weight: String, input: UnsafePointer<Float>, rows: Int, cols: Int) {
            guard !skipped.contains(weight) else { return }
            matrix.accumulate(weight, x: input, rows: rows, cols: cols)
        }
    }
}
