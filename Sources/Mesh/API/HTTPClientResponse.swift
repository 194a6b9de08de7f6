/// A complete response read by `HTTPClientConnection`.
struct HTTPClientResponse: Sendable {
    public var status: Int
    public var reason: String
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, reason: String = "", headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Reads one response out of the bytes received so far. Strict where a mistake could desynchronise a
/// kept-alive connection: one status line, header lines without folding, and a body framed by
/// `Content-Length` only (our server always sends one; chunked and close-delimited bodies are refused).
struct HTTPClientResponseParser {
    enum Step {
        case needMore
        /// A complete response and how many bytes of the buffer it used.
        case response(HTTPClientResponse, consumed: Int)
    }

    struct Failure: Error { var reason: String }

    var maxHeadBytes: Int
    var maxBodyBytes: Int

    /// `respondingToHead`: a HEAD answer has headers only, whatever its Content-Length says.
    func parse(_ buffer: [UInt8], respondingToHead: Bool) throws(Failure) -> Step {
        guard let headEnd = Self.endOfHead(buffer) else {
            guard buffer.count <= maxHeadBytes else { throw Failure(reason: "the response head is over \(maxHeadBytes) bytes") }
            return .needMore
        }
        guard headEnd <= maxHeadBytes else { throw Failure(reason: "the response head is over \(maxHeadBytes) bytes") }
        guard let headText = String(validating: buffer[..<(headEnd - 4)], as: UTF8.self) else {
            throw Failure(reason: "the response head is not UTF-8 text")
        }
        var lines = headText.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let statusLine = lines.removeFirst()
        let (status, reason) = try Self.parseStatusLine(statusLine)
        var headers = HTTPHeaders()
        for line in lines {
            guard let first = line.first, first != " ", first != "\t" else {
                throw Failure(reason: "a header line is empty or folded")
            }
            guard let colon = line.firstIndex(of: ":") else { throw Failure(reason: "a header line has no colon") }
            let name = String(line[..<colon])
            guard HTTPCharacters.isToken(name.utf8) else { throw Failure(reason: "a header name is not a token") }
            headers.append(name, String(line[line.index(after: colon)...]).trimmingOptionalWhitespace())
        }

        let hasBody = !respondingToHead && !HTTPStatus(code: status).forbidsBody
        guard headers["Transfer-Encoding"] == nil else {
            throw Failure(reason: "the response uses Transfer-Encoding, which this client does not read; only Content-Length bodies")
        }
        var length = 0
        if hasBody {
            let values = Set(headers.values("Content-Length"))
            guard values.count == 1, let text = values.first else {
                throw Failure(reason: values.isEmpty ? "the response has no Content-Length" : "the response has conflicting Content-Length headers")
            }
            guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(text) else {
                throw Failure(reason: "Content-Length '\(text.prefix(20))' is not a number")
            }
            guard value <= maxBodyBytes else { throw Failure(reason: "the response body of \(value) bytes is over the limit of \(maxBodyBytes)") }
            length = value
        }
        guard buffer.count - headEnd >= length else { return .needMore }
        let body = Array(buffer[headEnd..<(headEnd + length)])
        return .response(HTTPClientResponse(status: status, reason: reason, headers: headers, body: body), consumed: headEnd + length)
    }

    /// The index just past the CRLFCRLF ending the head, or nil.
    static func endOfHead(_ buffer: [UInt8]) -> Int? {
        guard buffer.count >= 4 else { return nil }
        for index in 3..<buffer.count
        where buffer[index] == 0x0A && buffer[index - 1] == 0x0D && buffer[index - 2] == 0x0A && buffer[index - 3] == 0x0D {
            return index + 1
        }
        return nil
    }

    /// `HTTP/1.1 200 OK`: the version, a space, three digits, then an optional reason.
    static func parseStatusLine(_ line: String) throws(Failure) -> (Int, String) {
        let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "HTTP/1.1" || parts[0] == "HTTP/1.0" else {
            throw Failure(reason: "the status line '\(line.prefix(40))' is not HTTP/1.x")
        }
        guard parts[1].utf8.count == 3, let code = Int(parts[1]), (100...599).contains(code) else {
            throw Failure(reason: "the status code '\(parts[1].prefix(10))' is not a number from 100 to 599")
        }
        return (code, parts.count > 2 ? String(parts[2]) : "")
    }
}
