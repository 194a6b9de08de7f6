/// How an `HTTPServer` listens and how long it waits for clients. Defaults suit the agent's local
/// API: tools, probes and the application itself, small requests, answers in milliseconds.
public struct HTTPServerConfiguration: Sendable {
    /// Where to listen over TCP; nil for none (unix socket only). Loopback by default: the API can
    /// acquire and release cores, so exposing it beyond this host is an explicit choice. Port 0 picks
    /// a free port (see `HTTPServer.localAddress`).
    public var address: SocketAddress?
    /// A unix domain socket to listen on as well (or instead), with the mode and group that decide
    /// who may connect.
    public var unixSocketPath: String?
    public var unixSocketAccess: UnixSocketAccess
    /// Open connections at most, idle ones included. Each costs a descriptor and a few KiB, never a
    /// thread. At the bound, a new connection closes the oldest idle one; when none is idle it gets a
    /// 503 and is closed (counted as refused).
    public var maxConnections: Int
    /// Open connections from one peer (one IP, or one local user on the unix socket) at most; the same
    /// eviction applies among that peer's connections.
    public var maxConnectionsPerPeer: Int
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
    /// How long `stop()` lets requests being answered finish before closing them anyway.
    public var stopGracePeriod: Duration
    /// Requests on one connection before we answer with `Connection: close`.
    public var maxRequestsPerConnection: Int
    public var limits: HTTPParserLimits

    public init(
        address: SocketAddress? = .loopbackV4(port: 0),
        unixSocketPath: String? = nil,
        unixSocketAccess: UnixSocketAccess = UnixSocketAccess(),
        maxConnections: Int = 4096,
        maxConnectionsPerPeer: Int = 2048,
        headTimeout: Duration = .seconds(5),
        bodyTimeout: Duration = .seconds(5),
        idleTimeout: Duration = .seconds(60),
        writeTimeout: Duration = .seconds(5),
        lingerTimeout: Duration = .seconds(1),
        stopGracePeriod: Duration = .seconds(5),
        maxRequestsPerConnection: Int = 10_000,
        limits: HTTPParserLimits = HTTPParserLimits()
    ) {
        self.address = address
        self.unixSocketPath = unixSocketPath
        self.unixSocketAccess = unixSocketAccess
        self.maxConnections = max(1, maxConnections)
        self.maxConnectionsPerPeer = max(1, maxConnectionsPerPeer)
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.writeTimeout = writeTimeout
        self.lingerTimeout = lingerTimeout
        self.stopGracePeriod = stopGracePeriod
        self.maxRequestsPerConnection = max(1, maxRequestsPerConnection)
        self.limits = limits
    }
}
