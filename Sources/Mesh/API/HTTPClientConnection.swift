/// A small blocking HTTP/1.1 client on one connection, for `licmesh status` and tests: it sends a
/// request, waits (bounded) for the complete response, and keeps the connection for the next request
/// unless the server closes it. Bodies are framed by Content-Length only.
///
/// Not for the agent's I/O thread: every call blocks until done or until its deadline.
public final class HTTPClientConnection {
    public let address: SocketAddress
    public let maxBodyBytes: Int
    private let connection: StreamConnection
    private var received: [UInt8] = []
    private var reusable = true

    static let maxHeadBytes = 16 * 1024
    public static let defaultMaxBodyBytes = 8 * 1024 * 1024

    /// Opens a connection, waiting at most `timeout`.
    public init(connectingTo address: SocketAddress, timeout: Duration, maxBodyBytes: Int = HTTPClientConnection.defaultMaxBodyBytes)
        throws(HTTPClientError)
    {
        // A wildcard is where a server listens, not somewhere to connect: mean this host.
        var target = address
        if target.ip.isWildcard { target.ip = target.family == .ipv4 ? .loopbackV4 : .loopbackV6 }
        do {
            connection = try StreamConnection.connect(to: target, timeout: timeout)
        } catch {
            throw .cannotConnect(address: target, reason: HTTPClientError.connectReason(error))
        }
        self.address = target
        self.maxBodyBytes = max(0, maxBodyBytes)
    }

    deinit { connection.close() }

    /// Whether another request may be sent: false once the server said `Connection: close`, or after
    /// an error left the connection out of step.
    public var isReusable: Bool { reusable && connection.isOpen }

    public func close() {
        reusable = false
        connection.close()
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
        guard isReusable else { throw .closed(address: address) }
        guard let descriptor = connection.fileDescriptor else { throw .closed(address: address) }
        let socket = HTTPConnectionSocket(descriptor: descriptor, stopDescriptor: -1)
        let deadline = Deadline(after: timeout)

        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(address)\r\nUser-Agent: licmesh\r\nAccept: application/json, text/plain\r\n"
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
        case .timedOut: return try fail(.timedOut(address: address, after: timeout))
        case .failed: return try fail(.closed(address: address))
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
        let client = try HTTPClientConnection(connectingTo: address, timeout: timeout)
        defer { client.close() }
        return try client.send(method, target, body: body, headers: ["Connection": "close"], timeout: timeout)
    }

    // MARK: - Reading

    private func readResponse(on socket: HTTPConnectionSocket, deadline: Deadline, timeout: Duration, respondingToHead: Bool)
        throws(HTTPClientError) -> HTTPClientResponse
    {
        let parser = HTTPClientResponseParser(maxHeadBytes: Self.maxHeadBytes, maxBodyBytes: maxBodyBytes)
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let step: HTTPClientResponseParser.Step
            do {
                step = try parser.parse(received, respondingToHead: respondingToHead)
            } catch {
                return try fail(.malformedResponse(address: address, reason: error.reason))
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
            case .timedOut: return try fail(.timedOut(address: address, after: timeout))
            case .endOfStream, .failed, .stopped: return try fail(.closed(address: address))
            }
        }
    }

    /// Any failure mid-exchange leaves the connection out of step: close it, then throw.
    private func fail(_ error: HTTPClientError) throws(HTTPClientError) -> HTTPClientResponse {
        close()
        throw error
    }
}
