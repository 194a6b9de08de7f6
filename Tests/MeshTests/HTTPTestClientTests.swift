import Glibc
@testable import Mesh
import SWIM
import Testing

/// A raw HTTP/1.1 client over loopback for the server tests: it sends exactly the bytes a test
/// gives (valid or not) and parses responses strictly enough to notice framing mistakes.
final class HTTPTestClient {
    struct Response {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    enum Failure: Error, CustomStringConvertible {
        case timedOut, closed, reset, malformed(String)
        var description: String {
            switch self {
            case .timedOut: return "timed out waiting for the server"
            case .closed: return "the server closed the connection"
            case .reset: return "the server reset the connection"
            case .malformed(let why): return "malformed response: \(why)"
            }
        }
    }

    static let patience = TransportTestSupport.patience

    let connection: StreamConnection
    private var pending: [UInt8] = []

    init(_ address: SocketAddress) throws {
        connection = try StreamConnection.connect(to: address, timeout: Self.patience)
    }

    deinit { connection.close() }

    func close() { connection.close() }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        guard let fd = connection.fileDescriptor else { return false }
        var offset = 0
        let deadline = MonotonicClock.now() + Self.patience
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent > 0 {
                offset += sent
            } else if sent < 0 && (errno == EAGAIN || errno == EINTR), MonotonicClock.now() < deadline {
                var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&entry, 1, 100)
            } else {
                return false
            }
        }
        return true
    }

    /// Reads some bytes into `pending`; throws on end of stream, reset or timeout.
    private func fill(deadline: Instant) throws(Failure) {
        guard let fd = connection.fileDescriptor else { throw .closed }
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                pending.append(contentsOf: chunk[..<count])
                return
            }
            if count == 0 { throw .closed }
            let code = errno
            if code == ECONNRESET { throw .reset }
            guard code == EAGAIN || code == EINTR else { throw .closed }
            let left = deadline.nanoseconds - MonotonicClock.now().nanoseconds
            guard left > 0 else { throw .timedOut }
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&entry, 1, Int32(min(left / 1_000_000 + 1, 1_000)))
        }
    }

    /// Reads one response (skipping `100 Continue` unless told not to). `forHead`: the response to a
    /// HEAD has no body.
    func readResponse(forHead: Bool = false, skipContinue: Bool = true) throws(Failure) -> Response {
        let deadline = MonotonicClock.now() + Self.patience
        while true {
            var headEnd: Int?
            while headEnd == nil {
                headEnd = Self.find([13, 10, 13, 10], in: pending)
                if headEnd == nil { try fill(deadline: deadline) }
            }
            guard let end = headEnd else { throw .malformed("no head") }
            let head = String(decoding: pending[..<end], as: UTF8.self)
            pending.removeFirst(end + 4)
            var lines = head.components(separatedBy: "\r\n")
            let statusLine = lines.removeFirst()
            let parts = statusLine.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, parts[0] == "HTTP/1.1", let status = Int(parts[1]) else {
                throw .malformed("status line '\(statusLine)'")
            }
            var headers = HTTPHeaders()
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { throw .malformed("header line '\(line)'") }
                headers.append(String(line[..<colon]), Self.trimSpaces(line[line.index(after: colon)...]))
            }
            if status == 100 {
                if skipContinue { continue }
                return Response(status: status, headers: headers, body: [])
            }
            var length = 0
            if status != 204 && status != 304 {
                guard let declared = headers["Content-Length"], let value = Int(declared) else {
                    throw .malformed("no Content-Length in \(head)")
                }
                length = forHead ? 0 : value
            }
            while pending.count < length { try fill(deadline: deadline) }
            let body = Array(pending[..<length])
            pending.removeFirst(length)
            return Response(status: status, headers: headers, body: body)
        }
    }

    /// Waits (bounded) for the server to close: true on end of stream or reset, false when the
    /// connection stays open (or sends more) until `within`.
    func closedByServer(within: Duration = HTTPTestClient.patience) -> Bool {
        let deadline = MonotonicClock.now() + within
        do {
            try fill(deadline: deadline)
            return false
        } catch {
            return error != .timedOut
        }
    }

    /// One request on a fresh connection.
    static func exchange(_ address: SocketAddress, _ request: String, forHead: Bool = false) throws -> Response {
        let client = try HTTPTestClient(address)
        defer { client.close() }
        guard client.send(request) else { throw Failure.closed }
        return try client.readResponse(forHead: forHead)
    }

    static func get(_ address: SocketAddress, _ path: String, headers: String = "") throws -> Response {
        try exchange(address, "GET \(path) HTTP/1.1\r\nHost: test\r\n\(headers)\r\n")
    }

    static func trimSpaces(_ text: Substring) -> String {
        var text = text
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return start
        }
        return nil
    }
}

extension HTTPTestClient.Failure: Equatable {}


/// The client itself must be able to tell a good response from a broken one.
extension TransportTests {
    @Suite struct HTTPTestClientTests {
        @Test func clientRejectsAResponseWithoutContentLength() throws {
            let listener = try StreamListener(bindingTo: .loopbackV4(port: 0))
            let client = try HTTPTestClient(listener.localAddress)
            let server = try listener.accept(timeout: HTTPTestClient.patience)
            #expect(TransportTestSupport.sendRaw(Array("HTTP/1.1 200 OK\r\nX: y\r\n\r\nbody".utf8), on: server))
            #expect(throws: HTTPTestClient.Failure.self) { try client.readResponse() }
            server.close()
            listener.close()
        }
    }
}
