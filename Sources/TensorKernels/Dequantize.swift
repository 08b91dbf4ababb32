/// Converts rows of any supported `GGMLType` to `Float`.
///
/// Block layouts are those of ggml (`ggml-common.h`); results equal ggml's `dequantize_row_*`.
/// Each format's dequantiser is in its file under `Formats/` (`FormatTraits.dequantize`).
public enum Dequantize {
    /// Writes `count` floats decoded from `src` (laid out as `type`) to `dst`.
    /// `count` must be a multiple of `type.blockSize`.
    public static func row(_ type: GGMLType, _ src: UnsafeRawPointer, into dst: UnsafeMutablePointer<Float>, count: Int) {
        precondition(count % type.blockSize == 0, "Dequantize.row: \(count) is not a multiple of \(type)'s block size \(type.blockSize)")
        type.traits.dequantize(src, dst, count)
    }
}
