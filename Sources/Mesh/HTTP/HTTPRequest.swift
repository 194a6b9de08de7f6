/// A complete request as the parser hands it over: head checked, body read in full.
struct HTTPRequest: Sendable {
    /// Case-sensitive, as sent ("GET", "POST", ...).
    public var method: String
    /// The request-target exactly as received, e.g. `/v1/status?pretty` (the query is ignored).
    public var target: String
    /// The path with percent-escapes decoded (`/v1/a%20b` is `/v1/a b`). Never contains NUL. An
    /// encoded slash decodes like any byte (`/v1%2Fstatus` is `/v1/status`); routing is by exact
    /// match, so that only ever reaches an endpoint the plain spelling reaches too.
    public var path: String
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Whether the client wants the connection kept open after this request (HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`).
    public var keepAlive: Bool
    /// Who sent it; set by the server, nil for requests built or parsed elsewhere.
    public var peer: HTTPPeer?
    /// The listener it arrived on (its bound address or socket path); set by the server.
    public var endpoint: HTTPEndpoint?

    /// The client's TCP address; nil on the unix socket and for requests the server did not receive.
    public var remoteAddress: SocketAddress? {
        if case .tcp(let address) = peer { return address }
        return nil
    }

    public init(
        method: String, target: String, version: HTTPVersion = .http11, headers: HTTPHeaders = [:], body: [UInt8] = [],
        keepAlive: Bool = true, peer: HTTPPeer? = nil, endpoint: HTTPEndpoint? = nil
    ) {
        self.method = method
        self.target = target
        let parsed = try? HTTPRequestTarget(parsing: Array(target.utf8))
        path = parsed?.path ?? target
        self.version = version
        self.headers = headers
        self.body = body
        self.keepAlive = keepAlive
        self.peer = peer
        self.endpoint = endpoint
    }

    init(head: HTTPRequestHead, body: [UInt8]) {
        method = head.method
        target = head.target.raw
        path = head.target.path
        version = head.version
        headers = head.headers
        self.body = body
        keepAlive = head.keepAlive
    }
}

/// What the parser knows once the head is complete, before the body.
struct HTTPRequestHead: Sendable {
    var method: String
    var target: HTTPRequestTarget
    var version: HTTPVersion
    var headers: HTTPHeaders
    var keepAlive: Bool
    var contentLength: Int
    var expectsContinue: Bool
}
