import Foundation

/// Exponential backoff with jitter for retries: attempt n waits about `base * 2^(n-1)`, capped at `max`,
/// multiplied by a random factor in `[1 - jitter, 1]`.
public struct RetryPolicy: Sendable, Equatable {
    public var baseSeconds: Double
    public var maxSeconds: Double
    /// Fraction of the delay that is randomised (0 = none, 0.5 = delay in [d/2, d]).
    public var jitter: Double

    public init(baseSeconds: Double = 1, maxSeconds: Double = 600, jitter: Double = 0.5) {
        self.baseSeconds = baseSeconds
        self.maxSeconds = maxSeconds
        self.jitter = min(max(jitter, 0), 1)
    }

    /// The delay before the next try after attempt `attempt` (1-based) failed, with `random` in [0, 1).
    public func delay(afterAttempt attempt: Int, random: Double) -> Double {
        let exp = min(max(attempt - 1, 0), 60)
        let raw = min(baseSeconds * pow2(exp), maxSeconds)
        return raw * (1 - jitter * random)
    }

    /// The delay, drawn with the system random number generator.
    public func delay(afterAttempt attempt: Int) -> Double {
        delay(afterAttempt: attempt, random: Double.random(in: 0..<1))
    }

    private func pow2(_ n: Int) -> Double { n >= 1023 ? .infinity : Double(sign: .plus, exponent: n, significand: 1) }
}

/// What happens to a job after its handler failed on attempt `attempt` of `maxAttempts`.
public enum FailureDisposition: Equatable, Sendable {
    /// Retry after this many seconds.
    case retry(afterSeconds: Double)
    /// No attempts left (or a permanent error): the job is failed.
    case fail
}

/// Decides between retry and failure.
public func failureDisposition(attempt: Int, maxAttempts: Int, permanent: Bool, policy: RetryPolicy,
                               random: Double = Double.random(in: 0..<1)) -> FailureDisposition {
    if permanent || attempt >= maxAttempts { return .fail }
    return .retry(afterSeconds: policy.delay(afterAttempt: attempt, random: random))
}

/// Seconds from `now` until a `--run-after` value: a duration (see `parseDuration`) or an ISO-8601
/// timestamp with a zone (`2026-11-28T02:00:00Z`, `2026-11-28T03:00:00+01:00`, fractional seconds
/// allowed). A timestamp in the past gives 0 (run at once); nil when the text is neither.
public func parseRunAfter(_ text: String, now: Date = Date()) -> Double? {
    if let d = parseDuration(text) { return d }
    let t = text.trimmingCharacters(in: .whitespaces)
    for options: ISO8601DateFormatter.Options in [[.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds]] {
        let f = ISO8601DateFormatter()
        f.formatOptions = options
        if let date = f.date(from: t) { return max(0, date.timeIntervalSince(now)) }
    }
    return nil
}

/// Parses durations like `90s`, `15m`, `2h`, `7d`, `1h30m`, `500ms` or a bare number of seconds.
public func parseDuration(_ text: String) -> Double? {
    let t = text.trimmingCharacters(in: .whitespaces).lowercased()
    if t.isEmpty { return nil }
    if let v = Double(t), v >= 0 { return v }
    var total = 0.0
    var num = ""
    var i = t.startIndex
    var any = false
    while i < t.endIndex {
        let c = t[i]
        if c.isNumber || c == "." { num.append(c); i = t.index(after: i); continue }
        var unit = ""
        while i < t.endIndex, t[i].isLetter { unit.append(t[i]); i = t.index(after: i) }
        guard let v = Double(num), !unit.isEmpty else { return nil }
        let mult: Double
        switch unit {
        case "ms": mult = 0.001
        case "s", "sec", "secs", "second", "seconds": mult = 1
        case "m", "min", "mins", "minute", "minutes": mult = 60
        case "h", "hour", "hours": mult = 3600
        case "d", "day", "days": mult = 86400
        case "w", "week", "weeks": mult = 604800
        default: return nil
        }
        total += v * mult
        num = ""
        any = true
    }
    if !num.isEmpty { return nil }
    return any ? total : nil
}

import Foundation
