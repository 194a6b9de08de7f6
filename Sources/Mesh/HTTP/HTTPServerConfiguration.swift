/// How an `HTTPServer` listens and how long it waits for clients. Defaults suit the agent's local
/// API: a few tools and probes, small requests, answers in milliseconds.
public struct HTTPServerConfiguration: Sendable {
    /// Where to listen. Loopback by default: the API can acquire and release cores, so exposing it
    /// beyond this host is an explicit choice. Port 0 picks a free port (see `HTTPServer.localAddress`).
    public var address: SocketAddress
    /// Connections served at once, one worker thread each. Connections beyond it get a 503 and are
    /// closed (counted as rejected), so a flood costs threads nothing.
    public var maxConnections: Int
    /// How long a new connection may take to send a complete request head, and how long a started
    /// head may take on a kept-alive connection (slowloris bound). Expiry mid-request answers 408.
    public var headTimeout: Duration
    /// How long a body may take to arrive once its head is complete (408 on expiry).
    public var bodyTimeout: Duration
    /// How long a kept-alive connection may sit between requests before we close it (silently).
    public var idleTimeout: Duration
    /// How long writing one response may take before we give up on the client.
    public var writeTimeout: Duration
    /// After an error response, how long we keep reading (and discarding) what the client still
    /// sends, so that closing does not reset the connection before the client has read our answer.
    public var lingerTimeout: Duration
    /// Requests on one connection before we answer with `Connection: close`, so no client holds a
    /// worker forever.
    public var maxRequestsPerConnection: Int
    public var limits: HTTPParserLimits

    public init(
        address: SocketAddress = .loopbackV4(port: 0),
        maxConnections: Int = 8,
        headTimeout: Duration = .seconds(5),
        bodyTimeout: Duration = .seconds(5),
        idleTimeout: Duration = .seconds(5),
        writeTimeout: Duration = .seconds(5),
        lingerTimeout: Duration = .seconds(1),
        maxRequestsPerConnection: Int = 100,
        limits: HTTPParserLimits = HTTPParserLimits()
    ) {
        self.address = address
        self.maxConnections = maxConnections
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.writeTimeout = writeTimeout
        self.lingerTimeout = lingerTimeout
        self.maxRequestsPerConnection = maxRequestsPerConnection
        self.limits = limits
    }
}
