import Glibc
import SmallFiles

/// A small blocking HTTP/1.1 client on one connection (TCP or unix socket), for `licmesh status` and
/// tests: it sends a request, waits (bounded) for the complete response, and keeps the connection for
/// the next request unless the server closes it. Bodies are framed by Content-Length only.
///
/// Not for the agent's I/O thread: every call blocks until done or until its deadline.
final class HTTPClientConnection {
    public let endpoint: HTTPEndpoint
    public let maxBodyBytes: Int
    /// Sent as `Authorization: Bearer ...` with every request when set.
    public var bearerToken: String?
    private let descriptor: OwnedDescriptor
    private var received: [UInt8] = []
    private var reusable = true

    static let maxHeadBytes = 16 * 1024
    public static let defaultMaxBodyBytes = 8 * 1024 * 1024

    /// Opens a TCP connection, waiting at most `timeout`.
    public convenience init(connectingTo address: SocketAddress, timeout: Duration, maxBodyBytes: Int = HTTPClientConnection.defaultMaxBodyBytes)
        throws(HTTPClientError)
    {
        try self.init(connectingTo: .tcp(address), timeout: timeout, maxBodyBytes: maxBodyBytes)
    }

    /// Opens a connection to a TCP address or a unix socket, waiting at most `timeout`.
    public init(connectingTo endpoint: HTTPEndpoint, timeout: Duration, maxBodyBytes: Int = HTTPClientConnection.defaultMaxBodyBytes)
        throws(HTTPClientError)
    {
        switch endpoint {
        case .tcp(var target):
            // A wildcard is where a server listens, not somewhere to connect: mean this host.
            if target.ip.isWildcard { target.ip = target.family == .ipv4 ? .loopbackV4 : .loopbackV6 }
            self.endpoint = .tcp(target)
            do {
                descriptor = try StreamConnection.connectedDescriptor(to: target, timeout: timeout)
            } catch {
                throw .cannotConnect(address: .tcp(target), reason: HTTPClientError.connectReason(error))
            }
        case .unix(let path):
            self.endpoint = endpoint
            descriptor = try Self.connectUnix(path)
        }
        self.maxBodyBytes = max(0, maxBodyBytes)
    }

    deinit { descriptor.close() }

    /// Whether another request may be sent: false once the server said `Connection: close`, or after
    /// an error left the connection out of step.
    public var isReusable: Bool { reusable && descriptor.isOpen }

    public func close() {
        reusable = false
        descriptor.close()
    }

    private static func connectUnix(_ path: String) throws(HTTPClientError) -> OwnedDescriptor {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .cannotConnect(address: .unix(path: path), reason: describeErrno(errno)) }
        let owned = OwnedDescriptor(fd)
        guard HTTPListener.withUnixAddress(path, { Glibc.connect(fd, $0, $1) }) == 0 else {
            let code = errno
            owned.close()
            let reason: String
            switch code {
            case ENOENT: reason = "no socket at \(path) (is the agent running, with this socket configured?)"
            case ECONNREFUSED: reason = "nothing listens on \(path) (a socket left by an agent that stopped)"
            case EACCES: reason = "permission denied: this user may not connect to \(path); join the socket's group, or run as its owner"
            case EAGAIN: reason = "the agent's connection queue is full; retry shortly"
            default: reason = describeErrno(code)
            }
            throw .cannotConnect(address: .unix(path: path), reason: reason)
        }
        return owned
    }

    /// Sends one request and waits for its response; the deadline covers both.
    /// - Parameters:
    ///   - target: origin-form, e.g. `/v1/status`.
    ///   - body: sent with a Content-Length (and `contentType`) when not nil.
    public func send(
        _ method: String, _ target: String, body: [UInt8]? = nil, contentType: String = "application/json",
        headers extraHeaders: HTTPHeaders = [:], timeout: Duration
    ) throws(HTTPClientError) -> HTTPClientResponse {
        guard HTTPCharacters.isToken(method.utf8) else { throw .invalidRequest(reason: "method '\(method)' is not a token") }
        guard target.hasPrefix("/"), target.utf8.allSatisfy(HTTPCharacters.isVisibleASCII) else {
            throw .invalidRequest(reason: "the target must start with '/' and contain no spaces or control characters")
        }
        guard isReusable else { throw .closed(address: endpoint) }
        let fd = descriptor.rawValue
        guard fd >= 0 else { throw .closed(address: endpoint) }
        let socket = HTTPClientSocket(descriptor: fd)
        let deadline = Deadline(after: timeout)

        // Over the unix socket there is no address to name: `localhost`, which the server accepts.
        let host = endpoint.tcpAddress?.description ?? "localhost"
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: licmesh\r\nAccept: application/json, text/plain\r\n"
        if let bearerToken, HTTPResponse.isSendable(HTTPField(name: "Authorization", value: bearerToken)) {
            head += "Authorization: Bearer \(bearerToken)\r\n"
        }
        for field in extraHeaders where HTTPResponse.isSendable(field) {
            head += "\(field.name): \(field.value)\r\n"
        }
        if let body {
            if !contentType.isEmpty { head += "Content-Type: \(contentType)\r\n" }
            head += "Content-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        var request = Array(head.utf8)
        if let body { request += body }

        switch socket.write(request, deadline: deadline) {
        case .written: break
        case .timedOut: return try fail(.timedOut(address: endpoint, after: timeout))
        case .failed: return try fail(.closed(address: endpoint))
        }
        return try readResponse(on: socket, deadline: deadline, timeout: timeout, respondingToHead: method == "HEAD")
    }

    /// `GET target`.
    public func get(_ target: String, timeout: Duration) throws(HTTPClientError) -> HTTPClientResponse {
        try send("GET", target, timeout: timeout)
    }

    /// `POST target` with a JSON body.
    public func post(_ target: String, json: String, timeout: Duration) throws(HTTPClientError) -> HTTPClientResponse {
        try send("POST", target, body: Array(json.utf8), timeout: timeout)
    }

    /// One request on a connection of its own, closed afterwards.
    public static func request(
        _ method: String, _ target: String, to address: SocketAddress, body: [UInt8]? = nil, timeout: Duration
    ) throws(HTTPClientError) -> HTTPClientResponse {
        try request(method, target, to: .tcp(address), body: body, timeout: timeout)
    }

    /// One request on a connection of its own (TCP or unix socket), closed afterwards.
    public static func request(
        _ method: String, _ target: String, to endpoint: HTTPEndpoint, body: [UInt8]? = nil, bearerToken: String? = nil, timeout: Duration
    ) throws(HTTPClientError) -> HTTPClientResponse {
        let client = try HTTPClientConnection(connectingTo: endpoint, timeout: timeout)
        client.bearerToken = bearerToken
        defer { client.close() }
        return try client.send(method, target, body: body, headers: ["Connection": "close"], timeout: timeout)
    }

    // MARK: - Reading

    private func readResponse(on socket: HTTPClientSocket, deadline: Deadline, timeout: Duration, respondingToHead: Bool)
        throws(HTTPClientError) -> HTTPClientResponse
    {
        let parser = HTTPClientResponseParser(maxHeadBytes: Self.maxHeadBytes, maxBodyBytes: maxBodyBytes)
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let step: HTTPClientResponseParser.Step
            do {
                step = try parser.parse(received, respondingToHead: respondingToHead)
            } catch {
                return try fail(.malformedResponse(address: endpoint, reason: error.reason))
            }
            if case .response(let response, let consumed) = step {
                received.removeFirst(consumed)
                // 1xx answers are interim (we never ask for them, but a server may send them): the real one follows.
                if HTTPStatus(code: response.status).statusClass == 1 { continue }
                let connectionTokens = response.headers.lowercasedListElements("Connection")
                if connectionTokens.contains("close") { close() }
                return response
            }
            switch socket.read(into: &chunk, deadline: deadline) {
            case .bytes(let count): received.append(contentsOf: chunk[..<count])
            case .timedOut: return try fail(.timedOut(address: endpoint, after: timeout))
            case .endOfStream, .failed: return try fail(.closed(address: endpoint))
            }
        }
    }

    /// Any failure mid-exchange leaves the connection out of step: close it, then throw.
    private func fail(_ error: HTTPClientError) throws(HTTPClientError) -> HTTPClientResponse {
        close()
        throw error
    }
}
