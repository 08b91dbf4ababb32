import Foundation
import GGUF
import Inference
import TensorKernels

/// Collects an importance matrix by running the model over calibration text and summing the
/// squares of every matrix product's input: `attn_norm` output (read by attn_q/k/v), the
/// attention output (read by attn_output), `ffn_norm` output (ffn_gate/up) and the SwiGLU output
/// (ffn_down). `output.weight` is skipped, as llama-imatrix does by default.
///
/// The inference engine does not expose its activations, so this is a plain layer loop of its own
/// over the model's memory-mapped weights (same math as the engine: RMS norm, RoPE, causal
/// attention over one chunk, SwiGLU); YaRN scaling is not applied (the calibration chunks are short).
public enum ImatrixCollector {
    /// Runs `tokens` in chunks of `chunkSize` (each from position 0) and returns the sums.
    public static func collect(model: Model, tokens: [Int32], chunkSize: Int, maxChunks: Int? = nil, threads: Int,
                               progress: ((Int, Int) -> Void)? = nil, isCancelled: (() -> Bool)? = nil) throws -> ImportanceMatrix {
        let c = model.config
        let f = model.file
        guard chunkSize >= 2 else { throw QuantizeError.mismatch("imatrix chunk size \(chunkSize) is too small") }
        let available = tokens.count / chunkSize
        guard available >= 1 else { throw QuantizeError.textTooShort(tokens: tokens.count, needed: chunkSize) }
        let chunks = min(available, maxChunks ?? available)
        func matrix(_ name: String) throws -> WeightMatrix {
            guard let t = f.tensor(named: name), t.dims.count == 2 else { throw QuantizeError.notAModel("\(f.path): missing tensor '\(name)'") }
            return WeightMatrix(type: t.type, rows: t.dims[1], cols: t.dims[0], data: f.data(for: t))
        }
        func vector(_ name: String, _ n: Int) throws -> [Float]? {
            guard let t = f.tensor(named: name) else { return nil }
            guard t.elementCount == n else { throw QuantizeError.notAModel("\(f.path): '\(name)' has \(t.elementCount) values, expected \(n)") }
            var v = [Float](repeating: 0, count: n)
            v.withUnsafeMutableBufferPointer { Dequantize.row(t.type, f.data(for: t), into: $0.baseAddress!, count: n) }
            return v
        }
        let T = chunkSize, dim = c.dim, hd = c.headDim
        let pool = ComputePool(threads: threads)
        let mm = MatMulEngine(pool: pool, maxCols: max(dim, c.qDim, c.ffn), maxSeq: T)
        var owned: [UnsafeMutablePointer<Float>] = []
        defer { for b in owned { b.deallocate() } }
        func buf(_ n: Int) -> UnsafeMutablePointer<Float> {
            let b = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            b.initialize(repeating: 0, count: max(n, 1))
            owned.append(b)
            return b
        }
        let x = buf(T * dim), xb = buf(T * dim), xb2 = buf(T * dim)
        let q = buf(T * c.qDim), k = buf(T * c.kvDim), v = buf(T * c.kvDim), att = buf(T * c.qDim)
        let hb = buf(T * c.ffn), hb2 = buf(T * c.ffn), sc = buf(T)
        let emb = try matrix("token_embd.weight")
        let ropeFreqs = try vector("rope_freqs.weight", c.ropeDim / 2)
        // RoPE tables for positions 0..<T.
        let half = c.ropeDim / 2
        let cosT = buf(T * half), sinT = buf(T * half)
        let thetaScale = powf(c.ropeBase, -2 / Float(c.ropeDim))
        for p in 0..<T {
            var theta = Float(p)
            for j in 0..<half {
                let t = c.ropeFreqScale * theta / (ropeFreqs?[j] ?? 1)
                cosT[p * half + j] = cosf(t); sinT[p * half + j] = sinf(t)
                theta *= thetaScale
            }
        }
        func rope(_ vec: UnsafeMutablePointer<Float>, heads: Int, pos: Int) {
            for h in 0..<heads {
                let pp = vec + h * hd
                for j in 0..<half {
                    let cs = cosT[pos * half + j], sn = sinT[pos * half + j]
                    if c.architecture.ropeStyle == .normal {
                        let a = pp[2 * j], b = pp[2 * j + 1]
                        pp[2 * j] = a * cs - b * sn; pp[2 * j + 1] = a * sn + b * cs
                    } else {
                        let a = pp[j], b = pp[j + half]
                        pp[j] = a * cs - b * sn; pp[j + half] = a * sn + b * cs
                    }
                }
            }
        }
        struct Layer { var an, fn: [Float]; var bq, bk, bv: [Float]?; var wq, wk, wv, wo, gate, up, down: WeightMatrix }
        var layers: [Layer] = []
        for l in 0..<c.layers {
            let p = "blk.\(l)."
            guard let an = try vector(p + "attn_norm.weight", dim), let fn = try vector(p + "ffn_norm.weight", dim) else {
                throw QuantizeError.notAModel("\(f.path): block \(l) lacks its norms")
            }
            layers.append(Layer(an: an, fn: fn, bq: try vector(p + "attn_q.bias", c.qDim), bk: try vector(p + "attn_k.bias", c.kvDim),
                                bv: try vector(p + "attn_v.bias", c.kvDim),
                                wq: try matrix(p + "attn_q.weight"), wk: try matrix(p + "attn_k.weight"), wv: try matrix(p + "attn_v.weight"),
                                wo: try matrix(p + "attn_output.weight"), gate: try matrix(p + "ffn_gate.weight"),
                                up: try matrix(p + "ffn_up.weight"), down: try matrix(p + "ffn_down.weight")))
        }
        var im = ImportanceMatrix()
        im.chunkCount = chunks
        im.chunkSize = T
        let group = c.heads / max(c.kvHeads, 1)
        let scale = 1 / Float(hd).squareRoot()
        for ch in 0..<chunks {
            if isCancelled?() == true { throw QuantizeError.io("imatrix collection cancelled") }
            progress?(ch, chunks)
            for i in 0..<T {
                let tok = Int(tokens[ch * T + i])
                guard tok >= 0, tok < c.vocab else { throw QuantizeError.mismatch("token id \(tok) outside the vocabulary of \(c.vocab)") }
                Dequantize.row(emb.type, emb.data + tok * emb.rowBytes, into: x + i * dim, count: dim)
            }
            for (l, w) in layers.enumerated() {
                let p = "blk.\(l)."
                w.an.withUnsafeBufferPointer { nw in for i in 0..<T { VectorOps.rmsNorm(x + i * dim, nw.baseAddress!, xb + i * dim, dim, eps: c.rmsEps) } }
                for n in ["attn_q", "attn_k", "attn_v"] { im.accumulate(p + n + ".weight", x: xb, rows: T, cols: dim) }
                mm.multiply(w.wq, x: xb, nSeq: T, y: q)
                mm.multiply(w.wk, x: xb, nSeq: T, y: k)
                mm.multiply(w.wv, x: xb, nSeq: T, y: v)
                for i in 0..<T {
                    if let b = w.bq { for j in 0..<c.qDim { q[i * c.qDim + j] += b[j] } }
                    if let b = w.bk { for j in 0..<c.kvDim { k[i * c.kvDim + j] += b[j] } }
                    if let b = w.bv { for j in 0..<c.kvDim { v[i * c.kvDim + j] += b[j] } }
                    rope(q + i * c.qDim, heads: c.heads, pos: i)
                    rope(k + i * c.kvDim, heads: c.kvHeads, pos: i)
                }
                // Causal attention within the chunk.
                for i in 0..<T {
                    for h in 0..<c.heads {
                        let kvh = h / group
                        for t in 0...i {
                            var s: Float = 0
                            for d in 0..<hd { s += q[i * c.qDim + h * hd + d] * k[t * c.kvDim + kvh * hd + d] }
                            sc[t] = s * scale
                        }
                        VectorOps.softmax(sc, i + 1)
                        for d in 0..<hd {
                            var a: Float = 0
                            for t in 0...i { a += sc[t] * v[t * c.kvDim + kvh * hd + d] }
                            att[i * c.qDim + h * hd + d] = a
                        }
                    }
                }
                im.accumulate(p + "attn_output.weight", x: att, rows: T, cols: c.qDim)
                mm.multiply(w.wo, x: att, nSeq: T, y: xb2)
                for j in 0..<(T * dim) { x[j] += xb2[j] }
                w.fn.withUnsafeBufferPointer { nw in for i in 0..<T { VectorOps.rmsNorm(x + i * dim, nw.baseAddress!, xb + i * dim, dim, eps: c.rmsEps) } }
                for n in ["ffn_gate", "ffn_up"] { im.accumulate(p + n + ".weight", x: xb, rows: T, cols: dim) }
                mm.multiply(w.gate, x: xb, nSeq: T, y: hb)
                mm.multiply(w.up, x: xb, nSeq: T, y: hb2)
                VectorOps.swiglu(hb, hb2, hb, T * c.ffn)
                im.accumulate(p + "ffn_down.weight", x: hb, rows: T, cols: c.ffn)
                mm.multiply(w.down, x: hb, nSeq: T, y: xb2)
                for j in 0..<(T * dim) { x[j] += xb2[j] }
            }
        }
        progress?(chunks, chunks)
        return im
    }
}
