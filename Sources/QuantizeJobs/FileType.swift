import Foundation
import TensorKernels

/// A model file type ("ftype"): the mix of tensor types llama-quantize produces for one name
/// (`Q4_K_M` is mostly Q4_K with some tensors in Q6_K, ...).
///
/// Raw values are llama.cpp's `enum llama_ftype` numbers, stored in `general.file_type`.
public enum QuantFileType: Int, Sendable, CaseIterable, CustomStringConvertible, Codable {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q8_0 = 7
    case q5_0 = 8
    case q5_1 = 9
    case q2_K = 10
    case q3_K_S = 11
    case q3_K_M = 12
    case q3_K_L = 13
    case q4_K_S = 14
    case q4_K_M = 15
    case q5_K_S = 16
    case q5_K_M = 17
    case q6_K = 18
    case bf16 = 32

    /// llama-quantize's name for the type (`Q4_K_M`, `F16`, ...).
    public var name: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q2_K: return "Q2_K"
        case .q3_K_S: return "Q3_K_S"
        case .q3_K_M: return "Q3_K_M"
        case .q3_K_L: return "Q3_K_L"
        case .q4_K_S: return "Q4_K_S"
        case .q4_K_M: return "Q4_K_M"
        case .q5_K_S: return "Q5_K_S"
        case .q5_K_M: return "Q5_K_M"
        case .q6_K: return "Q6_K"
        }
    }

    public var description: String { name }

    /// The tensor type most weight matrices get (before the per-tensor rules).
    public var baseType: GGMLType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        case .q5_0: return .q5_0
        case .q5_1: return .q5_1
        case .q8_0: return .q8_0
        case .q2_K: return .q2_K
        case .q3_K_S, .q3_K_M, .q3_K_L: return .q3_K
        case .q4_K_S, .q4_K_M: return .q4_K
        case .q5_K_S, .q5_K_M: return .q5_K
        case .q6_K: return .q6_K
        }
    }

    /// True for the types whose base type is a quantized block format (the per-tensor rules apply).
    public var isQuantized: Bool { ![.f32, .f16, .bf16].contains(baseType) }

    /// Parses llama-quantize's type name, case-insensitively (`q4_k_m`, `Q4_K_M`); also accepts the ftype number.
    public static func parse(_ s: String) throws -> QuantFileType {
        let t = s.trimmingCharacters(in: .whitespaces).uppercased()
        if let n = Int(t), let f = QuantFileType(rawValue: n) { return f }
        if let f = allCases.first(where: { $0.name == t }) { return f }
        throw QuantizeError.unknownType(s)
    }

    /// The file type whose tensors mostly have type `t` (for describing a source file without `general.file_type`).
    public static func mostly(_ t: GGMLType) -> QuantFileType? {
        switch t {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        case .q5_0: return .q5_0
        case .q5_1: return .q5_1
        case .q8_0: return .q8_0
        case .q2_K: return .q2_K
        case .q3_K: return .q3_K_S
        case .q4_K: return .q4_K_S
        case .q5_K: return .q5_K_S
        case .q6_K: return .q6_K
        default: return nil
        }
    }
}

/// Errors of quantization, imatrix collection and evaluation, with messages a user can act on.
public enum QuantizeError: Error, CustomStringConvertible, Sendable, Equatable {
    case unknownType(String)
    case notAModel(String)
    case requantizeNotAllowed(path: String, tensor: String, type: String)
    case unsupportedSourceType(tensor: String, type: String)
    case textTooShort(tokens: Int, needed: Int)
    case badImatrix(String)
    case mismatch(String)
    case io(String)

    public var description: String {
        switch self {
        case let .unknownType(s):
            return "unknown quantization type '\(s)'; known: \(QuantFileType.allCases.map(\.name).joined(separator: ", "))"
        case let .notAModel(m): return "not a model: \(m)"
        case let .requantizeNotAllowed(p, t, ty):
            return "\(p): tensor '\(t)' is already quantized (\(ty)); pass --allow-requantize (allow_requantize: true) to dequantize and requantize it, which loses quality"
        case let .unsupportedSourceType(t, ty): return "tensor '\(t)' has type \(ty), which cannot be converted"
        case let .textTooShort(n, need):
            return "evaluation text has \(n) tokens, fewer than the \(need) needed (one context window plus one); use a longer text or a smaller context"
        case let .badImatrix(m): return "bad importance matrix: \(m)"
        case let .mismatch(m): return m
        case let .io(m): return m
        }
    }
}
