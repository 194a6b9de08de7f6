@testable import Mesh
import Testing

/// The request parser on its own: no sockets, bytes in, requests or typed errors out.
@Suite struct HTTPParserTests {
    /// Feeds `text` in one piece and returns the first outcome that is not `.needMore` (nil if none).
    static func parse(_ text: String, limits: HTTPParserLimits = HTTPParserLimits()) -> HTTPRequestParser.Outcome? {
        parse(Array(text.utf8), limits: limits)
    }

    static func parse(_ bytes: [UInt8], limits: HTTPParserLimits = HTTPParserLimits()) -> HTTPRequestParser.Outcome? {
        var parser = HTTPRequestParser(limits: limits)
        parser.append(bytes)
        let outcome = parser.next()
        if case .needMore = outcome { return nil }
        return outcome
    }

    /// Feeds one byte at a time; returns the outcome and how many bytes it took to get there.
    static func parseByteByByte(_ bytes: [UInt8], limits: HTTPParserLimits = HTTPParserLimits()) -> (HTTPRequestParser.Outcome, Int)? {
        var parser = HTTPRequestParser(limits: limits)
        for (index, byte) in bytes.enumerated() {
            parser.append([byte])
            switch parser.next() {
            case .needMore: continue
            case let outcome: return (outcome, index + 1)
            }
        }
        return nil
    }

    static func request(_ text: String) throws -> HTTPRequest {
        guard case .request(let request) = parse(text) else {
            Issue.record("expected a request from \(text.debugDescription), got \(String(describing: parse(text)))")
            throw ParseFailed()
        }
        return request
    }

    struct ParseFailed: Error {}

    static func error(_ text: String, limits: HTTPParserLimits = HTTPParserLimits()) -> HTTPParseError? {
        error(Array(text.utf8), limits: limits)
    }

    static func error(_ bytes: [UInt8], limits: HTTPParserLimits = HTTPParserLimits()) -> HTTPParseError? {
        guard case .failed(let error) = parse(bytes, limits: limits) else { return nil }
        return error
    }

    // MARK: - Valid requests

    @Test func simpleGetIsParsed() throws {
        let request = try Self.request("GET /v1/status HTTP/1.1\r\nHost: localhost:7947\r\nUser-Agent: curl/8.5\r\nAccept: */*\r\n\r\n")
        #expect(request.method == "GET")
        #expect(request.target == "/v1/status")
        #expect(request.path == "/v1/status")
        #expect(request.version == .http11)
        #expect(request.headers["host"] == "localhost:7947")
        #expect(request.headers["USER-AGENT"] == "curl/8.5")
        #expect(request.headers.count == 3)
        #expect(request.body.isEmpty)
        #expect(request.keepAlive)
    }

    @Test func postBodyIsReadByContentLength() throws {
        let request = try Self.request("POST /v1/acquire HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"cores\": 4}\n")
        #expect(request.method == "POST")
        #expect(request.body == Array("{\"cores\": 4}\n".utf8))
        #expect(request.headers["content-type"] == "application/json")
    }

    @Test func headerValuesAreTrimmedAndKeepTheirOrder() throws {
        let request = try Self.request("GET / HTTP/1.1\r\nHost:x\r\nX-A: \t one two \t\r\nX-a: second\r\nX-Empty:\r\n\r\n")
        #expect(request.headers["Host"] == "x")
        #expect(request.headers.values("x-a") == ["one two", "second"])
        #expect(request.headers["X-Empty"] == "")
        #expect(request.headers.fields.map(\.name) == ["Host", "X-A", "X-a", "X-Empty"])
    }

    @Test func pathIsPercentDecodedAndTheQueryIsCheckedButNotPartOfThePath() throws {
        let request = try Self.request("GET /v1/a%20b/%E2%9C%93?x=1&y=hello+world&z=%26%3D&flag&&empty= HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(request.path == "/v1/a b/\u{2713}")
        #expect(request.target == "/v1/a%20b/%E2%9C%93?x=1&y=hello+world&z=%26%3D&flag&&empty=")
        #expect(try Self.request("GET /a+b HTTP/1.1\r\nHost: x\r\n\r\n").path == "/a+b")
    }

    @Test func emptyLinesBeforeTheRequestLineAreSkipped() throws {
        let request = try Self.request("\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(request.path == "/health")
    }

    @Test func http10NeedsNoHostAndDefaultsToClose() throws {
        let request = try Self.request("GET /health HTTP/1.0\r\n\r\n")
        #expect(request.version == .http10)
        #expect(!request.keepAlive)
    }

    @Test(arguments: [
        ("HTTP/1.1", "", true),
        ("HTTP/1.1", "Connection: close\r\n", false),
        ("HTTP/1.1", "Connection: Keep-Alive, CLOSE\r\n", false),
        ("HTTP/1.1", "Connection: keep-alive\r\n", true),
        ("HTTP/1.1", "Connection: upgrade\r\nConnection: close\r\n", false),
        ("HTTP/1.0", "", false),
        ("HTTP/1.0", "Connection: keep-alive\r\n", true),
        ("HTTP/1.0", "Connection: Keep-Alive\r\n", true),
        ("HTTP/1.0", "Connection: keep-alive, close\r\n", false),
    ])
    func keepAliveFollowsVersionAndConnectionHeader(version: String, header: String, keepAlive: Bool) throws {
        let request = try Self.request("GET / \(version)\r\nHost: x\r\n\(header)\r\n")
        #expect(request.keepAlive == keepAlive)
    }

    @Test func bodyExactlyAtTheLimitIsAccepted() throws {
        let limits = HTTPParserLimits(maxBodyBytes: 10)
        let body = String(repeating: "b", count: 10)
        guard case .request(let request) = Self.parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n\(body)", limits: limits) else {
            Issue.record("a body at the limit was refused")
            return
        }
        #expect(request.body.count == 10)
    }

    // MARK: - Incremental feeding and pipelining

    @Test func byteByByteGivesTheSameRequestAndNeedsEveryByte() throws {
        let text = "POST /v1/validate?feature=solver HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        let bytes = Array(text.utf8)
        let result = try #require(Self.parseByteByByte(bytes))
        #expect(result.1 == bytes.count, "the request completed before its last byte")
        guard case .request(let request) = result.0 else {
            Issue.record("expected a request, got \(result.0)")
            return
        }
        #expect(request.body == Array("hello".utf8))
        #expect(request.path == "/v1/validate")
    }

    @Test func pipelinedRequestsComeOutInOrderAndAPartialThirdWaits() throws {
        var parser = HTTPRequestParser()
        parser.append(Array((
            "GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
            + "POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
            + "GET /thr").utf8))
        guard case .request(let first) = parser.next(), case .request(let second) = parser.next() else {
            Issue.record("two pipelined requests were not both returned")
            return
        }
        #expect(first.path == "/one")
        #expect(second.path == "/two")
        #expect(second.body == Array("abc".utf8))
        guard case .needMore = parser.next() else {
            Issue.record("a partial third request was not left waiting")
            return
        }
        #expect(parser.hasPartialRequest)
        parser.append(Array("ee HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        guard case .request(let third) = parser.next() else {
            Issue.record("the third request did not complete")
            return
        }
        #expect(third.path == "/three")
        guard case .needMore = parser.next() else {
            Issue.record("a drained parser must need more")
            return
        }
        #expect(!parser.hasPartialRequest)
    }

    @Test func partialHeadAndPartialBodyNeedMore() {
        var parser = HTTPRequestParser()
        parser.append(Array("POST / HTTP/1.1\r\nHost: x\r\nContent-Le".utf8))
        guard case .needMore = parser.next() else {
            Issue.record("partial head")
            return
        }
        #expect(!parser.isReadingBody)
        parser.append(Array("ngth: 4\r\n\r\nab".utf8))
        guard case .needMore = parser.next() else {
            Issue.record("partial body")
            return
        }
        #expect(parser.isReadingBody)
        parser.append(Array("cd".utf8))
        guard case .request(let request) = parser.next() else {
            Issue.record("complete body")
            return
        }
        #expect(request.body == Array("abcd".utf8))
    }

    @Test func expectContinueIsSignalledOnceBeforeTheBody() {
        var parser = HTTPRequestParser()
        parser.append(Array("POST /v1/acquire HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n".utf8))
        guard case .needMore = parser.next() else {
            Issue.record("the body is still missing")
            return
        }
        #expect(parser.needsContinue)
        parser.continueWasSent()
        #expect(!parser.needsContinue)
        parser.append(Array("{}".utf8))
        guard case .request = parser.next() else {
            Issue.record("the request should complete with its body")
            return
        }
        // Without a body there is nothing to wait for.
        var empty = HTTPRequestParser()
        empty.append(Array("GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n".utf8))
        guard case .request = empty.next() else {
            Issue.record("a body-less request with Expect completes at once")
            return
        }
        #expect(!empty.needsContinue)
    }

    // MARK: - Rejections

    /// Every rejection: what is sent, the kind and the status it gets. Each is also checked byte by byte.
    static let rejections: [(String, String, HTTPParseError.Kind, Int)] = [
        ("missing version", "GET /\r\nHost: x\r\n\r\n", .malformedRequestLine, 400),
        ("two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", .malformedRequestLine, 400),
        ("space in target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", .malformedRequestLine, 400),
        ("method not a token", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", .malformedRequestLine, 400),
        ("method too long", String(repeating: "A", count: 40) + " / HTTP/1.1\r\nHost: x\r\n\r\n", .malformedRequestLine, 400),
        ("lowercase version", "GET / http/1.1\r\nHost: x\r\n\r\n", .malformedRequestLine, 400),
        ("version garbage", "GET / HTTP/1.1x\r\nHost: x\r\n\r\n", .malformedRequestLine, 400),
        ("HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", .unsupportedVersion, 505),
        ("HTTP/0.9 style", "GET / HTTP/0.9\r\n\r\n", .unsupportedVersion, 505),
        ("HTTP/1.2", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", .unsupportedVersion, 505),
        ("absolute form", "GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", .invalidTarget, 400),
        ("asterisk form", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", .invalidTarget, 400),
        ("bad escape", "GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", .invalidTarget, 400),
        ("truncated escape", "GET /a%2 HTTP/1.1\r\nHost: x\r\n\r\n", .invalidTarget, 400),
        ("encoded NUL", "GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n", .invalidTarget, 400),
        ("escape not UTF-8", "GET /a%FF HTTP/1.1\r\nHost: x\r\n\r\n", .invalidTarget, 400),
        ("fragment", "GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n", .invalidTarget, 400),
        ("unescaped quote", "GET /a\"b HTTP/1.1\r\nHost: x\r\n\r\n", .invalidTarget, 400),
        ("bad query escape", "GET /a?x=%G0 HTTP/1.1\r\nHost: x\r\n\r\n", .invalidTarget, 400),
        ("tab in request line", "GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", .malformedRequestLine, 400),
        ("bare LF", "GET / HTTP/1.1\nHost: x\n\n", .invalidCharacter, 400),
        ("bare CR", "GET / HTTP/1.1\rHost: x\r\n\r\n", .invalidCharacter, 400),
        ("NUL in header value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\u{0}b\r\n\r\n", .invalidCharacter, 400),
        ("header without colon", "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", .malformedHeader, 400),
        ("space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", .malformedHeader, 400),
        ("empty header name", "GET / HTTP/1.1\r\nHost: x\r\n: value\r\n\r\n", .malformedHeader, 400),
        ("header name not a token", "GET / HTTP/1.1\r\nHost: x\r\nX(A): y\r\n\r\n", .malformedHeader, 400),
        ("whitespace before first header", "GET / HTTP/1.1\r\n Host: x\r\n\r\n", .malformedHeader, 400),
        ("obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n", .obsoleteLineFolding, 400),
        ("missing Host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", .invalidHost, 400),
        ("two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", .invalidHost, 400),
        ("two Hosts on 1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", .invalidHost, 400),
        ("chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", .lengthRequired, 411),
        ("gzip, chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", .lengthRequired, 411),
        ("chunked not last", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", .invalidTransferEncoding, 400),
        ("unknown coding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", .invalidTransferEncoding, 400),
        ("TE and CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello", .invalidContentLength, 400),
        ("duplicate CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", .invalidContentLength, 400),
        ("conflicting CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", .invalidContentLength, 400),
        ("CL list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello", .invalidContentLength, 400),
        ("CL not a number", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: five\r\n\r\n", .invalidContentLength, 400),
        ("CL with sign", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello", .invalidContentLength, 400),
        ("CL negative", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", .invalidContentLength, 400),
        ("CL empty", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", .invalidContentLength, 400),
        ("CL over limit", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n", .bodyTooLarge, 413),
        ("CL huge", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", .bodyTooLarge, 413),
        ("unknown expectation", "POST / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx", .unsupportedExpectation, 417),
        ("TLS client hello", "\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}", .malformedRequestLine, 400),
        ("DEL in header", "GET / HTTP/1.1\r\nHost: x\u{7F}\r\n\r\n", .invalidCharacter, 400),
    ]

    @Test(arguments: rejections.indices)
    func rejectionHasItsKindAndStatus(index: Int) throws {
        let (name, text, kind, status) = Self.rejections[index]
        let bytes = Array(text.utf8)
        let error = try #require(Self.error(bytes), "\(name): was not rejected")
        #expect(error.kind == kind, "\(name): \(error)")
        #expect(error.status.code == status, "\(name): \(error)")
        #expect(!error.message.isEmpty)
        let (outcome, _) = try #require(Self.parseByteByByte(bytes), "\(name): not rejected when fed byte by byte")
        guard case .failed(let byteError) = outcome else {
            Issue.record("\(name): byte by byte gave \(outcome)")
            return
        }
        #expect(byteError.kind == kind, "\(name) byte by byte: \(byteError)")
    }

    @Test func garbageIsRejectedAtItsFirstImpossibleByteWithoutALineEnd() throws {
        // No CRLF anywhere: a parser that waited for the end of the head would sit until the timeout.
        let (outcome, consumed) = try #require(Self.parseByteByByte([0x16, 0x03, 0x01, 0x00, 0xA5, 0x01]))
        guard case .failed(let error) = outcome else {
            Issue.record("expected a failure, got \(outcome)")
            return
        }
        #expect(error.status == .badRequest)
        #expect(consumed == 1)
        let (_, nulConsumed) = try #require(Self.parseByteByByte(Array("GET /\u{0}".utf8)))
        #expect(nulConsumed == 6)
    }

    @Test func tooManyHeadersIs431() throws {
        let limits = HTTPParserLimits(maxHeaderCount: 100)
        var text = "GET / HTTP/1.1\r\nHost: x\r\n"
        for index in 0..<99 { text += "X-\(index): v\r\n" }
        guard case .request(let request) = Self.parse(text + "\r\n", limits: limits) else {
            Issue.record("100 headers are within the limit")
            return
        }
        #expect(request.headers.count == 100)
        let error = try #require(Self.error(text + "X-Last: v\r\n\r\n", limits: limits))
        #expect(error.kind == .tooManyHeaders)
        #expect(error.status.code == 431)
    }

    @Test func oversizedHeadIs431EvenWithoutALineEnd() throws {
        let limits = HTTPParserLimits(maxHeadBytes: 8 * 1024)
        let fitting = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "v", count: 8_000) + "\r\n\r\n"
        #expect(fitting.utf8.count <= 8 * 1024)
        guard case .request = Self.parse(fitting, limits: limits) else {
            Issue.record("a head under the limit was refused")
            return
        }
        // A header that never ends: refused once it passes the limit, not buffered forever.
        var parser = HTTPRequestParser(limits: limits)
        parser.append(Array("GET / HTTP/1.1\r\nHost: x\r\nX-Big: ".utf8))
        var outcome = parser.next()
        var fed = 0
        while case .needMore = outcome, fed < 100_000 {
            parser.append([UInt8](repeating: UInt8(ascii: "v"), count: 1_000))
            fed += 1_000
            outcome = parser.next()
        }
        guard case .failed(let error) = outcome else {
            Issue.record("an endless header was never refused")
            return
        }
        #expect(error.kind == .headerTooLarge)
        #expect(error.status.code == 431)
        #expect(fed <= 9_000)
    }

    @Test func overlongRequestLineIs414() throws {
        let limits = HTTPParserLimits(maxRequestLineBytes: 100)
        let error = try #require(Self.error("GET /" + String(repeating: "a", count: 200) + " HTTP/1.1\r\nHost: x\r\n\r\n", limits: limits))
        #expect(error.kind == .requestLineTooLong)
        #expect(error.status.code == 414)
    }

    @Test func aFailedParserStaysFailed() {
        var parser = HTTPRequestParser()
        parser.append(Array("BAD\u{1}".utf8))
        guard case .failed(let first) = parser.next() else {
            Issue.record("garbage accepted")
            return
        }
        parser.append(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        guard case .failed(let second) = parser.next() else {
            Issue.record("a failed parser recovered: the stream is out of step and must be closed")
            return
        }
        #expect(first == second)
        #expect(!parser.hasPartialRequest)
    }
}
