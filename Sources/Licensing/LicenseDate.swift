#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A point in UTC time with one-second resolution, as licenses carry it.
///
/// Licenses print dates as RFC 3339 `YYYY-MM-DDTHH:MM:SSZ`, so a date has exactly one spelling in a
/// signed payload. The conversion is hand-written (proleptic Gregorian, days-from-civil) so that it
/// is pure and total: no locale, no time zone database, no formatter state.
public struct LicenseDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var secondsSince1970: Int64

    /// The range licenses accept: four-digit years from the Unix epoch on.
    public static let earliest = LicenseDate(secondsSince1970: 0)
    public static let latest = LicenseDate(secondsSince1970: 253_402_300_799) // 9999-12-31T23:59:59Z

    public init(secondsSince1970: Int64) { self.secondsSince1970 = secondsSince1970 }

    /// Rounds down to the whole second (saturating far outside the license range).
    public init(_ date: Date) {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        if seconds.isNaN {
            secondsSince1970 = 0
        } else if seconds >= 9.0e18 {
            secondsSince1970 = 9_000_000_000_000_000_000
        } else if seconds <= -9.0e18 {
            secondsSince1970 = -9_000_000_000_000_000_000
        } else {
            secondsSince1970 = Int64(seconds)
        }
    }

    public var date: Date { Date(timeIntervalSince1970: TimeInterval(secondsSince1970)) }

    public var isInLicenseRange: Bool { self >= Self.earliest && self <= Self.latest }

    public static func < (lhs: LicenseDate, rhs: LicenseDate) -> Bool { lhs.secondsSince1970 < rhs.secondsSince1970 }

    /// `YYYY-MM-DDTHH:MM:SSZ`.
    public var description: String { rfc3339 }

    /// `YYYY-MM-DDTHH:MM:SSZ` (meaningful inside the license range; years print with at least four digits).
    public var rfc3339: String {
        // Clamped so that arithmetic cannot overflow for absurd values (which no license accepts).
        let seconds = Swift.min(Swift.max(secondsSince1970, -100_000_000_000_000_000), 100_000_000_000_000_000)
        let days = seconds.floorDivided(by: 86_400)
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civil(fromDays: days)
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))Z"
    }

    /// Exactly the canonical `YYYY-MM-DDTHH:MM:SSZ` form within the license range, nothing else
    /// (for signed payloads, where every value must have a single spelling).
    public init?(canonical text: String) {
        guard let parsed = LicenseDate(rfc3339: text), parsed.isInLicenseRange, parsed.rfc3339 == text else { return nil }
        self = parsed
    }

    /// What an operator types: `YYYY-MM-DD` (UTC midnight) or full RFC 3339
    /// (`2027-01-31T12:00:00Z`, `2027-01-31T12:00:00.5+02:00`; fractions of a second are dropped).
    public init(parsing text: String) throws(LicenseError) {
        let trimmed = text.trimmingASCIIWhitespace()
        let bytes = Array(trimmed.utf8)
        if bytes.count == 10, let midnight = LicenseDate(dateOnly: bytes) {
            self = midnight
        } else if let full = LicenseDate(rfc3339: trimmed) {
            self = full
        } else {
            throw .invalidDate(text: text)
        }
        guard isInLicenseRange else { throw .invalidDate(text: text) }
    }

    private init?(dateOnly bytes: [UInt8]) {
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              let year = digits(bytes, 0, 4), let month = digits(bytes, 5, 2), let day = digits(bytes, 8, 2),
              let days = daysFromCivil(year: year, month: month, day: day) else { return nil }
        secondsSince1970 = days * 86_400
    }

    /// Full RFC 3339 `date-time` (section 5.6); the leap second 60 is not accepted.
    public init?(rfc3339 text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.count <= 64 else { return nil }
        guard let midnight = LicenseDate(dateOnly: Array(bytes[0..<10])) else { return nil }
        let separator = bytes[10]
        guard separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t") || separator == UInt8(ascii: " "),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
              let hour = digits(bytes, 11, 2), let minute = digits(bytes, 14, 2), let second = digits(bytes, 17, 2),
              hour < 24, minute < 60, second < 60 else { return nil }
        var index = 19
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            guard index > start else { return nil }
        }
        guard index < bytes.count else { return nil }
        var offset: Int64 = 0
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign: Int64 = bytes[index] == UInt8(ascii: "+") ? 1 : -1
            guard bytes.count - index == 6, bytes[index + 3] == UInt8(ascii: ":"),
                  let offsetHours = digits(bytes, index + 1, 2), let offsetMinutes = digits(bytes, index + 4, 2),
                  offsetHours < 24, offsetMinutes < 60 else { return nil }
            offset = sign * (offsetHours * 3600 + offsetMinutes * 60)
            index += 6
        default:
            return nil
        }
        guard index == bytes.count else { return nil }
        secondsSince1970 = midnight.secondsSince1970 + hour * 3600 + minute * 60 + second - offset
    }
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}

private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

private func digits(_ bytes: [UInt8], _ start: Int, _ count: Int) -> Int64? {
    guard start >= 0, start + count <= bytes.count else { return nil }
    var value: Int64 = 0
    for byte in bytes[start..<start + count] {
        guard isDigit(byte) else { return nil }
        value = value * 10 + Int64(byte - UInt8(ascii: "0"))
    }
    return value
}

private func pad(_ value: Int64, _ width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
}

private func isLeapYear(_ year: Int64) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

/// Days since 1970-01-01 for a real date in years 1...9999; nil for an impossible one (Feb 30).
private func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64? {
    guard year >= 1, month >= 1, month <= 12 else { return nil }
    let monthLengths: [Int64] = [31, isLeapYear(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    guard day >= 1, day <= monthLengths[Int(month - 1)] else { return nil }
    // Howard Hinnant's days_from_civil.
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yearOfEra = y - era * 400
    let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146_097 + dayOfEra - 719_468
}

/// The inverse of `daysFromCivil` (Hinnant's civil_from_days).
private func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let mp = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
}
