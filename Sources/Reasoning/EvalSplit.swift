/// The fixed rule that splits an evaluation set into a fit half (policies and the difficulty
/// estimator are fitted on it) and a held-out half (everything is reported on it).
///
/// The half depends on the item id alone: the low bit of the 64-bit FNV-1a hash of its UTF-8 bytes
/// after MurmurHash3's 64-bit finaliser (FNV-1a alone leaves the low and middle bits nearly
/// unchanged by the last characters, so ids that differ only in a counter would fall together).
/// `ops/prompts/make_eval.py` applies the same rule and writes it into each item's `split`.
public enum EvalSplit: String, Sendable, Codable, CaseIterable {
    case fit
    case heldout

    /// The half of the item with this id.
    public init(itemID: String) {
        self = EvalSplit.hash(itemID) & 1 == 0 ? .fit : .heldout
    }

    /// Parses `fit` / `heldout` (also `held-out`, `held_out`).
    public init?(name: String) {
        switch name.lowercased() {
        case "fit": self = .fit
        case "heldout", "held-out", "held_out": self = .heldout
        default: return nil
        }
    }

    /// FNV-1a (64-bit) of `text`'s UTF-8 bytes, then MurmurHash3's `fmix64`.
    public static func hash(_ text: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        h ^= h >> 33
        h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h = h &* 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }
}

/// A binomial proportion with its Wilson score interval (95% by default), which stays inside [0, 1]
/// and is sensible for small counts and proportions near 0 or 1.
public struct WilsonInterval: Sendable, Equatable {
    public var successes: Int
    public var trials: Int
    public var low: Double
    public var high: Double

    /// - Parameter z: the normal quantile (1.959964 for 95%).
    public init(successes: Int, trials: Int, z: Double = 1.959964) {
        self.successes = successes
        self.trials = trials
        guard trials > 0 else { low = 0; high = 1; return }
        let n = Double(trials), p = Double(successes) / n, z2 = z * z
        let centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        let half = z * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot() / (1 + z2 / n)
        low = max(0, centre - half)
        high = min(1, centre + half)
    }

    /// The observed proportion (0 when there are no trials).
    public var proportion: Double { trials > 0 ? Double(successes) / Double(trials) : 0 }
}
