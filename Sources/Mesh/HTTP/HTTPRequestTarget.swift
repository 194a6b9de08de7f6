/// An origin-form request-target (`/path?query`, RFC 9112 section 3.2.1), checked and decoded.
///
/// Only origin-form is accepted: this API is never a proxy (absolute-form) and has no server-wide
/// OPTIONS (asterisk-form). Fragments are never sent by clients, so `#` is refused like any byte RFC
/// 3986 does not allow in a path or query. No endpoint takes query parameters, so a query is checked
/// for bad bytes and otherwise ignored.
struct HTTPRequestTarget: Hashable, Sendable {
    var raw: String
    var path: String

    init(parsing bytes: [UInt8]) throws(HTTPParseError) {
        guard bytes.first == UInt8(ascii: "/") else {
            throw HTTPParseError(.invalidTarget, "the request target must be a path starting with '/' (origin-form), not '\(Self.printable(bytes))'")
        }
        let questionMark = bytes.firstIndex(of: UInt8(ascii: "?"))
        let pathBytes = bytes[..<(questionMark ?? bytes.endIndex)]
        let queryBytes = questionMark.map { bytes[($0 + 1)...] }

        for (index, byte) in pathBytes.enumerated() where !HTTPCharacters.isPathCharacter(byte) && byte != UInt8(ascii: "/") {
            guard byte == HTTPCharacters.percent else {
                throw HTTPParseError(.invalidTarget, "the path contains \(Self.describe(byte)) at offset \(index), which must be percent-encoded")
            }
        }
        if let queryBytes {
            var index = queryBytes.startIndex
            while index < queryBytes.endIndex {
                let byte = queryBytes[index]
                if byte == HTTPCharacters.percent {
                    // Not decoded (no route reads it), but a malformed escape is still a malformed target.
                    guard index + 2 < queryBytes.endIndex, HTTPCharacters.hexValue(queryBytes[index + 1]) != nil,
                          HTTPCharacters.hexValue(queryBytes[index + 2]) != nil
                    else {
                        throw HTTPParseError(.invalidTarget, "the query has a '%' not followed by two hex digits")
                    }
                    index += 3
                    continue
                }
                guard HTTPCharacters.isPathCharacter(byte) || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "?") else {
                    throw HTTPParseError(.invalidTarget, "the query contains \(Self.describe(byte)), which must be percent-encoded")
                }
                index += 1
            }
        }

        raw = String(decoding: bytes, as: UTF8.self)
        path = try Self.decodePath(pathBytes)
    }

    /// Percent-decodes into UTF-8 text. A `%` without two hex digits, an encoded NUL, or bytes that are
    /// not UTF-8 are refused rather than guessed at.
    static func decodePath(_ bytes: ArraySlice<UInt8>) throws(HTTPParseError) -> String {
        let what = "path"
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == HTTPCharacters.percent {
                guard index + 2 < bytes.endIndex,
                      let high = HTTPCharacters.hexValue(bytes[index + 1]),
                      let low = HTTPCharacters.hexValue(bytes[index + 2])
                else {
                    throw HTTPParseError(.invalidTarget, "the \(what) has a '%' not followed by two hex digits")
                }
                let value = high << 4 | low
                guard value != 0 else { throw HTTPParseError(.invalidTarget, "the \(what) contains an encoded NUL (%00)") }
                decoded.append(value)
                index += 3
            } else {
                decoded.append(byte)
                index += 1
            }
        }
        guard let text = String(validating: decoded, as: UTF8.self) else {
            throw HTTPParseError(.invalidTarget, "the \(what) decodes to bytes that are not UTF-8")
        }
        return text
    }

    static func describe(_ byte: UInt8) -> String {
        HTTPCharacters.isVisibleASCII(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }

    /// Up to 60 visible characters of untrusted input for an error message; the rest elided.
    static func printable<C: Collection<UInt8>>(_ bytes: C) -> String {
        let shown = bytes.prefix(60).map { HTTPCharacters.isVisibleASCII($0) || $0 == HTTPCharacters.space ? $0 : UInt8(ascii: "?") }
        return String(decoding: shown, as: UTF8.self) + (bytes.count > 60 ? "..." : "")
    }
}
