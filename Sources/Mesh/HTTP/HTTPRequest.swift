/// One `name=value` pair of a query string, both decoded (`+` is a space, `%XX` a byte, UTF-8 required).
public struct HTTPQueryItem: Hashable, Sendable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A complete request as the parser hands it over: head checked, body read in full.
public struct HTTPRequest: Sendable {
    /// Case-sensitive, as sent ("GET", "POST", ...).
    public var method: String
    /// The request-target exactly as received, e.g. `/v1/members?state=alive`.
    public var target: String
    /// The path with percent-escapes decoded (`/v1/a%20b` is `/v1/a b`). Never contains NUL. An
    /// encoded slash decodes like any byte (`/v1%2Fstatus` is `/v1/status`); routing is by exact
    /// match, so that only ever reaches an endpoint the plain spelling reaches too.
    public var path: String
    /// The query string's items in order; empty when there is none.
    public var query: [HTTPQueryItem]
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Whether the client wants the connection kept open after this request (HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`).
    public var keepAlive: Bool
    /// The client's address; set by the server, nil for requests built or parsed elsewhere.
    public var remoteAddress: SocketAddress?

    public init(
        method: String, target: String, version: HTTPVersion = .http11, headers: HTTPHeaders = [:], body: [UInt8] = [],
        keepAlive: Bool = true, remoteAddress: SocketAddress? = nil
    ) {
        self.method = method
        self.target = target
        let parsed = try? HTTPRequestTarget(parsing: Array(target.utf8))
        path = parsed?.path ?? target
        query = parsed?.query ?? []
        self.version = version
        self.headers = headers
        self.body = body
        self.keepAlive = keepAlive
        self.remoteAddress = remoteAddress
    }

    init(head: HTTPRequestHead, body: [UInt8]) {
        method = head.method
        target = head.target.raw
        path = head.target.path
        query = head.target.query
        version = head.version
        headers = head.headers
        self.body = body
        keepAlive = head.keepAlive
        remoteAddress = nil
    }

    /// The first value of the query item `name`, or nil.
    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
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
