/// A small JSON Schema subset, enough for TokenMill's payload schemas:
/// `type` (string or list), `required`, `properties`, `additionalProperties` (bool or schema), `enum`,
/// `const`, `minimum`/`maximum`, `exclusiveMinimum`/`exclusiveMaximum`, `minLength`/`maxLength`,
/// `minItems`/`maxItems`, `items`, `maxProperties`, `oneOf`, `anyOf`, `allOf`, and `$ref` to another
/// document by name (e.g. `{"$ref": "generate.schema.json"}`, resolved from `references`). Keywords it
/// does not know (`$comment`, `description`, `title`, `$schema`, ...) are ignored.
public struct JSONSchema: Sendable {
    public let root: JSONValue
    /// Documents a `$ref` may name, by name (a job registry fills in `<kind>.schema.json` for every kind).
    public let references: [String: JSONValue]

    /// Wraps an already parsed schema document.
    public init(_ root: JSONValue, references: [String: JSONValue] = [:]) {
        self.root = root
        self.references = references
    }

    /// Parses a schema from JSON text.
    public init(text: String) throws {
        self.root = try JSONValue.parse(text)
        self.references = [:]
    }

    /// The same schema with `$ref` targets resolved from `references`.
    public func resolving(_ references: [String: JSONValue]) -> JSONSchema {
        JSONSchema(root, references: references)
    }

    /// Validates `value`; returns every violation found as "path: problem" (empty when valid).
    public func validate(_ value: JSONValue) -> [String] {
        var errs: [String] = []
        JSONSchema.check(value, against: root, path: "$", refs: references, depth: 0, errors: &errs)
        return errs
    }

    private static func matchesType(_ v: JSONValue, _ t: String) -> Bool {
        switch t {
        case "number": if case .integer = v { return true }; if case .number = v { return true }; return false
        case "integer":
            if case .integer = v { return true }
            if case let .number(d) = v { return d.isFinite && d.rounded() == d }
            return false
        default: return v.typeName == t
        }
    }

    static func check(_ v: JSONValue, against s: JSONValue, path: String, refs: [String: JSONValue], depth: Int,
                      errors: inout [String]) {
        if case let .bool(b) = s { if !b { errors.append("\(path): not allowed here") }; return }
        guard case .object = s else { return }
        if case let .string(name)? = s["$ref"] {
            guard depth < 16, let target = refs[name] else {
                errors.append("\(path): the schema refers to \(name), which is not known here")
                return
            }
            check(v, against: target, path: path, refs: refs, depth: depth + 1, errors: &errors)
        }

        if let t = s["type"] {
            var types: [String] = []
            if case let .string(one) = t { types = [one] }
            if case let .array(many) = t { types = many.compactMap { if case let .string(x) = $0 { return x }; return nil } }
            if !types.isEmpty && !types.contains(where: { matchesType(v, $0) }) {
                errors.append("\(path): expected \(types.joined(separator: " or ")), got \(v.typeName)")
                return
            }
        }
        if case let .array(options)? = s["enum"], !options.contains(v) {
            errors.append("\(path): must be one of \(options.map { $0.jsonText }.joined(separator: ", ")), got \(v.jsonText)")
        }
        if let c = s["const"], c != v { errors.append("\(path): must equal \(c.jsonText)") }

        if let x = v.doubleValue {
            if let m = s["minimum"]?.doubleValue, x < m { errors.append("\(path): \(v.jsonText) is less than the minimum \(fmt(m))") }
            if let m = s["maximum"]?.doubleValue, x > m { errors.append("\(path): \(v.jsonText) is greater than the maximum \(fmt(m))") }
            if let m = s["exclusiveMinimum"]?.doubleValue, x <= m { errors.append("\(path): \(v.jsonText) must be greater than \(fmt(m))") }
            if let m = s["exclusiveMaximum"]?.doubleValue, x >= m { errors.append("\(path): \(v.jsonText) must be less than \(fmt(m))") }
        }
        if case let .string(str) = v {
            // Characters never outnumber UTF-8 bytes: count them only when the byte count does not decide.
            let bytes = str.utf8.count
            if let m = s["minLength"]?.doubleValue, Double(bytes) < m || Double(str.count) < m {
                errors.append("\(path): string shorter than \(fmt(m)) characters")
            }
            if let m = s["maxLength"]?.doubleValue, Double(bytes) > m, Double(str.count) > m {
                errors.append("\(path): string longer than \(fmt(m)) characters (\(str.count))")
            }
        }
        if case let .array(items) = v {
            if let m = s["minItems"]?.doubleValue, Double(items.count) < m { errors.append("\(path): fewer than \(fmt(m)) items") }
            if let m = s["maxItems"]?.doubleValue, Double(items.count) > m { errors.append("\(path): more than \(fmt(m)) items") }
            if let itemSchema = s["items"] {
                for (i, item) in items.enumerated() {
                    check(item, against: itemSchema, path: "\(path)[\(i)]", refs: refs, depth: depth, errors: &errors)
                }
            }
        }
        if case let .object(members) = v {
            if let m = s["maxProperties"]?.doubleValue, Double(members.count) > m {
                errors.append("\(path): more than \(fmt(m)) properties")
            }
            if case let .array(req)? = s["required"] {
                for case let .string(k) in req where !members.contains(where: { $0.0 == k }) {
                    errors.append("\(path): missing required property \"\(k)\"")
                }
            }
            let props = s["properties"]
            for (k, mv) in members {
                let sub = "\(path).\(k)"
                if let ps = props?[k] {
                    check(mv, against: ps, path: sub, refs: refs, depth: depth, errors: &errors)
                } else if let ap = s["additionalProperties"] {
                    if case .bool(false) = ap {
                        errors.append("\(path): unknown property \"\(k)\"")
                    } else {
                        check(mv, against: ap, path: sub, refs: refs, depth: depth, errors: &errors)
                    }
                }
            }
        }
        if case let .array(all)? = s["allOf"] {
            for sub in all { check(v, against: sub, path: path, refs: refs, depth: depth, errors: &errors) }
        }
        if case let .array(any)? = s["anyOf"] {
            var firstErrs: [String]? = nil
            var ok = false
            for sub in any {
                var e: [String] = []
                check(v, against: sub, path: path, refs: refs, depth: depth, errors: &e)
                if e.isEmpty { ok = true; break }
                if firstErrs == nil { firstErrs = e }
            }
            if !ok { errors.append("\(path): matches none of anyOf (\((firstErrs ?? []).joined(separator: "; ")))") }
        }
        if case let .array(one)? = s["oneOf"] {
            var matches = 0
            var firstErrs: [String]? = nil
            for sub in one {
                var e: [String] = []
                check(v, against: sub, path: path, refs: refs, depth: depth, errors: &e)
                if e.isEmpty { matches += 1 } else if firstErrs == nil { firstErrs = e }
            }
            if matches == 0 { errors.append("\(path): matches none of oneOf (\((firstErrs ?? []).joined(separator: "; ")))") }
            if matches > 1 { errors.append("\(path): matches \(matches) of oneOf, expected exactly one") }
        }
    }

    private static func fmt(_ d: Double) -> String {
        d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }
}
