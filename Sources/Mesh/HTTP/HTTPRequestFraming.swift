/// The rules that decide how a request is framed: which protocol version it speaks and how long its
/// body is. Kept apart from the byte-level parser because this is where request smuggling is
/// prevented: exactly one way to know where a request ends, or the request is refused.
enum HTTPRequestFraming {
    static func version(_ bytes: ArraySlice<UInt8>) throws(HTTPParseError) -> HTTPVersion {
        let text = Array(bytes)
        let isDigit = { (byte: UInt8) in byte >= 0x30 && byte <= 0x39 }
        guard text.count == 8, text[0..<5] == Array("HTTP/".utf8)[...], isDigit(text[5]), text[6] == UInt8(ascii: "."), isDigit(text[7]) else {
            throw HTTPParseError(.malformedRequestLine, "'\(HTTPRequestTarget.printable(bytes))' is not an HTTP version such as HTTP/1.1")
        }
        switch (text[5], text[7]) {
        case (UInt8(ascii: "1"), UInt8(ascii: "1")): return .http11
        case (UInt8(ascii: "1"), UInt8(ascii: "0")): return .http10
        default:
            throw HTTPParseError(.unsupportedVersion, "\(String(decoding: text, as: UTF8.self)) is not supported; use HTTP/1.1 (or HTTP/1.0)")
        }
    }

    /// The body's length from Content-Length; Transfer-Encoding is refused (see the kinds for why).
    static func contentLength(_ headers: HTTPHeaders, limits: HTTPParserLimits) throws(HTTPParseError) -> Int {
        let lengths = headers.values("Content-Length")
        let codings = headers.lowercasedListElements("Transfer-Encoding")
        if headers.contains("Transfer-Encoding") {
            if !lengths.isEmpty {
                // Both framings at once is the classic request-smuggling vector (RFC 9112 6.3 rule 3).
                throw HTTPParseError(.invalidContentLength, "the request has both Transfer-Encoding and Content-Length")
            }
            if codings.last == "chunked" {
                throw HTTPParseError(.lengthRequired, "chunked bodies are not accepted; send the body with a Content-Length header")
            }
            throw HTTPParseError(.invalidTransferEncoding, "Transfer-Encoding '\(codings.joined(separator: ", "))' does not end in chunked, so the body length is unknown (RFC 9112 6.3)")
        }
        guard let first = lengths.first else { return 0 }
        if lengths.count > 1 {
            let detail = Set(lengths).count == 1 ? "appears \(lengths.count) times" : "has conflicting values \(lengths.map { "'\($0)'" }.joined(separator: " and "))"
            throw HTTPParseError(.invalidContentLength, "Content-Length \(detail); send it once")
        }
        let digits = Array(first.utf8)
        guard !digits.isEmpty, digits.count <= HTTPParserLimits.maxContentLengthDigits,
              digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let length = Int(first)
        else {
            if !digits.isEmpty, digits.count > HTTPParserLimits.maxContentLengthDigits, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
                throw HTTPParseError(.bodyTooLarge, "the declared body is over the limit of \(limits.maxBodyBytes) bytes")
            }
            throw HTTPParseError(.invalidContentLength, "Content-Length '\(HTTPRequestTarget.printable(first.utf8))' is not a decimal number of bytes")
        }
        guard length <= limits.maxBodyBytes else {
            throw HTTPParseError(.bodyTooLarge, "the body of \(length) bytes is over the limit of \(limits.maxBodyBytes) bytes")
        }
        return length
    }
}
