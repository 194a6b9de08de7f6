/// How the agent's local HTTP API listens and how long it waits for the agent.
public struct AgentAPIConfiguration: Sendable {
    /// The agent config's default `httpAddress`, and the address `licmesh status` asks by default.
    public static let defaultAddress = SocketAddress.loopbackV4(port: 7947)

    /// Sockets, timeouts and size limits of the HTTP server itself; `server.address` and
    /// `server.unixSocketPath` are where it listens.
    public var server: HTTPServerConfiguration
    /// Bearer token and open reads; see `APIAccessPolicy`. The unix socket's mode and group are in `server`.
    public var access: APIAccessPolicy
    /// How long a snapshot call (status, validate, metrics, health) may take before the API answers
    /// 503. The agent answers these from memory in microseconds; only a stuck agent is this slow.
    public var answerTimeout: Duration
    /// How long acquire and release wait for the authority when the body gives no `timeoutMs`.
    public var defaultRequestTimeout: Duration
    /// The largest `timeoutMs` a client may ask for.
    public var maximumRequestTimeout: Duration
    /// Calls into the agent that may be pending at once, abandoned ones included (see
    /// `AgentCallBound`); snapshots and authority requests each have this many.
    public var maximumOutstandingCalls: Int

    public init(
        address: SocketAddress? = AgentAPIConfiguration.defaultAddress,
        unixSocketPath: String? = nil,
        unixSocketAccess: UnixSocketAccess = UnixSocketAccess(),
        access: APIAccessPolicy = APIAccessPolicy(),
        answerTimeout: Duration = .seconds(3),
        defaultRequestTimeout: Duration = .seconds(5),
        maximumRequestTimeout: Duration = .seconds(30),
        maximumOutstandingCalls: Int = 256,
        server: HTTPServerConfiguration? = nil
    ) {
        // Request bodies here are a few dozen bytes of JSON: a small limit makes 413 cheap.
        var server = server ?? HTTPServerConfiguration(limits: HTTPParserLimits(maxBodyBytes: 8 * 1024))
        server.address = address
        server.unixSocketPath = unixSocketPath
        server.unixSocketAccess = unixSocketAccess
        self.server = server
        self.access = access
        self.answerTimeout = answerTimeout
        self.defaultRequestTimeout = defaultRequestTimeout
        self.maximumRequestTimeout = max(.milliseconds(1), maximumRequestTimeout)
        self.maximumOutstandingCalls = max(1, maximumOutstandingCalls)
    }
}
