/// Character classes the pre-tokenizers need, per Unicode scalar value.
///
/// Letters are general category L*, numbers N*, marks M*, punctuation P*, symbols S*.
/// Whitespace is the set the reference tokenizers treat as `\s`: ASCII 9–13 and 32, U+0085, U+00A0,
/// U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F and U+3000 (not Unicode's full White_Space set).
enum CharClass {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let whitespace: UInt8 = 4
    static let punctuation: UInt8 = 8
    static let symbol: UInt8 = 16
    static let mark: UInt8 = 32

    /// Classes of the Basic Multilingual Plane, computed once.
    private static let bmp: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 0x10000)
        for cp in 0..<0x10000 {
            table[cp] = compute(UInt32(cp))
        }
        return table
    }()

    @inline(__always)
    static func of(_ cp: UInt32) -> UInt8 {
        if cp < 0x10000 { return bmp[Int(cp)] }
        return compute(cp)
    }

    static func isWhitespace(_ cp: UInt32) -> Bool {
        switch cp {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    static func compute(_ cp: UInt32) -> UInt8 {
        if isWhitespace(cp) { return whitespace }
        guard let scalar = Unicode.Scalar(cp) else { return 0 }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return number
        case .nonspacingMark, .spacingMark, .enclosingMark:
            return mark
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return punctuation
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return symbol
        default:
            return 0
        }
    }
}
