/// An exact fraction of 64-bit integers, reduced, with a positive denominator. Every operation
/// returns nil on overflow so callers fall back to floating point instead of trapping.
public struct Rational: Hashable, Sendable {
    public let num: Int
    public let den: Int

    public init(_ n: Int) { num = n; den = 1 }

    public init?(_ n: Int, _ d: Int) {
        guard d != 0, n != Int.min, d != Int.min else { return nil }
        let g = Rational.gcd(abs(n), abs(d))
        let s = d < 0 ? -1 : 1
        num = s * n / max(g, 1)
        den = s * d / max(g, 1)
    }

    /// A decimal literal such as "12.50" exactly, when it fits.
    init?(decimal text: String) {
        var s = Substring(text)
        var negative = false
        if s.hasPrefix("-") { negative = true; s = s.dropFirst() }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, !(parts.allSatisfy(\.isEmpty)) else { return nil }
        var n = 0, d = 1
        for c in parts[0] {
            guard let v = c.wholeNumberValue else { return nil }
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(v)
            if o1 || o2 { return nil }
            n = a
        }
        if parts.count == 2 {
            for c in parts[1] {
                guard let v = c.wholeNumberValue else { return nil }
                let (m, o1) = n.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(v)
                let (dd, o3) = d.multipliedReportingOverflow(by: 10)
                if o1 || o2 || o3 { return nil }
                n = a; d = dd
            }
        }
        guard let r = Rational(negative ? -n : n, d) else { return nil }
        self = r
    }

    public var isInteger: Bool { den == 1 }
    public var double: Double { Double(num) / Double(den) }

    static func gcd(_ a: Int, _ b: Int) -> Int {
        var (x, y) = (a, b)
        while y != 0 { (x, y) = (y, x % y) }
        return x
    }

    static func + (a: Rational, b: Rational) -> Rational? {
        let (l, o1) = a.num.multipliedReportingOverflow(by: b.den)
        let (r, o2) = b.num.multipliedReportingOverflow(by: a.den)
        let (n, o3) = l.addingReportingOverflow(r)
        let (d, o4) = a.den.multipliedReportingOverflow(by: b.den)
        if o1 || o2 || o3 || o4 { return nil }
        return Rational(n, d)
    }

    static func * (a: Rational, b: Rational) -> Rational? {
        let g1 = max(gcd(abs(a.num), b.den), 1), g2 = max(gcd(abs(b.num), a.den), 1)
        let (n, o1) = (a.num / g1).multipliedReportingOverflow(by: b.num / g2)
        let (d, o2) = (a.den / g2).multipliedReportingOverflow(by: b.den / g1)
        if o1 || o2 { return nil }
        return Rational(n, d)
    }

    var negated: Rational? { num == Int.min ? nil : Rational(-num, den) }
    var inverse: Rational? { num == 0 ? nil : Rational(den, num) }

    /// `self` to an integer power (|n| ≤ 256), nil on overflow.
    func power(_ n: Int) -> Rational? {
        guard abs(n) <= 256 else { return nil }
        if n < 0 { return inverse?.power(-n) }
        var result = Rational(1), base = self, e = n
        while e > 0 {
            if e & 1 == 1 { guard let r = result * base else { return nil }; result = r }
            e >>= 1
            if e > 0 { guard let b = base * base else { return nil }; base = b }
        }
        return result
    }
}
