import Foundation

/// Relation operators of an (in)equation.
public enum RelationOp: String, Sendable {
    case eq = "=", ne = "≠", lt = "<", le = "≤", gt = ">", ge = "≥"

    /// The operator seen from the other side: `a < b` is `b > a`.
    var flipped: RelationOp {
        switch self {
        case .eq: return .eq
        case .ne: return .ne
        case .lt: return .gt
        case .le: return .ge
        case .gt: return .lt
        case .ge: return .le
        }
    }
}

/// An answer parsed into a tree: numbers, symbols, arithmetic, functions, relations and the
/// containers answers come in (tuples, sets, intervals, matrices) plus free text.
public indirect enum MathExpr: Sendable, CustomStringConvertible {
    /// An exact number (integers, fractions written as `\frac{}{}` or `a/b`).
    case rational(Rational)
    /// A number written with a decimal point (compared with rounding, see `Equivalence`).
    case float(Double)
    /// An integer too large for 64 bits, as its digits (optional "-", no leading zeros).
    case bigInteger(String)
    case symbol(String)
    case pi, e, infinity
    case add([MathExpr])
    case mul([MathExpr])
    case pow(MathExpr, MathExpr)
    case function(String, [MathExpr])
    /// `x%`: the value x/100, remembered as a percentage.
    case percent(MathExpr)
    /// A chain `a op b op c ...` (`ops.count == terms.count - 1`).
    case relation([MathExpr], [RelationOp])
    case tuple([MathExpr])
    case set([MathExpr])
    case interval(MathExpr, MathExpr, leftOpen: Bool, rightOpen: Bool)
    case union([MathExpr])
    case matrix([[MathExpr]])
    /// Free text (`\text{Paris}`), lower-cased with spaces and parentheses removed.
    case text(String)

    static func int(_ n: Int) -> MathExpr { .rational(Rational(n)) }
    static func neg(_ x: MathExpr) -> MathExpr {
        if case .rational(let r) = x, let n = r.negated { return .rational(n) }
        if case .float(let d) = x { return .float(-d) }
        if case .bigInteger(let s) = x { return .bigInteger(s.hasPrefix("-") ? String(s.dropFirst()) : "-" + s) }
        return .mul([.int(-1), x])
    }

    public var description: String {
        switch self {
        case .rational(let r): return r.isInteger ? "\(r.num)" : "\(r.num)/\(r.den)"
        case .float(let d): return "\(d)"
        case .bigInteger(let digits): return digits
        case .symbol(let s): return s
        case .pi: return "pi"
        case .e: return "E"
        case .infinity: return "oo"
        case .add(let xs): return "(" + xs.map(\.description).joined(separator: " + ") + ")"
        case .mul(let xs): return xs.map(\.description).joined(separator: "*")
        case .pow(let a, let b): return "(\(a))^(\(b))"
        case .function(let f, let xs): return f + "(" + xs.map(\.description).joined(separator: ", ") + ")"
        case .percent(let x): return "\(x)%"
        case .relation(let ts, let ops):
            var s = ts[0].description
            for (i, op) in ops.enumerated() { s += " \(op.rawValue) \(ts[i + 1])" }
            return s
        case .tuple(let xs): return "(" + xs.map(\.description).joined(separator: ", ") + ")"
        case .set(let xs): return "{" + xs.map(\.description).joined(separator: ", ") + "}"
        case .interval(let a, let b, let lo, let ro): return (lo ? "(" : "[") + "\(a), \(b)" + (ro ? ")" : "]")
        case .union(let xs): return xs.map(\.description).joined(separator: " ∪ ")
        case .matrix(let rows): return "[" + rows.map { $0.map(\.description).joined(separator: ", ") }.joined(separator: "; ") + "]"
        case .text(let t): return "\"\(t)\""
        }
    }

    /// Whether this is a container (set, tuple, interval, union, matrix) rather than a value.
    var isContainer: Bool {
        switch self {
        case .tuple, .set, .interval, .union, .matrix: return true
        default: return false
        }
    }

    var isRelation: Bool { if case .relation = self { return true }; return false }

    /// The free variables of a value expression (symbols), up to a small cap.
    func freeSymbols(into out: inout Set<String>) {
        guard out.count < 16 else { return }
        switch self {
        case .symbol(let s): out.insert(s)
        case .add(let xs), .mul(let xs), .function(_, let xs), .tuple(let xs), .set(let xs), .union(let xs):
            for x in xs { x.freeSymbols(into: &out) }
        case .relation(let xs, _): for x in xs { x.freeSymbols(into: &out) }
        case .pow(let a, let b), .interval(let a, let b, _, _): a.freeSymbols(into: &out); b.freeSymbols(into: &out)
        case .percent(let x): x.freeSymbols(into: &out)
        case .matrix(let rows): for r in rows { for x in r { x.freeSymbols(into: &out) } }
        default: break
        }
    }

    var freeSymbols: Set<String> { var s = Set<String>(); freeSymbols(into: &s); return s }

    /// The exact value of a constant expression built from rationals with +, ×, integer powers
    /// and percent; nil when it has anything else or overflows.
    var exactValue: Rational? {
        switch self {
        case .rational(let r): return r
        case .percent(let x): return x.exactValue.flatMap { $0 * Rational(1, 100)! }
        case .add(let xs):
            var acc = Rational(0)
            for x in xs { guard let v = x.exactValue, let s = acc + v else { return nil }; acc = s }
            return acc
        case .mul(let xs):
            var acc = Rational(1)
            for x in xs { guard let v = x.exactValue, let p = acc * v else { return nil }; acc = p }
            return acc
        case .pow(let a, let b):
            guard let base = a.exactValue, let ex = b.exactValue, ex.isInteger else { return nil }
            if base.num == 0 && ex.num <= 0 { return nil }
            return base.power(ex.num)
        case .function("factorial", let xs):
            guard xs.count == 1, let v = xs[0].exactValue, v.isInteger, v.num >= 0, v.num <= 20 else { return nil }
            return Rational((1...max(v.num, 1)).reduce(1, *))
        case .function("binomial", let xs):
            guard xs.count == 2, let n = xs[0].exactValue, let k = xs[1].exactValue, n.isInteger, k.isInteger,
                  k.num >= 0, n.num >= k.num, n.num <= 60 else { return nil }
            var r = 1
            for i in 0..<k.num { r = r * (n.num - i) / (i + 1) }
            return Rational(r)
        default: return nil
        }
    }

    /// The numeric value with `env` giving each free symbol's value; nil for containers, text,
    /// unknown functions or when the evaluation budget runs out. NaN marks an undefined value.
    func evaluate(_ env: [String: Double], budget: inout Int) -> Double? {
        budget -= 1
        if budget < 0 { return nil }
        switch self {
        case .rational(let r): return r.double
        case .float(let d): return d
        case .bigInteger(let s): return Double(s)
        case .symbol(let s): return env[s]
        case .pi: return Double.pi
        case .e: return M_E
        case .infinity: return Double.infinity
        case .percent(let x): return x.evaluate(env, budget: &budget).map { $0 / 100 }
        case .add(let xs):
            var s = 0.0
            for x in xs { guard let v = x.evaluate(env, budget: &budget) else { return nil }; s += v }
            return s
        case .mul(let xs):
            var p = 1.0
            for x in xs { guard let v = x.evaluate(env, budget: &budget) else { return nil }; p *= v }
            return p
        case .pow(let a, let b):
            guard let x = a.evaluate(env, budget: &budget), let y = b.evaluate(env, budget: &budget) else { return nil }
            if x < 0, y != y.rounded() {
                // Real odd roots of negative numbers: (-8)^(1/3) = -2.
                let inv = 1 / y
                if abs(inv - inv.rounded()) < 1e-9, Int(inv.rounded()) % 2 != 0 { return -Foundation.pow(-x, y) }
                return .nan
            }
            return Foundation.pow(x, y)
        case .function(let f, let xs):
            var args = [Double]()
            for x in xs { guard let v = x.evaluate(env, budget: &budget) else { return nil }; args.append(v) }
            return MathExpr.apply(f, args)
        default: return nil
        }
    }

    static func apply(_ f: String, _ a: [Double]) -> Double? {
        if a.count == 2 {
            switch f {
            case "log": return Foundation.log(a[0]) / Foundation.log(a[1])
            case "binomial":
                guard a[0] >= 0, a[1] >= 0, a[0] >= a[1], a[0] < 171 else { return .nan }
                return Foundation.tgamma(a[0] + 1) / (Foundation.tgamma(a[1] + 1) * Foundation.tgamma(a[0] - a[1] + 1))
            case "root": return a[1] < 0 && abs(a[0].truncatingRemainder(dividingBy: 2)) == 1
                ? -Foundation.pow(-a[1], 1 / a[0]) : Foundation.pow(a[1], 1 / a[0])
            default: return nil
            }
        }
        guard a.count == 1 else { return nil }
        let x = a[0]
        switch f {
        case "sin": return Foundation.sin(x)
        case "cos": return Foundation.cos(x)
        case "tan": return Foundation.tan(x)
        case "sec": return 1 / Foundation.cos(x)
        case "csc": return 1 / Foundation.sin(x)
        case "cot": return 1 / Foundation.tan(x)
        case "asin": return Foundation.asin(x)
        case "acos": return Foundation.acos(x)
        case "atan": return Foundation.atan(x)
        case "acot": return Foundation.atan(1 / x)
        case "sinh": return Foundation.sinh(x)
        case "cosh": return Foundation.cosh(x)
        case "tanh": return Foundation.tanh(x)
        case "exp": return Foundation.exp(x)
        case "ln": return Foundation.log(x)
        case "sqrt": return Foundation.sqrt(x)
        case "abs": return Swift.abs(x)
        case "floor": return Foundation.floor(x)
        case "ceil": return Foundation.ceil(x)
        case "factorial": return x < 0 || x != x.rounded() || x > 170 ? .nan : Foundation.tgamma(x + 1)
        default: return nil
        }
    }
}
