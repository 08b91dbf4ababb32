/// The ggml tensor element types that appear in GGUF files, with their block layouts.
///
/// Each case's layout, conversions and kernels are its `FormatTraits` entry (`traits`, in
/// `Formats/`): the properties here read that table.
///
/// Raw values are ggml's `enum ggml_type` numbers, as stored in GGUF tensor infos.
public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q5_0 = 6
    case q5_1 = 7
    case q8_0 = 8
    case q8_1 = 9
    case q2_K = 10
    case q3_K = 11
    case q4_K = 12
    case q5_K = 13
    case q6_K = 14
    case q8_K = 15
    case bf16 = 30

    /// Elements per block (1 for the plain float types).
    public var blockSize: Int { traits.blockSize }

    /// Bytes per block, as ggml lays them out.
    public var bytesPerBlock: Int { traits.bytesPerBlock }

    /// Bits per weight, for size reports.
    public var bitsPerWeight: Double { Double(bytesPerBlock * 8) / Double(blockSize) }

    /// Bytes taken by `count` elements; `count` must be a multiple of `blockSize`.
    public func byteCount(elements count: Int) -> Int { count / blockSize * bytesPerBlock }

    /// The type named `name` as llama.cpp prints it (`q4_K`, `f16`, ...), case-insensitively.
    public init?(name: String) {
        guard let t = GGMLType.allCases.first(where: { $0.description.lowercased() == name.lowercased() }) else { return nil }
        self = t
    }

    /// The name llama.cpp prints for the type (`q4_K`, `f16`, ...).
    public var description: String { traits.name }
}
