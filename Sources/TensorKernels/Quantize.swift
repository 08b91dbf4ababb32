/// Converts float rows to ggml's quantized block formats.
///
/// Without `importance` the output is byte-for-byte what llama.cpp's reference quantizers
/// (`quantize_row_*_ref`, reached through `ggml_quantize_chunk` with no imatrix) produce: the
/// same search for scales and mins, the same float evaluation order, the same rounding.
/// With `importance` (an imatrix row: per-column mean squared activation, `count` values) the
/// error is weighted like ggml's `quantize_row_*_impl(..., quant_weights)`; `count` is then the
/// length of one tensor row, because the Q4_0/Q4_1/Q5_0/Q5_1 weighting uses the whole row's
/// variance.
///
/// Each format's quantiser is in its file under `Formats/` (`FormatTraits.quantize`,
/// `quantizeWeighted`); the scale searches they share are in `Formats/QuantHelpers.swift`.
public enum Quantize {
    /// Types `row` can produce (those whose `FormatTraits` have a quantiser).
    public static let supportedTypes: [GGMLType] = GGMLType.allCases.filter { $0.traits.quantize != nil }

    /// Quantizes `count` floats at `src` into `type.byteCount(elements: count)` bytes at `dst`.
    /// `count` must be a multiple of `type.blockSize`; `importance`, when given, holds `count` weights.
    /// Q8_0, Q8_K and the float types ignore `importance` (as ggml does).
    public static func row(_ type: GGMLType, _ src: UnsafePointer<Float>, into dst: UnsafeMutableRawPointer,
                           count: Int, importance: UnsafePointer<Float>? = nil) {
        precondition(count % type.blockSize == 0, "Quantize.row: \(count) is not a multiple of \(type)'s block size \(type.blockSize)")
        guard let quantize = type.traits.quantize else {
            fatalError("Quantize.row: \(type) is an activation-only format; not supported")
        }
        if let importance, let weighted = type.traits.quantizeWeighted {
            weighted(src, dst, count, importance)
        } else {
            quantize(src, dst, count)
        }
    }

    /// Quantizes a `rows × cols` float matrix (row-major) into `dst` (`rows · type.byteCount(elements: cols)`
    /// bytes), rows spread over `pool`'s threads. `importance` (one value per column) applies to
    /// every row, as llama-quantize applies an imatrix entry to a tensor.
    public static func matrix(_ type: GGMLType, _ src: UnsafePointer<Float>, rows: Int, cols: Int,
                              into dst: UnsafeMutableRawPointer, importance: UnsafePointer<Float>? = nil,
                              pool: ComputePool? = nil) {
        let rowBytes = type.byteCount(elements: cols)
        let work = { (r: Int) in
            row(type, src + r * cols, into: dst + r * rowBytes, count: cols, importance: importance)
        }
        if let pool = pool {
            let chunk = 16
            pool.parallelFor((rows + chunk - 1) / chunk) { c in
                for r in (c * chunk)..<min(rows, (c + 1) * chunk) { work(r) }
            }
        } else {
            for r in 0..<rows { work(r) }
        }
    }
}
