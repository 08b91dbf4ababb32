import Foundation

/// Parses a normalized LaTeX (or plain-text, `plain: true`) answer into a `MathExpr`.
/// Bounded: at most `limits.maxParseTokens` tokens and `limits.maxDepth` nesting levels;
/// anything beyond, or anything it does not know, gives nil (never a crash).
enum MathParser {
    static func parse(_ text: String, limits: VerifierLimits, plain: Bool = false) -> MathExpr? {
        guard !text.isEmpty, text.utf8.count <= limits.maxParseChars else { return nil }
        var text = text
        // "3/4." at the end of a sentence.
        while text.hasSuffix(" ") || text.hasSuffix(".") && (plain || !(text.dropLast().last?.isNumber ?? false)) { text.removeLast() }
        if !plain, let n = thousands(text) {
            return n
        }
        guard let tokens = Lexer.tokens(text, plain: plain, max: limits.maxParseTokens), !tokens.isEmpty else { return nil }
        var p = Parser(tokens: tokens, maxDepth: limits.maxDepth)
        guard let e = try? p.parseTop(), p.atEnd else { return nil }
        return e
    }
}

/// `1,234,567` (and `1,234.5`) as one number at the top level; `0,500` as the decimal 0.5.
let thousandsRe = try! NSRegularExpression(pattern: #"^(-?)(\d{1,3})((?:,\d{3})+)(\.\d+)?$"#)

extension MathParser {
    static func thousands(_ text: String) -> MathExpr? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard thousandsRe.firstMatch(in: t, range: NSRange(t.startIndex..., in: t)) != nil else { return nil }
        let negative = t.hasPrefix("-")
        let digits = t.drop { $0 == "-" }
        if digits.hasPrefix("0,") {
            let d = "0." + digits.dropFirst(2).filter { $0 != "," }
            return Double(d).map { .float(negative ? -$0 : $0) }
        }
        let plain = String(digits.filter { $0 != "," })
        if plain.contains(".") { return Double(plain).map { .float(negative ? -$0 : $0) } }
        let n = Parser.number(plain)
        return negative ? .neg(n) : n
    }
}

enum Token: Equatable {
    case number(String)
    case letter(Character)
    case command(String)      // \name, or \{ \} \% \, as "{", "}", "%", ","
    case char(Character)      // + - * / ^ _ ( ) [ ] { } , = < > ! | & ; '
    case text(String)         // \text{...} content
    case begin(String), end(String)
    case rowBreak             // \\ inside a matrix
}

enum Lexer {
    static func tokens(_ s: String, plain: Bool, max: Int) -> [Token]? {
        var out: [Token] = []
        let c = Array(s)
        var i = 0
        func readBraced(_ from: Int) -> (String, Int)? {
            guard from < c.count, c[from] == "{" else { return nil }
            var depth = 0, j = from
            while j < c.count {
                if c[j] == "{" { depth += 1 }
                if c[j] == "}" { depth -= 1; if depth == 0 { return (String(c[(from + 1)..<j]), j + 1) } }
                j += 1
            }
            return nil
        }
        while i < c.count {
            if out.count > max { return nil }
            let ch = c[i]
            if ch.isWhitespace { i += 1; continue }
            if ch.isASCII && ch.isNumber || (ch == "." && i + 1 < c.count && c[i + 1].isASCII && c[i + 1].isNumber) {
                var j = i, dot = false
                while j < c.count, (c[j].isASCII && c[j].isNumber) || (c[j] == "." && !dot && j + 1 < c.count && c[j + 1].isASCII && c[j + 1].isNumber) {
                    if c[j] == "." { dot = true }
                    j += 1
                }
                out.append(.number(String(c[i..<j])))
                i = j
                continue
            }
            if ch == "\\" {
                guard i + 1 < c.count else { return nil }
                let n = c[i + 1]
                if n.isLetter {
                    var j = i + 1
                    while j < c.count, c[j].isLetter, c[j].isASCII { j += 1 }
                    let name = String(c[(i + 1)..<j])
                    i = j
                    switch name {
                    case "text", "textrm", "mbox", "operatorname", "mathrm", "textbf", "mathbf":
                        while i < c.count, c[i] == " " { i += 1 }
                        guard let (content, next) = readBraced(i) else { return nil }
                        out.append(.text(content)); i = next
                    case "begin", "end":
                        guard let (env, next) = readBraced(i) else { return nil }
                        out.append(name == "begin" ? .begin(env) : .end(env)); i = next
                    case "left", "right", "big", "Big", "bigl", "bigr", "Bigl", "Bigr", "displaystyle", "quad", "qquad",
                         "limits", "nolimits", "mathit", "boldsymbol", "vec", "hat", "bar", "overline", "tilde", "cdots", "ldots", "dots":
                        continue
                    default:
                        out.append(.command(name))
                    }
                    continue
                }
                switch n {
                case "{", "}", "%", "$", "|": out.append(.command(String(n)))
                case "\\": out.append(.rowBreak)
                case ",", ";", ":", "!", " ": break
                default: return nil
                }
                i += 2
                continue
            }
            switch ch {
            case "≤": out.append(.command("le"))
            case "≥": out.append(.command("ge"))
            case "≠": out.append(.command("ne"))
            case "π": out.append(.command("pi"))
            case "∞": out.append(.command("infty"))
            case "√": out.append(.command("sqrt"))
            case "·", "×": out.append(.char("*"))
            case "÷": out.append(.char("/"))
            case "−": out.append(.char("-"))
            case "%": out.append(.command("%"))
            case "~": break
            case "<" where i + 1 < c.count && c[i + 1] == "=": out.append(.command("le")); i += 1
            case ">" where i + 1 < c.count && c[i + 1] == "=": out.append(.command("ge")); i += 1
            case "!" where i + 1 < c.count && c[i + 1] == "=": out.append(.command("ne")); i += 1
            case "*" where plain && i + 1 < c.count && c[i + 1] == "*": out.append(.char("^")); i += 1
            case ":": out.append(.char("/"))
            case "+", "-", "*", "/", "^", "_", "(", ")", "[", "]", "{", "}", ",", "=", "<", ">", "!", "|", "&", ";", "'":
                out.append(.char(ch))
            default:
                guard ch.isLetter else { return nil }
                out.append(.letter(ch))
            }
            i += 1
        }
        return out
    }
}

struct ParseError: Error {}

struct Parser {
    var tokens: [Token]
    var pos = 0
    var depth = 0
    let maxDepth: Int
    /// Inside `|...|`: a bar closes instead of opening.
    var absDepth = 0

    init(tokens: [Token], maxDepth: Int) {
        self.tokens = tokens
        self.maxDepth = maxDepth
    }

    var atEnd: Bool { pos >= tokens.count }
    var peek: Token? { pos < tokens.count ? tokens[pos] : nil }
    func peek(_ k: Int) -> Token? { pos + k < tokens.count ? tokens[pos + k] : nil }

    mutating func accept(_ t: Token) -> Bool {
        if peek == t { pos += 1; return true }
        return false
    }

    mutating func expect(_ t: Token) throws {
        guard accept(t) else { throw ParseError() }
    }

    mutating func enter() throws {
        depth += 1
        if depth > maxDepth { throw ParseError() }
    }

    static let functions: Set<String> = ["sin", "cos", "tan", "sec", "csc", "cot", "arcsin", "arccos", "arctan", "arccot",
                                         "sinh", "cosh", "tanh", "ln", "log", "exp", "lg"]
    static let greek: Set<String> = ["alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta",
                                     "vartheta", "iota", "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau",
                                     "upsilon", "phi", "varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta",
                                     "Lambda", "Xi", "Sigma", "Phi", "Psi", "Omega"]
    static let relations: [String: RelationOp] = ["le": .le, "leq": .le, "leqslant": .le, "ge": .ge, "geq": .ge,
                                                  "geqslant": .ge, "ne": .ne, "neq": .ne, "lt": .lt, "gt": .gt]

    /// Comma-separated items at the top level read as a set.
    mutating func parseTop() throws -> MathExpr {
        var items = [try parseUnion()]
        while accept(.char(",")) || accept(.char(";")) {
            if atEnd { break }
            items.append(try parseUnion())
        }
        return items.count == 1 ? items[0] : .set(items)
    }

    mutating func parseUnion() throws -> MathExpr {
        let first = try parseRelation()
        guard peek == .command("cup") else { return first }
        var parts = [first]
        while accept(.command("cup")) { parts.append(try parseRelation()) }
        let asSets = parts.map(Parser.asSetPart)
        if asSets.allSatisfy({ if case .set = $0 { return true }; return false }) {
            var all: [MathExpr] = []
            for case .set(let xs) in asSets { all += xs }
            return .set(all)
        }
        return .union(asSets)
    }

    /// A 2-tuple inside a union is an open interval.
    static func asSetPart(_ e: MathExpr) -> MathExpr {
        if case .tuple(let xs) = e, xs.count == 2 { return .interval(xs[0], xs[1], leftOpen: true, rightOpen: true) }
        return e
    }

    mutating func relationOp() -> RelationOp? {
        switch peek {
        case .char("="): pos += 1; return .eq
        case .char("<"): pos += 1; return .lt
        case .char(">"): pos += 1; return .gt
        case .command(let c): if let op = Parser.relations[c] { pos += 1; return op }
        default: break
        }
        return nil
    }

    mutating func parseRelation() throws -> MathExpr {
        var terms = [try parseAdditive()]
        var ops: [RelationOp] = []
        // `x \in S`: the set S is the answer.
        if peek == .command("in"), case .symbol = terms[0] {
            pos += 1
            return try parseUnion()
        }
        // `a \approx b`: the exact value a is the answer.
        if peek == .command("approx") {
            while accept(.command("approx")) { _ = try parseAdditive() }
            return terms[0]
        }
        while let op = relationOp() {
            ops.append(op)
            terms.append(try parseAdditive())
        }
        return ops.isEmpty ? terms[0] : .relation(terms, ops)
    }

    mutating func parseAdditive() throws -> MathExpr {
        try enter(); defer { depth -= 1 }
        var terms: [MathExpr] = []
        var pmIndex: Int?
        if accept(.command("pm")) { pmIndex = 0 }
        else if accept(.char("-")) { terms.append(.neg(try parseMultiplicative())) }
        else { _ = accept(.char("+")) }
        if terms.isEmpty { terms.append(try parseMultiplicative()) }
        while true {
            if accept(.char("+")) { terms.append(try parseMultiplicative()) }
            else if accept(.char("-")) { terms.append(.neg(try parseMultiplicative())) }
            else if accept(.command("pm")) || accept(.command("mp")) {
                guard pmIndex == nil else { throw ParseError() }
                pmIndex = terms.count
                terms.append(try parseMultiplicative())
            } else { break }
        }
        func sum(_ ts: [MathExpr]) -> MathExpr { ts.count == 1 ? ts[0] : .add(ts) }
        if let k = pmIndex {
            var minus = terms, plus = terms
            minus[k] = .neg(terms[k])
            plus[k] = terms[k]
            return .set([sum(minus), sum(plus)])
        }
        return sum(terms)
    }

    func startsOperand(_ t: Token?) -> Bool {
        switch t {
        case .number, .letter, .text, .begin: return true
        case .char("("), .char("["): return true
        case .char("{"): return true
        case .char("|"): return absDepth == 0
        case .command(let c):
            return !(Parser.relations[c] != nil || ["cdot", "times", "div", "pm", "mp", "cup", "approx", "in", "}", "%", "circ", "rfloor", "rceil", "rangle", "right"].contains(c))
        default: return false
        }
    }

    mutating func parseMultiplicative() throws -> MathExpr {
        try enter(); defer { depth -= 1 }
        var factors = [try parseUnaryFactor()]
        while true {
            if accept(.char("*")) || accept(.command("cdot")) || accept(.command("times")) {
                factors.append(try parseUnaryFactor())
            } else if accept(.char("/")) || accept(.command("div")) {
                let d = try parseUnaryFactor()
                if case .rational(let a)? = factors.last, case .rational(let b) = d, let q = b.inverse.flatMap({ a * $0 }) {
                    factors[factors.count - 1] = .rational(q)
                } else {
                    factors.append(.pow(d, .int(-1)))
                }
            } else if startsOperand(peek) {
                let wasInteger: Bool
                if case .rational(let r)? = factors.last, r.isInteger, r.num >= 0 { wasInteger = true } else { wasInteger = false }
                let isFrac = peek == .command("frac")
                let next = try parsePostfix()
                // Mixed number: 2\frac{1}{2} is 5/2.
                if wasInteger, isFrac, factors.count == 1, case .rational(let whole) = factors[0],
                   case .rational(let part) = next, part.num >= 0, let s = whole + part {
                    factors[0] = .rational(s)
                } else {
                    factors.append(next)
                }
            } else { break }
        }
        return factors.count == 1 ? factors[0] : .mul(factors)
    }

    mutating func parseUnaryFactor() throws -> MathExpr {
        try enter(); defer { depth -= 1 }
        if accept(.char("-")) { return .neg(try parseUnaryFactor()) }
        if accept(.char("+")) { return try parseUnaryFactor() }
        return try parsePostfix()
    }

    mutating func parsePostfix() throws -> MathExpr {
        var base = try parsePrimary()
        while true {
            if accept(.char("^")) {
                if accept(.command("circ")) { continue }
                if peek == .char("{"), peek(1) == .command("circ"), peek(2) == .char("}") { pos += 3; continue }
                let ex = try group()
                base = .pow(base, ex)
            } else if accept(.char("!")) {
                base = .function("factorial", [base])
            } else if accept(.command("%")) {
                base = .percent(base)
            } else if accept(.char("'")) || accept(.command("circ")) || accept(.command("degree")) {
                continue
            } else if peek == .char("_") {
                pos += 1
                let sub = try scriptText()
                if case .symbol(let s) = base { base = .symbol(s + "_" + sub) } else { throw ParseError() }
            } else { break }
        }
        return base
    }

    /// The raw text of a subscript.
    mutating func scriptText() throws -> String {
        if accept(.char("{")) {
            var s = ""
            var d = 1
            while let t = peek {
                pos += 1
                if t == .char("{") { d += 1 }
                if t == .char("}") { d -= 1; if d == 0 { return s } }
                switch t {
                case .number(let n): s += n
                case .letter(let l): s += String(l)
                case .command(let c): s += c
                case .char(let c): s += String(c)
                default: throw ParseError()
                }
            }
            throw ParseError()
        }
        switch peek {
        case .number(let n): pos += 1; return n
        case .letter(let l): pos += 1; return String(l)
        case .command(let c): pos += 1; return c
        default: throw ParseError()
        }
    }

    /// A one-letter variable; names are case-insensitive (`X` is `x`), `e` is Euler's number.
    static func letter(_ l: Character) -> MathExpr {
        l == "e" ? .e : .symbol(l.lowercased())
    }

    static func number(_ n: String) -> MathExpr {
        if n.contains(".") { return .float(Double(n) ?? .nan) }
        if let v = Int(n) { return .int(v) }
        let digits = n.drop { $0 == "0" }
        return .bigInteger(digits.isEmpty ? "0" : String(digits))
    }

    /// A command argument or a sub/superscript: `{...}`, or one character or command
    /// (`\frac12`, `x^2`, `x^-1`; `^23` is `^{2}3` in LaTeX, so the other digits stay).
    mutating func group() throws -> MathExpr {
        try enter(); defer { depth -= 1 }
        if accept(.char("{")) {
            let e = try parseTop()
            try expect(.char("}"))
            return e
        }
        switch peek {
        case .number(let n) where n.count > 1 && !n.contains("."):
            tokens[pos] = .number(String(n.dropFirst()))
            return .int(n.first!.wholeNumberValue!)
        case .letter(let l): pos += 1; return Parser.letter(l)
        case .char("-"):
            pos += 1
            return .neg(try group())
        default: return try parsePrimary()
        }
    }

    mutating func parsePrimary() throws -> MathExpr {
        try enter(); defer { depth -= 1 }
        guard let t = peek else { throw ParseError() }
        pos += 1
        switch t {
        case .number(let n): return Parser.number(n)
        case .letter(let l): return Parser.letter(l)
        case .text(let raw):
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { throw ParseError() }
            if let v = Rational(decimal: trimmed) { return v.isInteger ? .rational(v) : Double(trimmed).map { .float($0) } ?? .rational(v) }
            let cleaned = trimmed.lowercased().filter { !$0.isWhitespace && $0 != "(" && $0 != ")" }
            if cleaned.isEmpty { throw ParseError() }
            return .text(cleaned)
        case .char("("), .char("["):
            return try parseBracketed(open: t)
        case .char("{"):
            if accept(.char("}")) { return .set([]) }
            let e = try parseTop()
            try expect(.char("}"))
            return e
        case .char("|"):
            absDepth += 1
            let e = try parseAdditive()
            absDepth -= 1
            try expect(.char("|"))
            return .function("abs", [e])
        case .begin(let env):
            return try parseMatrix(env)
        case .command(let c):
            return try parseCommand(c)
        default:
            throw ParseError()
        }
    }

    mutating func parseBracketed(open: Token) throws -> MathExpr {
        var items: [MathExpr] = []
        if !(peek == .char(")") || peek == .char("]")) {
            items.append(try parseRelation())
            while accept(.char(",")) { items.append(try parseRelation()) }
        }
        let leftOpen = open == .char("(")
        let rightOpen: Bool
        if accept(.char(")")) { rightOpen = true } else if accept(.char("]")) { rightOpen = false } else { throw ParseError() }
        if items.count == 1 && leftOpen == rightOpen { return items[0] }
        if items.count == 2 {
            if leftOpen && rightOpen { return .tuple(items) }
            return .interval(items[0], items[1], leftOpen: leftOpen, rightOpen: rightOpen)
        }
        if items.isEmpty || leftOpen != rightOpen { throw ParseError() }
        return .tuple(items)
    }

    mutating func parseMatrix(_ env: String) throws -> MathExpr {
        guard env.hasSuffix("matrix") || env == "array" else { throw ParseError() }
        if env == "array", accept(.char("{")) { while let t = peek, t != .char("}") { pos += 1 }; try expect(.char("}")) }
        var rows: [[MathExpr]] = [[]]
        while true {
            if accept(.end(env)) { break }
            if atEnd { throw ParseError() }
            if accept(.rowBreak) {
                if peek == .end(env) { continue }
                rows.append([]); continue
            }
            if accept(.char("&")) {
                if rows[rows.count - 1].isEmpty { throw ParseError() }
                continue
            }
            rows[rows.count - 1].append(try parseRelation())
        }
        rows.removeAll { $0.isEmpty }
        guard let w = rows.first?.count, w > 0, rows.allSatisfy({ $0.count == w }) else { throw ParseError() }
        return .matrix(rows)
    }

    /// A function's argument: `(…)`, `{…}`, or (without brackets) a product of plain factors.
    mutating func functionArgument() throws -> MathExpr {
        if peek == .char("(") {
            pos += 1
            let e = try parseTop()
            try expect(.char(")"))
            return e
        }
        if peek == .char("{") { return try group() }
        var factors = [try parsePostfix()]
        while let t = peek, startsOperand(t) {
            if case .command(let c) = t, Parser.functions.contains(c) { break }
            if t == .char("(") || t == .char("[") || t == .char("|") { break }
            factors.append(try parsePostfix())
        }
        return factors.count == 1 ? factors[0] : .mul(factors)
    }

    mutating func parseCommand(_ c: String) throws -> MathExpr {
        switch c {
        case "frac", "dfrac", "tfrac", "cfrac":
            let a = try group(), b = try group()
            if case .rational(let x) = a, case .rational(let y) = b, let q = y.inverse.flatMap({ x * $0 }) { return .rational(q) }
            return .mul([a, .pow(b, .int(-1))])
        case "binom", "dbinom", "tbinom", "choose":
            let a = try group(), b = try group()
            return .function("binomial", [a, b])
        case "sqrt":
            if accept(.char("[")) {
                let n = try parseAdditive()
                try expect(.char("]"))
                return .function("root", [n, try group()])
            }
            return .function("sqrt", [try group()])
        case "pi": return .pi
        case "infty", "infin": return .infinity
        case "emptyset", "varnothing": return .set([])
        case "mathbb":
            guard case .symbol(let name) = try group() else { throw ParseError() }
            if name == "r" { return .interval(.neg(.infinity), .infinity, leftOpen: true, rightOpen: true) }
            return .text("mathbb" + name)
        case "{":
            var items: [MathExpr] = []
            if !accept(.command("}")) {
                items.append(try parseRelation())
                while accept(.char(",")) || accept(.char(";")) { items.append(try parseRelation()) }
                try expect(.command("}"))
            }
            return .set(items)
        case "langle":
            var items = [try parseRelation()]
            while accept(.char(",")) { items.append(try parseRelation()) }
            try expect(.command("rangle"))
            return items.count == 1 ? items[0] : .tuple(items)
        case "lfloor", "lceil":
            let e = try parseAdditive()
            try expect(.command(c == "lfloor" ? "rfloor" : "rceil"))
            return .function(c == "lfloor" ? "floor" : "ceil", [e])
        case "|":
            let e = try parseAdditive()
            try expect(.command("|"))
            return .function("abs", [e])
        case "exp":
            return .function("exp", [try functionArgument()])
        case "imath": return .symbol("i")
        default:
            if Parser.greek.contains(c) { return .symbol(c) }
            if Parser.functions.contains(c) { return try parseFunction(c) }
            throw ParseError()
        }
    }

    mutating func parseFunction(_ name: String) throws -> MathExpr {
        var power: MathExpr?
        var base: MathExpr?
        if name == "log" || name == "lg", accept(.char("_")) { base = try group() }
        if accept(.char("^")) { power = try group() }
        let arg = try functionArgument()
        var fn: String
        switch name {
        case "arcsin": fn = "asin"
        case "arccos": fn = "acos"
        case "arctan": fn = "atan"
        case "arccot": fn = "acot"
        case "lg": fn = "log"
        default: fn = name
        }
        if let p = power, case .rational(let r) = p, r.num == -1, r.den == 1, ["sin", "cos", "tan", "cot"].contains(fn) {
            return .function("a" + fn, [arg])
        }
        let value: MathExpr
        if fn == "log" { value = .function("log", [arg, base ?? .int(10)]) } else { value = .function(fn, [arg]) }
        return power.map { .pow(value, $0) } ?? value
    }
}
