/// GPT-2's reversible byte ↔ character mapping: printable Latin-1 bytes stand for themselves, the other 68 bytes
/// are shifted to U+0100 and up, so every byte string is spelled with visible characters.
enum ByteLevel {
    /// Byte → the scalar that spells it.
    static let byteToScalar: [UInt32] = {
        var map = [UInt32](repeating: 0, count: 256)
        var shifted: UInt32 = 0
        for b in 0..<256 {
            if (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) {
                map[b] = UInt32(b)
            } else {
                map[b] = 256 + shifted
                shifted += 1
            }
        }
        return map
    }()

    /// Scalar (below U+0200) → byte, or -1.
    static let scalarToByte: [Int16] = {
        var inv = [Int16](repeating: -1, count: 0x200)
        for b in 0..<256 { inv[Int(byteToScalar[b])] = Int16(b) }
        return inv
    }()

    /// Appends the byte-level spelling of `bytes` (UTF-8 of the mapped scalars) to `out`.
    @inline(__always)
    static func encode(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        for b in bytes {
            let s = byteToScalar[Int(b)]
            if s < 0x80 {
                out.append(UInt8(s))
            } else {
                out.append(UInt8(0xC0 | (s >> 6)))
                out.append(UInt8(0x80 | (s & 0x3F)))
            }
        }
    }

    /// Decodes a byte-level token text to raw bytes, appended to `out`. Characters outside the mapping are kept
    /// as their UTF-8.
    static func decode(_ text: String, into out: inout [UInt8]) {
        var t = text
        t.withUTF8 { u in
            var i = 0
            let n = u.count
            while i < n {
                let b0 = u[i]
                if b0 < 0x80 {
                    let v = scalarToByte[Int(b0)]
                    if v >= 0 { out.append(UInt8(v)) } else { out.append(b0) }
                    i += 1
                } else if b0 >= 0xC0 && b0 < 0xE0 && i + 1 < n {
                    let scalar = (Int(b0) & 0x1F) << 6 | (Int(u[i + 1]) & 0x3F)
                    if scalar < 0x200, scalarToByte[scalar] >= 0 {
                        out.append(UInt8(scalarToByte[scalar]))
                    } else {
                        out.append(b0)
                        out.append(u[i + 1])
                    }
                    i += 2
                } else {
                    out.append(b0)
                    i += 1
                }
            }
        }
    }
}
