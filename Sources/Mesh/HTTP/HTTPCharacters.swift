/// Byte classes from RFC 9110 / RFC 3986 that the parser checks one byte at a time, so that a
/// request is rejected at its first impossible byte instead of after the whole head arrived.
enum HTTPCharacters {
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let colon: UInt8 = 0x3A
    static let percent: UInt8 = 0x25

    /// tchar: the characters of a method or a header name (RFC 9110 section 5.6.2).
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default: return false
        }
    }

    static func isToken<S: Sequence<UInt8>>(_ bytes: S) -> Bool {
        var empty = true
        for byte in bytes {
            guard isTokenCharacter(byte) else { return false }
            empty = false
        }
        return !empty
    }

    /// Visible ASCII (no controls, no space, no DEL): what a request-target and a version consist of.
    static func isVisibleASCII(_ byte: UInt8) -> Bool { byte > 0x20 && byte < 0x7F }

    /// May appear in a header line: visible ASCII, space, tab, and obs-text (0x80-0xFF, kept as opaque
    /// bytes per RFC 9110 section 5.5). Controls (NUL, bare CR or LF, ...) and DEL may not.
    static func isFieldLineCharacter(_ byte: UInt8) -> Bool {
        byte == tab || (byte >= 0x20 && byte != 0x7F)
    }

    /// RFC 3986 pchar minus the percent sign (checked separately with its two hex digits):
    /// unreserved / sub-delims / ":" / "@".
    static func isPathCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"),
             UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
             UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"),
             UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: "@"):
            return true
        default: return false
        }
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }

    /// ASCII lowercase of a whole string (header names and tokens are ASCII; other bytes stay as they are).
    static func asciiLowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    /// Compares two strings ignoring ASCII case, without allocating.
    static func equalIgnoringASCIICase(_ a: String, _ b: String) -> Bool {
        let left = a.utf8, right = b.utf8
        guard left.count == right.count else { return false }
        for (x, y) in zip(left, right) {
            let lx = x >= 0x41 && x <= 0x5A ? x + 0x20 : x
            let ly = y >= 0x41 && y <= 0x5A ? y + 0x20 : y
            if lx != ly { return false }
        }
        return true
    }
}
