import Foundation

/// Decides whether a predicted answer equals the gold answer, by Math-Verify's rules:
///
/// - numbers: a decimal literal on either side → both rounded to 6 decimals (`rounded`)
///   and compared, except against an integer literal, which must match exactly; integers and
///   fractions exactly; a percentage equals its number (`50\%` = 50) and its fraction (`50\%` = 1/2);
/// - other constant expressions by value, to 10⁻¹⁰ relative (`2^{10}` = 1024, `\sqrt{8}` = `2\sqrt2`);
/// - expressions with variables by evaluation at several fixed pseudo-random points of their
///   free variables (both sides undefined at a point: skipped; one side only: not equal);
/// - a lone symbol or `\text{}` against another by name (case-insensitive past one letter);
/// - relations by `lhs - rhs` (inequalities also flipped: `x > 2` = `2 < x`); an answer
///   `x = 4` against a gold 4 by its right side only when the left side is a lone variable;
/// - sets unordered, tuples ordered, elementwise; a value against a set as a one-element set;
///   intervals by their ends and openness (an open interval equals the pair `(a, b)`); a gold
///   inequality in one variable against a predicted interval or set as the set it describes;
/// - matrices by shape and elementwise.
struct Equivalence {
    var limits: VerifierLimits
    /// Evaluation steps left for this pair.
    var budget: Int

    init(limits: VerifierLimits) {
        self.limits = limits
        self.budget = limits.evaluationBudget
    }

    mutating func equal(gold g0: MathExpr, pred p0: MathExpr, depth: Int = 0) -> Bool {
        guard depth < 32, budget > 0 else { return false }
        var gold = g0, pred = p0
        let goldAssign = Equivalence.assignment(gold), predAssign = Equivalence.assignment(pred)
        if let a = goldAssign { gold = .relation([a.lhs, a.rhs], [.eq]) }
        if let a = predAssign { pred = .relation([a.lhs, a.rhs], [.eq]) }
        if Equivalence.isEquation(pred) && !Equivalence.isEquation(gold) {
            if let a = predAssign { pred = a.rhs } else if let r = trueIdentity(pred) { pred = r }
        } else if let a = goldAssign, !Equivalence.isEquation(pred) {
            gold = a.rhs
        }
        if gold.isRelation, pred.isContainer, let s = Equivalence.relationAsSet(gold) { gold = s }

        if gold.isRelation && pred.isRelation { return relations(gold, pred, depth) }
        if gold.isRelation || pred.isRelation { return false }
        if gold.isContainer || pred.isContainer { return containers(gold, pred, depth) }
        return values(gold, pred)
    }

    // MARK: relations

    /// `lhs = rhs` whose left side is a lone variable or a name (`x = 4`, `x = 2 + 2 = 4`,
    /// `\text{Area} = 6`): (lhs, last rhs).
    static func assignment(_ e: MathExpr) -> (lhs: MathExpr, rhs: MathExpr)? {
        guard case .relation(let ts, let ops) = e, ops.allSatisfy({ $0 == .eq }) else { return nil }
        switch ts[0] {
        case .symbol, .text: return (ts[0], ts[ts.count - 1])
        default: return nil
        }
    }

    /// The last side of a true numeric identity (`5! = 120`, `2 \times 3 = 6`); nil for a false
    /// one (`7 = 5`), which is never read as its right side.
    mutating func trueIdentity(_ e: MathExpr) -> MathExpr? {
        guard case .relation(let ts, let ops) = e, ops.allSatisfy({ $0 == .eq }), e.freeSymbols.isEmpty else { return nil }
        guard let first = constant(ts[0]) else { return nil }
        for t in ts.dropFirst() {
            guard let v = constant(t), Equivalence.close(first, v, tolerance: 1e-10) else { return nil }
        }
        return ts[ts.count - 1]
    }

    static func isEquation(_ e: MathExpr) -> Bool {
        if case .relation(_, let ops) = e { return ops.allSatisfy { $0 == .eq } }
        return false
    }

    mutating func relations(_ g: MathExpr, _ p: MathExpr, _ depth: Int) -> Bool {
        guard case .relation(let gt, let gops) = g, case .relation(let pt, let pops) = p, gops.count == pops.count else { return false }
        let forward = (0..<gops.count).allSatisfy { i in link(gt[i], gops[i], gt[i + 1], pt[i], pops[i], pt[i + 1], depth) }
        if forward { return true }
        // A chain read backwards: a < x < b against b > x > a.
        let n = gops.count
        return (0..<n).allSatisfy { i in
            link(gt[i], gops[i], gt[i + 1], pt[n - i], pops[n - 1 - i].flipped, pt[n - 1 - i], depth)
        }
    }

    mutating func link(_ gl: MathExpr, _ gop: RelationOp, _ gr: MathExpr, _ pl: MathExpr, _ pop: RelationOp, _ pr: MathExpr, _ depth: Int) -> Bool {
        let gd = MathExpr.add([gl, .neg(gr)])
        if pop == gop, values(gd, .add([pl, .neg(pr)])) { return true }
        if pop == gop.flipped, values(gd, .add([pr, .neg(pl)])) { return true }
        // Equations with the same solutions up to a constant factor: 2x + 3y = 6 and y = 2 - 2x/3.
        if gop == .eq, pop == .eq { return proportional(gd, .add([pl, .neg(pr)])) }
        return false
    }

    /// Whether a = k·b for one constant k ≠ 0 at every test point (both with variables).
    mutating func proportional(_ a: MathExpr, _ b: MathExpr) -> Bool {
        let symbols = a.freeSymbols.union(b.freeSymbols)
        guard !symbols.isEmpty, a.freeSymbols == b.freeSymbols else { return false }
        var ratio: Double?
        var checked = 0
        var ok = true
        forEachPoint(symbols.sorted()) { env, budget in
            guard let x = a.evaluate(env, budget: &budget), let y = b.evaluate(env, budget: &budget) else { ok = false; return false }
            guard x.isFinite, y.isFinite else { return true }
            if abs(y) < 1e-12 || abs(x) < 1e-12 {
                if !(abs(y) < 1e-12 && abs(x) < 1e-12) { ok = false }
                return ok
            }
            let r = x / y
            if let r0 = ratio, !Equivalence.close(r, r0, tolerance: 1e-8) { ok = false; return false }
            ratio = ratio ?? r
            checked += 1
            return true
        }
        return ok && checked >= 2
    }

    /// Calls `body` at the fixed pseudo-random points until it returns false.
    mutating func forEachPoint(_ symbols: [String], _ body: ([String: Double], inout Int) -> Bool) {
        var state: UInt64 = 0x9E3779B97F4A7C15
        for _ in 0..<limits.evaluationPoints {
            var env: [String: Double] = [:]
            for s in symbols {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let u = Double(state >> 11) / Double(1 << 53) * 6 - 3
                env[s] = abs(u) < 0.1 ? 0.37 : u
            }
            if !body(env, &budget) { return }
        }
    }

    /// `x > 2` as (2, ∞), `x = 3` as {3}, `-2 < x \le 3` as (-2, 3]: one variable, constant bounds.
    static func relationAsSet(_ e: MathExpr) -> MathExpr? {
        guard case .relation(let ts, let ops) = e else { return nil }
        let vars = ts.enumerated().filter { if case .symbol = $0.element { return true }; return false }
        guard vars.count == 1, e.freeSymbols.count == 1 else { return nil }
        let v = vars[0].offset
        var lo: MathExpr = .neg(.infinity), hi: MathExpr = .infinity
        var lOpen = true, rOpen = true
        func bound(_ op: RelationOp, other: MathExpr, otherOnRight: Bool) -> Bool {
            let o = otherOnRight ? op : op.flipped
            switch o {
            case .lt: hi = other; rOpen = true
            case .le: hi = other; rOpen = false
            case .gt: lo = other; lOpen = true
            case .ge: lo = other; lOpen = false
            case .eq: lo = other; hi = other
            case .ne: return false
            }
            return true
        }
        if ts.count == 2 {
            if ops[0] == .eq { return .set([ts[1 - v]]) }
            return bound(ops[0], other: ts[1 - v], otherOnRight: v == 0) ? .interval(lo, hi, leftOpen: lOpen, rightOpen: rOpen) : nil
        }
        guard ts.count == 3, v == 1, !ops.contains(.eq) else { return nil }
        guard bound(ops[0], other: ts[0], otherOnRight: false), bound(ops[1], other: ts[2], otherOnRight: true) else { return nil }
        return .interval(lo, hi, leftOpen: lOpen, rightOpen: rOpen)
    }

    // MARK: containers

    mutating func containers(_ gold: MathExpr, _ pred: MathExpr, _ depth: Int) -> Bool {
        switch (gold, pred) {
        case (.matrix(let a), .matrix(let b)):
            guard a.count == b.count, zip(a, b).allSatisfy({ $0.count == $1.count }) else { return false }
            return zip(a.joined(), b.joined()).allSatisfy { equal(gold: $0, pred: $1, depth: depth + 1) }
        case (.interval(let a0, let a1, let al, let ar), .interval(let b0, let b1, let bl, let br)):
            return al == bl && ar == br && equal(gold: a0, pred: b0, depth: depth + 1) && equal(gold: a1, pred: b1, depth: depth + 1)
        case (.interval(let a0, let a1, true, true), .tuple(let xs)) where xs.count == 2:
            return equal(gold: a0, pred: xs[0], depth: depth + 1) && equal(gold: a1, pred: xs[1], depth: depth + 1)
        case (.tuple(let xs), .interval(let b0, let b1, true, true)) where xs.count == 2:
            return equal(gold: xs[0], pred: b0, depth: depth + 1) && equal(gold: xs[1], pred: b1, depth: depth + 1)
        case (.union(let a), .union(let b)):
            return unordered(a, b, depth)
        case (.tuple(let a), .tuple(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { equal(gold: $0, pred: $1, depth: depth + 1) }
        case (.tuple(let a), .set(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { equal(gold: $0, pred: $1, depth: depth + 1) }
        case (.set(let a), .set(let b)), (.set(let a), .tuple(let b)):
            return unordered(a, b, depth)
        case (.set(let a), _) where !pred.isContainer:
            return unordered(a, [pred], depth)
        case (_, .set(let b)) where !gold.isContainer:
            return unordered([gold], b, depth)
        default:
            return false
        }
    }

    /// Same size and a one-to-one pairing of equal elements (greedy, in order).
    mutating func unordered(_ a: [MathExpr], _ b: [MathExpr], _ depth: Int) -> Bool {
        guard a.count == b.count, a.count <= limits.maxSetSize else { return false }
        var used = [Bool](repeating: false, count: b.count)
        for x in a {
            var found = false
            for (j, y) in b.enumerated() where !used[j] {
                if equal(gold: x, pred: y, depth: depth + 1) { used[j] = true; found = true; break }
            }
            if !found { return false }
        }
        return true
    }

    // MARK: values

    enum Atom { case integer, rational, float }

    /// The literal kind of a number as written (a percentage counts as its number).
    static func atom(_ e: MathExpr) -> Atom? {
        switch e {
        case .rational(let r): return r.isInteger ? .integer : .rational
        case .bigInteger: return .integer
        case .float: return .float
        case .percent(let x): return atom(x)
        default: return nil
        }
    }

    static func stripPercent(_ e: MathExpr) -> MathExpr {
        if case .percent(let x) = e { return x }
        return e
    }

    /// A name for symbol-like answers: a symbol, free text, or a product of symbols read as a word.
    static func name(_ e: MathExpr) -> String? {
        switch e {
        case .symbol(let s), .text(let s): return s.count > 1 ? s.lowercased() : s
        case .e: return "e"
        case .mul(let xs):
            var s = ""
            for x in xs {
                switch x {
                case .symbol(let n): s += n
                case .e: s += "e"
                default: return nil
                }
            }
            return s.lowercased()
        default: return nil
        }
    }

    static func isNamed(_ e: MathExpr) -> Bool {
        switch e {
        case .symbol, .text: return true
        default: return false
        }
    }

    mutating func values(_ gold: MathExpr, _ pred: MathExpr) -> Bool {
        if Equivalence.isNamed(gold) || Equivalence.isNamed(pred) {
            guard let a = Equivalence.name(gold), let b = Equivalence.name(pred) else { return false }
            return a.count > 1 || b.count > 1 ? a.lowercased() == b.lowercased() : a == b
        }
        if case .text = gold { return false }
        let ga = Equivalence.atom(gold), pa = Equivalence.atom(pred)
        if ga == .float || pa == .float {
            let other = ga == .float ? pa : ga
            guard let x = constant(gold), let y = constant(pred) else { return false }
            if x == y { return true }
            if other == .integer { return false }
            return Equivalence.rounded(x) == Equivalence.rounded(y)
        }
        if ga == .integer && pa == .integer {
            let a = Equivalence.stripPercent(gold), b = Equivalence.stripPercent(pred)
            if case .bigInteger(let x) = a, case .bigInteger(let y) = b { return x == y }
            if case .bigInteger = a { return false }
            if case .bigInteger = b { return false }
            return a.exactValue == b.exactValue
        }
        if let x = gold.exactValue, let y = pred.exactValue { return x == y }
        let symbols = gold.freeSymbols.union(pred.freeSymbols)
        if symbols.isEmpty {
            guard let x = constant(gold), let y = constant(pred) else { return false }
            return Equivalence.close(x, y, tolerance: 1e-10)
        }
        return atRandomPoints(gold, pred, symbols: symbols.sorted())
    }

    mutating func constant(_ e: MathExpr) -> Double? {
        guard let v = e.evaluate([:], budget: &budget), !v.isNaN else { return nil }
        return v
    }

    static func rounded(_ x: Double) -> Double {
        guard x.isFinite, abs(x) < 1e15 else { return x }
        return (x * 1e6).rounded() / 1e6
    }

    static func close(_ x: Double, _ y: Double, tolerance: Double) -> Bool {
        if x == y { return true }
        guard x.isFinite, y.isFinite else { return false }
        return abs(x - y) <= tolerance * max(1, abs(x), abs(y))
    }

    /// Equal at the fixed pseudo-random points (the same verdict on every run): at least 2 points
    /// where both are defined, and none where only one is.
    mutating func atRandomPoints(_ a: MathExpr, _ b: MathExpr, symbols: [String]) -> Bool {
        var agreeing = 0
        var ok = true
        forEachPoint(symbols) { env, budget in
            guard let x = a.evaluate(env, budget: &budget), let y = b.evaluate(env, budget: &budget) else { ok = false; return false }
            if !x.isFinite && !y.isFinite { return true }
            if x.isFinite != y.isFinite || !Equivalence.close(x, y, tolerance: 1e-8) { ok = false; return false }
            agreeing += 1
            return true
        }
        return ok && agreeing >= 2
    }
}
