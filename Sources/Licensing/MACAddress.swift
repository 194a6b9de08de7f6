/// A 48-bit IEEE MAC address, the identity a license lists for each allowed host.
///
/// Ordered by its numeric value, which is also the order of the node IDs derived from it
/// (see `NodeIdentity`), and printed in the canonical lowercase colon form `aa:bb:cc:dd:ee:ff`
/// used in license payloads, so a MAC always has exactly one spelling in a signed document.
public struct MACAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The address as a number in 0...0xffff_ffff_ffff (first octet most significant).
    public let rawValue: UInt64

    public static let maximumRawValue: UInt64 = 0xffff_ffff_ffff

    public init?(rawValue: UInt64) {
        guard rawValue <= Self.maximumRawValue else { return nil }
        self.rawValue = rawValue
    }

    /// Six octets, first octet first.
    public init?(octets: [UInt8]) {
        guard octets.count == 6 else { return nil }
        rawValue = octets.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Parses `aa:bb:cc:dd:ee:ff`, `AA:BB:CC:DD:EE:FF` or `aa-bb-cc-dd-ee-ff` (surrounding spaces ignored).
    public init(parsing text: String) throws(MACAddressError) {
        let trimmed = text.trimmingASCIIWhitespace()
        let bytes = Array(trimmed.utf8)
        guard bytes.count == 17 else {
            throw MACAddressError(input: text, problem: bytes.isEmpty ? "it is empty" : "it is \(bytes.count) characters long, not 17")
        }
        let separator = bytes[2]
        guard separator == UInt8(ascii: ":") || separator == UInt8(ascii: "-") else {
            throw MACAddressError(input: text, problem: "octets must be separated by ':' or '-'")
        }
        var value: UInt64 = 0
        for octet in 0..<6 {
            let start = octet * 3
            if octet > 0, bytes[start - 1] != separator {
                throw MACAddressError(input: text, problem: "octets must be separated by one kind of separator, ':' or '-'")
            }
            guard let high = hexValue(bytes[start]), let low = hexValue(bytes[start + 1]) else {
                throw MACAddressError(input: text, problem: "octet \(octet + 1) is not two hexadecimal digits")
            }
            value = value << 8 | UInt64(high << 4 | low)
        }
        rawValue = value
    }

    public var octets: [UInt8] { (0..<6).map { UInt8(truncatingIfNeeded: rawValue >> (40 - 8 * UInt64($0))) } }

    /// All zeros: what virtual interfaces without a hardware address report.
    public var isZero: Bool { rawValue == 0 }

    public static func < (lhs: MACAddress, rhs: MACAddress) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Canonical form: lowercase hex, colon separated.
    public var description: String {
        octets.map { octet in
            let digits = String(octet, radix: 16)
            return octet < 16 ? "0" + digits : digits
        }.joined(separator: ":")
    }
}

/// A MAC address that could not be parsed; the description quotes (a bounded, printable copy of)
/// the input, says what is wrong and shows the expected form.
public struct MACAddressError: Error, Equatable, CustomStringConvertible {
    public let input: String
    public let problem: String

    public init(input: String, problem: String) {
        self.input = input
        self.problem = problem
    }

    public var description: String {
        "invalid MAC address '\(printable(input))': \(problem); expected six two-digit hex octets like aa:bb:cc:dd:ee:ff"
    }
}

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
    default: return nil
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and line breaks.
    package func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}

/// Untrusted text made safe to echo in an error message: control characters escaped, at most `limit` characters.
public func printable(_ text: String, limit: Int = 64) -> String {
    var result = ""
    for (index, scalar) in text.unicodeScalars.enumerated() {
        if index == limit { result += "..."; break }
        if scalar.value < 0x20 || scalar.value == 0x7f || (0x80..<0xa0).contains(scalar.value) {
            result += scalar.escaped(asASCII: true)
        } else {
            result.unicodeScalars.append(scalar)
        }
    }
    return result
}
