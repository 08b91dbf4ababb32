/// The project's one seeded random generator: the sampler's seeding, the tiny models' weights and
/// the tests' pseudo-random inputs.
/// SplitMix64: small, and the same sequence on every platform.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1) with 24 bits.
    public mutating func nextUnit() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }
    /// Uniform in [-1, 1).
    public mutating func nextSymmetric() -> Float { nextUnit() * 2 - 1 }
}
