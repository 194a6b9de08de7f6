/// A strict HTTP/1.1 request parser: a pure incremental state machine with no I/O.
///
/// Feed it bytes as they arrive with `append`, then call `next()` until it says `.needMore`. Each call
/// gives a complete request (pipelined requests come out one by one, in order), `.needMore`, or
/// `.failed` with the status to answer; after a failure it stays failed, because the byte stream is
/// out of step and the connection must close.
///
/// Bytes are examined once each, as they arrive, so byte-by-byte feeding costs no more than one big
/// chunk, and garbage is refused at its first impossible byte rather than after 8 KiB or a timeout.
///
/// Accepted: `METHOD SP origin-form SP HTTP/1.x CRLF`, token header names directly followed by a
/// colon, CRLF line endings only, empty lines before the request line (RFC 9112 2.2), bodies framed
/// by one Content-Length. Refused: see `HTTPParseError.Kind`.
struct HTTPRequestParser: Sendable {
    public enum Outcome: Sendable {
        case request(HTTPRequest)
        case needMore
        case failed(HTTPParseError)
    }

    public let limits: HTTPParserLimits

    private enum Phase: Sendable { case requestLine, headers, body }

    /// Bytes of the current request and any after it. Index 0 is where the current request began.
    private var buffer: [UInt8] = []
    /// The next byte to examine (head phases only).
    private var scan = 0
    private var lineStart = 0
    private var afterCR = false
    /// Spaces seen on the request line so far; before the first one we are inside the method.
    private var requestLineSpaces = 0
    /// Whether the current header line's colon has been seen.
    private var colonSeen = false
    private var phase = Phase.requestLine
    private var method = ""
    private var target: HTTPRequestTarget?
    private var version = HTTPVersion.http11
    private var headers = HTTPHeaders()
    private var head: HTTPRequestHead?
    private var bodyStart = 0
    private var continueAnswered = false
    private var failure: HTTPParseError?

    public init(limits: HTTPParserLimits = HTTPParserLimits()) {
        self.limits = limits
    }

    /// Buffers bytes for `next()`. Ignored once failed. Call `next()` until `.needMore` before appending
    /// again: that keeps the buffer within one request's limits plus one read.
    public mutating func append<Bytes: Sequence<UInt8>>(_ bytes: Bytes) {
        guard failure == nil else { return }
        buffer.append(contentsOf: bytes)
    }

    /// Whether bytes of an unfinished request are buffered: a timeout now interrupts a request (408)
    /// rather than ending an idle keep-alive connection.
    public var hasPartialRequest: Bool { !buffer.isEmpty }

    /// The head is complete and the body is being read.
    public var isReadingBody: Bool { phase == .body }

    /// The client sent `Expect: 100-continue` and waits for our go-ahead before sending the body. The
    /// server answers `100 Continue` and calls `continueWasSent()`.
    public var needsContinue: Bool {
        guard phase == .body, let head, head.expectsContinue, !continueAnswered else { return false }
        return buffer.count == bodyStart
    }

    public mutating func continueWasSent() { continueAnswered = true }

    /// The next complete request, `.needMore`, or the error that ends this connection.
    public mutating func next() -> Outcome {
        if let failure { return .failed(failure) }
        do {
            while true {
                if phase == .body {
                    guard let head, buffer.count - bodyStart >= head.contentLength else { return .needMore }
                    let body = Array(buffer[bodyStart..<(bodyStart + head.contentLength)])
                    return .request(finishRequest(head: head, body: body, consumed: bodyStart + head.contentLength))
                }
                guard scan < buffer.count else { return .needMore }
                let byte = buffer[scan]
                scan += 1
                if let request = try examine(byte) { return .request(request) }
            }
        } catch {
            failure = error
            buffer = []
            return .failed(error)
        }
    }

    // MARK: - The head, one byte at a time

    /// Checks one byte of the head (already counted in `scan`); returns a request when this byte ends
    /// the head of a request without a body.
    private mutating func examine(_ byte: UInt8) throws(HTTPParseError) -> HTTPRequest? {
        if scan > limits.maxHeadBytes {
            throw HTTPParseError(.headerTooLarge, "the request line and headers are over \(limits.maxHeadBytes) bytes; send fewer or shorter headers")
        }
        if afterCR {
            guard byte == HTTPCharacters.lf else {
                throw HTTPParseError(.invalidCharacter, "a CR not followed by LF; lines must end with CRLF")
            }
            afterCR = false
            let line = lineStart..<(scan - 2)
            lineStart = scan
            return try endOfLine(line)
        }
        if byte == HTTPCharacters.cr {
            afterCR = true
            return nil
        }
        if byte == HTTPCharacters.lf {
            throw HTTPParseError(.invalidCharacter, "a bare LF; lines must end with CRLF")
        }
        switch phase {
        case .requestLine: try examineRequestLineByte(byte)
        case .headers: try examineHeaderByte(byte, atLineStart: scan - 1 == lineStart)
        case .body: break
        }
        return nil
    }

    private mutating func examineRequestLineByte(_ byte: UInt8) throws(HTTPParseError) {
        if scan - lineStart > limits.maxRequestLineBytes {
            throw HTTPParseError(.requestLineTooLong, "the request line is over \(limits.maxRequestLineBytes) bytes; use a shorter path and query")
        }
        if byte == HTTPCharacters.space {
            requestLineSpaces += 1
            return
        }
        if requestLineSpaces == 0 {
            guard HTTPCharacters.isTokenCharacter(byte) else {
                throw HTTPParseError(.malformedRequestLine, "the method contains \(HTTPRequestTarget.describe(byte)); expected a request line such as 'GET /v1/status HTTP/1.1'")
            }
            guard scan - lineStart <= HTTPParserLimits.maxMethodBytes else {
                throw HTTPParseError(.malformedRequestLine, "the method is longer than \(HTTPParserLimits.maxMethodBytes) bytes")
            }
        } else if !HTTPCharacters.isVisibleASCII(byte) {
            throw HTTPParseError(.invalidCharacter, "the request line contains \(HTTPRequestTarget.describe(byte)); targets must be ASCII with other bytes percent-encoded")
        }
    }

    private mutating func examineHeaderByte(_ byte: UInt8, atLineStart: Bool) throws(HTTPParseError) {
        if atLineStart, byte == HTTPCharacters.space || byte == HTTPCharacters.tab {
            if headers.count == 0 {
                throw HTTPParseError(.malformedHeader, "whitespace between the request line and the first header")
            }
            throw HTTPParseError(.obsoleteLineFolding, "a header line starts with whitespace (obsolete line folding); put each header on one line")
        }
        if colonSeen {
            guard HTTPCharacters.isFieldLineCharacter(byte) else {
                throw HTTPParseError(.invalidCharacter, "a header value contains the control character \(HTTPRequestTarget.describe(byte))")
            }
            return
        }
        if byte == HTTPCharacters.colon {
            guard !atLineStart else { throw HTTPParseError(.malformedHeader, "a header line with an empty name") }
            colonSeen = true
            return
        }
        if byte == HTTPCharacters.space || byte == HTTPCharacters.tab {
            throw HTTPParseError(.malformedHeader, "whitespace between a header name and its colon (RFC 9112 5.1 forbids it)")
        }
        guard HTTPCharacters.isTokenCharacter(byte) else {
            throw HTTPParseError(.malformedHeader, "a header name contains \(HTTPRequestTarget.describe(byte)); names are tokens followed directly by ':'")
        }
    }

    /// `line` is the line's content without its CRLF.
    private mutating func endOfLine(_ line: Range<Int>) throws(HTTPParseError) -> HTTPRequest? {
        switch phase {
        case .requestLine:
            // Empty lines before a request are tolerated (RFC 9112 2.2); they count towards the head limit.
            guard !line.isEmpty else { return nil }
            try parseRequestLine(buffer[line])
            phase = .headers
            return nil
        case .headers:
            if line.isEmpty { return try finishHead() }
            guard colonSeen else {
                throw HTTPParseError(.malformedHeader, "the header line '\(HTTPRequestTarget.printable(buffer[line]))' has no colon")
            }
            colonSeen = false
            guard headers.count < limits.maxHeaderCount else {
                throw HTTPParseError(.tooManyHeaders, "more than \(limits.maxHeaderCount) header lines")
            }
            let bytes = buffer[line]
            let colon = bytes.firstIndex(of: HTTPCharacters.colon) ?? bytes.endIndex
            let name = String(decoding: bytes[..<colon], as: UTF8.self)
            let rawValue = colon < bytes.endIndex ? bytes[(colon + 1)...] : []
            // obs-text bytes (0x80-0xFF) are opaque data to us; invalid UTF-8 shows as U+FFFD.
            let value = String(decoding: rawValue, as: UTF8.self).trimmingOptionalWhitespace()
            headers.append(name, value)
            return nil
        case .body:
            return nil
        }
    }

    private mutating func parseRequestLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) {
        let parts = line.split(separator: HTTPCharacters.space, omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }) else {
            throw HTTPParseError(.malformedRequestLine, "the request line '\(HTTPRequestTarget.printable(line))' is not 'METHOD /path HTTP/1.1' with single spaces")
        }
        version = try HTTPRequestFraming.version(parts[2])
        method = String(decoding: parts[0], as: UTF8.self)
        target = try HTTPRequestTarget(parsing: Array(parts[1]))
    }

    // MARK: - From a complete head to a request

    private mutating func finishHead() throws(HTTPParseError) -> HTTPRequest? {
        let hosts = headers.values("Host")
        if hosts.count > 1 { throw HTTPParseError(.invalidHost, "the request has \(hosts.count) Host headers; send exactly one") }
        if version == .http11 && hosts.isEmpty {
            throw HTTPParseError(.invalidHost, "an HTTP/1.1 request needs a Host header (RFC 9112 3.2)")
        }

        let contentLength = try HTTPRequestFraming.contentLength(headers, limits: limits)
        let connection = headers.lowercasedListElements("Connection")
        let keepAlive = connection.contains("close") ? false : (version == .http11 || connection.contains("keep-alive"))

        var expectsContinue = false
        let expectations = headers.lowercasedListElements("Expect")
        if !expectations.isEmpty {
            guard expectations.allSatisfy({ $0 == "100-continue" }) else {
                throw HTTPParseError(.unsupportedExpectation, "only 'Expect: 100-continue' is supported")
            }
            // HTTP/1.0 clients do not wait for a 100 (RFC 9110 10.1.1), and without a body there is nothing to wait for.
            expectsContinue = version == .http11 && contentLength > 0
        }

        guard let target else { throw HTTPParseError(.malformedRequestLine, "no request line") }
        let head = HTTPRequestHead(
            method: method, target: target, version: version, headers: headers, keepAlive: keepAlive,
            contentLength: contentLength, expectsContinue: expectsContinue)
        if contentLength == 0 {
            return finishRequest(head: head, body: [], consumed: scan)
        }
        self.head = head
        phase = .body
        bodyStart = scan
        return nil
    }

    /// Hands out the request and drops its bytes, keeping whatever follows (the next pipelined request).
    private mutating func finishRequest(head: HTTPRequestHead, body: [UInt8], consumed: Int) -> HTTPRequest {
        let request = HTTPRequest(head: head, body: body)
        buffer.removeFirst(consumed)
        scan = 0
        lineStart = 0
        afterCR = false
        requestLineSpaces = 0
        colonSeen = false
        phase = .requestLine
        method = ""
        target = nil
        version = .http11
        headers = HTTPHeaders()
        self.head = nil
        bodyStart = 0
        continueAnswered = false
        return request
    }
}
