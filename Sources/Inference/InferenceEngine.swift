#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TensorKernels

/// One token of a batched forward step: which sequence (KV slot) it belongs to, its id and position.
public struct BatchToken: Sendable, Equatable {
    public var seq: Int
    public var token: Int32
    public var pos: Int
    /// Whether logits are wanted for this token (the last prompt token, every decode token).
    public var wantLogits: Bool

    public init(seq: Int, token: Int32, pos: Int, wantLogits: Bool) {
        self.seq = seq
        self.token = token
        self.pos = pos
        self.wantLogits = wantLogits
    }
}

/// Receives the input activations of each matrix product of a forward step, before the product:
/// `rows` tokens of `cols` floats (row-major), for the weight named `weight` (its GGUF name,
/// `blk.0.attn_q.weight`). The pointer is valid only during the call. Products that share an input
/// (q/k/v, gate/up) report it once per weight.
public protocol ActivationObserver: AnyObject {
    func observe(weight: String, input: UnsafePointer<Float>, rows: Int, cols: Int)
}

/// Runs the transformer over batches of tokens from several sequences, each with its own KV cache slot.
///
/// All buffers are allocated here, once: activations for `maxBatchTokens` tokens, logits for
/// `maxLogitRows` rows, and a KV cache of `[slot][layer][k|v][kvHead][pos][headDim]` for `maxSequences` slots of
/// `contextLength` positions. `forward` allocates nothing. They are mapped, not zeroed
/// (`ZeroPages`): resident memory grows with the rows the steps write, not with these maxima.
///
/// One `forward` call is one step: prompt processing passes many tokens of one sequence, batched
/// decoding passes one token of each of many sequences, or any mix. Every projection is one
/// matrix-matrix product over all tokens of the step. Attention of a token sees its own sequence's
/// cache up to and including its own position. Not thread-safe: one caller at a time.
public final class InferenceEngine: @unchecked Sendable {
    public let model: Model
    public let config: ModelConfig
    public let maxSequences: Int
    public let contextLength: Int
    public let maxBatchTokens: Int
    public let maxLogitRows: Int
    public let kvType: KVCacheType
    public let pool: ComputePool
    let matmul: MatMulEngine

    /// Sees the input of every matrix product of `forward` (llama.cpp's eval callback, as its imatrix
    /// tool uses it); nil, the default, costs one check per product.
    public var activationObserver: ActivationObserver?

    /// The instruction level the 8-bit kernels run at.
    public var kernelLevel: KernelLevel { matmul.level }

    // Activations, [maxBatchTokens][width]; the feed-forward's `hb`, `hb2`: [ffnTokens][ffn].
    private let x, xb, xb2, q, k, v, att, hb, hb2: UnsafeMutablePointer<Float>
    /// Most tokens whose feed-forward runs at once (`init`'s `ffnChunkTokens`, at most `maxBatchTokens`).
    public let ffnTokens: Int
    private let ropeCos, ropeSin: UnsafeMutablePointer<Float>  // [maxBatchTokens][ropeDim/2]
    private let scores: UnsafeMutablePointer<Float>  // [threads][GQA group][contextLength]
    private let keyRows: UnsafeMutablePointer<Float>  // [threads][8][headDim]: cached keys as floats
    /// Partial results of split attention (`attentionSplit`), `partialCapacity` floats.
    private let partials: UnsafeMutablePointer<Float>
    private let partialCapacity: Int
    private let logitsBuf: UnsafeMutablePointer<Float>  // [maxLogitRows][vocab]
    private let normed: UnsafeMutablePointer<Float>  // [maxLogitRows][dim]
    private let kvBase: UnsafeMutableRawPointer
    private let kvBytes: Int
    /// Every buffer above, released in `deinit`.
    private let mappings: [ZeroPages]
    private var logitRowCount = 0
    /// The pool's work items of `attention` (the job form of `parallelFor`: no closure context whose
    /// reference count both threads would bump for every item).
    private lazy var attentionJob = AttentionJob(self)

    /// - Parameters:
    ///   - threads: compute threads for matrix products and attention.
    ///   - maxSequences: KV cache slots.
    ///   - contextLength: positions per slot (default: the model's training context, at most 4096;
    ///     pass more explicitly: the KV cache is reserved up front for every slot).
    ///   - maxBatchTokens: most tokens in one `forward` step.
    ///   - maxLogitRows: most tokens that may ask for logits in one step (default `max(maxSequences, 1)`).
    ///   - kvType: KV cache precision.
    ///   - ffnChunkTokens: most tokens whose feed-forward runs at once. Its two buffers are the widest
    ///     activations (`ffn` floats a token); its products read each weight once per chunk, and 64
    ///     tokens keep them compute-bound while the buffers shrink to a quarter of a 256-token batch's
    ///     (17.5 -> 4.4 MiB for Qwen2.5-1.5B; prompt processing measured level).
    ///   - kernelLevel: instruction level of the 8-bit kernels (default: from cpuid, or
    ///     `TOKENMILL_KERNELS`); must be one the host runs (`KernelLevel.supported()`).
    public init(model: Model, threads: Int, maxSequences: Int = 1, contextLength: Int? = nil,
                maxBatchTokens: Int = 256, maxLogitRows: Int? = nil, kvType: KVCacheType = .f32,
                ffnChunkTokens: Int = 64, kernelLevel: KernelLevel = .current) {
        let c = model.config
        self.model = model
        self.config = c
        self.maxSequences = max(1, maxSequences)
        self.contextLength = max(1, contextLength ?? min(c.contextLength, 4096))
        self.maxBatchTokens = max(1, maxBatchTokens)
        self.maxLogitRows = max(1, maxLogitRows ?? maxSequences)
        self.kvType = kvType
        self.pool = ComputePool(threads: threads)
        self.matmul = MatMulEngine(pool: pool, maxCols: max(c.dim, c.qDim, c.ffn), maxSeq: max(self.maxBatchTokens, self.maxLogitRows))
        self.matmul.level = kernelLevel
        let B = self.maxBatchTokens
        // Each buffer a mapping of its own: zeros, resident only where a step writes (`ZeroPages`).
        var mappings: [ZeroPages] = []
        func alloc(_ n: Int) -> UnsafeMutablePointer<Float> {
            let m = ZeroPages(of: Float.self, count: max(n, 1))
            mappings.append(m)
            return m.pointer(to: Float.self)
        }
        x = alloc(B * c.dim); xb = alloc(B * c.dim); xb2 = alloc(B * c.dim)
        q = alloc(B * c.qDim); k = alloc(B * c.kvDim); v = alloc(B * c.kvDim); att = alloc(B * c.qDim)
        ffnTokens = min(B, max(1, ffnChunkTokens))
        hb = alloc(ffnTokens * c.ffn); hb2 = alloc(ffnTokens * c.ffn)
        ropeCos = alloc(B * c.ropeDim / 2); ropeSin = alloc(B * c.ropeDim / 2)
        scores = alloc(pool.threadCount * (c.heads / max(c.kvHeads, 1)) * self.contextLength)
        keyRows = alloc(pool.threadCount * 8 * c.headDim)
        // Split attention: room for 4·threads + kvHeads units (attentionChunks stays within it), each a
        // group's outputs, maxima and sums.
        partialCapacity = (4 * pool.threadCount + c.kvHeads) * Self.partialStride(c)
        partials = alloc(partialCapacity)
        logitsBuf = alloc(self.maxLogitRows * c.vocab)
        normed = alloc(self.maxLogitRows * c.dim)
        kvBytes = model.kvBytesPerSequence(contextLength: self.contextLength, type: kvType) * self.maxSequences
        // Attention only reads positions written before, and untouched pages stay unbacked, so a slot
        // costs memory only for the context it actually uses.
        let kv = ZeroPages(byteCount: max(kvBytes, 1))
        mappings.append(kv)
        kvBase = kv.base
        self.mappings = mappings
    }

    deinit {
        for m in mappings { m.release() }
    }

    /// Bytes of KV cache held by this engine.
    public var kvCacheBytes: Int { kvBytes }

    /// Logits of the `row`-th token that asked for them in the last `forward` (in batch order);
    /// valid until the next `forward`.
    public func logits(row: Int) -> UnsafeBufferPointer<Float> {
        precondition(row < logitRowCount, "logits row \(row) of \(logitRowCount)")
        return UnsafeBufferPointer(start: logitsBuf + row * config.vocab, count: config.vocab)
    }

    /// Number of logit rows the last `forward` produced.
    public var logitRows: Int { logitRowCount }

    // MARK: KV cache layout: [slot][layer][k|v][kvHead][pos][headDim]
    //
    // Each KV head's rows contiguous: attention reads one KV head's keys and values per work item,
    // so it streams one run of memory instead of a head's slice of every row (1/kvHeads of each
    // row, a stride the prefetchers followed badly: the key loads were 70% of the score pass).

    @inline(__always)
    private func kvOffset(seq: Int, layer: Int, value: Bool, head: Int, pos: Int) -> Int {
        let c = config
        let region = ((seq * c.layers + layer) * 2 + (value ? 1 : 0)) * c.kvHeads + head
        return (region * contextLength + pos) * c.headDim * kvType.bytes
    }

    /// Checks a batch without running it.
    public func validate<C: Collection>(_ batch: C) throws where C.Element == BatchToken {
        guard !batch.isEmpty else { throw InferenceError("empty batch") }
        guard batch.count <= maxBatchTokens else {
            throw InferenceError("batch of \(batch.count) tokens exceeds maxBatchTokens \(maxBatchTokens)")
        }
        var wanted = 0
        for t in batch {
            guard t.seq >= 0, t.seq < maxSequences else { throw InferenceError("sequence \(t.seq) out of range 0..<\(maxSequences)") }
            guard t.pos >= 0, t.pos < contextLength else {
                throw InferenceError("position \(t.pos) outside the context of \(contextLength) tokens")
            }
            guard t.token >= 0, Int(t.token) < config.vocab else {
                throw InferenceError("token id \(t.token) outside the vocabulary of \(config.vocab)")
            }
            if t.wantLogits { wanted += 1 }
        }
        guard wanted <= maxLogitRows else {
            throw InferenceError("\(wanted) tokens want logits, more than maxLogitRows \(maxLogitRows)")
        }
    }

    /// Runs one step over `batch`; afterwards `logits(row:)` holds the logits of the tokens that asked.
    public func forward(_ batch: [BatchToken]) throws {
        try validate(batch)
        batch.withUnsafeBufferPointer { forwardUnchecked($0) }
    }

    func forwardUnchecked(_ batch: UnsafeBufferPointer<BatchToken>) {
        let c = config
        let n = batch.count
        let dim = c.dim

        // Token embeddings: dequantize one row each.
        let emb = model.tokenEmbedding
        for i in 0..<n { emb.dequantizeRow(Int(batch[i].token), into: x + i * dim) }
        computeRope(batch)

        for (l, w) in model.layers.enumerated() {
            // Attention block.
            w.attnNorm.withUnsafeBufferPointer { nw in
                for i in 0..<n { VectorOps.rmsNorm(x + i * dim, nw.baseAddress!, xb + i * dim, dim, eps: c.rmsEps) }
            }
            observe(w.names.q, xb, n, dim)
            observe(w.names.k, xb, n, dim)
            observe(w.names.v, xb, n, dim)
            matmul.multiply(w.wq, y0: q, w.wk, y1: k, w.wv, y2: v, x: xb, nSeq: n)
            addBias(w.bq, q, c.qDim, n)
            addBias(w.bk, k, c.kvDim, n)
            addBias(w.bv, v, c.kvDim, n)
            headNorm(w.qNorm, q, heads: c.heads, n)
            headNorm(w.kNorm, k, heads: c.kvHeads, n)
            for i in 0..<n {
                applyRope(q + i * c.qDim, heads: c.heads, token: i)
                applyRope(k + i * c.kvDim, heads: c.kvHeads, token: i)
                storeKV(seq: batch[i].seq, layer: l, pos: batch[i].pos, k: k + i * c.kvDim, v: v + i * c.kvDim)
            }
            attention(batch, layer: l)
            observe(w.names.output, att, n, c.qDim)
            matmul.multiply(w.wo, x: att, nSeq: n, y: xb2)
            VectorOps.add(xb2, into: x, n * dim)

            // Feed-forward block (SwiGLU), `ffnTokens` tokens at a time: its two buffers are the widest
            // activations (`ffn` floats a token), so they hold one chunk of the batch, not all of it.
            w.ffnNorm.withUnsafeBufferPointer { nw in
                for i in 0..<n { VectorOps.rmsNorm(x + i * dim, nw.baseAddress!, xb + i * dim, dim, eps: c.rmsEps) }
            }
            var t0 = 0
            while t0 < n {
                let m = min(ffnTokens, n - t0), input = xb + t0 * dim
                observe(w.names.gate, input, m, dim)
                observe(w.names.up, input, m, dim)
                matmul.multiply(w.gate, y0: hb, w.up, y1: hb2, x: input, nSeq: m)
                VectorOps.swiglu(hb, hb2, hb, m * c.ffn)
                observe(w.names.down, hb, m, c.ffn)
                matmul.multiply(w.down, x: hb, nSeq: m, y: xb2 + t0 * dim)
                t0 += m
            }
            VectorOps.add(xb2, into: x, n * dim)
        }

        // Final norm and output projection, only for the tokens that want logits.
        var rows = 0
        model.outputNorm.withUnsafeBufferPointer { nw in
            for i in 0..<n where batch[i].wantLogits {
                VectorOps.rmsNorm(x + i * dim, nw.baseAddress!, normed + rows * dim, dim, eps: c.rmsEps)
                rows += 1
            }
        }
        logitRowCount = rows
        if rows > 0 {
            observe(model.outputName, normed, rows, dim)
            matmul.multiply(model.output, x: normed, nSeq: rows, y: logitsBuf)
        }
    }

    /// Hands a matrix product's input (`rows` tokens of `cols` values) to the observer, if any.
    @inline(__always)
    private func observe(_ weight: String, _ input: UnsafeMutablePointer<Float>, _ rows: Int, _ cols: Int) {
        guard let o = activationObserver else { return }
        o.observe(weight: weight, input: UnsafePointer(input), rows: rows, cols: cols)
    }

    /// RMSNorm of every head of every token with the family's per-head weights (Qwen3's q/k norm), in place.
    private func headNorm(_ weight: [Float]?, _ y: UnsafeMutablePointer<Float>, heads: Int, _ n: Int) {
        guard let weight else { return }
        let hd = config.headDim
        weight.withUnsafeBufferPointer { w in
            for h in 0..<(n * heads) { VectorOps.rmsNorm(y + h * hd, w.baseAddress!, y + h * hd, hd, eps: config.rmsEps) }
        }
    }

    private func addBias(_ b: [Float]?, _ y: UnsafeMutablePointer<Float>, _ width: Int, _ n: Int) {
        guard let b else { return }
        b.withUnsafeBufferPointer { bp in
            for i in 0..<n { VectorOps.add(bp.baseAddress!, into: y + i * width, width) }
        }
    }

    // MARK: RoPE

    /// cos/sin of every rotated pair for every token, computed the way ggml does:
    /// theta_i = pos · base^(-2i/ropeDim) (built by repeated multiplication in float), divided by the
    /// pair's frequency factor (`rope_freqs.weight`), scaled by `freqScale`, and for YaRN blended
    /// with the unscaled angle by the ramp between the correction dimensions, cos/sin times mscale.
    private func computeRope(_ batch: UnsafeBufferPointer<BatchToken>) {
        let c = config
        let half = c.ropeDim / 2
        let thetaScale = powf(c.ropeBase, -2 / Float(c.ropeDim))
        var corr0: Float = 0, corr1: Float = 0
        var mscale: Float = 1
        var ext: Float = 0
        if let y = c.yarn {
            func corrDim(_ nRot: Float) -> Float {
                Float(c.ropeDim) * logf(Float(y.originalContext) / (nRot * 2 * Float.pi)) / (2 * logf(c.ropeBase))
            }
            corr0 = max(0, floorf(corrDim(y.betaFast)))
            corr1 = min(Float(c.ropeDim - 1), ceilf(corrDim(y.betaSlow)))
            ext = y.extFactor
            mscale = y.attnFactor
            if ext != 0 { mscale *= 1 + 0.1 * logf(1 / c.ropeFreqScale) }
        }
        for i in 0..<batch.count {
            var theta = Float(batch[i].pos)
            for j in 0..<half {
                let extrap = theta / (model.ropeFreqFactors?[j] ?? 1)
                var t = c.ropeFreqScale * extrap
                if ext != 0 {
                    let y = (Float(j) - corr0) / max(0.001, corr1 - corr0)
                    let rampMix = (1 - min(1, max(0, y))) * ext
                    t = t * (1 - rampMix) + extrap * rampMix
                }
                ropeCos[i * half + j] = cosf(t) * mscale
                ropeSin[i * half + j] = sinf(t) * mscale
                theta *= thetaScale
            }
        }
    }

    @inline(__always)
    private func applyRope(_ vec: UnsafeMutablePointer<Float>, heads: Int, token i: Int) {
        let c = config
        let half = c.ropeDim / 2
        let cs = ropeCos + i * half
        let sn = ropeSin + i * half
        for h in 0..<heads {
            let p = vec + h * c.headDim
            switch c.architecture.ropeStyle {
            case .normal:
                for j in 0..<half {
                    let a = p[2 * j], b = p[2 * j + 1]
                    p[2 * j] = a * cs[j] - b * sn[j]
                    p[2 * j + 1] = a * sn[j] + b * cs[j]
                }
            case .neox:
                for j in 0..<half {
                    let a = p[j], b = p[j + half]
                    p[j] = a * cs[j] - b * sn[j]
                    p[j + half] = a * sn[j] + b * cs[j]
                }
            }
        }
    }

    // MARK: Attention

    private func storeKV(seq: Int, layer: Int, pos: Int, k kSrc: UnsafePointer<Float>, v vSrc: UnsafePointer<Float>) {
        let hd = config.headDim
        for h in 0..<config.kvHeads {
            let kd = kvBase + kvOffset(seq: seq, layer: layer, value: false, head: h, pos: pos)
            let vd = kvBase + kvOffset(seq: seq, layer: layer, value: true, head: h, pos: pos)
            switch kvType {
            case .f32:
                kd.assumingMemoryBound(to: Float.self).update(from: kSrc + h * hd, count: hd)
                vd.assumingMemoryBound(to: Float.self).update(from: vSrc + h * hd, count: hd)
            case .f16:
                VectorOps.f32ToF16(kSrc + h * hd, kd.assumingMemoryBound(to: UInt16.self), hd)
                VectorOps.f32ToF16(vSrc + h * hd, vd.assumingMemoryBound(to: UInt16.self), hd)
            }
        }
    }

    /// `att[i][h] = Σ_t softmax_t(q_i,h · k_t / √d) v_t` over positions `0...pos_i` of token i's sequence.
    ///
    /// Work items are (token, KV head): the query heads sharing a KV head (GQA group) are handled
    /// together, so each cached K and V row is read once per group rather than once per head. When
    /// there are fewer than two items per thread (one sequence decoding) and the context is long
    /// enough, each item's positions are split into chunks over the threads as well, each chunk
    /// computing a partial softmax (its own max and sum) that `attentionSplit` then merges, so a
    /// single sequence keeps every thread busy.
    private func attention(_ batch: UnsafeBufferPointer<BatchToken>, layer: Int) {
        let c = config
        let items = batch.count * c.kvHeads
        let threads = min(pool.threadCount, items)
        var longest = 0
        for t in batch { longest = max(longest, t.pos + 1) }
        let chunks = attentionChunks(items: items, positions: longest)
        if chunks > 1 {
            attentionSplit(batch, layer: layer, chunks: chunks)
            return
        }
        attentionJob.set(batch, layer: layer, threads: threads, chunks: 1)
        pool.parallelFor(threads, job: attentionJob)
    }

    /// Thread `t`'s share of `attention`'s items (every `threads`-th, from `t`).
    fileprivate func attentionItems(_ t: Int, _ batch: UnsafeBufferPointer<BatchToken>, layer: Int, threads: Int) {
        let c = config, items = batch.count * c.kvHeads
        let sc = scores + t * (c.heads / c.kvHeads) * contextLength
        let keys = keyRows + t * 8 * c.headDim
        // Strided, not contiguous: later tokens of a prompt attend to more positions.
        for item in stride(from: t, to: items, by: threads) {
            let i = item / c.kvHeads, kvh = item % c.kvHeads
            attend(batch[i], token: i, kvHead: kvh, layer: layer, positions: 0..<(batch[i].pos + 1), scores: sc, keys: keys,
                   out: att + i * c.qDim + kvh * (c.heads / c.kvHeads) * c.headDim, partial: nil)
        }
    }

    /// Chunks per (token, KV head) item: 1 when the items alone give every thread two, else enough
    /// for two per thread, each at least `minAttentionChunk` positions long. Below that length, items
    /// that do not divide among the threads (SmolLM2's three KV heads on two threads: one thread would
    /// take two and the other one) are still split into the fewest chunks that divide evenly, each at
    /// least `minBalancedChunk` positions long, as long as the units fit the split scratch (`partialCapacity`).
    func attentionChunks(items: Int, positions: Int) -> Int {
        let threads = pool.threadCount
        if threads == 1 || items >= 2 * threads { return 1 }
        let spread = max(1, min((2 * threads + items - 1) / items, positions / minAttentionChunk))
        if spread > 1 || items % threads == 0 { return spread }
        var a = items, b = threads
        while b != 0 { (a, b) = (b, a % b) }
        let even = threads / a  // items · even is a multiple of threads
        return items * even * Self.partialStride(config) <= partialCapacity && positions / even >= minBalancedChunk ? even : 1
    }

    /// Floats of one unit of split attention in `partials`: the group's outputs [group][headDim], then its
    /// maxima [group] and sums [group].
    static func partialStride(_ c: ModelConfig) -> Int { (c.heads / max(c.kvHeads, 1)) * (c.headDim + 2) }

    /// Positions per chunk below which splitting an item costs more than it saves.
    var minAttentionChunk = 128
    /// Positions per chunk below which splitting only to even out the threads' shares costs more than it saves.
    var minBalancedChunk = 32

    private func attentionSplit(_ batch: UnsafeBufferPointer<BatchToken>, layer: Int, chunks: Int) {
        let c = config
        let group = c.heads / c.kvHeads, hd = c.headDim
        let units = batch.count * c.kvHeads * chunks
        let threads = min(pool.threadCount, units)
        let stride = Self.partialStride(c)
        precondition(units * stride <= partialCapacity, "attention: \(units) partial results exceed the scratch")
        attentionJob.set(batch, layer: layer, threads: threads, chunks: chunks)
        pool.parallelFor(threads, job: attentionJob)
        // Merge: out = Σ_c e^(m_c − M) · o_c / Σ_c e^(m_c − M) · l_c per head.
        for item in 0..<(batch.count * c.kvHeads) {
            let i = item / c.kvHeads, kvh = item % c.kvHeads
            let out0 = att + i * c.qDim + kvh * group * hd
            for g in 0..<group {
                var m = -Float.infinity
                for ch in 0..<chunks { m = max(m, partials[(item * chunks + ch) * stride + group * hd + g]) }
                let out = out0 + g * hd
                out.update(repeating: 0, count: hd)
                var l: Float = 0
                for ch in 0..<chunks {
                    let part = partials + (item * chunks + ch) * stride
                    let mc = part[group * hd + g]
                    if mc == -.infinity { continue }  // an empty chunk
                    let w = expf(mc - m)
                    l += w * part[group * hd + group + g]
                    VectorOps.axpy(w, part + g * hd, out, hd)
                }
                VectorOps.scale(out, 1 / l, hd)
            }
        }
    }

    /// Thread `t`'s share of `attentionSplit`'s units (every `threads`-th (item, chunk), from `t`): each chunk's
    /// unnormalised output, maxima and sums into `partials`.
    fileprivate func attentionUnits(_ t: Int, _ batch: UnsafeBufferPointer<BatchToken>, layer: Int, threads: Int, chunks: Int) {
        let c = config
        let group = c.heads / c.kvHeads, hd = c.headDim, stride = Self.partialStride(c)
        let units = batch.count * c.kvHeads * chunks
        let sc = scores + t * group * contextLength
        let keys = keyRows + t * 8 * hd
        for unit in Swift.stride(from: t, to: units, by: threads) {
            let item = unit / chunks, chunk = unit % chunks
            let i = item / c.kvHeads, kvh = item % c.kvHeads
            let npos = batch[i].pos + 1
            let lo = npos * chunk / chunks, hi = npos * (chunk + 1) / chunks
            let part = partials + unit * stride
            attend(batch[i], token: i, kvHead: kvh, layer: layer, positions: lo..<hi, scores: sc, keys: keys, out: part,
                   partial: (part + group * hd, part + group * hd + group))
        }
    }

    /// Attention of one token's heads of KV head `kvHead` over cached `positions`: writes
    /// `out[g·hd ..]` for each head g of the group. With `partial` nil the softmax is complete;
    /// otherwise `out` is the unnormalised Σ e^(s − m)·v and `partial` receives m and Σ e^(s − m)
    /// per head (m = −∞ for an empty range).
    private func attend(_ tok: BatchToken, token i: Int, kvHead kvh: Int, layer: Int, positions: Range<Int>,
                        scores sc: UnsafeMutablePointer<Float>, keys: UnsafeMutablePointer<Float>, out out0: UnsafeMutablePointer<Float>,
                        partial: (max: UnsafeMutablePointer<Float>, sum: UnsafeMutablePointer<Float>)?) {
        let c = config
        let hd = c.headDim
        let group = c.heads / c.kvHeads
        let ctx = contextLength
        let scale = 1 / Float(hd).squareRoot()
        let n = positions.count, p0 = positions.lowerBound
        let q0 = UnsafePointer(q + i * c.qDim + kvh * group * hd)
        let kBase = kvBase + kvOffset(seq: tok.seq, layer: layer, value: false, head: kvh, pos: p0)
        let vBase = kvBase + kvOffset(seq: tok.seq, layer: layer, value: true, head: kvh, pos: p0)
        out0.update(repeating: 0, count: group * hd)
        if n == 0 {
            if let partial { for g in 0..<group { partial.max[g] = -.infinity; partial.sum[g] = 0 } }
            return
        }
        // Scores for every head of the group, one pass over the cached keys.
        switch kvType {
        case .f32:
            let kp = kBase.assumingMemoryBound(to: Float.self)
            for p in 0..<n {
                let k = UnsafePointer(kp + p * hd)
                for g in 0..<group { sc[g * ctx + p] = VectorOps.dot(q0 + g * hd, k, hd) * scale }
            }
        case .f16:
            // Each cached key converted once for the whole group, eight at a time (into `keys`).
            let kp = kBase.assumingMemoryBound(to: UInt16.self)
            VectorOps.scoresF16(keys: UnsafePointer(kp), keyStride: hd, count: n, queries: q0, qStride: hd, heads: group,
                                dim: hd, scale: scale, sc, outStride: ctx, scratch: keys,
                                prefetching: vBase.assumingMemoryBound(to: UInt16.self), valueStride: hd)
        }
        for g in 0..<group {
            if let partial {
                let m = VectorOps.max(sc + g * ctx, n)
                partial.max[g] = m
                partial.sum[g] = Float(Ops.expShifted(sc + g * ctx, n, minus: m, scale: 1, into: sc + g * ctx))
            } else {
                VectorOps.softmax(sc + g * ctx, n)
            }
        }
        // Weighted sum of the cached values, again one pass for the group.
        switch kvType {
        case .f32:
            let vp = vBase.assumingMemoryBound(to: Float.self)
            for p in 0..<n {
                let v = UnsafePointer(vp + p * hd)
                for g in 0..<group { VectorOps.axpy(sc[g * ctx + p], v, out0 + g * hd, hd) }
            }
        case .f16:
            // Every head of the group over every position at once (each value converted once per four heads,
            // `out` written once): the same sums in the same order as an axpy per position.
            let vp = vBase.assumingMemoryBound(to: UInt16.self)
            VectorOps.weightedSumF16(sc, wStride: ctx, heads: group, UnsafePointer(vp), rowStride: hd,
                                     count: n, width: hd, out0, outStride: hd)
        }
    }
}

// MARK: - KV row copy (prefix sharing)

extension InferenceEngine {
    /// Copies the KV rows of positions `0..<count` from slot `source` to slot `destination` in every
    /// layer, so `destination` continues from a prefix that `source` already computed (shared prompt
    /// prefixes, parallel samples of one prompt). Rows from `count` on in `destination` are left as
    /// they are; the caller feeds them next.
    public func copyKVRows(from source: Int, to destination: Int, count: Int) {
        precondition(source >= 0 && source < maxSequences && destination >= 0 && destination < maxSequences,
                     "KV slot out of range")
        precondition(count >= 0 && count <= contextLength, "KV row count out of range")
        if count == 0 || source == destination { return }
        let rowBytes = count * config.headDim * kvType.bytes
        for layer in 0..<config.layers {
            for value in [false, true] {
                for head in 0..<config.kvHeads {
                    let from = kvBase + kvOffset(seq: source, layer: layer, value: value, head: head, pos: 0)
                    let to = kvBase + kvOffset(seq: destination, layer: layer, value: value, head: head, pos: 0)
                    to.copyMemory(from: UnsafeRawPointer(from), byteCount: rowBytes)
                }
            }
        }
    }
}

/// `attention`'s work for the pool: item t is thread t's share of the (token, KV head) items, or with
/// `chunks` > 1 of the (item, chunk) units of `attentionSplit`.
private final class AttentionJob: ComputeJob {
    /// Unretained and called without a retain, as `MatMulEngine`'s jobs (the engine owns its job).
    let engine: Unmanaged<InferenceEngine>
    var batch = UnsafeBufferPointer<BatchToken>(start: nil, count: 0)
    var layer = 0, threads = 1, chunks = 1
    init(_ engine: InferenceEngine) { self.engine = .passUnretained(engine); super.init() }
    func set(_ batch: UnsafeBufferPointer<BatchToken>, layer: Int, threads: Int, chunks: Int) {
        self.batch = batch; self.layer = layer; self.threads = threads; self.chunks = chunks
    }
    override func execute(_ t: Int) {
        engine._withUnsafeGuaranteedRef { engine in
            if chunks > 1 {
                engine.attentionUnits(t, batch, layer: layer, threads: threads, chunks: chunks)
            } else {
                engine.attentionItems(t, batch, layer: layer, threads: threads)
            }
        }
    }
}
