/// Why a request was refused before it reached a handler. Each kind maps to the status we answer
/// with, and its raw value is the `kind` label of the parse-error counter.
public struct HTTPParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        /// Not `METHOD SP target SP version`, or a method that is not a token.
        case malformedRequestLine = "malformed_request_line"
        /// A target that is not origin-form (`/path?query`), has bytes RFC 3986 forbids, or bad escapes.
        case invalidTarget = "invalid_target"
        /// Well-formed but not HTTP/1.0 or HTTP/1.1: 505.
        case unsupportedVersion = "unsupported_version"
        /// A header line without a colon, a name that is not a token, whitespace before the colon.
        case malformedHeader = "malformed_header"
        /// A header line continued on the next line (obs-fold), forbidden by RFC 9112 section 5.2.
        case obsoleteLineFolding = "obsolete_line_folding"
        /// A bare CR or LF, or a control character inside a line.
        case invalidCharacter = "invalid_character"
        /// The request line alone is over its limit: 414.
        case requestLineTooLong = "request_line_too_long"
        /// The head (request line and headers) is over its size limit: 431.
        case headerTooLarge = "header_too_large"
        /// More header lines than allowed: 431.
        case tooManyHeaders = "too_many_headers"
        /// HTTP/1.1 without exactly one Host header, or several Host headers.
        case invalidHost = "invalid_host"
        /// Content-Length not a plain decimal number, given more than once, or beside Transfer-Encoding.
        case invalidContentLength = "invalid_content_length"
        /// Transfer-Encoding ending in chunked: we only take bodies with a Content-Length, so 411.
        case lengthRequired = "length_required"
        /// Transfer-Encoding whose final coding is not chunked (RFC 9112 6.3 makes that a 400), or on HTTP/1.0.
        case invalidTransferEncoding = "invalid_transfer_encoding"
        /// A declared body over the limit: 413.
        case bodyTooLarge = "body_too_large"
        /// An Expect header other than 100-continue: 417.
        case unsupportedExpectation = "unsupported_expectation"
        /// The head or the body did not arrive within the read timeout: 408 (the server's verdict, not the parser's).
        case timedOut = "timed_out"
    }

    public var kind: Kind
    /// What was wrong, for the operator or the client's developer; goes into the JSON error body.
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    var status: HTTPStatus {
        switch kind {
        case .unsupportedVersion: return .httpVersionNotSupported
        case .requestLineTooLong: return .uriTooLong
        case .headerTooLarge, .tooManyHeaders: return .requestHeaderFieldsTooLarge
        case .lengthRequired: return .lengthRequired
        case .bodyTooLarge: return .contentTooLarge
        case .unsupportedExpectation: return .expectationFailed
        case .timedOut: return .requestTimeout
        case .malformedRequestLine, .invalidTarget, .malformedHeader, .obsoleteLineFolding, .invalidCharacter,
             .invalidHost, .invalidContentLength, .invalidTransferEncoding:
            return .badRequest
        }
    }

    public var description: String { "\(status): \(message)" }
}
