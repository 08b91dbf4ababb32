import Foundation
import GGUF
import Inference
import QueueCore
import TensorKernels
import Tokenizers

/// How a model is scored over an evaluation text (llama-perplexity's method): the tokens are cut
/// into chunks of `contextLength`; each chunk runs from position 0 and the second half of its
/// positions are scored (each predicts the next token with at least half a window of context).
public struct EvalSettings: Sendable, Codable, Equatable {
    public var contextLength: Int
    /// At most this many chunks (nil: all whole chunks of the text).
    public var maxChunks: Int?
    public var threads: Int

    public init(contextLength: Int = 128, maxChunks: Int? = nil, threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.contextLength = contextLength
        self.maxChunks = maxChunks
        self.threads = max(1, threads)
    }

    /// Positions scored in one chunk: `contextLength/2 ..< contextLength-1` (the logits at j predict token j+1).
    var scoredRange: Range<Int> { (contextLength / 2)..<(contextLength - 1) }
}

/// The reference model's next-token log-probabilities over an evaluation text, recorded once.
public struct BaseLogits: Sendable {
    public var tokens: [Int32]
    public var vocab: Int
    public var contextLength: Int
    public var chunks: Int
    /// Log-softmax rows, one per scored position, `vocab` floats each, in chunk order.
    public var logProbs: [Float]
    /// Perplexity of the reference model itself.
    public var perplexity: Double
    public var scoredCount: Int { vocab == 0 ? 0 : logProbs.count / vocab }

    static let magic: UInt32 = 0x4C4B_4D54 // "TMKL"

    /// Writes the record (atomically) so later comparisons need not rerun the reference model.
    public func write(to path: String) throws {
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func f64(_ v: Double) { withUnsafeBytes(of: v.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
        u32(Self.magic); u32(1); u32(UInt32(vocab)); u32(UInt32(contextLength)); u32(UInt32(chunks))
        u32(UInt32(tokens.count)); u32(UInt32(scoredCount)); f64(perplexity)
        tokens.withUnsafeBytes { d.append(contentsOf: $0) }
        logProbs.withUnsafeBytes { d.append(contentsOf: $0) }
        do { try d.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw QuantizeError.io("cannot write reference logits to \(path): \(error)")
        }
    }

    /// Reads a record written by `write`; nil when the file is missing or not such a record.
    public static func read(path: String) -> BaseLogits? {
        guard let d = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped), d.count >= 36 else { return nil }
        return d.withUnsafeBytes { raw -> BaseLogits? in
            func u32(_ o: Int) -> Int { Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self))) }
            guard u32(0) == Int(magic), u32(4) == 1 else { return nil }
            let vocab = u32(8), ctx = u32(12), chunks = u32(16), nTok = u32(20), nScored = u32(24)
            let ppl = Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 28, as: UInt64.self)))
            let need = 36 + nTok * 4 + nScored * vocab * 4
            guard raw.count == need else { return nil }
            var toks = [Int32](repeating: 0, count: nTok)
            toks.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[36..<(36 + nTok * 4)])) }
            var lp = [Float](repeating: 0, count: nScored * vocab)
            lp.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[(36 + nTok * 4)..<need])) }
            return BaseLogits(tokens: toks, vocab: vocab, contextLength: ctx, chunks: chunks, logProbs: lp, perplexity: ppl)
        }
    }
}

/// How far a model's next-token distributions are from the reference's over the same text.
public struct EvalResult: Sendable, Codable, Equatable {
    public var tokensScored: Int
    public var chunks: Int
    public var contextLength: Int
    public var perplexity: Double
    public var basePerplexity: Double
    /// `perplexity / basePerplexity`.
    public var perplexityRatio: Double
    /// Mean, median, 99th percentile and maximum of KL(reference ‖ model) per token, in nats.
    public var meanKLD: Double
    public var medianKLD: Double
    public var p99KLD: Double
    public var maxKLD: Double
    /// Fraction of positions where both models' most likely next token is the same.
    public var top1Agreement: Double
    public var seconds: Double
}

/// Scores models over an evaluation text with the inference core.
public enum LogitEvaluator {
    /// Tokenizes `text` with `model`'s tokenizer. Like llama-perplexity and llama-imatrix, when the
    /// model adds a beginning-of-text token, the first token of every `chunkSize` window is replaced by it
    /// (each window is evaluated from position 0 as a fresh sequence).
    public static func tokenize(_ text: String, model: GGUFFile, chunkSize: Int? = nil) throws -> [Int32] {
        let tok: Tokenizer
        do { tok = try Tokenizer(gguf: model) } catch { throw QuantizeError.notAModel("\(model.path): no usable tokenizer: \(error)") }
        var t = tok.encode(text, addSpecial: true, parseSpecial: false)
        if let n = chunkSize, n > 0, tok.addBOS, let bos = tok.bosID {
            for i in stride(from: 0, to: t.count, by: n) { t[i] = bos }
        }
        return t
    }

    /// The chunks the settings allow for `count` tokens; fails when the text is shorter than one window.
    static func chunkCount(_ count: Int, _ s: EvalSettings) throws -> Int {
        guard s.contextLength >= 4 else { throw QuantizeError.mismatch("evaluation context \(s.contextLength) is too small (at least 4)") }
        let n = count / s.contextLength
        guard n >= 1 else { throw QuantizeError.textTooShort(tokens: count, needed: s.contextLength) }
        return min(n, s.maxChunks ?? n)
    }

    /// Runs `model` over the chunks and calls `body(chunk, scoredIndex, position, logits)` for each scored position.
    static func run(_ model: Model, tokens: [Int32], settings s: EvalSettings,
                    isCancelled: (() -> Bool)?, body: (Int, Int, UnsafeBufferPointer<Float>) throws -> Void) throws -> Int {
        let chunks = try chunkCount(tokens.count, s)
        let ctx = s.contextLength
        let scored = s.scoredRange
        let engine = InferenceEngine(model: model, threads: s.threads, maxSequences: 1, contextLength: ctx,
                                     maxBatchTokens: ctx, maxLogitRows: scored.count)
        var k = 0
        for c in 0..<chunks {
            if isCancelled?() == true { throw QuantizeError.io("evaluation cancelled") }
            let batch = (0..<ctx).map { j in
                BatchToken(seq: 0, token: tokens[c * ctx + j], pos: j, wantLogits: scored.contains(j))
            }
            do { try engine.forward(batch) } catch { throw QuantizeError.mismatch("\(model.file.path): forward pass failed: \(error)") }
            for (row, j) in scored.enumerated() {
                try body(k, c * ctx + j, engine.logits(row: row))
                k += 1
            }
        }
        return chunks
    }

    /// Log-softmax of `x` into `out`; returns nothing.
    static func logSoftmax(_ x: UnsafeBufferPointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let n = x.count
        var m = -Float.infinity
        for v in x where v > m { m = v }
        var s: Double = 0
        for v in x { s += Double(expf(v - m)) }
        let lse = m + Float(log(s))
        for i in 0..<n { out[i] = x[i] - lse }
    }

    /// Records the reference model's distributions over `tokens`.
    public static func record(model: Model, tokens: [Int32], settings: EvalSettings,
                              isCancelled: (() -> Bool)? = nil) throws -> BaseLogits {
        let vocab = model.config.vocab
        let chunks = try chunkCount(tokens.count, settings)
        let perChunk = settings.scoredRange.count
        var lp = [Float](repeating: 0, count: chunks * perChunk * vocab)
        var nll: Double = 0
        _ = try lp.withUnsafeMutableBufferPointer { buf in
            try run(model, tokens: tokens, settings: settings, isCancelled: isCancelled) { k, pos, logits in
                let row = buf.baseAddress! + k * vocab
                logSoftmax(logits, into: row)
                nll -= Double(row[Int(tokens[pos + 1])])
            }
        }
        let n = chunks * perChunk
        return BaseLogits(tokens: tokens, vocab: vocab, contextLength: settings.contextLength, chunks: chunks,
                          logProbs: lp, perplexity: exp(nll / Double(max(n, 1))))
    }

    /// Scores `model` against `base` (same tokens, same context).
    public static func compare(model: Model, base: BaseLogits, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                               isCancelled: (() -> Bool)? = nil) throws -> EvalResult {
        guard model.config.vocab == base.vocab else {
            throw QuantizeError.mismatch("\(model.file.path) has a vocabulary of \(model.config.vocab), the reference \(base.vocab)")
        }
        let start = Date()
        let vocab = base.vocab
        let s = EvalSettings(contextLength: base.contextLength, maxChunks: base.chunks, threads: threads)
        var klds: [Double] = []
        klds.reserveCapacity(base.scoredCount)
        var nll: Double = 0, agree = 0
        let q = UnsafeMutablePointer<Float>.allocate(capacity: vocab)
        defer { q.deallocate() }
        let chunks = try base.logProbs.withUnsafeBufferPointer { bp in
            try run(model, tokens: base.tokens, settings: s, isCancelled: isCancelled) { k, pos, logits in
                logSoftmax(logits, into: q)
                let p = bp.baseAddress! + k * vocab
                var kl: Double = 0
                var bestP = 0, bestQ = 0
                for i in 0..<vocab {
                    let lp = p[i], lq = q[i]
                    kl += Double(expf(lp)) * Double(lp - lq)
                    if lp > p[bestP] { bestP = i }
                    if lq > q[bestQ] { bestQ = i }
                }
                klds.append(max(kl, 0))
                if bestP == bestQ { agree += 1 }
                nll -= Double(q[Int(base.tokens[pos + 1])])
            }
        }
        let n = klds.count
        let sorted = klds.sorted()
        func pct(_ f: Double) -> Double { n == 0 ? 0 : sorted[min(n - 1, Int((f * Double(n - 1)).rounded()))] }
        let ppl = exp(nll / Double(max(n, 1)))
        return EvalResult(tokensScored: n, chunks: chunks, contextLength: base.contextLength, perplexity: ppl,
                          basePerplexity: base.perplexity, perplexityRatio: ppl / base.perplexity,
                          meanKLD: n == 0 ? 0 : klds.reduce(0, +) / Double(n), medianKLD: pct(0.5), p99KLD: pct(0.99),
                          maxKLD: sorted.last ?? 0, top1Agreement: n == 0 ? 0 : Double(agree) / Double(n),
                          seconds: Date().timeIntervalSince(start))
    }

    /// The reference distributions for (`sourcePath`, `text`, settings), read from `cacheDir` when
    /// recorded before, else recorded and stored there (when `cacheDir` is given).
    public static func baseLogits(sourcePath: String, text: String, settings: EvalSettings, cacheDir: String?,
                                  isCancelled: (() -> Bool)? = nil) throws -> (BaseLogits, cached: Bool) {
        let file = try ModelQuantizer.openModel(sourcePath)
        var key = Hasher64()
        key.add(text)
        key.add("\(file.fileSize)|\(settings.contextLength)|\(settings.maxChunks ?? -1)")
        let mtime = (try? FileManager.default.attributesOfItem(atPath: sourcePath)[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        key.add("\(mtime)")
        // A rebuilt engine may round differently: the program's own build is part of the key.
        let exe = ProcessInfo.processInfo.arguments.first.flatMap {
            (try? FileManager.default.attributesOfItem(atPath: $0)[.modificationDate] as? Date)?.timeIntervalSince1970
        } ?? 0
        key.add("\(exe)")
        let cachePath = cacheDir.map { "\($0)/\((sourcePath as NSString).lastPathComponent).\(String(key.value, radix: 16)).kldbase" }
        if let cp = cachePath, let b = BaseLogits.read(path: cp) { return (b, true) }
        let model: Model
        do { model = try Model(file: file) } catch { throw QuantizeError.notAModel("\(sourcePath): \(error)") }
        let tokens = try tokenize(text, model: file, chunkSize: settings.contextLength)
        let b = try record(model: model, tokens: tokens, settings: settings, isCancelled: isCancelled)
        if let cp = cachePath { try b.write(to: cp) }
        return (b, false)
    }
}

/// A stable key for cache file names: FNV-1a over the fields, each followed by a 0xff separator.
struct Hasher64 {
    private var h = StableHash()
    var value: UInt64 { h.value }
    mutating func add(_ s: String) {
        h.add(s)
        h.add(byte: 0xff)
    }
}
