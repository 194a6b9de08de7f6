/// Durations as operators write them in configuration: `250ms`, `1.5s`, `2m`, `1h`, `1m30s`.
///
/// A duration is one or more groups of a decimal number and a unit (`ns`, `us` or `µs`, `ms`, `s`,
/// `m`, `h`), like Go's `time.ParseDuration` but never negative: no setting here means anything
/// below zero. A bare `0` is allowed. Precision is one nanosecond (finer fractions are truncated),
/// and the total must fit in 64-bit nanoseconds (about 292 years).
enum DurationText {
    /// Longer input is not a duration anybody meant; refuse it before doing arithmetic on it.
    public static let maximumLength = 64

    public static func parse(_ text: String) throws(DurationTextError) -> Duration {
        .nanoseconds(try parseNanoseconds(text))
    }

    /// The duration in nanoseconds, for callers that compare or store plain integers.
    public static func parseNanoseconds(_ text: String) throws(DurationTextError) -> Int64 {
        func fail(_ problem: String) -> DurationTextError { DurationTextError(text: text, problem: problem) }
        let scalars = Array(text.unicodeScalars)
        guard !scalars.isEmpty else { throw fail("it is empty") }
        guard scalars.count <= maximumLength else { throw fail("it is longer than \(maximumLength) characters") }
        if scalars.first == "-" { throw fail("it is negative") }
        if scalars == ["0"] { return 0 }

        var total: Int128 = 0
        var index = 0
        while index < scalars.count {
            // The number: digits, optionally a point and more digits.
            var whole: Int128 = 0
            var wholeDigits = 0
            while index < scalars.count, let digit = digitValue(scalars[index]) {
                whole = whole * 10 + Int128(digit)
                wholeDigits += 1
                index += 1
                if wholeDigits > 20 { throw fail("the number is too large") }
            }
            var fraction: Int128 = 0
            var fractionScale: Int128 = 1
            var fractionDigits = 0
            if index < scalars.count, scalars[index] == "." {
                index += 1
                while index < scalars.count, let digit = digitValue(scalars[index]) {
                    // Digits past the 18th are below any unit's nanosecond: checked, then ignored.
                    if fractionDigits < 18 {
                        fraction = fraction * 10 + Int128(digit)
                        fractionScale *= 10
                    }
                    fractionDigits += 1
                    index += 1
                }
                if fractionDigits == 0 { throw fail("a decimal point must be followed by digits") }
            }
            if wholeDigits == 0 && fractionDigits == 0 {
                throw fail(index < scalars.count ? "expected a number at '\(quotedConfigText(String(String.UnicodeScalarView(scalars[index...]))))'" : "expected a number")
            }
            // The unit.
            let unitStart = index
            while index < scalars.count, digitValue(scalars[index]) == nil, scalars[index] != "." { index += 1 }
            let unit = String(String.UnicodeScalarView(scalars[unitStart..<index]))
            guard !unit.isEmpty else { throw fail("the number needs a unit (ns, us, ms, s, m or h)") }
            guard let nanosPerUnit = unitNanoseconds[unit] else {
                throw fail("'\(quotedConfigText(unit))' is not a unit; use ns, us, ms, s, m or h")
            }
            total += whole * nanosPerUnit + fraction * nanosPerUnit / fractionScale
            if total > Int128(Int64.max) { throw fail("it is too long (more than 292 years)") }
        }
        return Int64(total)
    }

    /// The shortest exact text for `duration` in the units above, e.g. `250ms`, `1.5s`, `2m`, `90s`, `1h`.
    /// Parsing the result gives the same duration (to the nanosecond).
    public static func format(_ duration: Duration) -> String {
        let nanoseconds = nanosecondsSaturating(duration)
        if nanoseconds == 0 { return "0s" }
        if nanoseconds < 0 { return "-" + format(.nanoseconds(nanoseconds == .min ? .max : -nanoseconds)) }
        let hour: Int64 = 3_600_000_000_000, minute: Int64 = 60_000_000_000
        let second: Int64 = 1_000_000_000, milli: Int64 = 1_000_000, micro: Int64 = 1_000
        if nanoseconds % hour == 0 { return "\(nanoseconds / hour)h" }
        if nanoseconds % minute == 0 { return "\(nanoseconds / minute)m" }
        if nanoseconds >= second { return decimal(nanoseconds, unit: second, fractionDigits: 9) + "s" }
        if nanoseconds >= milli { return decimal(nanoseconds, unit: milli, fractionDigits: 6) + "ms" }
        if nanoseconds >= micro { return decimal(nanoseconds, unit: micro, fractionDigits: 3) + "us" }
        return "\(nanoseconds)ns"
    }

    /// Whole nanoseconds in `duration` (attoseconds below a nanosecond dropped), clamped to Int64.
    public static func nanosecondsSaturating(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let total = Int128(seconds) * 1_000_000_000 + Int128(attoseconds / 1_000_000_000)
        return Int64(clamping: total)
    }

    private static let unitNanoseconds: [String: Int128] = [
        "ns": 1, "us": 1_000, "\u{00B5}s": 1_000, "\u{03BC}s": 1_000, "ms": 1_000_000,
        "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000,
    ]

    private static func digitValue(_ scalar: Unicode.Scalar) -> Int? {
        scalar.value >= 0x30 && scalar.value <= 0x39 ? Int(scalar.value - 0x30) : nil
    }

    /// `value / unit` with the remainder as a decimal fraction without trailing zeros.
    private static func decimal(_ value: Int64, unit: Int64, fractionDigits: Int) -> String {
        let whole = value / unit
        let remainder = value % unit
        guard remainder != 0 else { return "\(whole)" }
        var digits = String(remainder)
        digits = String(repeating: "0", count: fractionDigits - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)"
    }
}

/// Text that is not a duration; the message quotes it, says why and shows what would work.
struct DurationTextError: Error, Hashable, Sendable, CustomStringConvertible {
    public var text: String
    public var problem: String
    public init(text: String, problem: String) { self.text = text; self.problem = problem }
    public var description: String {
        "'\(quotedConfigText(text))' is not a duration: \(problem); write e.g. \"500ms\", \"2s\", \"1.5m\" or \"1h\""
    }
}
