import Foundation
import Inference

/// The compact binary layout of a sample's soft targets (top-k log-probabilities per generated token),
/// stored in `tokenmill.distill_samples.soft_targets` and concatenated into the export's sidecar file.
///
/// Little-endian throughout:
/// ```
/// header (16 bytes): "TMST" | version u16 = 1 | k u16 | temperature f32 | tokens u32
/// per token (8 + 8k bytes): token id i32 | its logprob f32 | k × (id i32, logprob f32), most likely first
/// ```
/// Tokens the engine injected (budget forcing) were not sampled: their logprob is NaN and their k
/// entries have id -1 and logprob NaN.
public struct SoftTargets: Equatable, Sendable {
    public static let magic: [UInt8] = Array("TMST".utf8)
    public var k: Int
    public var temperature: Float
    /// One entry per generated token.
    public var tokens: [Int32]
    /// Per token: the chosen token's logprob and the top k (id, logprob); nil for injected tokens.
    public var entries: [Entry?]

    /// One token's soft target.
    public struct Entry: Equatable, Sendable {
        public var logprob: Float
        public var top: [TokenLogprob]
        public init(logprob: Float, top: [TokenLogprob]) {
            self.logprob = logprob
            self.top = top
        }
        public init(_ l: Logprobs) {
            self.init(logprob: l.chosen.logprob, top: l.top)
        }
    }

    public init(k: Int, temperature: Float, tokens: [Int32], entries: [Entry?]) {
        precondition(tokens.count == entries.count)
        self.k = k
        self.temperature = temperature
        self.tokens = tokens
        self.entries = entries
    }

    public var encoded: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16 + tokens.count * (8 + 8 * k))
        out += SoftTargets.magic
        append(&out, UInt16(1))
        append(&out, UInt16(k))
        append(&out, temperature.bitPattern)
        append(&out, UInt32(tokens.count))
        for (t, e) in zip(tokens, entries) {
            append(&out, UInt32(bitPattern: t))
            append(&out, (e?.logprob ?? .nan).bitPattern)
            for j in 0..<k {
                let top = e.flatMap { j < $0.top.count ? $0.top[j] : nil }
                append(&out, UInt32(bitPattern: top?.token ?? -1))
                append(&out, (top?.logprob ?? .nan).bitPattern)
            }
        }
        return out
    }

    /// Parses `encoded` bytes; throws on a wrong magic, version or length.
    public init(decoding bytes: [UInt8]) throws {
        guard bytes.count >= 16, Array(bytes[0..<4]) == SoftTargets.magic else { throw SoftTargetsError("not a soft-targets blob") }
        func u16(_ o: Int) -> UInt16 { UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8 }
        func u32(_ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[o + $1]) << (8 * $1) } }
        guard u16(4) == 1 else { throw SoftTargetsError("unsupported soft-targets version \(u16(4))") }
        k = Int(u16(6))
        temperature = Float(bitPattern: u32(8))
        let n = Int(u32(12))
        let stride = 8 + 8 * k
        guard bytes.count == 16 + n * stride else { throw SoftTargetsError("soft-targets blob has \(bytes.count) bytes, expected \(16 + n * stride)") }
        tokens = []
        entries = []
        for i in 0..<n {
            let o = 16 + i * stride
            tokens.append(Int32(bitPattern: u32(o)))
            let lp = Float(bitPattern: u32(o + 4))
            if lp.isNaN {
                entries.append(nil)
                continue
            }
            var top: [TokenLogprob] = []
            for j in 0..<k {
                let id = Int32(bitPattern: u32(o + 8 + 8 * j))
                if id >= 0 { top.append(TokenLogprob(token: id, logprob: Float(bitPattern: u32(o + 12 + 8 * j)))) }
            }
            entries.append(Entry(logprob: lp, top: top))
        }
    }

    private func append<T: FixedWidthInteger>(_ out: inout [UInt8], _ v: T) {
        withUnsafeBytes(of: v.littleEndian) { out += $0 }
    }
}

public struct SoftTargetsError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
